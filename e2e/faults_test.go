package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

const accountIDQuery = "select account_id from confluence_user"

// accountIDs reads the account_id column of a CSV result and fails on a
// duplicate row.
func accountIDs(t *testing.T, r cliResult) map[string]bool {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) == 0 || lines[0] != "account_id" {
		t.Fatalf("unexpected CSV header in %.200q", r.stdout)
	}
	ids := map[string]bool{}
	for _, id := range lines[1:] {
		if ids[id] {
			t.Errorf("account %s returned twice", id)
		}
		ids[id] = true
	}
	return ids
}

// faultCase is one fault and the causes an error may name when the query
// does not complete.
type faultCase struct {
	name   string
	faults emulator.Faults
	// mustFail is set when no complete result is possible.
	mustFail bool
	// causes are words one of which a failure must contain, lower case.
	causes []string
}

// TestFaultsEveryRowOnceOrNamedError runs the CLI query against an
// emulator that injects one fault into the user search. Each query either
// returns every Confluence user exactly once or fails naming the cause.
func TestFaultsEveryRowOnceOrNamedError(t *testing.T) {
	search := emulator.RouteUsersSearch
	cases := []faultCase{
		{name: "429 without hint", faults: emulator.Faults{Route: search, RateLimited: 2}},
		{name: "429 retry-after zero", faults: emulator.Faults{Route: search, RateLimited: 3,
			RetryAfter: "zero"}},
		{name: "429 retry-after seconds", faults: emulator.Faults{Route: search, RateLimited: 2,
			RetryAfter: "seconds:1"}},
		{name: "429 retry-after date", faults: emulator.Faults{Route: search, RateLimited: 1,
			RetryAfter: "date"}},
		{name: "429 storm", faults: emulator.Faults{Route: search, RateLimited: 100,
			RetryAfter: "zero"}, mustFail: true, causes: []string{"429", "rate limit"}},
		{name: "503 burst", faults: emulator.Faults{Route: search, ServerErrors: 3}},
		{name: "503 outage", faults: emulator.Faults{Route: search, ServerErrors: 100},
			mustFail: true, causes: []string{"503", "server error"}},
		{name: "reset mid-body", faults: emulator.Faults{Route: search, ResetMidBody: 2},
			causes: []string{"eof", "reset", "connection", "body"}},
		{name: "truncated JSON", faults: emulator.Faults{Route: search, TruncateJSON: 1},
			causes: []string{"json"}},
		{name: "HTML 200", faults: emulator.Faults{Route: search, HTML: 1},
			mustFail: true, causes: []string{"html"}},
		{name: "HTML 302", faults: emulator.Faults{Route: search, HTML: 1, HTMLStatus: 302},
			mustFail: true, causes: []string{"302", "redirect"}},
		{name: "HTML 429", faults: emulator.Faults{Route: search, HTML: 2, HTMLStatus: 429},
			causes: []string{"429", "html"}},
		{name: "repeated cursor", faults: emulator.Faults{Route: search, RepeatCursor: 1,
			MaxPageSize: 7},
			mustFail: true, causes: []string{"cursor"}},
		{name: "shrunk pages", faults: emulator.Faults{Route: search, MaxPageSize: 7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			emu := startEmulator(t, 250)
			info := emu.Info()
			spc := apiKeySpc(t, info)
			want := accountIDs(t, runCLI(t, "query", "--config", spc, "--output", "csv",
				accountIDQuery))
			if len(want) != info.ConfluenceUsers {
				t.Fatalf("baseline rows = %d, want %d", len(want), info.ConfluenceUsers)
			}
			emu.SetFaults(c.faults)
			// A second config file gets an empty inventory cache, so that the
			// query reads the users again.
			r := runCLI(t, "query", "--config", apiKeySpc(t, info), "--output", "csv",
				accountIDQuery)
			checkFaultOutcome(t, c, r, want)
		})
	}
}

func checkFaultOutcome(t *testing.T, c faultCase, r cliResult, want map[string]bool) {
	t.Helper()
	if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("the query panicked: %s", firstLine(r.stderr))
	}
	if r.code == 0 {
		if c.mustFail {
			t.Fatalf("the query succeeded, want an error naming %v", c.causes)
		}
		got := accountIDs(t, r)
		t.Logf("outcome: %d rows", len(got))
		for id := range want {
			if !got[id] {
				t.Errorf("account %s missing", id)
			}
		}
		if len(got) != len(want) {
			t.Errorf("rows = %d, want %d", len(got), len(want))
		}
		return
	}
	if len(c.causes) == 0 {
		t.Fatalf("the query failed (exit %d), want every row: %s", r.code, firstLine(r.stderr))
	}
	t.Logf("outcome: exit %d, %s", r.code, firstLine(r.stderr))
	msg := strings.ToLower(r.stderr)
	for _, cause := range c.causes {
		if strings.Contains(msg, cause) {
			return
		}
	}
	t.Errorf("error %q names none of %v", firstLine(r.stderr), c.causes)
}

// TestFaultSessionExpiresMidScan expires every session while a session
// route query pages through the users.
func TestFaultSessionExpiresMidScan(t *testing.T) {
	emu := startEmulator(t, 1500)
	info := emu.Info()
	cache := t.TempDir()
	spc := sessionSpc(t, info, cache)
	want := accountIDs(t, runCLI(t, "query", "--config", spc, "--output", "csv", accountIDQuery))
	if len(want) != info.ConfluenceUsers {
		t.Fatalf("baseline rows = %d, want %d", len(want), info.ConfluenceUsers)
	}
	emu.SetFaults(emulator.Faults{Route: emulator.RouteUsersSearch,
		Slow: 150 * time.Millisecond, ExpiryStyle: emulator.ExpiryRedirect})
	before := emu.Counts().Requests[emulator.RouteUsersSearch]
	done := make(chan cliResult, 1)
	go func() {
		done <- runCLI(t, "query", "--config", sessionSpc(t, info, cache), "--output", "csv",
			accountIDQuery)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for emu.Counts().Requests[emulator.RouteUsersSearch] < before+2 {
		if time.Now().After(deadline) {
			t.Fatal("the scan did not reach its second page within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	signIns := emu.Counts().SignIns
	emu.SetFaults(emulator.Faults{Route: emulator.RouteUsersSearch,
		Slow: 150 * time.Millisecond, ExpiryStyle: emulator.ExpiryRedirect, ExpireSessions: true})
	var r cliResult
	select {
	case r = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the query did not end within 3 minutes")
	}
	checkFaultOutcome(t, faultCase{causes: []string{"session", "sign"}}, r, want)
	if r.code == 0 && emu.Counts().SignIns <= signIns {
		t.Errorf("the scan finished without signing in again after its session expired")
	}
}

// TestFaultAnswerSlowerThanTimeout uses the client directly, because
// neither the .spc file nor the command line sets the request timeout.
func TestFaultAnswerSlowerThanTimeout(t *testing.T) {
	emu := startEmulator(t, 30)
	info := emu.Info()
	emu.SetFaults(emulator.Faults{Route: emulator.RouteUsersSearch, Slow: 2 * time.Second})
	c, err := atlassian.NewClient(atlassian.Options{AdminAPIURL: info.AdminAPIURL,
		APIKey: info.APIKey, OrgID: info.OrgID, SessionCacheDir: t.TempDir(),
		RequestTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows := 0
	start := time.Now()
	err = c.SearchUsers(ctx, info.OrgID, atlassian.UserSearch{}, func(atlassian.User) bool {
		rows++
		return true
	})
	if err == nil {
		t.Fatalf("a search slower than the request timeout succeeded with %d rows", rows)
	}
	if ctx.Err() != nil {
		t.Fatalf("the search outlived its request timeout until the test's deadline")
	}
	msg := strings.ToLower(err.Error())
	if !strings.Contains(msg, "timed out") && !strings.Contains(msg, "timeout") &&
		!errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not name the timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 45*time.Second {
		t.Errorf("the search took %s to fail", elapsed)
	}
}
