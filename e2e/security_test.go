package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// tableNames lists every table of the plugin.
var tableNames = []string{
	"confluence_user", "confluence_user_activity", "confluence_site", "confluence_group",
	"confluence_group_member", "confluence_license", "confluence_spend",
}

// tracedRun runs the binary at trace level with its own home, cache and
// temp directories, so that every file a run writes can be searched.
type tracedRun struct {
	home, cache, tmp string
}

func newTracedRun(t *testing.T) *tracedRun {
	t.Helper()
	return &tracedRun{home: t.TempDir(), cache: t.TempDir(), tmp: t.TempDir()}
}

// run is runCLI with STEAMPIPE_LOG_LEVEL=TRACE and the run's directories.
func (r *tracedRun) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "CONFLUENCE_"), name == "HOME", name == "TMPDIR",
			name == "XDG_CACHE_HOME", name == "STEAMPIPE_LOG_LEVEL":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "HOME="+r.home, "XDG_CACHE_HOME="+r.cache, "TMPDIR="+r.tmp,
		"STEAMPIPE_LOG_LEVEL=TRACE")
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

// isSessionCacheFile reports whether path is a cached session, the one
// kind of file allowed to hold the session cookie.
func isSessionCacheFile(path string) bool {
	base := filepath.Base(path)
	return strings.HasPrefix(base, "session-") && strings.HasSuffix(base, ".json")
}

// sessionCookies returns the cookie values of every cached session under
// the directories.
func sessionCookies(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !isSessionCacheFile(path) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read session cache: %v", err)
				return nil
			}
			var f struct {
				Cookies map[string]string `json:"cookies"`
			}
			if err := json.Unmarshal(data, &f); err != nil {
				t.Errorf("session cache %s is not JSON: %v", filepath.Base(path), err)
				return nil
			}
			for _, v := range f.Cookies {
				out = append(out, v)
			}
			return nil
		})
	}
	return out
}

// assertNoSecretsInFiles searches every file under the directories except
// the session cache files.
func assertNoSecretsInFiles(t *testing.T, secrets []string, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || isSessionCacheFile(path) {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			assertNoSecrets(t, "file "+rel, string(data), secrets)
			return nil
		})
		if err != nil {
			t.Errorf("walk %s: %v", dir, err)
		}
	}
}

func TestSecretsAbsentFromTracedCommands(t *testing.T) {
	emu := startEmulator(t, 60)
	info := emu.Info()
	r := newTracedRun(t)
	sessionCache := t.TempDir()
	spcs := map[string]string{
		"session": sessionSpc(t, info, sessionCache),
		"api key": apiKeySpc(t, info),
	}
	var output strings.Builder
	record := func(what string, res cliResult) {
		output.WriteString(res.stdout + "\n" + res.stderr + "\n")
		if res.code != 0 {
			t.Errorf("%s exited %d: %s", what, res.code, firstLine(res.stderr))
		}
	}
	for route, spc := range spcs {
		for _, table := range tableNames {
			res := r.run(t, "query", "--config", spc, "--log-level", "trace", "--output", "json",
				"select * from "+table)
			record(route+" query "+table, res)
		}
		record(route+" recommend", r.run(t, "recommend", "--config", spc, "--log-level", "trace"))
		record(route+" doctor", r.run(t, "doctor", "--config", spc, "--log-level", "trace"))
	}
	// A query that fails must not leak either.
	res := r.run(t, "query", "--config", spcs["session"], "--log-level", "trace",
		"select * from no_such_table")
	if res.code == 0 {
		t.Errorf("query of a missing table exited 0")
	}
	output.WriteString(res.stdout + res.stderr)

	secrets := append(secretsOf(info), sessionCookies(t, sessionCache, r.cache)...)
	if len(secrets) <= len(secretsOf(info)) {
		t.Fatalf("no session cookie found in the session cache after signing in")
	}
	assertNoSecrets(t, "command output", output.String(), secrets)
	assertNoSecretsInFiles(t, secrets, r.home, r.cache, r.tmp, sessionCache)
}

// TestDemoTracedLeavesNoCredentials cannot know the credentials the demo
// generates, so it looks for the settings that would carry them.
func TestDemoTracedLeavesNoCredentials(t *testing.T) {
	r := newTracedRun(t)
	res := r.run(t, "demo", "--users", "40", "--log-level", "trace")
	if res.code != 0 {
		t.Fatalf("demo exited %d: %s", res.code, firstLine(res.stderr))
	}
	text := res.stdout + res.stderr
	for _, marker := range []string{"totp_secret", "otpauth:", "\"password\"", "password =",
		"api_key", "api_token", "cloud.session.token="} {
		if strings.Contains(text, marker) {
			t.Errorf("demo output contains %q", marker)
		}
	}
	leftovers := 0
	_ = filepath.WalkDir(r.tmp, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			leftovers++
		}
		return nil
	})
	if leftovers != 0 {
		t.Errorf("demo left %d files in its temp directory", leftovers)
	}
}

func TestEmulatorCommandOnlyFirstLineHasSecrets(t *testing.T) {
	r := newTracedRun(t)
	cmd := exec.Command(binary, "emulator", "--users", "40", "--log-level", "trace")
	cmd.Env = append(os.Environ(), "STEAMPIPE_LOG_LEVEL=TRACE")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start emulator command: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	reader := bufio.NewReader(stdout)
	lines := make(chan string, 1)
	go func() {
		line, _ := reader.ReadString('\n')
		lines <- line
	}()
	var first string
	select {
	case first = <-lines:
	case <-time.After(time.Minute):
		t.Fatal("emulator printed no first line within a minute")
	}
	var info emulator.Info
	if err := json.Unmarshal([]byte(first), &info); err != nil || info.Password == "" {
		t.Fatalf("first line is not the emulator's info: %v", err)
	}
	rest := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(reader)
		rest <- string(data)
	}()

	cache := t.TempDir()
	query := r.run(t, "query", "--config", sessionSpc(t, info, cache), "--log-level", "trace",
		"select count(*) from confluence_user")
	if query.code != 0 {
		t.Fatalf("query against the emulator command exited %d: %s", query.code,
			firstLine(query.stderr))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	var remaining string
	select {
	case remaining = <-rest:
	case <-time.After(30 * time.Second):
		t.Fatal("emulator did not close its output within 30 s of SIGINT")
	}
	_ = cmd.Wait()

	secrets := append(secretsOf(info), sessionCookies(t, cache)...)
	assertNoSecrets(t, "emulator output after the first line", remaining+stderr.String(), secrets)
	assertNoSecrets(t, "query output", query.stdout+query.stderr, secrets)
	assertNoSecretsInFiles(t, secrets, r.home, r.cache, r.tmp, cache)
}

func TestBadSpcErrorsNeverQuoteLines(t *testing.T) {
	const password = "Pw-Secret-8Hq2z"
	cases := map[string]string{
		"unterminated string": `password = "` + password,
		"two values":          `password = "` + password + `" "` + password + `"`,
		"missing equals":      `password "` + password + `"`,
		"unquoted":            `password = ` + password,
		"bad interpolation":   `password = "${` + password + `"`,
		"wrong type":          `password = ["` + password + `"]`,
		"unknown setting":     `passwd = "` + password + `"`,
	}
	for name, line := range cases {
		t.Run(name, func(t *testing.T) {
			spc := writeSpc(t, "  email = \"a@example.com\"\n  "+line+"\n  totp_secret = "+
				"\"JBSWY3DPEHPK3PXP\"\n")
			res := runCLI(t, "query", "--config", spc, "select 1")
			if res.code == 0 {
				t.Fatalf("a bad .spc file was accepted")
			}
			text := res.stdout + res.stderr
			assertNoSecrets(t, "error output", text, []string{password})
			if strings.Contains(text, strings.TrimSpace(line)) {
				t.Errorf("the error quotes the line")
			}
			if !strings.Contains(text, "line ") {
				t.Errorf("error %q does not name a line", firstLine(res.stderr))
			}
		})
	}
}

func TestSessionCacheFileIsPrivate(t *testing.T) {
	emu := startEmulator(t, 30)
	info := emu.Info()
	cache := t.TempDir()
	spc := sessionSpc(t, info, cache)
	res := runCLI(t, "query", "--config", spc, countQuery)
	if res.code != 0 {
		t.Fatalf("query exited %d: %s", res.code, firstLine(res.stderr))
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "session-*.json"))
	if len(matches) != 1 {
		t.Fatalf("session cache files = %d, want 1", len(matches))
	}
	st, err := os.Stat(matches[0])
	if err != nil {
		t.Fatalf("stat session cache: %v", err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("session cache mode = %04o, want 0600", perm)
	}
	if err := os.Chmod(matches[0], 0o640); err != nil {
		t.Fatalf("chmod: %v", err)
	}
	signIns := emu.Counts().SignIns
	res = runCLI(t, "query", "--config", spc, countQuery)
	if res.code == 0 {
		t.Fatalf("a group-readable session cache was used")
	}
	for _, want := range []string{"session_cache_path", "0640", "chmod 600"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("error %q does not contain %q", firstLine(res.stderr), want)
		}
	}
	if got := emu.Counts().SignIns; got != signIns {
		t.Errorf("signed in %d more times beside a rejected cache file, want 0", got-signIns)
	}
	assertNoSecrets(t, "error output", res.stdout+res.stderr, secretsOf(info))
}

func TestSelfSignedCertificateRejected(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[{"id":"o1","attributes":{"name":"o"}}],"links":{}}`))
	}))
	defer srv.Close()
	const apiKey = "apikey-Secret-Value-9"
	spc := writeSpc(t, fmt.Sprintf("email = \"a@example.com\"\napi_key = %q\n"+
		"api_token = \"tok-Secret-Value-7\"\nidentity_url = %q\nadmin_hub_url = %q\n"+
		"admin_api_url = %q\nsession_cache_path = %q\n",
		apiKey, srv.URL, srv.URL, srv.URL, t.TempDir()))
	res := runCLI(t, "query", "--config", spc, countQuery)
	if res.code == 0 {
		t.Fatalf("query over a self-signed certificate succeeded")
	}
	if !strings.Contains(strings.ToLower(res.stderr), "certificate") {
		t.Errorf("error %q does not name the certificate", firstLine(res.stderr))
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the server received %d requests over an unverified connection", n)
	}
	assertNoSecrets(t, "error output", res.stdout+res.stderr, []string{apiKey})
}

func TestPlainHTTPOnlyForLoopback(t *testing.T) {
	// NewClient sends no request, so these hosts are never contacted.
	for _, u := range []string{"http://api.example.com", "http://10.0.0.1:8080",
		"http://[2001:db8::1]", "http://127.0.0.1.example.com"} {
		_, err := atlassian.NewClient(atlassian.Options{APIKey: "k", AdminAPIURL: u})
		if err == nil || !strings.Contains(err.Error(), "plain http") {
			t.Errorf("NewClient with admin_api_url %s: error %v, want a plain http error", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1",
		"https://api.example.com"} {
		if _, err := atlassian.NewClient(atlassian.Options{APIKey: "k", AdminAPIURL: u,
			SessionCacheDir: t.TempDir()}); err != nil {
			t.Errorf("NewClient with admin_api_url %s: %v", u, err)
		}
	}
}

func TestEmulatorRejectsNonLoopbackAddress(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:0"} {
		res := runCLI(t, "emulator", "--users", "20", "--addr", addr)
		if res.code != 2 {
			t.Errorf("emulator --addr %s exited %d, want 2", addr, res.code)
		}
		if !strings.Contains(res.stderr, "loopback") {
			t.Errorf("emulator --addr %s: error %q does not mention loopback", addr,
				firstLine(res.stderr))
		}
	}
	if _, err := emulator.New(emulator.Options{Users: 20, Host: "0.0.0.0"}); err == nil {
		t.Errorf("emulator.New accepted host 0.0.0.0 without AllowNonLoopback")
	}
	// New opens no port, so the explicit opt-in can be checked without
	// listening beyond loopback.
	if _, err := emulator.New(emulator.Options{Users: 20, Host: "0.0.0.0",
		AllowNonLoopback: true}); err != nil {
		t.Errorf("emulator.New with AllowNonLoopback: %v", err)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
