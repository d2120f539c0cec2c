package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func orgsRequest(e *Emulator) request {
	return request{url: adminAPI(e, "/admin/v1/orgs"), bearer: e.Info().APIKey}
}

func TestFaultRateLimited(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	cases := []struct {
		form   string
		header string
		check  func(string) bool
	}{
		{"", "Retry-After", func(v string) bool { return v == "" }},
		{"seconds:7", "Retry-After", func(v string) bool { return v == "7" }},
		{"zero", "Retry-After", func(v string) bool { return v == "0" }},
		{"huge", "Retry-After", func(v string) bool { return v == "86400" }},
		{"date", "Retry-After", func(v string) bool {
			d, err := http.ParseTime(v)
			ahead := time.Until(d)
			return err == nil && ahead > -time.Second && ahead <= 3*time.Second
		}},
		{"reset", "X-RateLimit-Reset", func(v string) bool {
			d, err := time.Parse("2006-01-02T15:04Z", v)
			return err == nil && time.Until(d) > -time.Second && time.Until(d) <= time.Minute
		}},
	}
	for _, c := range cases {
		e.SetFaults(Faults{RateLimited: 2, RetryAfter: c.form})
		for i := 0; i < 2; i++ {
			a := do(t, orgsRequest(e))
			if a.status != http.StatusTooManyRequests || a.object(t)["code"] != float64(429) {
				t.Errorf("%q request %d: status %d body %s, want 429 JSON", c.form, i, a.status, a.body)
			}
			if v := a.header.Get(c.header); !c.check(v) {
				t.Errorf("%q: %s %q", c.form, c.header, v)
			}
			if c.form == "reset" && a.header.Get("Retry-After") != "" {
				t.Error("reset form also sent Retry-After")
			}
		}
		if a := do(t, orgsRequest(e)); a.status != 200 {
			t.Errorf("%q: third request status %d, want 200 after 2 faults", c.form, a.status)
		}
	}
}

func TestFaultRoute(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	e.SetFaults(Faults{Route: RouteWorkspaces, ServerErrors: 5})
	if a := do(t, orgsRequest(e)); a.status != 200 {
		t.Errorf("orgs with a workspaces fault: status %d", a.status)
	}
	ws := request{method: "POST", url: adminAPI(e, "/admin/v2/orgs/"+e.Org().ID+"/workspaces"),
		body: "{}", bearer: e.Info().APIKey}
	if a := do(t, ws); a.status != http.StatusServiceUnavailable || a.object(t)["code"] != float64(503) {
		t.Errorf("workspaces: status %d body %s, want 503 JSON", a.status, a.body)
	}

	// Route "" spares the sign-in flow.
	e.SetFaults(Faults{RateLimited: 10})
	token, _ := signIn(t, e)
	if token == "" {
		t.Fatal("no session")
	}
	if got := e.Faults().RateLimited; got != 10 {
		t.Errorf("sign-in used %d rate-limit faults, want 0", 10-got)
	}

	// Route "identity" hits the sign-in flow only.
	e.SetFaults(Faults{Route: RouteIdentity, RateLimited: 1, RetryAfter: "seconds:1"})
	if a := do(t, orgsRequest(e)); a.status != 200 {
		t.Errorf("orgs with an identity fault: status %d", a.status)
	}
	a := do(t, request{url: e.Info().IdentityURL + "/login"})
	if a.status != http.StatusTooManyRequests {
		t.Errorf("login with an identity fault: status %d, want 429", a.status)
	}
}

func TestFaultOrder(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	e.SetFaults(Faults{RateLimited: 1, ServerErrors: 1, HTML: 1})
	var got []int
	for i := 0; i < 4; i++ {
		got = append(got, do(t, orgsRequest(e)).status)
	}
	want := []int{429, 503, 200, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("statuses %v, want %v", got, want)
			break
		}
	}
}

func TestFaultHTML(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	for _, status := range []int{0, 502} {
		e.SetFaults(Faults{HTML: 1, HTMLStatus: status})
		a := do(t, orgsRequest(e))
		want := status
		if want == 0 {
			want = 200
		}
		if a.status != want || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(a.body), "<html") {
			t.Errorf("html status %d: got %d %s", status, a.status, a.header.Get("Content-Type"))
		}
		if a := do(t, orgsRequest(e)); !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			t.Errorf("html status %d: the answer after the fault is not JSON", status)
		}
	}
}

func TestFaultSlow(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	const delay = 150 * time.Millisecond
	e.SetFaults(Faults{Slow: delay})
	start := time.Now()
	a := do(t, orgsRequest(e))
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("answer took %s, want at least %s", elapsed, delay)
	}
}

func TestFaultExpireSessions(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	site := e.Org().Sites[sitePremium]
	for _, style := range []string{"", ExpiryUnauthorized, ExpiryRedirect, ExpiryHTML} {
		token := noMFASession(t, e)
		e.SetFaults(Faults{ExpireSessions: true, ExpiryStyle: style})
		for _, u := range []string{adminHub(e, "/admin/v1/orgs"), site.URL + "/wiki/rest/api/group"} {
			a := do(t, request{url: u, session: token})
			switch style {
			case ExpiryRedirect:
				loc := a.header.Get("Location")
				if a.status != http.StatusFound || !strings.HasPrefix(loc, e.Info().IdentityURL+"/login?") {
					t.Errorf("%s %s: status %d Location %q", style, u, a.status, loc)
				}
			case ExpiryHTML:
				if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
					t.Errorf("%s %s: status %d type %s", style, u, a.status, a.header.Get("Content-Type"))
				}
			default:
				if a.status != 401 || a.object(t)["code"] != float64(401) {
					t.Errorf("%q %s: status %d body %s", style, u, a.status, a.body)
				}
			}
		}
		// A session issued after the fault works.
		if a := do(t, request{url: adminHub(e, "/admin/v1/orgs"), session: noMFASession(t, e)}); a.status != 200 {
			t.Errorf("%q: new session status %d", style, a.status)
		}
	}
}

func TestFaultBotCheck(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	e.SetFaults(Faults{BotCheck: true})
	info := e.Info()
	f := startSignIn(t, e)
	for _, email := range []string{info.Email, info.DeadEndAccounts[DeadEndNoMFA]} {
		a := f.authenticate(email, info.Password)
		if a.status != http.StatusForbidden || a.object(t)["errorCode"] != "captcha_required" {
			t.Errorf("%s: status %d body %s, want 403 captcha_required", email, a.status, a.body)
		}
	}
	e.SetFaults(Faults{})
	if a := f.authenticate(info.Email, info.Password); a.status != 200 {
		t.Errorf("after clearing faults: status %d", a.status)
	}
}

func TestFaultsEndpoint(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	control := e.Info().URL + controlFaultsPath
	a := do(t, request{method: "POST", url: control,
		body: `{"route":"orgs","rate_limited":1,"retry_after":"seconds:3","slow":"20ms"}`})
	if a.status != 200 {
		t.Fatalf("POST faults: status %d body %s", a.status, a.body)
	}
	f := e.Faults()
	if f.Route != RouteOrgs || f.RateLimited != 1 || f.RetryAfter != "seconds:3" || f.Slow != 20*time.Millisecond {
		t.Errorf("faults %+v", f)
	}
	if a := do(t, orgsRequest(e)); a.status != 429 || a.header.Get("Retry-After") != "3" {
		t.Errorf("orgs: status %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}

	a = do(t, request{url: control})
	var got Faults
	if err := json.Unmarshal(a.body, &got); err != nil || got.Slow != 20*time.Millisecond || got.RateLimited != 0 {
		t.Errorf("GET faults: %s (%v)", a.body, err)
	}

	a = do(t, request{method: "POST", url: control, body: `{"slow":` + strconv.Itoa(int(time.Millisecond)) + `}`})
	if a.status != 200 || e.Faults().Slow != time.Millisecond {
		t.Errorf("slow as nanoseconds: status %d, slow %s", a.status, e.Faults().Slow)
	}
	for _, body := range []string{`{"retry_after":"soon"}`, `{"route":"nowhere"}`, `{"slow":"fast"}`,
		`{"expiry_style":"teapot"}`, `{"rate_limited":-1}`, `{"unknown":1}`, `{"html_status":42}`} {
		a := do(t, request{method: "POST", url: control, body: body})
		if a.status != http.StatusBadRequest || a.object(t)["code"] != float64(400) {
			t.Errorf("%s: status %d body %s, want 400 JSON", body, a.status, a.body)
		}
	}
	if e.Faults().Slow != time.Millisecond {
		t.Error("a rejected POST changed the faults")
	}
	a = do(t, request{method: "POST", url: control, body: `{}`})
	if a.status != 200 || e.Faults() != (Faults{}) {
		t.Errorf("clearing faults: status %d, faults %+v", a.status, e.Faults())
	}
}
