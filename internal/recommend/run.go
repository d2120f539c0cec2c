package recommend

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// Finding is one row of one rule.
type Finding struct {
	Rule               string
	Resource           string
	Status             string
	Reason             string
	AccountID          string // "" for a site finding
	Site               string
	CloudID            string
	Currency           string // "" when the site has no currency
	SavingMonthlyMinor int64
	SavingAnnualMinor  int64
}

// Total is the sum of the savings claimed (alarm rows) for one site, or
// for the whole organization when Site is "", in one currency.
type Total struct {
	Site         string
	Currency     string
	Findings     int
	MonthlyMinor int64
	AnnualMinor  int64
}

// Report is the result of Run.
type Report struct {
	Findings []Finding
	// SiteTotals has one entry per site and currency with an alarm row;
	// Totals one per currency. Amounts of different currencies are never
	// added together.
	SiteTotals []Total
	Totals     []Total
}

// Tables returns the plugin tables the given rules read, sorted.
func Tables(defs []Definition) []string {
	var names []string
	for _, d := range defs {
		for _, t := range d.Tables {
			if !slices.Contains(names, t) {
				names = append(names, t)
			}
		}
	}
	sort.Strings(names)
	return names
}

// CopyTables copies each plugin table into a temporary table of the same
// name and column types, which SQLite then resolves before the virtual
// table. The rules read each table several times and join them; on the
// copies every plugin table is listed from the API once.
func CopyTables(ctx context.Context, e *sqlengine.Engine, tables []string) error {
	for _, t := range tables {
		if !slices.Contains(e.Tables(), t) {
			return fmt.Errorf("table %s not found in the engine", t)
		}
		info, err := e.QueryAll(ctx, "select name, type from pragma_table_info(?)", t)
		if err != nil {
			return fmt.Errorf("reading the columns of %s failed: %w", t, err)
		}
		columns := ""
		for i, row := range info.Rows {
			if i > 0 {
				columns += ", "
			}
			columns += quoteIdent(fmt.Sprint(row[0])) + " " + fmt.Sprint(row[1])
		}
		stmts := []string{
			"drop table if exists temp." + quoteIdent(t),
			"create temp table " + quoteIdent(t) + " (" + columns + ")",
			"insert into temp." + quoteIdent(t) + " select * from main." + quoteIdent(t),
		}
		for _, stmt := range stmts {
			if _, err := e.QueryAll(ctx, stmt); err != nil {
				return fmt.Errorf("copying %s failed: %w", t, err)
			}
		}
	}
	return nil
}

func quoteIdent(name string) string {
	out := []byte{'"'}
	for i := 0; i < len(name); i++ {
		if name[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, name[i])
	}
	return string(append(out, '"'))
}

// Run runs defs on the embedded engine with the given parameter values
// and totals the savings claimed. Call CopyTables first for speed.
func Run(ctx context.Context, e *sqlengine.Engine, defs []Definition,
	values map[string]any) (*Report, error) {
	report := &Report{Findings: []Finding{}}
	for _, def := range defs {
		own := map[string]any{}
		for _, p := range def.Params {
			if v, ok := values[p.Name]; ok {
				own[p.Name] = v
			}
		}
		q, err := RenderQuery(def, SQLite, own)
		if err != nil {
			return nil, err
		}
		res, err := e.QueryAll(ctx, q.SQL, q.Args...)
		if err != nil {
			return nil, fmt.Errorf("rule %s failed: %w", def.Name, err)
		}
		for _, row := range res.Rows {
			f, err := findingOf(def.Name, row)
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", def.Name, err)
			}
			report.Findings = append(report.Findings, f)
		}
	}
	report.SiteTotals, report.Totals = totals(report.Findings)
	return report, nil
}

func findingOf(rule string, row []any) (Finding, error) {
	if len(row) != len(Columns) {
		return Finding{}, fmt.Errorf("got %d columns, want %d", len(row), len(Columns))
	}
	str := func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case []byte:
			return string(x)
		}
		return fmt.Sprint(v)
	}
	num := func(i int) (int64, error) {
		switch x := row[i].(type) {
		case int64:
			return x, nil
		case nil:
			return 0, nil
		}
		return 0, fmt.Errorf("column %s is %T, want an integer", Columns[i], row[i])
	}
	f := Finding{Rule: rule, Resource: str(row[0]), Status: str(row[1]), Reason: str(row[2]),
		AccountID: str(row[3]), Site: str(row[4]), CloudID: str(row[5]), Currency: str(row[6])}
	var err error
	if f.SavingMonthlyMinor, err = num(7); err != nil {
		return Finding{}, err
	}
	if f.SavingAnnualMinor, err = num(8); err != nil {
		return Finding{}, err
	}
	return f, nil
}

// totals sums the alarm rows per site and currency, and per currency.
func totals(findings []Finding) (sites, overall []Total) {
	type key struct{ site, currency string }
	bySite := map[key]*Total{}
	byCurrency := map[string]*Total{}
	for _, f := range findings {
		if f.Status != StatusAlarm {
			continue
		}
		k := key{f.Site, f.Currency}
		if bySite[k] == nil {
			bySite[k] = &Total{Site: f.Site, Currency: f.Currency}
		}
		if byCurrency[f.Currency] == nil {
			byCurrency[f.Currency] = &Total{Currency: f.Currency}
		}
		for _, t := range []*Total{bySite[k], byCurrency[f.Currency]} {
			t.Findings++
			t.MonthlyMinor += f.SavingMonthlyMinor
			t.AnnualMinor += f.SavingAnnualMinor
		}
	}
	for _, t := range bySite {
		sites = append(sites, *t)
	}
	for _, t := range byCurrency {
		overall = append(overall, *t)
	}
	sort.Slice(sites, func(i, j int) bool {
		if sites[i].Site != sites[j].Site {
			return sites[i].Site < sites[j].Site
		}
		return sites[i].Currency < sites[j].Currency
	})
	sort.Slice(overall, func(i, j int) bool { return overall[i].Currency < overall[j].Currency })
	return sites, overall
}

// RuleTotal is the tally of one rule in one currency: all its findings,
// those that claim a saving (alarm rows) and the sum of those savings.
type RuleTotal struct {
	Rule         string
	Currency     string // "" for a rule that found nothing
	Findings     int
	Alarms       int
	MonthlyMinor int64
	AnnualMinor  int64
}

// ByRule sums findings per rule and currency, in the order of defs and
// then of currency codes. A rule of defs that found nothing gets one row
// with zero findings; findings of rules not in defs are left out.
func ByRule(findings []Finding, defs []Definition) []RuleTotal {
	var out []RuleTotal
	for _, def := range defs {
		byCurrency := map[string]*RuleTotal{}
		for _, f := range findings {
			if f.Rule != def.Name {
				continue
			}
			t := byCurrency[f.Currency]
			if t == nil {
				t = &RuleTotal{Rule: f.Rule, Currency: f.Currency}
				byCurrency[f.Currency] = t
			}
			t.Findings++
			if f.Status == StatusAlarm {
				t.Alarms++
				t.MonthlyMinor += f.SavingMonthlyMinor
				t.AnnualMinor += f.SavingAnnualMinor
			}
		}
		if len(byCurrency) == 0 {
			out = append(out, RuleTotal{Rule: def.Name})
			continue
		}
		for _, currency := range slices.Sorted(maps.Keys(byCurrency)) {
			out = append(out, *byCurrency[currency])
		}
	}
	return out
}
