package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/zclconf/go-cty/cty"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
)

// connectionSettings is the connection block chosen from a .spc file.
type connectionSettings struct {
	Name string
	// Body is the block's HCL body without the plugin attribute and
	// without nested blocks, padded with blank lines so that its line
	// numbers are those of the file.
	Body string
	// Config is Body decoded, before environment variables are merged.
	Config confluence.Config
	// Limiters are the limiter blocks of the file's plugin blocks for
	// this plugin, which replace or add to the plugin's rate limiters.
	Limiters []*proto.RateLimiterDefinition
}

// pluginMatches reports whether a connection's plugin attribute names
// this plugin: "confluence", "local/confluence", a hub reference such as
// "org/confluence@1.0", or a path ending in confluence.
func pluginMatches(plugin string) bool {
	p := strings.TrimSpace(plugin)
	if i := strings.LastIndex(p, "@"); i > 0 {
		p = p[:i]
	}
	p = strings.TrimSuffix(filepath.ToSlash(p), "/")
	return strings.HasSuffix(p, "confluence")
}

// loadSpc reads a Steampipe .spc file and returns the connection block
// named connection, or the only one for this plugin when connection is
// empty. Errors name the file, line and setting, never a value.
func loadSpc(path, connection string) (*connectionSettings, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("failed to read config file %s: %v", path, pathError(err))
	}
	file, diags := hclsyntax.ParseConfig(src, path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return nil, diagsError(path, diags, literalValues(file))
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil, usagef("invalid config file %s: not HCL native syntax", path)
	}
	secrets := literalValues(file)

	var matches []*hclsyntax.Block
	var names []string
	for _, b := range body.Blocks {
		if b.Type != "connection" || len(b.Labels) != 1 {
			continue
		}
		plugin, err := blockPlugin(path, b)
		if err != nil {
			return nil, err
		}
		if connection != "" && b.Labels[0] == connection {
			if !pluginMatches(plugin) {
				return nil, usagef("invalid --connection %q: in %s line %d it uses plugin %q, "+
					"not confluence", connection, path, b.DefRange().Start.Line, plugin)
			}
			matches = []*hclsyntax.Block{b}
			break
		}
		if connection == "" && pluginMatches(plugin) {
			matches = append(matches, b)
			names = append(names, b.Labels[0])
		}
	}
	switch {
	case len(matches) == 0 && connection != "":
		return nil, usagef("connection %q not found in %s", connection, path)
	case len(matches) == 0:
		return nil, usagef("no connection block for the confluence plugin found in %s "+
			"(add one with plugin = \"confluence\")", path)
	case len(matches) > 1:
		sort.Strings(names)
		return nil, usagef("%s has %d confluence connections (%s): choose one with --connection",
			path, len(matches), strings.Join(names, ", "))
	}

	block := matches[0]
	settings := &connectionSettings{Name: block.Labels[0], Body: blockBody(src, block)}
	decoded, diags := hclsyntax.ParseConfig([]byte(settings.Body), path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return nil, diagsError(path, diags, secrets)
	}
	if diags := gohcl.DecodeBody(decoded.Body, nil, &settings.Config); diags.HasErrors() {
		return nil, diagsError(path, diags, secrets)
	}
	if settings.Limiters, err = pluginLimiters(path, body, secrets); err != nil {
		return nil, err
	}
	return settings, nil
}

// pathError drops the path an *os.PathError repeats.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// blockPlugin returns the plugin attribute of a connection block.
func blockPlugin(path string, b *hclsyntax.Block) (string, error) {
	attr, ok := b.Body.Attributes["plugin"]
	if !ok {
		return "", usagef("invalid config file %s line %d: connection %q lacks the plugin setting",
			path, b.DefRange().Start.Line, b.Labels[0])
	}
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.Type().Equals(cty.String) {
		return "", usagef("invalid config file %s line %d: setting \"plugin\" of connection %q "+
			"must be a plain string", path, attr.SrcRange.Start.Line, b.Labels[0])
	}
	return v.AsString(), nil
}

// blockBody returns the text between the braces of b, with the plugin
// attribute and nested blocks (such as options) blanked out and leading
// newlines that keep the file's line numbers.
func blockBody(src []byte, b *hclsyntax.Block) string {
	start, end := b.OpenBraceRange.End.Byte, b.CloseBraceRange.Start.Byte
	text := []byte(string(src[start:end]))
	blank := func(r hcl.Range) {
		for i := r.Start.Byte - start; i < r.End.Byte-start && i < len(text); i++ {
			if text[i] != '\n' {
				text[i] = ' '
			}
		}
	}
	if attr, ok := b.Body.Attributes["plugin"]; ok {
		blank(attr.SrcRange)
	}
	for _, nested := range b.Body.Blocks {
		blank(nested.Range())
	}
	return strings.Repeat("\n", b.OpenBraceRange.End.Line-1) + string(text)
}

// literalValues returns the string values written in the file, so that
// error messages can be scrubbed of them.
func literalValues(file *hcl.File) []string {
	var out []string
	if file == nil {
		return nil
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, attr := range b.Attributes {
			hclsyntax.VisitAll(attr.Expr, func(n hclsyntax.Node) hcl.Diagnostics {
				if lit, ok := n.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String {
					out = append(out, lit.Val.AsString())
				}
				if tmpl, ok := n.(*hclsyntax.TemplateExpr); ok {
					if v, diags := tmpl.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.IsKnown() {
						out = append(out, v.AsString())
					}
				}
				return nil
			})
		}
		for _, nested := range b.Blocks {
			walk(nested.Body)
		}
	}
	walk(body)
	return out
}

// diagsError turns HCL diagnostics into a usage error naming the file,
// line and setting. Diagnostics never include source lines here, and any
// value written in the file is replaced as a second guard.
func diagsError(path string, diags hcl.Diagnostics, secrets []string) error {
	var lines []string
	for _, d := range diags.Errs() {
		diag, ok := d.(*hcl.Diagnostic)
		if !ok {
			lines = append(lines, scrub(d.Error(), secrets))
			continue
		}
		where := path
		if diag.Subject != nil {
			where = fmt.Sprintf("%s line %d", path, diag.Subject.Start.Line)
		}
		msg := diag.Summary
		if diag.Detail != "" {
			msg += ": " + diag.Detail
		}
		lines = append(lines, fmt.Sprintf("invalid config file %s: %s", where, scrub(msg, secrets)))
	}
	return &usageError{msg: strings.Join(lines, "\n")}
}

// scrub replaces every secret of four or more characters in msg. Shorter
// values would also match ordinary words of the message.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[value hidden]")
		}
	}
	return msg
}
