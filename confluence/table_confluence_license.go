package confluence

import (
	"context"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
)

//// TABLE DEFINITION

func tableConfluenceLicense(_ context.Context) *plugin.Table {
	return &plugin.Table{
		Name: "confluence_license",
		Description: "The Confluence subscription of each site: edition, billing cycle, " +
			"seats and what it costs, with where each figure came from.",
		List: &plugin.ListConfig{
			Hydrate: listConfluenceLicenses,
			Tags:    adminAPITags,
		},
		Columns: []*plugin.Column{
			{Name: "cloud_id", Type: proto.ColumnType_STRING,
				Description: "The cloud id of the site."},
			{Name: "site", Type: proto.ColumnType_STRING,
				Description: "The host URL of the site."},
			{Name: "edition", Type: proto.ColumnType_STRING,
				Description: "The Confluence edition: free, standard, premium or enterprise."},
			{Name: "billing_cycle", Type: proto.ColumnType_STRING,
				Description: "The billing cycle priced: monthly or annual. From the billing " +
					"data when cost_source is bill_estimate; otherwise the price table's " +
					"monthly entry for the edition, or its annual one when it has no monthly " +
					"entry."},
			{Name: "seats_bought", Type: proto.ColumnType_INT,
				Description: "The user tier bought on an annual plan, 10 on a Free plan, " +
					"otherwise the Admin API's seat limit. NULL when unknown."},
			{Name: "billable_users", Type: proto.ColumnType_INT,
				Description: "Users billed on the site: Atlassian accounts with Confluence " +
					"access, not guests and not suspended. On a Free plan, the users counted " +
					"against its 10-user limit. 0 on a sandbox."},
			{Name: "unused_seats", Type: proto.ColumnType_INT,
				Description: "seats_bought minus billable_users, never below 0."},
			{Name: "price_per_user", Type: proto.ColumnType_DOUBLE,
				Description: "amount_monthly divided by billable_users, for display."},
			{Name: "price_per_user_minor", Type: proto.ColumnType_INT,
				Description: "amount_monthly_minor divided by billable_users, rounded to " +
					"the nearest minor unit (halves up)."},
			{Name: "amount_monthly", Type: proto.ColumnType_DOUBLE,
				Description: "What the site costs a month, in currency, for display. Sum " +
					"amount_monthly_minor instead."},
			{Name: "amount_monthly_minor", Type: proto.ColumnType_INT,
				Description: "What the site costs a month, in minor units of currency. On " +
					"an annual plan, the annual amount divided by 12, rounded (halves up)."},
			{Name: "amount_annual", Type: proto.ColumnType_DOUBLE,
				Description: "What the site costs a year, in currency, for display."},
			{Name: "amount_annual_minor", Type: proto.ColumnType_INT,
				Description: "What the site costs a year, in minor units of currency. On a " +
					"monthly plan, 12 times the monthly amount."},
			{Name: "currency", Type: proto.ColumnType_STRING,
				Description: "The ISO 4217 currency of the amounts."},
			{Name: "next_bill_date", Type: proto.ColumnType_TIMESTAMP,
				Description: "The next bill or renewal date. NULL without billing data."},
			{Name: "seats_to_next_lower_tier", Type: proto.ColumnType_INT,
				Description: "On an annual plan, how many billable users must lose access " +
					"for the count to fit the next lower tier at renewal. Removing fewer " +
					"saves nothing. NULL on monthly plans and on the lowest tier."},
			{Name: "cost_source", Type: proto.ColumnType_STRING,
				Description: "Where the amounts came from: bill_estimate, " +
					"configured_price_table, default_price_table, free_plan, sandbox or " +
					"no_price (an edition the price table does not price, such as Enterprise)."},
			{Name: "price_table_date", Type: proto.ColumnType_STRING,
				Description: "The date of the default price table when it priced the row. " +
					"Its prices are approximate: check them against the bill."},
		},
	}
}

//// LIST FUNCTION

func listConfluenceLicenses(ctx context.Context, d *plugin.QueryData,
	_ *plugin.HydrateData) (any, error) {
	licenses, _, err := loadSpend(ctx, d)
	if err != nil {
		plugin.Logger(ctx).Error("listConfluenceLicenses", "api_error", err)
		return nil, err
	}
	for _, l := range licenses {
		d.StreamListItem(ctx, newLicenseColumns(l))
		if d.RowsRemaining(ctx) == 0 {
			return nil, nil
		}
	}
	return nil, nil
}

//// ROW BUILDING

// licenseColumns is a licenseRow with the display amounts added.
type licenseColumns struct {
	CloudID              string
	Site                 string
	Edition              *string
	BillingCycle         *string
	SeatsBought          *int64
	BillableUsers        int64
	UnusedSeats          *int64
	PricePerUser         *float64
	PricePerUserMinor    *int64
	AmountMonthly        *float64
	AmountMonthlyMinor   *int64
	AmountAnnual         *float64
	AmountAnnualMinor    *int64
	Currency             *string
	NextBillDate         *time.Time
	SeatsToNextLowerTier *int64
	CostSource           string
	PriceTableDate       *string
}

func newLicenseColumns(l licenseRow) licenseColumns {
	cur := pricing.Currency{Exponent: l.exponent}
	return licenseColumns{
		CloudID: l.CloudID, Site: l.Site, Edition: l.Edition, BillingCycle: l.BillingCycle,
		SeatsBought: l.SeatsBought, BillableUsers: l.BillableUsers, UnusedSeats: l.UnusedSeats,
		PricePerUser: major(l.PricePerUserMinor, cur), PricePerUserMinor: l.PricePerUserMinor,
		AmountMonthly: major(l.AmountMonthlyMinor, cur), AmountMonthlyMinor: l.AmountMonthlyMinor,
		AmountAnnual: major(l.AmountAnnualMinor, cur), AmountAnnualMinor: l.AmountAnnualMinor,
		Currency: l.Currency, NextBillDate: l.NextBillDate,
		SeatsToNextLowerTier: l.SeatsToNextLowerTier, CostSource: l.CostSource,
		PriceTableDate: l.PriceTableDate,
	}
}

// major converts optional minor units to a display amount.
func major(minor *int64, cur pricing.Currency) *float64 {
	if minor == nil {
		return nil
	}
	v := pricing.ToMajor(*minor, cur)
	return &v
}
