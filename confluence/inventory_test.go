package confluence

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/rate_limiter"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// setNow fixes the plugin's query clock for the test.
func setNow(t *testing.T, at time.Time) {
	t.Helper()
	saved := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = saved })
}

// requests returns the emulator's request count of each route.
func (h *harness) requests() map[string]int64 {
	return h.emu.Counts().Requests
}

func TestInventoryCachedWithinTTL(t *testing.T) {
	h := startHarnessWith(t, harnessOptions{emulator: emulator.Options{Users: 300,
		OmitActivityTimestamps: true}})
	first := h.mustRun(t, scan{columns: allColumns, limit: -1})
	if len(first) != h.info.ConfluenceUsers {
		t.Fatalf("got %d rows, want %d", len(first), h.info.ConfluenceUsers)
	}
	built := h.requests()
	if built[emulator.RouteUsersSearch] == 0 || built[emulator.RouteLastActive] == 0 {
		t.Fatalf("the first scan sent no user search or last-active request: %v", built)
	}

	// Every table and qual below reads the cached inventory.
	target := first[0]["account_id"].GetStringValue()
	scans := []scan{
		{columns: allColumns, limit: -1},
		{columns: []string{"account_id", "status"}, quals: map[string]string{"status": "active"},
			limit: -1},
		{columns: []string{"account_id"}, quals: map[string]string{"account_id": target},
			limit: -1},
		{columns: []string{"account_id"}, limit: 5},
		{table: "confluence_user_activity", columns: activityColumnNames, limit: -1},
		{table: "confluence_user_activity", columns: activityColumnNames,
			quals: map[string]string{"account_id": target}, limit: -1},
		{table: "confluence_site", columns: []string{"cloud_id", "url"}, limit: -1},
	}
	for _, s := range scans {
		rows := h.mustRun(t, s)
		if len(rows) == 0 {
			t.Errorf("scan %+v returned no rows", s)
		}
	}
	after := h.requests()
	for _, route := range []string{emulator.RouteUsersSearch, emulator.RouteLastActive,
		emulator.RouteWorkspaces} {
		if after[route] != built[route] {
			t.Errorf("queries within the TTL sent %d new %s requests, want 0",
				after[route]-built[route], route)
		}
	}

	// Past the TTL the next full scan reads the org again.
	setNow(t, time.Now().Add(DefaultInventoryCacheTTL+time.Minute))
	h.mustRun(t, scan{columns: []string{"account_id"}, limit: -1})
	if got := h.requests()[emulator.RouteUsersSearch]; got == after[emulator.RouteUsersSearch] {
		t.Errorf("a scan after the TTL sent no user search request")
	}
}

func TestInventoryCacheOff(t *testing.T) {
	h := startHarness(t, 100)
	h.mustRun(t, scan{connection: noCacheConnection, columns: []string{"account_id"}, limit: -1})
	before := h.searchRequests()
	h.mustRun(t, scan{connection: noCacheConnection, columns: []string{"account_id"}, limit: -1})
	if h.searchRequests() == before {
		t.Errorf("with inventory_cache_ttl = 0 the second scan sent no user search request")
	}
}

func TestInventoryCacheSeparatePerConnection(t *testing.T) {
	h := startHarness(t, 100)
	h.mustRun(t, scan{columns: []string{"account_id"}, limit: -1})
	before := h.searchRequests()
	h.mustRun(t, scan{connection: apiKeyConnection, columns: []string{"account_id"}, limit: -1})
	if h.searchRequests() == before {
		t.Errorf("a second connection read the first connection's inventory")
	}
}

func TestCacheTTLSetting(t *testing.T) {
	cases := []struct {
		value string
		want  time.Duration
		bad   bool
	}{
		{"", DefaultInventoryCacheTTL, false},
		{"0", 0, false},
		{"900", 15 * time.Minute, false},
		{" 1h30m ", 90 * time.Minute, false},
		{"0s", 0, false},
		{"-5", 0, true},
		{"-1m", 0, true},
		{"soon", 0, true},
		{"99999999999999999", 0, true},
	}
	for _, tc := range cases {
		got, err := Config{InventoryCacheTTL: tc.value}.CacheTTL()
		if tc.bad {
			var ce *atlassian.ConfigError
			if !errors.As(err, &ce) || ce.Setting != "inventory_cache_ttl" {
				t.Errorf("CacheTTL(%q) error = %v, want a ConfigError for inventory_cache_ttl",
					tc.value, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CacheTTL(%q) = %v, %v, want %v", tc.value, got, err, tc.want)
		}
	}
}

func TestCacheTTLFromHCLAndEnvironment(t *testing.T) {
	clearConfigEnv(t)
	conn, err := parseConnection(t, "api_key = \"k\"\ninventory_cache_ttl = 120\n")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cfg, err := GetConfig(conn)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	if ttl, err := cfg.CacheTTL(); err != nil || ttl != 2*time.Minute {
		t.Errorf("inventory_cache_ttl = 120 gave %v, %v, want 2m", ttl, err)
	}

	t.Setenv("CONFLUENCE_INVENTORY_CACHE_TTL", "10m")
	conn, err = parseConnection(t, "api_key = \"k\"\n")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cfg, err = GetConfig(conn)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	if ttl, err := cfg.CacheTTL(); err != nil || ttl != 10*time.Minute {
		t.Errorf("CONFLUENCE_INVENTORY_CACHE_TTL=10m gave %v, %v, want 10m", ttl, err)
	}

	conn, err = parseConnection(t, "api_key = \"k\"\ninventory_cache_ttl = \"often\"\n")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if _, err := GetConfig(conn); err == nil {
		t.Errorf("GetConfig accepted inventory_cache_ttl = \"often\"")
	}
}

func TestEveryCallHasRateLimiter(t *testing.T) {
	p := Plugin(context.Background())
	defs := p.RateLimiters
	for _, def := range defs {
		if problems := def.Validate(); len(problems) > 0 {
			t.Errorf("limiter %s is invalid: %v", def.Name, problems)
		}
		if err := def.Initialise(); err != nil {
			t.Fatalf("limiter %s: %v", def.Name, err)
		}
		if len(def.Scope) == 0 || def.Scope[0] != rate_limiter.RateLimiterScopeConnection {
			t.Errorf("limiter %s has scope %q, want per connection", def.Name, def.Scope)
		}
	}
	// matching returns the names of the limiters whose where clause
	// selects a call with these tags.
	matching := func(tags map[string]string) []string {
		var names []string
		for _, def := range defs {
			values := map[string]string{rate_limiter.RateLimiterScopeConnection: "c"}
			for k, v := range tags {
				values[k] = v
			}
			if def.SatisfiesFilters(values) {
				names = append(names, def.Name)
			}
		}
		return names
	}
	for name, table := range p.TableMap {
		calls := map[string]map[string]string{}
		if table.List != nil {
			calls["list"] = table.List.Tags
		}
		if table.Get != nil {
			calls["get"] = table.Get.Tags
		}
		configured := map[string]bool{}
		for i, hc := range table.HydrateConfig {
			calls[fmt.Sprintf("hydrate %d", i)] = hc.Tags
			configured[hydrateName(hc.Func)] = true
		}
		for _, col := range table.Columns {
			if col.Hydrate != nil && !configured[hydrateName(col.Hydrate)] {
				t.Errorf("%s.%s: its hydrate function has no HydrateConfig with tags",
					name, col.Name)
			}
		}
		for call, tags := range calls {
			if got := matching(tags); len(got) != 1 {
				t.Errorf("%s %s call with tags %v matches limiters %q, want exactly one",
					name, call, tags, got)
			}
		}
	}
}

// hydrateName tells hydrate functions apart by their function name, as
// the SDK does.
func hydrateName(f plugin.HydrateFunc) string {
	return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
}
