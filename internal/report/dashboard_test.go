package report_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
)

// modDir is the Powerpipe mod, relative to this package.
const modDir = "../../powerpipe"

func parsePP(t *testing.T, path string) *hclsyntax.Body {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s does not parse as HCL: %s", path, diags.Error())
	}
	return f.Body.(*hclsyntax.Body)
}

// walk calls fn on every block below body, depth first.
func walk(body *hclsyntax.Body, fn func(*hclsyntax.Block)) {
	for _, b := range body.Blocks {
		fn(b)
		walk(b.Body, fn)
	}
}

func literalString(t *testing.T, attr *hclsyntax.Attribute) string {
	t.Helper()
	v, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("%s at %s is not a literal: %s", attr.Name, attr.SrcRange, diags.Error())
	}
	return v.AsString()
}

func TestDashboardParses(t *testing.T) {
	path := filepath.Join(modDir, "dashboards", "confluence_spend.pp")
	body := parsePP(t, path)

	// Names the dashboard refers to must be declared by the rest of the mod.
	declared := map[string]bool{}
	for _, name := range []string{"mod.pp", "variables.pp", "confluence_savings.pp",
		"queries.pp"} {
		for _, b := range parsePP(t, filepath.Join(modDir, name)).Blocks {
			if len(b.Labels) == 1 {
				declared[b.Type+"."+b.Labels[0]] = true
			}
		}
	}
	for _, b := range body.Blocks {
		if len(b.Labels) == 1 {
			declared[b.Type+"."+b.Labels[0]] = true
		}
	}
	if !declared["dashboard.confluence_spend"] {
		t.Fatal("no dashboard \"confluence_spend\" block")
	}
	src, _ := os.ReadFile(path)
	for _, ref := range regexp.MustCompile(`\b(var|query|benchmark)\.[a-z_]+`).FindAllString(
		string(src), -1) {
		key := ref
		if name, ok := strings.CutPrefix(ref, "var."); ok {
			key = "variable." + name
		}
		if !declared[key] {
			t.Errorf("%s refers to %s, which the mod does not declare", path, ref)
		}
	}

	tables := map[string]bool{}
	for name := range confluence.Plugin(context.Background()).TableMap {
		tables[name] = true
	}
	counts := map[string]int{}
	walk(body, func(b *hclsyntax.Block) {
		counts[b.Type]++
		if b.Type == "chart" {
			title, ok := b.Body.Attributes["title"]
			if !ok {
				t.Errorf("chart at %s has no title", b.DefRange())
			} else if s := literalString(t, title); !regexp.MustCompile(`\(.+\)$`).MatchString(s) {
				t.Errorf("chart %q gives no unit in brackets", s)
			}
		}
		sqlAttr, ok := b.Body.Attributes["sql"]
		if !ok {
			return
		}
		sql := literalString(t, sqlAttr)
		used := regexp.MustCompile(`\bconfluence_[a-z_]+`).FindAllString(sql, -1)
		if len(used) == 0 {
			t.Errorf("%s at %s reads no plugin table", b.Type, b.DefRange())
		}
		for _, name := range used {
			if !tables[name] {
				t.Errorf("%s at %s reads %s, which the plugin does not define",
					b.Type, b.DefRange(), name)
			}
		}
	})
	for typ, least := range map[string]int{"card": 4, "chart": 4, "table": 2, "benchmark": 1} {
		if counts[typ] < least {
			t.Errorf("the dashboard has %d %s blocks, want at least %d", counts[typ], typ, least)
		}
	}
}
