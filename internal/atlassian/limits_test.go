package atlassian

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// isolateSharedLimiters gives the test an empty set of shared limiters and
// puts the process's set back when it ends, so that no limiter outlives
// the test that spent its tokens. Tests that call it must not be parallel.
func isolateSharedLimiters(t *testing.T) {
	t.Helper()
	sharedLimiters.mu.Lock()
	saved := sharedLimiters.m
	sharedLimiters.m = map[string]*sharedEntry{}
	sharedLimiters.mu.Unlock()
	t.Cleanup(func() {
		sharedLimiters.mu.Lock()
		sharedLimiters.m = saved
		sharedLimiters.mu.Unlock()
	})
}

// limitedClient returns an API key client of the fake's Admin API and
// site with the shared limiters on at the given rates. orgID may be empty,
// so that the client resolves it.
func limitedClient(t *testing.T, f *fakeAtlassian, orgID string, orgRate, siteRate int) *Client {
	t.Helper()
	c, err := NewClient(Options{APIKey: testAPIKey, AdminAPIURL: f.api.URL, OrgID: orgID,
		Email: testEmail, APIToken: testAPIToken, RequestTimeout: 5 * time.Second,
		OrgRequestsPerMinute: orgRate, SiteRequestsPerMinute: siteRate})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func adminRequest(t *testing.T, c *Client, e Endpoint, orgID string) *outgoing {
	t.Helper()
	ids := map[string]string{}
	if orgID != "" {
		ids["orgId"] = orgID
	}
	o, err := c.newAdminRequest(e, ids)
	if err != nil {
		t.Fatalf("build %s request: %v", e, err)
	}
	return o
}

func siteRequest(t *testing.T, c *Client, siteURL string) *outgoing {
	t.Helper()
	o, err := c.newSiteRequest(EndpointSystemInfo, siteURL, nil)
	if err != nil {
		t.Fatalf("build site request: %v", err)
	}
	return o
}

// limiterOf returns the shared limiter of o, ignoring its name.
func limiterOf(c *Client, o *outgoing) any {
	l, _ := c.limiterFor(o)
	if l == nil {
		return nil
	}
	return l
}

func TestSharedLimiterPerOrg(t *testing.T) {
	isolateSharedLimiters(t)
	f := newFakeAtlassian(t, newFakeClock(t0))

	resolving := limitedClient(t, f, "", 0, 0)
	if l := limiterOf(resolving, adminRequest(t, resolving, EndpointOrgs, "")); l != nil {
		t.Errorf("the org list request of a client without an org id waits on an org limiter")
	}
	// A request that names its org in the path waits on that org's
	// limiter even when the client never resolved its org id, as a client
	// built after the inventory was cached does.
	byPath := limiterOf(resolving, adminRequest(t, resolving, EndpointDirectories, testOrgID))
	if byPath == nil {
		t.Fatal("a directories request of an unresolved client waits on no org limiter")
	}
	// The org list request goes out while ResolveOrgID holds its lock, so
	// this also shows that looking up the limiter does not take that lock.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := resolving.ResolveOrgID(ctx); err != nil {
		t.Fatalf("resolve org id: %v", err)
	}
	noPathOrg := &outgoing{route: Route{Host: HostAdminHub}, base: resolving.adminHub}
	if got := limiterOf(resolving, noPathOrg); got != byPath {
		t.Errorf("an admin hub request without an org id in its path does not wait on "+
			"the resolved org's limiter: got %v", got)
	}

	configured := limitedClient(t, f, testOrgID, 0, 0)
	if got := limiterOf(configured, adminRequest(t, configured, EndpointDirectories,
		testOrgID)); got != byPath {
		t.Errorf("two clients of one org wait on different limiters")
	}
	l, name := configured.limiterFor(adminRequest(t, configured, EndpointDirectories, testOrgID))
	if float64(l.Limit()) != DefaultOrgRequestsPerMinute/60.0 || l.Burst() != orgBurst {
		t.Errorf("default org limiter: %v a second, burst %d; want %v and %d", l.Limit(),
			l.Burst(), DefaultOrgRequestsPerMinute/60.0, orgBurst)
	}
	if name != "org's" {
		t.Errorf("org limiter named %q in errors, want \"org's\"", name)
	}

	// The session route reaches the org through the admin hub; it shares
	// the limiter of the API key route's host.
	sessionOpts := f.options(t)
	sessionOpts.OrgRequestsPerMinute = 0
	session := f.client(t, sessionOpts)
	if got := limiterOf(session, adminRequest(t, session, EndpointDirectories,
		testOrgID)); got != byPath {
		t.Errorf("the admin hub and the Admin API of one org wait on different limiters")
	}

	otherOrg := limitedClient(t, f, "other-org", 0, 0)
	if got := limiterOf(otherOrg, adminRequest(t, otherOrg, EndpointDirectories,
		"other-org")); got == byPath {
		t.Errorf("clients of two orgs share one limiter")
	}
	unlimited := limitedClient(t, f, testOrgID, NoLimit, NoLimit)
	if got := limiterOf(unlimited, adminRequest(t, unlimited, EndpointDirectories,
		testOrgID)); got != nil {
		t.Errorf("a client with OrgRequestsPerMinute = NoLimit waits on an org limiter")
	}
	if got := limiterOf(unlimited, siteRequest(t, unlimited, f.site.URL)); got != nil {
		t.Errorf("a client with SiteRequestsPerMinute = NoLimit waits on a site limiter")
	}
}

func TestSharedLimiterPerSite(t *testing.T) {
	isolateSharedLimiters(t)
	f := newFakeAtlassian(t, newFakeClock(t0))
	other := newFakeAtlassian(t, newFakeClock(t0))
	first := limitedClient(t, f, testOrgID, 0, 0)
	second := limitedClient(t, f, "other-org", 0, 0)

	site, name := first.limiterFor(siteRequest(t, first, f.site.URL))
	if site == nil {
		t.Fatal("a site request waits on no site limiter")
	}
	if name != "site's" {
		t.Errorf("site limiter named %q in errors, want \"site's\"", name)
	}
	if org := limiterOf(first, adminRequest(t, first, EndpointDirectories, testOrgID)); org == site {
		t.Errorf("a site request waits on the org's limiter")
	}
	if got := limiterOf(second, siteRequest(t, second, f.site.URL+"/wiki")); got != site {
		t.Errorf("two clients of one site wait on different limiters")
	}
	if got := limiterOf(first, siteRequest(t, first, other.site.URL)); got == site {
		t.Errorf("two sites share one limiter")
	}
	spellings := []string{"https://example.atlassian.net", "https://Example.Atlassian.NET",
		"https://example.atlassian.net:443", "example.atlassian.net"}
	want := limiterOf(first, siteRequest(t, first, spellings[0]))
	for _, s := range spellings[1:] {
		if got := limiterOf(first, siteRequest(t, first, s)); got != want {
			t.Errorf("site %q waits on another limiter than %q", s, spellings[0])
		}
	}
	if got := limiterOf(first, siteRequest(t, first, "https://example.atlassian.net:8443")); got == want {
		t.Errorf("a site on another port shares the default port's limiter")
	}
}

func TestSharedLimiterLowestRateApplies(t *testing.T) {
	isolateSharedLimiters(t)
	const key = "org lowest-rate"
	l := sharedLimiter(key, "a", 600, 10)
	if got := sharedLimiter(key, "b", 60, 20); got != l {
		t.Fatal("a second owner of one key got a new limiter")
	}
	if l.Limit() != 1 || l.Burst() != 10 {
		t.Errorf("owners at 600 and 60 a minute: %v a second, burst %d; want 1 and 10",
			l.Limit(), l.Burst())
	}
	// Owner b raises its rate and lowers its burst: a's rate applies now.
	sharedLimiter(key, "b", 6000, 5)
	if l.Limit() != 10 || l.Burst() != 5 {
		t.Errorf("after b raised its rate: %v a second, burst %d; want 10 and 5",
			l.Limit(), l.Burst())
	}
	forgetOwner("b")
	sharedLimiter(key, "a", 600, 10)
	if l.Limit() != 10 || l.Burst() != 10 {
		t.Errorf("after b was forgotten: %v a second, burst %d; want 10 and 10",
			l.Limit(), l.Burst())
	}
	if small := sharedLimiter("org small-rate", "a", 3, 10); small.Burst() != 3 {
		t.Errorf("3 a minute: burst %d, want 3, no more than one minute's requests",
			small.Burst())
	}
}

// TestSharedLimiterNewClientReplacesOwner shows that a setting changed in
// a connection's config applies once the connection builds a new client,
// whether it is lower or higher than before.
func TestSharedLimiterNewClientReplacesOwner(t *testing.T) {
	isolateSharedLimiters(t)
	f := newFakeAtlassian(t, newFakeClock(t0))
	build := func(owner string, perMinute int) *Client {
		t.Helper()
		c, err := NewClient(Options{APIKey: testAPIKey, AdminAPIURL: f.api.URL,
			OrgID: testOrgID, OrgRequestsPerMinute: perMinute, LimiterOwner: owner})
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		return c
	}
	rateOf := func(c *Client) float64 {
		l, _ := c.limiterFor(adminRequest(t, c, EndpointDirectories, testOrgID))
		return float64(l.Limit()) * 60
	}
	if got := rateOf(build("connection a", 60)); got != 60 {
		t.Errorf("connection a at 60 a minute: limiter at %v a minute", got)
	}
	if got := rateOf(build("connection a", 600)); got != 600 {
		t.Errorf("connection a raised to 600 a minute: limiter at %v a minute, want 600", got)
	}
	if got := rateOf(build("connection b", 120)); got != 120 {
		t.Errorf("connection b at 120 beside a at 600: limiter at %v a minute, want 120", got)
	}
	// A connection that turns its limiter off stops counting, so the
	// others are no longer held to its old figure.
	build("connection b", NoLimit)
	if got := rateOf(build("connection a", 600)); got != 600 {
		t.Errorf("after b turned its limiter off: limiter at %v a minute, want 600", got)
	}
}

// TestSharedLimiterPacesTwoClients spends the org's burst of 10 with
// requests of two clients. A further request of either client must then
// wait about a second for a token at 60 a minute, which a context with a
// 100 ms deadline does not allow, while a client of another org still
// gets its response.
func TestSharedLimiterPacesTwoClients(t *testing.T) {
	isolateSharedLimiters(t)
	f := newFakeAtlassian(t, newFakeClock(t0))
	first := limitedClient(t, f, testOrgID, 60, NoLimit)
	second := limitedClient(t, f, testOrgID, 60, NoLimit)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The fake lists directories in two pages, so each call sends two
	// requests, and five calls spend the burst.
	for i := 0; i < orgBurst/2; i++ {
		c := []*Client{first, second}[i%2]
		if _, err := c.Directories(ctx, testOrgID); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}

	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	_, err := first.Directories(short, testOrgID)
	if err == nil {
		t.Fatal("a request past the shared burst was sent at once")
	}
	if !strings.Contains(err.Error(), "waiting for the org's rate limiter") {
		t.Errorf("error %q does not name the org's rate limiter", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not wrap context.DeadlineExceeded", err)
	}

	// The fake serves directories of the test org only, so a 404 shows
	// the other org's request was sent without waiting.
	free := limitedClient(t, f, "other-org-paced", 60, NoLimit)
	_, err = free.Directories(short, "other-org-paced")
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Errorf("a client of another org: error %v, want the fake's HTTP answer", err)
	}
}

func TestSharedLimiterWaitCancelled(t *testing.T) {
	isolateSharedLimiters(t)
	f := newFakeAtlassian(t, newFakeClock(t0))
	c := limitedClient(t, f, testOrgID, 1, NoLimit)
	// One request a minute has a burst of one: spend it, and the next
	// request waits a minute for its token.
	l, _ := c.limiterFor(adminRequest(t, c, EndpointDirectories, testOrgID))
	if !l.Allow() {
		t.Fatal("a new limiter has no token")
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	started := time.Now()
	_, err := c.Directories(ctx, testOrgID)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want one wrapping context.Canceled", err)
	}
	if waited := time.Since(started); waited > 10*time.Second {
		t.Errorf("the wait ended %s after the cancel, not at once", waited)
	}
}

func TestValidateRejectsNegativeRequestRate(t *testing.T) {
	for _, setting := range []string{"org_requests_per_minute", "site_requests_per_minute"} {
		o := Options{APIKey: testAPIKey}
		if setting == "org_requests_per_minute" {
			o.OrgRequestsPerMinute = -5
		} else {
			o.SiteRequestsPerMinute = -5
		}
		err := o.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Setting != setting {
			t.Errorf("rate -5 for %s: error %v, want a ConfigError naming it", setting, err)
		}
	}
}

func TestPacerAppliesToItsHosts(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c := limitedClient(t, f, testOrgID, NoLimit, NoLimit)
	for _, tc := range []struct {
		name  string
		hosts []HostKind
		want  int
	}{
		// Directories reads two pages from the Admin API; SystemInfo
		// sends one request to the site.
		{"every host", nil, 3},
		{"admin hosts", []HostKind{HostAdminHub, HostAdminAPI}, 2},
		{"site host", []HostKind{HostSite}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			ctx := WithPacer(context.Background(), func(context.Context) error {
				calls++
				return nil
			}, tc.hosts...)
			if _, err := c.Directories(ctx, testOrgID); err != nil {
				t.Fatalf("directories: %v", err)
			}
			if _, err := c.SystemInfo(ctx, f.site.URL); err != nil {
				t.Fatalf("system info: %v", err)
			}
			if calls != tc.want {
				t.Errorf("pacer called %d times, want %d", calls, tc.want)
			}
		})
	}
}
