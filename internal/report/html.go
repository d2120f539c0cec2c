package report

import (
	"fmt"
	"html/template"
	"io"
	"strconv"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
)

// Amount writes minor units exactly in the currency's major unit followed
// by its code, "1234.50 USD". An unknown currency prints the minor units.
func Amount(minor int64, currency string) string {
	cur, err := pricing.LookupCurrency(currency)
	if err != nil {
		if currency == "" {
			return strconv.FormatInt(minor, 10) + " minor units"
		}
		return strconv.FormatInt(minor, 10) + " minor units of " + currency
	}
	return pricing.FormatAmount(minor, cur) + " " + cur.Code
}

// major is a display-only float of an amount, for bar lengths.
func major(minor int64, currency string) float64 {
	cur, err := pricing.LookupCurrency(currency)
	if err != nil {
		return float64(minor)
	}
	return pricing.ToMajor(minor, cur)
}

func unitOf(currency string) string {
	if _, err := pricing.LookupCurrency(currency); err != nil {
		return "minor units"
	}
	return currency
}

// cell is one table cell; Sort is the numeric sort key, empty for text.
type cell struct {
	Text string
	Sort string
}

type table struct {
	ID       string
	Caption  string
	Headers  []header
	Rows     [][]cell
	Sortable bool
}

type header struct {
	Name    string
	Numeric bool
}

func num(n int64) cell { return cell{Text: strconv.FormatInt(n, 10), Sort: strconv.FormatInt(n, 10)} }

func money(minor int64, currency string) cell {
	return cell{Text: Amount(minor, currency), Sort: strconv.FormatInt(minor, 10)}
}

func optional(n int64) cell {
	if n < 0 {
		return cell{Text: "–", Sort: "-1"}
	}
	return num(n)
}

type card struct{ Label, Value string }

type page struct {
	Title    string
	AsOf     string
	Inactive int
	Cards    []card
	Charts   []template.HTML
	Tables   []table
	Empty    bool
}

// Write renders d as one self-contained HTML page: inline CSS, inline SVG
// and a short inline script that sorts tables; it loads nothing.
func Write(w io.Writer, d *Data) error {
	p := page{Title: "Confluence spend report", AsOf: d.AsOf.UTC().Format("2006-01-02 15:04 MST"),
		Inactive: d.InactiveDays, Empty: len(d.Sites) == 0}
	p.Cards = cards(d)
	p.Charts = charts(d)
	p.Tables = tables(d)
	return pageTemplate.Execute(w, p)
}

func cards(d *Data) []card {
	findings, alarms := len(d.Findings), 0
	for _, f := range d.Findings {
		if f.Status == "alarm" {
			alarms++
		}
	}
	out := []card{
		{"Sites", strconv.Itoa(len(d.Sites))},
		{"Users with Confluence access", strconv.FormatInt(d.Users, 10)},
		{"Findings", fmt.Sprintf("%d (%d with a saving)", findings, alarms)},
	}
	for _, c := range d.Currencies {
		out = append(out,
			card{"Spend a month", Amount(c.MonthlyMinor, c.Currency)},
			card{"Spend a year", Amount(c.AnnualMinor, c.Currency)},
			card{"Savings a month", Amount(c.SavingMonthlyMinor, c.Currency)},
			card{"Savings a year", Amount(c.SavingAnnualMinor, c.Currency)})
	}
	return out
}

func charts(d *Data) []template.HTML {
	var out []template.HTML
	add := func(svg string) { out = append(out, template.HTML(svg)) } //nolint:gosec // escaped in svg.go
	for _, cur := range d.Currencies {
		var monthly, annual barChart
		monthly = barChart{Title: "Spend a month per site (" + cur.Currency + ")",
			XAxis: "Spend a month (" + unitOf(cur.Currency) + ")", YAxis: "Site",
			Series: []series{{Name: "month", Class: "bar"}}}
		annual = barChart{Title: "Spend a year per site (" + cur.Currency + ")",
			XAxis: "Spend a year (" + unitOf(cur.Currency) + ")", YAxis: "Site",
			Series: []series{{Name: "year", Class: "bar"}}}
		for _, s := range d.Sites {
			if s.Currency != cur.Currency || !s.Priced {
				continue
			}
			monthly.Groups = append(monthly.Groups, barGroup{Label: s.Site,
				Values: []float64{major(s.MonthlyMinor, s.Currency)},
				Texts:  []string{Amount(s.MonthlyMinor, s.Currency)}})
			annual.Groups = append(annual.Groups, barGroup{Label: s.Site,
				Values: []float64{major(s.AnnualMinor, s.Currency)},
				Texts:  []string{Amount(s.AnnualMinor, s.Currency)}})
		}
		if len(monthly.Groups) > 0 {
			add(monthly.SVG())
			add(annual.SVG())
		}
	}
	seats := barChart{Title: "Seats bought against billable users per site",
		XAxis: "Seats (users)", YAxis: "Site",
		Series: []series{{Name: "seats bought", Class: "bar"},
			{Name: "billable users", Class: "bar-second"}}}
	for _, s := range d.Sites {
		if s.SeatsBought < 0 && s.BillableUsers < 0 {
			continue
		}
		bought, used := max(s.SeatsBought, 0), max(s.BillableUsers, 0)
		seats.Groups = append(seats.Groups, barGroup{Label: s.Site,
			Values: []float64{float64(bought), float64(used)},
			Texts:  []string{optional(s.SeatsBought).Text, optional(s.BillableUsers).Text}})
	}
	if len(seats.Groups) > 0 {
		add(seats.SVG())
	}
	add(daysHistogram(d).SVG())
	for _, cur := range currenciesOfRules(d) {
		chart := barChart{Title: "Savings a month per recommendation (" + cur + ")",
			XAxis: "Savings a month (" + unitOf(cur) + ")", YAxis: "Recommendation",
			Series: []series{{Name: "month", Class: "bar-save"}}}
		for _, r := range d.Rules {
			if r.Currency != cur {
				continue
			}
			chart.Groups = append(chart.Groups, barGroup{Label: r.Rule,
				Values: []float64{major(r.MonthlyMinor, cur)},
				Texts:  []string{Amount(r.MonthlyMinor, cur)}})
		}
		add(chart.SVG())
	}
	return out
}

// currenciesOfRules lists the currencies of rules that claim a saving;
// information-only findings have no currency.
func currenciesOfRules(d *Data) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range d.Rules {
		if r.Currency == "" || seen[r.Currency] {
			continue
		}
		seen[r.Currency] = true
		out = append(out, r.Currency)
	}
	return out
}

func daysHistogram(d *Data) histogram {
	h := histogram{Title: "Users by days since last active in Confluence",
		XAxis: "Days since last active (days)", YAxis: "Users", MarkerAt: -1,
		MarkerText: fmt.Sprintf("inactive after %d days", d.InactiveDays)}
	for i, b := range d.Buckets {
		if b.Inactive && h.MarkerAt < 0 {
			h.MarkerAt = i
		}
		h.Columns = append(h.Columns, column{Label: b.Label, Value: b.Users, Marked: b.Inactive})
	}
	h.Columns = append(h.Columns, column{Label: "never", Value: d.NeverActive, Marked: true})
	if d.Unknown > 0 {
		h.Columns = append(h.Columns, column{Label: "unknown", Value: d.Unknown})
	}
	return h
}

func tables(d *Data) []table {
	sites := table{ID: "sites", Caption: "Spend per site", Sortable: true,
		Headers: []header{{"site", false}, {"edition", false}, {"billing cycle", false},
			{"seats bought", true}, {"billable users", true}, {"users", true},
			{"spend a month", true}, {"spend a year", true}, {"cost source", false}}}
	for _, s := range d.Sites {
		m, a := money(s.MonthlyMinor, s.Currency), money(s.AnnualMinor, s.Currency)
		if !s.Priced {
			m, a = cell{Text: "no price", Sort: "-1"}, cell{Text: "no price", Sort: "-1"}
		}
		sites.Rows = append(sites.Rows, []cell{{Text: s.Site}, {Text: s.Edition},
			{Text: s.Cycle}, optional(s.SeatsBought), optional(s.BillableUsers), num(s.Users),
			m, a, {Text: s.CostSource}})
	}
	editions := table{ID: "editions", Caption: "Spend per edition", Sortable: true,
		Headers: []header{{"edition", false}, {"sites", true}, {"seats bought", true},
			{"billable users", true}, {"spend a month", true}, {"spend a year", true}}}
	for _, e := range d.Editions {
		editions.Rows = append(editions.Rows, []cell{{Text: e.Edition}, num(int64(e.Sites)),
			num(e.SeatsBought), num(e.BillableUsers), money(e.MonthlyMinor, e.Currency),
			money(e.AnnualMinor, e.Currency)})
	}
	rules := table{ID: "savings", Caption: "Savings per recommendation", Sortable: true,
		Headers: []header{{"recommendation", false}, {"title", false}, {"findings", true},
			{"with a saving", true}, {"savings a month", true}, {"savings a year", true}}}
	for _, r := range d.Rules {
		m, a := money(r.MonthlyMinor, r.Currency), money(r.AnnualMinor, r.Currency)
		if r.Currency == "" {
			m, a = cell{Text: "–", Sort: "0"}, cell{Text: "–", Sort: "0"}
		}
		rules.Rows = append(rules.Rows, []cell{{Text: r.Rule}, {Text: r.Title},
			num(int64(r.Findings)), num(int64(r.Alarms)), m, a})
	}
	findings := table{ID: "findings", Caption: "Findings", Sortable: true,
		Headers: []header{{"recommendation", false}, {"status", false}, {"resource", false},
			{"site", false}, {"saving a month", true}, {"saving a year", true},
			{"reason", false}}}
	for _, f := range d.Findings {
		m, a := money(f.SavingMonthlyMinor, f.Currency), money(f.SavingAnnualMinor, f.Currency)
		if f.Currency == "" {
			m, a = cell{Text: "–", Sort: "0"}, cell{Text: "–", Sort: "0"}
		}
		findings.Rows = append(findings.Rows, []cell{{Text: f.Rule}, {Text: f.Status},
			{Text: f.Resource}, {Text: f.Site}, m, a, {Text: f.Reason}})
	}
	return []table{sites, editions, rules, findings}
}

var pageTemplate = template.Must(template.New("report").Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;
background:#f5f7fa}
main{max-width:1240px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .5em}
p{margin:.3em 0;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,170px),1fr));gap:10px}
.card{background:#fff;border:1px solid #d8dee6;border-radius:6px;padding:10px 12px}
.card-label{font-size:.85em;color:#4b5868}.card-value{font-size:1.25em;font-weight:600;
overflow-wrap:anywhere}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid #d8dee6;border-radius:6px;padding:8px;min-width:0}
svg.chart{display:block;width:100%;height:auto}
svg .chart-title{font-size:15px;font-weight:600;fill:#1d2733}
svg text{font-size:12px;fill:#33404f}svg .axis-label{font-size:12px;font-weight:600}
svg .grid{stroke:#e3e8ee}svg .axis{stroke:#6b7785}
svg .bar{fill:#3b6fb6}svg .bar-second{fill:#9cc3e6}svg .bar-save{fill:#2e8b57}
svg .bar-alert{fill:#d9822b}svg .marker{stroke:#b3261e;stroke-width:2;stroke-dasharray:5 4}
svg .marker-label{fill:#b3261e;font-weight:600}
.table-wrap{overflow-x:auto;background:#fff;border:1px solid #d8dee6;border-radius:6px;
max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.9em}
caption{text-align:left;font-weight:600;padding:8px}
th,td{padding:5px 8px;border-top:1px solid #e3e8ee;text-align:left;vertical-align:top}
th{background:#eef2f6;white-space:nowrap}td.n,th.n{text-align:right;white-space:nowrap}
table.sortable th{cursor:pointer}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>As of {{.AsOf}}. A user counts as inactive on a site after {{.Inactive}} days without
Confluence activity there. Amounts of different currencies are never added together.</p>
{{if .Empty}}<p>The organization has no Confluence site.</p>{{end}}
<h2>Totals</h2>
<div class="cards">
{{range .Cards}}<div class="card"><div class="card-label">{{.Label}}</div>
<div class="card-value">{{.Value}}</div></div>
{{end}}</div>
<h2>Charts</h2>
<div class="charts">
{{range .Charts}}<figure>{{.}}</figure>
{{end}}</div>
{{range .Tables}}<h2 id="{{.ID}}-heading">{{.Caption}}</h2>
<div class="table-wrap"><table id="{{.ID}}"{{if .Sortable}} class="sortable"{{end}}>
<thead><tr>{{range .Headers}}<th scope="col"{{if .Numeric}} class="n" data-type="number"{{end}}
 tabindex="0">{{.Name}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td{{if .Sort}} class="n" data-v="{{.Sort}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{end}}
</main>
<script>
(function () {
  "use strict";
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var numeric = th.getAttribute("data-type") === "number";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index], y = b.cells[index], r;
      if (numeric) {
        r = Number(x.getAttribute("data-v")) - Number(y.getAttribute("data-v"));
      } else {
        r = x.textContent.localeCompare(y.textContent);
      }
      return ascending ? r : -r;
    });
    th.parentNode.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th); }
    });
  });
})();
</script>
</body>
</html>
`
