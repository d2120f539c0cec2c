package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

type cliResult struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary as a person would, with a bounded run time and no
// CONFLUENCE_* settings inherited from the test's environment.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONFLUENCE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// writeSpc writes a Steampipe connection file readable by its owner only.
func writeSpc(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "confluence.spc")
	text := "connection \"confluence\" {\n  plugin = \"local/confluence\"\n" + body + "\n}\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatalf("write spc: %v", err)
	}
	return path
}

func sessionSpc(t *testing.T, info emulator.Info, cacheDir string) string {
	return writeSpc(t, info.Config+fmt.Sprintf("\nsession_cache_path = %q\n", cacheDir))
}

func apiKeySpc(t *testing.T, info emulator.Info) string {
	body := fmt.Sprintf("email = %q\napi_key = %q\napi_token = %q\n"+
		"identity_url = %q\nadmin_hub_url = %q\nadmin_api_url = %q\nsession_cache_path = %q\n",
		info.Email, info.APIKey, info.APIToken,
		info.IdentityURL, info.AdminHubURL, info.AdminAPIURL, t.TempDir())
	return writeSpc(t, body)
}

const countQuery = "select count(*) as n from confluence_user"

// countFromCSV reads the single value of a one-column CSV result.
func countFromCSV(t *testing.T, r cliResult) int {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("query exited %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || lines[0] != "n" {
		t.Fatalf("unexpected CSV output %q", r.stdout)
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil {
		t.Fatalf("count %q is not a number", lines[1])
	}
	return n
}

func TestQueryCountSessionRouteSignsInOnce(t *testing.T) {
	emu := startEmulator(t, 1500)
	info := emu.Info()
	spc := sessionSpc(t, info, t.TempDir())
	var all strings.Builder
	for i := 0; i < 3; i++ {
		r := runCLI(t, "query", "--config", spc, "--output", "csv", "--log-level", "trace", countQuery)
		all.WriteString(r.stdout + r.stderr)
		if got := countFromCSV(t, r); got != info.ConfluenceUsers {
			t.Fatalf("query %d: count = %d, want %d", i+1, got, info.ConfluenceUsers)
		}
	}
	if got := emu.Counts().SignIns; got != 1 {
		t.Errorf("sign-ins after three queries = %d, want 1", got)
	}
	assertNoSecrets(t, "CLI output", all.String(), secretsOf(info))
}

func TestQueryTwoProcessesSignInOnce(t *testing.T) {
	emu := startEmulator(t, 300)
	info := emu.Info()
	spc := sessionSpc(t, info, t.TempDir())
	results := make([]cliResult, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = runCLI(t, "query", "--config", spc, "--output", "csv", countQuery)
		}(i)
	}
	wg.Wait()
	for _, r := range results {
		if got := countFromCSV(t, r); got != info.ConfluenceUsers {
			t.Errorf("count = %d, want %d", got, info.ConfluenceUsers)
		}
	}
	if got := emu.Counts().SignIns; got != 1 {
		t.Errorf("sign-ins by two processes at once = %d, want 1", got)
	}
}

func TestQueryCountAPIKeyRoute(t *testing.T) {
	emu := startEmulator(t, 1500)
	info := emu.Info()
	r := runCLI(t, "query", "--config", apiKeySpc(t, info), "--output", "csv",
		"--log-level", "trace", countQuery)
	if got := countFromCSV(t, r); got != info.ConfluenceUsers {
		t.Fatalf("count by the API key route = %d, want %d", got, info.ConfluenceUsers)
	}
	if got := emu.Counts().SignIns; got != 0 {
		t.Errorf("API key route signed in %d times, want 0", got)
	}
	assertNoSecrets(t, "CLI output", r.stdout+r.stderr, secretsOf(info))
}

func TestDoctorTranscriptHasNoSecrets(t *testing.T) {
	emu := startEmulator(t, 50)
	info := emu.Info()
	r := runCLI(t, "doctor", "--config", sessionSpc(t, info, t.TempDir()), "--log-level", "trace")
	if r.code != 0 {
		t.Fatalf("doctor exited %d: %s", r.code, r.stderr)
	}
	for _, route := range []string{"orgs", "workspaces", "users_search", "licensed_users",
		"billing_entitlement_group", "billing_bill_estimate"} {
		if !strings.Contains(r.stdout, route) {
			t.Errorf("doctor transcript does not mention route %s", route)
		}
	}
	assertNoSecrets(t, "doctor output", r.stdout+r.stderr, secretsOf(info))
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"query"},
		{"query", "--output", "yaml", "select 1"},
		{"emulator", "--users", "5"},
	} {
		r := runCLI(t, args...)
		if r.code != 2 {
			t.Errorf("%v exited %d, want 2 (stderr %q)", args, r.code, r.stderr)
		}
	}
	for _, args := range [][]string{{"--help"}, {"query", "--help"}, {"emulator", "--help"}, {"doctor", "--help"}} {
		if r := runCLI(t, args...); r.code != 0 || r.stdout+r.stderr == "" {
			t.Errorf("%v exited %d with no help text", args, r.code)
		}
	}
}
