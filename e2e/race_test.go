package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	sdkgrpc "github.com/turbot/steampipe-plugin-sdk/v5/grpc"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/shared"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// knownSDKRaces lists the functions of steampipe-plugin-sdk v5.14.1 that
// race with each other inside the SDK, whatever the plugin does. The
// streaming goroutine reads the query's counters in QueryData.streamRow
// with no lock, while the list goroutine counts rows in
// QueryData.streamLeafListItem and each row's goroutine counts hydrate
// calls with an atomic add in rowData.startAllHydrateCalls. A race report
// is accepted only when every access it shows has its top frame, below
// the runtime and sync/atomic, in one of these functions.
var knownSDKRaces = map[string]bool{
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*QueryData).streamRow":          true,
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*QueryData).streamLeafListItem": true,
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*rowData).startAllHydrateCalls": true,
}

// isLibraryFrame reports whether a frame is in the runtime or sync/atomic,
// which the race detector shows above the function that made the access.
func isLibraryFrame(function string) bool {
	return strings.HasPrefix(function, "sync/atomic.") || strings.HasPrefix(function, "runtime.") ||
		strings.HasPrefix(function, "internal/")
}

// raceReport is one "WARNING: DATA RACE" block of the race detector's log.
type raceReport struct {
	text string
	// tops are the top frame functions of the accesses below the runtime
	// and sync/atomic, the current one first and the previous one after it.
	tops []string
}

// accessHeader matches the line that starts an access of a race report,
// for example "Read at 0x00c000123456 by goroutine 42:" or
// "Previous write at 0x00c000123456 by goroutine 7:".
var accessHeader = regexp.MustCompile(`(?i)^(previous )?(atomic )?(read|write) at 0x[0-9a-f]+ by `)

// parseRaceReports splits a race detector log into its reports.
func parseRaceReports(log string) []raceReport {
	var reports []raceReport
	for _, block := range strings.Split(log, "==================") {
		if !strings.Contains(block, "WARNING: DATA RACE") {
			continue
		}
		r := raceReport{text: strings.TrimSpace(block)}
		scanner := bufio.NewScanner(strings.NewReader(block))
		wantFrame := false
		for scanner.Scan() {
			line := strings.TrimSpace(scanner.Text())
			switch {
			case accessHeader.MatchString(line):
				wantFrame = true
			case wantFrame && strings.HasSuffix(line, ")"):
				// A function line, such as "pkg.(*T).f()"; the file lines
				// below each function start with a path.
				function := strings.TrimSuffix(line, "()")
				if !isLibraryFrame(function) {
					r.tops = append(r.tops, function)
					wantFrame = false
				}
			}
		}
		reports = append(reports, r)
	}
	return reports
}

// known reports whether every access of r is in a known SDK race. A
// report whose accesses could not be read is not known.
func (r raceReport) known() bool {
	if len(r.tops) < 2 {
		return false
	}
	for _, top := range r.tops {
		if !knownSDKRaces[top] {
			return false
		}
	}
	return true
}

func TestRaceReportClassification(t *testing.T) {
	sdkRace := `
==================
WARNING: DATA RACE
Read at 0x00c0001a2b3c by goroutine 88:
  github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*QueryData).streamRow()
      /go/pkg/mod/github.com/turbot/steampipe-plugin-sdk/v5@v5.14.1/plugin/query_data.go:833 +0x64

Previous write at 0x00c0001a2b3c by goroutine 91:
  github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*QueryData).streamLeafListItem()
      /go/pkg/mod/github.com/turbot/steampipe-plugin-sdk/v5@v5.14.1/plugin/query_data.go:653 +0x1f0

Goroutine 88 (running) created at:
  github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*QueryData).streamRows()
==================
`
	ownRace := `
==================
WARNING: DATA RACE
Write at 0x00c000222222 by goroutine 12:
  github.com/confluence-finops/steampipe-plugin-confluence/confluence.(*inventory).add()
      /src/confluence/inventory.go:120 +0x44

Previous read at 0x00c000222222 by goroutine 13:
  github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*QueryData).streamRow()
      /go/pkg/mod/github.com/turbot/steampipe-plugin-sdk/v5@v5.14.1/plugin/query_data.go:833 +0x64
==================
`
	atomicRace := `
==================
WARNING: DATA RACE
Read at 0x00c0004d1e50 by goroutine 120:
  github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*QueryData).streamRow()
      /go/pkg/mod/github.com/turbot/steampipe-plugin-sdk/v5@v5.14.1/plugin/query_data.go:831 +0x44

Previous write at 0x00c0004d1e50 by goroutine 131:
  sync/atomic.AddInt64()
      /usr/local/go/src/runtime/race_amd64.s:289 +0xb
  github.com/turbot/steampipe-plugin-sdk/v5/plugin.(*rowData).startAllHydrateCalls()
      /go/pkg/mod/github.com/turbot/steampipe-plugin-sdk/v5@v5.14.1/plugin/row_data.go:94 +0x2c4
==================
`
	reports := parseRaceReports(sdkRace + ownRace + atomicRace)
	if len(reports) != 3 {
		t.Fatalf("parsed %d reports, want 3", len(reports))
	}
	if !reports[2].known() {
		t.Errorf("the SDK's hydrate counter race is not recognised: tops %q", reports[2].tops)
	}
	if !reports[0].known() {
		t.Errorf("the SDK's row counter race is not recognised: tops %q", reports[0].tops)
	}
	if reports[1].known() {
		t.Errorf("a race with a plugin frame passed as the SDK's: tops %q", reports[1].tops)
	}
	if len(reports[1].tops) != 2 || !strings.HasSuffix(reports[1].tops[0], "(*inventory).add") {
		t.Errorf("tops of the plugin race %q, want the inventory frame first", reports[1].tops)
	}
}

// buildRaceBinary builds the plugin with the race detector into dir.
func buildRaceBinary(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "steampipe-plugin-confluence-race")
	build := exec.Command("go", "build", "-race", "-o", path, ".")
	build.Dir = ".."
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("build with -race: %v\n%s", err, out)
	}
	version, err := exec.Command("go", "version", "-m", path).Output()
	if err != nil {
		t.Fatalf("read build settings: %v", err)
	}
	if !strings.Contains(string(version), "-race=true") {
		t.Fatalf("binary was built without the race detector:\n%s", version)
	}
	return path
}

// raceOrg is one emulated org of the race test and its connections.
type raceOrg struct {
	emu   *emulator.Emulator
	conns []string
}

// TestRaceManyConnectionsThroughGRPC builds the plugin with the race
// detector, launches it over go-plugin gRPC as Steampipe does, and runs
// two rounds of concurrent scans of every table over three connections of
// two orgs. Every scan must return its org's rows, each admin account
// must sign in once, the rate-limited org must reject no request, and the
// race detector's log must hold no report beyond the SDK's own row
// counter race.
func TestRaceManyConnectionsThroughGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin with the race detector")
	}
	dir := t.TempDir()
	raceBinary := buildRaceBinary(t, dir)
	raceLog := filepath.Join(dir, "race")

	// The first org lists its users without activity timestamps, so each
	// connection's inventory sends one request per user, and it limits
	// its Admin API to orgPerMinute requests a minute. Both connections
	// set the same figure, so the limiter they share must keep the pair
	// within it, while two limiters apart would send twice as fast. The
	// emulator's burst of 100 absorbs up to 1.5 s of delay between the
	// plugin taking a token and the request arriving, which the race
	// detector's slowdown can cause.
	const orgPerMinute = 3600
	orgs := []*raceOrg{{conns: []string{"race_a1", "race_a2"}}, {conns: []string{"race_b1"}}}
	var configs []*proto.ConnectionConfig
	for i, o := range orgs {
		opts := emulator.Options{Users: 300, Seed: int64(40 + i),
			Now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
		settings := confluence.LoopbackLimitSettings
		if i == 0 {
			opts.Users, opts.OmitActivityTimestamps = 200, true
			opts.RateLimitPerMinute, opts.RateLimitBurst = orgPerMinute, 100
			settings = fmt.Sprintf("org_requests_per_minute = %d\n", orgPerMinute)
		}
		emu, err := emulator.New(opts)
		if err != nil {
			t.Fatalf("create emulator: %v", err)
		}
		if err := emu.Start(); err != nil {
			t.Fatalf("start emulator: %v", err)
		}
		t.Cleanup(func() { emu.Close() })
		o.emu = emu
		body := emu.Info().Config + "\nsession_cache_path = \"" + filepath.Join(dir, "sessions") +
			"\"\n" + settings
		for _, name := range o.conns {
			configs = append(configs, &proto.ConnectionConfig{Connection: name,
				Plugin: "local/confluence", PluginShortName: "confluence", Config: body,
				PluginInstance: "local/confluence"})
		}
	}

	cmd := exec.Command(raceBinary)
	cmd.Env = append(cmd.Environ(), "STEAMPIPE_LOG_LEVEL=WARN",
		"GORACE=log_path="+raceLog+" halt_on_error=0")
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  shared.Handshake,
		Plugins:          map[string]goplugin.Plugin{pluginName: &shared.WrapperPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Level: hclog.Error, Output: io.Discard}),
		StartTimeout:     2 * time.Minute,
	})
	defer client.Kill()
	pc, err := sdkgrpc.NewPluginClient(client, pluginName)
	if err != nil {
		t.Fatalf("start the race-detecting plugin over gRPC: %v", err)
	}
	if _, err := pc.Stub.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs: configs, MaxCacheSizeMb: 64}); err != nil {
		t.Fatalf("set connection configs: %v", err)
	}
	if _, err := pc.SetRateLimiters(&proto.SetRateLimitersRequest{
		Definitions: confluence.LoopbackRateLimiters()}); err != nil {
		t.Fatalf("set rate limiters: %v", err)
	}

	tables := map[string][]string{
		"confluence_user":          {"account_id", "status", "groups"},
		"confluence_user_activity": {"account_id", "cloud_id", "last_active"},
		"confluence_site":          {"cloud_id", "edition"},
		"confluence_group":         {"id", "name"},
		"confluence_group_member":  {"group_id", "account_id"},
		"confluence_license":       {"cloud_id", "seats_bought"},
		"confluence_spend":         {"account_id", "cloud_id", "amount_monthly"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// rows holds the row count of each scan, by round, connection and table.
	type key struct{ round, conn, table string }
	var mu sync.Mutex
	rows := map[key]int{}
	for _, round := range []string{"first", "second"} {
		var wg sync.WaitGroup
		for _, o := range orgs {
			for _, conn := range o.conns {
				for table, columns := range tables {
					wg.Add(1)
					go func() {
						defer wg.Done()
						n, err := countRows(ctx, pc, conn, table, columns, round)
						if err != nil {
							t.Errorf("%s round, %s on %s: %v", round, table, conn, err)
							return
						}
						mu.Lock()
						rows[key{round, conn, table}] = n
						mu.Unlock()
					}()
				}
			}
		}
		wg.Wait()
	}

	for _, o := range orgs {
		info := o.emu.Info()
		org := o.emu.Org()
		exact := map[string]int{"confluence_user": info.ConfluenceUsers,
			"confluence_site": len(org.ConfluenceSites()), "confluence_group": len(org.Groups)}
		first := o.conns[0]
		for _, round := range []string{"first", "second"} {
			for _, conn := range o.conns {
				for table := range tables {
					got := rows[key{round, conn, table}]
					want, isExact := exact[table]
					if !isExact {
						want = rows[key{"first", first, table}]
					}
					if got != want || got == 0 {
						t.Errorf("%s round, %s on %s: %d rows, want %d (and more than 0)",
							round, table, conn, got, want)
					}
				}
			}
		}
		if got := o.emu.Counts().SignIns; got != 1 {
			t.Errorf("org of %s: %d sign-ins for one admin account, want 1", first, got)
		}
	}
	if got := orgs[0].emu.Counts().RateLimited; got != 0 {
		t.Errorf("two connections sharing the org's limiter of %d a minute got %d "+
			"responses 429, want 0", orgPerMinute, got)
	}

	client.Kill()
	reports := readRaceReports(t, dir)
	var known int
	for _, r := range reports {
		if r.known() {
			known++
			continue
		}
		t.Errorf("data race outside the SDK's known races:\n%s", r.text)
	}
	// Every scan that returns rows races in the SDK, so a log without that
	// race means the detector's reports went somewhere else.
	if known == 0 {
		t.Errorf("the race detector logged none of the SDK's known races in %d scans; "+
			"check that GORACE log_path reaches the plugin", len(rows))
	}
	t.Logf("%d scans; race detector: %d reports, %d of them the SDK's known races; "+
		"rate-limited org: %d admin requests", len(rows), len(reports), known,
		orgs[0].emu.Counts().AdminRequests)
}

// countRows runs one scan over gRPC and returns its row count, or the
// stream's error, so that a failed scan cannot pass as a short one.
func countRows(ctx context.Context, pc *sdkgrpc.PluginClient, conn, table string,
	columns []string, round string) (int, error) {
	qc := proto.NewQueryContext(columns, map[string]*proto.Quals{}, -1, nil)
	stream, _, cancel, err := pc.Execute(&proto.ExecuteRequest{
		Table: table, QueryContext: qc, Connection: conn,
		CallId: fmt.Sprintf("race-%s-%s-%s", round, conn, table),
		ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{
			conn: {CacheEnabled: false}},
	})
	if err != nil {
		return 0, err
	}
	defer cancel()
	n := 0
	for ctx.Err() == nil {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if resp.Row != nil {
			n++
		}
	}
	return n, ctx.Err()
}

// readRaceReports reads every race log the plugin process wrote in dir
// (the race detector appends the process id to log_path).
func readRaceReports(t *testing.T, dir string) []raceReport {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "race.*"))
	if err != nil {
		t.Fatalf("list race logs: %v", err)
	}
	var reports []raceReport
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read race log: %v", err)
		}
		reports = append(reports, parseRaceReports(string(data))...)
	}
	return reports
}
