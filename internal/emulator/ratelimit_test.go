package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// manualClock is a wall clock that moves only when the test says so.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// useManualClock makes the rate limit of e run on a manual clock, with a
// full bucket at the clock's start.
func useManualClock(e *Emulator) *manualClock {
	c := &manualClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.clock = c.now
	e.limiter = newRateLimiter(e.opts.RateLimitPerMinute, e.opts.RateLimitBurst, c.now())
	return c
}

func TestRateLimitBucket(t *testing.T) {
	e := startEmulator(t, Options{Users: 20, RateLimitPerMinute: 3})
	clock := useManualClock(e)
	for i := 0; i < 3; i++ {
		a := do(t, orgsRequest(e))
		if a.status != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200 within the burst", i, a.status)
		}
		if got := a.header.Get("X-RateLimit-Limit"); got != "3" {
			t.Errorf("request %d: X-RateLimit-Limit %q, want 3", i, got)
		}
		if got := a.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Errorf("request %d: X-RateLimit-Remaining %q, want %d", i, got, 2-i)
		}
		if got := a.header.Get("Retry-After"); got != "" {
			t.Errorf("request %d: Retry-After %q on a 200", i, got)
		}
	}

	a := do(t, orgsRequest(e))
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("fourth request: status %d, want 429", a.status)
	}
	if code := a.object(t)["code"]; code != float64(429) {
		t.Errorf("429 body code %v, want 429", code)
	}
	// 3 tokens a minute refill one every 20 s.
	if got := a.header.Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After %q, want 20", got)
	}
	if got := a.header.Get("X-RateLimit-Reset"); got != "2026-05-01T12:00:20Z" {
		t.Errorf("X-RateLimit-Reset %q, want 2026-05-01T12:00:20Z", got)
	}
	if got := a.header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("X-RateLimit-Remaining %q on a 429, want 0", got)
	}

	clock.advance(5 * time.Second)
	a = do(t, orgsRequest(e))
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "15" {
		t.Errorf("after 5 s: status %d Retry-After %q, want 429 and 15", a.status,
			a.header.Get("Retry-After"))
	}
	clock.advance(15 * time.Second)
	if a := do(t, orgsRequest(e)); a.status != http.StatusOK {
		t.Errorf("after 20 s: status %d, want 200", a.status)
	}
	if a := do(t, orgsRequest(e)); a.status != http.StatusTooManyRequests {
		t.Errorf("second request after 20 s: status %d, want 429", a.status)
	}

	// A long pause refills the bucket to its size, not beyond.
	clock.advance(10 * time.Minute)
	for i := 0; i < 3; i++ {
		if a := do(t, orgsRequest(e)); a.status != http.StatusOK {
			t.Errorf("after a pause, request %d: status %d, want 200", i, a.status)
		}
	}
	if a := do(t, orgsRequest(e)); a.status != http.StatusTooManyRequests {
		t.Errorf("after a pause, request 4: status %d, want 429", a.status)
	}

	c := e.Counts()
	if c.RateLimited != 4 {
		t.Errorf("rate_limited %d, want 4", c.RateLimited)
	}
	if c.Requests[RouteOrgs] != 11 {
		t.Errorf("requests[orgs] %d, want 11 (429s included)", c.Requests[RouteOrgs])
	}
}

func TestRateLimitScope(t *testing.T) {
	e := startEmulator(t, Options{Users: 20, RateLimitPerMinute: 2})
	clock := useManualClock(e)
	info := e.Info()
	org := e.Org().ID

	// A rejected credential takes no token.
	if a := do(t, request{url: adminAPI(e, "/admin/v1/orgs"), bearer: "wrong"}); a.status != 401 {
		t.Fatalf("wrong key: status %d, want 401", a.status)
	}
	if a := do(t, orgsRequest(e)); a.status != 200 {
		t.Fatalf("first request: status %d, want 200", a.status)
	}

	// Sign-in is not limited, and the admin hub shares the Admin API's bucket.
	session := noMFASession(t, e)
	dirs := "/admin/v2/orgs/" + org + "/directories"
	if a := do(t, request{url: adminHub(e, dirs), session: session}); a.status != 200 {
		t.Fatalf("admin hub request: status %d, want 200", a.status)
	}
	if a := do(t, request{url: adminHub(e, dirs), session: session}); a.status != 429 {
		t.Errorf("admin hub request over the limit: status %d, want 429", a.status)
	}
	if a := do(t, orgsRequest(e)); a.status != 429 {
		t.Errorf("Admin API request over the limit: status %d, want 429", a.status)
	}

	// Sites are not part of the org's limit.
	site := e.Org().Sites[0]
	a := do(t, request{url: site.URL + "/wiki/rest/api/settings/systemInfo",
		basic: [2]string{info.Email, info.APIToken}})
	if a.status != 200 {
		t.Errorf("site request: status %d, want 200", a.status)
	}
	if got := a.header.Get("X-RateLimit-Limit"); got != "" {
		t.Errorf("site response carries X-RateLimit-Limit %q", got)
	}

	clock.advance(30 * time.Second)
	if a := do(t, request{url: adminHub(e, dirs), session: session}); a.status != 200 {
		t.Errorf("admin hub after 30 s: status %d, want 200", a.status)
	}
}

func TestRateLimitCountsInjected429(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	e.SetFaults(Faults{RateLimited: 2})
	for i := 0; i < 3; i++ {
		do(t, orgsRequest(e))
	}
	if got := e.Counts().RateLimited; got != 2 {
		t.Errorf("rate_limited %d, want 2", got)
	}
	a := do(t, request{url: e.Info().URL + controlCountsPath})
	var c struct {
		RateLimited *int64 `json:"rate_limited"`
	}
	a.json(t, &c)
	if c.RateLimited == nil || *c.RateLimited != 2 {
		t.Errorf("counts endpoint rate_limited %v, want 2", c.RateLimited)
	}
	if a := do(t, orgsRequest(e)); a.header.Get("X-RateLimit-Limit") != "" {
		t.Error("an emulator without a rate limit sent X-RateLimit-Limit")
	}
}

func TestNewRejectsNegativeRateLimit(t *testing.T) {
	if _, err := New(Options{Users: 20, RateLimitPerMinute: -1}); err == nil {
		t.Error("New accepted RateLimitPerMinute -1")
	}
}

func usersSearchURL(e *Emulator) string {
	return adminAPI(e, "/admin/v2/orgs/"+e.Org().ID+"/directories/-/users/search")
}

func TestLegacyUserManagement(t *testing.T) {
	e := startEmulator(t, Options{Users: 50, LegacyUserManagement: true})
	key := e.Info().APIKey
	for _, expand := range [][]string{{"productAccess"}, {"groups", "productAccess"}} {
		a := do(t, request{method: "POST", url: usersSearchURL(e),
			body: map[string]any{"limit": 10, "expand": expand}, bearer: key})
		if a.status != http.StatusBadRequest {
			t.Fatalf("expand %v: status %d, want 400", expand, a.status)
		}
		if ct := a.header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
			t.Errorf("expand %v: content type %q", expand, ct)
		}
		var body struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		a.json(t, &body)
		if body.Code != "ADMIN-400-4" || body.Message == "" {
			t.Errorf("expand %v: body %s, want code ADMIN-400-4 and a message", expand, a.body)
		}
	}
	a := do(t, request{method: "POST", url: usersSearchURL(e),
		body: map[string]any{"limit": 10, "expand": []string{"groups", "platformRoles"}}, bearer: key})
	if a.status != http.StatusOK {
		t.Errorf("expand without productAccess: status %d, want 200", a.status)
	}
	la := "/admin/v1/orgs/" + e.Org().ID + "/directory/users/" + e.Org().Admin.AccountID +
		"/last-active-dates"
	if a := do(t, request{url: adminAPI(e, la), bearer: key}); a.status != http.StatusOK {
		t.Errorf("last-active-dates: status %d, want 200", a.status)
	}
}

func TestOmitActivityTimestamps(t *testing.T) {
	e := startEmulator(t, Options{Users: 300, Seed: 3, OmitActivityTimestamps: true})
	key := e.Info().APIKey
	entries := 0
	for page, cursor := 0, ""; page < 10; page++ {
		body := map[string]any{"limit": 100, "expand": []string{"productAccess"}}
		if cursor != "" {
			body["cursor"] = cursor
		}
		a := do(t, request{method: "POST", url: usersSearchURL(e), body: body, bearer: key})
		if a.status != http.StatusOK {
			t.Fatalf("page %d: status %d", page, a.status)
		}
		var res struct {
			Data []struct {
				ProductAccess []map[string]json.RawMessage `json:"productAccess"`
			} `json:"data"`
			Links map[string]string `json:"links"`
		}
		a.json(t, &res)
		for _, u := range res.Data {
			for _, pa := range u.ProductAccess {
				entries++
				if _, ok := pa["lastActiveTimestamp"]; ok {
					t.Fatalf("page %d: entry %v carries lastActiveTimestamp", page, pa)
				}
				if len(pa["key"]) == 0 || len(pa["id"]) == 0 {
					t.Errorf("page %d: entry %v lacks key or id", page, pa)
				}
			}
		}
		if cursor = res.Links["next"]; cursor == "" {
			break
		}
	}
	if entries == 0 {
		t.Fatal("no productAccess entry in the whole search")
	}

	// The per-user endpoint still reports activity.
	admin := e.Org().Admin
	la := "/admin/v1/orgs/" + e.Org().ID + "/directory/users/" + admin.AccountID +
		"/last-active-dates"
	a := do(t, request{url: adminAPI(e, la), bearer: key})
	var res struct {
		Data struct {
			ProductAccess []struct {
				LastActiveTimestamp string `json:"last_active_timestamp"`
			} `json:"product_access"`
		} `json:"data"`
	}
	a.json(t, &res)
	if len(res.Data.ProductAccess) == 0 || res.Data.ProductAccess[0].LastActiveTimestamp == "" {
		t.Errorf("last-active-dates of the admin: %s, want timestamps", a.body)
	}
}

// TestUsersSearchMaxOrgDeepPage pages a maximum-size org from a cursor
// deep in the list, so that a page far from the start stays cheap.
func TestUsersSearchMaxOrgDeepPage(t *testing.T) {
	e := startEmulator(t, Options{Users: MaxUsers, Seed: 9})
	key := e.Info().APIKey
	ari := e.Org().Sites[siteStandard].Confluence().ARI
	cursor := e.encodeCursor("users", MaxUsers-150)
	var got int
	for page := 0; page < 3; page++ {
		body := map[string]any{"limit": 100, "resourceIds": []string{ari},
			"expand": []string{"productAccess"}, "cursor": cursor}
		a := do(t, request{method: "POST", url: usersSearchURL(e), body: body, bearer: key})
		if a.status != http.StatusOK {
			t.Fatalf("page %d: status %d body %.200s", page, a.status, a.body)
		}
		var res struct {
			Data  []json.RawMessage `json:"data"`
			Links map[string]string `json:"links"`
		}
		a.json(t, &res)
		if len(res.Data) > 100 {
			t.Errorf("page %d: %d users, want at most 100", page, len(res.Data))
		}
		got += len(res.Data)
		if cursor = res.Links["next"]; cursor == "" {
			break
		}
	}
	want := 0
	for _, u := range e.Org().Users[MaxUsers-150:] {
		if u.HasAccess(ari) {
			want++
		}
	}
	if got != want || want == 0 {
		t.Errorf("users from the deep cursor %d, want %d (> 0)", got, want)
	}
}

func TestRateLimitBurstSmallerThanMinute(t *testing.T) {
	e := startEmulator(t, Options{Users: 20, RateLimitPerMinute: 600, RateLimitBurst: 2})
	clock := useManualClock(e)
	for i := 0; i < 2; i++ {
		if a := do(t, orgsRequest(e)); a.status != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200 within the burst of 2", i, a.status)
		}
	}
	if a := do(t, orgsRequest(e)); a.status != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429 past the burst of 2", a.status)
	}

	// 600 a minute refill one token every 100 ms, and the bucket holds 2
	// however long the pause.
	clock.advance(time.Minute)
	for i := 0; i < 2; i++ {
		if a := do(t, orgsRequest(e)); a.status != http.StatusOK {
			t.Fatalf("request %d after a pause: status %d, want 200", i, a.status)
		}
	}
	if a := do(t, orgsRequest(e)); a.status != http.StatusTooManyRequests {
		t.Errorf("third request after a pause: status %d, want 429", a.status)
	}
	clock.advance(100 * time.Millisecond)
	if a := do(t, orgsRequest(e)); a.status != http.StatusOK {
		t.Errorf("request 100 ms later: status %d, want 200", a.status)
	}

	c := e.Counts()
	if c.AdminRequests != 7 {
		t.Errorf("AdminRequests = %d, want 7, the 429s included", c.AdminRequests)
	}
	if c.RateLimited != 2 {
		t.Errorf("RateLimited = %d, want 2", c.RateLimited)
	}
}

func TestRateLimitBurstNeedsRate(t *testing.T) {
	for _, opts := range []Options{{Users: 20, RateLimitBurst: -1, RateLimitPerMinute: 60},
		{Users: 20, RateLimitBurst: 5}} {
		if _, err := New(opts); err == nil || !strings.Contains(err.Error(), "RateLimitBurst") {
			t.Errorf("New with burst %d and %d a minute: error %v, want one naming "+
				"RateLimitBurst", opts.RateLimitBurst, opts.RateLimitPerMinute, err)
		}
	}
}
