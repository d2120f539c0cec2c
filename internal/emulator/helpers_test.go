package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// testNow is the fixed data clock of the tests.
var testNow = time.Date(2025, 6, 2, 9, 30, 0, 0, time.UTC)

// startEmulator starts an emulator on loopback and closes it when the
// test ends.
func startEmulator(t *testing.T, opts Options) *Emulator {
	t.Helper()
	if opts.Users == 0 {
		opts.Users = 300
	}
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := e.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// httpClient follows no redirect and keeps no cookie, so that each test
// sends exactly the credentials it means to.
var httpClient = &http.Client{
	Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// request is one test request.
type request struct {
	method  string
	url     string
	body    any
	bearer  string
	basic   [2]string
	session string
	cookies []*http.Cookie
}

// answer is a response with its body read.
type answer struct {
	status int
	header http.Header
	body   []byte
	resp   *http.Response
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d is not JSON (%v): %.200s", a.status, err, a.body)
	}
}

func (a answer) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	a.json(t, &m)
	return m
}

func do(t *testing.T, req request) answer {
	t.Helper()
	var body io.Reader
	if req.body != nil {
		raw, ok := req.body.(string)
		if !ok {
			b, err := json.Marshal(req.body)
			if err != nil {
				t.Fatalf("encode body: %v", err)
			}
			raw = string(b)
		}
		body = strings.NewReader(raw)
	}
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequest(method, req.url, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, req.url, err)
	}
	if req.body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+req.bearer)
	}
	if req.basic[0] != "" {
		r.SetBasicAuth(req.basic[0], req.basic[1])
	}
	if req.session != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: req.session})
	}
	for _, c := range req.cookies {
		r.AddCookie(c)
	}
	resp, err := httpClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, req.url, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b, resp: resp}
}

func cookieValue(a answer, name string) string {
	for _, c := range a.resp.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signInFlow holds the state of one sign-in through the identity host.
type signInFlow struct {
	t    *testing.T
	e    *Emulator
	xsrf string
}

func startSignIn(t *testing.T, e *Emulator) *signInFlow {
	t.Helper()
	info := e.Info()
	a := do(t, request{url: info.IdentityURL + "/login?" + url.Values{
		"continue": {info.AdminHubURL + "/"}, "application": {"admin"}}.Encode()})
	if a.status != http.StatusOK {
		t.Fatalf("login page: status %d", a.status)
	}
	xsrf := cookieValue(a, xsrfCookie)
	if xsrf == "" {
		t.Fatal("login page set no xsrf cookie")
	}
	return &signInFlow{t: t, e: e, xsrf: xsrf}
}

func (f *signInFlow) post(path string, body map[string]string) answer {
	f.t.Helper()
	body["csrfToken"] = f.xsrf
	return do(f.t, request{method: "POST", url: f.e.Info().IdentityURL + path, body: body,
		cookies: []*http.Cookie{{Name: xsrfCookie, Value: f.xsrf}}})
}

func (f *signInFlow) checkUsername(email string) answer {
	return f.post("/rest/check-username", map[string]string{"username": email})
}

func (f *signInFlow) authenticate(email, password string) answer {
	return f.post("/rest/authenticate", map[string]string{"username": email, "password": password})
}

func (f *signInFlow) verify(mfaToken, code string) answer {
	return f.post("/rest/mfa/verify", map[string]string{"mfaToken": mfaToken, "code": code})
}

// signIn runs the four steps for the admin and returns the session token
// and the code it used.
func signIn(t *testing.T, e *Emulator) (string, string) {
	t.Helper()
	info := e.Info()
	f := startSignIn(t, e)
	if a := f.checkUsername(info.Email); a.status != 200 || a.object(t)["action"] != "password" {
		t.Fatalf("check-username: status %d body %s", a.status, a.body)
	}
	a := f.authenticate(info.Email, info.Password)
	m := a.object(t)
	if a.status != 200 || m["step"] != "mfa" || m["mfaType"] != "totp" {
		t.Fatalf("authenticate: status %d body %s", a.status, a.body)
	}
	code, err := totp.GenerateCode(info.TOTPSecret, time.Now())
	if err != nil {
		t.Fatalf("generate code: %v", err)
	}
	v := f.verify(m["mfaToken"].(string), code)
	if v.status != 200 || v.object(t)["step"] != "done" {
		t.Fatalf("mfa verify: status %d body %s", v.status, v.body)
	}
	token := cookieValue(v, sessionCookie)
	if token == "" {
		t.Fatal("mfa verify set no session cookie")
	}
	return token, code
}

// noMFASession signs in with the dead-end account without two-step
// verification, which gives a session without using a TOTP code.
func noMFASession(t *testing.T, e *Emulator) string {
	t.Helper()
	info := e.Info()
	f := startSignIn(t, e)
	a := f.authenticate(info.DeadEndAccounts[DeadEndNoMFA], info.Password)
	if a.status != 200 {
		t.Fatalf("authenticate no_mfa: status %d body %s", a.status, a.body)
	}
	token := cookieValue(a, sessionCookie)
	if token == "" {
		t.Fatal("no_mfa authenticate set no session cookie")
	}
	return token
}

// decodeClaims returns the claims of a session token.
func decodeClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("session token has %d parts, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("claims are not base64url: %v", err)
	}
	var claims map[string]any
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&claims); err != nil {
		t.Fatalf("claims are not JSON: %v", err)
	}
	return claims
}

func adminAPI(e *Emulator, path string) string { return e.Info().AdminAPIURL + path }

func adminHub(e *Emulator, path string) string {
	return e.Info().AdminHubURL + adminGatewayPrefix + path
}

// searchAllUsers pages the v2 user search with body until links.next is
// absent and returns every account id in order and the page sizes.
func searchAllUsers(t *testing.T, e *Emulator, body map[string]any) ([]string, []int) {
	t.Helper()
	var ids []string
	var sizes []int
	path := "/admin/v2/orgs/" + e.Org().ID + "/directories/-/users/search"
	for page := 0; page < 5000; page++ {
		a := do(t, request{method: "POST", url: adminAPI(e, path), body: body, bearer: e.Info().APIKey})
		if a.status != 200 {
			t.Fatalf("users search page %d: status %d body %s", page, a.status, a.body)
		}
		var res struct {
			Data []struct {
				AccountID string `json:"accountId"`
			} `json:"data"`
			Links struct {
				Next *string `json:"next"`
			} `json:"links"`
		}
		a.json(t, &res)
		sizes = append(sizes, len(res.Data))
		for _, u := range res.Data {
			ids = append(ids, u.AccountID)
		}
		if res.Links.Next == nil {
			return ids, sizes
		}
		next := map[string]any{}
		for k, v := range body {
			next[k] = v
		}
		next["cursor"] = *res.Links.Next
		body = next
	}
	t.Fatal("users search did not end within 5000 pages")
	return nil, nil
}
