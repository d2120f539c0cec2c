package confluence

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

//// TABLE DEFINITION

func tableConfluenceUser(_ context.Context) *plugin.Table {
	return &plugin.Table{
		Name: "confluence_user",
		Description: "Accounts with Confluence access on any Confluence site of the " +
			"organization, with their status and when they last used Confluence.",
		List: &plugin.ListConfig{
			Hydrate: listConfluenceUsers,
			Tags:    adminAPITags,
			KeyColumns: plugin.KeyColumnSlice{
				{Name: "account_id", Operators: []string{"="}, Require: plugin.Optional},
				{Name: "status", Operators: []string{"="}, Require: plugin.Optional},
				{Name: "email", Operators: []string{"="}, Require: plugin.Optional},
				{Name: "account_type", Operators: []string{"="}, Require: plugin.Optional},
			},
		},
		Columns: []*plugin.Column{
			{
				Name:        "account_id",
				Type:        proto.ColumnType_STRING,
				Description: "The Atlassian account ID of the user.",
			},
			{
				Name: "status",
				Type: proto.ColumnType_STRING,
				Description: "The user's status in the organization: active, suspended, " +
					"not_invited, deactivated or for_deletion.",
			},
			{
				Name: "email",
				Type: proto.ColumnType_STRING,
				Description: "The e-mail address of the user. NULL when the user's " +
					"privacy settings hide it.",
			},
			{
				Name:        "account_type",
				Type:        proto.ColumnType_STRING,
				Description: "The kind of account: atlassian, app or customer.",
			},
			{
				Name:        "name",
				Type:        proto.ColumnType_STRING,
				Description: "The display name of the user.",
			},
			{
				Name:        "account_status",
				Type:        proto.ColumnType_STRING,
				Description: "The state of the Atlassian account itself: active, inactive or closed.",
			},
			{
				Name: "claim_status",
				Type: proto.ColumnType_STRING,
				Description: "Whether the organization manages the account through a " +
					"verified domain: managed or unmanaged.",
			},
			{
				Name:        "membership_status",
				Type:        proto.ColumnType_STRING,
				Description: "The user's membership status in the organization's directory.",
			},
			{
				Name: "sites",
				Type: proto.ColumnType_JSON,
				Description: "Host URLs of the Confluence sites where the user has " +
					"Confluence access.",
			},
			{
				Name:        "groups",
				Type:        proto.ColumnType_JSON,
				Description: "Groups the user belongs to, each with its id and name.",
			},
			{
				Name:        "platform_roles",
				Type:        proto.ColumnType_JSON,
				Description: "Ids of the organization-level roles the user holds.",
			},
			{
				Name: "mfa_enabled",
				Type: proto.ColumnType_BOOL,
				Description: "True when the user has two-step verification turned on. " +
					"NULL when the API does not say.",
				Transform: transform.FromField("MFAEnabled"),
			},
			{
				Name:        "added_to_org",
				Type:        proto.ColumnType_TIMESTAMP,
				Description: "When the user was added to the organization.",
			},
			{
				Name: "last_active",
				Type: proto.ColumnType_TIMESTAMP,
				Description: "When the user last used Confluence, the latest across the " +
					"Confluence sites. NULL when the user never used Confluence, or when " +
					"last_active_known is false.",
			},
			{
				Name: "last_active_known",
				Type: proto.ColumnType_BOOL,
				Description: "False when the user's activity could not be read (the per-user " +
					"last-active-dates call was refused or found no user), so a NULL " +
					"last_active means unknown rather than never active.",
			},
			{
				Name: "days_since_last_active",
				Type: proto.ColumnType_INT,
				Description: "Whole days from last_active to the time of the query. NULL " +
					"when the user never used Confluence or the date is unknown.",
			},
			{
				Name: "last_active_any_product",
				Type: proto.ColumnType_TIMESTAMP,
				Description: "When the user last used any Atlassian product of the " +
					"organization. NULL when never.",
			},
			{
				Name: "product_access",
				Type: proto.ColumnType_JSON,
				Description: "Every product the user can use, each with its key, site " +
					"host URL and last active time.",
			},
			{
				Name:        "org_id",
				Type:        proto.ColumnType_STRING,
				Description: "The id of the Atlassian organization.",
			},
		},
	}
}

//// ROW TYPES

// userRow is one row of confluence_user. Pointer fields are NULL when the
// API leaves the value out.
type userRow struct {
	AccountID            string
	Status               *string
	Email                *string
	AccountType          *string
	Name                 *string
	AccountStatus        *string
	ClaimStatus          *string
	MembershipStatus     *string
	Sites                []string
	Groups               []atlassian.Group
	PlatformRoles        []string
	MFAEnabled           *bool
	AddedToOrg           *time.Time
	LastActive           *time.Time
	LastActiveKnown      *bool
	DaysSinceLastActive  *int64
	LastActiveAnyProduct *time.Time
	ProductAccess        []productAccessRow
	OrgID                string
}

// productAccessRow is one entry of the product_access column.
type productAccessRow struct {
	Key        string     `json:"key"`
	Site       *string    `json:"site"`
	LastActive *time.Time `json:"last_active"`
}

//// LIST FUNCTION

func listConfluenceUsers(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	logger := plugin.Logger(ctx)

	query := userQueryFromQuals(d.Quals)
	if query.none {
		logger.Debug("listConfluenceUsers", "skipped", "quals match no user")
		return nil, nil
	}
	limit := d.QueryContext.Limit
	if limit != nil && *limit <= 0 {
		return nil, nil
	}
	emit := func(orgID string, sites *siteIndex) func(orgUser) bool {
		return func(u orgUser) bool {
			if !query.matches(u.User) {
				return true
			}
			d.StreamListItem(ctx, newUserRow(u, orgID, sites))
			return d.RowsRemaining(ctx) > 0
		}
	}

	narrow := query.accountIDs != nil || query.emails != nil || limit != nil
	inv, err := inventoryForQuery(ctx, d, narrow)
	if err != nil {
		logger.Error("listConfluenceUsers", "step", "inventory", "api_error", err)
		return nil, err
	}
	if inv != nil {
		send := emit(inv.OrgID, inv.Index)
		for _, u := range inv.Users {
			if !send(u) {
				break
			}
		}
		return nil, nil
	}

	// A narrow query without a cached inventory reads only what it needs.
	client, err := connect(ctx, d)
	if err != nil {
		return nil, err
	}
	ctx = pacedContext(ctx, d)
	columns := d.QueryContext.Columns
	// Other products' entries in product_access need the host URLs of
	// every workspace.
	orgID, _, sites, err := orgSites(ctx, client, slices.Contains(columns, "product_access"))
	if err != nil {
		logger.Error("listConfluenceUsers", "step", "list sites", "api_error", err)
		return nil, err
	}
	scan := userScan{orgID: orgID, index: sites, search: query.search,
		activity: needsActivity(columns)}
	scan.search.Expand = userExpand(columns)
	scan.search.PageSize = userPageSize(limit, query.filtersInPlugin())
	logger.Debug("listConfluenceUsers", "org_id", orgID, "expand", scan.search.Expand,
		"page_size", scan.search.PageSize)
	if err := scanUsers(ctx, client, scan, emit(orgID, sites)); err != nil {
		logger.Error("listConfluenceUsers", "step", "search users", "api_error", err)
		return nil, err
	}
	return nil, nil
}

// activityColumns are the confluence_user columns read from activity.
var activityColumns = []string{"last_active", "last_active_known", "days_since_last_active",
	"last_active_any_product", "product_access"}

// needsActivity reports whether any selected column is read from activity.
func needsActivity(columns []string) bool {
	return slices.ContainsFunc(columns, func(c string) bool {
		return slices.Contains(activityColumns, c)
	})
}

//// QUERY BUILDING

// userQuery is a user search plus the checks the plugin repeats on each
// user the search returns.
type userQuery struct {
	search       atlassian.UserSearch
	accountIDs   stringSet
	statuses     stringSet
	emails       stringSet // lower case
	accountTypes stringSet
	// none is set when the quals contradict each other, so that no user
	// can match and no request is needed.
	none bool
}

// userStatuses are the user statuses docs/wire-format.md lists. A search
// for any other status may be rejected with 400 Bad Request (the bundled
// emulator does so), so the plugin filters such a value itself.
var userStatuses = stringSet{"active": {}, "suspended": {}, "not_invited": {},
	"deactivated": {}, "for_deletion": {}}

// userQueryFromQuals turns the key column quals of confluence_user into a
// user search. account_id and status go to the API as they are. A single
// email becomes the search term, which the API matches as a substring of
// name or e-mail, so the plugin keeps only exact (case-insensitive)
// matches. account_type has no API filter and is checked by the plugin,
// and so is a status the API does not know, because the API would reject
// the whole request.
func userQueryFromQuals(qualMap plugin.KeyColumnQualMap) userQuery {
	q := userQuery{
		accountIDs:   equalsValues(qualMap, "account_id", identity),
		statuses:     equalsValues(qualMap, "status", identity),
		emails:       equalsValues(qualMap, "email", foldEmail),
		accountTypes: equalsValues(qualMap, "account_type", identity),
	}
	for _, set := range []stringSet{q.accountIDs, q.statuses, q.emails, q.accountTypes} {
		if set != nil && len(set) == 0 {
			q.none = true
			return q
		}
	}
	if q.accountIDs != nil {
		q.search.AccountIDs = q.accountIDs.sorted()
	}
	if q.statuses != nil && q.statuses.subsetOf(userStatuses) {
		q.search.Statuses = q.statuses.sorted()
	}
	if len(q.emails) == 1 {
		q.search.SearchTerm = q.emails.sorted()[0]
	}
	return q
}

// filtersInPlugin reports whether the plugin may drop users the search
// returns, in which case a page sized to the SQL limit can come up short.
func (q userQuery) filtersInPlugin() bool {
	statusInPlugin := q.statuses != nil && q.search.Statuses == nil
	return q.emails != nil || q.accountTypes != nil || statusInPlugin
}

// matches repeats every filter on u. The API applies the account id and
// status filters already; checking them again keeps ExactQual true even
// for an API that ignores a filter.
func (q userQuery) matches(u atlassian.User) bool {
	if q.accountIDs != nil && !q.accountIDs.has(u.AccountID) {
		return false
	}
	if q.statuses != nil && !q.statuses.has(u.Status) {
		return false
	}
	if q.emails != nil && (u.Email == "" || !q.emails.has(foldEmail(u.Email))) {
		return false
	}
	if q.accountTypes != nil && !q.accountTypes.has(u.AccountType) {
		return false
	}
	return true
}

// userExpand returns the expansions the selected columns need. Product
// access is always requested, because sites, last_active,
// last_active_any_product and product_access all come from it.
func userExpand(columns []string) []string {
	expand := []string{"productAccess"}
	if slices.Contains(columns, "groups") {
		expand = append(expand, "groups")
	}
	if slices.Contains(columns, "platform_roles") {
		expand = append(expand, "platformRoles")
	}
	return expand
}

// maxUserPageSize is the largest page the v2 user search accepts.
const maxUserPageSize = 100

// userPageSize caps the page at the SQL limit, unless the plugin filters
// rows itself and a small page would only mean more requests.
func userPageSize(limit *int64, filtersInPlugin bool) int {
	if limit == nil || filtersInPlugin || *limit <= 0 || *limit >= maxUserPageSize {
		return maxUserPageSize
	}
	return int(*limit)
}

//// ROW BUILDING

// siteIndex maps site ARIs and cloud ids to host URLs, and records which
// ARIs are Confluence sites of the connection.
type siteIndex struct {
	confluence map[string]string // Confluence site ARI -> host URL
	hosts      map[string]string // any ARI or cloud id -> host URL
}

func newSiteIndex(confluenceSites []atlassian.Workspace) *siteIndex {
	s := &siteIndex{confluence: map[string]string{}, hosts: map[string]string{}}
	for _, w := range confluenceSites {
		s.confluence[w.ARI] = w.HostURL
	}
	s.addHosts(confluenceSites)
	return s
}

// addHosts records the host URL of each workspace under its ARI and its
// cloud id. Products on one site share the cloud id, so the cloud id finds
// the host of a product whose own workspace is not listed.
func (s *siteIndex) addHosts(workspaces []atlassian.Workspace) {
	for _, w := range workspaces {
		if w.HostURL == "" {
			continue
		}
		if w.ARI != "" {
			s.hosts[w.ARI] = w.HostURL
		}
		if w.CloudID != "" {
			s.hosts[w.CloudID] = w.HostURL
		}
	}
}

// confluenceKey is the product key of Confluence.
const confluenceKey = "confluence"

// confluenceARI returns the ARI of the Confluence workspace of a site.
func confluenceARI(cloudID string) string {
	return "ari:cloud:" + confluenceKey + "::site/" + cloudID
}

// isConfluence reports whether cloudID is a Confluence site of the
// connection.
func (s *siteIndex) isConfluence(cloudID string) bool {
	_, ok := s.confluence[confluenceARI(cloudID)]
	return ok
}

// hasConfluence reports whether the user's productAccess includes a
// Confluence site of the connection.
func (s *siteIndex) hasConfluence(u atlassian.User) bool {
	for _, p := range u.ProductAccess {
		if _, ok := s.confluence[p.ID]; ok {
			return true
		}
	}
	return false
}

func (s *siteIndex) confluenceARIs() []string {
	aris := make([]string, 0, len(s.confluence))
	for ari := range s.confluence {
		aris = append(aris, ari)
	}
	slices.Sort(aris)
	return aris
}

// host returns the host URL of the site a product access entry names, or
// "" when the site is unknown.
func (s *siteIndex) host(id string) string {
	if h, ok := s.hosts[id]; ok {
		return h
	}
	return s.hosts[cloudIDOfARI(id)]
}

// cloudIDOfARI returns the cloud id at the end of a site ARI
// ("ari:cloud:<product>::site/<cloudId>"), or id itself when it is not one.
func cloudIDOfARI(id string) string {
	if i := strings.LastIndex(id, "site/"); i >= 0 && strings.HasPrefix(id, "ari:") {
		return id[i+len("site/"):]
	}
	return id
}

func newUserRow(ou orgUser, orgID string, sites *siteIndex) userRow {
	u := ou.User
	row := userRow{
		AccountID:        u.AccountID,
		Status:           nullIfEmpty(u.Status),
		Email:            nullIfEmpty(u.Email),
		AccountType:      nullIfEmpty(u.AccountType),
		Name:             nullIfEmpty(u.Name),
		AccountStatus:    nullIfEmpty(u.AccountStatus),
		ClaimStatus:      nullIfEmpty(u.ClaimStatus),
		MembershipStatus: nullIfEmpty(u.MembershipStatus),
		PlatformRoles:    nonNil(u.PlatformRoles),
		MFAEnabled:       u.MFAEnabled,
		AddedToOrg:       u.AddedToOrg,
		Groups:           nonNil(u.Groups),
		OrgID:            orgID,
		Sites:            []string{},
		ProductAccess:    []productAccessRow{},
	}

	activity := ou.Activity
	if activity.Source != "" {
		known := activity.Known
		row.LastActiveKnown = &known
	}
	lastActive := map[string]*time.Time{} // key + cloud id -> last active
	for _, p := range activity.Products {
		row.LastActiveAnyProduct = latest(row.LastActiveAnyProduct, &p.LastActive)
		lastActive[p.Key+"\x00"+p.CloudID] = &p.LastActive
		if p.Key == confluenceKey && sites.isConfluence(p.CloudID) {
			row.LastActive = latest(row.LastActive, &p.LastActive)
		}
	}
	if row.LastActive != nil {
		days := int64(now().Sub(*row.LastActive) / (24 * time.Hour))
		row.DaysSinceLastActive = &days
	}

	for _, access := range u.ProductAccess {
		entry := productAccessRow{Key: access.Key,
			LastActive: lastActive[access.Key+"\x00"+cloudIDOfARI(access.ID)]}
		if h := sites.host(access.ID); h != "" {
			entry.Site = &h
		}
		row.ProductAccess = append(row.ProductAccess, entry)

		host, isConfluence := sites.confluence[access.ID]
		if isConfluence && !slices.Contains(row.Sites, host) {
			row.Sites = append(row.Sites, host)
		}
	}
	slices.Sort(row.Sites)
	return row
}

// latest returns the later of two optional times.
func latest(a, b *time.Time) *time.Time {
	if b == nil || (a != nil && !b.After(*a)) {
		return a
	}
	return b
}

// nonNil returns an empty slice for nil, so that a JSON column holds []
// rather than null. A column whose expansion was not requested is not
// selected either, so [] always means "none".
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
