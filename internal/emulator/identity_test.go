package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestSignInFlow(t *testing.T) {
	e := startEmulator(t, Options{Users: 50})
	before := time.Now().Unix()
	token, _ := signIn(t, e)

	claims := decodeClaims(t, token)
	if claims["sub"] != e.Org().Admin.AccountID {
		t.Errorf("sub %v, want admin %s", claims["sub"], e.Org().Admin.AccountID)
	}
	created, _ := claims["created"].(float64)
	refresh, _ := claims["refreshTimeout"].(float64)
	if int64(created) < before || int64(created) > time.Now().Unix() {
		t.Errorf("created %v is not the sign-in time", claims["created"])
	}
	if int64(refresh)-int64(created) != int64(DefaultSessionRefreshAfter/time.Second) {
		t.Errorf("refreshTimeout %v, want created + 600", claims["refreshTimeout"])
	}
	if id, _ := claims["sessionId"].(string); id == "" {
		t.Error("sessionId claim missing")
	}

	a := do(t, request{url: adminHub(e, "/admin/v1/orgs"), session: token})
	if a.status != http.StatusOK {
		t.Errorf("admin hub with session: status %d", a.status)
	}
	c := e.Counts()
	if c.SignIns != 1 || c.SignInAttempts != 1 || c.CodesRejected != 0 {
		t.Errorf("counts %+v, want 1 sign-in, 1 attempt, 0 codes rejected", c)
	}
	for _, key := range []string{RouteLogin, RouteCheckUsername, RouteAuthenticate, RouteMFAVerify} {
		if c.Requests[key] != 1 {
			t.Errorf("requests[%s] = %d, want 1", key, c.Requests[key])
		}
	}
}

func TestSignInCodeReuseRejected(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	_, code := signIn(t, e)
	info := e.Info()
	f := startSignIn(t, e)
	m := f.authenticate(info.Email, info.Password).object(t)
	a := f.verify(m["mfaToken"].(string), code)
	if a.status != http.StatusUnauthorized || a.object(t)["errorCode"] != "invalid_otp" {
		t.Errorf("reused code: status %d body %s, want 401 invalid_otp", a.status, a.body)
	}
	if got := e.Counts().CodesRejected; got != 1 {
		t.Errorf("codes rejected %d, want 1", got)
	}
	if got := e.Counts().SignIns; got != 1 {
		t.Errorf("sign-ins %d, want 1", got)
	}
}

func TestSignInWrongCodeAndPassword(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	info := e.Info()
	f := startSignIn(t, e)
	a := f.authenticate(info.Email, info.Password+"x")
	if a.status != http.StatusUnauthorized || a.object(t)["errorCode"] != "invalid_credentials" {
		t.Errorf("wrong password: status %d body %s", a.status, a.body)
	}
	a = f.authenticate("nobody@unknown.example", info.Password)
	if a.status != http.StatusUnauthorized || a.object(t)["errorCode"] != "invalid_credentials" {
		t.Errorf("unknown account: status %d body %s", a.status, a.body)
	}
	m := f.authenticate(info.Email, info.Password).object(t)
	good, err := totp.GenerateCode(info.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if good == wrong {
		wrong = "111111"
	}
	a = f.verify(m["mfaToken"].(string), wrong)
	if a.status != http.StatusUnauthorized || a.object(t)["errorCode"] != "invalid_otp" {
		t.Errorf("wrong code: status %d body %s", a.status, a.body)
	}
	a = f.verify("not-a-token", good)
	if a.status != http.StatusUnauthorized {
		t.Errorf("unknown mfaToken: status %d", a.status)
	}
	// The wrong tries above do not lock the account: 2 < 5.
	a = f.verify(m["mfaToken"].(string), good)
	if a.status != http.StatusOK || cookieValue(a, sessionCookie) == "" {
		t.Errorf("good code after a wrong one: status %d body %s", a.status, a.body)
	}
	if c := e.Counts(); c.SignInAttempts != 3 || c.CodesRejected != 1 {
		t.Errorf("counts %+v, want 3 attempts and 1 code rejected", c)
	}
}

func TestSignInLockout(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	info := e.Info()
	f := startSignIn(t, e)
	for i := 0; i < maxFailures; i++ {
		if a := f.authenticate(info.Email, "wrong"); a.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d", i+1, a.status)
		}
	}
	a := f.authenticate(info.Email, info.Password)
	if a.status != http.StatusForbidden || a.object(t)["errorCode"] != "account_locked" {
		t.Errorf("after 5 wrong passwords: status %d body %s, want 403 account_locked", a.status, a.body)
	}
}

func TestSignInLockoutByCodes(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	info := e.Info()
	f := startSignIn(t, e)
	m := f.authenticate(info.Email, info.Password).object(t)
	token := m["mfaToken"].(string)
	for i := 0; i < maxFailures; i++ {
		if a := f.verify(token, "12345x"); a.status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: status %d", i+1, a.status)
		}
	}
	code, _ := totp.GenerateCode(info.TOTPSecret, time.Now())
	a := f.verify(token, code)
	if a.status != http.StatusForbidden || a.object(t)["errorCode"] != "account_locked" {
		t.Errorf("after 5 wrong codes: status %d body %s, want 403 account_locked", a.status, a.body)
	}
	if got := e.Counts().CodesRejected; got != maxFailures {
		t.Errorf("codes rejected %d, want %d", got, maxFailures)
	}
}

func TestSignInDeadEnds(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	info := e.Info()
	if len(info.DeadEndAccounts) != len(DeadEndKinds) {
		t.Fatalf("dead-end accounts %v, want %v", info.DeadEndAccounts, DeadEndKinds)
	}

	f := startSignIn(t, e)
	a := f.checkUsername(info.DeadEndAccounts[DeadEndSSO])
	m := a.object(t)
	if a.status != 200 || m["action"] != "redirect" || m["redirect_uri"] == "" {
		t.Errorf("sso check-username: status %d body %s", a.status, a.body)
	}
	if uri, _ := m["redirect_uri"].(string); !strings.HasPrefix(uri, "http://127.0.0.1:") {
		t.Errorf("sso redirect_uri %q leaves loopback", uri)
	}

	for _, kind := range []string{DeadEndEmailCode, DeadEndLocked, DeadEndCaptcha, DeadEndNoMFA} {
		email := info.DeadEndAccounts[kind]
		if a := f.checkUsername(email); a.object(t)["action"] != "password" {
			t.Errorf("%s check-username: body %s, want action password", kind, a.body)
		}
	}
	a = f.authenticate(info.DeadEndAccounts[DeadEndEmailCode], info.Password)
	if m := a.object(t); a.status != 200 || m["step"] != "mfa" || m["mfaType"] != "email" {
		t.Errorf("email_code: status %d body %s", a.status, a.body)
	}
	a = f.authenticate(info.DeadEndAccounts[DeadEndLocked], info.Password)
	if a.status != http.StatusForbidden || a.object(t)["errorCode"] != "account_locked" {
		t.Errorf("locked: status %d body %s", a.status, a.body)
	}
	a = f.authenticate(info.DeadEndAccounts[DeadEndCaptcha], info.Password)
	if a.status != http.StatusForbidden || a.object(t)["errorCode"] != "captcha_required" {
		t.Errorf("captcha: status %d body %s", a.status, a.body)
	}
	a = f.authenticate(info.DeadEndAccounts[DeadEndNoMFA], info.Password)
	m = a.object(t)
	if a.status != 200 || m["step"] != "done" || m["redirect_uri"] == "" {
		t.Errorf("no_mfa: status %d body %s", a.status, a.body)
	}
	token := cookieValue(a, sessionCookie)
	if token == "" {
		t.Fatal("no_mfa set no session cookie")
	}
	if decodeClaims(t, token)["sub"] != e.Org().DeadEnds[DeadEndNoMFA].AccountID {
		t.Error("no_mfa session is not for the no_mfa account")
	}
	if got := e.Counts().SignIns; got != 1 {
		t.Errorf("sign-ins %d, want 1 (no_mfa only)", got)
	}
}

func TestSignInRequiresCSRF(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	info := e.Info()
	for _, csrf := range []string{"", "forged"} {
		a := do(t, request{method: "POST", url: info.IdentityURL + "/rest/authenticate",
			body: map[string]string{"username": info.Email, "password": info.Password, "csrfToken": csrf}})
		if a.status != http.StatusForbidden {
			t.Errorf("csrfToken %q: status %d, want 403", csrf, a.status)
		}
	}
	if a := do(t, request{url: info.IdentityURL + "/rest/authenticate"}); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET authenticate: status %d, want 405", a.status)
	}
	if a := do(t, request{url: info.IdentityURL + "/nowhere"}); a.status != http.StatusNotFound {
		t.Errorf("unknown identity path: status %d, want 404", a.status)
	}
}

func TestSessionRefresh(t *testing.T) {
	// 1 ns puts refreshTimeout at the creation second, so the first response refreshes.
	e := startEmulator(t, Options{Users: 20, SessionRefreshAfter: time.Nanosecond})
	token := noMFASession(t, e)
	site := e.Org().Sites[siteStandard]

	for _, url := range []string{adminHub(e, "/admin/v1/orgs"), site.URL + "/wiki/rest/api/settings/systemInfo"} {
		a := do(t, request{url: url, session: token})
		if a.status != http.StatusOK {
			t.Fatalf("%s: status %d", url, a.status)
		}
		fresh := cookieValue(a, sessionCookie)
		if fresh == "" || fresh == token {
			t.Fatalf("%s: no refreshed session cookie", url)
		}
		old, now := decodeClaims(t, token), decodeClaims(t, fresh)
		if old["sessionId"] != now["sessionId"] || old["sub"] != now["sub"] {
			t.Errorf("%s: refreshed token changed session or account", url)
		}
		if a := do(t, request{url: url, session: fresh}); a.status != http.StatusOK {
			t.Errorf("%s: refreshed token rejected: %d", url, a.status)
		}
	}
	// The old token stays valid.
	if a := do(t, request{url: adminHub(e, "/admin/v1/orgs"), session: token}); a.status != 200 {
		t.Errorf("old token after refresh: status %d", a.status)
	}
}

func TestSessionNoRefreshBeforeTimeout(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	token := noMFASession(t, e)
	a := do(t, request{url: adminHub(e, "/admin/v1/orgs"), session: token})
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	if v := cookieValue(a, sessionCookie); v != "" {
		t.Error("fresh session got a refreshed cookie before refreshTimeout")
	}
}

func TestSessionForgedRejected(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	token := noMFASession(t, e)
	parts := strings.Split(token, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	if a := do(t, request{url: adminHub(e, "/admin/v1/orgs"), session: forged}); a.status != 401 {
		t.Errorf("forged signature: status %d, want 401", a.status)
	}
	other := startEmulator(t, Options{Users: 20})
	if a := do(t, request{url: adminHub(other, "/admin/v1/orgs"), session: token}); a.status != 401 {
		t.Errorf("token of another emulator: status %d, want 401", a.status)
	}
}
