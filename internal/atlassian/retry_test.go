package atlassian

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfterForms(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 10, 0, time.UTC)
	cases := []struct {
		name, header, value string
		want                time.Duration
		ok                  bool
	}{
		{"seconds", "Retry-After", "7", 7 * time.Second, true},
		{"zero", "Retry-After", "0", 0, true},
		{"clamped", "Retry-After", "3600", maxRetryWait, true},
		{"absurd", "Retry-After", "99999999999999999999999", maxRetryWait, true},
		{"http date", "Retry-After", "Fri, 01 May 2026 12:00:25 GMT", 15 * time.Second, true},
		{"past date", "Retry-After", "Fri, 01 May 2026 11:00:00 GMT", 0, true},
		{"far date", "Retry-After", "Sat, 01 May 2027 12:00:00 GMT", maxRetryWait, true},
		{"garbage", "Retry-After", "soon", 0, false},
		{"negative", "Retry-After", "-5", 0, false},
		{"reset no seconds", "X-RateLimit-Reset", "2026-05-01T12:01+0000", 50 * time.Second,
			true},
		{"reset seconds", "X-RateLimit-Reset", "2026-05-01T12:00:40Z", 30 * time.Second, true},
		{"reset fraction", "X-RateLimit-Reset", "2026-05-01T12:00:40.500+00:00",
			30500 * time.Millisecond, true},
		{"reset offset", "X-RateLimit-Reset", "2026-05-01T14:00:40+0200", 30 * time.Second,
			true},
		{"reset clamped", "X-RateLimit-Reset", "2026-05-02T12:00Z", maxRetryWait, true},
		{"reset garbage", "X-RateLimit-Reset", "tomorrow", 0, false},
	}
	for _, tc := range cases {
		h := http.Header{}
		h.Set(tc.header, tc.value)
		got, ok := retryAfter(h, now)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: retryAfter(%s: %s) = %v, %v; want %v, %v", tc.name, tc.header,
				tc.value, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	zero := func() float64 { return 0 }
	one := func() float64 { return 1 }
	cases := []struct {
		attempt  int
		low, top time.Duration
	}{
		{2, 250 * time.Millisecond, 500 * time.Millisecond},
		{3, 500 * time.Millisecond, time.Second},
		{4, time.Second, 2 * time.Second},
		{20, 15 * time.Second, 30 * time.Second},
	}
	for _, tc := range cases {
		if got := backoff(tc.attempt, zero); got != tc.low {
			t.Errorf("backoff(%d, 0) = %v, want %v", tc.attempt, got, tc.low)
		}
		if got := backoff(tc.attempt, one); got != tc.top {
			t.Errorf("backoff(%d, 1) = %v, want %v", tc.attempt, got, tc.top)
		}
	}
}

// statusServer responds with statuses[i] for the i-th request, then 200
// with one directory.
func statusServer(t *testing.T, header http.Header, statuses ...int) (*httptest.Server,
	*atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if n <= len(statuses) {
			for k, v := range header {
				w.Header()[k] = v
			}
			writeJSON(w, statuses[n-1], map[string]any{"message": "slow down"})
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"directoryId": "d-1",
			"name": "Main"}}, "links": map[string]any{}})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	srv, calls := statusServer(t, http.Header{"Retry-After": {"7"}}, 429, 429)
	c, clock := apiKeyClient(t, srv)
	dirs, err := c.Directories(context.Background(), "o")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 1 || dirs[0].ID != "d-1" {
		t.Errorf("dirs = %+v", dirs)
	}
	if calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", calls.Load())
	}
	s := clock.Sleeps()
	if len(s) != 2 || s[0] != 7*time.Second || s[1] != 7*time.Second {
		t.Errorf("sleeps = %v, want [7s 7s]", s)
	}
}

func TestRetryRateLimitReset(t *testing.T) {
	srv, _ := statusServer(t, http.Header{"X-Ratelimit-Reset": {"2026-05-01T12:01+0000"}}, 429)
	c, clock := apiKeyClient(t, srv)
	if _, err := c.Directories(context.Background(), "o"); err != nil {
		t.Fatal(err)
	}
	if s := clock.Sleeps(); len(s) != 1 || s[0] != 50*time.Second {
		t.Errorf("sleeps = %v, want [50s]", s)
	}
}

func TestRetryBackoffOn5xx(t *testing.T) {
	srv, _ := statusServer(t, nil, 502, 503)
	c, clock := apiKeyClient(t, srv)
	if _, err := c.Directories(context.Background(), "o"); err != nil {
		t.Fatal(err)
	}
	s := clock.Sleeps()
	if len(s) != 2 || s[0] != 250*time.Millisecond || s[1] != 500*time.Millisecond {
		t.Errorf("sleeps = %v, want [250ms 500ms]", s)
	}
}

func TestRetryAttemptsBounded(t *testing.T) {
	srv, calls := statusServer(t, nil, 500, 500, 500, 500, 500, 500, 500, 500)
	c, _ := apiKeyClient(t, srv)
	_, err := c.Directories(context.Background(), "o")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 {
		t.Fatalf("error = %v, want HTTPError 500", err)
	}
	if calls.Load() != maxAttempts {
		t.Errorf("calls = %d, want %d", calls.Load(), maxAttempts)
	}
	if !strings.Contains(err.Error(), "directories") || !strings.Contains(err.Error(), "500") {
		t.Errorf("error does not name the route and status: %v", err)
	}
}

func TestRetryWaitCancelled(t *testing.T) {
	srv, calls := statusServer(t, http.Header{"Retry-After": {"60"}}, 429, 429)
	c, _ := apiKeyClient(t, srv)
	c.sleep = sleepContext // a real wait, so cancellation must cut it short
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err := c.Directories(ctx, "o")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled wait took %v", d)
	}
	if calls.Load() != 1 {
		t.Errorf("calls = %d, want 1", calls.Load())
	}
}

func TestRetryDroppedConnection(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{}, "links": map[string]any{}})
	}))
	defer srv.Close()
	c, _ := apiKeyClient(t, srv)
	if _, err := c.Directories(context.Background(), "o"); err != nil {
		t.Fatalf("Directories: %v", err)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", calls.Load())
	}
}

func TestRetryAfterRequestTimeout(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{}, "links": map[string]any{}})
	}))
	defer srv.Close()
	defer close(release)
	c, _ := apiKeyClient(t, srv)
	c.timeout = 100 * time.Millisecond
	if _, err := c.Directories(context.Background(), "o"); err != nil {
		t.Fatalf("Directories: %v", err)
	}
	if calls.Load() != 2 {
		t.Errorf("calls = %d, want 2", calls.Load())
	}
}

func TestAuthenticateNotRetried(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	f.authAnswer = "503"
	_, err := listOrgs(t, f.client(t, f.options(t)))
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 {
		t.Fatalf("error = %v, want HTTPError 503", err)
	}
	if f.authCalls != 1 {
		t.Errorf("authenticate calls = %d, want 1", f.authCalls)
	}
	var pe *PausedError
	if errors.As(err, &pe) {
		t.Errorf("an unavailable identity host paused the account")
	}
}

func TestHTMLResponseRejected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html>PRIVATE-PAGE-TEXT</html>"))
	}))
	defer srv.Close()
	c, _ := apiKeyClient(t, srv)
	_, err := c.Directories(context.Background(), "o")
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("error = %v, want HTTPError", err)
	}
	if he.Status != 200 || he.ContentType != "text/html" || he.Route != "directories" {
		t.Errorf("HTTPError = %+v", he)
	}
	if strings.Contains(err.Error(), "PRIVATE-PAGE-TEXT") {
		t.Errorf("error quotes the body: %v", err)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
	}))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	c, _ := apiKeyClient(t, srv)
	_, err := c.Directories(context.Background(), "o")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 302 {
		t.Fatalf("error = %v, want HTTPError 302", err)
	}
	if targetHits.Load() != 0 {
		t.Errorf("redirect target was requested")
	}
}

func TestCredentialsStayOnTheirHosts(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	o := f.options(t)
	o.APIKey, o.APIToken = testAPIKey, testAPIToken
	c := f.client(t, o)
	if err := c.Probe(context.Background()); err != nil {
		t.Fatalf("Probe with API key and token: %v", err)
	}
	o2 := f.options(t)
	c2 := f.client(t, o2)
	if err := c2.Probe(context.Background()); err != nil {
		t.Fatalf("Probe with a session: %v", err)
	}
	servers := map[string]int{}
	for _, r := range f.recorded() {
		servers[r.Server]++
		hasCookie := strings.Contains(r.Cookie, sessionCookie)
		switch r.Server {
		case "identity":
			if hasCookie || r.Authorization != "" {
				t.Errorf("identity request %s carries a credential", r.Path)
			}
		case "admin_hub":
			if !hasCookie || r.Authorization != "" {
				t.Errorf("admin hub request %s: cookie %v, authorization %v", r.Path, hasCookie,
					r.Authorization != "")
			}
		case "admin_api":
			if hasCookie || r.Authorization != "Bearer "+testAPIKey {
				t.Errorf("admin API request %s: cookie %v, wrong authorization", r.Path, hasCookie)
			}
		case "site":
			basic := strings.HasPrefix(r.Authorization, "Basic ")
			if hasCookie == basic || strings.HasPrefix(r.Authorization, "Bearer") {
				t.Errorf("site request %s: cookie %v, basic %v", r.Path, hasCookie, basic)
			}
		}
	}
	for _, s := range []string{"identity", "admin_hub", "admin_api", "site"} {
		if servers[s] == 0 {
			t.Errorf("no request reached %s", s)
		}
	}
}

func TestErrorCodeSanitized(t *testing.T) {
	cases := map[string]string{
		`{"errorCode":"invalid_otp"}`:                     "invalid_otp",
		`{"code":404,"message":"x"}`:                      "404",
		`{"errors":[{"code":"ADMIN-403"}]}`:               "ADMIN-403",
		`{"errorCode":"free text with secret inside it"}`: "",
		`{"message":"no code"}`:                           "",
		`not json`:                                        "",
	}
	for body, want := range cases {
		if got := errorCode([]byte(body)); got != want {
			t.Errorf("errorCode(%s) = %q, want %q", body, got, want)
		}
	}
}
