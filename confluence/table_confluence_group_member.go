package confluence

import (
	"context"
	"errors"
	"slices"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

//// TABLE DEFINITION

func tableConfluenceGroupMember(_ context.Context) *plugin.Table {
	return &plugin.Table{
		Name: "confluence_group_member",
		Description: "Members of the organization's groups, with their status in the " +
			"directory, suspended and deactivated members included.",
		List: &plugin.ListConfig{
			Hydrate: listConfluenceGroupMembers,
			Tags:    adminAPITags,
			KeyColumns: plugin.KeyColumnSlice{
				{Name: "group_id", Operators: []string{"="}, Require: plugin.Optional},
				{Name: "group_name", Operators: []string{"="}, Require: plugin.Optional},
				{Name: "account_id", Operators: []string{"="}, Require: plugin.Optional},
			},
		},
		Columns: []*plugin.Column{
			{
				Name:        "group_id",
				Type:        proto.ColumnType_STRING,
				Description: "The id of the group.",
			},
			{
				Name:        "group_name",
				Type:        proto.ColumnType_STRING,
				Description: "The name of the group.",
			},
			{
				Name:        "account_id",
				Type:        proto.ColumnType_STRING,
				Description: "The Atlassian account ID of the member.",
			},
			{
				Name:        "name",
				Type:        proto.ColumnType_STRING,
				Description: "The display name of the member.",
			},
			{
				Name: "email",
				Type: proto.ColumnType_STRING,
				Description: "The e-mail address of the member. NULL when the member's " +
					"privacy settings hide it.",
			},
			{
				Name:        "account_type",
				Type:        proto.ColumnType_STRING,
				Description: "The kind of account: atlassian, app or customer.",
			},
			{
				Name: "status",
				Type: proto.ColumnType_STRING,
				Description: "The member's status in the organization: active, suspended, " +
					"not_invited, deactivated or for_deletion.",
			},
			{
				Name: "has_confluence_access",
				Type: proto.ColumnType_BOOL,
				Description: "True when the member has Confluence access on a Confluence " +
					"site of the connection.",
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

// groupMemberRow is one row of confluence_group_member.
type groupMemberRow struct {
	GroupID             string
	GroupName           string
	AccountID           string
	Name                *string
	Email               *string
	AccountType         *string
	Status              *string
	HasConfluenceAccess bool
	OrgID               string
}

//// LIST FUNCTION

// listConfluenceGroupMembers reads memberships from the directory's user
// search with the groups of each user, rather than from each site's
// membersByGroupId: that call leaves out suspended and deactivated members
// without saying so, and those are the members a license review looks for.
func listConfluenceGroupMembers(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	logger := plugin.Logger(ctx)
	groupIDs := equalsValues(d.Quals, "group_id", identity)
	groupNames := equalsValues(d.Quals, "group_name", identity)
	accountIDs := equalsValues(d.Quals, "account_id", identity)
	for _, set := range []stringSet{groupIDs, groupNames, accountIDs} {
		if set != nil && len(set) == 0 {
			return nil, nil
		}
	}

	orgID, sites, err := confluenceSites(ctx, d)
	if err != nil {
		logger.Error("listConfluenceGroupMembers", "step", "list sites", "api_error", err)
		return nil, err
	}
	client, err := connect(ctx, d)
	if err != nil {
		return nil, err
	}
	ctx = pacedContext(ctx, d)
	index := newSiteIndex(sites)

	search := atlassian.UserSearch{Expand: []string{"groups"}}
	if accountIDs != nil {
		search.AccountIDs = accountIDs.sorted()
	}
	needAccess := slices.Contains(d.QueryContext.Columns, "has_confluence_access")
	if needAccess {
		search.Expand = append(search.Expand, "productAccess")
	}

	hasAccess := index.hasConfluence
	stream := func(u atlassian.User) bool {
		for _, g := range u.Groups {
			if groupIDs != nil && !groupIDs.has(g.ID) {
				continue
			}
			if groupNames != nil && !groupNames.has(g.Name) {
				continue
			}
			if accountIDs != nil && !accountIDs.has(u.AccountID) {
				continue
			}
			d.StreamListItem(ctx, groupMemberRow{
				GroupID:             g.ID,
				GroupName:           g.Name,
				AccountID:           u.AccountID,
				Name:                nullIfEmpty(u.Name),
				Email:               nullIfEmpty(u.Email),
				AccountType:         nullIfEmpty(u.AccountType),
				Status:              nullIfEmpty(u.Status),
				HasConfluenceAccess: needAccess && hasAccess(u),
				OrgID:               orgID,
			})
			if d.RowsRemaining(ctx) == 0 {
				return false
			}
		}
		return true
	}

	err = client.SearchUsers(ctx, orgID, search, stream)
	if needAccess && errors.Is(err, atlassian.ErrBulkActivityUnsupported) {
		// Orgs on the original user management experience reject the
		// productAccess expansion, but still filter the search by site.
		logger.Info("listConfluenceGroupMembers", "org_id", orgID,
			"confluence_access", "site filtered search")
		members, idsErr := confluenceAccountIDs(ctx, client, orgID, index.confluenceARIs())
		if idsErr != nil {
			logger.Error("listConfluenceGroupMembers", "step", "list Confluence users",
				"api_error", idsErr)
			return nil, idsErr
		}
		hasAccess = func(u atlassian.User) bool { return members.has(u.AccountID) }
		search.Expand = []string{"groups"}
		err = client.SearchUsers(ctx, orgID, search, stream)
	}
	if err != nil {
		logger.Error("listConfluenceGroupMembers", "step", "search users", "api_error", err)
		return nil, err
	}
	return nil, nil
}

// confluenceAccountIDs returns the ids of the accounts with access on any
// of the sites with these ARIs, from a user search without expansions.
func confluenceAccountIDs(ctx context.Context, client *atlassian.Client, orgID string,
	aris []string) (stringSet, error) {
	ids := stringSet{}
	if len(aris) == 0 {
		// An empty resource filter would match every user of the org.
		return ids, nil
	}
	err := client.SearchUsers(ctx, orgID, atlassian.UserSearch{ResourceIDs: aris},
		func(u atlassian.User) bool {
			ids[u.AccountID] = struct{}{}
			return true
		})
	return ids, err
}
