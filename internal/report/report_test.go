package report_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/report"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

var asOf = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// fixture is a generated org with its engine, report data and page.
type fixture struct {
	engine *sqlengine.Engine
	rep    *recommend.Report
	data   *report.Data
	html   []byte
}

// newFixture runs the recommendations against an emulated org and renders
// the report, as `recommend --output html` does.
func newFixture(t *testing.T, inactiveDays int) *fixture {
	t.Helper()
	ctx := context.Background()
	emu, err := emulator.New(emulator.Options{Users: 400, Seed: 7, Now: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	info := emu.Info()
	var limiters []*proto.RateLimiterDefinition
	for _, d := range confluence.Plugin(ctx).RateLimiters {
		limiters = append(limiters, &proto.RateLimiterDefinition{Name: d.Name,
			FillRate: 100000, BucketSize: 100000, Scope: d.Scope, Where: d.Where})
	}
	engine, err := sqlengine.Open(ctx, sqlengine.Options{
		PluginFunc:       confluence.Plugin,
		PluginName:       "local/confluence",
		ConnectionName:   "confluence",
		ConnectionConfig: info.Config + fmt.Sprintf("\nsession_cache_path = %q\n", t.TempDir()),
		ExactQual:        confluence.ExactQual,
		RateLimiters:     limiters,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	rules := recommend.All()
	if err := recommend.CopyTables(ctx, engine, recommend.Tables(rules)); err != nil {
		t.Fatal(err)
	}
	values := map[string]any{recommend.ParamAsOf: asOf,
		recommend.ParamInactiveDays: inactiveDays}
	rep, err := recommend.Run(ctx, engine, rules, values)
	if err != nil {
		t.Fatal(err)
	}
	data, err := report.Collect(ctx, engine, rep, report.Options{AsOf: asOf,
		InactiveDays: inactiveDays})
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := report.Write(&page, data); err != nil {
		t.Fatal(err)
	}
	return &fixture{engine: engine, rep: rep, data: data, html: page.Bytes()}
}

// siteSpend is a site's spend summed from confluence_spend, the per-user
// table, rather than read from confluence_license as the report does.
type siteSpend struct {
	site, currency                string
	monthlyMinor, annualMinor     int64
	seatsBought, billableUsers    int64
	billableRows, confluenceUsers int64
}

func spendPerSite(t *testing.T, f *fixture) []siteSpend {
	t.Helper()
	res, err := f.engine.QueryAll(context.Background(), `select l.site, s.currency,
  sum(s.amount_monthly_minor), sum(s.amount_annual_minor),
  coalesce(l.seats_bought, -1), coalesce(l.billable_users, -1), sum(s.billable), count(*)
from confluence_spend as s join confluence_license as l on l.cloud_id = s.cloud_id
where l.amount_monthly_minor is not null
group by l.cloud_id, l.site, s.currency
order by l.site`)
	if err != nil {
		t.Fatal(err)
	}
	var out []siteSpend
	for _, r := range res.Rows {
		s := siteSpend{site: fmt.Sprint(r[0]), currency: fmt.Sprint(r[1])}
		for i, p := range []*int64{&s.monthlyMinor, &s.annualMinor, &s.seatsBought,
			&s.billableUsers, &s.billableRows, &s.confluenceUsers} {
			if v, ok := r[i+2].(int64); ok {
				*p = v
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatal("the emulated org has no priced site")
	}
	return out
}

// savings sums the alarm rows of every rule per currency, each rule's
// SQL run on its own, without the report's totals.
func savings(t *testing.T, f *fixture) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	for _, def := range recommend.All() {
		values := map[string]any{}
		for _, p := range def.Params {
			switch p.Name {
			case recommend.ParamAsOf:
				values[p.Name] = asOf
			case recommend.ParamInactiveDays:
				values[p.Name] = f.data.InactiveDays
			}
		}
		q, err := recommend.RenderQuery(def, recommend.SQLite, values)
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.engine.QueryAll(context.Background(),
			"select currency, sum(saving_monthly_minor), sum(saving_annual_minor) from ("+
				q.SQL+") where status = 'alarm' group by currency", q.Args...)
		if err != nil {
			t.Fatalf("rule %s: %v", def.Name, err)
		}
		for _, r := range res.Rows {
			cur := fmt.Sprint(r[0])
			sum := out[cur]
			sum[0] += r[1].(int64)
			sum[1] += r[2].(int64)
			out[cur] = sum
		}
	}
	if len(out) == 0 {
		t.Fatal("no rule claims a saving on the emulated org")
	}
	return out
}

func TestCollectMatchesTables(t *testing.T) {
	f := newFixture(t, 90)
	sites := map[string]report.Site{}
	for _, s := range f.data.Sites {
		sites[s.Site] = s
	}
	for _, want := range spendPerSite(t, f) {
		got, ok := sites[want.site]
		if !ok {
			t.Errorf("site %s missing from the report", want.site)
			continue
		}
		if got.MonthlyMinor != want.monthlyMinor || got.AnnualMinor != want.annualMinor {
			t.Errorf("site %s: report %d/%d a month/year, confluence_spend sums to %d/%d",
				want.site, got.MonthlyMinor, got.AnnualMinor, want.monthlyMinor, want.annualMinor)
		}
		if got.Users != want.confluenceUsers {
			t.Errorf("site %s: report %d users, confluence_spend has %d rows",
				want.site, got.Users, want.confluenceUsers)
		}
	}
	want := savings(t, f)
	for _, c := range f.data.Currencies {
		if s := want[c.Currency]; c.SavingMonthlyMinor != s[0] || c.SavingAnnualMinor != s[1] {
			t.Errorf("%s savings: report %d/%d, rules sum to %d/%d", c.Currency,
				c.SavingMonthlyMinor, c.SavingAnnualMinor, s[0], s[1])
		}
	}

	var users int64
	res, err := f.engine.QueryAll(context.Background(), "select count(*) from confluence_user")
	if err != nil {
		t.Fatal(err)
	}
	users = res.Rows[0][0].(int64)
	histogram := f.data.NeverActive + f.data.Unknown
	for _, b := range f.data.Buckets {
		histogram += b.Users
	}
	if histogram != users || f.data.Users != users {
		t.Errorf("histogram counts %d users (Users %d), confluence_user has %d",
			histogram, f.data.Users, users)
	}
}

func TestBucketsIncludeThreshold(t *testing.T) {
	f := newFixture(t, 45)
	var edges []int
	for _, b := range f.data.Buckets {
		edges = append(edges, b.Low)
		if b.Inactive != (b.Low >= 45) {
			t.Errorf("bucket %s: inactive %v with threshold 45", b.Label, b.Inactive)
		}
	}
	if !strings.Contains(fmt.Sprint(edges), " 45 ") {
		t.Errorf("bucket edges %v do not include the threshold 45", edges)
	}
	if !bytes.Contains(f.html, []byte("inactive after 45 days")) {
		t.Error("the histogram does not mark the threshold of 45 days")
	}
}

func TestPageLoadsNothing(t *testing.T) {
	f := newFixture(t, 90)
	page := string(f.html)
	// Site names are URLs, so the check looks for what loads a resource
	// rather than for URLs.
	stripped := page
	for _, pattern := range []string{`(?i)<link\b`, `(?i)\b(src|href|xlink:href)\s*=`,
		`(?i)@import`, `(?i)url\(`, `(?i)@font-face`, `(?i)<(iframe|img|object|embed)\b`} {
		if loc := regexp.MustCompile(pattern).FindStringIndex(stripped); loc != nil {
			t.Errorf("the page matches %s near %q", pattern,
				stripped[max(loc[0]-40, 0):min(loc[1]+40, len(stripped))])
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("the page has %d script elements, want the one that sorts tables", n)
	}
}

// TestReportInChromium opens the page in headless Chromium and checks the
// rendered page: no console errors, no horizontal overflow at 1280 and 375
// CSS pixels, labelled charts, and the tables' figures in the text.
func TestReportInChromium(t *testing.T) {
	wsURL := startChromium(t)
	f := newFixture(t, 90)
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, f.html, 0o600); err != nil {
		t.Fatal(err)
	}
	c := connectPage(t, wsURL)
	if err := c.setWidth(1280, 900); err != nil {
		t.Fatal(err)
	}
	if err := c.navigate("file://" + path); err != nil {
		t.Fatal(err)
	}
	if p := c.takeProblems(); len(p) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(p, "\n"))
	}

	t.Run("no overflow", func(t *testing.T) {
		for _, w := range []int{1280, 375} {
			if err := c.setWidth(w, 800); err != nil {
				t.Fatal(err)
			}
			var m struct{ Scroll, Inner, Body int }
			if err := c.evaluate(`({scroll: document.documentElement.scrollWidth, `+
				`inner: window.innerWidth, body: document.body.scrollWidth})`, &m); err != nil {
				t.Fatal(err)
			}
			if m.Inner != w {
				t.Errorf("width %d: innerWidth is %d", w, m.Inner)
			}
			if m.Scroll > m.Inner || m.Body > m.Inner {
				t.Errorf("width %d: page scrolls sideways: scrollWidth %d, body %d, "+
					"innerWidth %d", w, m.Scroll, m.Body, m.Inner)
			}
		}
	})

	t.Run("charts labelled", func(t *testing.T) {
		var missing []string
		err := c.evaluate(`Array.from(document.querySelectorAll("svg")).flatMap((svg, i) => {
  const out = [];
  const title = svg.querySelector(":scope > title");
  const name = title ? title.textContent.trim() : "svg #" + i;
  if (!title || name === "") out.push(name + ": no <title>");
  for (const cls of ["chart-title", "x-label", "y-label"]) {
    const el = svg.querySelector("." + cls);
    if (!el || el.textContent.trim() === "") out.push(name + ": no ." + cls);
  }
  if (!svg.getAttribute("viewBox")) out.push(name + ": no viewBox");
  const r = svg.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) out.push(name + ": not drawn");
  return out;
})`, &missing)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range missing {
			t.Error(m)
		}
		var charts int
		if err := c.evaluate(`document.querySelectorAll("svg.chart").length`, &charts); err != nil {
			t.Fatal(err)
		}
		// Monthly and annual spend, seats, histogram and savings: five at least.
		if charts < 5 {
			t.Errorf("the page has %d charts, want at least 5", charts)
		}
		var units []string
		if err := c.evaluate(`Array.from(document.querySelectorAll("svg .x-label"))`+
			`.map(e => e.textContent)`, &units); err != nil {
			t.Fatal(err)
		}
		for _, u := range units {
			if !regexp.MustCompile(`\(.+\)$`).MatchString(u) {
				t.Errorf("x axis label %q gives no unit in brackets", u)
			}
		}
	})

	t.Run("figures match tables", func(t *testing.T) {
		if err := c.setWidth(1280, 900); err != nil {
			t.Fatal(err)
		}
		var text string
		if err := c.evaluate(`document.body.innerText`, &text); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(text, "\n")
		rowOf := func(first string) []string {
			for _, l := range lines {
				if cells := strings.Split(l, "\t"); len(cells) > 1 && cells[0] == first {
					return cells
				}
			}
			return nil
		}
		for _, s := range spendPerSite(t, f) {
			row := rowOf(s.site)
			if row == nil {
				t.Errorf("no table row for site %s", s.site)
				continue
			}
			monthly := report.Amount(s.monthlyMinor, s.currency)
			annual := report.Amount(s.annualMinor, s.currency)
			if !containsCell(row, monthly) || !containsCell(row, annual) {
				t.Errorf("site %s row %q lacks %s a month or %s a year", s.site, row,
					monthly, annual)
			}
			if s.seatsBought >= 0 && !containsCell(row, fmt.Sprint(s.seatsBought)) {
				t.Errorf("site %s row %q lacks %d seats bought", s.site, row, s.seatsBought)
			}
			if s.billableUsers >= 0 && !containsCell(row, fmt.Sprint(s.billableUsers)) {
				t.Errorf("site %s row %q lacks %d billable users", s.site, row, s.billableUsers)
			}
		}
		for cur, sum := range savings(t, f) {
			for i, label := range []string{"Savings a month", "Savings a year"} {
				want := label + "\n" + report.Amount(sum[i], cur)
				if !strings.Contains(text, want) {
					t.Errorf("the page does not show %q", want)
				}
			}
		}
		var rows int
		if err := c.evaluate(`document.querySelectorAll("#findings tbody tr").length`,
			&rows); err != nil {
			t.Fatal(err)
		}
		if rows != len(f.rep.Findings) {
			t.Errorf("findings table has %d rows, the report %d findings", rows,
				len(f.rep.Findings))
		}
	})

	t.Run("findings sort", func(t *testing.T) {
		var order []float64
		err := c.evaluate(`(() => {
  const th = Array.from(document.querySelectorAll("#findings th"))
    .find(h => h.textContent.trim() === "saving a year");
  th.click(); th.click();
  return Array.from(document.querySelectorAll("#findings tbody tr"))
    .map(r => Number(r.cells[th.cellIndex].dataset.v));
})()`, &order)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(order); i++ {
			if order[i] > order[i-1] {
				t.Fatalf("after two clicks the findings are not in descending saving order "+
					"at row %d: %v > %v", i, order[i], order[i-1])
			}
		}
		if p := c.takeProblems(); len(p) > 0 {
			t.Errorf("sorting logged errors:\n%s", strings.Join(p, "\n"))
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		if err := c.setWidth(1280, 900); err != nil {
			t.Fatal(err)
		}
		if err := c.evaluate(`window.scrollTo(0, 0), true`, new(bool)); err != nil {
			t.Fatal(err)
		}
		var shot struct {
			Data []byte `json:"data"` // base64 in JSON, decoded by encoding/json
		}
		if err := c.call(c.session, "Page.captureScreenshot", map[string]any{
			"format": "png"}, &shot); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(shot.Data, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("the screenshot is not a PNG (%d bytes)", len(shot.Data))
		}
		saveScreenshot(t, shot.Data)
	})
}

func containsCell(row []string, want string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) == want {
			return true
		}
	}
	return false
}

// screenshotPath is the picture docs/report.md shows.
const screenshotPath = "../../docs/images/report.png"

// saveScreenshot writes the picture for the docs when it is missing or
// UPDATE_REPORT_SCREENSHOT=1 is set, so that a test run does
// not change a committed file.
func saveScreenshot(t *testing.T, png []byte) {
	t.Helper()
	if _, err := os.Stat(screenshotPath); err == nil && os.Getenv("UPDATE_REPORT_SCREENSHOT") != "1" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(screenshotPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", screenshotPath, len(png))
}
