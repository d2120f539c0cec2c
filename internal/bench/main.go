// Command bench measures how the client reads Confluence activity in bulk
// against the bundled emulator, and exits non-zero when a target is missed.
//
// Run it from the repository root with `make bench`. It runs two
// benchmarks, both through the client's own calls:
//
//   - requests: on a small org, the requests of the bulk path against
//     those of the per-user path, both reading all users with Confluence
//     access. The bulk path is the v2 user search expanding
//     productAccess, 100 users a page. The per-user path is the same
//     search without productAccess, then one last-active-dates request
//     per user. Target: the per-user path needs at least 40 times as
//     many requests. The two paths must also agree on every date the
//     bulk path reports.
//   - pacing: on a large org whose emulator limits the Admin API to a
//     number of requests a minute (a token bucket that holds one minute
//     of requests at -rate-limit), each path's wall time against the
//     floor its limit sets. The bulk path runs at -rate-limit. The
//     per-user path runs at -per-user-rate-limit with the same burst,
//     because at -rate-limit it would take hours; its floor at
//     -rate-limit is printed. The client paces itself with a
//     golang.org/x/time/rate limiter of the emulator's rate and burst.
//     Targets: at most 1.2 times the floor, and at least 40 times fewer
//     requests on the bulk path.
//
// Then, unless -skip-scan is set, it compares full confluence_user scans
// (scan.go) and measures the plugin's peak memory (memory.go).
//
// Requests are counted by the emulator's counts endpoint.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// Targets.
const (
	minRequestRatio = 40.0
	maxFloorRatio   = 1.2
)

// dataNow fixes the generated orgs, so that every run measures the same data.
var dataNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

type config struct {
	smallUsers int
	largeUsers int
	perMinute  int
	// perUserPerMinute is the emulator's limit while the per-user path
	// reads the large org, raised so that the run takes minutes, not hours.
	perUserPerMinute int
	seed             int64
	out              string
	skipLarge        bool
}

func main() {
	var cfg config
	flag.IntVar(&cfg.smallUsers, "small-users", 2000, "users of the org of the requests benchmark")
	flag.IntVar(&cfg.largeUsers, "large-users", 50000, "users of the org of the pacing benchmark")
	flag.IntVar(&cfg.perMinute, "rate-limit", 200,
		"requests a minute the emulator accepts in the pacing benchmark")
	flag.IntVar(&cfg.perUserPerMinute, "per-user-rate-limit", 24000,
		"requests a minute the emulator accepts while the per-user path reads the large org, "+
			"with the same burst as -rate-limit")
	flag.Int64Var(&cfg.seed, "seed", 1, "seed of the generated orgs")
	flag.StringVar(&cfg.out, "out", "bench/results.txt",
		"file the results are written to, besides standard output; empty for none")
	flag.BoolVar(&cfg.skipLarge, "skip-pacing", false,
		"skip the pacing benchmark, which takes a few minutes by design")
	flag.Parse()

	ok, err := run(cfg, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "bench: a target was missed")
		os.Exit(1)
	}
}

// result is one line of the results table.
type result struct {
	name     string
	measured string
	target   string
	pass     bool
}

func run(cfg config, stdout io.Writer) (bool, error) {
	if cfg.perMinute <= 0 {
		return false, fmt.Errorf("invalid -rate-limit %d: must be above 0", cfg.perMinute)
	}
	if cfg.perUserPerMinute < cfg.perMinute {
		return false, fmt.Errorf("invalid -per-user-rate-limit %d: must be at least "+
			"-rate-limit (%d)", cfg.perUserPerMinute, cfg.perMinute)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	var report strings.Builder
	fmt.Fprintf(&report, "date: %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&report, "machine: %s, %d CPUs (nproc), %s\n", machine(), runtime.NumCPU(),
		runtime.Version())
	// os.Args[0] is a temporary path under `go run`, so the command is
	// written as it is typed.
	fmt.Fprintf(&report, "command: %s\n\n",
		strings.Join(append([]string{"go run ./internal/bench"}, os.Args[1:]...), " "))
	fmt.Fprint(stdout, report.String())

	var results []result
	r, details, err := benchRequests(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("requests benchmark failed: %w", err)
	}
	results = append(results, r...)
	fmt.Fprint(stdout, details)
	report.WriteString(details)

	if !cfg.skipLarge {
		r, details, err := benchPacing(ctx, cfg)
		if err != nil {
			return false, fmt.Errorf("pacing benchmark failed: %w", err)
		}
		results = append(results, r...)
		fmt.Fprint(stdout, details)
		report.WriteString(details)
	}

	if !*skipScanFlag {
		r, details, err := benchScans(ctx)
		if err != nil {
			return false, err
		}
		results = append(results, r...)
		fmt.Fprint(stdout, details)
		report.WriteString(details)
	}

	table := formatTable(results)
	fmt.Fprint(stdout, "\n"+table)
	report.WriteString("\n" + table)
	if cfg.out != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
			return false, fmt.Errorf("failed to create the directory of -out %s: %w", cfg.out, err)
		}
		if err := os.WriteFile(cfg.out, []byte(report.String()), 0o644); err != nil {
			return false, fmt.Errorf("failed to write -out %s: %w", cfg.out, err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", cfg.out)
	}
	pass := true
	for _, r := range results {
		pass = pass && r.pass
	}
	return pass, nil
}

func machine() string {
	out, err := exec.Command("uname", "-m").Output()
	if err != nil {
		return runtime.GOARCH
	}
	return strings.TrimSpace(string(out))
}

func formatTable(results []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-34s %-36s %-10s %s\n", "benchmark", "measured", "target", "result")
	for _, r := range results {
		verdict := "pass"
		if !r.pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(&b, "%-34s %-36s %-10s %s\n", r.name, r.measured, r.target, verdict)
	}
	return b.String()
}

// bench is one running emulator and a client of its API key route.
type bench struct {
	emu    *emulator.Emulator
	info   emulator.Info
	client *atlassian.Client
	aris   []string // Confluence site ARIs, sandboxes included
}

func startBench(opts emulator.Options) (*bench, error) {
	opts.Now = dataNow
	emu, err := emulator.New(opts)
	if err != nil {
		return nil, err
	}
	if err := emu.Start(); err != nil {
		return nil, err
	}
	b := &bench{emu: emu, info: emu.Info()}
	// The pacing benchmark paces the client with a limiter of the
	// emulator's own rate and burst, so the client's shared org limiter,
	// sized for Atlassian, is off.
	b.client, err = atlassian.NewClient(atlassian.Options{AdminAPIURL: b.info.AdminAPIURL,
		APIKey: b.info.APIKey, OrgID: b.info.OrgID, OrgRequestsPerMinute: atlassian.NoLimit})
	if err != nil {
		emu.Close()
		return nil, err
	}
	return b, nil
}

// findSites lists the Confluence sites, as both paths start by doing.
func (b *bench) findSites(ctx context.Context) error {
	sites, err := b.client.ConfluenceSites(ctx, b.info.OrgID)
	if err != nil {
		return err
	}
	for _, s := range sites {
		b.aris = append(b.aris, s.ARI)
	}
	if len(b.aris) == 0 {
		return errors.New("the emulated org has no Confluence site")
	}
	return nil
}

// counts reads the emulator's counters through its counts endpoint.
func (b *bench) counts(ctx context.Context) (emulator.Counts, error) {
	var c emulator.Counts
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		b.info.URL+"/__emulator/counts", nil)
	if err != nil {
		return c, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c, fmt.Errorf("counts request failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("counts request failed: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return c, fmt.Errorf("counts response is not the expected JSON: %w", err)
	}
	return c, nil
}

// requestsSince returns the API requests counted since before.
func (b *bench) requestsSince(ctx context.Context, before emulator.Counts) (int64, int64,
	error) {
	after, err := b.counts(ctx)
	if err != nil {
		return 0, 0, err
	}
	var n int64
	for route, v := range after.Requests {
		n += v - before.Requests[route]
	}
	return n, after.RateLimited - before.RateLimited, nil
}

// siteDates maps a Confluence site ARI to a user's last activity there;
// a nil time means never active.
type siteDates map[string]*time.Time

// bulkPath reads every user with Confluence access and their dates from
// the v2 user search with productAccess.
func (b *bench) bulkPath(ctx context.Context) (map[string]siteDates, error) {
	confluence := map[string]bool{}
	for _, ari := range b.aris {
		confluence[ari] = true
	}
	rows := map[string]siteDates{}
	missing := 0
	q := atlassian.UserSearch{ResourceIDs: b.aris, Expand: []string{"productAccess"},
		PageSize: 100}
	err := b.client.SearchUsers(ctx, b.info.OrgID, q, func(u atlassian.User) bool {
		dates := siteDates{}
		for _, pa := range u.ProductAccess {
			if !confluence[pa.ID] {
				continue
			}
			if !pa.HasTimestamp {
				missing++
			}
			dates[pa.ID] = pa.LastActive
		}
		rows[u.AccountID] = dates
		return true
	})
	if err == nil && missing > 0 {
		err = fmt.Errorf("%d productAccess entries lack lastActiveTimestamp", missing)
	}
	return rows, err
}

// perUserPath reads the same users from the search without productAccess,
// then each user's dates from last-active-dates.
func (b *bench) perUserPath(ctx context.Context) (map[string]siteDates, error) {
	var ids []string
	q := atlassian.UserSearch{ResourceIDs: b.aris, PageSize: 100}
	err := b.client.SearchUsers(ctx, b.info.OrgID, q, func(u atlassian.User) bool {
		ids = append(ids, u.AccountID)
		return true
	})
	if err != nil {
		return nil, err
	}
	rows := make(map[string]siteDates, len(ids))
	err = b.client.LastActiveDatesMany(ctx, b.info.OrgID, ids, 0,
		func(id string, la atlassian.LastActive, err error) bool {
			dates := siteDates{}
			if err == nil {
				for _, p := range la.Products {
					if p.Key == "confluence" {
						dates["ari:cloud:confluence::site/"+p.ID] = p.LastActive
					}
				}
			}
			rows[id] = dates
			return true
		})
	return rows, err
}

// mismatches counts the users and dates on which the two paths disagree.
// The per-user path may report more sites, because last-active-dates
// keeps the dates of suspended access, so only the bulk path's sites are
// compared: a date must be equal, and a never-active site must be absent.
func mismatches(bulk, perUser map[string]siteDates) int {
	n := 0
	for id := range perUser {
		if _, ok := bulk[id]; !ok {
			n++
		}
	}
	for id, dates := range bulk {
		other, ok := perUser[id]
		if !ok {
			n++
			continue
		}
		for ari, t := range dates {
			o, has := other[ari]
			switch {
			case t == nil && has:
				n++
			case t != nil && (o == nil || !o.Equal(*t)):
				n++
			}
		}
	}
	return n
}

func benchRequests(ctx context.Context, cfg config) ([]result, string, error) {
	b, err := startBench(emulator.Options{Users: cfg.smallUsers, Seed: cfg.seed})
	if err != nil {
		return nil, "", err
	}
	defer b.emu.Close()
	if err := b.findSites(ctx); err != nil {
		return nil, "", err
	}

	before, err := b.counts(ctx)
	if err != nil {
		return nil, "", err
	}
	bulk, err := b.bulkPath(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("bulk path: %w", err)
	}
	bulkRequests, _, err := b.requestsSince(ctx, before)
	if err != nil {
		return nil, "", err
	}

	before, err = b.counts(ctx)
	if err != nil {
		return nil, "", err
	}
	perUser, err := b.perUserPath(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("per-user path: %w", err)
	}
	perUserRequests, _, err := b.requestsSince(ctx, before)
	if err != nil {
		return nil, "", err
	}

	bad := mismatches(bulk, perUser)
	ratio := float64(perUserRequests) / float64(max(bulkRequests, 1))
	var d strings.Builder
	fmt.Fprintf(&d, "requests benchmark: %d users, %d with Confluence access on %d sites\n",
		b.info.Users, len(bulk), len(b.aris))
	fmt.Fprintf(&d, "  bulk path:     %6d requests (user search with productAccess, "+
		"100 a page)\n", bulkRequests)
	fmt.Fprintf(&d, "  per-user path: %6d requests (user search, then last-active-dates "+
		"per user)\n", perUserRequests)
	fmt.Fprintf(&d, "  users or dates on which the paths disagree: %d\n", bad)
	fmt.Fprintf(&d, "  site discovery (1 workspaces request) is shared and not counted\n")
	return []result{
		{
			name:     fmt.Sprintf("requests, per-user / bulk (%d)", b.info.Users),
			measured: fmt.Sprintf("%d / %d = %.1fx", perUserRequests, bulkRequests, ratio),
			target:   fmt.Sprintf(">= %.0fx", minRequestRatio),
			pass:     ratio >= minRequestRatio,
		},
		{
			name:     "paths agree on users and dates",
			measured: fmt.Sprintf("%d mismatches", bad),
			target:   "0",
			pass:     bad == 0,
		},
	}, d.String(), nil
}

// pacedRun is one read of the large org through a rate-limited emulator.
type pacedRun struct {
	users    int // users with Confluence access
	requests int64
	limited  int64 // 429 answers
	wall     time.Duration
	floor    time.Duration
}

func (r pacedRun) ratio() float64 {
	if r.floor <= 0 {
		return 0
	}
	return r.wall.Seconds() / r.floor.Seconds()
}

// runPaced reads the large org with path while the emulator limits it to
// perMinute requests a minute in bursts of burst, and returns what the
// emulator counted against the floor that limit sets.
//
// The client's limiter has the emulator's rate and one token less than
// its burst, so that it spends the burst at once and then sends each
// request as a token becomes available. The token held back absorbs the
// delay between taking a token and the request reaching the emulator,
// which is longer for the first request (it dials), and without it a
// request can arrive a fraction of a token early.
func runPaced(ctx context.Context, cfg config, perMinute, burst int,
	path func(*bench, context.Context) (map[string]siteDates, error)) (pacedRun, error) {
	b, err := startBench(emulator.Options{Users: cfg.largeUsers, Seed: cfg.seed,
		RateLimitPerMinute: perMinute, RateLimitBurst: burst})
	if err != nil {
		return pacedRun{}, err
	}
	defer b.emu.Close()

	perSecond := float64(perMinute) / 60
	limiter := rate.NewLimiter(rate.Limit(perSecond), max(burst-1, 1))
	paced := atlassian.WithPacer(ctx, limiter.Wait)

	before, err := b.counts(ctx)
	if err != nil {
		return pacedRun{}, err
	}
	start := time.Now()
	if err := b.findSites(paced); err != nil {
		return pacedRun{}, err
	}
	rows, err := path(b, paced)
	if err != nil {
		return pacedRun{}, err
	}
	run := pacedRun{users: len(rows), wall: time.Since(start)}
	run.requests, run.limited, err = b.requestsSince(ctx, before)
	if err != nil {
		return pacedRun{}, err
	}
	// The floor is the least time the limit allows for these requests:
	// the first burst requests pass at once, each later one needs a new
	// token, and tokens come at perSecond.
	run.floor = floorFor(run.requests, burst, perMinute)
	return run, nil
}

// floorFor returns the least time a token bucket of perMinute a minute
// and burst tokens, full at the start, needs to let requests pass.
func floorFor(requests int64, burst, perMinute int) time.Duration {
	perSecond := float64(perMinute) / 60
	return time.Duration(float64(max(requests-int64(burst), 0)) / perSecond *
		float64(time.Second))
}

// benchPacing reads the large org on the bulk path at the limit Atlassian
// was seen to set, and on the per-user path at a raised limit with the
// same burst, each against the floor of its limit.
func benchPacing(ctx context.Context, cfg config) ([]result, string, error) {
	burst := cfg.perMinute
	bulk, err := runPaced(ctx, cfg, cfg.perMinute, burst, (*bench).bulkPath)
	if err != nil {
		return nil, "", fmt.Errorf("bulk path: %w", err)
	}
	perUser, err := runPaced(ctx, cfg, cfg.perUserPerMinute, burst, (*bench).perUserPath)
	if err != nil {
		return nil, "", fmt.Errorf("per-user path: %w", err)
	}
	perUserAtLimit := floorFor(perUser.requests, burst, cfg.perMinute)
	requestRatio := float64(perUser.requests) / float64(max(bulk.requests, 1))

	var d strings.Builder
	fmt.Fprintf(&d, "pacing benchmark: %d users, %d with Confluence access, token bucket "+
		"of burst %d; each path paces itself at the emulator's rate\n", cfg.largeUsers,
		bulk.users, burst)
	fmt.Fprintf(&d, "  bulk path at %d/min: %d requests (site discovery included) in %.1f s, "+
		"%d answered 429\n", cfg.perMinute, bulk.requests, bulk.wall.Seconds(), bulk.limited)
	fmt.Fprintf(&d, "    floor = (requests - burst) / rate = (%d - %d) / %.3f per s = %.1f s\n",
		bulk.requests, burst, float64(cfg.perMinute)/60, bulk.floor.Seconds())
	fmt.Fprintf(&d, "  per-user path at %d/min: %d requests in %.1f s, %d answered 429\n",
		cfg.perUserPerMinute, perUser.requests, perUser.wall.Seconds(), perUser.limited)
	fmt.Fprintf(&d, "    floor = (%d - %d) / %.3f per s = %.1f s\n", perUser.requests, burst,
		float64(cfg.perUserPerMinute)/60, perUser.floor.Seconds())
	fmt.Fprintf(&d, "  at %d/min the per-user path's floor would be %.0f min, against the "+
		"bulk path's %.1f s measured\n", cfg.perMinute, perUserAtLimit.Minutes(),
		bulk.wall.Seconds())

	floorResult := func(name string, perMinute int, run pacedRun) result {
		measured := fmt.Sprintf("%.1f s / %.1f s = %.2f", run.wall.Seconds(),
			run.floor.Seconds(), run.ratio())
		if run.floor == 0 {
			measured = fmt.Sprintf("%.1f s, all within the burst", run.wall.Seconds())
		}
		return result{
			name:     fmt.Sprintf("%s wall / floor at %d/min", name, perMinute),
			measured: measured,
			target:   fmt.Sprintf("<= %.1f", maxFloorRatio),
			pass:     run.floor > 0 && run.ratio() <= maxFloorRatio && run.users > 0,
		}
	}
	return []result{
		{
			name:     fmt.Sprintf("requests, per-user / bulk (%d)", cfg.largeUsers),
			measured: fmt.Sprintf("%d / %d = %.1fx", perUser.requests, bulk.requests, requestRatio),
			target:   fmt.Sprintf(">= %.0fx", minRequestRatio),
			pass:     requestRatio >= minRequestRatio && perUser.users == bulk.users,
		},
		floorResult("bulk", cfg.perMinute, bulk),
		floorResult("per-user", cfg.perUserPerMinute, perUser),
	}, d.String(), nil
}
