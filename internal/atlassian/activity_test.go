package atlassian

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// activityServer serves last-active-dates for any account id. Ids listed
// in status get that status (JSON); block, when set, holds every request
// until it returns.
type activityServer struct {
	status map[string]int
	block  func(r *http.Request)

	mu       sync.Mutex
	inflight int
	maxSeen  int
	calls    atomic.Int32
}

func (s *activityServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	s.mu.Lock()
	s.inflight++
	s.maxSeen = max(s.maxSeen, s.inflight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()
	if s.block != nil {
		s.block(r)
	}
	parts := strings.Split(r.URL.Path, "/")
	id := parts[len(parts)-2]
	if st, ok := s.status[id]; ok {
		writeJSON(w, st, map[string]any{"code": st, "message": "no"})
		return
	}
	writeJSON(w, 200, map[string]any{"data": map[string]any{
		"product_access": []any{map[string]any{"id": "cloud-1", "key": "confluence",
			"last_active": "2026-04-30", "last_active_timestamp": "2026-04-30T08:00:00Z"}},
		"added_to_org": "2024-01-02"}, "links": map[string]any{}})
}

func (s *activityServer) maxInflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxSeen
}

func startActivityServer(t *testing.T, s *activityServer) *Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, _ := apiKeyClient(t, srv)
	return c
}

// manyGoroutines counts running goroutines started by LastActiveDatesMany.
func manyGoroutines() int {
	buf := make([]byte, 4<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "LastActiveDatesMany.func")
}

func accountIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "acc-" + strconv.Itoa(i)
	}
	return ids
}

func TestLastActiveDatesManyResults(t *testing.T) {
	s := &activityServer{status: map[string]int{"gone": 404, "hidden": 403}}
	c := startActivityServer(t, s)
	ids := append(accountIDs(10), "gone", "hidden")
	got := map[string]error{}
	err := c.LastActiveDatesMany(context.Background(), testOrgID, ids, 3,
		func(id string, la LastActive, err error) bool {
			if _, dup := got[id]; dup {
				t.Errorf("account %s reported twice", id)
			}
			got[id] = err
			if err == nil && (len(la.Products) != 1 || la.Products[0].LastActive == nil ||
				!la.Products[0].LastActive.Equal(time.Date(2026, 4, 30, 8, 0, 0, 0, time.UTC))) {
				t.Errorf("account %s: activity %+v", id, la)
			}
			return true
		})
	if err != nil {
		t.Fatalf("LastActiveDatesMany: %v", err)
	}
	if len(got) != len(ids) {
		t.Fatalf("reported %d accounts, want %d", len(got), len(ids))
	}
	for _, id := range []string{"gone", "hidden"} {
		err := got[id]
		var he *HTTPError
		if !errors.Is(err, ErrActivityUnknown) || !errors.As(err, &he) {
			t.Errorf("%s: error %v, want ErrActivityUnknown wrapping an HTTPError", id, err)
			continue
		}
		if want := s.status[id]; he.Status != want {
			t.Errorf("%s: status %d, want %d", id, he.Status, want)
		}
	}
	for _, id := range ids[:10] {
		if got[id] != nil {
			t.Errorf("%s: error %v", id, got[id])
		}
	}
	if n := manyGoroutines(); n != 0 {
		t.Errorf("%d goroutines still running after return", n)
	}
}

func TestLastActiveDatesManyConcurrency(t *testing.T) {
	for _, tc := range []struct{ asked, want, ids int }{
		{3, 3, 12}, {0, DefaultActivityConcurrency, 20}, {50, 5, 5},
	} {
		s := &activityServer{}
		// Hold each request until the expected number are in flight, so
		// that the maximum seen is the bound, not an accident of timing.
		s.block = func(r *http.Request) {
			deadline := time.Now().Add(5 * time.Second)
			for s.maxInflight() < tc.want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		}
		c := startActivityServer(t, s)
		n := 0
		err := c.LastActiveDatesMany(context.Background(), testOrgID, accountIDs(tc.ids), tc.asked,
			func(string, LastActive, error) bool {
				n++
				return true
			})
		if err != nil || n != tc.ids {
			t.Fatalf("concurrency %d: %d results, %v", tc.asked, n, err)
		}
		if got := s.maxInflight(); got != tc.want {
			t.Errorf("concurrency %d: %d requests in flight at most, want %d", tc.asked, got,
				tc.want)
		}
	}
}

func TestLastActiveDatesManyOtherErrorEnds(t *testing.T) {
	s := &activityServer{status: map[string]int{"broken": 500}}
	c := startActivityServer(t, s)
	ids := append([]string{"broken"}, accountIDs(30)...)
	err := c.LastActiveDatesMany(context.Background(), testOrgID, ids, 2,
		func(string, LastActive, error) bool { return true })
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 {
		t.Fatalf("error %v, want the HTTPError 500", err)
	}
	if errors.Is(err, ErrActivityUnknown) {
		t.Errorf("a server error was reported as unknown activity: %v", err)
	}
	if n := manyGoroutines(); n != 0 {
		t.Errorf("%d goroutines still running after return", n)
	}
}

func TestLastActiveDatesManyStopsEarly(t *testing.T) {
	s := &activityServer{}
	c := startActivityServer(t, s)
	n := 0
	err := c.LastActiveDatesMany(context.Background(), testOrgID, accountIDs(200), 4,
		func(string, LastActive, error) bool {
			n++
			return n < 3
		})
	if err != nil || n != 3 {
		t.Fatalf("stopped after %d calls, %v; want 3, nil", n, err)
	}
	// Three results and at most the four workers' requests in progress.
	if calls := s.calls.Load(); calls > 3+4 {
		t.Errorf("%d requests sent after fn stopped at 3", calls)
	}
	if n := manyGoroutines(); n != 0 {
		t.Errorf("%d goroutines still running after return", n)
	}
}

func TestLastActiveDatesManyCancelled(t *testing.T) {
	release := make(chan struct{})
	s := &activityServer{block: func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}}
	c := startActivityServer(t, s)
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for s.calls.Load() < 4 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := c.LastActiveDatesMany(ctx, testOrgID, accountIDs(50), 4,
		func(string, LastActive, error) bool {
			t.Error("fn called for a request that never finished")
			return true
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := manyGoroutines(); n != 0 {
		t.Errorf("%d goroutines still running after return", n)
	}
}

func TestLastActiveDatesManyEmpty(t *testing.T) {
	s := &activityServer{}
	c := startActivityServer(t, s)
	err := c.LastActiveDatesMany(context.Background(), testOrgID, nil, 0,
		func(string, LastActive, error) bool {
			t.Error("fn called without accounts")
			return true
		})
	if err != nil || s.calls.Load() != 0 {
		t.Errorf("no accounts: %v, %d requests", err, s.calls.Load())
	}
}

func TestPacerEveryAttempt(t *testing.T) {
	srv, calls := statusServer(t, http.Header{"Retry-After": {"1"}}, 429, 429)
	c, _ := apiKeyClient(t, srv)
	var paced atomic.Int32
	ctx := WithPacer(context.Background(), func(ctx context.Context) error {
		paced.Add(1)
		return nil
	})
	if _, err := c.Directories(ctx, "o"); err != nil {
		t.Fatal(err)
	}
	if paced.Load() != 3 || calls.Load() != 3 {
		t.Errorf("paced %d times for %d requests, want 3 and 3", paced.Load(), calls.Load())
	}
}

func TestPacerErrorAborts(t *testing.T) {
	srv, calls := statusServer(t, nil)
	c, _ := apiKeyClient(t, srv)
	stop := errors.New("limiter closed")
	ctx := WithPacer(context.Background(), func(context.Context) error { return stop })
	_, err := c.Directories(ctx, "o")
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want the pacer's error", err)
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests sent after the pacer failed", calls.Load())
	}
}

func TestRetryJitteredBackoffWithoutHint(t *testing.T) {
	srv, _ := statusServer(t, nil, 429, 429)
	c, clock := apiKeyClient(t, srv)
	c.jitter = func() float64 { return 0.5 }
	if _, err := c.Directories(context.Background(), "o"); err != nil {
		t.Fatal(err)
	}
	// Half of the base wait plus half of the jittered upper half.
	want := []time.Duration{375 * time.Millisecond, 750 * time.Millisecond}
	s := clock.Sleeps()
	if len(s) != 2 || s[0] != want[0] || s[1] != want[1] {
		t.Errorf("sleeps = %v, want %v", s, want)
	}
}
