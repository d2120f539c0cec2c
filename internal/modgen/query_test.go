package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
)

func TestSavingsQueriesCoverEveryRule(t *testing.T) {
	defs := recommend.All()
	bodies := parseMod(t, renderAll(t))
	queries := blocksOf(bodies[QueriesFile], "query")
	if len(queries) != 2 {
		t.Fatalf("%s has %d queries, want 2", QueriesFile, len(queries))
	}
	declared := map[string]bool{}
	for _, v := range blocksOf(bodies[VariablesFile], "variable") {
		declared[v.Labels[0]] = true
	}
	for i, name := range []string{SavingsQueryName, SavingsChartQueryName} {
		q := queries[i]
		if q.Labels[0] != name {
			t.Errorf("query %d is %s, want %s", i, q.Labels[0], name)
			continue
		}
		value, diags := q.Body.Attributes["sql"].Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("query %s: sql is not a plain string: %s", name, diags.Error())
		}
		sql := value.AsString()
		for _, def := range defs {
			tag := "'" + def.Name + "' as recommendation"
			if strings.Count(sql, tag) != 1 {
				t.Errorf("query %s: %q appears %d times, want once",
					name, tag, strings.Count(sql, tag))
			}
		}
		if got := strings.Count(sql, "union all"); got != len(defs)-1 {
			t.Errorf("query %s: %d union all for %d rules", name, got, len(defs))
		}

		params := blocksOf(q.Body, "param")
		used := map[int]bool{}
		for _, m := range regexp.MustCompile(`\$([0-9]+)`).FindAllStringSubmatch(sql, -1) {
			n, _ := strconv.Atoi(m[1])
			used[n] = true
		}
		if len(used) != len(params) {
			t.Errorf("query %s: %d param blocks for %d distinct placeholders",
				name, len(params), len(used))
		}
		for n := 1; n <= len(params); n++ {
			if !used[n] {
				t.Errorf("query %s: placeholder $%d of param %s is not used",
					name, n, params[n-1].Labels[0])
			}
		}
		seen := map[string]bool{}
		for _, p := range params {
			if seen[p.Labels[0]] {
				t.Errorf("query %s: param %s appears twice", name, p.Labels[0])
			}
			seen[p.Labels[0]] = true
			if !declared[p.Labels[0]] {
				t.Errorf("query %s: param %s has no variable", name, p.Labels[0])
			}
		}
	}
}

func TestSavingsUnionRenumbersControlSQL(t *testing.T) {
	defs := recommend.All()
	u, err := buildSavingsUnion(defs)
	if err != nil {
		t.Fatal(err)
	}
	shared := map[string]int{}
	for i, name := range u.names {
		if _, dup := shared[name]; dup {
			t.Errorf("parameter %s appears twice in the shared list %v", name, u.names)
		}
		shared[name] = i + 1
	}
	branches := strings.Split(u.sql, "\n  union all\n")
	if len(branches) != len(defs) {
		t.Fatalf("%d branches for %d rules", len(branches), len(defs))
	}

	// Each branch must contain the rule's control SQL with every $n
	// replaced by the shared number of the parameter that $n binds there.
	dollar := regexp.MustCompile(`\$([0-9]+)`)
	for i, def := range defs {
		q, err := recommend.RenderQuery(def, recommend.Postgres,
			map[string]any{recommend.ParamAsOf: "2000-01-01"})
		if err != nil {
			t.Fatal(err)
		}
		control, err := ControlSQL(def, q)
		if err != nil {
			t.Fatal(err)
		}
		want := dollar.ReplaceAllStringFunc(control, func(m string) string {
			n, _ := strconv.Atoi(m[1:])
			return "$" + strconv.Itoa(shared[q.Names[n-1]])
		})
		if !strings.Contains(branches[i], want) {
			t.Errorf("branch %d does not contain the SQL of control %s renumbered "+
				"to the shared parameters %v", i+1, def.Name, u.names)
		}
	}
}
