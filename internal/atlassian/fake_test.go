package atlassian

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Values the fake servers accept. Tests assert that none of them shows up
// in logs, errors or trace events.
const (
	testEmail    = "admin@example.com"
	testPassword = "pw-Secret-123"
	testSecret   = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	testAPIKey   = "apikey-SECRET-value"
	testAPIToken = "apitoken-SECRET-value"
	testOrgID    = "org-1"
	testXSRF     = "xsrf-SECRET-value"
	testMFAToken = "mfa-SECRET-value"
)

// fakeClock is a settable clock whose sleep advances the time at once.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	f.t = f.t.Add(d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// recorded is one request a fake server received, credentials included,
// so that tests can check which host got which credential.
type recorded struct {
	Server, Method, Path, Query, Cookie, Authorization, Body string
}

// fakeAtlassian runs an identity host, an admin hub, an Admin API host and
// one site on loopback httptest servers.
type fakeAtlassian struct {
	t     *testing.T
	clock *fakeClock

	mu sync.Mutex
	// Sign-in behaviour.
	ssoRedirect bool
	// authAnswer selects the response to the password: "totp" (default),
	// "email", "done", "wrong", "locked", "captcha", "html", "unknown".
	authAnswer string
	// rejectCodes is the number of valid codes rejected with invalid_otp.
	rejectCodes int
	usedSteps   map[int64]bool
	codeSteps   []int64 // steps of the codes received, valid or not
	signIns     int     // sessions issued
	authCalls   int
	// expiredAnswer is the hub's response to an unknown session: "401"
	// (default), "302" or "html".
	expiredAnswer string
	// refreshNext makes the next hub response set a refreshed cookie.
	refreshNext bool
	// rejectAllSessions makes the hub reject every session as expired.
	rejectAllSessions bool
	sessions          map[string]bool
	tokenSeq          int
	requests          []recorded

	// Admin data.
	orgs  []Org
	users []map[string]any

	id, hub, api, site *httptest.Server
}

func newFakeAtlassian(t *testing.T, clock *fakeClock) *fakeAtlassian {
	f := &fakeAtlassian{t: t, clock: clock, usedSteps: map[int64]bool{},
		sessions: map[string]bool{}, orgs: []Org{{ID: testOrgID, Name: "Example"}}}
	f.users = []map[string]any{
		{"accountId": "acc-1", "name": "Ann", "email": "ann@example.com", "status": "active",
			"addedToOrg": "2024-01-02T03:04:05Z", "platformRoles": []any{"org-admin"},
			"productAccess": []any{map[string]any{"key": "confluence",
				"id": "ari:cloud:confluence::site/cloud-1", "lastActiveTimestamp": 1714564800000}}},
		{"accountId": "acc-2", "name": "Bob", "status": "suspended",
			"platformRoles": []any{map[string]any{"id": "user-admin"}},
			"deactivatedOn": "2025-02-03"},
		{"accountId": "acc-3", "name": "Cid", "status": "active", "email": nil},
	}
	f.id = httptest.NewServer(http.HandlerFunc(f.serveIdentity))
	f.hub = httptest.NewServer(http.HandlerFunc(f.serveHub))
	f.api = httptest.NewServer(http.HandlerFunc(f.serveAPI))
	f.site = httptest.NewServer(http.HandlerFunc(f.serveSite))
	t.Cleanup(func() {
		f.id.Close()
		f.hub.Close()
		f.api.Close()
		f.site.Close()
	})
	return f
}

// options returns sign-in options for the fake, with a private cache dir.
func (f *fakeAtlassian) options(t *testing.T) Options {
	return Options{
		IdentityURL: f.id.URL, AdminHubURL: f.hub.URL, AdminAPIURL: f.api.URL,
		Email: testEmail, Password: testPassword, TOTPSecret: testSecret,
		SessionCacheDir: t.TempDir(), Now: f.clock.Now, OrgID: testOrgID,
		OrgRequestsPerMinute: NoLimit, SiteRequestsPerMinute: NoLimit,
	}
}

// client builds a client whose waits advance the fake clock.
func (f *fakeAtlassian) client(t *testing.T, o Options) *Client {
	t.Helper()
	c, err := NewClient(o)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	c.sleep = f.clock.Sleep
	c.jitter = func() float64 { return 0 }
	return c
}

func (f *fakeAtlassian) record(server string, r *http.Request) string {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, recorded{Server: server, Method: r.Method, Path: r.URL.Path,
		Query: r.URL.RawQuery, Cookie: r.Header.Get("Cookie"),
		Authorization: r.Header.Get("Authorization"), Body: string(body)})
	return string(body)
}

func (f *fakeAtlassian) recorded() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// newToken issues a session token shaped like Atlassian's JWT.
func (f *fakeAtlassian) newToken() string {
	f.tokenSeq++
	claims, _ := json.Marshal(map[string]any{"sub": "acc-1",
		"created": f.clock.Now().Unix(), "refreshTimeout": f.clock.Now().Unix() + 600,
		"sessionId": fmt.Sprintf("sess-%d", f.tokenSeq)})
	tok := "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(claims) + ".sig" +
		fmt.Sprint(f.tokenSeq)
	f.sessions[tok] = true
	return tok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAtlassian) serveIdentity(w http.ResponseWriter, r *http.Request) {
	body := f.record("identity", r)
	f.mu.Lock()
	defer f.mu.Unlock()
	var in map[string]string
	_ = json.Unmarshal([]byte(body), &in)
	xsrfOK := func() bool {
		ck, err := r.Cookie("atlassian.account.xsrf.token")
		return err == nil && ck.Value == testXSRF && in["csrfToken"] == testXSRF
	}
	switch r.URL.Path {
	case "/login":
		http.SetCookie(w, &http.Cookie{Name: "atlassian.account.xsrf.token", Value: testXSRF})
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>sign in</body></html>")
	case "/rest/check-username":
		if !xsrfOK() || in["username"] != testEmail {
			writeJSON(w, 400, map[string]any{"errorCode": "bad_request"})
			return
		}
		if f.ssoRedirect {
			writeJSON(w, 200, map[string]any{"action": "redirect",
				"redirect_uri": "https://idp.example.com/saml"})
			return
		}
		writeJSON(w, 200, map[string]any{"action": "password"})
	case "/rest/authenticate":
		f.authCalls++
		if !xsrfOK() {
			writeJSON(w, 400, map[string]any{"errorCode": "bad_request"})
			return
		}
		mode := f.authAnswer
		if in["password"] != testPassword && mode != "locked" {
			mode = "wrong"
		}
		switch mode {
		case "", "totp":
			writeJSON(w, 200, map[string]any{"step": "mfa", "mfaType": "totp",
				"mfaToken": testMFAToken})
		case "email":
			writeJSON(w, 200, map[string]any{"step": "mfa", "mfaType": "email"})
		case "done":
			f.signIns++
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: f.newToken()})
			writeJSON(w, 200, map[string]any{"step": "done", "redirect_uri": f.hub.URL})
		case "wrong":
			writeJSON(w, 401, map[string]any{"errorCode": "invalid_credentials"})
		case "locked":
			writeJSON(w, 403, map[string]any{"errorCode": "account_locked"})
		case "captcha":
			writeJSON(w, 403, map[string]any{"errorCode": "captcha_required"})
		case "html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(403)
			_, _ = io.WriteString(w, "<html>are you human?</html>")
		case "unknown":
			writeJSON(w, 200, map[string]any{"step": "consent"})
		case "503":
			writeJSON(w, 503, map[string]any{"errorCode": "unavailable"})
		}
	case "/rest/mfa/verify":
		if !xsrfOK() || in["mfaToken"] != testMFAToken {
			writeJSON(w, 400, map[string]any{"errorCode": "bad_request"})
			return
		}
		now := f.clock.Now()
		step := now.Unix() / 30
		f.codeSteps = append(f.codeSteps, stepOfCode(in["code"], step))
		valid := false
		for _, s := range []int64{step - 1, step} {
			want, _ := GenerateCode(testSecret, time.Unix(s*30, 0))
			if in["code"] == want && !f.usedSteps[s] {
				f.usedSteps[s] = true
				valid = true
			}
		}
		if !valid || f.rejectCodes > 0 {
			if valid {
				f.rejectCodes--
			}
			writeJSON(w, 401, map[string]any{"errorCode": "invalid_otp"})
			return
		}
		f.signIns++
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: f.newToken()})
		writeJSON(w, 200, map[string]any{"step": "done", "redirect_uri": f.hub.URL})
	default:
		http.NotFound(w, r)
	}
}

// stepOfCode returns which step near step produced code, or -1.
func stepOfCode(code string, step int64) int64 {
	for s := step - 3; s <= step+3; s++ {
		if want, _ := GenerateCode(testSecret, time.Unix(s*30, 0)); want == code {
			return s
		}
	}
	return -1
}

func (f *fakeAtlassian) serveHub(w http.ResponseWriter, r *http.Request) {
	body := f.record("admin_hub", r)
	f.mu.Lock()
	ck, err := r.Cookie(sessionCookie)
	ok := err == nil && f.sessions[ck.Value] && !f.rejectAllSessions
	mode := f.expiredAnswer
	if ok && f.refreshNext {
		f.refreshNext = false
		delete(f.sessions, ck.Value)
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: f.newToken()})
	}
	f.mu.Unlock()
	if !ok {
		switch mode {
		case "302":
			http.Redirect(w, r, f.id.URL+"/login?continue=x", http.StatusFound)
		case "html":
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>Log in to continue</html>")
		default:
			writeJSON(w, 401, map[string]any{"code": 401, "message": "Unauthorized"})
		}
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/gateway/api/") {
		http.NotFound(w, r)
		return
	}
	f.serveAdmin(w, r, strings.TrimPrefix(r.URL.Path, "/gateway/api"), body)
}

func (f *fakeAtlassian) serveAPI(w http.ResponseWriter, r *http.Request) {
	body := f.record("admin_api", r)
	if r.Header.Get("Authorization") != "Bearer "+testAPIKey {
		writeJSON(w, 401, map[string]any{"code": 401, "message": "Unauthorized"})
		return
	}
	f.serveAdmin(w, r, r.URL.Path, body)
}

// serveAdmin serves the Admin API paths, the same behind both hosts.
func (f *fakeAtlassian) serveAdmin(w http.ResponseWriter, r *http.Request, path, body string) {
	var in map[string]any
	_ = json.Unmarshal([]byte(body), &in)
	f.mu.Lock()
	defer f.mu.Unlock()
	base := "https://api.atlassian.com"
	switch {
	case path == "/admin/v1/orgs":
		data := []any{}
		for _, o := range f.orgs {
			data = append(data, map[string]any{"id": o.ID, "type": "orgs",
				"attributes": map[string]any{"name": o.Name}})
		}
		// Two orgs or more come one per page, to exercise the whole-URL
		// links.next of v1 lists.
		if len(f.orgs) > 1 && r.URL.Query().Get("cursor") == "" {
			writeJSON(w, 200, map[string]any{"data": data[:1],
				"links": map[string]any{"next": base + "/admin/v1/orgs?cursor=p2"}})
			return
		}
		if len(f.orgs) > 1 {
			data = data[1:]
		}
		writeJSON(w, 200, map[string]any{"data": data, "links": map[string]any{}})
	case path == "/admin/v2/orgs/"+testOrgID+"/directories":
		if r.URL.Query().Get("cursor") == "" {
			writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"directoryId": "dir-1",
				"name": "Main"}}, "links": map[string]any{"next": "c2"}})
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"directoryId": "dir-2",
			"name": "Other"}}, "links": map[string]any{"next": nil}})
	case path == "/admin/v2/orgs/"+testOrgID+"/workspaces":
		if in["cursor"] == nil {
			writeJSON(w, 200, map[string]any{"data": []any{
				map[string]any{"id": "cloud-1", "attributes": map[string]any{"name": "One",
					"typeKey": "confluence", "hostUrl": f.site.URL, "status": "online",
					"sandbox": false, "capacity": 100, "usage": 42}},
				map[string]any{"id": "cloud-j", "attributes": map[string]any{"name": "Jira",
					"typeKey": "jira-software", "hostUrl": "https://one.atlassian.net"}},
			}, "links": map[string]any{"next": "w2"}})
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{
			map[string]any{"id": "cloud-2", "attributes": map[string]any{"name": "Two",
				"typeKey": "confluence", "hostUrl": "https://two.atlassian.net",
				"sandbox": map[string]any{"parentId": "cloud-1"}}},
		}, "links": map[string]any{}})
	case path == "/admin/v2/orgs/"+testOrgID+"/directories/-/users/search":
		limit := int(in["limit"].(float64))
		start := 0
		if c, ok := in["cursor"].(string); ok {
			fmt.Sscan(c, &start)
		}
		end := min(start+limit, len(f.users))
		links := map[string]any{}
		if end < len(f.users) {
			links["next"] = fmt.Sprint(end)
		}
		writeJSON(w, 200, map[string]any{"data": f.users[start:end], "links": links})
	case strings.HasSuffix(path, "/last-active-dates"):
		if r.URL.Query().Get("cursor") == "" {
			writeJSON(w, 200, map[string]any{"data": map[string]any{
				"product_access": []any{map[string]any{"id": "cloud-1", "key": "confluence",
					"name": "Confluence", "url": "https://one.atlassian.net",
					"last_active": "2026-04-30"}},
				"added_to_org": "2024-01-02"}, "links": map[string]any{"next": "la2"}})
			return
		}
		writeJSON(w, 200, map[string]any{"data": map[string]any{
			"product_access": []any{map[string]any{"id": "cloud-j", "key": "jira-software",
				"last_active": "2026-03-01", "last_active_timestamp": "2026-03-01T10:00:00.5Z"}}},
			"links": map[string]any{}})
	case path == "/admin/v2/orgs/"+testOrgID+"/directories/-/groups/search":
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"id": "g-1",
			"name": "confluence-users", "description": "d", "counts": map[string]any{"users": 7}}},
			"links": map[string]any{}})
	default:
		writeJSON(w, 404, map[string]any{"code": 404, "message": "Not Found"})
	}
}

func (f *fakeAtlassian) serveSite(w http.ResponseWriter, r *http.Request) {
	f.record("site", r)
	f.mu.Lock()
	ck, err := r.Cookie(sessionCookie)
	ok := err == nil && f.sessions[ck.Value]
	f.mu.Unlock()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(testEmail+":"+testAPIToken))
	if !ok && r.Header.Get("Authorization") != basic {
		writeJSON(w, 401, map[string]any{"message": "Unauthorized"})
		return
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/_edge/tenant_info":
		writeJSON(w, 200, map[string]any{"cloudId": "cloud-1"})
	case "/wiki/rest/api/settings/systemInfo":
		writeJSON(w, 200, map[string]any{"cloudId": "cloud-1", "edition": "standard",
			"baseUrl": f.site.URL + "/wiki", "siteTitle": "One"})
	case "/wiki/rest/api/search/user":
		if q.Get("cql") != "type=user" {
			writeJSON(w, 400, map[string]any{"message": "cql"})
			return
		}
		// A short first page that still links to the next one.
		if q.Get("start") == "0" {
			writeJSON(w, 200, map[string]any{"results": []any{map[string]any{
				"user": map[string]any{"accountId": "acc-1", "accountType": "atlassian",
					"displayName": "Ann", "email": "ann@example.com"}}}, "totalSize": 2,
				"_links": map[string]any{"next": "/wiki/rest/api/search/user?cql=type%3Duser" +
					"&sitePermissionTypeFilter=none&start=1&limit=50"}})
			return
		}
		writeJSON(w, 200, map[string]any{"results": []any{map[string]any{
			"user": map[string]any{"accountId": "acc-2", "displayName": "Bob"}}},
			"totalSize": 2, "_links": map[string]any{}})
	case "/wiki/rest/api/group":
		if q.Get("start") == "0" {
			writeJSON(w, 200, map[string]any{"results": []any{map[string]any{"id": "sg-1",
				"name": "confluence-users"}}, "_links": map[string]any{
				"next": "/wiki/rest/api/group?start=1&limit=50", "base": f.site.URL + "/wiki"}})
			return
		}
		writeJSON(w, 200, map[string]any{"results": []any{map[string]any{"id": "sg-2",
			"name": "site-admins"}}, "_links": map[string]any{}})
	case "/wiki/rest/api/group/sg-1/membersByGroupId":
		writeJSON(w, 200, map[string]any{"results": []any{map[string]any{"accountId": "acc-1",
			"displayName": "Ann"}}, "totalSize": 1, "_links": map[string]any{}})
	default:
		writeJSON(w, 404, map[string]any{"message": "not found"})
	}
}
