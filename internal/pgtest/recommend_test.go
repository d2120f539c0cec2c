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
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/zclconf/go-cty/cty"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
)

// The org the recommendation tests run on.
var orgUsers, orgSeed = 400, int64(17)

// finding is one result row reduced to what must agree across engines.
type finding struct {
	Resource, Status, Reason, AccountID, Site, CloudID, Currency string
	MonthlyMinor, AnnualMinor                                    int64
}

func (f finding) key() string {
	return strings.Join([]string{f.Resource, f.AccountID, f.Site, f.CloudID, f.Status}, " | ")
}

// total is the claimed saving (alarm rows) of one currency.
type total struct {
	Findings                  int
	MonthlyMinor, AnnualMinor int64
}

func totalsOf(findings []finding) map[string]total {
	out := map[string]total{}
	for _, f := range findings {
		if f.Status != recommend.StatusAlarm {
			continue
		}
		t := out[f.Currency]
		t.Findings++
		t.MonthlyMinor += f.MonthlyMinor
		t.AnnualMinor += f.AnnualMinor
		out[f.Currency] = t
	}
	return out
}

// queryPostgres runs one query on PostgreSQL and reads the rule columns.
func queryPostgres(ctx context.Context, conn *pgx.Conn, sql string,
	args ...any) ([]finding, error) {
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := make([]string, len(rows.FieldDescriptions()))
	for i, fd := range rows.FieldDescriptions() {
		names[i] = fd.Name
	}
	if strings.Join(names, ",") != strings.Join(recommend.Columns, ",") {
		return nil, fmt.Errorf("columns %v, want %v", names, recommend.Columns)
	}
	var out []finding
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			return nil, err
		}
		f, err := findingOf(values)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func findingOf(values []any) (finding, error) {
	text := func(i int) string {
		switch x := values[i].(type) {
		case nil:
			return ""
		case []byte:
			return string(x)
		}
		return fmt.Sprint(values[i])
	}
	var nums [2]int64
	for k, i := range []int{7, 8} {
		n, err := wholeNumber(values[i])
		if err != nil {
			return finding{}, fmt.Errorf("column %s: %w", recommend.Columns[i], err)
		}
		nums[k] = n
	}
	return finding{Resource: text(0), Status: text(1), Reason: text(2), AccountID: text(3),
		Site: text(4), CloudID: text(5), Currency: text(6),
		MonthlyMinor: nums[0], AnnualMinor: nums[1]}, nil
}

// wholeNumber reads a minor-unit amount, which must be an integer in both
// engines: a fraction of a cent would mean the SQL divided somewhere.
func wholeNumber(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case pgtype.Numeric:
		f, err := x.Float64Value()
		if err != nil || !f.Valid {
			return 0, fmt.Errorf("invalid numeric %v", x)
		}
		r := new(big.Float).SetFloat64(f.Float64)
		if !r.IsInt() {
			return 0, fmt.Errorf("%v is not a whole number of minor units", f.Float64)
		}
		n, _ := r.Int64()
		return n, nil
	}
	return 0, fmt.Errorf("got %T, want an integer", v)
}

// TestRecommendationsAgreeAcrossEngines runs every rule on PostgreSQL and
// on the embedded SQLite engine over the same org and requires the same
// rows and the same amounts to the minor unit.
func TestRecommendationsAgreeAcrossEngines(t *testing.T) {
	org := loadOrg(t, orgUsers, orgSeed)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := recommend.CopyTables(ctx, org.engine, recommend.Tables(recommend.All())); err != nil {
		t.Fatalf("CopyTables failed: %v", err)
	}
	t.Run("defaults", func(t *testing.T) {
		compareEngines(t, ctx, org, map[string]any{recommend.ParamAsOf: emulatorNow}, false)
	})
	// Tighter thresholds make every rule report, edition_above_need
	// included, which reports nothing on this org at its defaults.
	t.Run("tight", func(t *testing.T) {
		compareEngines(t, ctx, org, map[string]any{
			recommend.ParamAsOf:                 emulatorNow.Format("2006-01-02"),
			recommend.ParamInactiveDays:         30,
			recommend.ParamGraceDays:            0,
			recommend.ParamNeverActiveDays:      7,
			recommend.ParamEditionActivePercent: 100,
		}, true)
	})
}

// compareEngines runs every rule on both engines with the given values.
// With everyRule set, a rule without rows fails the test, because its SQL
// would then go uncompared.
func compareEngines(t *testing.T, ctx context.Context, org *loaded, values map[string]any,
	everyRule bool) {
	defs := recommend.All()
	var allSQLite, allPostgres []finding
	for _, def := range defs {
		own := ownValues(def, values)
		pgSQL, pgArgs, err := recommend.Render(def, recommend.Postgres, own)
		if err != nil {
			t.Fatalf("rendering %s for PostgreSQL failed: %v", def.Name, err)
		}
		liteSQL, liteArgs, err := recommend.Render(def, recommend.SQLite, own)
		if err != nil {
			t.Fatalf("rendering %s for SQLite failed: %v", def.Name, err)
		}
		fromPostgres, err := queryPostgres(ctx, org.pg, pgSQL, pgArgs...)
		if err != nil {
			t.Errorf("rule %s failed on PostgreSQL: %v", def.Name, err)
			continue
		}
		res, err := org.engine.QueryAll(ctx, liteSQL, liteArgs...)
		if err != nil {
			t.Errorf("rule %s failed on SQLite: %v", def.Name, err)
			continue
		}
		var fromSQLite []finding
		for _, row := range res.Rows {
			f, err := findingOf(row)
			if err != nil {
				t.Fatalf("rule %s on SQLite: %v", def.Name, err)
			}
			fromSQLite = append(fromSQLite, f)
		}
		t.Logf("rule %s: %d rows", def.Name, len(fromSQLite))
		if everyRule && len(fromSQLite) == 0 {
			t.Errorf("rule %s reported nothing, so its SQL was not compared; change the "+
				"test's org or thresholds so that it reports", def.Name)
		}
		compareFindings(t, def.Name, "sqlite", fromSQLite, "postgresql", fromPostgres)
		allSQLite = append(allSQLite, fromSQLite...)
		allPostgres = append(allPostgres, fromPostgres...)
	}

	if len(allSQLite) == 0 {
		t.Fatalf("no rule reported anything for the org; the comparison would prove nothing")
	}
	liteTotals, pgTotals := totalsOf(allSQLite), totalsOf(allPostgres)
	if len(liteTotals) == 0 {
		t.Errorf("no alarm rows: no saving was compared")
	}
	for currency, want := range liteTotals {
		if got := pgTotals[currency]; got != want {
			t.Errorf("total in %s: PostgreSQL %+v, SQLite %+v", currency, got, want)
		}
	}
	for currency := range pgTotals {
		if _, ok := liteTotals[currency]; !ok {
			t.Errorf("total in %s on PostgreSQL only: %+v", currency, pgTotals[currency])
		}
	}

	// recommend.Run is what the command line tool reports; its totals must
	// be the ones compared here.
	report, err := recommend.Run(ctx, org.engine, defs, values)
	if err != nil {
		t.Fatalf("recommend.Run failed: %v", err)
	}
	for _, tot := range report.Totals {
		want := liteTotals[tot.Currency]
		got := total{Findings: tot.Findings, MonthlyMinor: tot.MonthlyMinor,
			AnnualMinor: tot.AnnualMinor}
		if got != want {
			t.Errorf("recommend.Run total in %s = %+v, the rules' rows add up to %+v",
				tot.Currency, got, want)
		}
	}
}

func ownValues(def recommend.Definition, values map[string]any) map[string]any {
	own := map[string]any{}
	for _, p := range def.Params {
		if v, ok := values[p.Name]; ok {
			own[p.Name] = v
		}
	}
	return own
}

// compareFindings requires the rows of two runs of one rule to agree; the
// labels name the runs in failure messages.
func compareFindings(t *testing.T, rule, wantLabel string, want []finding,
	gotLabel string, got []finding) {
	t.Helper()
	gotByKey := map[string]finding{}
	for _, f := range got {
		if _, dup := gotByKey[f.key()]; dup {
			t.Errorf("rule %s: %s reports %s twice", rule, gotLabel, f.key())
		}
		gotByKey[f.key()] = f
	}
	for _, w := range want {
		g, ok := gotByKey[w.key()]
		if !ok {
			t.Errorf("rule %s: %s reported by %s only", rule, w.key(), wantLabel)
			continue
		}
		delete(gotByKey, w.key())
		if g.MonthlyMinor != w.MonthlyMinor || g.AnnualMinor != w.AnnualMinor {
			t.Errorf("rule %s, %s: %s saves %d/%d a month/year, %s %d/%d", rule, w.key(),
				gotLabel, g.MonthlyMinor, g.AnnualMinor, wantLabel, w.MonthlyMinor, w.AnnualMinor)
		}
		if g.Currency != w.Currency {
			t.Errorf("rule %s, %s: currency %q from %s, %q from %s",
				rule, w.key(), g.Currency, gotLabel, w.Currency, wantLabel)
		}
		if g.Reason != w.Reason {
			t.Errorf("rule %s, %s: reasons differ\n%-10s %s\n%-10s %s", rule, w.key(),
				gotLabel+":", g.Reason, wantLabel+":", w.Reason)
		}
	}
	for key := range gotByKey {
		t.Errorf("rule %s: %s reported by %s only", rule, key, gotLabel)
	}
}

// modControl is one control of the committed Powerpipe mod.
type modControl struct {
	sql    string
	params []string // parameter names in placeholder order
}

// readMod parses the committed mod's controls and variable defaults.
func readMod(t *testing.T) (map[string]modControl, map[string]cty.Value) {
	t.Helper()
	parser := hclparse.NewParser()
	read := func(name string) *hclsyntax.Body {
		content, err := os.ReadFile("../../powerpipe/" + name)
		if err != nil {
			t.Fatalf("reading powerpipe/%s failed: %v", name, err)
		}
		f, diags := parser.ParseHCL(content, name)
		if diags.HasErrors() {
			t.Fatalf("powerpipe/%s does not parse: %s", name, diags.Error())
		}
		return f.Body.(*hclsyntax.Body)
	}
	defaults := map[string]cty.Value{}
	for _, b := range read("variables.pp").Blocks {
		v, diags := b.Body.Attributes["default"].Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("variable %s: %s", b.Labels[0], diags.Error())
		}
		defaults[b.Labels[0]] = v
	}
	controls := map[string]modControl{}
	for _, b := range read("confluence_savings.pp").Blocks {
		if b.Type != "control" {
			continue
		}
		sql, diags := b.Body.Attributes["sql"].Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("control %s: %s", b.Labels[0], diags.Error())
		}
		c := modControl{sql: sql.AsString()}
		for _, p := range b.Body.Blocks {
			if p.Type == "param" {
				c.params = append(c.params, p.Labels[0])
			}
		}
		controls[b.Labels[0]] = c
	}
	return controls, defaults
}

// powerpipeArg converts a variable value to what Powerpipe binds: a list
// as a text array, a number as a number, a string as text.
func powerpipeArg(t *testing.T, v cty.Value) any {
	t.Helper()
	switch {
	case v.Type() == cty.String:
		return v.AsString()
	case v.Type() == cty.Number:
		n, _ := v.AsBigFloat().Int64()
		return n
	case v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType():
		list := []string{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			list = append(list, e.AsString())
		}
		return list
	}
	t.Fatalf("variable of unsupported type %s", v.Type().FriendlyName())
	return nil
}

// TestModControlsMatchRender runs each control of the committed mod on
// PostgreSQL with its variables' defaults, bound as Powerpipe binds them,
// and requires the rows Render's PostgreSQL query returns.
func TestModControlsMatchRender(t *testing.T) {
	org := loadOrg(t, orgUsers, orgSeed)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	controls, defaults := readMod(t)

	exempt, exemptAccount := exemptedUser(t, ctx, org)
	for _, def := range recommend.All() {
		c, ok := controls[def.Name]
		if !ok {
			t.Errorf("rule %s has no control in powerpipe/; run `make mod`", def.Name)
			continue
		}
		values := map[string]any{recommend.ParamAsOf: emulatorNow}
		var args []any
		for _, name := range c.params {
			v, ok := defaults[name]
			if !ok {
				t.Fatalf("control %s: param %s has no variable", def.Name, name)
			}
			arg := powerpipeArg(t, v)
			switch name {
			case recommend.ParamAsOf:
				arg = emulatorNow.Format(time.RFC3339)
			case recommend.ParamExempt:
				// A differently cased entry checks that the control folds
				// case as Render does.
				arg = []string{exempt}
				values[name] = []string{exempt}
			}
			args = append(args, arg)
		}
		fromMod, err := queryPostgres(ctx, org.pg, c.sql, args...)
		if err != nil {
			t.Errorf("control %s failed on PostgreSQL: %v", def.Name, err)
			continue
		}
		sql, renderArgs, err := recommend.Render(def, recommend.Postgres, ownValues(def, values))
		if err != nil {
			t.Fatal(err)
		}
		fromRender, err := queryPostgres(ctx, org.pg, sql, renderArgs...)
		if err != nil {
			t.Fatalf("rule %s failed on PostgreSQL: %v", def.Name, err)
		}
		compareFindings(t, def.Name, "render", fromRender, "mod", fromMod)
		for _, f := range fromMod {
			if f.AccountID == exemptAccount && f.Status == recommend.StatusAlarm {
				t.Errorf("control %s reports exempted account %s", def.Name, exemptAccount)
			}
		}

		// An empty as_of means now; the rows depend on the clock, so only
		// the query is checked.
		for i, name := range c.params {
			if name == recommend.ParamAsOf {
				args[i] = ""
			}
		}
		if _, err := queryPostgres(ctx, org.pg, c.sql, args...); err != nil {
			t.Errorf("control %s with an empty as_of failed: %v", def.Name, err)
		}
	}
}

// exemptedUser returns the e-mail address, upper-cased and padded, of a
// user the inactive_users rule reports, and the user's account id.
func exemptedUser(t *testing.T, ctx context.Context, org *loaded) (string, string) {
	t.Helper()
	def, ok := recommend.Lookup("inactive_users")
	if !ok {
		t.Fatal("rule inactive_users not found")
	}
	sql, args, err := recommend.Render(def, recommend.Postgres,
		map[string]any{recommend.ParamAsOf: emulatorNow})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := queryPostgres(ctx, org.pg, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rows {
		var email *string
		err := org.pg.QueryRow(ctx,
			"select email from confluence_user where account_id = $1 limit 1", f.AccountID).
			Scan(&email)
		if err == nil && email != nil && *email != "" {
			return " " + strings.ToUpper(*email) + " ", f.AccountID
		}
	}
	t.Fatalf("inactive_users reports no user with an e-mail address to exempt")
	return "", ""
}
