package confluence

import (
	"context"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
)

//// TABLE DEFINITION

func tableConfluenceSpend(_ context.Context) *plugin.Table {
	return &plugin.Table{
		Name: "confluence_spend",
		Description: "What each user with Confluence access costs on each site, and why " +
			"the user is billed there or not.",
		List: &plugin.ListConfig{
			Hydrate: listConfluenceSpend,
			Tags:    adminAPITags,
		},
		Columns: []*plugin.Column{
			{Name: "account_id", Type: proto.ColumnType_STRING,
				Description: "The Atlassian account ID of the user."},
			{Name: "cloud_id", Type: proto.ColumnType_STRING,
				Description: "The cloud id of the site."},
			{Name: "site", Type: proto.ColumnType_STRING,
				Description: "The host URL of the site."},
			{Name: "edition", Type: proto.ColumnType_STRING,
				Description: "The Confluence edition of the site."},
			{Name: "billable", Type: proto.ColumnType_BOOL,
				Description: "True when the user is billed on this site."},
			{Name: "reason", Type: proto.ColumnType_STRING,
				Description: "Why the user is billed here or not: billed on this production " +
					"site (and how many other production sites bill the user), sandbox site, " +
					"free plan, app or customer account, guest, or suspended in the " +
					"organization."},
			{Name: "amount_monthly", Type: proto.ColumnType_DOUBLE,
				Description: "The user's share of the site's monthly amount, for display."},
			{Name: "amount_monthly_minor", Type: proto.ColumnType_INT,
				Description: "The user's share of the site's monthly amount, in minor " +
					"units. The shares of a site add up to its amount_monthly_minor in " +
					"confluence_license. NULL when the site has no price."},
			{Name: "amount_annual", Type: proto.ColumnType_DOUBLE,
				Description: "The user's share of the site's annual amount, for display."},
			{Name: "amount_annual_minor", Type: proto.ColumnType_INT,
				Description: "The user's share of the site's annual amount, in minor units."},
			{Name: "currency", Type: proto.ColumnType_STRING,
				Description: "The ISO 4217 currency of the amounts."},
			{Name: "cost_source", Type: proto.ColumnType_STRING,
				Description: "Where the amounts came from: bill_estimate, " +
					"configured_price_table, default_price_table, free_plan, sandbox, " +
					"not_billed or no_price."},
		},
	}
}

//// LIST FUNCTION

func listConfluenceSpend(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	_, spends, err := loadSpend(ctx, d)
	if err != nil {
		plugin.Logger(ctx).Error("listConfluenceSpend", "api_error", err)
		return nil, err
	}
	for _, s := range spends {
		d.StreamListItem(ctx, newSpendColumns(s))
		if d.RowsRemaining(ctx) == 0 {
			return nil, nil
		}
	}
	return nil, nil
}

//// ROW BUILDING

// spendColumns is a spendRow with the display amounts added.
type spendColumns struct {
	AccountID          string
	CloudID            string
	Site               string
	Edition            *string
	Billable           bool
	Reason             string
	AmountMonthly      *float64
	AmountMonthlyMinor *int64
	AmountAnnual       *float64
	AmountAnnualMinor  *int64
	Currency           *string
	CostSource         string
}

func newSpendColumns(s spendRow) spendColumns {
	cur := pricing.Currency{Exponent: s.exponent}
	return spendColumns{
		AccountID: s.AccountID, CloudID: s.CloudID, Site: s.Site, Edition: s.Edition,
		Billable: s.Billable, Reason: s.Reason,
		AmountMonthly: major(s.AmountMonthlyMinor, cur), AmountMonthlyMinor: s.AmountMonthlyMinor,
		AmountAnnual: major(s.AmountAnnualMinor, cur), AmountAnnualMinor: s.AmountAnnualMinor,
		Currency: s.Currency, CostSource: s.CostSource,
	}
}
