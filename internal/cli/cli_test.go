package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// clearEnv empties the settings the plugin reads from the environment.
func clearEnv(t *testing.T) {
	for _, name := range []string{"CONFLUENCE_EMAIL", "CONFLUENCE_PASSWORD",
		"CONFLUENCE_TOTP_SECRET", "CONFLUENCE_ORG_ID", "CONFLUENCE_API_KEY",
		"CONFLUENCE_API_TOKEN", "CONFLUENCE_SESSION_TOKEN", "CONFLUENCE_IDENTITY_URL",
		"CONFLUENCE_ADMIN_HUB_URL", "CONFLUENCE_ADMIN_API_URL", "CONFLUENCE_SITES",
		"CONFLUENCE_INVENTORY_CACHE_TTL", "CONFLUENCE_PRICES",
		"CONFLUENCE_ORG_REQUESTS_PER_MINUTE", "CONFLUENCE_SITE_REQUESTS_PER_MINUTE"} {
		t.Setenv(name, "")
	}
	t.Setenv("CONFLUENCE_SESSION_CACHE_PATH", t.TempDir())
	t.Setenv(logLevelEnv, "off")
}

func TestMainExitCodes(t *testing.T) {
	clearEnv(t)
	cases := []struct {
		args   []string
		code   int
		stdout string // expected substring of stdout
	}{
		{nil, ExitUsage, ""},
		{[]string{"bogus"}, ExitUsage, ""},
		{[]string{"--help"}, ExitOK, "Usage: steampipe-plugin-confluence COMMAND"},
		{[]string{"-h"}, ExitOK, "Commands:"},
		{[]string{"help"}, ExitOK, "Commands:"},
		{[]string{"help", "doctor"}, ExitOK, "Usage: steampipe-plugin-confluence doctor"},
		{[]string{"help", "bogus"}, ExitUsage, ""},
		{[]string{"query", "--help"}, ExitOK, "Usage: steampipe-plugin-confluence query"},
		{[]string{"query", "-h"}, ExitOK, "-output FORMAT"},
		{[]string{"emulator", "--help"}, ExitOK, "-users"},
		{[]string{"doctor", "--help"}, ExitOK, "-config FILE"},
		{[]string{"query"}, ExitUsage, ""},
		{[]string{"query", "select 1", "select 2"}, ExitUsage, ""},
		{[]string{"query", "--bogus", "select 1"}, ExitUsage, ""},
		{[]string{"query", "--output", "xml", "select 1"}, ExitUsage, ""},
		{[]string{"query", "--log-level", "loud", "select 1"}, ExitUsage, ""},
		{[]string{"query", "--connection", "x", "select 1"}, ExitUsage, ""},
		{[]string{"query", "--config", "/nonexistent/confluence.spc", "select 1"}, ExitUsage, ""},
		// No credentials at all is a settings error, found before any call.
		{[]string{"query", "select 1"}, ExitUsage, ""},
		{[]string{"doctor"}, ExitUsage, ""},
		{[]string{"doctor", "extra"}, ExitUsage, ""},
		{[]string{"doctor", "--output", "yaml"}, ExitUsage, ""},
		{[]string{"emulator", "--addr", "127.0.0.1:http"}, ExitUsage, ""},
		{[]string{"emulator", "--addr", "127.0.0.1:70000"}, ExitUsage, ""},
		{[]string{"emulator", "--users", "1"}, ExitUsage, ""},
		{[]string{"emulator", "--now", "yesterday"}, ExitUsage, ""},
		{[]string{"emulator", "--addr", "192.0.2.1"}, ExitUsage, ""},
		{[]string{"emulator", "extra"}, ExitUsage, ""},
		{[]string{"emulator", "--rate-limit", "-1"}, ExitUsage, ""},
		{[]string{"emulator", "--rate-burst", "20"}, ExitUsage, ""},
		{[]string{"emulator", "--rate-limit", "60", "--rate-burst", "-2"}, ExitUsage, ""},
	}
	for _, tc := range cases {
		code, stdout, stderr := run(t, tc.args...)
		if code != tc.code {
			t.Errorf("%q: exit code %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
		}
		if !strings.Contains(stdout, tc.stdout) {
			t.Errorf("%q: stdout %q does not contain %q", tc.args, stdout, tc.stdout)
		}
		if tc.code == ExitUsage && !strings.Contains(stderr, "Error:") && tc.args != nil {
			t.Errorf("%q: stderr %q has no error message", tc.args, stderr)
		}
		if tc.code != ExitOK && stdout != "" {
			t.Errorf("%q: failed run wrote to stdout: %q", tc.args, stdout)
		}
	}
}

func fixedResult() *sqlengine.Result {
	return &sqlengine.Result{
		Columns: []sqlengine.Column{
			{Name: "id", Type: sqlengine.TypeInteger},
			{Name: "name", Type: sqlengine.TypeText},
			{Name: "score", Type: sqlengine.TypeReal},
			{Name: "active", Type: sqlengine.TypeBoolean},
			{Name: "tags", Type: sqlengine.TypeJSON},
			{Name: "count(*)", Type: ""},
		},
		Rows: [][]any{
			{int64(1), "alpha, \"a\"", 1.5, int64(1), `{"team": "x"}`, int64(10)},
			{int64(22), "line\nbreak", nil, int64(0), nil, int64(3)},
		},
	}
}

func TestOutputTable(t *testing.T) {
	var buf bytes.Buffer
	if err := writeResult(&buf, "table", fixedResult()); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"id  name         score   active  tags           count(*)\n" +
		"--  -----------  ------  ------  -------------  --------\n" +
		"1   alpha, \"a\"   1.5     1       {\"team\": \"x\"}  10\n" +
		"22  line\\nbreak  <null>  0       <null>         3\n" +
		"(2 rows)\n"
	if got := buf.String(); got != want {
		t.Errorf("table output:\n%s\nwant:\n%s", got, want)
	}
}

func TestOutputCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := writeResult(&buf, "csv", fixedResult()); err != nil {
		t.Fatal(err)
	}
	want := "id,name,score,active,tags,count(*)\n" +
		"1,\"alpha, \"\"a\"\"\",1.5,1,\"{\"\"team\"\": \"\"x\"\"}\",10\n" +
		"22,\"line\nbreak\",,0,,3\n"
	if got := buf.String(); got != want {
		t.Errorf("csv output:\n%s\nwant:\n%s", got, want)
	}
}

func TestOutputJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := writeResult(&buf, "json", fixedResult()); err != nil {
		t.Fatal(err)
	}
	want := "[\n" +
		`  {"id": 1, "name": "alpha, \"a\"", "score": 1.5, "active": true, "tags": {"team":"x"}, "count(*)": 10},` + "\n" +
		`  {"id": 22, "name": "line\nbreak", "score": null, "active": false, "tags": null, "count(*)": 3}` + "\n" +
		"]\n"
	if got := buf.String(); got != want {
		t.Errorf("json output:\n%s\nwant:\n%s", got, want)
	}
	var parsed []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &parsed); err != nil {
		t.Errorf("json output does not parse: %v", err)
	}

	buf.Reset()
	if err := writeResult(&buf, "json", &sqlengine.Result{Columns: fixedResult().Columns}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "[]\n" {
		t.Errorf("empty json output = %q, want %q", got, "[]\n")
	}
}

const testSecret = "Pa55-very-secret-value"

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "confluence.spc")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSpcSelectsConnection(t *testing.T) {
	path := writeFile(t, `
connection "aws" {
  plugin = "aws"
  regions = ["us-east-1"]
}

connection "conf_prod" {
  plugin   = "local/confluence"
  email    = "admin@example.com"
  password = "`+testSecret+`"
  sites    = ["acme.atlassian.net"]
  options "connection" {
    cache = false
  }
}

plugin "confluence" {
  source = "local/confluence"
}
`)
	s, err := loadSpc(path, "")
	if err != nil {
		t.Fatalf("loadSpc: %v", err)
	}
	if s.Name != "conf_prod" {
		t.Errorf("connection = %q, want conf_prod", s.Name)
	}
	if s.Config.Email != "admin@example.com" || s.Config.Password != testSecret {
		t.Errorf("decoded email/password do not match the file")
	}
	if len(s.Config.Sites) != 1 || s.Config.Sites[0] != "acme.atlassian.net" {
		t.Errorf("sites = %v, want [acme.atlassian.net]", s.Config.Sites)
	}
	if strings.Contains(s.Body, "plugin") || strings.Contains(s.Body, "options") {
		t.Errorf("body keeps the plugin attribute or the options block:\n%s", s.Body)
	}
	// Line numbers of the body are those of the file.
	lines := strings.Split(s.Body, "\n")
	if len(lines) < 10 || !strings.Contains(lines[9], "password") {
		t.Errorf("password is not on line 10 of the body:\n%s", s.Body)
	}

	if _, err := loadSpc(path, "aws"); err == nil || !strings.Contains(err.Error(), "not confluence") {
		t.Errorf("--connection aws: error %v, want a plugin mismatch", err)
	}
	if _, err := loadSpc(path, "missing"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("--connection missing: error %v, want not found", err)
	}
}

func TestSpcSeveralConnections(t *testing.T) {
	path := writeFile(t, `
connection "one" {
  plugin = "confluence"
}
connection "two" {
  plugin = "org/confluence@latest"
}
`)
	_, err := loadSpc(path, "")
	if err == nil || !strings.Contains(err.Error(), "one, two") {
		t.Errorf("error %v, want the connection names listed", err)
	}
	s, err := loadSpc(path, "two")
	if err != nil || s.Name != "two" {
		t.Errorf("--connection two: %v, %v", s, err)
	}
}

func TestSpcErrorsHideValues(t *testing.T) {
	cases := []struct {
		name, content, want string
	}{
		{"unknown setting", `
connection "c" {
  plugin   = "confluence"
  password = "` + testSecret + `"
  pasword  = "` + testSecret + `"
}`, `line 5`},
		{"wrong type", `
connection "c" {
  plugin = "confluence"
  email  = "a@example.com"
  sites  = "` + testSecret + `"
}`, `line 5`},
		{"syntax error", `
connection "c" {
  plugin   = "confluence"
  password = "` + testSecret + `
}`, `line 4`},
		{"no block", `
connection "c" {
  plugin   = "aws"
  password = "` + testSecret + `"
}`, `no connection block`},
	}
	for _, tc := range cases {
		path := writeFile(t, tc.content)
		_, err := loadSpc(path, "")
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, testSecret) || strings.Contains(msg, "Pa55") {
			t.Errorf("%s: error contains the secret: %q", tc.name, msg)
		}
		if !strings.Contains(msg, path) {
			t.Errorf("%s: error %q does not name the file", tc.name, msg)
		}
		if !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error %q does not contain %q", tc.name, msg, tc.want)
		}
		// Through Main, the exit code is a usage error and the secret
		// stays hidden as well.
		clearEnv(t)
		code, stdout, stderr := run(t, "query", "--config", path, "select 1")
		if code != ExitUsage {
			t.Errorf("%s: exit code %d, want %d", tc.name, code, ExitUsage)
		}
		if strings.Contains(stdout+stderr, testSecret) {
			t.Errorf("%s: output contains the secret", tc.name)
		}
	}
}

// startEmulator serves a small org and writes a .spc file for it.
func startEmulator(t *testing.T) (emulator.Info, string) {
	t.Helper()
	emu, err := emulator.New(emulator.Options{
		Users: 60, Seed: 7, Now: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	info := emu.Info()
	path := writeFile(t, "connection \"confluence\" {\n  plugin = \"confluence\"\n"+info.Config+"\n}\n")
	return info, path
}

func TestQueryAgainstEmulator(t *testing.T) {
	clearEnv(t)
	info, path := startEmulator(t)
	code, stdout, stderr := run(t, "query", "--config", path, "--output", "csv",
		"select count(*) as n from confluence_user")
	if code != ExitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	want := "n\n" + strconv.Itoa(info.ConfluenceUsers) + "\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	for _, secret := range []string{info.Password, info.TOTPSecret, info.APIKey, info.APIToken} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("output contains a credential")
		}
	}
}

// TestQueryLeadingComment shows SQL that starts with a "--" comment is
// read as the SQL argument, not as an undefined flag, after flags given
// in either form.
func TestQueryLeadingComment(t *testing.T) {
	clearEnv(t)
	info, path := startEmulator(t)
	sql := "-- Count the users\nselect count(*) as n from confluence_user"
	want := "n\n" + strconv.Itoa(info.ConfluenceUsers) + "\n"
	for _, args := range [][]string{
		{"query", "--config", path, "--output", "csv", sql},
		{"query", "--config=" + path, "--output=csv", sql},
		{"query", "-config", path, "-output", "csv", "--", sql},
	} {
		code, stdout, stderr := run(t, args...)
		if code != ExitOK {
			t.Errorf("%q: exit code %d, stderr %q", args[1:len(args)-1], code, stderr)
			continue
		}
		if stdout != want {
			t.Errorf("%q: stdout %q, want %q", args[1:len(args)-1], stdout, want)
		}
	}

	// A comment with an equals sign before its first blank is SQL too.
	code, stdout, stderr := run(t, "query", "--config", path, "--output", "csv",
		"--TODO=fix\nselect count(*) as n from confluence_user")
	if code != ExitOK || stdout != want {
		t.Errorf("comment with an equals sign: exit code %d, stdout %q, stderr %q", code,
			stdout, stderr)
	}

	// Flags after the SQL are not parsed, as before.
	code, _, stderr = run(t, "query", "--config", path, sql, "--output", "csv")
	if code != ExitUsage {
		t.Errorf("flags after the SQL: exit code %d, want %d (stderr %q)", code, ExitUsage, stderr)
	}

	// A quoted flag or a comment alone holds no statement: a usage error,
	// not an empty result.
	for _, arg := range []string{"--output csv", "-- only a comment", "/* c */ ;", " "} {
		code, stdout, stderr := run(t, "query", "--config", path, arg)
		if code != ExitUsage {
			t.Errorf("SQL %q: exit code %d, want %d (stdout %q)", arg, code, ExitUsage, stdout)
		}
		if !strings.Contains(stderr, "no statement") {
			t.Errorf("SQL %q: stderr %q does not say it holds no statement", arg, stderr)
		}
	}
}

func TestHasStatement(t *testing.T) {
	for sql, want := range map[string]bool{
		"select 1":                       true,
		"-- c\nselect 1":                 true,
		"/* a */ select 1":               true,
		"/**/select 1":                   true,
		"'-- not a comment'":             true,
		"":                               false,
		" ;\n\t; ":                       false,
		"-- c":                           false,
		"-- c\n-- d\n":                   false,
		"/* a */ /* b":                   false,
		"/* select 1 */":                 false,
		"-- c\n/* d */;\n-- e\nselect 2": true,
	} {
		if got := hasStatement(sql); got != want {
			t.Errorf("hasStatement(%q) = %v, want %v", sql, got, want)
		}
	}
}

func TestQueryWrongPasswordExitCode(t *testing.T) {
	clearEnv(t)
	info, _ := startEmulator(t)
	config := strings.ReplaceAll(info.Config, info.Password, "wrong-"+info.Password[:4])
	path := writeFile(t, "connection \"confluence\" {\n  plugin = \"confluence\"\n"+config+"\n}\n")
	code, stdout, stderr := run(t, "query", "--config", path, "select count(*) from confluence_user")
	if code != ExitSignInFailure {
		t.Errorf("exit code %d, want %d (stderr %q)", code, ExitSignInFailure, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
}

func TestDoctorRedacts(t *testing.T) {
	clearEnv(t)
	info, path := startEmulator(t)
	for _, format := range []string{"text", "json"} {
		code, stdout, stderr := run(t, "doctor", "--config", path, "--output", format)
		if code != ExitOK {
			t.Fatalf("%s: exit code %d, stderr %q", format, code, stderr)
		}
		out := stdout + stderr
		for name, secret := range map[string]string{"password": info.Password,
			"TOTP secret": info.TOTPSecret, "API key": info.APIKey, "API token": info.APIToken} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: output contains the %s", format, name)
			}
		}
		// Session cookies are JWTs, whose base64 header starts with "eyJ".
		if strings.Contains(out, "eyJ") {
			t.Errorf("%s: output contains a session token", format)
		}
		if !strings.Contains(out, "cloud.session.token") {
			t.Errorf("%s: output does not name the session cookie", format)
		}
		if format == "text" && !strings.Contains(stdout, "Summary: ") {
			t.Errorf("text output has no summary line:\n%s", stdout)
		}
		if format == "json" {
			var events []map[string]any
			if err := json.Unmarshal([]byte(stdout), &events); err != nil || len(events) == 0 {
				t.Errorf("json output is not a list of events: %v", err)
			}
		}
	}
}

// TestSpcCheckedWithEnvPrices shows the command line merges the
// environment into an .spc file's settings as the plugin does, prices
// included, so a bad CONFLUENCE_PRICES fails before any network call.
func TestSpcCheckedWithEnvPrices(t *testing.T) {
	clearEnv(t)
	t.Setenv("CONFLUENCE_PRICES", `[{ edition = "standard", cycle = "monthly", `+
		`currency = "USD", bands = [{ up_to = 0, per_user = "-1.00" }] }]`)
	path := writeFile(t, "connection \"confluence\" {\n  plugin = \"confluence\"\n"+
		"  api_key = \"key-for-the-test\"\n"+
		"  admin_api_url = \"http://127.0.0.1:1\"\n}\n")
	code, _, stderr := run(t, "query", "--config", path, "select 1")
	if code != ExitUsage {
		t.Fatalf("exit code %d, want %d (stderr %q)", code, ExitUsage, stderr)
	}
	if !strings.Contains(stderr, "prices") {
		t.Errorf("error %q does not name the prices setting", stderr)
	}
}

// TestSpcCheckedWithEnvRequestLimit shows a bad request limit, from the
// file or the environment, fails at start and names the setting and value.
func TestSpcCheckedWithEnvRequestLimit(t *testing.T) {
	for _, tc := range []struct{ name, settings, env, setting, value string }{
		{"file", "  site_requests_per_minute = \"fast\"\n", "", "site_requests_per_minute", "fast"},
		{"environment", "", "-10", "org_requests_per_minute", "-10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			if tc.env != "" {
				t.Setenv("CONFLUENCE_ORG_REQUESTS_PER_MINUTE", tc.env)
			}
			path := writeFile(t, "connection \"confluence\" {\n  plugin = \"confluence\"\n"+
				"  api_key = \"key-for-the-test\"\n"+tc.settings+
				"  admin_api_url = \"http://127.0.0.1:1\"\n}\n")
			code, _, stderr := run(t, "query", "--config", path, "select 1")
			if code != ExitUsage {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, ExitUsage, stderr)
			}
			for _, want := range []string{tc.setting, `"` + tc.value + `"`} {
				if !strings.Contains(stderr, want) {
					t.Errorf("error %q does not contain %s", stderr, want)
				}
			}
		})
	}
}
