package sqlengine

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
)

// listLimiters returns the rate limiters the SDK applied to the list call
// of test_item, read from the diagnostics of the hidden sp_ctx column.
func listLimiters(t *testing.T, e *Engine) []string {
	t.Helper()
	res := queryAll(t, e, "select sp_ctx from test_item limit 1")
	if len(res.Rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(res.Rows))
	}
	raw, ok := res.Rows[0][0].(string)
	if !ok {
		t.Fatalf("sp_ctx is %T, want a JSON string", res.Rows[0][0])
	}
	var ctxData struct {
		Diagnostics struct {
			Calls []struct {
				Type         string   `json:"type"`
				RateLimiters []string `json:"rate_limiters"`
			} `json:"calls"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(raw), &ctxData); err != nil {
		t.Fatalf("sp_ctx is not JSON: %v", err)
	}
	for _, c := range ctxData.Diagnostics.Calls {
		if c.Type == "list" {
			return c.RateLimiters
		}
	}
	t.Fatalf("sp_ctx has no list call: %s", raw)
	return nil
}

func TestRateLimitersReachPlugin(t *testing.T) {
	t.Setenv("STEAMPIPE_DIAGNOSTIC_LEVEL", "ALL")
	defs := []*proto.RateLimiterDefinition{{
		Name: "test_items", FillRate: 1000, BucketSize: 1000,
		Scope: []string{"connection"}, Where: "table = 'test_item'",
	}}
	e, err := Open(context.Background(), Options{
		PluginFunc:     newTestPlugin(newRecorder()),
		PluginName:     "local/test",
		ConnectionName: "test",
		RateLimiters:   defs,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	if got := listLimiters(t, e); !slices.Equal(got, []string{"test_items"}) {
		t.Errorf("list call limiters = %q, want [test_items]", got)
	}

	plain := openTestEngine(t, newRecorder(), testExactQual)
	if got := listLimiters(t, plain); len(got) != 0 {
		t.Errorf("without RateLimiters the list call has limiters %q, want none", got)
	}
}

func TestRateLimiterInvalidWhere(t *testing.T) {
	_, err := Open(context.Background(), Options{
		PluginFunc:     newTestPlugin(newRecorder()),
		PluginName:     "local/test",
		ConnectionName: "test",
		RateLimiters: []*proto.RateLimiterDefinition{{
			Name: "broken", FillRate: 1, BucketSize: 1, Where: "table = = 'x'",
		}},
	})
	if err == nil {
		t.Fatalf("Open accepted a limiter with an invalid where clause")
	}
	if !strings.Contains(err.Error(), "rate limiter") || !strings.Contains(err.Error(), "broken") {
		t.Errorf("error %q does not name the rate limiter", err)
	}
}
