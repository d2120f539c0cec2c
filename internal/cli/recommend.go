package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// recommendFlags are the thresholds of the savings report.
type recommendFlags struct {
	asOf            *string
	inactiveDays    *int
	graceDays       *int
	neverActiveDays *int
	activePercent   *int
	exempt          *string
}

func addRecommendFlags(fs *flag.FlagSet) recommendFlags {
	return recommendFlags{
		asOf: fs.String("as-of", "", "evaluation `TIME` as RFC 3339 time or YYYY-MM-DD date "+
			"(default: current time)"),
		inactiveDays: fs.Int("inactive-days", recommend.DefaultInactiveDays,
			"`DAYS` without Confluence activity on a site after which a user is inactive there"),
		graceDays: fs.Int("grace-days", recommend.DefaultGraceDays,
			"`DAYS` after being added to the organization during which a user is not "+
				"reported as inactive"),
		neverActiveDays: fs.Int("never-active-days", recommend.DefaultNeverActiveDays,
			"`DAYS` since being added after which a user who never used Confluence is reported"),
		activePercent: fs.Int("edition-active-percent", recommend.DefaultEditionActivePercent,
			"report a Premium or Enterprise site when fewer than this `PERCENT` of its "+
				"billed users were active within --inactive-days"),
		exempt: fs.String("exempt", "", "comma-separated account ids or e-mail addresses "+
			"that no per-user rule reports (`LIST`)"),
	}
}

// values checks the flags and returns the rule parameters. now is the
// default evaluation time.
func (f recommendFlags) values(now time.Time) (map[string]any, error) {
	asOf := now.UTC().Truncate(time.Second)
	if *f.asOf != "" {
		t, err := parseNow(*f.asOf)
		if err != nil {
			return nil, usagef("invalid --as-of %q: use an RFC 3339 time such as "+
				"2026-05-01T12:00:00Z or a date such as 2026-05-01", *f.asOf)
		}
		asOf = t
	}
	for _, n := range []struct {
		name  string
		value int
	}{{"--inactive-days", *f.inactiveDays}, {"--grace-days", *f.graceDays},
		{"--never-active-days", *f.neverActiveDays},
		{"--edition-active-percent", *f.activePercent}} {
		if n.value < 0 {
			return nil, usagef("invalid %s %d: use 0 or more", n.name, n.value)
		}
	}
	var exempt []string
	for _, item := range strings.Split(*f.exempt, ",") {
		if item = strings.TrimSpace(item); item != "" {
			exempt = append(exempt, item)
		}
	}
	return map[string]any{
		recommend.ParamAsOf:                 asOf,
		recommend.ParamInactiveDays:         *f.inactiveDays,
		recommend.ParamGraceDays:            *f.graceDays,
		recommend.ParamNeverActiveDays:      *f.neverActiveDays,
		recommend.ParamEditionActivePercent: *f.activePercent,
		recommend.ParamExempt:               append([]string{}, exempt...),
	}, nil
}

func runRecommend(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("recommend", "[FLAGS]",
		"Runs every savings recommendation over the plugin's tables and prints each\n"+
			"finding, then the savings claimed per site and per currency. Amounts of\n"+
			"different currencies are never added together.", stdout)
	output := fs.String("output", "table", "output `FORMAT`: table, csv, json or html "+
		"(one self-contained page with charts, see docs/report.md)")
	out := fs.String("out", "", "write the output to `FILE` instead of stdout")
	cfg := addConfigFlags(fs)
	rf := addRecommendFlags(fs)
	logLevel := addLogLevelFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("recommend takes no arguments, got %d", fs.NArg())
	}
	if *output != "html" && checkOutput(*output) != nil {
		return usagef("invalid --output %q: use table, csv, json or html", *output)
	}
	if err := applyLogLevel(*logLevel); err != nil {
		return err
	}
	values, err := rf.values(time.Now())
	if err != nil {
		return err
	}
	s, err := cfg.load()
	if err != nil {
		return err
	}
	// A price table in the connection's prices setting prices the tiers
	// the tier rules compare with, as it prices the spend tables.
	if table, configured, err := s.config.PriceTable(); err != nil {
		return &usageError{msg: "invalid settings: " + err.Error()}
	} else if configured {
		values[recommend.ParamAnnualTiers] = recommend.AnnualTiers(table)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	engine, err := sqlengine.Open(ctx, sqlengine.Options{
		PluginFunc:       confluence.Plugin,
		PluginName:       "local/confluence",
		ConnectionName:   s.connection,
		ConnectionConfig: s.body,
		ExactQual:        confluence.ExactQual,
		RateLimiters:     s.limiters,
	})
	if err != nil {
		return err
	}
	defer engine.Close()
	report, err := runReport(ctx, engine, values)
	if err != nil {
		return err
	}
	return writeOutput(*out, stdout, func(w io.Writer) error {
		if *output == "html" {
			return writeHTMLReport(ctx, w, engine, report, values)
		}
		return writeReport(w, *output, report)
	})
}

// runReport copies the tables the rules read and runs every rule.
func runReport(ctx context.Context, engine *sqlengine.Engine,
	values map[string]any) (*recommend.Report, error) {
	rules := recommend.All()
	if err := recommend.CopyTables(ctx, engine, recommend.Tables(rules)); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, errors.New("recommend cancelled")
		}
		return nil, err
	}
	report, err := recommend.Run(ctx, engine, rules, values)
	if err != nil && errors.Is(err, context.Canceled) {
		return nil, errors.New("recommend cancelled")
	}
	return report, err
}

// reportTables turns a report into three result tables: findings, totals
// per site and totals per currency.
func reportTables(r *recommend.Report) (findings, sites, overall *sqlengine.Result) {
	text := sqlengine.Column{Type: sqlengine.TypeText}
	col := func(name string) sqlengine.Column { c := text; c.Name = name; return c }
	integer := func(name string) sqlengine.Column {
		return sqlengine.Column{Name: name, Type: sqlengine.TypeInteger}
	}
	// The _minor columns are the exact amounts to add up; the others are
	// for reading.
	findings = &sqlengine.Result{Columns: []sqlengine.Column{col("rule"), col("status"),
		col("resource"), col("site"), col("saving_monthly"), col("saving_annual"),
		col("currency"), col("reason"), col("account_id"), col("cloud_id"),
		integer("saving_monthly_minor"), integer("saving_annual_minor")}, Rows: [][]any{}}
	for _, f := range r.Findings {
		findings.Rows = append(findings.Rows, []any{f.Rule, f.Status, f.Resource, f.Site,
			amount(f.SavingMonthlyMinor, f.Currency), amount(f.SavingAnnualMinor, f.Currency),
			nullIfEmpty(f.Currency), f.Reason, nullIfEmpty(f.AccountID), nullIfEmpty(f.CloudID),
			f.SavingMonthlyMinor, f.SavingAnnualMinor})
	}
	totalsOf := func(ts []recommend.Total, withSite bool) *sqlengine.Result {
		res := &sqlengine.Result{Rows: [][]any{}}
		if withSite {
			res.Columns = append(res.Columns, col("site"))
		}
		res.Columns = append(res.Columns, col("currency"), col("findings"),
			col("saving_monthly"), col("saving_annual"),
			integer("saving_monthly_minor"), integer("saving_annual_minor"))
		for _, t := range ts {
			var row []any
			if withSite {
				row = append(row, t.Site)
			}
			row = append(row, t.Currency, int64(t.Findings), amount(t.MonthlyMinor, t.Currency),
				amount(t.AnnualMinor, t.Currency), t.MonthlyMinor, t.AnnualMinor)
			res.Rows = append(res.Rows, row)
		}
		return res
	}
	return findings, totalsOf(r.SiteTotals, true), totalsOf(r.Totals, false)
}

// amount formats minor units in the currency's major unit, exactly.
func amount(minor int64, currency string) any {
	cur, err := pricing.LookupCurrency(currency)
	if err != nil {
		if minor == 0 {
			return "0"
		}
		return fmt.Sprintf("%d minor units", minor)
	}
	return pricing.FormatAmount(minor, cur)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// writeReport prints the findings and totals. JSON output is one object
// with findings, site_totals and totals arrays; CSV output is three CSV
// tables separated by blank lines.
func writeReport(w io.Writer, format string, r *recommend.Report) error {
	findings, sites, overall := reportTables(r)
	if format == "json" {
		parts := []struct {
			key string
			res *sqlengine.Result
		}{{"findings", findings}, {"site_totals", sites}, {"totals", overall}}
		if _, err := io.WriteString(w, "{"); err != nil {
			return err
		}
		for i, p := range parts {
			sep := ",\n"
			if i == len(parts)-1 {
				sep = "\n"
			}
			var b strings.Builder
			if err := writeJSON(&b, p.res); err != nil {
				return err
			}
			body := strings.TrimSuffix(b.String(), "\n")
			if _, err := fmt.Fprintf(w, "%q: %s%s", p.key, body, sep); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "}\n")
		return err
	}
	if format == "table" {
		// The reason is a sentence. Placed last, it lets the other
		// columns of a row fit side by side on the screen.
		findings = withColumnLast(findings, "reason")
	}
	titles := []string{"Findings", "Savings claimed per site", "Savings claimed per currency"}
	for i, res := range []*sqlengine.Result{findings, sites, overall} {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if format == "table" {
			if _, err := fmt.Fprintf(w, "%s:\n\n", titles[i]); err != nil {
				return err
			}
		}
		if err := writeResult(w, format, res); err != nil {
			return err
		}
	}
	return nil
}

// withColumnLast returns res with the column called name moved to the end,
// or res itself when it has no such column.
func withColumnLast(res *sqlengine.Result, name string) *sqlengine.Result {
	at := slices.IndexFunc(res.Columns, func(c sqlengine.Column) bool { return c.Name == name })
	if at < 0 {
		return res
	}
	moved := func(values []any) []any {
		out := append(slices.Clone(values[:at]), values[at+1:]...)
		return append(out, values[at])
	}
	out := &sqlengine.Result{Rows: make([][]any, 0, len(res.Rows))}
	out.Columns = append(slices.Clone(res.Columns[:at]), res.Columns[at+1:]...)
	out.Columns = append(out.Columns, res.Columns[at])
	for _, row := range res.Rows {
		out.Rows = append(out.Rows, moved(row))
	}
	return out
}
