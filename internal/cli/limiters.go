package cli

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/zclconf/go-cty/cty"
)

// limiterBlock is a limiter block inside a plugin block, in the shape the
// Steampipe CLI reads.
type limiterBlock struct {
	FillRate       *float64 `hcl:"fill_rate,optional"`
	BucketSize     *int64   `hcl:"bucket_size,optional"`
	MaxConcurrency *int64   `hcl:"max_concurrency,optional"`
	Scope          []string `hcl:"scope,optional"`
	Where          string   `hcl:"where,optional"`
}

// limiterName is the rule Steampipe applies to limiter names.
var limiterName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_-]*$`)

// pluginLimiters returns the limiter blocks of every plugin block of body
// that is for this plugin: its source attribute, or its label when it has
// none, names confluence. Other plugin settings, such as memory_max_mb,
// are left to Steampipe.
func pluginLimiters(path string, body *hclsyntax.Body,
	secrets []string) ([]*proto.RateLimiterDefinition, error) {
	var out []*proto.RateLimiterDefinition
	seen := map[string]int{}
	for _, b := range body.Blocks {
		if b.Type != "plugin" || len(b.Labels) != 1 {
			continue
		}
		source := b.Labels[0]
		if attr, ok := b.Body.Attributes["source"]; ok {
			v, diags := attr.Expr.Value(nil)
			if diags.HasErrors() || v.IsNull() || !v.Type().Equals(cty.String) {
				return nil, usagef("invalid config file %s line %d: setting \"source\" of "+
					"plugin %q must be a plain string", path, attr.SrcRange.Start.Line, b.Labels[0])
			}
			source = v.AsString()
		}
		if !pluginMatches(source) {
			continue
		}
		for _, lb := range b.Body.Blocks {
			if lb.Type != "limiter" {
				continue
			}
			def, err := decodeLimiter(path, lb, secrets)
			if err != nil {
				return nil, err
			}
			line := lb.DefRange().Start.Line
			if first, dup := seen[def.Name]; dup {
				return nil, usagef("invalid config file %s line %d: limiter %q is already "+
					"defined on line %d (give each limiter its own name)", path, line, def.Name, first)
			}
			seen[def.Name] = line
			out = append(out, def)
		}
	}
	return out, nil
}

// decodeLimiter checks one limiter block as the plugin SDK would, so that
// a mistake is reported with its line before the plugin starts.
func decodeLimiter(path string, b *hclsyntax.Block,
	secrets []string) (*proto.RateLimiterDefinition, error) {
	line := b.DefRange().Start.Line
	if len(b.Labels) != 1 || !limiterName.MatchString(b.Labels[0]) {
		return nil, usagef("invalid config file %s line %d: a limiter block needs one name "+
			"of letters, digits, '_' and '-', not starting with a digit, "+
			"for example limiter \"confluence_admin_api\"", path, line)
	}
	name := b.Labels[0]
	var l limiterBlock
	if diags := gohcl.DecodeBody(b.Body, nil, &l); diags.HasErrors() {
		return nil, diagsError(path, diags, secrets)
	}
	def := &proto.RateLimiterDefinition{Name: name, Scope: l.Scope,
		Where: strings.TrimSpace(l.Where)}
	if l.FillRate != nil {
		def.FillRate = float32(*l.FillRate)
	}
	if l.BucketSize != nil {
		def.BucketSize = *l.BucketSize
	}
	if l.MaxConcurrency != nil {
		def.MaxConcurrency = *l.MaxConcurrency
	}
	switch {
	case def.FillRate < 0 || def.BucketSize < 0 || def.MaxConcurrency < 0:
		return nil, usagef("invalid config file %s line %d: limiter %q has a negative "+
			"fill_rate, bucket_size or max_concurrency", path, line, name)
	case (def.FillRate == 0 || def.BucketSize == 0) && def.MaxConcurrency == 0:
		return nil, usagef("invalid config file %s line %d: limiter %q limits nothing "+
			"(set fill_rate and bucket_size, or max_concurrency)", path, line, name)
	}
	return def, nil
}
