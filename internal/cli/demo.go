package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// demoInactiveDays is the threshold of the demo's "inactive" column.
const demoInactiveDays = 90

// demoQuery summarises Confluence users by status. Its one parameter is
// the cut-off for inactivity, in the engine's timestamp format.
const demoQuery = `select
  status,
  count(*) as users,
  sum(last_active is null) as never_active,
  sum(last_active < ?) as inactive_90_days,
  sum(email is null) as hidden_email
from confluence_user
group by status
order by users desc`

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[FLAGS]",
		"Starts the bundled emulator with a generated organization, signs in to it as its\n"+
			"admin (e-mail, password and a TOTP code) and prints its Confluence users by status.\n"+
			"Nothing leaves loopback, and the generated credentials are not printed.", stdout)
	users := fs.Int("users", 3000, fmt.Sprintf("number of accounts in the org (%d to %d)",
		emulator.MinUsers, emulator.MaxUsers))
	seed := fs.Int64("seed", 1, "seed of the generated org")
	now := fs.String("now", "", "data clock as RFC 3339 time or YYYY-MM-DD date (default: current time)")
	output := fs.String("output", "table", "output `FORMAT`: table, csv or json")
	logLevel := addLogLevelFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("demo takes no arguments, got %d", fs.NArg())
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	if err := applyLogLevel(*logLevel); err != nil {
		return err
	}
	clock, err := parseNow(*now)
	if err != nil {
		return err
	}
	if *users < emulator.MinUsers || *users > emulator.MaxUsers {
		return usagef("invalid --users %d: use %d to %d", *users, emulator.MinUsers, emulator.MaxUsers)
	}

	emu, err := emulator.New(emulator.Options{Users: *users, Seed: *seed, Now: clock})
	if err != nil {
		return usagef("%v", err)
	}
	if err := emu.Start(); err != nil {
		return err
	}
	defer emu.Close()
	info := emu.Info()

	cacheDir, err := os.MkdirTemp("", "confluence-demo-sessions-")
	if err != nil {
		return fmt.Errorf("failed to create a session cache directory: %w", err)
	}
	defer os.RemoveAll(cacheDir)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	engine, err := sqlengine.Open(ctx, sqlengine.Options{
		PluginFunc:     confluence.Plugin,
		PluginName:     "local/confluence",
		ConnectionName: "confluence",
		ConnectionConfig: info.Config + fmt.Sprintf("\nsession_cache_path = %q\n", cacheDir) +
			confluence.LoopbackLimitSettings,
		ExactQual:    confluence.ExactQual,
		RateLimiters: confluence.LoopbackRateLimiters(),
	})
	if err != nil {
		return err
	}
	defer engine.Close()

	// Prose goes to stderr unless the output is the readable table, so that
	// csv and json output can be piped to another program.
	prose := stderr
	if *output == "table" {
		prose = stdout
	}
	fmt.Fprintf(prose, "Emulated organization %q: %d accounts, %d with Confluence access on %d sites.\n",
		info.OrgName, info.Users, info.ConfluenceUsers, len(info.Sites))
	fmt.Fprintf(prose, "Confluence users by status, as of %s:\n\n", info.Now.UTC().Format("2006-01-02"))
	cutoff := info.Now.UTC().AddDate(0, 0, -demoInactiveDays).Format(sqlengine.TimestampFormat)
	result, err := engine.QueryAll(ctx, demoQuery, cutoff)
	if err != nil {
		return err
	}
	if err := writeResult(stdout, *output, result); err != nil {
		return err
	}
	// The savings report follows in table form, on stdout only for table
	// output, so that csv and json output stay one document.
	fmt.Fprintf(prose, "\nSavings recommendations, as of %s:\n\n", info.Now.UTC().Format(time.RFC3339))
	report, err := runReport(ctx, engine, map[string]any{recommend.ParamAsOf: info.Now})
	if err != nil {
		return err
	}
	if err := writeResult(prose, "table", ruleSummary(report, recommend.All())); err != nil {
		return err
	}
	_, sites, overall := reportTables(report)
	fmt.Fprintf(prose, "\nSavings claimed per site:\n\n")
	if err := writeResult(prose, "table", sites); err != nil {
		return err
	}
	fmt.Fprintf(prose, "\nSavings claimed per currency:\n\n")
	if err := writeResult(prose, "table", overall); err != nil {
		return err
	}
	fmt.Fprintf(prose, "\nThe demo signed in %d time(s), and its emulator stops with it.\n",
		emu.Counts().SignIns)
	printDemoFollowUp(prose, invokedName(), *users, *seed, info.Now)
	return nil
}

// printDemoFollowUp prints how to serve the demo's organization and query
// it with a config file. The file it shows turns off the request pacing
// sized for Atlassian, which only slows down queries to the emulator.
func printDemoFollowUp(w io.Writer, program string, users int, seed int64, now time.Time) {
	asOf := now.UTC().Format(time.RFC3339)
	fmt.Fprintf(w, "To list every finding with its reason, start the same organization with\n"+
		"  %s emulator --users %d --seed %d --now %s\n"+
		"write this FILE, with the emulator's \"config\" field in place of the comment\n"+
		"(its first line is JSON: decode the field, for example with jq -r .config):\n\n",
		program, users, seed, asOf)
	fmt.Fprint(w, indentLines(loopbackSpc(), "  "))
	fmt.Fprintf(w, "\nand run\n"+
		"  %s recommend --config FILE --as-of %s\n"+
		"or your own SQL with\n"+
		"  %s query --config FILE \"select * from confluence_user limit 5\"\n",
		program, asOf, program)
}

// loopbackSpc returns an .spc file for the emulator, without its
// credentials and URLs, that turns off the plugin's request pacing with
// confluence.LoopbackLimitSettings and confluence.LoopbackRateLimiters.
func loopbackSpc() string {
	var b strings.Builder
	b.WriteString("connection \"confluence\" {\n")
	b.WriteString("  plugin = \"local/confluence\"\n")
	b.WriteString("  # the emulator's \"config\" field\n")
	b.WriteString(indentLines(confluence.LoopbackLimitSettings, "  "))
	b.WriteString("}\n\n")
	b.WriteString("plugin \"confluence\" {\n")
	b.WriteString("  source = \"local/confluence\"\n")
	for _, l := range confluence.LoopbackRateLimiters() {
		fmt.Fprintf(&b, "  limiter %q {\n", l.Name)
		fmt.Fprintf(&b, "    fill_rate   = %g\n", l.FillRate)
		fmt.Fprintf(&b, "    bucket_size = %d\n", l.BucketSize)
		if len(l.Scope) > 0 {
			fmt.Fprintf(&b, "    scope       = [%s]\n", quoteList(l.Scope))
		}
		if l.Where != "" {
			fmt.Fprintf(&b, "    where       = %q\n", l.Where)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// quoteList returns items as the elements of an HCL list of strings.
func quoteList(items []string) string {
	quoted := make([]string, len(items))
	for i, item := range items {
		quoted[i] = strconv.Quote(item)
	}
	return strings.Join(quoted, ", ")
}

// indentLines returns text with prefix before each of its lines that is
// not empty.
func indentLines(text, prefix string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if line != "" && line != "\n" {
			b.WriteString(prefix)
		}
		b.WriteString(line)
	}
	return b.String()
}

// invokedName returns the command that started this process as typed,
// for example ./bin/steampipe-plugin-confluence after make demo, quoted
// for a POSIX shell unless it contains only letters, digits and "/._-+".
func invokedName() string {
	if len(os.Args) == 0 || os.Args[0] == "" {
		return programName
	}
	name := os.Args[0]
	safe := func(r rune) bool {
		return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("/._-+", r))
	}
	for _, r := range name {
		if !safe(r) {
			return "'" + strings.ReplaceAll(name, "'", `'\''`) + "'"
		}
	}
	return name
}

// ruleSummary counts the findings of each of rules, in their order, and
// adds up the savings each claims, per currency. A rule that found
// nothing gets a row with zero findings and no amounts.
func ruleSummary(r *recommend.Report, rules []recommend.Definition) *sqlengine.Result {
	text := func(name string) sqlengine.Column {
		return sqlengine.Column{Name: name, Type: sqlengine.TypeText}
	}
	res := &sqlengine.Result{Columns: []sqlengine.Column{text("rule"), text("findings"),
		text("with_saving"), text("saving_monthly"), text("saving_annual"), text("currency")},
		Rows: [][]any{}}
	for _, t := range recommend.ByRule(r.Findings, rules) {
		if t.Findings == 0 {
			res.Rows = append(res.Rows, []any{t.Rule, int64(0), int64(0), nil, nil, nil})
			continue
		}
		res.Rows = append(res.Rows, []any{t.Rule, int64(t.Findings), int64(t.Alarms),
			amount(t.MonthlyMinor, t.Currency), amount(t.AnnualMinor, t.Currency),
			nullIfEmpty(t.Currency)})
	}
	return res
}
