package recommend

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// fixture is one emulated org with an engine whose temporary tables hold
// copies of the plugin tables; tests share it because the copy is the
// slow part.
type fixture struct {
	emu    *emulator.Emulator
	org    *emulator.Org
	engine *sqlengine.Engine
}

var (
	fixtureOnce sync.Once
	shared      *fixture
	fixtureErr  error
)

func openFixture(t *testing.T) *fixture {
	t.Helper()
	fixtureOnce.Do(func() { shared, fixtureErr = newFixture() })
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return shared
}

func newFixture() (*fixture, error) {
	emu, err := emulator.New(emulator.Options{Users: 500, Seed: 11,
		Now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		return nil, err
	}
	if err := emu.Start(); err != nil {
		return nil, err
	}
	// The engine lives until the test binary ends: the SDK keeps a
	// goroutine per plugin anyway (see sqlengine.Engine.Close).
	var fast []*proto.RateLimiterDefinition
	for _, name := range []string{"confluence_admin_api", "confluence_site_rest"} {
		fast = append(fast, &proto.RateLimiterDefinition{Name: name, FillRate: 100000,
			BucketSize: 100000})
	}
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	engine, err := sqlengine.Open(ctx, sqlengine.Options{
		PluginFunc: confluence.Plugin, PluginName: "local/confluence",
		ConnectionConfig: emu.Info().Config + fmt.Sprintf("\nsession_cache_path = %q\n", dir) +
			confluence.LoopbackLimitSettings,
		ExactQual: confluence.ExactQual, RateLimiters: fast,
	})
	if err != nil {
		return nil, err
	}
	if err := CopyTables(ctx, engine, Tables(All())); err != nil {
		return nil, err
	}
	return &fixture{emu: emu, org: emu.Org(), engine: engine}, nil
}

// ---- expected findings, computed from the emulator's org ----

type pairKey struct{ account, site string }

type expectedFinding struct {
	rule, resource, status string
	monthly, annual        int64
}

// model is what the plugin should show about the org, derived from the
// generated data and the billing rules, without SQL.
type model struct {
	org      *emulator.Org
	asOf     time.Time
	billed   map[*emulator.Site][]*emulator.User // billed users per priced site
	share    map[pairKey][2]int64                // monthly and annual share, monthly sites
	total    map[*emulator.Site][2]int64         // monthly and annual bill
	cycle    map[*emulator.Site]string
	tier     map[*emulator.Site]int64 // user tier of annual sites
	withConf []*emulator.User         // rows of confluence_user
}

func newModel(t *testing.T, org *emulator.Org, asOf time.Time) *model {
	m := &model{org: org, asOf: asOf, billed: map[*emulator.Site][]*emulator.User{},
		share: map[pairKey][2]int64{}, total: map[*emulator.Site][2]int64{},
		cycle: map[*emulator.Site]string{}, tier: map[*emulator.Site]int64{}}
	for _, u := range org.Users {
		if u.HasConfluence() {
			m.withConf = append(m.withConf, u)
		}
	}
	for _, s := range org.ConfluenceSites() {
		if s.Sandbox || s.Edition == emulator.EditionFree {
			continue
		}
		var ids []string
		for _, u := range org.Users {
			if billedOn(u, s) {
				m.billed[s] = append(m.billed[s], u)
				ids = append(ids, u.AccountID)
			}
		}
		sort.Strings(ids)
		n := int64(len(ids))
		switch s.Edition {
		case emulator.EditionStandard:
			monthly := n * emulator.EmulatorStandardPerUser
			m.cycle[s], m.total[s] = "monthly", [2]int64{monthly, 12 * monthly}
			months, err := pricing.Split(monthly, ids)
			if err != nil {
				t.Fatal(err)
			}
			years, err := pricing.Split(12*monthly, ids)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				m.share[pairKey{id, s.URL}] = [2]int64{months[id], years[id]}
			}
		default:
			perSeat := int64(emulator.EmulatorPremiumPerSeatYear)
			if s.Edition == emulator.EditionEnterprise {
				perSeat = emulator.EmulatorEnterprisePerSeatYear
			}
			tier := *s.Confluence().Capacity
			m.cycle[s], m.tier[s] = "annual", tier
			m.total[s] = [2]int64{pricing.DivRoundHalfUp(tier*perSeat, 12), tier * perSeat}
		}
	}
	return m
}

// billedOn applies Atlassian's rule: an Atlassian account, not suspended,
// deactivated or marked for deletion, not a guest, with access.
func billedOn(u *emulator.User, s *emulator.Site) bool {
	switch {
	case u.AccountType != emulator.AccountAtlassian, u.Guest:
		return false
	case u.Status == "suspended" || u.Status == "deactivated" || u.Status == "for_deletion":
		return false
	}
	return u.HasAccess(s.Confluence().ARI)
}

func seconds(t time.Time) int64 { return t.Truncate(time.Second).Unix() }

// lastActive is the user's latest Confluence activity on any site, or
// on site s when s is not nil.
func lastActive(u *emulator.User, s *emulator.Site) *time.Time {
	var latest *time.Time
	for _, g := range u.Grants {
		if g.Suspended || g.Workspace.TypeKey != emulator.ProductConfluence || g.LastActive == nil {
			continue
		}
		if s != nil && g.Workspace.Site != s {
			continue
		}
		if latest == nil || g.LastActive.After(*latest) {
			latest = g.LastActive
		}
	}
	return latest
}

func (m *model) daysAgo(days int) int64 { return m.asOf.Unix() - int64(days)*86400 }

// lostSites counts the sites whose access group holds u while u has no
// Confluence access there.
func (m *model) lostSites(u *emulator.User) int {
	n := 0
	for _, s := range m.org.ConfluenceSites() {
		g := m.org.GroupByName("confluence-users-" + s.Name)
		if g != nil && u.InGroup(g) && !u.HasAccess(s.Confluence().ARI) {
			n++
		}
	}
	return n
}

// pairRule returns the first per-user rule u matches on s, or "".
func (m *model) pairRule(u *emulator.User, s *emulator.Site, exempt map[string]bool) string {
	if exempt[strings.ToLower(u.AccountID)] || (u.Email != "" && exempt[strings.ToLower(u.Email)]) {
		return ""
	}
	last, onSite := lastActive(u, nil), lastActive(u, s)
	added := seconds(u.AddedToOrg)
	switch {
	case m.lostSites(u) > 0:
		return "suspended_elsewhere"
	case last == nil && added < m.daysAgo(DefaultNeverActiveDays):
		return "never_active_users"
	case last != nil && added < m.daysAgo(DefaultGraceDays) &&
		(onSite == nil || seconds(*onSite) < m.daysAgo(DefaultInactiveDays)):
		return "inactive_users"
	case u.ClaimStatus == "unmanaged":
		return "external_paid_seats"
	}
	return ""
}

func (m *model) expected(t *testing.T, exempt map[string]bool) []expectedFinding {
	var out []expectedFinding
	candidates := map[*emulator.Site]int64{}
	for _, s := range m.org.ConfluenceSites() {
		for _, u := range m.billed[s] {
			rule := m.pairRule(u, s, exempt)
			if rule == "" {
				continue
			}
			candidates[s]++
			f := expectedFinding{rule: rule, resource: u.AccountID, status: StatusInfo}
			if share, ok := m.share[pairKey{u.AccountID, s.URL}]; ok && share[0] > 0 {
				f.status, f.monthly, f.annual = StatusAlarm, share[0], share[1]
			}
			out = append(out, f)
		}
	}
	table := pricing.DefaultTable()
	for _, s := range m.org.ConfluenceSites() {
		n := int64(len(m.billed[s]))
		switch m.cycle[s] {
		case "annual":
			p, ok := table.Lookup(pricing.Edition(s.Edition), pricing.Annual)
			if !ok {
				break
			}
			lower, ok := p.LowerTier(m.tier[s])
			if !ok {
				break
			}
			f := expectedFinding{rule: "annual_tier_above_need", resource: s.URL,
				status: StatusInfo}
			need := pricing.SeatsToLowerTier(n, lower)
			if lower.Price < m.total[s][1] && candidates[s] >= need {
				f.status, f.annual = StatusAlarm, m.total[s][1]-lower.Price
				f.monthly = (f.annual + 6) / 12
			}
			out = append(out, f)
		case "monthly":
			p, ok := table.Lookup(pricing.Edition(s.Edition), pricing.Annual)
			if !ok {
				break
			}
			tier, err := p.TierFor(n)
			if err == nil && m.total[s][1] > tier.Price {
				out = append(out, expectedFinding{rule: "monthly_to_annual", resource: s.URL,
					status: StatusInfo})
			}
		}
		if (s.Edition == emulator.EditionPremium || s.Edition == emulator.EditionEnterprise) &&
			!s.Sandbox && n > 0 {
			active := int64(0)
			for _, u := range m.billed[s] {
				if on := lastActive(u, s); on != nil && seconds(*on) >= m.daysAgo(DefaultInactiveDays) {
					active++
				}
			}
			if active*100 < DefaultEditionActivePercent*n {
				out = append(out, expectedFinding{rule: "edition_above_need", resource: s.URL,
					status: StatusInfo})
			}
		}
	}
	out = append(out, m.duplicates()...)
	return out
}

func (m *model) duplicates() []expectedFinding {
	type key struct{ name, local string }
	domains := map[key]map[string]bool{}
	keyOf := func(u *emulator.User) (key, string, bool) {
		at := strings.Index(u.Email, "@")
		if u.Name == "" || at < 1 || at == len(u.Email)-1 {
			return key{}, "", false
		}
		email := strings.ToLower(u.Email)
		return key{strings.TrimSpace(u.Name), email[:at]}, email[at+1:], true
	}
	for _, u := range m.withConf {
		if k, domain, ok := keyOf(u); ok {
			if domains[k] == nil {
				domains[k] = map[string]bool{}
			}
			domains[k][domain] = true
		}
	}
	var out []expectedFinding
	for _, s := range m.org.ConfluenceSites() {
		for _, u := range m.billed[s] {
			if k, _, ok := keyOf(u); ok && len(domains[k]) > 1 {
				out = append(out, expectedFinding{rule: "duplicate_people",
					resource: u.AccountID, status: StatusInfo})
			}
		}
	}
	return out
}

func findingKeys(fs []expectedFinding) []string {
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = fmt.Sprintf("%s %s %s %d %d", f.rule, f.resource, f.status, f.monthly, f.annual)
	}
	sort.Strings(keys)
	return keys
}

func compareFindings(t *testing.T, got []Finding, want []expectedFinding) {
	t.Helper()
	conv := make([]expectedFinding, len(got))
	for i, f := range got {
		conv[i] = expectedFinding{f.Rule, f.Resource, f.Status, f.SavingMonthlyMinor,
			f.SavingAnnualMinor}
	}
	g, w := findingKeys(conv), findingKeys(want)
	gotSet := map[string]bool{}
	for _, k := range g {
		gotSet[k] = true
	}
	wantSet := map[string]bool{}
	for _, k := range w {
		wantSet[k] = true
		if !gotSet[k] {
			t.Errorf("missing finding: %s", k)
		}
	}
	for _, k := range g {
		if !wantSet[k] {
			t.Errorf("unexpected finding: %s", k)
		}
	}
	if len(g) != len(w) {
		t.Errorf("got %d findings, want %d", len(g), len(w))
	}
}

func countRules(fs []expectedFinding) map[string]int {
	n := map[string]int{}
	for _, f := range fs {
		n[f.rule+"/"+f.status]++
	}
	return n
}
