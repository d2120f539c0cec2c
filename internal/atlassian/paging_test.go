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

func TestPageTracker(t *testing.T) {
	var pt pageTracker
	for _, tok := range []string{"a", "b", "c"} {
		more, err := pt.next(tok)
		if err != nil || !more {
			t.Fatalf("next(%q) = %v, %v", tok, more, err)
		}
	}
	if more, err := pt.next(""); err != nil || more {
		t.Errorf("next(\"\") = %v, %v, want end", more, err)
	}
	if _, err := pt.next("b"); !errors.Is(err, ErrRepeatedCursor) {
		t.Errorf("next(repeated) error = %v, want ErrRepeatedCursor", err)
	}
}

func TestCursorFromNextURL(t *testing.T) {
	got, err := cursorFromNextURL("https://api.atlassian.com/admin/v1/orgs?cursor=abc%3D%3D")
	if err != nil || got != "abc==" {
		t.Errorf("cursor = %q, %v, want abc==", got, err)
	}
	if got, err := cursorFromNextURL(""); err != nil || got != "" {
		t.Errorf("empty next = %q, %v", got, err)
	}
	if _, err := cursorFromNextURL("https://api.atlassian.com/admin/v1/orgs"); err == nil {
		t.Error("a next URL without a cursor was accepted")
	}
}

func TestConfluenceNextQuery(t *testing.T) {
	const want = "/wiki/rest/api/group"
	for _, next := range []string{"/wiki/rest/api/group?start=50&limit=50",
		"/rest/api/group?start=50&limit=50"} {
		q, err := confluenceNextQuery(next, want)
		if err != nil {
			t.Errorf("%s: %v", next, err)
			continue
		}
		if q.Get("start") != "50" || q.Get("limit") != "50" {
			t.Errorf("%s: query = %v", next, q)
		}
	}
	for _, bad := range []string{"https://evil.example.com/wiki/rest/api/group?start=1",
		"//evil.example.com/wiki/rest/api/group", "/wiki/wiki/rest/api/group?start=1",
		"/wiki/rest/api/user?start=1"} {
		if _, err := confluenceNextQuery(bad, want); err == nil {
			t.Errorf("confluenceNextQuery(%q) accepted", bad)
		}
	}
	if q, err := confluenceNextQuery("", want); err != nil || q != nil {
		t.Errorf("empty next = %v, %v", q, err)
	}
}

// apiKeyClient returns a client of the API key route whose Admin API host
// is srv.
func apiKeyClient(t *testing.T, srv *httptest.Server) (*Client, *fakeClock) {
	t.Helper()
	clock := newFakeClock(t0)
	c, err := NewClient(Options{APIKey: testAPIKey, AdminAPIURL: srv.URL, Now: clock.Now,
		Email: testEmail, APIToken: testAPIToken, RequestTimeout: 5 * time.Second,
		OrgRequestsPerMinute: NoLimit, SiteRequestsPerMinute: NoLimit})
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = clock.Sleep
	c.jitter = func() float64 { return 0 }
	return c, clock
}

func TestRepeatedCursorStops(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 200, map[string]any{"data": []any{map[string]any{"directoryId": "d"}},
			"links": map[string]any{"next": "same"}})
	}))
	defer srv.Close()
	c, _ := apiKeyClient(t, srv)
	_, err := c.Directories(context.Background(), "o")
	if !errors.Is(err, ErrRepeatedCursor) {
		t.Fatalf("error = %v, want ErrRepeatedCursor", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

func TestConfluencePagingShortPages(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	var names []string
	err := c.SiteGroups(context.Background(), f.site.URL, func(g Group) bool {
		names = append(names, g.ID+"="+g.Name)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "sg-1=confluence-users,sg-2=site-admins" {
		t.Errorf("groups = %v", names)
	}
	var paths []string
	for _, r := range f.recorded() {
		paths = append(paths, r.Path+"?"+r.Query)
	}
	want := []string{"/wiki/rest/api/group?limit=50&start=0",
		"/wiki/rest/api/group?limit=50&start=1"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("requests = %v, want %v", paths, want)
	}
}

func TestConfluencePagingSiteURLWithWiki(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	n := 0
	err := c.SiteGroups(context.Background(), f.site.URL+"/wiki/", func(Group) bool {
		n++
		return true
	})
	if err != nil || n != 2 {
		t.Fatalf("groups = %d, %v", n, err)
	}
	for _, r := range f.recorded() {
		if strings.Contains(r.Path, "/wiki/wiki") {
			t.Errorf("doubled /wiki in %s", r.Path)
		}
	}
}
