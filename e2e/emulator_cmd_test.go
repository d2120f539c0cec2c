package e2e

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// freePort asks the kernel for a loopback port that is free right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestEmulatorCommandFirstLine(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command(binary, "emulator", "--users", "120", "--seed", "3",
		"--now", "2026-11-30T12:00:00Z", "--addr", "127.0.0.1:"+strconv.Itoa(port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start emulator command: %v", err)
	}
	done := make(chan error, 1)
	defer func() {
		cmd.Process.Signal(syscall.SIGKILL)
	}()

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(time.Minute):
		t.Fatal("emulator printed no first line within a minute")
	}

	var info map[string]any
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("first line is not one JSON object: %v", err)
	}
	for _, key := range []string{"url", "email", "password", "totp_secret", "users",
		"confluence_users", "config"} {
		if _, ok := info[key]; !ok {
			t.Errorf("first line has no %q", key)
		}
	}
	if got := info["users"]; got != float64(120) {
		t.Errorf("users = %v, want 120", got)
	}
	wantURL := "http://127.0.0.1:" + strconv.Itoa(port)
	if info["url"] != wantURL {
		t.Errorf("url = %v, want %s", info["url"], wantURL)
	}
	config, _ := info["config"].(string)
	for _, setting := range []string{"email", "password", "totp_secret", "identity_url"} {
		if !strings.Contains(config, setting+" = ") {
			t.Errorf("config body has no %s setting", setting)
		}
	}

	resp, err := http.Get(wantURL + "/__emulator/counts")
	if err != nil {
		t.Fatalf("get counts: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("counts status = %d, want 200", resp.StatusCode)
	}

	go func() { done <- cmd.Wait() }()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("emulator exit after SIGINT: %v, want exit 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("emulator did not stop within 30 s of SIGINT")
	}
}

func TestQueryWrongPasswordExitsThree(t *testing.T) {
	emu := startEmulator(t, 50)
	info := emu.Info()
	body := strings.Replace(info.Config, info.Password, "wrong-"+info.Password, 1)
	r := runCLI(t, "query", "--config", writeSpc(t, body+"\nsession_cache_path = \""+t.TempDir()+"\"\n"),
		"select count(*) from confluence_user")
	if r.code != 3 {
		t.Fatalf("wrong password exited %d, want 3 (stderr %q)", r.code, r.stderr)
	}
	if !strings.Contains(strings.ToLower(r.stderr), "password") {
		t.Errorf("error %q does not mention the password", r.stderr)
	}
	assertNoSecrets(t, "CLI output", r.stdout+r.stderr, secretsOf(info))
}

func TestIdentityOutageSendsPasswordOnce(t *testing.T) {
	emu := startEmulator(t, 50)
	info := emu.Info()
	emu.SetFaults(emulator.Faults{Route: emulator.RouteMFAVerify, ServerErrors: 100})
	r := runCLI(t, "query", "--config", sessionSpc(t, info, t.TempDir()),
		"select count(*) from confluence_user")
	if r.code != 3 {
		t.Fatalf("identity outage exited %d, want 3 (stderr %q)", r.code, r.stderr)
	}
	if got := emu.Counts().SignInAttempts; got != 1 {
		t.Errorf("password sent %d times in one query, want 1", got)
	}
}

func TestRateLimitStormFailsWithoutRetryLayersMultiplying(t *testing.T) {
	emu := startEmulator(t, 50)
	info := emu.Info()
	emu.SetFaults(emulator.Faults{Route: emulator.RouteUsersSearch, RateLimited: 1000, RetryAfter: "zero"})
	r := runCLI(t, "query", "--config", sessionSpc(t, info, t.TempDir()),
		"select count(*) from confluence_user")
	if r.code != 1 {
		t.Fatalf("rate-limit storm exited %d, want 1 (stderr %q)", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "429") {
		t.Errorf("error %q does not name the 429 status", r.stderr)
	}
	// The client tries each request a bounded number of times, and no
	// layer above it repeats the whole scan.
	if got := emu.Counts().Requests[emulator.RouteUsersSearch]; got > 6 {
		t.Errorf("user search requests = %d, want at most 6", got)
	}
}
