// Package report renders the spend report: one self-contained HTML page
// with the cost of each Confluence site, seats bought against seats used,
// users by days since last active and the savings recommendations, with
// charts drawn as inline SVG.
package report

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// Querier runs SQL over the plugin's tables, as sqlengine.Engine does.
type Querier interface {
	QueryAll(ctx context.Context, query string, args ...any) (*sqlengine.Result, error)
}

// Options are the settings the report shows next to its figures.
type Options struct {
	// AsOf is the evaluation time of the recommendations; days since last
	// active count back from it.
	AsOf time.Time
	// InactiveDays is the inactive_days threshold of the recommendations,
	// marked on the histogram.
	InactiveDays int
}

// Site is one row of confluence_license with its users' spend.
type Site struct {
	Site, CloudID, Edition, Cycle, Currency, CostSource string
	// SeatsBought and BillableUsers are -1 when the table has no value.
	SeatsBought   int64
	BillableUsers int64
	// Priced is false when the license row has no amount (no_price).
	Priced       bool
	MonthlyMinor int64
	AnnualMinor  int64
	// Users is the number of confluence_spend rows of the site, billed or not.
	Users int64
}

// EditionTotal sums the sites of one edition in one currency.
type EditionTotal struct {
	Edition, Currency          string
	Sites                      int
	SeatsBought, BillableUsers int64
	MonthlyMinor, AnnualMinor  int64
}

// CurrencyTotal is the spend and the savings claimed in one currency.
type CurrencyTotal struct {
	Currency                              string
	Sites                                 int
	MonthlyMinor, AnnualMinor             int64
	SavingMonthlyMinor, SavingAnnualMinor int64
}

// Bucket is one column of the days-since-last-active histogram. High is
// exclusive; -1 means no upper bound.
type Bucket struct {
	Label     string
	Low, High int
	Users     int64
	// Inactive is true when the bucket lies at or past the threshold.
	Inactive bool
}

// RuleSaving is the saving one recommendation claims in one currency.
type RuleSaving struct {
	Rule, Title, Currency string
	Findings, Alarms      int
	MonthlyMinor          int64
	AnnualMinor           int64
}

// Data is everything the report shows.
type Data struct {
	Options
	Sites      []Site
	Editions   []EditionTotal
	Currencies []CurrencyTotal
	// Buckets are the users with a known last activity, then NeverActive
	// and Unknown count the others.
	Buckets     []Bucket
	NeverActive int64
	Unknown     int64
	Users       int64
	Rules       []RuleSaving
	Findings    []recommend.Finding
}

// sitesQuery reads each license with the sums of its users' shares, which
// confluence_spend documents to equal the license amounts.
const sitesQuery = `select
  l.site, l.cloud_id, coalesce(l.edition, ''), coalesce(l.billing_cycle, ''),
  coalesce(l.currency, ''), coalesce(l.cost_source, ''),
  coalesce(l.seats_bought, -1), coalesce(l.billable_users, -1),
  l.amount_monthly_minor is not null,
  coalesce(l.amount_monthly_minor, 0), coalesce(l.amount_annual_minor, 0),
  (select count(*) from confluence_spend as s where s.cloud_id = l.cloud_id)
from confluence_license as l
order by l.site, l.cloud_id`

// daysQuery counts users by whole days from last_active to ?1: -1 for
// never active, -2 for unknown.
const daysQuery = `select
  case
    when not last_active_known then -2
    when last_active is null then -1
    else max(0, cast(julianday(?1) - julianday(last_active) as integer))
  end as days,
  count(*)
from confluence_user
group by days`

// Collect reads the plugin's tables through q and groups the findings of
// rep. q must see the same data rep was computed from, as the temporary
// copies of recommend.CopyTables give.
func Collect(ctx context.Context, q Querier, rep *recommend.Report, opts Options) (*Data, error) {
	if opts.InactiveDays < 0 {
		return nil, fmt.Errorf("invalid inactive days %d: use 0 or more", opts.InactiveDays)
	}
	d := &Data{Options: opts, Findings: rep.Findings}
	if err := d.readSites(ctx, q); err != nil {
		return nil, err
	}
	if err := d.readDays(ctx, q); err != nil {
		return nil, err
	}
	d.groupRules()
	d.sumCurrencies(rep)
	return d, nil
}

func (d *Data) readSites(ctx context.Context, q Querier) error {
	res, err := q.QueryAll(ctx, sitesQuery)
	if err != nil {
		return fmt.Errorf("reading confluence_license failed: %w", err)
	}
	for _, row := range res.Rows {
		s := Site{Site: text(row[0]), CloudID: text(row[1]), Edition: text(row[2]),
			Cycle: text(row[3]), Currency: text(row[4]), CostSource: text(row[5]),
			SeatsBought: integer(row[6]), BillableUsers: integer(row[7]),
			Priced: integer(row[8]) != 0, MonthlyMinor: integer(row[9]),
			AnnualMinor: integer(row[10]), Users: integer(row[11])}
		d.Sites = append(d.Sites, s)
	}
	type key struct{ edition, currency string }
	byEdition := map[key]*EditionTotal{}
	for _, s := range d.Sites {
		k := key{s.Edition, s.Currency}
		t := byEdition[k]
		if t == nil {
			t = &EditionTotal{Edition: s.Edition, Currency: s.Currency}
			byEdition[k] = t
		}
		t.Sites++
		t.SeatsBought += max(s.SeatsBought, 0)
		t.BillableUsers += max(s.BillableUsers, 0)
		t.MonthlyMinor += s.MonthlyMinor
		t.AnnualMinor += s.AnnualMinor
	}
	for _, t := range byEdition {
		d.Editions = append(d.Editions, *t)
	}
	sort.Slice(d.Editions, func(i, j int) bool {
		a, b := d.Editions[i], d.Editions[j]
		if a.Edition != b.Edition {
			return a.Edition < b.Edition
		}
		return a.Currency < b.Currency
	})
	return nil
}

func (d *Data) readDays(ctx context.Context, q Querier) error {
	asOf := d.AsOf.UTC().Truncate(time.Second).Format(sqlengine.TimestampFormat)
	res, err := q.QueryAll(ctx, daysQuery, asOf)
	if err != nil {
		return fmt.Errorf("reading confluence_user failed: %w", err)
	}
	d.Buckets = bucketsFor(d.InactiveDays)
	for _, row := range res.Rows {
		days, users := integer(row[0]), integer(row[1])
		d.Users += users
		switch {
		case days == -2:
			d.Unknown += users
		case days == -1:
			d.NeverActive += users
		default:
			for i := range d.Buckets {
				b := &d.Buckets[i]
				if days >= int64(b.Low) && (b.High < 0 || days < int64(b.High)) {
					b.Users += users
					break
				}
			}
		}
	}
	return nil
}

// bucketsFor returns histogram buckets whose edges include the threshold,
// so that the marker falls between two columns.
func bucketsFor(threshold int) []Bucket {
	edges := []int{0, 30, 60, 90, 180, 365}
	if !containsInt(edges, threshold) {
		edges = append(edges, threshold)
		sort.Ints(edges)
	}
	buckets := make([]Bucket, len(edges))
	for i, low := range edges {
		b := Bucket{Low: low, High: -1, Inactive: low >= threshold}
		if i+1 < len(edges) {
			b.High = edges[i+1]
			b.Label = fmt.Sprintf("%d–%d", low, b.High-1)
		} else {
			b.Label = fmt.Sprintf("%d+", low)
		}
		buckets[i] = b
	}
	return buckets
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// groupRules sums the findings per rule and currency in rule order, with
// a row for each rule that found nothing.
func (d *Data) groupRules() {
	for _, t := range recommend.ByRule(d.Findings, recommend.All()) {
		title := t.Rule
		if def, ok := recommend.Lookup(t.Rule); ok {
			title = def.Title
		}
		d.Rules = append(d.Rules, RuleSaving{Rule: t.Rule, Title: title, Currency: t.Currency,
			Findings: t.Findings, Alarms: t.Alarms, MonthlyMinor: t.MonthlyMinor,
			AnnualMinor: t.AnnualMinor})
	}
}

// sumCurrencies adds the spend of the sites and takes the savings from
// the report's totals, one entry per currency.
func (d *Data) sumCurrencies(rep *recommend.Report) {
	byCurrency := map[string]*CurrencyTotal{}
	get := func(c string) *CurrencyTotal {
		if byCurrency[c] == nil {
			byCurrency[c] = &CurrencyTotal{Currency: c}
		}
		return byCurrency[c]
	}
	for _, s := range d.Sites {
		if !s.Priced {
			continue
		}
		t := get(s.Currency)
		t.Sites++
		t.MonthlyMinor += s.MonthlyMinor
		t.AnnualMinor += s.AnnualMinor
	}
	for _, tot := range rep.Totals {
		t := get(tot.Currency)
		t.SavingMonthlyMinor += tot.MonthlyMinor
		t.SavingAnnualMinor += tot.AnnualMinor
	}
	for _, t := range byCurrency {
		d.Currencies = append(d.Currencies, *t)
	}
	sort.Slice(d.Currencies, func(i, j int) bool {
		return d.Currencies[i].Currency < d.Currencies[j].Currency
	})
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func integer(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}
