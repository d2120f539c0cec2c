package confluence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

// now is the clock of the query time, replaced in tests.
var now = time.Now

// Values of the source column of confluence_user_activity.
const (
	sourceBulkSearch      = "bulk_search"
	sourceLastActiveDates = "last_active_dates"
)

// activityConcurrency bounds the per-user last-active-dates requests in
// flight. The connection's rate limiter paces them anyway; a few in
// flight hide the latency of each.
const activityConcurrency = 4

// activityBatch is the most users the scan collects before it reads the
// dates of those that need the per-user call, so that a SQL LIMIT stops
// the scan after at most one batch of extra requests.
const activityBatch = 100

// userActivity is the activity the plugin read for one user.
type userActivity struct {
	Source string
	// Known is false when the per-user call was refused (403) or found no
	// user (404): the dates are unknown, which is not "never active".
	Known      bool
	AddedToOrg *time.Time
	// Products lists the products the user was active on. A product the
	// user never used has no entry.
	Products []productActivity
}

// productActivity is a user's last activity on one product of one site.
type productActivity struct {
	Key        string
	CloudID    string
	Site       string // host URL, "" when unknown
	LastActive time.Time
}

// orgUser is a user with Confluence access and what is known of that
// user's activity.
type orgUser struct {
	User atlassian.User
	// Activity is the zero value when the scan did not read activity.
	Activity userActivity
}

// inventory is the result of a full scan of the org: its Confluence
// sites and every user with Confluence access, with activity. A connection
// keeps it for inventory_cache_ttl, so that many queries cost one scan.
type inventory struct {
	OrgID   string
	Sites   []atlassian.Workspace
	Index   *siteIndex
	Users   []orgUser
	BuiltAt time.Time
}

// inventoryCacheKey is the connection cache key of the inventory.
const inventoryCacheKey = "confluence_inventory"

// inventoryLocks holds one mutex per connection, so that queries racing
// on an empty cache build the inventory once.
var inventoryLocks sync.Map // connection name -> *sync.Mutex

// cacheTTL returns the connection's inventory_cache_ttl.
func cacheTTL(d *plugin.QueryData) (time.Duration, error) {
	cfg, err := GetConfig(d.Connection)
	if err != nil {
		return 0, err
	}
	return cfg.CacheTTL()
}

// cachedInventory returns the connection's inventory when one is cached
// and younger than the TTL.
func cachedInventory(ctx context.Context, d *plugin.QueryData, ttl time.Duration) *inventory {
	if ttl <= 0 {
		return nil
	}
	cached, ok := d.ConnectionCache.Get(ctx, inventoryCacheKey)
	if !ok {
		return nil
	}
	inv, ok := cached.(*inventory)
	if !ok || now().Sub(inv.BuiltAt) >= ttl {
		return nil
	}
	return inv
}

// loadInventory returns the cached inventory, or builds and caches one.
func loadInventory(ctx context.Context, d *plugin.QueryData, ttl time.Duration) (*inventory,
	error) {
	if inv := cachedInventory(ctx, d, ttl); inv != nil {
		return inv, nil
	}
	lock, _ := inventoryLocks.LoadOrStore(d.Connection.Name, &sync.Mutex{})
	mu := lock.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	// Another query may have built it while this one waited.
	if inv := cachedInventory(ctx, d, ttl); inv != nil {
		return inv, nil
	}

	inv, err := buildInventory(ctx, d)
	if err != nil {
		return nil, err
	}
	if ttl > 0 {
		if err := d.ConnectionCache.SetWithTTL(ctx, inventoryCacheKey, inv, ttl); err != nil {
			// The inventory still serves this query; the next one scans again.
			plugin.Logger(ctx).Warn("loadInventory", "connection", d.Connection.Name,
				"cache_error", err)
		}
	}
	return inv, nil
}

// buildInventory scans the org: sites, every workspace's host, and every
// user with Confluence access with every expansion and activity.
func buildInventory(ctx context.Context, d *plugin.QueryData) (*inventory, error) {
	client, err := connect(ctx, d)
	if err != nil {
		return nil, err
	}
	ctx = pacedContext(ctx, d)
	started := now()
	orgID, sites, index, err := orgSites(ctx, client, true)
	if err != nil {
		return nil, err
	}
	inv := &inventory{OrgID: orgID, Sites: sites, Index: index, Users: []orgUser{}}
	scan := userScan{
		orgID:    orgID,
		index:    index,
		search:   atlassian.UserSearch{Expand: []string{"productAccess", "groups", "platformRoles"}},
		activity: true,
	}
	err = scanUsers(ctx, client, scan, func(u orgUser) bool {
		inv.Users = append(inv.Users, u)
		return true
	})
	if err != nil {
		return nil, err
	}
	inv.BuiltAt = started
	return inv, nil
}

// orgSites returns the org id, its Confluence sites and an index of their
// hosts. allHosts adds the host of every other product's workspace, which
// costs one more workspace list.
func orgSites(ctx context.Context, client *atlassian.Client, allHosts bool) (string,
	[]atlassian.Workspace, *siteIndex, error) {
	orgID, err := client.ResolveOrgID(ctx)
	if err != nil {
		return "", nil, nil, fmt.Errorf("resolving the org failed: %w", err)
	}
	sites, err := client.ConfluenceSites(ctx, orgID)
	if err != nil {
		return "", nil, nil, fmt.Errorf("listing the Confluence sites failed: %w", err)
	}
	index := newSiteIndex(sites)
	if allHosts {
		workspaces, err := client.Workspaces(ctx, orgID)
		if err != nil {
			return "", nil, nil, fmt.Errorf("listing the workspaces failed: %w", err)
		}
		index.addHosts(workspaces)
	}
	return orgID, sites, index, nil
}

// userScan is one scan of the users with Confluence access.
type userScan struct {
	orgID  string
	index  *siteIndex
	search atlassian.UserSearch // filters, expansions and page size
	// activity requests the activity of each user, read per user where
	// the search does not return it.
	activity bool
}

// scanUsers calls fn with each user with Confluence access on the
// connection's sites that scan.search matches, in search order, until fn
// returns false.
//
// Activity comes from the search's productAccess timestamps. Where the
// search cannot give them, it comes from one last-active-dates call per
// user: in an org on the original user management experience, whose
// search rejects the productAccess expansion, and for a user whose
// productAccess entries carry no timestamp field.
func scanUsers(ctx context.Context, client *atlassian.Client, scan userScan,
	fn func(orgUser) bool) error {
	aris := scan.index.confluenceARIs()
	if len(aris) == 0 {
		// An empty resource filter would match every user of the org.
		return nil
	}
	scan.search.ResourceIDs = aris
	if scan.activity && !slices.Contains(scan.search.Expand, "productAccess") {
		scan.search.Expand = append(slices.Clone(scan.search.Expand), "productAccess")
	}

	b := &userBatcher{ctx: ctx, client: client, scan: scan, emit: fn}
	err := client.SearchUsers(ctx, scan.orgID, scan.search, b.add)
	if errors.Is(err, atlassian.ErrBulkActivityUnsupported) && b.seen == 0 {
		b.legacy = true
		err = scanUsersLegacy(ctx, client, scan, b)
	}
	if err == nil {
		err = b.flush()
	}
	if b.stopErr != nil {
		err = b.stopErr
	}
	b.logPath()
	return err
}

// scanUsersLegacy lists users in an org whose search cannot expand
// productAccess. One search per site finds the users with access on that
// site, and the search without that expansion lists the users.
func scanUsersLegacy(ctx context.Context, client *atlassian.Client, scan userScan,
	b *userBatcher) error {
	access := map[string][]string{} // account id -> Confluence site ARIs
	for _, ari := range scan.index.confluenceARIs() {
		perSite := atlassian.UserSearch{ResourceIDs: []string{ari},
			AccountIDs: scan.search.AccountIDs, Statuses: scan.search.Statuses,
			SearchTerm: scan.search.SearchTerm}
		err := client.SearchUsers(ctx, scan.orgID, perSite, func(u atlassian.User) bool {
			access[u.AccountID] = append(access[u.AccountID], ari)
			return true
		})
		if err != nil {
			return err
		}
	}
	b.access = access
	search := scan.search
	search.Expand = slices.DeleteFunc(slices.Clone(search.Expand),
		func(x string) bool { return x == "productAccess" })
	return client.SearchUsers(ctx, scan.orgID, search, b.add)
}

// userBatcher collects the users of a search, reads the activity of those
// whose search entry lacks it, and passes them on in order.
type userBatcher struct {
	ctx    context.Context
	client *atlassian.Client
	scan   userScan
	emit   func(orgUser) bool

	// legacy is set in an org whose search rejects productAccess. Then
	// access maps each user to the ARIs of the user's Confluence sites.
	legacy bool
	access map[string][]string

	pending []atlassian.User
	seen    int
	perUser int // users whose dates came from last-active-dates
	unknown int // users whose dates are unknown
	stopped bool
	stopErr error
}

// add takes one user from the search. It returns false to stop the
// search when the consumer is done or reading activity failed.
func (b *userBatcher) add(u atlassian.User) bool {
	b.seen++
	if b.legacy {
		u.ProductAccess = nil
		for _, ari := range b.access[u.AccountID] {
			u.ProductAccess = append(u.ProductAccess, atlassian.ProductAccess{
				Key: "confluence", ID: ari})
		}
	}
	b.pending = append(b.pending, u)
	if len(b.pending) < b.batchSize() {
		return true
	}
	if err := b.flush(); err != nil {
		b.stopErr = err
		return false
	}
	return !b.stopped
}

// batchSize is the number of users collected before their activity is
// read: one search page, so that a SQL LIMIT met on the first page
// stops the scan there.
func (b *userBatcher) batchSize() int {
	if n := b.scan.search.PageSize; n > 0 && n < activityBatch {
		return n
	}
	return activityBatch
}

// flush reads the missing activity of the pending users and emits them.
func (b *userBatcher) flush() error {
	users := b.pending
	b.pending = nil
	if b.stopped || len(users) == 0 {
		return nil
	}
	activity := make(map[string]userActivity, len(users))
	var perUser []string
	for _, u := range users {
		if !b.scan.activity {
			continue
		}
		if b.legacy || !reportsActivity(u) {
			perUser = append(perUser, u.AccountID)
			continue
		}
		activity[u.AccountID] = bulkActivity(u, b.scan.index)
	}
	if len(perUser) > 0 {
		byID := make(map[string]atlassian.User, len(users))
		for _, u := range users {
			byID[u.AccountID] = u
		}
		err := b.client.LastActiveDatesMany(b.ctx, b.scan.orgID, perUser, activityConcurrency,
			func(id string, la atlassian.LastActive, err error) bool {
				b.perUser++
				if err != nil {
					// LastActiveDatesMany passes only 403 and 404 on.
					b.unknown++
					activity[id] = userActivity{Source: sourceLastActiveDates,
						AddedToOrg: byID[id].AddedToOrg}
					plugin.Logger(b.ctx).Warn("scanUsers", "account_id", id,
						"last_active", "unknown", "api_error", err)
					return true
				}
				activity[id] = perUserActivity(byID[id], la, b.scan.index, b.legacy)
				return true
			})
		if err != nil {
			return fmt.Errorf("reading last-active dates failed: %w", err)
		}
	}
	for _, u := range users {
		if !b.emit(orgUser{User: u, Activity: activity[u.AccountID]}) {
			b.stopped = true
			return nil
		}
	}
	return nil
}

// logPath logs, once per scan, where activity came from.
func (b *userBatcher) logPath() {
	if !b.scan.activity {
		return
	}
	path, reason := sourceBulkSearch, "search reports activity"
	switch {
	case b.legacy:
		path, reason = sourceLastActiveDates, "org on the original user management experience"
	case b.perUser > 0:
		path, reason = sourceLastActiveDates, "search answer has no activity timestamps"
	}
	plugin.Logger(b.ctx).Info("scanUsers", "org_id", b.scan.orgID, "activity_path", path,
		"reason", reason, "users", b.seen, "per_user_requests", b.perUser,
		"unknown_activity", b.unknown)
}

// reportsActivity reports whether the search gave the user's activity: at
// least one productAccess entry, each with the timestamp field present,
// even as null.
func reportsActivity(u atlassian.User) bool {
	if len(u.ProductAccess) == 0 {
		return false
	}
	for _, p := range u.ProductAccess {
		if !p.HasTimestamp {
			return false
		}
	}
	return true
}

// bulkActivity reads a user's activity from the search's productAccess.
func bulkActivity(u atlassian.User, index *siteIndex) userActivity {
	a := userActivity{Source: sourceBulkSearch, Known: true, AddedToOrg: u.AddedToOrg,
		Products: []productActivity{}}
	for _, p := range u.ProductAccess {
		if p.LastActive == nil {
			continue
		}
		a.Products = append(a.Products, productActivity{Key: p.Key,
			CloudID: cloudIDOfARI(p.ID), Site: index.host(p.ID), LastActive: *p.LastActive})
	}
	return a
}

// perUserActivity reads a user's activity from last-active-dates. That
// call also lists products the user has lost access to, so entries are
// kept only for the user's current access, as the search would give them.
// In a legacy org the search gives Confluence access only, so other
// products' entries are all kept.
func perUserActivity(u atlassian.User, la atlassian.LastActive, index *siteIndex,
	legacy bool) userActivity {
	a := userActivity{Source: sourceLastActiveDates, Known: true, AddedToOrg: la.AddedToOrg,
		Products: []productActivity{}}
	if a.AddedToOrg == nil {
		a.AddedToOrg = u.AddedToOrg
	}
	access := map[string]bool{} // key + cloud id
	for _, p := range u.ProductAccess {
		access[p.Key+"\x00"+cloudIDOfARI(p.ID)] = true
	}
	for _, p := range la.Products {
		if p.LastActive == nil {
			continue
		}
		cloudID := cloudIDOfARI(p.ID)
		known := !legacy || p.Key == "confluence"
		if known && !access[p.Key+"\x00"+cloudID] {
			continue
		}
		site := index.host(cloudID)
		if site == "" {
			site = p.URL
		}
		a.Products = append(a.Products, productActivity{Key: p.Key, CloudID: cloudID,
			Site: site, LastActive: *p.LastActive})
	}
	return a
}

// inventoryForQuery returns the inventory a query reads from: the cached
// one, or a new one when the query is not narrow. It returns nil, so that
// the caller scans for itself, when the cache is off, or when the query
// is narrow (a few accounts, or a LIMIT) and no inventory is cached.
func inventoryForQuery(ctx context.Context, d *plugin.QueryData, narrow bool) (*inventory,
	error) {
	ttl, err := cacheTTL(d)
	if err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, nil
	}
	if inv := cachedInventory(ctx, d, ttl); inv != nil {
		return inv, nil
	}
	if narrow {
		return nil, nil
	}
	return loadInventory(ctx, d, ttl)
}
