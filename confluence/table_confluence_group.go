package confluence

import (
	"context"
	"strings"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

//// TABLE DEFINITION

func tableConfluenceGroup(_ context.Context) *plugin.Table {
	return &plugin.Table{
		Name: "confluence_group",
		Description: "Groups of the organization's directory, with their member count " +
			"and whether their name marks them as a Confluence access group.",
		List: &plugin.ListConfig{
			Hydrate: listConfluenceGroups,
			Tags:    adminAPITags,
			KeyColumns: plugin.KeyColumnSlice{
				{Name: "name", Operators: []string{"="}, Require: plugin.Optional},
			},
		},
		Get: &plugin.GetConfig{
			Hydrate:    getConfluenceGroup,
			KeyColumns: plugin.SingleColumn("id"),
			Tags:       adminAPITags,
		},
		Columns: []*plugin.Column{
			{
				Name:        "id",
				Type:        proto.ColumnType_STRING,
				Description: "The id of the group.",
			},
			{
				Name:        "name",
				Type:        proto.ColumnType_STRING,
				Description: "The name of the group.",
			},
			{
				Name:        "description",
				Type:        proto.ColumnType_STRING,
				Description: "The description of the group. NULL when it has none.",
			},
			{
				Name: "member_count",
				Type: proto.ColumnType_INT,
				Description: "Members of the group in the directory, whatever their status. " +
					"NULL when the Admin API leaves the count out.",
			},
			{
				Name: "grants_confluence",
				Type: proto.ColumnType_BOOL,
				Description: "True when the group's name is one Atlassian gives the group " +
					"that grants Confluence access (confluence-users, or " +
					"confluence-users-<site>); NULL otherwise. Derived from the name only: " +
					"the Admin API does not return which groups grant product access, so " +
					"NULL means unknown, and seats are counted from product access in " +
					"confluence_user, never from groups.",
			},
			{
				Name: "access_site",
				Type: proto.ColumnType_STRING,
				Description: "Host URL of the Confluence site named in a " +
					"confluence-users-<site> group name. NULL for other names, and when " +
					"no Confluence site of the connection has that name.",
			},
			{
				Name: "management_source",
				Type: proto.ColumnType_STRING,
				Description: "Who manages the group, as the Admin API names it: scim for a " +
					"group synced from an identity provider. NULL when the API leaves it out.",
			},
			{
				Name: "synced",
				Type: proto.ColumnType_BOOL,
				Description: "True when the group is synced from an identity provider " +
					"(management_source scim), so its members change there, not in Atlassian. " +
					"NULL when management_source is unknown.",
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

// groupRow is one row of confluence_group.
type groupRow struct {
	ID               string
	Name             string
	Description      *string
	MemberCount      *int64
	GrantsConfluence *bool
	AccessSite       *string
	ManagementSource *string
	Synced           *bool
	OrgID            string
}

//// LIST FUNCTION

func listConfluenceGroups(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	names := equalsValues(d.Quals, "name", identity)
	if names != nil && len(names) == 0 {
		return nil, nil
	}
	err := searchGroups(ctx, d, func(g groupRow) bool {
		if names != nil && !names.has(g.Name) {
			return true
		}
		d.StreamListItem(ctx, g)
		return d.RowsRemaining(ctx) > 0
	})
	if err != nil {
		plugin.Logger(ctx).Error("listConfluenceGroups", "api_error", err)
		return nil, err
	}
	return nil, nil
}

//// GET FUNCTION

func getConfluenceGroup(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	id := d.EqualsQualString("id")
	if id == "" {
		return nil, nil
	}
	// The group search has no id filter, so the get reads groups until it
	// finds the one asked for.
	var found *groupRow
	err := searchGroups(ctx, d, func(g groupRow) bool {
		if g.ID == id {
			found = &g
			return false
		}
		return true
	})
	if err != nil {
		plugin.Logger(ctx).Error("getConfluenceGroup", "id", id, "api_error", err)
		return nil, err
	}
	if found == nil {
		return nil, nil
	}
	return *found, nil
}

// searchGroups calls fn with each group of the org's directories, until
// fn returns false.
func searchGroups(ctx context.Context, d *plugin.QueryData, fn func(groupRow) bool) error {
	orgID, sites, err := confluenceSites(ctx, d)
	if err != nil {
		return err
	}
	client, err := connect(ctx, d)
	if err != nil {
		return err
	}
	return client.SearchGroups(pacedContext(ctx, d), orgID, func(g atlassian.DirectoryGroup) bool {
		return fn(newGroupRow(g, orgID, sites))
	})
}

//// ROW BUILDING

// groupSyncedSource is the management source of a group provisioned from
// an identity provider through SCIM.
const groupSyncedSource = "scim"

// confluenceAccessGroupPrefix starts the name Atlassian gives the group
// that grants Confluence access on a site: confluence-users-<site name>.
// Sites created before that naming have one group called confluence-users.
const confluenceAccessGroupPrefix = "confluence-users"

func newGroupRow(g atlassian.DirectoryGroup, orgID string, sites []atlassian.Workspace) groupRow {
	row := groupRow{
		ID:          g.ID,
		Name:        g.Name,
		Description: nullIfEmpty(g.Description),
		MemberCount: g.UserCount,
		OrgID:       orgID,
	}
	if g.ManagementSource != "" {
		source := g.ManagementSource
		synced := strings.EqualFold(source, groupSyncedSource)
		row.ManagementSource, row.Synced = &source, &synced
	}
	grants, site := accessGroupSite(g.Name, sites)
	if grants {
		row.GrantsConfluence = &grants
	}
	row.AccessSite = nullIfEmpty(site)
	return row
}

// accessGroupSite reports whether name is a Confluence access group name,
// and returns the host URL of the site it names, or "" when it names none
// of sites.
func accessGroupSite(name string, sites []atlassian.Workspace) (bool, string) {
	if name == confluenceAccessGroupPrefix {
		return true, ""
	}
	siteName, ok := strings.CutPrefix(name, confluenceAccessGroupPrefix+"-")
	if !ok || siteName == "" {
		return false, ""
	}
	for _, w := range sites {
		if strings.EqualFold(w.Name, siteName) {
			return true, w.HostURL
		}
	}
	return true, ""
}
