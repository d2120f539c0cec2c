package cli

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
)

// TestDemoFollowUpWorks follows the commands the demo prints at its end:
// they name the binary as it was started, and the .spc file they show,
// with an emulator's "config" field filled in, lifts the request pacing
// and serves a query.
func TestDemoFollowUpWorks(t *testing.T) {
	clearEnv(t)
	code, stdout, stderr := run(t, "demo", "--users", "40", "--seed", "4", "--now", "2026-05-01")
	if code != ExitOK {
		t.Fatalf("demo exit code %d, stderr %q", code, stderr)
	}
	wantEmulator := os.Args[0] + " emulator --users 40 --seed 4 --now 2026-05-01T00:00:00Z\n"
	if !strings.Contains(stdout, wantEmulator) {
		t.Errorf("demo output does not contain %q:\n%s", wantEmulator, stdout)
	}
	wantRecommend := os.Args[0] + " recommend --config FILE --as-of 2026-05-01T00:00:00Z\n"
	if !strings.Contains(stdout, wantRecommend) {
		t.Errorf("demo output does not contain %q:\n%s", wantRecommend, stdout)
	}
	if strings.Contains(stdout, " "+programName+" ") {
		t.Errorf("demo output names %s without the path it was started with:\n%s", programName, stdout)
	}

	_, spc, found := strings.Cut(stdout, "jq -r .config):\n\n")
	if !found {
		t.Fatalf("demo output shows no .spc file:\n%s", stdout)
	}
	spc, _, found = strings.Cut(spc, "\nand run\n")
	if !found {
		t.Fatalf("demo output has no command after the .spc file:\n%s", stdout)
	}
	spc = strings.ReplaceAll(spc, "\n  ", "\n")
	spc = strings.TrimPrefix(spc, "  ")
	const placeholder = "# the emulator's \"config\" field\n"
	if !strings.Contains(spc, placeholder) {
		t.Fatalf("the .spc file has no %q line:\n%s", placeholder, spc)
	}

	emu, err := emulator.New(emulator.Options{
		Users: 40, Seed: 4, Now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	info := emu.Info()
	path := writeFile(t, strings.Replace(spc, placeholder,
		info.Config+"session_cache_path = \""+t.TempDir()+"\"\n", 1))

	settings, err := loadSpc(path, "")
	if err != nil {
		t.Fatalf("the .spc file does not load: %v\n%s", err, spc)
	}
	for _, setting := range []string{"org_requests_per_minute = 0", "site_requests_per_minute = 0"} {
		if !strings.Contains(settings.Body, setting) {
			t.Errorf("connection block lacks %q:\n%s", setting, settings.Body)
		}
	}
	if len(settings.Limiters) != 2 {
		t.Fatalf("the .spc file has %d limiters, want 2", len(settings.Limiters))
	}
	for _, l := range settings.Limiters {
		if l.FillRate < 1000 || l.BucketSize < 1000 {
			t.Errorf("limiter %s: fill_rate %g, bucket_size %d, want both at least 1000",
				l.Name, l.FillRate, l.BucketSize)
		}
	}

	code, stdout, stderr = run(t, "query", "--config", path, "--output", "csv",
		"select count(*) as n from confluence_user")
	if code != ExitOK {
		t.Fatalf("query exit code %d, stderr %q", code, stderr)
	}
	if want := "n\n" + strconv.Itoa(info.ConfluenceUsers) + "\n"; stdout != want {
		t.Errorf("query stdout %q, want %q", stdout, want)
	}
}

func TestRuleSummaryListsRulesWithoutFindings(t *testing.T) {
	report := &recommend.Report{Findings: []recommend.Finding{
		{Rule: "inactive_users", Status: "alarm", Currency: "USD", SavingMonthlyMinor: 500,
			SavingAnnualMinor: 6000},
		{Rule: "inactive_users", Status: "info", Currency: "USD"},
	}}
	// The rule without findings comes first in rules, so it must stay first.
	rules := []recommend.Definition{{Name: "edition_above_need"}, {Name: "inactive_users"}}
	res := ruleSummary(report, rules)
	if len(res.Rows) != 2 {
		t.Fatalf("%d rows, want one per rule: %v", len(res.Rows), res.Rows)
	}
	if got := res.Rows[0]; got[0] != "edition_above_need" || got[1] != int64(0) || got[3] != nil {
		t.Errorf("first row %v, want edition_above_need with 0 findings and no amount", got)
	}
	if got := res.Rows[1]; got[0] != "inactive_users" || got[1] != int64(2) || got[2] != int64(1) {
		t.Errorf("second row %v, want inactive_users with 2 findings, 1 with a saving", got)
	}
}
