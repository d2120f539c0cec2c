package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestInfo(t *testing.T) {
	e := startEmulator(t, Options{Users: 200, Seed: 3})
	info := e.Info()
	urls := map[string]string{"url": info.URL, "identity_url": info.IdentityURL,
		"admin_hub_url": info.AdminHubURL, "admin_api_url": info.AdminAPIURL}
	seen := map[string]bool{}
	for name, u := range urls {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("%s %q is not a loopback URL", name, u)
		}
		seen[u] = true
	}
	for _, s := range info.Sites {
		if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
			t.Errorf("site %s URL %q is not a loopback URL", s.Name, s.URL)
		}
		seen[s.URL] = true
	}
	if len(seen) != 4+len(info.Sites) {
		t.Errorf("hosts share ports: %d distinct URLs for %d hosts", len(seen), 4+len(info.Sites))
	}
	if info.Users != 200 || info.ConfluenceUsers != e.Org().ConfluenceUsers() || info.ConfluenceUsers == 0 {
		t.Errorf("users %d, confluence_users %d", info.Users, info.ConfluenceUsers)
	}
	if info.OrgID != e.Org().ID || info.Email != e.Org().Admin.Email {
		t.Error("org_id or email differ from Org()")
	}
	for _, v := range []string{info.Password, info.TOTPSecret, info.APIKey, info.APIToken} {
		if len(v) < 20 {
			t.Errorf("credential %q too short", v)
		}
	}
	for _, line := range []string{
		`email = "` + info.Email + `"`, `password = "` + info.Password + `"`,
		`totp_secret = "` + info.TOTPSecret + `"`, `identity_url = "` + info.IdentityURL + `"`,
		`admin_hub_url = "` + info.AdminHubURL + `"`, `admin_api_url = "` + info.AdminAPIURL + `"`,
	} {
		if !strings.Contains(info.Config, line+"\n") {
			t.Errorf("config lacks line %s", line)
		}
	}
	raw, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"url"`, `"identity_url"`, `"admin_hub_url"`, `"admin_api_url"`,
		`"org_id"`, `"email"`, `"password"`, `"totp_secret"`, `"api_key"`, `"api_token"`, `"users"`,
		`"confluence_users"`, `"sites"`, `"cloud_id"`, `"edition"`, `"sandbox"`,
		`"dead_end_accounts"`, `"config"`} {
		if !bytes.Contains(raw, []byte(key+":")) {
			t.Errorf("Info JSON lacks %s", key)
		}
	}
}

func TestCredentialsPerHost(t *testing.T) {
	e := startEmulator(t, Options{Users: 50})
	info := e.Info()
	session := noMFASession(t, e)
	site := e.Org().Sites[siteStandard].URL + "/wiki/rest/api/settings/systemInfo"
	hub := adminHub(e, "/admin/v1/orgs")
	api := adminAPI(e, "/admin/v1/orgs")
	basic := [2]string{info.Email, info.APIToken}

	cases := []struct {
		name        string
		req         request
		status      int
		misdirected bool
	}{
		{"hub session", request{url: hub, session: session}, 200, false},
		{"hub none", request{url: hub}, 401, false},
		{"hub bad session", request{url: hub, session: "x.y.z"}, 401, false},
		{"hub bearer", request{url: hub, bearer: info.APIKey}, 401, true},
		{"hub basic", request{url: hub, basic: basic}, 401, true},
		{"hub session and bearer", request{url: hub, session: session, bearer: info.APIKey}, 401, true},
		{"api bearer", request{url: api, bearer: info.APIKey}, 200, false},
		{"api none", request{url: api}, 401, false},
		{"api wrong key", request{url: api, bearer: info.APIKey + "x"}, 401, false},
		{"api session", request{url: api, session: session}, 401, true},
		{"api session and bearer", request{url: api, session: session, bearer: info.APIKey}, 401, true},
		{"api basic", request{url: api, basic: basic}, 401, true},
		{"site session", request{url: site, session: session}, 200, false},
		{"site basic", request{url: site, basic: basic}, 200, false},
		{"site basic wrong token", request{url: site, basic: [2]string{info.Email, "nope"}}, 401, false},
		{"site none", request{url: site}, 401, false},
		{"site bearer", request{url: site, bearer: info.APIKey}, 401, true},
	}
	for _, c := range cases {
		before := e.Counts().MisdirectedCredentials
		a := do(t, c.req)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, a.status, c.status)
		}
		if a.status == 401 {
			m := a.object(t)
			if m["code"] != float64(401) || m["message"] != "Unauthorized" {
				t.Errorf("%s: 401 body %s", c.name, a.body)
			}
		}
		counted := e.Counts().MisdirectedCredentials - before
		if c.misdirected && counted != 1 {
			t.Errorf("%s: misdirected count rose by %d, want 1", c.name, counted)
		}
		if !c.misdirected && counted != 0 {
			t.Errorf("%s: misdirected count rose by %d, want 0", c.name, counted)
		}
	}
}

func TestWritesRejected(t *testing.T) {
	e := startEmulator(t, Options{Users: 30})
	info := e.Info()
	org := e.Org().ID
	user := e.Org().Users[10].AccountID
	site := e.Org().Sites[siteStandard].URL
	cases := []request{
		{method: "DELETE", url: adminAPI(e, "/admin/v1/orgs/"+org+"/directory/users/"+user), bearer: info.APIKey},
		{method: "POST", url: adminAPI(e, "/admin/v1/orgs/"+org+"/directory/users/"+user+"/suspend-access"),
			bearer: info.APIKey},
		{method: "PUT", url: adminAPI(e, "/admin/v2/orgs/"+org+"/directories"), bearer: info.APIKey},
		{method: "PATCH", url: adminAPI(e, "/admin/v1/orgs"), bearer: info.APIKey},
		{method: "POST", url: adminAPI(e, "/admin/v1/orgs"), bearer: info.APIKey},
		{method: "POST", url: adminHub(e, "/admin/v2/orgs/"+org+"/directories/-/groups"), body: "{}"},
		{method: "POST", url: site + "/wiki/rest/api/group", body: `{"name":"x"}`},
		{method: "DELETE", url: site + "/wiki/rest/api/group/by-id?id=1"},
		{method: "POST", url: site + "/nowhere"},
	}
	for i, c := range cases {
		a := do(t, c)
		if a.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: status %d, want 405", c.method, c.url, a.status)
		}
		if m := a.object(t); m["code"] != float64(405) || m["message"] == "" {
			t.Errorf("%s %s: body %s", c.method, c.url, a.body)
		}
		if got := e.Counts().WritesAttempted; got != int64(i+1) {
			t.Errorf("%s %s: writes attempted %d, want %d", c.method, c.url, got, i+1)
		}
	}
	// Read-only POSTs and wrong-method GETs are not writes.
	before := e.Counts().WritesAttempted
	a := do(t, request{method: "POST", url: adminAPI(e, "/admin/v2/orgs/"+org+"/workspaces"),
		body: "{}", bearer: info.APIKey})
	if a.status != 200 {
		t.Errorf("workspaces POST: status %d", a.status)
	}
	a = do(t, request{url: adminAPI(e, "/admin/v2/orgs/"+org+"/workspaces"), bearer: info.APIKey})
	if a.status != http.StatusMethodNotAllowed {
		t.Errorf("workspaces GET: status %d, want 405", a.status)
	}
	if got := e.Counts().WritesAttempted; got != before {
		t.Errorf("writes attempted rose to %d on read-only requests", got)
	}
}

func TestUnknownPath(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	info := e.Info()
	jiraOnly := e.Org().Sites[siteJiraOnly].URL
	cases := []request{
		{url: adminAPI(e, "/admin/v9/nothing"), bearer: info.APIKey},
		{url: adminHub(e, "/admin/v9/nothing")},
		{url: info.AdminHubURL + "/admin/v1/orgs"},
		{url: e.Org().Sites[0].URL + "/wiki/rest/api/space"},
		{url: jiraOnly + "/wiki/rest/api/settings/systemInfo"},
		{url: info.URL + "/nothing"},
	}
	for _, c := range cases {
		u := c.url
		a := do(t, c)
		if a.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", u, a.status)
			continue
		}
		if m := a.object(t); m["code"] != float64(404) {
			t.Errorf("%s: body %s", u, a.body)
		}
	}
	if a := do(t, request{url: jiraOnly + "/_edge/tenant_info"}); a.status != 200 {
		t.Errorf("Jira-only tenant_info: status %d", a.status)
	}
}

func TestUnknownOrgAndUser(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	key := e.Info().APIKey
	org := e.Org().ID
	for _, c := range []struct{ method, path string }{
		{"GET", "/admin/v2/orgs/nope/directories"},
		{"POST", "/admin/v2/orgs/nope/workspaces"},
		{"POST", "/admin/v2/orgs/" + org + "/directories/other/users/search"},
		{"GET", "/admin/v1/orgs/" + org + "/directory/users/nobody/last-active-dates"},
	} {
		a := do(t, request{method: c.method, url: adminAPI(e, c.path), bearer: key})
		if a.status != http.StatusNotFound || a.object(t)["code"] != float64(404) {
			t.Errorf("%s %s: status %d body %s, want 404 JSON", c.method, c.path, a.status, a.body)
		}
	}
}

func TestCountsEndpoint(t *testing.T) {
	e := startEmulator(t, Options{Users: 40})
	info := e.Info()
	org := e.Org().ID
	for i := 0; i < 3; i++ {
		do(t, request{url: adminAPI(e, "/admin/v1/orgs"), bearer: info.APIKey})
	}
	do(t, request{method: "POST", url: adminAPI(e, "/admin/v2/orgs/"+org+"/directories/-/users/search"),
		body: "{}", bearer: info.APIKey})
	do(t, request{method: "DELETE", url: adminAPI(e, "/admin/v1/orgs"), bearer: info.APIKey})
	do(t, request{url: adminAPI(e, "/admin/v1/orgs"), session: "stray"})

	a := do(t, request{url: info.URL + controlCountsPath})
	if a.status != 200 {
		t.Fatalf("counts: status %d", a.status)
	}
	var c Counts
	a.json(t, &c)
	if c.Requests[RouteOrgs] != 5 {
		t.Errorf("requests[orgs] %d, want 5", c.Requests[RouteOrgs])
	}
	if c.Requests[RouteUsersSearch] != 1 {
		t.Errorf("requests[users_search] %d, want 1", c.Requests[RouteUsersSearch])
	}
	if c.WritesAttempted != 1 || c.MisdirectedCredentials != 1 {
		t.Errorf("writes %d misdirected %d, want 1 and 1", c.WritesAttempted, c.MisdirectedCredentials)
	}
	for _, key := range []string{`"sign_ins"`, `"sign_in_attempts"`, `"codes_rejected"`, `"requests"`,
		`"writes_attempted"`, `"misdirected_credentials"`} {
		if !bytes.Contains(a.body, []byte(key)) {
			t.Errorf("counts JSON lacks %s", key)
		}
	}
	if got := e.Counts(); got.Requests[RouteOrgs] != c.Requests[RouteOrgs] {
		t.Errorf("Counts() %v differs from the endpoint %v", got.Requests, c.Requests)
	}
	e.ResetCounts()
	if got := e.Counts(); got.Requests[RouteOrgs] != 0 || got.WritesAttempted != 0 {
		t.Errorf("after ResetCounts: %+v", got)
	}
	if a := do(t, request{method: "POST", url: info.URL + controlCountsPath}); a.status != 405 {
		t.Errorf("POST counts: status %d, want 405", a.status)
	}
}

func TestAccessLog(t *testing.T) {
	var buf lockedBuffer
	e := startEmulator(t, Options{Users: 20, Logger: &buf})
	info := e.Info()
	do(t, request{url: adminAPI(e, "/admin/v1/orgs?cursor=secret-looking"), bearer: info.APIKey})
	do(t, request{url: adminAPI(e, "/admin/v1/orgs")})
	log := buf.String()
	if !strings.Contains(log, "GET /admin/v1/orgs 400\n") || !strings.Contains(log, "GET /admin/v1/orgs 401\n") {
		t.Errorf("access log %q lacks method, path and status lines", log)
	}
	for _, secret := range []string{info.APIKey, "secret-looking", "Bearer"} {
		if strings.Contains(log, secret) {
			t.Errorf("access log contains %q", secret)
		}
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStartTwiceAndClose(t *testing.T) {
	e := startEmulator(t, Options{Users: 10})
	if err := e.Start(); err == nil {
		t.Error("second Start: no error")
	}
	url := adminAPI(e, "/admin/v1/orgs")
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := httpClient.Get(url); err == nil {
		t.Error("request after Close succeeded")
	}
}

func TestConcurrentRequests(t *testing.T) {
	e := startEmulator(t, Options{Users: 500})
	e.SetFaults(Faults{Route: RouteOrgs, RateLimited: 20})
	session := noMFASession(t, e)
	siteURL := e.Org().Sites[siteStandard].URL
	const workers, perWorker = 8, 10
	var wg sync.WaitGroup
	statuses := make(chan int, workers*perWorker*2)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// do calls t.Fatalf, which must not run outside the test
			// goroutine, so the workers send plain requests.
			for i := 0; i < perWorker; i++ {
				statuses <- rawStatus(orgsRequest(e))
				statuses <- rawStatus(request{url: siteURL + "/wiki/rest/api/group", session: session})
			}
		}()
	}
	wg.Wait()
	close(statuses)
	limited := 0
	for s := range statuses {
		if s == http.StatusTooManyRequests {
			limited++
		} else if s != http.StatusOK {
			t.Errorf("unexpected status %d", s)
		}
	}
	if limited != 20 {
		t.Errorf("%d requests rate limited, want exactly 20", limited)
	}
	if got := e.Counts().Requests[RouteOrgs]; got != workers*perWorker {
		t.Errorf("requests[orgs] %d, want %d", got, workers*perWorker)
	}
}

// rawStatus sends req and returns its status, or 0 when it failed.
func rawStatus(req request) int {
	r, err := http.NewRequest(http.MethodGet, req.url, nil)
	if err != nil {
		return 0
	}
	if req.bearer != "" {
		r.Header.Set("Authorization", "Bearer "+req.bearer)
	}
	if req.session != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: req.session})
	}
	resp, err := httpClient.Do(r)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
