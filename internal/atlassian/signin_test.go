package atlassian

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is 10 s into a TOTP step, so a code can be sent without waiting.
var t0 = time.Date(2026, 5, 1, 12, 0, 10, 0, time.UTC)

func listOrgs(t *testing.T, c *Client) ([]Org, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Orgs(ctx)
}

func readSessionFile(t *testing.T, c *Client) sessionFile {
	t.Helper()
	data, err := os.ReadFile(c.sess.store.path(".json"))
	if err != nil {
		t.Fatalf("read session file: %v", err)
	}
	var f sessionFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("decode session file: %v", err)
	}
	return f
}

func TestSignInHappyPath(t *testing.T) {
	clock := newFakeClock(t0)
	f := newFakeAtlassian(t, clock)
	c := f.client(t, f.options(t))
	orgs, err := listOrgs(t, c)
	if err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	if len(orgs) != 1 || orgs[0].ID != testOrgID || orgs[0].Name != "Example" {
		t.Fatalf("orgs = %+v", orgs)
	}
	if f.signIns != 1 {
		t.Errorf("sign-ins = %d, want 1", f.signIns)
	}
	if len(f.codeSteps) != 1 || f.codeSteps[0] != totpStep(t0) {
		t.Errorf("code steps = %v, want [%d]", f.codeSteps, totpStep(t0))
	}
	if s := clock.Sleeps(); len(s) != 0 {
		t.Errorf("sleeps = %v, want none with 20 s left in the step", s)
	}
	var paths []string
	for _, r := range f.recorded() {
		paths = append(paths, r.Server+" "+r.Method+" "+r.Path)
	}
	want := []string{
		"identity GET /login", "identity POST /rest/check-username",
		"identity POST /rest/authenticate", "identity POST /rest/mfa/verify",
		"admin_hub GET /gateway/api/admin/v1/orgs",
	}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(want, "\n"))
	}
	login := f.recorded()[0]
	if !strings.Contains(login.Query, "application=admin") ||
		!strings.Contains(login.Query, "continue=") {
		t.Errorf("login query = %q", login.Query)
	}

	sf := readSessionFile(t, c)
	if sf.Cookies[sessionCookie] == "" {
		t.Errorf("session file has no %s", sessionCookie)
	}
	if sf.LastTOTPStep != totpStep(t0) {
		t.Errorf("last step = %d, want %d", sf.LastTOTPStep, totpStep(t0))
	}
	if !sf.Expires.Equal(t0.Add(sessionMaxAge)) {
		t.Errorf("expires = %v, want %v", sf.Expires, t0.Add(sessionMaxAge))
	}
	st, err := os.Stat(c.sess.store.path(".json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("session file mode = %04o, want 0600", st.Mode().Perm())
	}
	dir, err := os.Stat(c.opts.SessionCacheDir)
	if err != nil {
		t.Fatal(err)
	}
	if dir.Mode().Perm()&0o077 != 0 {
		t.Logf("cache dir mode %04o (pre-existing temp dir)", dir.Mode().Perm())
	}
	if strings.Contains(c.sess.store.path(".json"), "admin@") {
		t.Errorf("session file name contains the e-mail address")
	}

	// A second client of the same account reuses the cached session.
	c2 := f.client(t, f.options(t))
	c2.opts.SessionCacheDir = c.opts.SessionCacheDir
	c2.sess = newSessionManager(c2)
	if _, err := listOrgs(t, c2); err != nil {
		t.Fatalf("second client Orgs: %v", err)
	}
	if f.signIns != 1 {
		t.Errorf("sign-ins after second client = %d, want 1", f.signIns)
	}
}

func TestSignInWithoutTwoStep(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	f.authAnswer = "done"
	c := f.client(t, f.options(t))
	if _, err := listOrgs(t, c); err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	if len(f.codeSteps) != 0 {
		t.Errorf("codes sent = %v, want none", f.codeSteps)
	}
}

func TestSignInDeadEnds(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(f *fakeAtlassian, o *Options)
		want   error
		paused bool
	}{
		{"sso", func(f *fakeAtlassian, o *Options) { f.ssoRedirect = true }, ErrSSORedirect, false},
		{"email code", func(f *fakeAtlassian, o *Options) { f.authAnswer = "email" },
			ErrEmailCodeRequired, true},
		{"wrong password", func(f *fakeAtlassian, o *Options) { o.Password = "nope" },
			ErrWrongPassword, true},
		{"locked", func(f *fakeAtlassian, o *Options) { f.authAnswer = "locked" },
			ErrAccountLocked, true},
		{"captcha", func(f *fakeAtlassian, o *Options) { f.authAnswer = "captcha" },
			ErrBotCheck, true},
		{"html challenge", func(f *fakeAtlassian, o *Options) { f.authAnswer = "html" },
			ErrBotCheck, true},
		{"unknown step", func(f *fakeAtlassian, o *Options) { f.authAnswer = "unknown" },
			ErrUnrecognisedAnswer, true},
		{"code rejected twice", func(f *fakeAtlassian, o *Options) { f.rejectCodes = 2 },
			ErrCodeRejected, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAtlassian(t, newFakeClock(t0))
			o := f.options(t)
			tc.setup(f, &o)
			c := f.client(t, o)
			_, err := listOrgs(t, c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			var pe *PausedError
			if got := errors.As(err, &pe); got != tc.paused {
				t.Fatalf("paused = %v, want %v (error %v)", got, tc.paused, err)
			}
			if tc.paused && !strings.Contains(err.Error(), "paused until") {
				t.Errorf("error does not say when the pause ends: %v", err)
			}
			for _, secret := range []string{testPassword, "nope", testSecret, testXSRF,
				testMFAToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a secret: %v", err)
				}
			}
		})
	}
}

func TestSignInCodeRejectedOnceThenNextStep(t *testing.T) {
	clock := newFakeClock(t0)
	f := newFakeAtlassian(t, clock)
	f.rejectCodes = 1
	c := f.client(t, f.options(t))
	if _, err := listOrgs(t, c); err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	step := totpStep(t0)
	if len(f.codeSteps) != 2 || f.codeSteps[0] != step || f.codeSteps[1] != step+1 {
		t.Fatalf("code steps = %v, want [%d %d]", f.codeSteps, step, step+1)
	}
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 20*time.Second {
		t.Errorf("sleeps = %v, want [20s] until the next step", s)
	}
}

func TestSignInAvoidsUsedStep(t *testing.T) {
	clock := newFakeClock(t0)
	f := newFakeAtlassian(t, clock)
	o := f.options(t)
	step := totpStep(t0)
	// Another process sent this step's code a moment ago.
	f.usedSteps[step] = true
	store := &sessionStore{dir: o.SessionCacheDir, key: accountKey(f.id.URL, testEmail)}
	if err := store.save(sessionFile{LastTOTPStep: step}); err != nil {
		t.Fatal(err)
	}
	c := f.client(t, o)
	if _, err := listOrgs(t, c); err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	if len(f.codeSteps) != 1 || f.codeSteps[0] != step+1 {
		t.Fatalf("code steps = %v, want [%d]", f.codeSteps, step+1)
	}
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 20*time.Second {
		t.Errorf("sleeps = %v, want [20s]", s)
	}
}

func TestSignInWaitsWhenStepEnding(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 27, 0, time.UTC)
	clock := newFakeClock(start)
	f := newFakeAtlassian(t, clock)
	c := f.client(t, f.options(t))
	if _, err := listOrgs(t, c); err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	if len(f.codeSteps) != 1 || f.codeSteps[0] != totpStep(start)+1 {
		t.Fatalf("code steps = %v, want [%d]", f.codeSteps, totpStep(start)+1)
	}
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 3*time.Second {
		t.Errorf("sleeps = %v, want [3s]", s)
	}
}

func TestSignInPauseAndLift(t *testing.T) {
	clock := newFakeClock(t0)
	f := newFakeAtlassian(t, clock)
	o := f.options(t)
	o.Password = "old-password"
	c := f.client(t, o)
	if _, err := listOrgs(t, c); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("first error = %v, want ErrWrongPassword", err)
	}
	if f.authCalls != 1 {
		t.Fatalf("authenticate calls = %d, want 1", f.authCalls)
	}
	data, err := os.ReadFile(c.sess.store.path(".pause"))
	if err != nil {
		t.Fatalf("pause file: %v", err)
	}
	if strings.Contains(string(data), "old-password") || strings.Contains(string(data), testSecret) {
		t.Errorf("pause file contains the password or secret")
	}

	// Another client of the account, as another process would be, does
	// not try while the pause runs.
	c2 := f.client(t, o)
	_, err = listOrgs(t, c2)
	var pe *PausedError
	if !errors.As(err, &pe) || !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("paused error = %v", err)
	}
	if !pe.Until.Equal(t0.Add(15 * time.Minute)) {
		t.Errorf("pause until = %v, want %v", pe.Until, t0.Add(15*time.Minute))
	}
	if f.authCalls != 1 {
		t.Errorf("authenticate calls during pause = %d, want 1", f.authCalls)
	}

	// A changed password lifts the pause.
	o.Password = testPassword
	c3 := f.client(t, o)
	if _, err := listOrgs(t, c3); err != nil {
		t.Fatalf("after password change: %v", err)
	}
	if _, err := os.Stat(c.sess.store.path(".pause")); !os.IsNotExist(err) {
		t.Errorf("pause file still present after a successful sign-in")
	}
}

func TestSignInPauseEnds(t *testing.T) {
	clock := newFakeClock(t0)
	f := newFakeAtlassian(t, clock)
	f.authAnswer = "locked"
	o := f.options(t)
	if _, err := listOrgs(t, f.client(t, o)); !errors.Is(err, ErrAccountLocked) {
		t.Fatalf("error = %v", err)
	}
	f.authAnswer = ""
	clock.t = clock.t.Add(15*time.Minute + time.Second)
	if _, err := listOrgs(t, f.client(t, o)); err != nil {
		t.Fatalf("after the pause: %v", err)
	}
}

func TestSessionCacheCorruptIgnored(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	o := f.options(t)
	store := &sessionStore{dir: o.SessionCacheDir, key: accountKey(f.id.URL, testEmail)}
	if err := os.WriteFile(store.path(".json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := f.client(t, o)
	if _, err := listOrgs(t, c); err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	if sf := readSessionFile(t, c); sf.Cookies[sessionCookie] == "" {
		t.Errorf("corrupt file not replaced by a session")
	}
}

func TestSessionCacheExpiredIgnored(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	o := f.options(t)
	store := &sessionStore{dir: o.SessionCacheDir, key: accountKey(f.id.URL, testEmail)}
	f.mu.Lock()
	old := f.newToken()
	f.mu.Unlock()
	err := store.save(sessionFile{Cookies: map[string]string{sessionCookie: old},
		Created: t0.Add(-48 * time.Hour), Expires: t0.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	c := f.client(t, o)
	if _, err := listOrgs(t, c); err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	if f.signIns != 1 {
		t.Errorf("sign-ins = %d, want 1 (expired cache must not be used)", f.signIns)
	}
}

func TestSessionCacheGroupReadableRejected(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	o := f.options(t)
	store := &sessionStore{dir: o.SessionCacheDir, key: accountKey(f.id.URL, testEmail)}
	if err := store.save(sessionFile{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(store.path(".json"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := listOrgs(t, f.client(t, o))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Setting != "session_cache_path" {
		t.Fatalf("error = %v, want a session_cache_path ConfigError", err)
	}
	if !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("error does not give the fix: %v", err)
	}
	if len(f.recorded()) != 0 {
		t.Errorf("requests sent despite the unsafe cache: %d", len(f.recorded()))
	}
}

func TestSignInOnceForConcurrentClients(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	o := f.options(t)
	shared := f.client(t, o)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half share one client, half build their own.
			c := shared
			if i%2 == 1 {
				c = f.client(t, o)
			}
			_, errs[i] = listOrgs(t, c)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	if f.signIns != 1 || f.authCalls != 1 {
		t.Errorf("sign-ins = %d, authenticate calls = %d, want 1 and 1", f.signIns, f.authCalls)
	}
}

func TestSignInWaitsForOtherProcess(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	o := f.options(t)
	// The other process holds the account's lock, signs in and stores the
	// session, then releases the lock.
	other := &sessionStore{dir: o.SessionCacheDir, key: accountKey(f.id.URL, testEmail)}
	unlock, err := other.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	c := f.client(t, o)
	go func() {
		_, err := listOrgs(t, c)
		done <- err
	}()
	// Give the client time to reach the lock; the assertion below holds
	// either way, and this only makes the wait path likely.
	time.Sleep(100 * time.Millisecond)
	f.mu.Lock()
	tok := f.newToken()
	f.mu.Unlock()
	err = other.save(sessionFile{Cookies: map[string]string{sessionCookie: tok},
		Created: t0, Expires: t0.Add(time.Hour), LastTOTPStep: totpStep(t0)})
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	if f.authCalls != 0 {
		t.Errorf("authenticate calls = %d, want 0: the other process's session is in the cache",
			f.authCalls)
	}
}

func TestSignInLockWaitCancelled(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	o := f.options(t)
	other := &sessionStore{dir: o.SessionCacheDir, key: accountKey(f.id.URL, testEmail)}
	unlock, err := other.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = f.client(t, o).Orgs(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the context's deadline", err)
	}
}

func TestSessionRefreshKept(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c := f.client(t, f.options(t))
	if _, err := listOrgs(t, c); err != nil {
		t.Fatal(err)
	}
	first := readSessionFile(t, c).Cookies[sessionCookie]
	f.mu.Lock()
	f.refreshNext = true
	f.mu.Unlock()
	// The hub refreshes the cookie and drops the old one.
	if _, err := listOrgs(t, c); err != nil {
		t.Fatal(err)
	}
	second := readSessionFile(t, c).Cookies[sessionCookie]
	if second == "" || second == first {
		t.Fatalf("cache not updated with the refreshed cookie")
	}
	if _, err := listOrgs(t, c); err != nil {
		t.Fatalf("after refresh: %v", err)
	}
	if f.signIns != 1 {
		t.Errorf("sign-ins = %d, want 1", f.signIns)
	}
	reqs := f.recorded()
	last := reqs[len(reqs)-1]
	if !strings.Contains(last.Cookie, second) {
		t.Errorf("last request did not send the refreshed cookie")
	}
}

func TestSessionExpiryReSignInOnce(t *testing.T) {
	for _, mode := range []string{"401", "302", "html"} {
		t.Run(mode, func(t *testing.T) {
			f := newFakeAtlassian(t, newFakeClock(t0))
			f.expiredAnswer = mode
			c := f.client(t, f.options(t))
			if _, err := listOrgs(t, c); err != nil {
				t.Fatal(err)
			}
			// The hub drops every session, so one new sign-in is needed.
			f.mu.Lock()
			f.sessions = map[string]bool{}
			f.mu.Unlock()
			if _, err := listOrgs(t, c); err != nil {
				t.Fatalf("after expiry: %v", err)
			}
			if f.signIns != 2 {
				t.Errorf("sign-ins = %d, want 2", f.signIns)
			}
		})
	}
}

func TestSessionExpiryPersistentFails(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	f.rejectAllSessions = true
	c := f.client(t, f.options(t))
	_, err := listOrgs(t, c)
	if !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("error = %v, want ErrSessionExpired", err)
	}
	if f.signIns != 2 {
		t.Errorf("sign-ins = %d, want 2 (first and one renewal)", f.signIns)
	}
}

func TestPastedSessionToken(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	f.mu.Lock()
	tok := f.newToken()
	f.mu.Unlock()
	o := f.options(t)
	o.Password, o.TOTPSecret, o.SessionToken = "", "", tok
	c := f.client(t, o)
	if _, err := listOrgs(t, c); err != nil {
		t.Fatalf("Orgs: %v", err)
	}
	f.mu.Lock()
	f.sessions = map[string]bool{}
	f.mu.Unlock()
	_, err := listOrgs(t, c)
	if !errors.Is(err, ErrSessionExpired) || !strings.Contains(err.Error(), "session_token") {
		t.Fatalf("error = %v, want ErrSessionExpired asking for a new session_token", err)
	}
	for _, r := range f.recorded() {
		if r.Server == "identity" {
			t.Fatalf("a pasted session must not sign in")
		}
	}
	entries, _ := os.ReadDir(o.SessionCacheDir)
	if len(entries) != 0 {
		t.Errorf("a pasted session was written to the cache: %v", entries)
	}
}

func TestTraceHasNoSecrets(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	var mu sync.Mutex
	var events []TraceEvent
	o := f.options(t)
	o.Trace = func(ev TraceEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}
	o.APIToken = testAPIToken
	var logs strings.Builder
	o.Logger = &recordLogger{b: &logs}
	c := f.client(t, o)
	if err := c.Probe(context.Background()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	f.mu.Lock()
	f.refreshNext = true
	f.mu.Unlock()
	if _, err := listOrgs(t, c); err != nil {
		t.Fatal(err)
	}
	dump, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{testPassword, testSecret, testAPIToken, testXSRF, testMFAToken,
		"eyJhbGciOiJIUzI1NiJ9", testEmail, "ann@example.com"}
	for s := range f.usedSteps {
		code, _ := GenerateCode(testSecret, time.Unix(s*30, 0))
		secrets = append(secrets, `"`+code+`"`)
	}
	for _, s := range secrets {
		if strings.Contains(string(dump), s) {
			t.Errorf("trace dump contains %q", s)
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs contain %q", s)
		}
	}
	routesSeen := map[string]bool{}
	for _, ev := range events {
		routesSeen[ev.Route] = true
	}
	for _, r := range []string{"signin_login", "signin_check_username", "signin_authenticate",
		"signin_verify", "orgs", "directories", "workspaces", "users_search",
		"last_active_dates", "groups_search", "tenant_info", "system_info", "licensed_users",
		"site_groups", "group_members"} {
		if !routesSeen[r] {
			t.Errorf("no trace event for route %s", r)
		}
	}
	// Names and shapes are there.
	var verify, users TraceEvent
	for _, ev := range events {
		switch ev.Route {
		case "signin_verify":
			verify = ev
		case "users_search":
			users = ev
		}
	}
	if strings.Join(verify.FormFields, ",") != "code,csrfToken,mfaToken" {
		t.Errorf("verify form fields = %v", verify.FormFields)
	}
	if strings.Join(verify.SetCookies, ",") != sessionCookie {
		t.Errorf("verify set-cookies = %v", verify.SetCookies)
	}
	if users.Path != "/gateway/api/admin/v2/orgs/{orgId}/directories/-/users/search" {
		t.Errorf("users path = %q", users.Path)
	}
	if !strings.Contains(string(users.Skeleton), `"accountId":"string"`) {
		t.Errorf("users skeleton = %s", users.Skeleton)
	}
	if strings.Join(users.RequestCookies, ",") != sessionCookie {
		t.Errorf("users request cookies = %v", users.RequestCookies)
	}
}

// recordLogger keeps every log line with its key-value pairs.
type recordLogger struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (l *recordLogger) add(level, msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(level + " " + msg)
	for _, a := range args {
		l.b.WriteString(" ")
		l.b.WriteString(fmt.Sprint(a))
	}
	l.b.WriteString("\n")
}

func (l *recordLogger) Trace(msg string, args ...any) { l.add("TRACE", msg, args...) }
func (l *recordLogger) Debug(msg string, args ...any) { l.add("DEBUG", msg, args...) }
func (l *recordLogger) Info(msg string, args ...any)  { l.add("INFO", msg, args...) }
func (l *recordLogger) Warn(msg string, args ...any)  { l.add("WARN", msg, args...) }
func (l *recordLogger) Error(msg string, args ...any) { l.add("ERROR", msg, args...) }
