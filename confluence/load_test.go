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
	// settings are added to each connection's config.
	settings string
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
		body := o.info.Config + "session_cache_path = \"" + cacheDir + "\"\n" + o.settings
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
func checkNoLeftGoroutines(t *testing.T, before map[string]string, servers, connections int) {
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
	if limit := 2*connections + servers; len(sdk) > limit {
		t.Errorf("%d SDK cache goroutines left for %d connections of %d plugin servers, "+
			"want at most %d", len(sdk), connections, servers, limit)
	}
	t.Logf("goroutines: %d before, %d now, of which %d are SDK caches",
		len(before), runtime.NumGoroutine(), len(sdk))
}

// TestLoadManyOrgsOneProcess runs three orgs with two connections each in
// one plugin server, with the plugin's default rate limiters, and sends
// two rounds of concurrent scans over every connection and table.
//
// The default org limiter, which both connections of an org share, lets
// them send 10 + 3*t Admin API requests in t seconds, plus the org list
// request that comes before the org id is known. That is under the
// roughly 200 a minute Atlassian was observed to allow an org, which is
// the limited org's figure here. So the limited org must reject no
// request, and its request count must stay within the shared limiter's.
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
		t.Logf("org %d: %d admin requests, %d rate limited", i, c.AdminRequests, c.RateLimited)
	}
	limited := orgs[0].emu.Counts()
	if limited.RateLimited != 0 {
		t.Errorf("the org limited to %d requests a minute rejected %d requests with 429",
			limitedPerMinute, limited.RateLimited)
	}
	// Each request but the org list waits for a token of the org's limiter.
	allowed := int64(1 + 10 + 3*elapsed.Seconds())
	if got := limited.AdminRequests; got > allowed {
		t.Errorf("two connections sent %d admin requests in %s, more than the org's "+
			"shared limiter allows (%d)", got, elapsed.Round(time.Millisecond), allowed)
	}

	for _, o := range orgs {
		if err := o.emu.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	}
	checkNoLeftGoroutines(t, before, 1, connections)
}

// sharedOrgRun is what one run of two connections of one org measured.
type sharedOrgRun struct {
	counts   emulator.Counts
	requests int64 // admin requests, 429s included
	elapsed  time.Duration
}

// runSharedOrg starts an org limited to perMinute requests a minute with
// a burst of 20, and two connections of it in one plugin server, each with
// settings and an Admin API limiter of sdkPerMinute with a burst of 10.
// Both connections read confluence_user_activity at once. The org lists
// its users without activity timestamps, so each inventory sends one
// last-active-dates request per user, 8 at a time per connection.
func runSharedOrg(t *testing.T, perMinute int, sdkPerMinute float32, settings string) sharedOrgRun {
	t.Helper()
	opts := emulator.Options{Users: 120, Seed: 31, OmitActivityTimestamps: true,
		RateLimitPerMinute: perMinute, RateLimitBurst: 20}
	org := startLoadOrg(t, opts, "load_shared", 2)
	org.settings = settings
	server := startLoadServer(t, []*loadOrg{org})

	var defs []*proto.RateLimiterDefinition
	for _, def := range rateLimiters() {
		d := &proto.RateLimiterDefinition{Name: def.Name, FillRate: 100000,
			BucketSize: 100000, Scope: def.Scope, Where: def.Where}
		if def.Name == adminAPILimiterName {
			d.FillRate, d.BucketSize = sdkPerMinute/60, 10
		}
		defs = append(defs, d)
	}
	if _, err := server.SetRateLimiters(&proto.SetRateLimitersRequest{Definitions: defs}); err != nil {
		t.Fatalf("set rate limiters: %v", err)
	}

	var queries []loadQuery
	for _, name := range org.conns {
		queries = append(queries, loadQuery{org: org, connection: name, table: loadTables[1]})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	started := time.Now()
	runLoad(t, ctx, server, "activity", queries)
	run := sharedOrgRun{counts: org.emu.Counts(), elapsed: time.Since(started)}
	run.requests = run.counts.AdminRequests
	if run.counts.SignIns != 1 {
		t.Errorf("%d sign-ins for one admin account, want 1", run.counts.SignIns)
	}
	if err := org.emu.Close(); err != nil {
		t.Errorf("close emulator: %v", err)
	}
	return run
}

// TestLoadTwoConnectionsShareOrgLimit runs two connections of one org
// twice. In the control run each connection is paced only by its own
// Admin API limiter at the org's rate, so together they send twice what
// the org allows and get 429s. That shows the org's limit is tight enough
// to catch a plugin that paces per connection. In the second run the
// connections set org_requests_per_minute to the org's rate, and the
// limiter they share keeps the pair within it. So no request gets a 429,
// and the run takes at least as long as the org's rate allows.
func TestLoadTwoConnectionsShareOrgLimit(t *testing.T) {
	clearConfigEnv(t)
	before := goroutineStacks()
	const perMinute = 1800
	perSecond := float64(perMinute) / 60

	control := runSharedOrg(t, perMinute, perMinute, LoopbackLimitSettings)
	t.Logf("per connection at %d a minute: %d admin requests, %d rejected with 429, in %s",
		perMinute, control.requests, control.counts.RateLimited,
		control.elapsed.Round(time.Millisecond))
	if control.counts.RateLimited == 0 {
		t.Errorf("two connections paced apart at the org's rate got no 429, so this org " +
			"cannot show whether the plugin shares the org's limit; send more requests")
	}

	shared := runSharedOrg(t, perMinute, 100000,
		fmt.Sprintf("org_requests_per_minute = %d\n", perMinute))
	t.Logf("sharing %d a minute: %d admin requests, %d rejected with 429, in %s",
		perMinute, shared.requests, shared.counts.RateLimited,
		shared.elapsed.Round(time.Millisecond))
	if shared.counts.RateLimited != 0 {
		t.Errorf("two connections sharing the org's limiter got %d responses 429, want 0",
			shared.counts.RateLimited)
	}
	// The shared limiter lets a burst of 10 pass at once and then one
	// request per token. The org list request, sent before the org id is
	// known, waits on no org limiter.
	floor := time.Duration(float64(shared.requests-10-1) / perSecond * float64(time.Second))
	if shared.elapsed < floor*9/10 {
		t.Errorf("two connections sent %d admin requests in %s, faster than the floor of "+
			"%s that one limiter of %d a minute sets", shared.requests,
			shared.elapsed.Round(time.Millisecond), floor.Round(time.Millisecond), perMinute)
	}
	checkNoLeftGoroutines(t, before, 2, 4)
}
