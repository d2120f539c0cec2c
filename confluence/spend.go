package confluence

import (
	"fmt"
	"slices"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
)

// Values of the cost_source column of confluence_license and
// confluence_spend: where a row's amounts came from.
const (
	costBillEstimate    = "bill_estimate"
	costConfiguredTable = "configured_price_table"
	costDefaultTable    = "default_price_table"
	costFreePlan        = "free_plan"
	costSandbox         = "sandbox"
	costNotBilled       = "not_billed"
	costNoPrice         = "no_price"
)

// spendSite is one Confluence site, as input to the spend computation.
type spendSite struct {
	CloudID  string
	URL      string
	Sandbox  bool
	Edition  string // lower case; "" when unknown
	Capacity *int64 // Admin API seat limit
	// Billing is the admin hub's data, nil when the session cannot read it.
	Billing *atlassian.SiteBilling
}

// spendUser is one user with Confluence access on at least one site.
type spendUser struct {
	AccountID   string
	AccountType string
	Status      string
	// Access maps the cloud id of each site where the user has Confluence
	// access to whether the user is a guest there.
	Access map[string]bool
}

// priceSource is the price table in force and whether the user
// configured it.
type priceSource struct {
	Table      pricing.Table
	Configured bool
}

func (p priceSource) costSource() string {
	if p.Configured {
		return costConfiguredTable
	}
	return costDefaultTable
}

// licenseRow is one row of confluence_license. Amounts are minor units;
// nil means unknown.
type licenseRow struct {
	CloudID              string
	Site                 string
	Edition              *string
	BillingCycle         *string
	SeatsBought          *int64
	BillableUsers        int64
	UnusedSeats          *int64
	PricePerUserMinor    *int64
	AmountMonthlyMinor   *int64
	AmountAnnualMinor    *int64
	Currency             *string
	NextBillDate         *time.Time
	SeatsToNextLowerTier *int64
	CostSource           string
	PriceTableDate       *string
	exponent             int
}

// spendRow is one row of confluence_spend.
type spendRow struct {
	AccountID          string
	CloudID            string
	Site               string
	Edition            *string
	Billable           bool
	Reason             string
	AmountMonthlyMinor *int64
	AmountAnnualMinor  *int64
	Currency           *string
	CostSource         string
	exponent           int
}

// Who is billed: users with Confluence access on a production site,
// except app and customer accounts, guests, and users suspended,
// deactivated or marked for deletion in the org. A user who was never
// invited still counts: Atlassian bills access, not sign-ins.
var unbilledStatuses = []string{"suspended", "deactivated", "for_deletion"}

// userExclusion returns why a user is not billed on a paid production
// site, or "" when the user is billed.
func userExclusion(u spendUser, guest bool) string {
	switch {
	case u.AccountType == "app":
		return "app account: not billed"
	case u.AccountType == "customer":
		return "customer account: not billed"
	case slices.Contains(unbilledStatuses, u.Status):
		return "user is " + u.Status + " in the organization: not billed"
	case guest:
		return "guest: takes a free guest seat, not billed"
	}
	return ""
}

// siteCost is the bill of one site before it is split over its users.
type siteCost struct {
	source      string
	cycle       string
	currency    *pricing.Currency
	monthly     *int64
	annual      *int64
	seatsBought *int64
	toLower     *int64
	tableDate   *string
}

// computeSpend builds the license and spend rows. A site's amounts are
// split over its billable users with pricing.Split, so that each site's
// amount_monthly_minor and amount_annual_minor equal the sums over its
// users exactly.
func computeSpend(sites []spendSite, users []spendUser, prices priceSource) ([]licenseRow,
	[]spendRow) {
	billableSites := map[string]int{} // account id -> production sites billed
	for _, u := range users {
		for _, s := range sites {
			guest, ok := u.Access[s.CloudID]
			if ok && !s.Sandbox && editionOf(s) != string(pricing.Free) &&
				userExclusion(u, guest) == "" {
				billableSites[u.AccountID]++
			}
		}
	}

	var licenses []licenseRow
	var spends []spendRow
	for _, s := range sites {
		edition := editionOf(s)
		var members []spendUser
		var billable []string
		for _, u := range users {
			guest, ok := u.Access[s.CloudID]
			if !ok {
				continue
			}
			members = append(members, u)
			if !s.Sandbox && userExclusion(u, guest) == "" {
				billable = append(billable, u.AccountID)
			}
		}
		slices.Sort(billable)
		n := int64(len(billable))
		cost := costOfSite(s, edition, n, prices)

		lic := licenseRow{CloudID: s.CloudID, Site: s.URL, Edition: nullIfEmpty(edition),
			BillingCycle: nullIfEmpty(cost.cycle), BillableUsers: n, CostSource: cost.source,
			AmountMonthlyMinor: cost.monthly, AmountAnnualMinor: cost.annual,
			SeatsBought: cost.seatsBought, SeatsToNextLowerTier: cost.toLower,
			PriceTableDate: cost.tableDate}
		if lic.SeatsBought == nil {
			lic.SeatsBought = s.Capacity
		}
		if lic.SeatsBought != nil {
			unused := max(0, *lic.SeatsBought-n)
			lic.UnusedSeats = &unused
		}
		if cost.currency != nil {
			lic.Currency = &cost.currency.Code
			lic.exponent = cost.currency.Exponent
		}
		if s.Billing != nil && s.Billing.NextBillDate != nil {
			lic.NextBillDate = s.Billing.NextBillDate
		}
		if cost.monthly != nil && n > 0 {
			per := pricing.DivRoundHalfUp(*cost.monthly, n)
			lic.PricePerUserMinor = &per
		}
		licenses = append(licenses, lic)

		monthlyParts := splitOrNil(cost.monthly, billable)
		annualParts := splitOrNil(cost.annual, billable)
		for _, u := range members {
			row := spendRow{AccountID: u.AccountID, CloudID: s.CloudID, Site: s.URL,
				Edition: nullIfEmpty(edition), Currency: lic.Currency, exponent: lic.exponent}
			row.Billable, row.Reason, row.CostSource = userReason(s, edition, u,
				billableSites[u.AccountID], cost.source)
			if row.Billable {
				row.AmountMonthlyMinor = part(monthlyParts, u.AccountID)
				row.AmountAnnualMinor = part(annualParts, u.AccountID)
			} else {
				zero := int64(0)
				row.AmountMonthlyMinor, row.AmountAnnualMinor = &zero, &zero
			}
			spends = append(spends, row)
		}
	}
	return licenses, spends
}

// editionOf returns the site's edition, the admin hub's when known.
func editionOf(s spendSite) string {
	if s.Billing != nil && s.Billing.Edition != "" {
		return s.Billing.Edition
	}
	return s.Edition
}

// userReason returns whether u is billed on s, the reason, and the
// row's cost_source.
func userReason(s spendSite, edition string, u spendUser, billedSites int,
	siteSource string) (bool, string, string) {
	guest := u.Access[s.CloudID]
	switch {
	case s.Sandbox:
		reason := "sandbox site: not billed as Confluence"
		if billedSites == 0 {
			reason += "; the user is billed on no production site"
		}
		return false, reason, costSandbox
	case edition == string(pricing.Free):
		return false, fmt.Sprintf("free plan: no charge for up to %d users",
			pricing.FreeUserLimit), costFreePlan
	}
	if exclusion := userExclusion(u, guest); exclusion != "" {
		return false, exclusion, costNotBilled
	}
	reason := "billed on this production site"
	if others := billedSites - 1; others > 0 {
		reason += fmt.Sprintf(", and separately on %d other production site", others)
		if others > 1 {
			reason += "s"
		}
	}
	return true, reason, siteSource
}

// costOfSite prices one site: nothing for a sandbox or a Free plan, the
// bill estimate when the admin hub gave one, else the price table.
func costOfSite(s spendSite, edition string, users int64, prices priceSource) siteCost {
	zero := int64(0)
	tableCurrency, hasTable := prices.Table.Currency()
	var cost siteCost
	if hasTable {
		cost.currency = &tableCurrency
	}
	if s.Billing != nil {
		if cur, err := pricing.LookupCurrency(s.Billing.Currency); err == nil {
			cost.currency = &cur
		}
	}
	switch {
	case s.Sandbox:
		cost.source, cost.monthly, cost.annual = costSandbox, &zero, &zero
		return cost
	case edition == string(pricing.Free):
		limit := int64(pricing.FreeUserLimit)
		cost.source, cost.monthly, cost.annual = costFreePlan, &zero, &zero
		cost.cycle, cost.seatsBought = string(pricing.Monthly), &limit
		return cost
	}
	if c, ok := billedCost(s, edition, users, prices); ok {
		return c
	}
	return tableCost(s, edition, users, prices)
}

// billedCost prices a site from the admin hub's bill estimate. It
// reports false when there is none or its currency is unknown.
func billedCost(s spendSite, edition string, users int64, prices priceSource) (siteCost,
	bool) {
	b := s.Billing
	if b == nil {
		return siteCost{}, false
	}
	cur, err := pricing.LookupCurrency(b.Currency)
	if err != nil {
		return siteCost{}, false
	}
	cost := siteCost{source: costBillEstimate, cycle: b.Cycle, currency: &cur}
	total := b.TotalMinor
	if b.Cycle == string(pricing.Annual) {
		monthly := pricing.DivRoundHalfUp(total, 12)
		cost.annual, cost.monthly = &total, &monthly
		cost.seatsBought = b.UserTier
		if b.UserTier != nil {
			// The tier boundaries come from the price table, which the
			// estimate does not list.
			if p, ok := prices.Table.Lookup(pricing.Edition(edition), pricing.Annual); ok {
				if lower, ok := p.LowerTier(*b.UserTier); ok {
					seats := pricing.SeatsToLowerTier(users, lower)
					cost.toLower = &seats
				}
			}
		}
		return cost, true
	}
	annual := total * 12
	cost.monthly, cost.annual = &total, &annual
	return cost, true
}

// tableCost prices a site from the price table. Without billing data the
// cycle is unknown, so the monthly entry is used when the table has one
// for the edition, else the annual one.
func tableCost(s spendSite, edition string, users int64, prices priceSource) siteCost {
	cur, _ := prices.Table.Currency()
	cost := siteCost{source: costNoPrice, currency: &cur}
	if prices.Table.Date != "" {
		date := prices.Table.Date
		cost.tableDate = &date
	}
	if p, ok := prices.Table.Lookup(pricing.Edition(edition), pricing.Monthly); ok {
		monthly, err := p.MonthlyCost(users)
		if err != nil {
			return cost
		}
		annual := monthly * 12
		cost.source, cost.cycle = prices.costSource(), string(pricing.Monthly)
		cost.monthly, cost.annual = &monthly, &annual
		return cost
	}
	p, ok := prices.Table.Lookup(pricing.Edition(edition), pricing.Annual)
	if !ok {
		return cost
	}
	// The tier bought is the Admin API's seat limit when it is a tier of
	// the table and holds the users, else the smallest tier that does.
	need := users
	if s.Capacity != nil && *s.Capacity > users {
		if _, err := p.TierFor(*s.Capacity); err == nil {
			need = *s.Capacity
		}
	}
	tier, err := p.TierFor(need)
	if err != nil {
		return cost
	}
	monthly := pricing.DivRoundHalfUp(tier.Price, 12)
	annual := tier.Price
	cost.source, cost.cycle = prices.costSource(), string(pricing.Annual)
	cost.monthly, cost.annual, cost.seatsBought = &monthly, &annual, &tier.Users
	if lower, ok := p.LowerTier(tier.Users); ok {
		seats := pricing.SeatsToLowerTier(users, lower)
		cost.toLower = &seats
	}
	return cost
}

// splitOrNil splits total over ids; nil total (no price) stays nil.
// NOTE: a bill on a site with no billable user visible cannot be split,
// so the license row keeps the bill and the site's spend rows sum to 0.
func splitOrNil(total *int64, ids []string) map[string]int64 {
	if total == nil {
		return nil
	}
	parts, err := pricing.Split(*total, ids)
	if err != nil {
		return nil
	}
	return parts
}

func part(parts map[string]int64, id string) *int64 {
	if parts == nil {
		return nil
	}
	v, ok := parts[id]
	if !ok {
		return nil
	}
	return &v
}
