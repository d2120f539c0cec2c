package atlassian

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// searchServer serves pages[i], raw JSON, as the v2 user search response
// to the i-th request.
func searchServer(t *testing.T, pages ...string) (*Client, *atomic.Int32, *[]map[string]any) {
	t.Helper()
	var calls atomic.Int32
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		raw, _ := io.ReadAll(r.Body)
		var b map[string]any
		_ = json.Unmarshal(raw, &b)
		bodies = append(bodies, b)
		w.Header().Set("Content-Type", "application/json")
		if n > len(pages) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"code":500,"message":"no more pages"}`))
			return
		}
		_, _ = w.Write([]byte(pages[n-1]))
	}))
	t.Cleanup(srv.Close)
	c, _ := apiKeyClient(t, srv)
	return c, &calls, &bodies
}

func TestSearchUsersShortPageAndMissingLinks(t *testing.T) {
	// The first page holds one user although 100 were requested, and
	// still has a next cursor; the second page has no links object at all.
	c, calls, bodies := searchServer(t,
		`{"data":[{"accountId":"a1"}],"links":{"next":"c2"}}`,
		`{"data":[{"accountId":"a2"},{"accountId":"a3"}]}`)
	var ids []string
	err := c.SearchUsers(context.Background(), testOrgID, UserSearch{}, func(u User) bool {
		ids = append(ids, u.AccountID)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[0] != "a1" || ids[2] != "a3" {
		t.Errorf("users = %v, want a1 a2 a3", ids)
	}
	if calls.Load() != 2 {
		t.Errorf("requests = %d, want 2", calls.Load())
	}
	if got := (*bodies)[1]["cursor"]; got != "c2" {
		t.Errorf("second request cursor = %v, want c2", got)
	}
}

func TestSearchUsersRepeatedCursor(t *testing.T) {
	c, calls, _ := searchServer(t,
		`{"data":[{"accountId":"a1"}],"links":{"next":"c2"}}`,
		`{"data":[{"accountId":"a2"}],"links":{"next":"c2"}}`)
	err := c.SearchUsers(context.Background(), testOrgID, UserSearch{},
		func(User) bool { return true })
	if !errors.Is(err, ErrRepeatedCursor) {
		t.Fatalf("error = %v, want ErrRepeatedCursor", err)
	}
	if calls.Load() != 2 {
		t.Errorf("requests = %d, want 2", calls.Load())
	}
}

func TestProductAccessHasTimestamp(t *testing.T) {
	c, _, _ := searchServer(t, `{"data":[{"accountId":"a1","productAccess":[
		{"key":"confluence","id":"ari:1","lastActiveTimestamp":"2026-01-02T03:04:05Z"},
		{"key":"confluence","id":"ari:2","lastActiveTimestamp":null},
		{"key":"confluence","id":"ari:3","lastActiveTimestamp":1767323045000},
		{"key":"confluence","id":"ari:4"}]}]}`)
	var pa []ProductAccess
	err := c.SearchUsers(context.Background(), testOrgID,
		UserSearch{Expand: []string{"productAccess"}}, func(u User) bool {
			pa = u.ProductAccess
			return true
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(pa) != 4 {
		t.Fatalf("entries = %+v, want 4", pa)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if !pa[0].HasTimestamp || pa[0].LastActive == nil || !pa[0].LastActive.Equal(want) {
		t.Errorf("ISO entry = %+v, want %v with HasTimestamp", pa[0], want)
	}
	if !pa[1].HasTimestamp || pa[1].LastActive != nil {
		t.Errorf("null entry = %+v, want never active (HasTimestamp, no time)", pa[1])
	}
	if !pa[2].HasTimestamp || pa[2].LastActive == nil || !pa[2].LastActive.Equal(want) {
		t.Errorf("epoch entry = %+v, want %v with HasTimestamp", pa[2], want)
	}
	if pa[3].HasTimestamp || pa[3].LastActive != nil {
		t.Errorf("entry without the field = %+v, want no HasTimestamp and no time", pa[3])
	}
}

func TestBulkActivityErrorOnlyForProductAccess(t *testing.T) {
	legacy := `{"code":"ADMIN-400-4","message":"not on this experience"}`
	for _, tc := range []struct {
		expand []string
		want   bool
	}{
		{[]string{"groups", "productAccess"}, true},
		{[]string{"groups"}, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(legacy))
		}))
		c, _ := apiKeyClient(t, srv)
		err := c.SearchUsers(context.Background(), testOrgID, UserSearch{Expand: tc.expand},
			func(User) bool { return true })
		srv.Close()
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != 400 || he.Code != "ADMIN-400-4" {
			t.Errorf("expand %v: error %v, want HTTPError 400 ADMIN-400-4", tc.expand, err)
		}
		if got := errors.Is(err, ErrBulkActivityUnsupported); got != tc.want {
			t.Errorf("expand %v: ErrBulkActivityUnsupported = %v, want %v", tc.expand, got,
				tc.want)
		}
	}
}
