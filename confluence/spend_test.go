package confluence

import (
	"strings"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
)

var testUSD = pricing.Currency{Code: "USD", Exponent: 2}

// testPrices: Standard monthly at 6.40 for users 1 to 3 and 5.10 above;
// Premium annual in tiers of 3 users (300.00) and 5 users (450.00).
var testPrices = priceSource{Table: pricing.Table{Date: "2026-11-01", Prices: []pricing.Price{
	{Edition: pricing.Standard, Cycle: pricing.Monthly, Currency: testUSD,
		Bands: []pricing.Band{{UpTo: 3, PerUser: 640}, {UpTo: 0, PerUser: 510}}},
	{Edition: pricing.Premium, Cycle: pricing.Annual, Currency: testUSD,
		Tiers: []pricing.Tier{{Users: 3, Price: 30000}, {Users: 5, Price: 45000}}},
}}}

func int64p(v int64) *int64 { return &v }

func user(id, status string, access ...string) spendUser {
	u := spendUser{AccountID: id, AccountType: "atlassian", Status: status,
		Access: map[string]bool{}}
	for _, a := range access {
		cloudID, guest := strings.CutSuffix(a, ":guest")
		u.Access[cloudID] = guest
	}
	return u
}

func TestComputeSpendByHand(t *testing.T) {
	next := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sites := []spendSite{
		{CloudID: "std", URL: "https://std", Edition: "standard"},
		{CloudID: "prem", URL: "https://prem", Edition: "premium", Capacity: int64p(5)},
		{CloudID: "ent", URL: "https://ent", Edition: "enterprise"},
		{CloudID: "free", URL: "https://free", Edition: "free", Capacity: int64p(10)},
		{CloudID: "sbx", URL: "https://sbx", Edition: "premium", Sandbox: true},
		{CloudID: "bill", URL: "https://bill", Edition: "standard", Billing: &atlassian.SiteBilling{
			Edition: "standard", Currency: "USD", Cycle: "monthly", TotalMinor: 1000,
			NextBillDate: &next}},
		{CloudID: "billy", URL: "https://billy", Billing: &atlassian.SiteBilling{
			Edition: "premium", Currency: "USD", Cycle: "annual", TotalMinor: 45000,
			UserTier: int64p(5)}},
	}
	app := user("app1", "active", "std")
	app.AccountType = "app"
	users := []spendUser{
		user("a", "active", "std", "prem", "bill"),
		user("b", "active", "std", "billy"),
		user("c", "active", "std"),
		user("d", "not_invited", "std", "bill"),
		// e lost access on std but keeps it on prem: billed on prem only.
		user("e", "active", "prem"),
		user("f", "active", "std:guest"),
		app,
		user("g", "suspended", "std"),
		user("h", "active", "sbx"),
		user("i", "active", "ent", "bill"),
	}
	for i := 0; i < 10; i++ {
		users = append(users, user("free"+string(rune('0'+i)), "active", "free"))
	}
	licenses, spends := computeSpend(sites, users, testPrices)

	type licenseWant struct {
		source          string
		cycle           string
		billable        int64
		monthly, annual *int64
		perUser         *int64
		seats, toLower  *int64
		date            *string
	}
	date := "2026-11-01"
	// std: a, b, c, d billable (f guest, app1 app, g suspended): 4 users,
	// 3 x 6.40 + 1 x 5.10 = 2430 a month.
	// prem: a and e; the seat limit 5 is a tier, so the 5-user tier
	// (450.00) is bought. Two users fit the 3-user tier already: 0 seats
	// to remove. 45000 / 12 = 3750 a month, 1875 per user.
	// bill: a, d, i share the estimate 10.00: 334 + 333 + 333.
	// billy: b alone pays the 450.00 estimate; 37500 / 12 = 3750.
	want := map[string]licenseWant{
		"std": {costDefaultTable, "monthly", 4, int64p(3*640 + 510), int64p(12 * 2430),
			int64p(608), nil, nil, &date}, // 2430 / 4 = 607.5 rounds to 608
		"prem": {costDefaultTable, "annual", 2, int64p(3750), int64p(45000), int64p(1875),
			int64p(5), int64p(0), &date},
		"ent":   {costNoPrice, "", 1, nil, nil, nil, nil, nil, &date},
		"free":  {costFreePlan, "monthly", 10, int64p(0), int64p(0), int64p(0), int64p(10), nil, nil},
		"sbx":   {costSandbox, "", 0, int64p(0), int64p(0), nil, nil, nil, nil},
		"bill":  {costBillEstimate, "monthly", 3, int64p(1000), int64p(12000), int64p(333), nil, nil, nil},
		"billy": {costBillEstimate, "annual", 1, int64p(3750), int64p(45000), int64p(3750), int64p(5), int64p(0), nil},
	}
	if len(licenses) != len(want) {
		t.Fatalf("got %d license rows, want %d", len(licenses), len(want))
	}
	eq := func(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	show := func(p *int64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	for _, l := range licenses {
		w := want[l.CloudID]
		if l.CostSource != w.source {
			t.Errorf("%s: cost_source = %q, want %q", l.CloudID, l.CostSource, w.source)
		}
		if got := deref(l.BillingCycle); got != w.cycle {
			t.Errorf("%s: billing_cycle = %q, want %q", l.CloudID, got, w.cycle)
		}
		if l.BillableUsers != w.billable {
			t.Errorf("%s: billable_users = %d, want %d", l.CloudID, l.BillableUsers, w.billable)
		}
		checks := []struct {
			name      string
			got, want *int64
		}{
			{"amount_monthly_minor", l.AmountMonthlyMinor, w.monthly},
			{"amount_annual_minor", l.AmountAnnualMinor, w.annual},
			{"price_per_user_minor", l.PricePerUserMinor, w.perUser},
			{"seats_bought", l.SeatsBought, w.seats},
			{"seats_to_next_lower_tier", l.SeatsToNextLowerTier, w.toLower},
		}
		for _, c := range checks {
			if !eq(c.got, c.want) {
				t.Errorf("%s: %s = %v, want %v", l.CloudID, c.name, show(c.got), show(c.want))
			}
		}
		if deref(l.PriceTableDate) != deref(w.date) {
			t.Errorf("%s: price_table_date = %q, want %q", l.CloudID, deref(l.PriceTableDate),
				deref(w.date))
		}
		if l.CloudID == "free" && (l.UnusedSeats == nil || *l.UnusedSeats != 0) {
			t.Errorf("free: unused_seats = %v, want 0 at the 10-user cap", show(l.UnusedSeats))
		}
		if l.CloudID == "prem" && (l.UnusedSeats == nil || *l.UnusedSeats != 3) {
			t.Errorf("prem: unused_seats = %v, want 5 - 2 = 3", show(l.UnusedSeats))
		}
		if l.CloudID == "bill" && (l.NextBillDate == nil || !l.NextBillDate.Equal(next)) {
			t.Errorf("bill: next_bill_date = %v, want %v", l.NextBillDate, next)
		}
	}

	type spendWant struct {
		billable bool
		monthly  *int64
		source   string
		reason   string
	}
	// std: 2430 over a, b, c, d: 607 each and 2 left, to a and b.
	wantSpend := map[string]spendWant{
		"a/std":      {true, int64p(608), costDefaultTable, "and separately on 2 other production sites"},
		"b/std":      {true, int64p(608), costDefaultTable, "and separately on 1 other production site"},
		"c/std":      {true, int64p(607), costDefaultTable, "billed on this production site"},
		"d/std":      {true, int64p(607), costDefaultTable, "billed on this production site"},
		"f/std":      {false, int64p(0), costNotBilled, "guest"},
		"app1/std":   {false, int64p(0), costNotBilled, "app account"},
		"g/std":      {false, int64p(0), costNotBilled, "suspended in the organization"},
		"a/prem":     {true, int64p(1875), costDefaultTable, "billed on this production site"},
		"e/prem":     {true, int64p(1875), costDefaultTable, "billed on this production site"},
		"i/ent":      {true, nil, costNoPrice, "billed on this production site"},
		"h/sbx":      {false, int64p(0), costSandbox, "billed on no production site"},
		"a/bill":     {true, int64p(334), costBillEstimate, "billed"},
		"d/bill":     {true, int64p(333), costBillEstimate, "billed"},
		"i/bill":     {true, int64p(333), costBillEstimate, "billed"},
		"b/billy":    {true, int64p(3750), costBillEstimate, "billed"},
		"free3/free": {false, int64p(0), costFreePlan, "free plan: no charge for up to 10 users"},
	}
	got := map[string]spendRow{}
	sums := map[string]int64{}
	for _, s := range spends {
		got[s.AccountID+"/"+s.CloudID] = s
		if s.AmountMonthlyMinor != nil {
			sums[s.CloudID] += *s.AmountMonthlyMinor
		}
	}
	if _, ok := got["e/std"]; ok {
		t.Errorf("e has a row on std, where the user has no access")
	}
	for key, w := range wantSpend {
		s, ok := got[key]
		if !ok {
			t.Errorf("%s: no spend row", key)
			continue
		}
		if s.Billable != w.billable || s.CostSource != w.source ||
			!eq(s.AmountMonthlyMinor, w.monthly) || !strings.Contains(s.Reason, w.reason) {
			t.Errorf("%s = billable %v, %v, %s, %q; want %v, %v, %s, reason with %q", key,
				s.Billable, show(s.AmountMonthlyMinor), s.CostSource, s.Reason, w.billable,
				show(w.monthly), w.source, w.reason)
		}
	}
	for _, l := range licenses {
		if l.AmountMonthlyMinor != nil && sums[l.CloudID] != *l.AmountMonthlyMinor {
			t.Errorf("%s: spend rows add up to %d, license says %d", l.CloudID,
				sums[l.CloudID], *l.AmountMonthlyMinor)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
