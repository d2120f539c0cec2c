package confluence

import (
	"slices"
	"strings"
	"testing"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

var licenseColumnNames = []string{"cloud_id", "site", "edition", "billing_cycle",
	"seats_bought", "billable_users", "unused_seats", "price_per_user", "price_per_user_minor",
	"amount_monthly", "amount_monthly_minor", "amount_annual", "amount_annual_minor",
	"currency", "next_bill_date", "seats_to_next_lower_tier", "cost_source",
	"price_table_date"}

var spendColumnNames = []string{"account_id", "cloud_id", "site", "edition", "billable",
	"reason", "amount_monthly", "amount_monthly_minor", "amount_annual", "amount_annual_minor",
	"currency", "cost_source"}

// billedUsers counts the users Atlassian bills on a generated site, by
// the rules the tables document: Atlassian accounts with access, not
// guests, not suspended in the org.
func billedUsers(org *emulator.Org, s *emulator.Site) int64 {
	var n int64
	for _, u := range org.UsersWithAccess(s.Confluence().ARI) {
		if u.AccountType == emulator.AccountAtlassian && !u.Guest && u.Status != "suspended" {
			n++
		}
	}
	return n
}

// defaultStandardMonthly is the default table's Standard monthly bill,
// worked out by hand: 6.40 for users 1 to 100, 5.10 for 101 to 250,
// 4.00 for 251 to 1000.
func defaultStandardMonthly(users int64) int64 {
	switch {
	case users <= 100:
		return users * 640
	case users <= 250:
		return 100*640 + (users-100)*510
	default:
		return 100*640 + 150*510 + (users-250)*400
	}
}

type licenseCase struct {
	site                  *emulator.Site
	source                string
	cycle                 string
	monthly, annual       int64 // minor units; -1 for NULL
	seats                 int64 // -1 for NULL
	noNextBill, tableDate bool
}

func checkLicenses(t *testing.T, h *harness, connection string, cases []licenseCase) {
	t.Helper()
	rows := h.mustRun(t, scan{table: "confluence_license", connection: connection,
		columns: licenseColumnNames, limit: -1})
	byID := map[string]map[string]*proto.Column{}
	for _, r := range rows {
		byID[r["cloud_id"].GetStringValue()] = r
	}
	spend := h.mustRun(t, scan{table: "confluence_spend", connection: connection,
		columns: spendColumnNames, limit: -1})
	sums := map[string]int64{}
	annualSums := map[string]int64{}
	for _, r := range spend {
		sums[r["cloud_id"].GetStringValue()] += r["amount_monthly_minor"].GetIntValue()
		annualSums[r["cloud_id"].GetStringValue()] += r["amount_annual_minor"].GetIntValue()
	}
	org := h.emu.Org()
	for _, c := range cases {
		r, ok := byID[c.site.CloudID]
		if !ok {
			t.Errorf("%s: no license row", c.site.Name)
			continue
		}
		name := connection + " " + c.site.Name
		if got := r["cost_source"].GetStringValue(); got != c.source {
			t.Errorf("%s: cost_source = %q, want %q", name, got, c.source)
		}
		if got := r["billing_cycle"].GetStringValue(); got != c.cycle {
			t.Errorf("%s: billing_cycle = %q, want %q", name, got, c.cycle)
		}
		wantUsers := billedUsers(org, c.site)
		if c.site.Sandbox {
			wantUsers = 0
		}
		if got := r["billable_users"].GetIntValue(); got != wantUsers {
			t.Errorf("%s: billable_users = %d, want %d", name, got, wantUsers)
		}
		intChecks := []struct {
			column string
			want   int64
		}{
			{"amount_monthly_minor", c.monthly},
			{"amount_annual_minor", c.annual},
			{"seats_bought", c.seats},
		}
		for _, ic := range intChecks {
			col := r[ic.column]
			switch {
			case ic.want < 0 && !isNull(col):
				t.Errorf("%s: %s = %v, want NULL", name, ic.column, col)
			case ic.want >= 0 && (isNull(col) || col.GetIntValue() != ic.want):
				t.Errorf("%s: %s = %v, want %d", name, ic.column, col, ic.want)
			}
		}
		if c.monthly >= 0 {
			if sums[c.site.CloudID] != c.monthly {
				t.Errorf("%s: spend rows add up to %d a month, want %d", name,
					sums[c.site.CloudID], c.monthly)
			}
			if annualSums[c.site.CloudID] != c.annual {
				t.Errorf("%s: spend rows add up to %d a year, want %d", name,
					annualSums[c.site.CloudID], c.annual)
			}
			if got := r["amount_monthly"].GetDoubleValue(); got != float64(c.monthly)/100 {
				t.Errorf("%s: amount_monthly = %v, want %v", name, got, float64(c.monthly)/100)
			}
		}
		if c.noNextBill != isNull(r["next_bill_date"]) {
			t.Errorf("%s: next_bill_date = %v, want NULL %v", name, r["next_bill_date"],
				c.noNextBill)
		}
		if got := r["price_table_date"].GetStringValue(); c.tableDate != (got == "2026-11-01") {
			t.Errorf("%s: price_table_date = %q, want the default table's date %v", name, got,
				c.tableDate)
		}
	}
}

// siteOfEdition returns the generated production site of an edition.
func siteOfEdition(t *testing.T, org *emulator.Org, edition string, sandbox bool) *emulator.Site {
	t.Helper()
	for _, s := range org.ConfluenceSites() {
		if s.Edition == edition && s.Sandbox == sandbox {
			return s
		}
	}
	t.Fatalf("generated org has no %s site (sandbox %v)", edition, sandbox)
	return nil
}

func TestLicenseFromBillEstimate(t *testing.T) {
	h := startHarness(t, 400)
	org := h.emu.Org()
	std := siteOfEdition(t, org, emulator.EditionStandard, false)
	prem := siteOfEdition(t, org, emulator.EditionPremium, false)
	ent := siteOfEdition(t, org, emulator.EditionEnterprise, false)
	free := siteOfEdition(t, org, emulator.EditionFree, false)
	sbx := siteOfEdition(t, org, emulator.EditionPremium, true)

	stdUsers := billedUsers(org, std)
	premTier := *prem.Confluence().Capacity
	entTier := *ent.Confluence().Capacity
	// Premium and Enterprise bills are annual: the emulator charges 96.00
	// and 150.00 per seat of the tier a year, and a month is a twelfth,
	// rounded half up.
	premAnnual := premTier * 9600
	entAnnual := entTier * 15000
	cases := []licenseCase{
		{std, costBillEstimate, "monthly", stdUsers * 605, stdUsers * 605 * 12,
			*std.Confluence().Capacity, false, false},
		{prem, costBillEstimate, "annual", (premAnnual + 6) / 12, premAnnual, premTier, false,
			false},
		{ent, costBillEstimate, "annual", (entAnnual + 6) / 12, entAnnual, entTier, false, false},
		{free, costFreePlan, "monthly", 0, 0, 10, false, false},
		{sbx, costSandbox, "", 0, 0, -1, true, false},
	}
	checkLicenses(t, h, sessionConnection, cases)

	// With an API key there is no billing data: the default table prices
	// Standard, and Enterprise, priced by quote, has no price.
	apiCases := []licenseCase{
		{std, costDefaultTable, "monthly", defaultStandardMonthly(stdUsers),
			12 * defaultStandardMonthly(stdUsers), *std.Confluence().Capacity, true, true},
		{ent, costNoPrice, "", -1, -1, *ent.Confluence().Capacity, true, true},
		{free, costFreePlan, "monthly", 0, 0, 10, true, false},
	}
	checkLicenses(t, h, apiKeyConnection, apiCases)
	if h.emu.Counts().MisdirectedCredentials != 0 {
		t.Errorf("a credential went to a host that does not take it")
	}
}

func TestLicenseFallsBackWithoutBillingData(t *testing.T) {
	h := startHarness(t, 200)
	org := h.emu.Org()
	std := siteOfEdition(t, org, emulator.EditionStandard, false)
	prem := siteOfEdition(t, org, emulator.EditionPremium, false)
	if err := h.emu.WithholdBilling(std.Name); err != nil {
		t.Fatalf("WithholdBilling: %v", err)
	}
	stdUsers := billedUsers(org, std)
	premAnnual := *prem.Confluence().Capacity * 9600
	checkLicenses(t, h, noCacheConnection, []licenseCase{
		{std, costDefaultTable, "monthly", defaultStandardMonthly(stdUsers),
			12 * defaultStandardMonthly(stdUsers), *std.Confluence().Capacity, true, true},
		{prem, costBillEstimate, "annual", (premAnnual + 6) / 12, premAnnual,
			*prem.Confluence().Capacity, false, false},
	})
}

func TestSpendRowsFollowBillingRules(t *testing.T) {
	h := startHarness(t, 400)
	org := h.emu.Org()
	rows := h.mustRun(t, scan{table: "confluence_spend", columns: spendColumnNames,
		limit: -1})
	byKey := map[string]map[string]*proto.Column{}
	for _, r := range rows {
		byKey[r["account_id"].GetStringValue()+"/"+r["cloud_id"].GetStringValue()] = r
	}

	var removed, sandboxOnly, guest *emulator.User
	var removedFrom, keptOn *emulator.Site
	for _, u := range org.Users {
		var prodActive, prodSuspended []*emulator.Site
		var sandbox bool
		for _, g := range u.Grants {
			if g.Workspace.TypeKey != emulator.ProductConfluence {
				continue
			}
			switch {
			case g.Workspace.Site.Sandbox && !g.Suspended:
				sandbox = true
			case g.Suspended:
				prodSuspended = append(prodSuspended, g.Workspace.Site)
			default:
				prodActive = append(prodActive, g.Workspace.Site)
			}
		}
		if removed == nil && u.Status == "active" && u.AccountType == emulator.AccountAtlassian &&
			!u.Guest && len(prodSuspended) > 0 && len(prodActive) > 0 &&
			prodActive[0].Edition != emulator.EditionFree {
			removed, removedFrom, keptOn = u, prodSuspended[0], prodActive[0]
		}
		if sandboxOnly == nil && sandbox && len(prodActive) == 0 {
			sandboxOnly = u
		}
		if guest == nil && u.Guest {
			guest = u
		}
	}
	if removed == nil || sandboxOnly == nil || guest == nil {
		t.Fatalf("generated org lacks a case: removed %v, sandbox only %v, guest %v",
			removed != nil, sandboxOnly != nil, guest != nil)
	}

	if _, ok := byKey[removed.AccountID+"/"+removedFrom.CloudID]; ok {
		t.Errorf("user removed from %s still has a spend row there", removedFrom.Name)
	}
	kept := byKey[removed.AccountID+"/"+keptOn.CloudID]
	if kept == nil || !kept["billable"].GetBoolValue() ||
		!strings.HasPrefix(kept["reason"].GetStringValue(), "billed on this production site") {
		t.Errorf("user removed from %s but with access on %s: row %v, want billable there",
			removedFrom.Name, keptOn.Name, kept)
	}

	sbx := siteOfEdition(t, org, emulator.EditionPremium, true)
	r := byKey[sandboxOnly.AccountID+"/"+sbx.CloudID]
	if r == nil {
		t.Fatalf("sandbox-only user has no row on the sandbox")
	}
	if r["billable"].GetBoolValue() || r["cost_source"].GetStringValue() != costSandbox ||
		r["amount_monthly_minor"].GetIntValue() != 0 ||
		!strings.Contains(r["reason"].GetStringValue(), "billed on no production site") {
		t.Errorf("sandbox-only user row = %v, want not billed, cost_source sandbox", r)
	}
	for key, row := range byKey {
		if strings.HasPrefix(key, sandboxOnly.AccountID+"/") && row["billable"].GetBoolValue() {
			t.Errorf("sandbox-only user is billed on %s", row["site"].GetStringValue())
		}
	}

	for _, g := range guest.ActiveGrants() {
		row := byKey[guest.AccountID+"/"+g.Workspace.CloudID()]
		if row == nil || row["billable"].GetBoolValue() ||
			!strings.HasPrefix(row["reason"].GetStringValue(), "guest") {
			t.Errorf("guest row on %s = %v, want not billed as a guest", g.Workspace.Name(), row)
		}
	}

	// Every row of a paid production site is billable exactly when the
	// generated account would be billed there.
	for _, s := range org.ConfluenceSites() {
		if s.Sandbox || s.Edition == emulator.EditionFree {
			continue
		}
		for _, u := range org.UsersWithAccess(s.Confluence().ARI) {
			row := byKey[u.AccountID+"/"+s.CloudID]
			if row == nil {
				t.Errorf("%s on %s: no spend row", u.AccountID, s.Name)
				continue
			}
			want := u.AccountType == emulator.AccountAtlassian && !u.Guest
			if got := row["billable"].GetBoolValue(); got != want {
				t.Errorf("%s (%s) on %s: billable = %v, want %v", u.AccountID, u.AccountType,
					s.Name, got, want)
			}
		}
	}
	if !slices.ContainsFunc(rows, func(r map[string]*proto.Column) bool {
		return r["cost_source"].GetStringValue() == costFreePlan
	}) {
		t.Errorf("no row of the Free site")
	}
}

func TestSpendReadOnceWithinCacheTTL(t *testing.T) {
	h := startHarness(t, 300)
	h.mustRun(t, scan{table: "confluence_license", connection: sessionConnection,
		columns: licenseColumnNames, limit: -1})
	before := h.emu.Counts().Requests
	if before[emulator.RouteLicensedUsers] == 0 {
		t.Fatalf("the license scan read no licensed users, so the test proves nothing")
	}
	h.mustRun(t, scan{table: "confluence_spend", connection: sessionConnection,
		columns: spendColumnNames, limit: -1})
	after := h.emu.Counts().Requests
	for route, n := range after {
		if n != before[route] {
			t.Errorf("%s requests went from %d to %d, want none within the cache TTL",
				route, before[route], n)
		}
	}
}
