package confluence

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	sdkgrpc "github.com/turbot/steampipe-plugin-sdk/v5/grpc"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// loadOrg is one emulated org of a load test with the plugin connections
// that read it. Each emulator has its own admin account.
type loadOrg struct {
	emu   *emulator.Emulator
	info  emulator.Info
	conns []string
}

// loadTable is a table a load test reads, with the columns it selects and
// the columns that identify a row.
type loadTable struct {
	name    string
	columns []string
	key     []string
}

var loadTables = []loadTable{
	{"confluence_user", []string{"account_id", "status", "org_id"}, []string{"account_id"}},
	{"confluence_user_activity", []string{"account_id", "product_key", "cloud_id", "org_id"},
		[]string{"account_id", "product_key", "cloud_id"}},
	// edition sends one request per site to the site's REST API.
	{"confluence_site", []string{"cloud_id", "url", "edition", "org_id"}, []string{"cloud_id"}},
	{"confluence_group", []string{"id", "name", "org_id"}, []string{"id"}},
}

// loadQuery is one Execute call of a load test.
type loadQuery struct {
	org        *loadOrg
	connection string
	table      loadTable
}

// loadNow is the data clock of every emulator of the load tests.
var loadNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// startLoadOrg starts an emulator for opts and names count connections for it.
func startLoadOrg(t *testing.T, opts emulator.Options, name string, count int) *loadOrg {
	t.Helper()
	opts.Now = loadNow
	emu, err := emulator.New(opts)
	if err != nil {
		t.Fatalf("create emulator %s: %v", name, err)
	}
	if err := emu.Start(); err != nil {
		t.Fatalf("start emulator %s: %v", name, err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	o := &loadOrg{emu: emu, info: emu.Info()}
	for i := 0; i < count; i++ {
		o.conns = append(o.conns, fmt.Sprintf("%s_%c", name, 'a'+i))
	}
	return o
}

// startLoadServer starts one plugin server with every connection of orgs.
// All connections share one session cache directory. The second and later
// connections of an org add org_id, so that their configs differ from the
// first one's while they sign in as the same admin.
func startLoadServer(t *testing.T, orgs []*loadOrg) *sdkgrpc.PluginServer {
	t.Helper()
	// The client logs each retry of a 429 as a warning. The emulator's
	// counts show those retries, so the test output keeps errors only.
	t.Setenv("STEAMPIPE_LOG_LEVEL", "ERROR")
	server := plugin.Server(&plugin.ServeOpts{PluginName: PluginName, PluginFunc: Plugin})
	cacheDir := t.TempDir()
	var configs []*proto.ConnectionConfig
	for _, o := range orgs {
		body := o.info.Config + "session_cache_path = \"" + cacheDir + "\"\n"
		for i, name := range o.conns {
			if i > 0 {
				body += "org_id = \"" + o.info.OrgID + "\"\n"
			}
			configs = append(configs, connectionConfig(name, body))
		}
	}
	res, err := server.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs: configs, MaxCacheSizeMb: 16})
	if err != nil {
		t.Fatalf("set connection configs: %v", err)
	}
	for name, msg := range res.FailedConnections {
		t.Fatalf("connection %s failed: %s", name, msg)
	}
	return server
}

// wantRows returns the number of rows table must return for the org.
func (o *loadOrg) wantRows(table string) int {
	org := o.emu.Org()
	switch table {
	case "confluence_user":
		return o.info.ConfluenceUsers
	case "confluence_user_activity":
		return len(wantActivity(org, false))
	case "confluence_site":
		return len(org.ConfluenceSites())
	case "confluence_group":
		return len(org.Groups)
	}
	return -1
}

// adminRequests returns the requests the org's admin hub and Admin API
// routes received, including those rejected with 429. These routes share
// the emulator's per-org rate limit.
func adminRequests(c emulator.Counts) int64 {
	var n int64
	for _, route := range []string{emulator.RouteOrgs, emulator.RouteDirectories,
		emulator.RouteWorkspaces, emulator.RouteUsersSearch, emulator.RouteLastActive,
		emulator.RouteGroupsSearch} {
		n += c.Requests[route]
	}
	return n
}

// executeLoad runs one scan and returns its rows. It returns failures as
// errors, because it runs outside the test goroutine.
func executeLoad(ctx context.Context, server *sdkgrpc.PluginServer, callID string,
	q loadQuery) ([]map[string]*proto.Column, error) {
	req := &proto.ExecuteRequest{
		Table:        q.table.name,
		QueryContext: proto.NewQueryContext(q.table.columns, nil, -1, nil),
		Connection:   q.connection,
		CallId:       callID,
		ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{
			q.connection: {CacheEnabled: false},
		},
	}
	stream := &rowStream{ctx: ctx}
	err := server.Execute(req, stream)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("scan timed out: %w", ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	rows := make([]map[string]*proto.Column, 0, len(stream.rows))
	for _, r := range stream.rows {
		rows = append(rows, r.Columns)
	}
	return rows, nil
}

// checkLoadRows returns what is wrong with the rows of one scan: a row
// count other than the org's, a duplicate row, or a row of another org.
func checkLoadRows(q loadQuery, rows []map[string]*proto.Column) []string {
	var problems []string
	if want := q.org.wantRows(q.table.name); len(rows) != want {
		problems = append(problems, fmt.Sprintf("got %d rows, want %d", len(rows), want))
	}
	seen := map[string]bool{}
	for _, row := range rows {
		var parts []string
		for _, column := range q.table.key {
			parts = append(parts, row[column].GetStringValue())
		}
		key := strings.Join(parts, " ")
		if seen[key] {
			problems = append(problems, "row "+key+" returned twice")
		}
		seen[key] = true
		if got := row["org_id"].GetStringValue(); got != q.org.info.OrgID {
			problems = append(problems, fmt.Sprintf("row %s has org_id %q, want %q", key, got,
				q.org.info.OrgID))
		}
	}
	return problems
}

// runLoad runs every query at once and reports each failed or wrong scan
// as a test error.
func runLoad(t *testing.T, ctx context.Context, server *sdkgrpc.PluginServer, round string,
	queries []loadQuery) {
	t.Helper()
	failures := make([]string, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			callID := fmt.Sprintf("%s-%s-%d", t.Name(), round, i)
			rows, err := executeLoad(ctx, server, callID, q)
			if err != nil {
				failures[i] = err.Error()
				return
			}
			if problems := checkLoadRows(q, rows); len(problems) > 0 {
				failures[i] = strings.Join(problems[:min(len(problems), 3)], "; ")
			}
		}()
	}
	wg.Wait()
	for i, f := range failures {
		if f != "" {
			t.Errorf("%s query %d, %s on %s: %s", round, i, queries[i].table.name,
				queries[i].connection, f)
		}
	}
}

// goroutineStacks returns the stack of every goroutine, keyed by the
// goroutine's header line ("goroutine 12 [select]:" without the state).
func goroutineStacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	stacks := map[string]string{}
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		header, _, _ := strings.Cut(string(block), " [")
		stacks[header] = string(block)
	}
	return stacks
}

// processLifetimeCreators are the functions that start the goroutines the
// SDK v5.14.1 keeps for as long as its plugin runs: two per connection
// cache (ristretto), created on a connection's first query, and the query
// cache's cleaner (bigcache). The SDK has no call that stops them.
var processLifetimeCreators = []string{
	"created by github.com/dgraph-io/ristretto.",
	"created by github.com/allegro/bigcache/v3.",
}

// newGoroutines returns the stacks of the goroutines that are not in
// before, split into those the SDK keeps for the plugin's lifetime and
// the others.
func newGoroutines(before map[string]string) (sdk, others []string) {
	for header, stack := range goroutineStacks() {
		if _, old := before[header]; old || strings.Contains(stack, "runtime.Stack(") {
			continue
		}
		lifetime := false
		for _, creator := range processLifetimeCreators {
			lifetime = lifetime || strings.Contains(stack, creator)
		}
		if lifetime {
			sdk = append(sdk, stack)
		} else {
			others = append(others, stack)
		}
	}
	return sdk, others
}

// checkNoLeftGoroutines waits up to 5 s for every goroutine started since
// before to end, except the SDK's own long-lived ones, of which it allows
// at most two per connection and one for the query cache.
func checkNoLeftGoroutines(t *testing.T, before map[string]string, connections int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var sdk, others []string
	for {
		sdk, others = newGoroutines(before)
		if len(others) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, stack := range others[:min(len(others), 5)] {
		t.Errorf("goroutine left running after the queries ended:\n%s", stack)
	}
	if len(others) > 5 {
		t.Errorf("%d more goroutines left running", len(others)-5)
	}
	if limit := 2*connections + 1; len(sdk) > limit {
		t.Errorf("%d SDK cache goroutines left for %d connections, want at most %d",
			len(sdk), connections, limit)
	}
	t.Logf("goroutines: %d before, %d now, of which %d are SDK caches",
		len(before), runtime.NumGoroutine(), len(sdk))
}

// TestLoadManyOrgsOneProcess runs three orgs with two connections each in
// one plugin server, with the plugin's default rate limiters, and sends
// two rounds of concurrent scans over every connection and table.
//
// The default Admin API limiter gives each connection 3 requests a second
// with a burst of 10. The two connections of one org may therefore send
// 20 + 6*t requests in t seconds, which is 360 a minute once the bursts
// are spent. That is above the roughly 200 a minute Atlassian was
// observed to allow an org, the figure the limited org here uses. The
// emulator's limit is a bucket of one minute's requests that starts full,
// so two connections at full speed would first get a 429 after about
// (200-20)/(6-200/60) = 68 s of scanning. The two rounds send about 20
// requests per org and end in seconds. So the limited org must reject no
// request, and its request count must stay within what the two limiters
// allow.
//
// NOTE: a sign-in that starts less than 5 s before its TOTP step ends
// waits for the next step, so about one run in six takes 5 s longer.
func TestLoadManyOrgsOneProcess(t *testing.T) {
	clearConfigEnv(t)
	before := goroutineStacks()
	started := time.Now()

	const limitedPerMinute = 200
	orgs := make([]*loadOrg, 3)
	for i := range orgs {
		opts := emulator.Options{Users: 400, Seed: int64(21 + i)}
		if i == 0 {
			opts.RateLimitPerMinute = limitedPerMinute
		}
		orgs[i] = startLoadOrg(t, opts, fmt.Sprintf("load_org%d", i), 2)
	}
	server := startLoadServer(t, orgs)

	var queries []loadQuery
	connections := 0
	for _, o := range orgs {
		connections += len(o.conns)
		for _, name := range o.conns {
			for _, table := range loadTables {
				queries = append(queries, loadQuery{org: o, connection: name, table: table})
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The first round signs in and builds each connection's inventory. The
	// second reads the cached inventory and scans sites and groups again.
	runLoad(t, ctx, server, "first", queries)
	runLoad(t, ctx, server, "second", queries)
	elapsed := time.Since(started)
	t.Logf("%d queries on %d connections took %s", 2*len(queries), connections, elapsed)

	for i, o := range orgs {
		c := o.emu.Counts()
		if c.SignIns != 1 {
			t.Errorf("org %d: %d sign-ins for one admin account, want 1", i, c.SignIns)
		}
		t.Logf("org %d: %d admin requests, %d rate limited", i, adminRequests(c), c.RateLimited)
	}
	limited := orgs[0].emu.Counts()
	if limited.RateLimited != 0 {
		t.Errorf("the org limited to %d requests a minute rejected %d requests with 429",
			limitedPerMinute, limited.RateLimited)
	}
	// Each request waits for a token of its connection's limiter.
	allowed := int64(2 * (10 + 3*elapsed.Seconds()))
	if got := adminRequests(limited); got > allowed {
		t.Errorf("two connections sent %d admin requests in %s, more than their "+
			"limiters allow (%d)", got, elapsed.Round(time.Millisecond), allowed)
	}

	for _, o := range orgs {
		if err := o.emu.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	}
	checkNoLeftGoroutines(t, before, connections)
}

// TestLoadTwoConnectionsShareOrgLimit gives each connection an Admin API
// limiter equal to the org's limit: a bucket of perMinute tokens that
// refills at perMinute a minute. That is the emulator's own model, so one
// connection alone never gets a 429. The SDK keeps one limiter per
// connection, though, and the plugin has no limiter per org, so two
// connections of one org together may send twice the org's limit.
//
// The org lists its users without activity timestamps, so each
// connection's inventory costs one last-active-dates request per user and
// a few more, and perMinute is set 50 requests under two inventories.
// The org therefore rejects some requests with 429, and the test checks
// that the client's retries still give every query its exact rows.
func TestLoadTwoConnectionsShareOrgLimit(t *testing.T) {
	clearConfigEnv(t)
	before := goroutineStacks()
	started := time.Now()

	opts := emulator.Options{Users: 800, Seed: 31, Now: loadNow, OmitActivityTimestamps: true}
	probe, err := emulator.New(opts)
	if err != nil {
		t.Fatalf("create emulator: %v", err)
	}
	// Each emulator built from opts generates this same org.
	perInventory := probe.Org().ConfluenceUsers()
	perMinute := 2*perInventory - 50
	if perMinute < 8*60 {
		t.Fatalf("limit of %d requests a minute refills fewer than 8 tokens a second, "+
			"which the bound on 429 answers below needs; use a larger org", perMinute)
	}
	opts.RateLimitPerMinute = perMinute
	single := startLoadOrg(t, opts, "load_single", 1)
	shared := startLoadOrg(t, opts, "load_shared", 2)
	server := startLoadServer(t, []*loadOrg{single, shared})

	var defs []*proto.RateLimiterDefinition
	for _, def := range rateLimiters() {
		d := &proto.RateLimiterDefinition{Name: def.Name, FillRate: 100000,
			BucketSize: 100000, Scope: def.Scope, Where: def.Where}
		if def.Name == adminAPILimiterName {
			d.FillRate, d.BucketSize = float32(perMinute)/60, int64(perMinute)
		}
		defs = append(defs, d)
	}
	if _, err := server.SetRateLimiters(&proto.SetRateLimitersRequest{Definitions: defs}); err != nil {
		t.Fatalf("set rate limiters: %v", err)
	}

	activity := loadTables[1]
	queries := []loadQuery{{org: single, connection: single.conns[0], table: activity}}
	for _, name := range shared.conns {
		queries = append(queries, loadQuery{org: shared, connection: name, table: activity})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runLoad(t, ctx, server, "activity", queries)

	singleCounts, sharedCounts := single.emu.Counts(), shared.emu.Counts()
	t.Logf("limit %d a minute. One connection: %d admin requests, %d rejected with 429. "+
		"Two connections: %d admin requests, %d rejected with 429. Took %s.", perMinute,
		adminRequests(singleCounts), singleCounts.RateLimited, adminRequests(sharedCounts),
		sharedCounts.RateLimited, time.Since(started).Round(time.Millisecond))
	if singleCounts.RateLimited != 0 {
		t.Errorf("one connection paced at the org's limit got %d responses 429, want 0",
			singleCounts.RateLimited)
	}
	if adminRequests(singleCounts) > int64(perMinute) {
		t.Errorf("one inventory sent %d admin requests, more than the limit of %d, so the "+
			"single connection's run does not show that it stays within the limit",
			adminRequests(singleCounts), perMinute)
	}
	// The two connections need about 70 tokens more than the bucket
	// holds: 50 by the choice of perMinute and the requests besides the
	// per-user ones. The bucket refills about 19 a second, and the two
	// inventories take well under a second to send when nothing waits.
	if sharedCounts.RateLimited == 0 {
		t.Errorf("two connections of one org got no 429 although together they sent " +
			"more than the org's limit; the plugin may now pace per org, so update this test")
	}
	// Every request beyond the bucket waits for a refilled token. At most
	// 8 requests are in flight (activityConcurrency per connection), and
	// each retries after Retry-After, which is at least 1 s. The bucket
	// refills more than 8 tokens a second meanwhile, so most requests
	// beyond the bucket get one 429 or none.
	beyond := adminRequests(sharedCounts) - sharedCounts.RateLimited - int64(perMinute)
	if sharedCounts.RateLimited > 3*max(beyond, 0) {
		t.Errorf("two connections got %d responses 429 for %d requests beyond the org's "+
			"bucket, want at most %d", sharedCounts.RateLimited, beyond, 3*max(beyond, 0))
	}
	for _, o := range []*loadOrg{single, shared} {
		if got := o.emu.Counts().SignIns; got != 1 {
			t.Errorf("%s: %d sign-ins for one admin account, want 1", o.conns[0], got)
		}
		if err := o.emu.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	}
	checkNoLeftGoroutines(t, before, 3)
}
