package atlassian

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

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

func adminRequest(t *testing.T, c *Client, orgID string) *outgoing {
	t.Helper()
	o, err := c.newAdminRequest(EndpointDirectories, map[string]string{"orgId": orgID})
	if err != nil {
		t.Fatalf("build admin request: %v", err)
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

func TestSharedLimiterPerOrgAndHost(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	other := newFakeAtlassian(t, newFakeClock(t0))

	resolving := limitedClient(t, f, "", 0, 0)
	if l := resolving.limiterFor(adminRequest(t, resolving, testOrgID)); l != nil {
		t.Errorf("a client that has not resolved its org id waits on an org limiter")
	}
	// The org list request goes out while ResolveOrgID holds its lock, so
	// this also shows that looking up the limiter does not take that lock.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := resolving.ResolveOrgID(ctx); err != nil {
		t.Fatalf("resolve org id: %v", err)
	}
	configured := limitedClient(t, f, testOrgID, 0, 0)
	resolved := resolving.limiterFor(adminRequest(t, resolving, testOrgID))
	if resolved == nil {
		t.Fatal("no org limiter after the org id was resolved")
	}
	if got := configured.limiterFor(adminRequest(t, configured, testOrgID)); got != resolved {
		t.Errorf("two clients of one org and host wait on different limiters")
	}
	if got := resolved.Limit(); float64(got) != DefaultOrgRequestsPerMinute/60.0 {
		t.Errorf("default org limiter rate %v a second, want %v", got,
			DefaultOrgRequestsPerMinute/60.0)
	}

	otherOrg := limitedClient(t, f, "other-org", 0, 0)
	if got := otherOrg.limiterFor(adminRequest(t, otherOrg, "other-org")); got == resolved {
		t.Errorf("clients of two orgs share one limiter")
	}
	otherHost := limitedClient(t, other, testOrgID, 0, 0)
	if got := otherHost.limiterFor(adminRequest(t, otherHost, testOrgID)); got == resolved {
		t.Errorf("clients of one org id on two Admin API hosts share one limiter")
	}
	unlimited := limitedClient(t, f, testOrgID, NoLimit, NoLimit)
	if got := unlimited.limiterFor(adminRequest(t, unlimited, testOrgID)); got != nil {
		t.Errorf("a client with OrgRequestsPerMinute = NoLimit waits on an org limiter")
	}
	if got := unlimited.limiterFor(siteRequest(t, unlimited, f.site.URL)); got != nil {
		t.Errorf("a client with SiteRequestsPerMinute = NoLimit waits on a site limiter")
	}

	site := configured.limiterFor(siteRequest(t, configured, f.site.URL))
	if site == nil || site == resolved {
		t.Fatalf("site request limiter %p, want one of its own apart from the org's %p",
			site, resolved)
	}
	if got := otherOrg.limiterFor(siteRequest(t, otherOrg, f.site.URL+"/wiki")); got != site {
		t.Errorf("two clients of one site wait on different limiters")
	}
	if got := configured.limiterFor(siteRequest(t, configured, other.site.URL)); got == site {
		t.Errorf("two sites share one limiter")
	}
}

func TestSharedLimiterLowestRateWins(t *testing.T) {
	key := "test " + t.Name()
	l := sharedLimiter(key, 600, 10)
	if got := sharedLimiter(key, 60, 20); got != l {
		t.Fatal("a second call for one key returned a new limiter")
	}
	if l.Limit() != 1 || l.Burst() != 10 {
		t.Errorf("after 600 and 60 a minute: %v a second, burst %d; want 1 and 10",
			l.Limit(), l.Burst())
	}
	sharedLimiter(key, 6000, 5)
	if l.Limit() != 1 || l.Burst() != 5 {
		t.Errorf("after a higher rate and a smaller burst: %v a second, burst %d; "+
			"want 1 and 5", l.Limit(), l.Burst())
	}
	if small := sharedLimiter("test "+t.Name()+" small", 3, 10); small.Burst() != 3 {
		t.Errorf("3 a minute: burst %d, want 3, no more than one minute's requests",
			small.Burst())
	}
}

// TestSharedLimiterPacesTwoClients spends the org's burst of 10 with
// requests of two clients. A further request of either client must then
// wait about a second for a token at 60 a minute, which a context with a
// 100 ms deadline does not allow, while a client of another org still
// gets its answer.
func TestSharedLimiterPacesTwoClients(t *testing.T) {
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
	if errors.Is(err, context.Canceled) {
		t.Errorf("error %q says the query was cancelled", err)
	}

	// The fake serves any org id's directories under the test org only,
	// so a 404 shows the request was sent without waiting.
	free := limitedClient(t, f, "other-org-paced", 60, NoLimit)
	_, err = free.Directories(short, "other-org-paced")
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Errorf("a client of another org: error %v, want the fake's HTTP answer", err)
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
