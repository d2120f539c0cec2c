package confluence

import (
	"context"
	"fmt"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

//// TABLE DEFINITION

func tableConfluenceSite(_ context.Context) *plugin.Table {
	return &plugin.Table{
		Name: "confluence_site",
		Description: "Sites of the organization with Confluence, with their edition, " +
			"seat limit and the number of users with Confluence access.",
		List: &plugin.ListConfig{
			Hydrate: listConfluenceSites,
			Tags:    adminAPITags,
		},
		Get: &plugin.GetConfig{
			Hydrate:    getConfluenceSite,
			KeyColumns: plugin.SingleColumn("cloud_id"),
			Tags:       adminAPITags,
		},
		HydrateConfig: []plugin.HydrateConfig{
			{Func: getSiteSystemInfo, Tags: siteRESTTags},
			{Func: getSiteConfluenceUsers, Tags: siteRESTTags},
		},
		Columns: []*plugin.Column{
			{
				Name:        "cloud_id",
				Type:        proto.ColumnType_STRING,
				Description: "The cloud id of the site.",
			},
			{
				Name:        "url",
				Type:        proto.ColumnType_STRING,
				Description: "The host URL of the site, for example https://example.atlassian.net.",
			},
			{
				Name:        "name",
				Type:        proto.ColumnType_STRING,
				Description: "The name of the site, as the Admin API lists it.",
			},
			{
				Name: "edition",
				Type: proto.ColumnType_STRING,
				Description: "The Confluence edition of the site: free, standard, premium or " +
					"enterprise. Read from the site's REST API only when selected.",
				Hydrate:   getSiteSystemInfo,
				Transform: transform.FromField("Edition").Transform(transform.NullIfZeroValue),
			},
			{
				Name: "title",
				Type: proto.ColumnType_STRING,
				Description: "The title of the Confluence site. Read from the site's REST " +
					"API only when selected.",
				Hydrate:   getSiteSystemInfo,
				Transform: transform.FromField("SiteTitle").Transform(transform.NullIfZeroValue),
			},
			{
				Name:        "status",
				Type:        proto.ColumnType_STRING,
				Description: "The status of the Confluence workspace, for example online.",
			},
			{
				Name: "sandbox",
				Type: proto.ColumnType_BOOL,
				Description: "True for a sandbox site. Sandboxes are not billed as " +
					"Confluence.",
			},
			{
				Name: "capacity",
				Type: proto.ColumnType_INT,
				Description: "The seat limit of the Confluence subscription on the site. " +
					"NULL when the Admin API has no license data for it.",
			},
			{
				Name: "confluence_users",
				Type: proto.ColumnType_INT,
				Description: "Atlassian accounts with Confluence access on the site, guests " +
					"and app accounts left out. See confluence_users_source.",
				Hydrate:   getSiteConfluenceUsers,
				Transform: transform.FromField("Count"),
			},
			{
				Name: "confluence_users_source",
				Type: proto.ColumnType_STRING,
				Description: "Where confluence_users comes from: admin_usage (the " +
					"workspace's usage figure) or licensed_users (counted from the site's " +
					"licensed user list when the Admin API gives no usage).",
				Hydrate:   getSiteConfluenceUsers,
				Transform: transform.FromField("Source"),
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

// siteRow is one row of confluence_site.
type siteRow struct {
	CloudID  string
	URL      string
	Name     string
	Status   *string
	Sandbox  bool
	Capacity *int64
	// Usage is the Admin API's count of users with access, kept for the
	// confluence_users hydrate.
	Usage *int64
	OrgID string
}

// siteUserCount is the value of the confluence_users columns.
type siteUserCount struct {
	Count  int64
	Source string
}

// Values of confluence_users_source.
const (
	usersFromAdminUsage    = "admin_usage"
	usersFromLicensedUsers = "licensed_users"
)

//// LIST FUNCTION

func listConfluenceSites(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	orgID, sites, err := confluenceSites(ctx, d)
	if err != nil {
		plugin.Logger(ctx).Error("listConfluenceSites", "api_error", err)
		return nil, err
	}
	for _, w := range sites {
		d.StreamListItem(ctx, newSiteRow(w, orgID))
		if d.RowsRemaining(ctx) == 0 {
			return nil, nil
		}
	}
	return nil, nil
}

//// GET FUNCTION

func getConfluenceSite(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	cloudID := d.EqualsQualString("cloud_id")
	if cloudID == "" {
		return nil, nil
	}
	orgID, sites, err := confluenceSites(ctx, d)
	if err != nil {
		plugin.Logger(ctx).Error("getConfluenceSite", "cloud_id", cloudID, "api_error", err)
		return nil, err
	}
	for _, w := range sites {
		if w.CloudID == cloudID {
			return newSiteRow(w, orgID), nil
		}
	}
	return nil, nil
}

// confluenceSites returns the org id and the Confluence sites of the
// connection, from the cached inventory when there is one.
func confluenceSites(ctx context.Context, d *plugin.QueryData) (string,
	[]atlassian.Workspace, error) {
	ttl, err := cacheTTL(d)
	if err != nil {
		return "", nil, err
	}
	if inv := cachedInventory(ctx, d, ttl); inv != nil {
		return inv.OrgID, inv.Sites, nil
	}
	client, err := connect(ctx, d)
	if err != nil {
		return "", nil, err
	}
	ctx = pacedContext(ctx, d)
	orgID, err := client.ResolveOrgID(ctx)
	if err != nil {
		return "", nil, err
	}
	sites, err := client.ConfluenceSites(ctx, orgID)
	if err != nil {
		return "", nil, err
	}
	return orgID, sites, nil
}

//// HYDRATE FUNCTIONS

func getSiteSystemInfo(ctx context.Context, d *plugin.QueryData,
	h *plugin.HydrateData) (any, error) {
	site := h.Item.(siteRow)
	client, err := connect(ctx, d)
	if err != nil {
		return nil, err
	}
	info, err := client.SystemInfo(ctx, site.URL)
	if err != nil {
		plugin.Logger(ctx).Error("getSiteSystemInfo", "site", site.URL, "api_error", err)
		return nil, err
	}
	return info, nil
}

// getSiteConfluenceUsers returns the workspace's usage figure when the
// Admin API gives one. Otherwise it counts the site's licensed users that
// are Atlassian accounts, which is what usage counts: the licensed user
// list already leaves guests out, and app accounts take no seat.
//
// NOTE: the pages of this count wait on no rate limiter of their own; the
// SDK paces the hydrate call as a whole.
func getSiteConfluenceUsers(ctx context.Context, d *plugin.QueryData,
	h *plugin.HydrateData) (any, error) {
	site := h.Item.(siteRow)
	if site.Usage != nil {
		return siteUserCount{Count: *site.Usage, Source: usersFromAdminUsage}, nil
	}
	client, err := connect(ctx, d)
	if err != nil {
		return nil, err
	}
	var count int64
	err = client.LicensedUsers(ctx, site.URL, func(u atlassian.SiteUser) bool {
		if u.AccountType == "atlassian" {
			count++
		}
		return true
	})
	if err != nil {
		plugin.Logger(ctx).Error("getSiteConfluenceUsers", "site", site.URL, "api_error", err)
		return nil, fmt.Errorf("counting the licensed users of %s: %w", site.URL, err)
	}
	return siteUserCount{Count: count, Source: usersFromLicensedUsers}, nil
}

//// ROW BUILDING

func newSiteRow(w atlassian.Workspace, orgID string) siteRow {
	return siteRow{
		CloudID:  w.CloudID,
		URL:      w.HostURL,
		Name:     w.Name,
		Status:   nullIfEmpty(w.Status),
		Sandbox:  w.Sandbox,
		Capacity: w.Capacity,
		Usage:    w.Usage,
		OrgID:    orgID,
	}
}
