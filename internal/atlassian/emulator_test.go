package atlassian_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// These tests drive the client against the bundled emulator, so that the
// sign-in state machine and the emulator's copy of the wire format are
// checked against each other, not only against hand-written fakes.

func startEmulator(t *testing.T, users int) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.New(emulator.Options{
		Users: users,
		Seed:  5,
		Now:   time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatalf("create emulator: %v", err)
	}
	if err := emu.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// sessionClient builds a client for one account of the emulator, with a
// session cache of its own.
func sessionClient(t *testing.T, info emulator.Info, email, password string) *atlassian.Client {
	t.Helper()
	c, err := atlassian.NewClient(atlassian.Options{
		IdentityURL:     info.IdentityURL,
		AdminHubURL:     info.AdminHubURL,
		AdminAPIURL:     info.AdminAPIURL,
		Email:           email,
		Password:        password,
		TOTPSecret:      info.TOTPSecret,
		SessionCacheDir: t.TempDir(),
		// The shared limiters have tests of their own in limits_test.go.
		OrgRequestsPerMinute:  atlassian.NoLimit,
		SiteRequestsPerMinute: atlassian.NoLimit,
	})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestEmulatorSignInDeadEnds(t *testing.T) {
	emu := startEmulator(t, 20)
	info := emu.Info()
	cases := []struct {
		kind   string
		want   error
		paused bool
	}{
		{emulator.DeadEndSSO, atlassian.ErrSSORedirect, false},
		{emulator.DeadEndEmailCode, atlassian.ErrEmailCodeRequired, true},
		{emulator.DeadEndLocked, atlassian.ErrAccountLocked, true},
		{emulator.DeadEndCaptcha, atlassian.ErrBotCheck, true},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			c := sessionClient(t, info, info.DeadEndAccounts[tc.kind], info.Password)
			ctx := testContext(t)
			_, err := c.Orgs(ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("first call: error %v, want %v", err, tc.want)
			}
			attempts := emu.Counts().SignInAttempts
			_, err = c.Orgs(ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("second call: error %v, want %v", err, tc.want)
			}
			var paused *atlassian.PausedError
			if got := errors.As(err, &paused); got != tc.paused {
				t.Errorf("second call paused = %v, want %v", got, tc.paused)
			}
			if tc.paused && emu.Counts().SignInAttempts != attempts {
				t.Errorf("a paused account was tried again: %d attempts, want %d",
					emu.Counts().SignInAttempts, attempts)
			}
		})
	}
}

func TestEmulatorAccountWithoutTwoStepSignsIn(t *testing.T) {
	emu := startEmulator(t, 20)
	info := emu.Info()
	c := sessionClient(t, info, info.DeadEndAccounts[emulator.DeadEndNoMFA], info.Password)
	orgs, err := c.Orgs(testContext(t))
	if err != nil {
		t.Fatalf("orgs: %v", err)
	}
	if len(orgs) != 1 || orgs[0].ID != info.OrgID {
		t.Errorf("orgs = %+v, want the one org %s", orgs, info.OrgID)
	}
	if got := emu.Counts().SignIns; got != 1 {
		t.Errorf("sign-ins = %d, want 1", got)
	}
}

func TestEmulatorWrongPasswordPausesAccount(t *testing.T) {
	emu := startEmulator(t, 20)
	info := emu.Info()
	c := sessionClient(t, info, info.Email, "wrong-"+info.Password)
	ctx := testContext(t)
	if _, err := c.Orgs(ctx); !errors.Is(err, atlassian.ErrWrongPassword) {
		t.Fatalf("error %v, want ErrWrongPassword", err)
	}
	for i := 0; i < 3; i++ {
		_, err := c.Orgs(ctx)
		var paused *atlassian.PausedError
		if !errors.As(err, &paused) {
			t.Fatalf("call %d: error %v, want a pause", i+2, err)
		}
		if until := time.Until(paused.Until); until < 14*time.Minute || until > 15*time.Minute {
			t.Errorf("pause ends in %s, want about 15 minutes", until)
		}
	}
	if got := emu.Counts().SignInAttempts; got != 1 {
		t.Errorf("password attempts = %d, want 1", got)
	}
}

func TestEmulatorWrongSecretRejectsCodeOnceMore(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the next 30 s TOTP step")
	}
	emu := startEmulator(t, 20)
	info := emu.Info()
	c, err := atlassian.NewClient(atlassian.Options{
		IdentityURL:     info.IdentityURL,
		AdminHubURL:     info.AdminHubURL,
		AdminAPIURL:     info.AdminAPIURL,
		Email:           info.Email,
		Password:        info.Password,
		TOTPSecret:      "JBSWY3DPEHPK3PXP", // a valid secret, not the account's
		SessionCacheDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	if _, err := c.Orgs(testContext(t)); !errors.Is(err, atlassian.ErrCodeRejected) {
		t.Fatalf("error %v, want ErrCodeRejected", err)
	}
	if got := emu.Counts().CodesRejected; got != 2 {
		t.Errorf("codes rejected = %d, want 2 (the first code and one retry)", got)
	}
}

// TestEmulatorSessionExpiryMidScan expires every session after the first
// page of a user search: the client signs in again once and the scan
// returns every user exactly once.
func TestEmulatorSessionExpiryMidScan(t *testing.T) {
	for _, style := range []string{emulator.ExpiryUnauthorized, emulator.ExpiryRedirect, "html"} {
		t.Run(style, func(t *testing.T) {
			t.Parallel()
			emu := startEmulator(t, 600)
			info := emu.Info()
			// The account without two-step verification signs in again
			// without waiting for a fresh TOTP step.
			c := sessionClient(t, info, info.DeadEndAccounts[emulator.DeadEndNoMFA], info.Password)
			seen := map[string]int{}
			expired := false
			err := c.SearchUsers(testContext(t), info.OrgID, atlassian.UserSearch{PageSize: 100},
				func(u atlassian.User) bool {
					seen[u.AccountID]++
					if len(seen) == 150 && !expired {
						expired = true
						emu.SetFaults(emulator.Faults{ExpireSessions: true, ExpiryStyle: style})
					}
					return true
				})
			if err != nil {
				t.Fatalf("search users: %v", err)
			}
			want := len(emu.Org().Users)
			if len(seen) != want {
				t.Errorf("distinct users = %d, want %d", len(seen), want)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("user %s seen %d times", id, n)
				}
			}
			if got := emu.Counts().SignIns; got != 2 {
				t.Errorf("sign-ins = %d, want 2 (one more after expiry)", got)
			}
		})
	}
}

func TestEmulatorUnrecognisedSignInAnswer(t *testing.T) {
	emu := startEmulator(t, 20)
	info := emu.Info()
	// The login page and the user name check both return an HTML page, so
	// the flow gets a response to the check that it does not recognise.
	emu.SetFaults(emulator.Faults{Route: emulator.RouteIdentity, HTML: 2})
	c := sessionClient(t, info, info.Email, info.Password)
	_, err := c.Orgs(testContext(t))
	if !errors.Is(err, atlassian.ErrUnrecognisedAnswer) {
		t.Fatalf("error %v, want ErrUnrecognisedAnswer", err)
	}
	if got := emu.Counts().SignInAttempts; got > 1 {
		t.Errorf("password sent %d times after an unrecognised answer, want at most 1", got)
	}
}

func TestEmulatorOddLoginPageDoesNotPause(t *testing.T) {
	emu := startEmulator(t, 20)
	info := emu.Info()
	// Only the login page fails, before any credential is sent.
	emu.SetFaults(emulator.Faults{Route: emulator.RouteLogin, HTML: 1, HTMLStatus: 404})
	c := sessionClient(t, info, info.Email, info.Password)
	ctx := testContext(t)
	_, err := c.Orgs(ctx)
	var signIn *atlassian.SignInError
	if !errors.As(err, &signIn) {
		t.Fatalf("error %v, want a SignInError", err)
	}
	if signIn.PasswordSent {
		t.Errorf("PasswordSent = true for a failure at the login page")
	}
	var paused *atlassian.PausedError
	if errors.As(err, &paused) {
		t.Fatalf("an odd login page paused the account: %v", err)
	}
	if _, err := c.Orgs(ctx); err != nil {
		t.Fatalf("second call after the fault cleared: %v", err)
	}
	if got := emu.Counts().SignIns; got != 1 {
		t.Errorf("sign-ins = %d, want 1", got)
	}
}

func TestSharedWritableCacheDirRejected(t *testing.T) {
	emu := startEmulator(t, 20)
	info := emu.Info()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	c, err := atlassian.NewClient(atlassian.Options{
		IdentityURL: info.IdentityURL, AdminHubURL: info.AdminHubURL, AdminAPIURL: info.AdminAPIURL,
		Email: info.Email, Password: info.Password, TOTPSecret: info.TOTPSecret,
		SessionCacheDir: dir,
	})
	if err == nil {
		_, err = c.Orgs(testContext(t))
	}
	var ce *atlassian.ConfigError
	if !errors.As(err, &ce) || ce.Setting != "session_cache_path" {
		t.Fatalf("error %v, want a session_cache_path error", err)
	}
	if got := emu.Counts().SignInAttempts; got != 0 {
		t.Errorf("sign-in attempts = %d, want 0 before the directory is fixed", got)
	}
}
