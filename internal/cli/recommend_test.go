package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// fastLimiters lifts the plugin's request pacing for the emulator.
const fastLimiters = `
plugin "confluence" {
  source = "local/confluence"
  limiter "confluence_admin_api" {
    fill_rate   = 100000
    bucket_size = 100000
    scope       = ["connection"]
    where       = "service = 'admin_api'"
  }
  limiter "confluence_site_rest" {
    fill_rate   = 100000
    bucket_size = 100000
    scope       = ["connection"]
    where       = "service = 'site_rest'"
  }
}
`

func TestRecommendJSONAgainstEmulator(t *testing.T) {
	clearEnv(t)
	emu, err := emulator.New(emulator.Options{
		Users: 200, Seed: 5, Now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	info := emu.Info()
	path := writeFile(t, "connection \"confluence\" {\n  plugin = \"confluence\"\n"+
		info.Config+"\n"+confluence.LoopbackLimitSettings+"  session_cache_path = \""+t.TempDir()+"\"\n}\n"+fastLimiters)
	code, stdout, stderr := run(t, "recommend", "--config", path, "--output", "json",
		"--as-of", "2026-05-01", "--inactive-days", "60")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	var out struct {
		Findings []map[string]any `json:"findings"`
		Sites    []map[string]any `json:"site_totals"`
		Totals   []map[string]any `json:"totals"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	if len(out.Findings) == 0 {
		t.Fatalf("no findings")
	}
	rules := map[string]bool{}
	for _, f := range out.Findings {
		rules[f["rule"].(string)] = true
		if !strings.HasSuffix(f["reason"].(string), ".") {
			t.Errorf("reason %q does not end with a period", f["reason"])
		}
	}
	for _, rule := range []string{"inactive_users", "annual_tier_above_need"} {
		if !rules[rule] {
			t.Errorf("no %s finding in %v", rule, rules)
		}
	}
	if len(out.Totals) != 1 || out.Totals[0]["currency"] != "USD" {
		t.Fatalf("totals = %v, want one USD total", out.Totals)
	}
	// The exact minor-unit columns of the alarm rows add up to the total.
	var sum int64
	for _, f := range out.Findings {
		minor, ok := f["saving_monthly_minor"].(float64)
		if !ok {
			t.Fatalf("finding has no numeric saving_monthly_minor: %v", f)
		}
		if f["status"] == "alarm" {
			sum += int64(minor)
		}
	}
	want := strings.Replace(out.Totals[0]["saving_monthly"].(string), ".", "", 1)
	if got := strconv.FormatInt(sum, 10); got != strings.TrimLeft(want, "0") {
		t.Errorf("sum of saving_monthly_minor = %s, want %s (total %v)", got, want,
			out.Totals[0]["saving_monthly"])
	}

	// The totals carry the same sums as integers, and the site totals add
	// up to them.
	for _, column := range []string{"saving_monthly_minor", "saving_annual_minor"} {
		total, ok := out.Totals[0][column].(float64)
		if !ok {
			t.Errorf("totals have no numeric %s: %v", column, out.Totals[0])
			continue
		}
		var findingsSum, sitesSum int64
		for _, f := range out.Findings {
			if f["status"] == "alarm" {
				findingsSum += int64(f[column].(float64))
			}
		}
		for _, site := range out.Sites {
			minor, ok := site[column].(float64)
			if !ok {
				t.Errorf("site total has no numeric %s: %v", column, site)
				continue
			}
			sitesSum += int64(minor)
		}
		if int64(total) != findingsSum {
			t.Errorf("total %s = %d, want the alarm findings' sum %d", column, int64(total), findingsSum)
		}
		if sitesSum != findingsSum {
			t.Errorf("site totals' %s add up to %d, want %d", column, sitesSum, findingsSum)
		}
	}
}

func TestRecommendFlagErrors(t *testing.T) {
	clearEnv(t)
	cases := [][]string{
		{"recommend", "--as-of", "last week"},
		{"recommend", "--inactive-days", "-5"},
		{"recommend", "--output", "xml"},
		{"recommend", "extra"},
	}
	for _, args := range cases {
		code, _, stderr := run(t, args...)
		if code != ExitUsage {
			t.Errorf("%v: exit code %d, want %d (stderr %q)", args, code, ExitUsage, stderr)
		}
	}
}

// TestRecommendUsesConfiguredTiers prices every premium annual tier above
// any bill, so no lower tier is cheaper: the tier rule must then claim no
// saving, which it does only if it reads the connection's prices setting.
func TestRecommendUsesConfiguredTiers(t *testing.T) {
	clearEnv(t)
	emu, err := emulator.New(emulator.Options{
		Users: 200, Seed: 5, Now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	info := emu.Info()
	var tiers []string
	for _, users := range []int{10, 25, 50, 100, 200, 250, 300, 400, 500, 1000, 5000, 10000} {
		tiers = append(tiers, fmt.Sprintf(`{ users = %d, price = "99999999.00" }`, users))
	}
	prices := "prices = [{ edition = \"premium\", cycle = \"annual\", currency = \"USD\",\n" +
		"  tiers = [" + strings.Join(tiers, ", ") + "] }]\n"
	annualAlarms := func(extra string) (alarms int, reasons []string) {
		path := writeFile(t, "connection \"confluence\" {\n  plugin = \"confluence\"\n"+
			info.Config+"\n"+extra+confluence.LoopbackLimitSettings+
			"  session_cache_path = \""+t.TempDir()+"\"\n}\n"+fastLimiters)
		code, stdout, stderr := run(t, "recommend", "--config", path, "--output", "json",
			"--as-of", "2026-05-01", "--inactive-days", "60")
		if code != ExitOK {
			t.Fatalf("exit code %d, stderr %q", code, stderr)
		}
		var out struct {
			Findings []map[string]any `json:"findings"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("output is not JSON: %v", err)
		}
		for _, f := range out.Findings {
			if f["rule"] == "annual_tier_above_need" {
				reasons = append(reasons, f["reason"].(string))
				if f["status"] == "alarm" {
					alarms++
				}
			}
		}
		return alarms, reasons
	}
	defaultAlarms, defaultReasons := annualAlarms("")
	if defaultAlarms == 0 {
		t.Fatalf("no tier saving with the default table, so the test proves nothing")
	}
	for _, r := range defaultReasons {
		if !strings.Contains(r, "bill estimate") {
			t.Errorf("reason %q does not say the amount is the bill estimate", r)
		}
	}
	configuredAlarms, _ := annualAlarms(prices)
	if configuredAlarms != 0 {
		t.Errorf("tier savings with lower tiers priced above any bill = %d, want 0",
			configuredAlarms)
	}
}

func TestWithColumnLastMovesReason(t *testing.T) {
	text := func(name string) sqlengine.Column {
		return sqlengine.Column{Name: name, Type: sqlengine.TypeText}
	}
	res := &sqlengine.Result{Columns: []sqlengine.Column{text("rule"), text("reason"),
		text("site")}, Rows: [][]any{{"r1", "why 1", "s1"}, {"r2", "why 2", "s2"}}}
	got := withColumnLast(res, "reason")
	var names []string
	for _, c := range got.Columns {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "rule,site,reason" {
		t.Errorf("columns %v, want rule, site, reason", names)
	}
	if fmt.Sprint(got.Rows) != "[[r1 s1 why 1] [r2 s2 why 2]]" {
		t.Errorf("rows %v, want each reason moved last", got.Rows)
	}
	if fmt.Sprint(res.Rows[0]) != "[r1 why 1 s1]" {
		t.Errorf("the input row changed to %v", res.Rows[0])
	}
	if withColumnLast(res, "missing") != res {
		t.Errorf("a missing column did not return the result unchanged")
	}
}
