package emulator

import (
	"net/http"
	"testing"
)

func TestBillingServedWithSessionOnly(t *testing.T) {
	e := startEmulator(t, Options{})
	token := noMFASession(t, e)
	org := e.Org()
	std := org.Site(org.Sites[siteStandard].Name)
	base := "/billing-ux/api/cloud/" + std.CloudID + "/billing"

	a := do(t, request{url: adminHub(e, base+"/entitlement-group"), session: token})
	if a.status != http.StatusOK {
		t.Fatalf("entitlement-group: status %d, want 200", a.status)
	}
	var group struct {
		Entitlements []struct{ ID, ProductKey string }
	}
	a.json(t, &group)
	var entitlement string
	for _, en := range group.Entitlements {
		if en.ProductKey == billingKeyConfluence {
			entitlement = en.ID
		}
	}
	if entitlement == "" {
		t.Fatalf("entitlement group lists no %s entitlement", billingKeyConfluence)
	}
	ed := do(t, request{url: adminHub(e, base+"/entitlements/"+entitlement+"/edition"),
		session: token}).object(t)
	if ed["currentEdition"] != "STANDARD" {
		t.Errorf("currentEdition = %v, want STANDARD", ed["currentEdition"])
	}
	details := do(t, request{url: adminHub(e, base+"/billing-details"), session: token}).object(t)
	if details["currency"] != "USD" || details["billingCycle"] != "MONTHLY" ||
		details["nextBillingDate"] != "2025-07-01" {
		t.Errorf("billing-details = %v, want USD, MONTHLY, 2025-07-01 (the month after testNow)", details)
	}
	var est struct {
		Lines []struct {
			EntitlementID    string
			TotalAmountMinor int64
			UnitCount        int64
			UserTier         *int64
		}
	}
	do(t, request{url: adminHub(e, base+"/bill-estimate"), session: token}).json(t, &est)
	usage := *std.Confluence().Usage
	if len(est.Lines) != 1 || est.Lines[0].TotalAmountMinor != usage*EmulatorStandardPerUser ||
		est.Lines[0].UnitCount != usage || est.Lines[0].UserTier != nil {
		t.Errorf("bill-estimate = %+v, want one line of %d users at %d", est, usage,
			EmulatorStandardPerUser)
	}

	prem := org.Sites[sitePremium]
	do(t, request{url: adminHub(e, "/billing-ux/api/cloud/"+prem.CloudID+
		"/billing/bill-estimate"), session: token}).json(t, &est)
	tier := *prem.Confluence().Capacity
	if len(est.Lines) != 1 || est.Lines[0].UserTier == nil || *est.Lines[0].UserTier != tier ||
		est.Lines[0].TotalAmountMinor != tier*EmulatorPremiumPerSeatYear {
		t.Errorf("premium bill-estimate = %+v, want tier %d at %d a seat", est, tier,
			EmulatorPremiumPerSeatYear)
	}

	before := e.Counts().MisdirectedCredentials
	key := do(t, request{url: adminHub(e, base+"/bill-estimate"), bearer: e.Info().APIKey})
	if key.status != http.StatusUnauthorized {
		t.Errorf("bill-estimate with the API key: status %d, want 401", key.status)
	}
	if got := e.Counts().MisdirectedCredentials; got != before+1 {
		t.Errorf("misdirected credentials = %d, want %d", got, before+1)
	}
	if a := do(t, request{url: adminAPI(e, "/billing-ux/api/cloud/"+std.CloudID+
		"/billing/bill-estimate"), bearer: e.Info().APIKey}); a.status != http.StatusNotFound {
		t.Errorf("billing path on the Admin API host: status %d, want 404", a.status)
	}
}

func TestBillingMissingFor404Sites(t *testing.T) {
	e := startEmulator(t, Options{})
	token := noMFASession(t, e)
	org := e.Org()
	sandbox := org.Sites[siteSandbox]
	std := org.Sites[siteStandard]
	if err := e.WithholdBilling(std.Name); err != nil {
		t.Fatalf("WithholdBilling: %v", err)
	}
	if err := e.WithholdBilling("no-such-site"); err == nil {
		t.Errorf("WithholdBilling accepted an unknown site")
	}
	for _, s := range []*Site{sandbox, std} {
		a := do(t, request{url: adminHub(e, "/billing-ux/api/cloud/"+s.CloudID+
			"/billing/entitlement-group"), session: token})
		if a.status != http.StatusNotFound {
			t.Errorf("%s entitlement-group: status %d, want 404", s.Name, a.status)
		}
	}
	free := org.Sites[siteFree]
	b, ok := e.Billing(free)
	if !ok || b.Edition != "FREE" || b.TotalMinor != 0 {
		t.Errorf("Free site billing = %+v, %v; want FREE at 0", b, ok)
	}
}
