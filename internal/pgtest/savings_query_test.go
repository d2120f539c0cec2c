package pgtest_test

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/zclconf/go-cty/cty"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
)

// Queries of powerpipe/queries.pp that the dashboard runs.
const (
	savingsQuery      = "confluence_savings_by_recommendation"
	savingsChartQuery = "confluence_savings_by_recommendation_chart"
)

// ruleSum is one row of the savings query: one rule in one currency.
type ruleSum struct {
	Rule, Title, Currency     string
	Findings, WithSaving      int64
	MonthlyMinor, AnnualMinor int64
	// Monthly and Annual are the amounts in the currency's major unit.
	Monthly, Annual *big.Rat
	currencyNull    bool
}

func (s ruleSum) key() string { return s.Rule + " | " + s.Currency }

// readQueries parses the query blocks of the committed powerpipe/queries.pp.
func readQueries(t *testing.T) map[string]modControl {
	t.Helper()
	content, err := os.ReadFile("../../powerpipe/queries.pp")
	if err != nil {
		t.Fatalf("reading powerpipe/queries.pp failed: %v; run `make mod`", err)
	}
	f, diags := hclparse.NewParser().ParseHCL(content, "queries.pp")
	if diags.HasErrors() {
		t.Fatalf("powerpipe/queries.pp does not parse: %s", diags.Error())
	}
	queries := map[string]modControl{}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "query" {
			continue
		}
		sql, diags := b.Body.Attributes["sql"].Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("query %s: %s", b.Labels[0], diags.Error())
		}
		q := modControl{sql: sql.AsString()}
		for _, p := range b.Body.Blocks {
			if p.Type == "param" {
				q.params = append(q.params, p.Labels[0])
			}
		}
		queries[b.Labels[0]] = q
	}
	return queries
}

// ratOf reads a PostgreSQL numeric exactly.
func ratOf(t *testing.T, n pgtype.Numeric) *big.Rat {
	t.Helper()
	if !n.Valid || n.NaN || n.InfinityModifier != pgtype.Finite {
		t.Fatalf("numeric %+v is not a finite number", n)
	}
	r := new(big.Rat).SetInt(n.Int)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n.Exp))), nil))
	if n.Exp >= 0 {
		return r.Mul(r, scale)
	}
	return r.Quo(r, scale)
}

func abs(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}

// majorOf is a minor-unit amount in the currency's major unit.
func majorOf(minor int64, currency string) *big.Rat {
	if currency == "JPY" || currency == "KRW" {
		return new(big.Rat).SetInt64(minor)
	}
	return big.NewRat(minor, 100)
}

// runSavingsQuery runs the savings query and reads its rows in order.
func runSavingsQuery(ctx context.Context, t *testing.T, org *loaded, sql string,
	args []any) []ruleSum {
	t.Helper()
	rows, err := org.pg.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("query %s failed on PostgreSQL: %v", savingsQuery, err)
	}
	defer rows.Close()
	var names []string
	for _, fd := range rows.FieldDescriptions() {
		names = append(names, fd.Name)
	}
	want := "recommendation,title,currency,findings,findings_with_saving," +
		"saving_monthly_minor,saving_annual_minor,saving_monthly,saving_annual"
	if got := strings.Join(names, ","); got != want {
		t.Fatalf("query %s has the columns %s, want %s", savingsQuery, got, want)
	}
	var out []ruleSum
	for rows.Next() {
		var s ruleSum
		var currency *string
		var monthly, annual pgtype.Numeric
		if err := rows.Scan(&s.Rule, &s.Title, &currency, &s.Findings, &s.WithSaving,
			&s.MonthlyMinor, &s.AnnualMinor, &monthly, &annual); err != nil {
			t.Fatalf("reading a row of %s failed: %v", savingsQuery, err)
		}
		if currency == nil {
			s.currencyNull = true
		} else {
			s.Currency = *currency
		}
		s.Monthly, s.Annual = ratOf(t, monthly), ratOf(t, annual)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading %s failed: %v", savingsQuery, err)
	}
	return out
}

// modArgs binds a query's params as Powerpipe binds them, from the
// variable defaults, with values overriding them by name. It also returns
// the values as recommend.Render takes them.
func modArgs(t *testing.T, params []string, defaults map[string]cty.Value,
	values map[string]any) ([]any, map[string]any) {
	t.Helper()
	var args []any
	renderValues := map[string]any{}
	for _, name := range params {
		v, ok := defaults[name]
		if !ok {
			t.Fatalf("param %s has no variable in powerpipe/variables.pp", name)
		}
		arg := powerpipeArg(t, v)
		if override, ok := values[name]; ok {
			arg = override
		}
		args = append(args, arg)
		renderValues[name] = arg
	}
	return args, renderValues
}

// sumRules runs each rule through recommend.Render on PostgreSQL and sums
// its rows per currency: every row counts as a finding, and the alarm rows
// count as findings with a saving and carry the savings.
func sumRules(ctx context.Context, t *testing.T, org *loaded,
	values map[string]any) (map[string]ruleSum, []string) {
	t.Helper()
	sums := map[string]ruleSum{}
	var order []string
	for _, def := range recommend.All() {
		sql, args, err := recommend.Render(def, recommend.Postgres, ownValues(def, values))
		if err != nil {
			t.Fatalf("rendering %s failed: %v", def.Name, err)
		}
		rows, err := queryPostgres(ctx, org.pg, sql, args...)
		if err != nil {
			t.Fatalf("rule %s failed on PostgreSQL: %v", def.Name, err)
		}
		for _, f := range rows {
			s := ruleSum{Rule: def.Name, Title: def.Title, Currency: f.Currency}
			if prev, ok := sums[s.key()]; ok {
				s = prev
			} else {
				order = append(order, s.key())
			}
			s.Findings++
			if f.Status == recommend.StatusAlarm {
				s.WithSaving++
				s.MonthlyMinor += f.MonthlyMinor
				s.AnnualMinor += f.AnnualMinor
			} else if f.MonthlyMinor != 0 || f.AnnualMinor != 0 {
				// The query sums alarm rows only; a saving on another row
				// would be left out of it.
				t.Errorf("rule %s: %s row %s has a saving of %d/%d", def.Name, f.Status,
					f.key(), f.MonthlyMinor, f.AnnualMinor)
			}
			sums[s.key()] = s
		}
	}
	return sums, order
}

// TestModSavingsQuerySumsRules runs the dashboard's savings query of the
// committed mod on PostgreSQL. Each rule's findings and savings per
// currency must equal the sums of that rule's own rows to the minor unit,
// and the chart query must show the same amounts.
func TestModSavingsQuerySumsRules(t *testing.T) {
	org := loadOrg(t, orgUsers, orgSeed)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, defaults := readMod(t)
	queries := readQueries(t)
	table, ok := queries[savingsQuery]
	if !ok {
		t.Fatalf("powerpipe/queries.pp has no query %s; run `make mod`", savingsQuery)
	}
	chart, ok := queries[savingsChartQuery]
	if !ok {
		t.Fatalf("powerpipe/queries.pp has no query %s; run `make mod`", savingsChartQuery)
	}
	if strings.Join(chart.params, ",") != strings.Join(table.params, ",") {
		t.Errorf("params of %s are %v, of %s %v; the dashboard passes the same ones",
			savingsChartQuery, chart.params, savingsQuery, table.params)
	}

	cases := []struct {
		name   string
		values map[string]any
	}{
		// The variable defaults, with the emulator's clock for as_of.
		{"defaults", map[string]any{recommend.ParamAsOf: emulatorNow.Format(time.RFC3339)}},
		// Tighter thresholds make every saving rule report, so that every
		// branch of the union is summed.
		{"tight", map[string]any{
			recommend.ParamAsOf:                 emulatorNow.Format(time.RFC3339),
			recommend.ParamInactiveDays:         int64(30),
			recommend.ParamGraceDays:            int64(0),
			recommend.ParamNeverActiveDays:      int64(7),
			recommend.ParamEditionActivePercent: int64(100),
		}},
	}
	run := func(t *testing.T, values map[string]any) []ruleSum {
		args, renderValues := modArgs(t, table.params, defaults, values)
		got := runSavingsQuery(ctx, t, org, table.sql, args)
		want, order := sumRules(ctx, t, org, renderValues)
		compareSums(t, got, want, order)
		checkChart(ctx, t, org, chart.sql, args, got)
		return got
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.values) })
	}

	// The emulator bills every site in USD. Moving the monthly site with
	// the most seats to JPY, which has no minor unit, checks that the sums
	// keep currencies apart and convert each by its own exponent.
	t.Run("two currencies", func(t *testing.T) {
		moveSiteToYen(ctx, t, org)
		got := run(t, cases[0].values)
		currencies := map[string]bool{}
		for _, s := range got {
			if s.WithSaving > 0 {
				currencies[s.Currency] = true
			}
		}
		if !currencies["JPY"] || !currencies["USD"] {
			t.Errorf("savings in %v, want some in JPY and some in USD", currencies)
		}
	})

	// An empty as_of means now. The sums then depend on the clock, so the
	// queries only have to run.
	args, _ := modArgs(t, table.params, defaults, map[string]any{recommend.ParamAsOf: ""})
	for _, q := range []modControl{table, chart} {
		rows, err := org.pg.Query(ctx, q.sql, args...)
		if err == nil {
			rows.Close()
			err = rows.Err()
		}
		if err != nil {
			t.Errorf("savings query with an empty as_of failed: %v", err)
		}
	}
}

func compareSums(t *testing.T, got []ruleSum, want map[string]ruleSum, order []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("no rule reported anything for the org; the sums would prove nothing")
	}
	savingRules := map[string]bool{}
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g.key()] {
			t.Errorf("%s appears twice", g.key())
		}
		seen[g.key()] = true
		w, ok := want[g.key()]
		if !ok {
			t.Errorf("%s: %d findings in the query, none in the rule's rows", g.key(), g.Findings)
			continue
		}
		if g.currencyNull != (w.Currency == "") {
			t.Errorf("%s: currency null = %v in the query", g.key(), g.currencyNull)
		}
		if g.Title != w.Title {
			t.Errorf("%s: title %q, want %q", g.key(), g.Title, w.Title)
		}
		if g.Findings != w.Findings {
			t.Errorf("%s: %d findings, the rule has %d rows", g.key(), g.Findings, w.Findings)
		}
		if g.WithSaving != w.WithSaving {
			t.Errorf("%s: %d findings with a saving, the rule has %d alarm rows",
				g.key(), g.WithSaving, w.WithSaving)
		}
		if g.MonthlyMinor != w.MonthlyMinor {
			t.Errorf("%s: saving_monthly_minor %d, the rule's rows add up to %d",
				g.key(), g.MonthlyMinor, w.MonthlyMinor)
		}
		if g.AnnualMinor != w.AnnualMinor {
			t.Errorf("%s: saving_annual_minor %d, the rule's rows add up to %d",
				g.key(), g.AnnualMinor, w.AnnualMinor)
		}
		if m := majorOf(g.MonthlyMinor, g.Currency); g.Monthly.Cmp(m) != 0 {
			t.Errorf("%s: saving_monthly %s, want %s", g.key(),
				g.Monthly.FloatString(2), m.FloatString(2))
		}
		if a := majorOf(g.AnnualMinor, g.Currency); g.Annual.Cmp(a) != 0 {
			t.Errorf("%s: saving_annual %s, want %s", g.key(),
				g.Annual.FloatString(2), a.FloatString(2))
		}
		if g.WithSaving > 0 && g.MonthlyMinor+g.AnnualMinor > 0 {
			savingRules[g.Rule] = true
		}
	}
	for _, key := range order {
		if !seen[key] {
			t.Errorf("%s: %d rows of the rule are missing from the query", key, want[key].Findings)
		}
	}
	if len(savingRules) < 2 {
		t.Errorf("only %d rules claim a saving; the union's sums would be barely checked",
			len(savingRules))
	}
	t.Logf("%d rule and currency rows, %d rules with a saving", len(got), len(savingRules))
}

// checkChart requires the chart query to show each row of the table query
// that claims a saving, labelled with its currency, with the same amounts.
func checkChart(ctx context.Context, t *testing.T, org *loaded, sql string, args []any,
	table []ruleSum) {
	t.Helper()
	rows, err := org.pg.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("query %s failed on PostgreSQL: %v", savingsChartQuery, err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var label string
		var monthly, annual pgtype.Numeric
		if err := rows.Scan(&label, &monthly, &annual); err != nil {
			t.Fatalf("reading a row of %s failed: %v", savingsChartQuery, err)
		}
		got = append(got, fmt.Sprintf("%s %s %s", label,
			ratOf(t, monthly).FloatString(2), ratOf(t, annual).FloatString(2)))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading %s failed: %v", savingsChartQuery, err)
	}
	var want []string
	for _, s := range table {
		if s.currencyNull || s.WithSaving == 0 {
			continue
		}
		want = append(want, fmt.Sprintf("%s (%s) %s %s", s.Rule, s.Currency,
			s.Monthly.FloatString(2), s.Annual.FloatString(2)))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("chart rows:\n%s\nwant the table's rows with a saving:\n%s",
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// moveSiteToYen sets the currency of the monthly site with the most
// billable seats to JPY in the PostgreSQL copy of the org.
func moveSiteToYen(ctx context.Context, t *testing.T, org *loaded) {
	t.Helper()
	var cloudID string
	err := org.pg.QueryRow(ctx, `select s.cloud_id from confluence_spend as s
		join confluence_license as l on l.cloud_id = s.cloud_id
		where l.billing_cycle = 'monthly' and s.billable and s.amount_monthly_minor > 0
		group by s.cloud_id order by count(*) desc, s.cloud_id limit 1`).Scan(&cloudID)
	if err != nil {
		t.Fatalf("finding a monthly site with billable seats failed: %v", err)
	}
	for _, table := range []string{"confluence_license", "confluence_spend"} {
		if _, err := org.pg.Exec(ctx, "update "+table+" set currency = 'JPY' where cloud_id = $1",
			cloudID); err != nil {
			t.Fatalf("updating %s failed: %v", table, err)
		}
	}
}
