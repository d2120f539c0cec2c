package recommend

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var sessionDir string

func tempDir() (string, error) { return sessionDir, nil }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "recommend-test-")
	if err != nil {
		panic(err)
	}
	sessionDir = dir
	code := m.Run()
	if shared != nil {
		shared.emu.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestRulesMatchModel(t *testing.T) {
	fx := openFixture(t)
	asOf := fx.org.Now
	rep, err := Run(context.Background(), fx.engine, All(), map[string]any{ParamAsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	want := newModel(t, fx.org, asOf).expected(t, nil)
	compareFindings(t, rep.Findings, want)

	// The org must exercise every rule, or the comparison proves little.
	counts := countRules(want)
	for _, key := range []string{"suspended_elsewhere/info", "never_active_users/alarm",
		"inactive_users/alarm", "inactive_users/info", "external_paid_seats/alarm",
		"annual_tier_above_need/alarm", "monthly_to_annual/info", "duplicate_people/info"} {
		if counts[key] == 0 {
			t.Errorf("the generated org has no %s finding", key)
		}
	}
	t.Logf("findings per rule and status: %v", counts)

	// Totals: alarm rows only, per currency.
	var monthly, annual int64
	n := 0
	for _, f := range want {
		if f.status == StatusAlarm {
			monthly, annual, n = monthly+f.monthly, annual+f.annual, n+1
		}
	}
	if len(rep.Totals) != 1 {
		t.Fatalf("got %d currency totals, want 1 (USD): %+v", len(rep.Totals), rep.Totals)
	}
	total := rep.Totals[0]
	if total.Currency != "USD" || total.MonthlyMinor != monthly || total.AnnualMinor != annual ||
		total.Findings != n {
		t.Errorf("total = %+v, want USD %d findings %d/%d", total, n, monthly, annual)
	}
	var siteSum int64
	for _, s := range rep.SiteTotals {
		siteSum += s.AnnualMinor
	}
	if siteSum != annual {
		t.Errorf("site totals add up to %d, want %d", siteSum, annual)
	}
}

// TestRulesMatchModelLater evaluates the same data 150 days later, when
// most users count as inactive: the edition rule fires and the annual
// plans no longer have enough candidates to stay below the alarm.
func TestRulesMatchModelLater(t *testing.T) {
	fx := openFixture(t)
	asOf := fx.org.Now.AddDate(0, 0, 150)
	values := map[string]any{ParamAsOf: asOf.Format(time.RFC3339)}
	rep, err := Run(context.Background(), fx.engine, All(), values)
	if err != nil {
		t.Fatal(err)
	}
	want := newModel(t, fx.org, asOf).expected(t, nil)
	compareFindings(t, rep.Findings, want)
	counts := countRules(want)
	if counts["edition_above_need/info"] == 0 {
		t.Errorf("no edition_above_need finding 150 days on: %v", counts)
	}
}

func TestReasonsEndWithPeriodAndName(t *testing.T) {
	fx := openFixture(t)
	rep, err := Run(context.Background(), fx.engine, All(),
		map[string]any{ParamAsOf: fx.org.Now})
	if err != nil {
		t.Fatal(err)
	}
	amount := regexp.MustCompile(`\d+\.\d\d USD a month`)
	for _, f := range rep.Findings {
		if !strings.HasSuffix(f.Reason, ".") {
			t.Errorf("%s %s: reason %q does not end with a period", f.Rule, f.Resource, f.Reason)
		}
		if f.Site == "" || !strings.Contains(f.Reason, f.Site) {
			t.Errorf("%s %s: reason %q does not name the site", f.Rule, f.Resource, f.Reason)
		}
		if f.AccountID != "" && f.Rule != "duplicate_people" {
			if !amount.MatchString(f.Reason) && !strings.Contains(f.Reason, "no price") {
				t.Errorf("%s %s: reason %q names no monthly amount", f.Rule, f.Resource, f.Reason)
			}
		}
		if f.Status == StatusAlarm && (f.SavingMonthlyMinor <= 0 || f.SavingAnnualMinor <= 0) {
			t.Errorf("%s %s: alarm without a saving", f.Rule, f.Resource)
		}
		if f.Status == StatusInfo && f.Rule != "annual_tier_above_need" &&
			(f.SavingMonthlyMinor != 0 || f.SavingAnnualMinor != 0) {
			t.Errorf("%s %s: info row claims a saving", f.Rule, f.Resource)
		}
	}
}

func TestThresholdsAndExemptions(t *testing.T) {
	fx := openFixture(t)
	asOf := fx.org.Now
	m := newModel(t, fx.org, asOf)
	base := m.expected(t, nil)
	// Exempt the first two per-user findings: one by account id, one by
	// e-mail in upper case.
	exempt := map[string]bool{}
	var list []string
	for _, f := range base {
		if len(list) == 2 {
			break
		}
		u := fx.org.User(f.resource)
		if u == nil || f.rule == "duplicate_people" || exempt[strings.ToLower(u.AccountID)] {
			continue
		}
		if len(list) == 1 && u.Email != "" {
			list = append(list, strings.ToUpper(u.Email))
			exempt[strings.ToLower(u.Email)] = true
			continue
		}
		list = append(list, u.AccountID)
		exempt[strings.ToLower(u.AccountID)] = true
	}
	if len(list) < 2 {
		t.Fatalf("found no users to exempt")
	}
	rep, err := Run(context.Background(), fx.engine, All(),
		map[string]any{ParamAsOf: asOf, ParamExempt: list})
	if err != nil {
		t.Fatal(err)
	}
	want := m.expected(t, exempt)
	if len(want) >= len(base) {
		t.Fatalf("exempting %v removed no expected finding", list)
	}
	compareFindings(t, rep.Findings, want)
}

func TestMaliciousParameterIsBound(t *testing.T) {
	fx := openFixture(t)
	evil := []string{"x') or 1=1 --", "'; drop table confluence_user; --", `"`, "?", "$1"}
	for _, def := range All() {
		for _, d := range []Dialect{Postgres, SQLite} {
			values := map[string]any{ParamAsOf: "2026-05-01"}
			if hasParam(def, ParamExempt) {
				values[ParamExempt] = evil
			}
			q, err := RenderQuery(def, d, values)
			if err != nil {
				t.Fatalf("%s/%v: %v", def.Name, d, err)
			}
			for _, v := range evil[:2] {
				if strings.Contains(q.SQL, v) {
					t.Errorf("%s/%v: the SQL contains the value %q", def.Name, d, v)
				}
			}
		}
	}
	withEvil, err := Run(context.Background(), fx.engine, All(),
		map[string]any{ParamAsOf: fx.org.Now, ParamExempt: evil})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Run(context.Background(), fx.engine, All(),
		map[string]any{ParamAsOf: fx.org.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(withEvil.Findings) != len(plain.Findings) {
		t.Errorf("an exemption matching no user changed the findings: %d, want %d",
			len(withEvil.Findings), len(plain.Findings))
	}
	res, err := fx.engine.QueryAll(context.Background(), "select count(*) from confluence_user")
	if err != nil || len(res.Rows) != 1 || res.Rows[0][0].(int64) == 0 {
		t.Errorf("confluence_user is gone or empty after the run: %v %v", res, err)
	}
}

func hasParam(def Definition, name string) bool {
	_, ok := findParam(def.Params, name)
	return ok
}

func TestRenderPlaceholders(t *testing.T) {
	pg := regexp.MustCompile(`\$(\d+)`)
	lite := regexp.MustCompile(`\?(\d+)`)
	for _, def := range All() {
		for _, d := range []Dialect{Postgres, SQLite} {
			q, err := RenderQuery(def, d, map[string]any{ParamAsOf: "2026-05-01T00:00:00Z"})
			if err != nil {
				t.Fatalf("%s/%v: %v", def.Name, d, err)
			}
			if len(q.Args) != len(q.Names) {
				t.Errorf("%s/%v: %d args, %d names", def.Name, d, len(q.Args), len(q.Names))
			}
			re := lite
			if d == Postgres {
				re = pg
				if strings.Contains(q.SQL, "?") {
					t.Errorf("%s: PostgreSQL SQL contains a ? placeholder", def.Name)
				}
			}
			max := 0
			for _, m := range re.FindAllStringSubmatch(q.SQL, -1) {
				var n int
				for _, c := range m[1] {
					n = n*10 + int(c-'0')
				}
				max = maxInt(max, n)
			}
			if max != len(q.Args) {
				t.Errorf("%s/%v: highest placeholder %d, %d args", def.Name, d, max, len(q.Args))
			}
			for _, name := range q.Names {
				if !hasParam(def, name) {
					t.Errorf("%s: binds undeclared parameter %s", def.Name, name)
				}
			}
		}
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func TestRenderRejectsBadValues(t *testing.T) {
	def, _ := Lookup("inactive_users")
	cases := []map[string]any{
		{},                       // as_of missing
		{ParamAsOf: "yesterday"}, // not a time
		{ParamAsOf: "2026-05-01", ParamInactiveDays: "ninety"},
		{ParamAsOf: "2026-05-01", ParamInactiveDays: -1},
		{ParamAsOf: "2026-05-01", ParamExempt: "a,b"}, // not a list
		{ParamAsOf: "2026-05-01", "no_such_param": 1},
	}
	for i, values := range cases {
		if _, _, err := Render(def, SQLite, values); err == nil {
			t.Errorf("case %d: Render accepted %v", i, values)
		}
	}
}

func TestAllNamesUniqueAndOrdered(t *testing.T) {
	seen := map[string]bool{}
	last := -1
	for _, def := range All() {
		if seen[def.Name] {
			t.Errorf("rule %s defined twice", def.Name)
		}
		seen[def.Name] = true
		if def.Precedence <= last {
			t.Errorf("rule %s: precedence %d not after %d", def.Name, def.Precedence, last)
		}
		last = def.Precedence
		if !hasParam(def, ParamAsOf) {
			t.Errorf("rule %s does not take %s", def.Name, ParamAsOf)
		}
	}
}
