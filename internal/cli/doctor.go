package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

func runDoctor(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("doctor", "[FLAGS]",
		"Calls each API route the settings reach once and prints what was sent and received:\n"+
			"method, route, path, status, header and cookie names, form fields and the key\n"+
			"structure of JSON answers. No value is printed, so the output can be shared and\n"+
			"compared with docs/wire-format.md. A cached session is reused, so the sign-in\n"+
			"flow appears only when the cache holds no session for the account.", stdout)
	output := fs.String("output", "text", "output `FORMAT`: text or json")
	cfg := addConfigFlags(fs)
	logLevel := addLogLevelFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("doctor takes no arguments, got %q", strings.Join(fs.Args(), " "))
	}
	if *output != "text" && *output != "json" {
		return usagef("invalid --output %q: use text or json", *output)
	}
	if err := applyLogLevel(*logLevel); err != nil {
		return err
	}
	s, err := cfg.load()
	if err != nil {
		return err
	}

	var mu sync.Mutex
	events := []atlassian.TraceEvent{}
	opts := s.config.ClientOptions()
	opts.Trace = func(ev atlassian.TraceEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
	}
	client, err := atlassian.NewClient(opts)
	if err != nil {
		return &usageError{msg: "invalid settings: " + err.Error()}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	probeErr := client.Probe(ctx)

	mu.Lock()
	defer mu.Unlock()
	if *output == "json" {
		data, err := json.MarshalIndent(events, "", "  ")
		if err != nil {
			return fmt.Errorf("failed to encode the trace: %w", err)
		}
		if _, err := fmt.Fprintf(stdout, "%s\n", data); err != nil {
			return err
		}
	} else {
		if opts.Password != "" && !hasSignIn(events) {
			fmt.Fprintln(stdout, "Note: a cached session was used, so the sign-in flow is not "+
				"shown; to trace it, set session_cache_path to an empty directory.")
		}
		writeTranscript(stdout, events)
		fmt.Fprintln(stdout, summaryLine(events, probeErr))
	}
	if probeErr != nil {
		return fmt.Errorf("doctor found problems: %w", probeErr)
	}
	return nil
}

// writeTranscript prints one block per HTTP exchange.
func writeTranscript(w io.Writer, events []atlassian.TraceEvent) {
	for i, ev := range events {
		status := "no answer"
		if ev.Status != 0 {
			status = fmt.Sprint(ev.Status)
		}
		fmt.Fprintf(w, "%d. %s %s %s (route %s, host %s)\n", i+1, ev.Method, ev.Path, status, ev.Route, ev.Host)
		writeNames(w, "request headers", ev.RequestHeaders)
		writeNames(w, "request cookies", ev.RequestCookies)
		writeNames(w, "form fields", ev.FormFields)
		writeNames(w, "response headers", ev.ResponseHeaders)
		writeNames(w, "set cookies", ev.SetCookies)
		if ev.ContentType != "" {
			fmt.Fprintf(w, "   content type: %s\n", ev.ContentType)
		}
		if len(ev.Skeleton) > 0 {
			fmt.Fprintf(w, "   json keys: %s\n", ev.Skeleton)
		}
		if ev.Error != "" {
			fmt.Fprintf(w, "   error: %s\n", ev.Error)
		}
	}
}

func writeNames(w io.Writer, label string, names []string) {
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(w, "   %s: %s\n", label, strings.Join(names, ", "))
}

// summaryLine counts the exchanges and failures.
func summaryLine(events []atlassian.TraceEvent, probeErr error) string {
	failed := 0
	for _, ev := range events {
		if ev.Status == 0 || ev.Status >= 400 || ev.Error != "" {
			failed++
		}
	}
	result := "all routes answered as expected"
	if probeErr != nil {
		var problems []string
		for _, e := range unjoin(probeErr) {
			problems = append(problems, e.Error())
		}
		result = fmt.Sprintf("%d %s: %s", len(problems), plural(len(problems), "problem", "problems"),
			strings.Join(problems, "; "))
	}
	return fmt.Sprintf("Summary: %d %s, %d failed; %s.", len(events),
		plural(len(events), "call", "calls"), failed, result)
}

// unjoin splits an errors.Join result.
func unjoin(err error) []error {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		return joined.Unwrap()
	}
	return []error{err}
}

// hasSignIn reports whether the transcript includes the identity host.
func hasSignIn(events []atlassian.TraceEvent) bool {
	for _, ev := range events {
		if ev.Host == string(atlassian.HostIdentity) {
			return true
		}
	}
	return false
}
