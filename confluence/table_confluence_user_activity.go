package confluence

import (
	"context"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

//// TABLE DEFINITION

func tableConfluenceUserActivity(_ context.Context) *plugin.Table {
	return &plugin.Table{
		Name: "confluence_user_activity",
		Description: "When each user with Confluence access last used each product on " +
			"each site: one row per user, product and site with recorded activity.",
		List: &plugin.ListConfig{
			Hydrate: listConfluenceUserActivity,
			Tags:    adminAPITags,
			KeyColumns: plugin.KeyColumnSlice{
				{Name: "account_id", Operators: []string{"="}, Require: plugin.Optional},
				{Name: "product_key", Operators: []string{"="}, Require: plugin.Optional},
			},
		},
		Columns: []*plugin.Column{
			{
				Name:        "account_id",
				Type:        proto.ColumnType_STRING,
				Description: "The Atlassian account ID of the user.",
			},
			{
				Name: "product_key",
				Type: proto.ColumnType_STRING,
				Description: "The product the row is about, for example confluence or " +
					"jira-software.",
			},
			{
				Name: "site",
				Type: proto.ColumnType_STRING,
				Description: "The host URL of the site of the product. NULL when the " +
					"site is not among the org's workspaces.",
			},
			{
				Name:        "cloud_id",
				Type:        proto.ColumnType_STRING,
				Description: "The cloud id of the site of the product.",
			},
			{
				Name: "last_active",
				Type: proto.ColumnType_TIMESTAMP,
				Description: "When the user last used the product on the site. NULL only " +
					"when last_active_known is false.",
			},
			{
				Name: "last_active_known",
				Type: proto.ColumnType_BOOL,
				Description: "False when the user's dates could not be read (the per-user " +
					"call was refused or found no user). Such a user gets one row per " +
					"product access, with a NULL last_active that means unknown, not " +
					"never active.",
			},
			{
				Name:        "added_to_org",
				Type:        proto.ColumnType_TIMESTAMP,
				Description: "When the user was added to the organization.",
			},
			{
				Name: "source",
				Type: proto.ColumnType_STRING,
				Description: "Where the dates come from: bulk_search (the user search's " +
					"product access) or last_active_dates (the per-user call, used when " +
					"the search does not report activity).",
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

// activityRow is one row of confluence_user_activity.
type activityRow struct {
	AccountID       string
	ProductKey      string
	Site            *string
	CloudID         *string
	LastActive      *time.Time
	LastActiveKnown bool
	AddedToOrg      *time.Time
	Source          string
	OrgID           string
}

//// LIST FUNCTION

// listConfluenceUserActivity lists the activity of the users with
// Confluence access. A user who never used a product has no row for it,
// so a user who never used Confluence has no Confluence row, and no other
// product's date takes its place.
func listConfluenceUserActivity(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	logger := plugin.Logger(ctx)
	accountIDs := equalsValues(d.Quals, "account_id", identity)
	productKeys := equalsValues(d.Quals, "product_key", identity)
	if (accountIDs != nil && len(accountIDs) == 0) ||
		(productKeys != nil && len(productKeys) == 0) {
		return nil, nil
	}
	limit := d.QueryContext.Limit
	if limit != nil && *limit <= 0 {
		return nil, nil
	}
	emit := func(orgID string, sites *siteIndex) func(orgUser) bool {
		return func(u orgUser) bool {
			if accountIDs != nil && !accountIDs.has(u.User.AccountID) {
				return true
			}
			for _, row := range activityRows(u, orgID, sites) {
				if productKeys != nil && !productKeys.has(row.ProductKey) {
					continue
				}
				d.StreamListItem(ctx, row)
				if d.RowsRemaining(ctx) == 0 {
					return false
				}
			}
			return true
		}
	}

	inv, err := inventoryForQuery(ctx, d, accountIDs != nil || limit != nil)
	if err != nil {
		logger.Error("listConfluenceUserActivity", "step", "inventory", "api_error", err)
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

	client, err := connect(ctx, d)
	if err != nil {
		return nil, err
	}
	ctx = pacedContext(ctx, d)
	orgID, _, sites, err := orgSites(ctx, client, true)
	if err != nil {
		logger.Error("listConfluenceUserActivity", "step", "list sites", "api_error", err)
		return nil, err
	}
	scan := userScan{orgID: orgID, index: sites, activity: true,
		search: atlassian.UserSearch{Expand: []string{"productAccess"}}}
	if accountIDs != nil {
		scan.search.AccountIDs = accountIDs.sorted()
	}
	if err := scanUsers(ctx, client, scan, emit(orgID, sites)); err != nil {
		logger.Error("listConfluenceUserActivity", "step", "search users", "api_error", err)
		return nil, err
	}
	return nil, nil
}

//// ROW BUILDING

// activityRows returns the rows of one user: one per product and site with
// activity, or, when the dates are unknown, one per product access.
func activityRows(u orgUser, orgID string, sites *siteIndex) []activityRow {
	a := u.Activity
	var rows []activityRow
	if !a.Known {
		for _, p := range u.User.ProductAccess {
			cloudID := cloudIDOfARI(p.ID)
			rows = append(rows, activityRow{
				AccountID:  u.User.AccountID,
				ProductKey: p.Key,
				Site:       nullIfEmpty(sites.host(p.ID)),
				CloudID:    nullIfEmpty(cloudID),
				AddedToOrg: a.AddedToOrg,
				Source:     a.Source,
				OrgID:      orgID,
			})
		}
		return rows
	}
	for _, p := range a.Products {
		last := p.LastActive
		rows = append(rows, activityRow{
			AccountID:       u.User.AccountID,
			ProductKey:      p.Key,
			Site:            nullIfEmpty(p.Site),
			CloudID:         nullIfEmpty(p.CloudID),
			LastActive:      &last,
			LastActiveKnown: true,
			AddedToOrg:      a.AddedToOrg,
			Source:          a.Source,
			OrgID:           orgID,
		})
	}
	return rows
}
