package emulator

import (
	"fmt"
	"net/http"
	"time"
)

// Route keys of the admin hub's billing data, served with the session
// cookie only.
const (
	RouteBillingEntitlementGroup = "billing_entitlement_group"
	RouteBillingEdition          = "billing_edition"
	RouteBillingDetails          = "billing_details"
	RouteBillingEstimate         = "billing_bill_estimate"
)

// billingRoutes are served under /gateway/api on the admin hub only.
var billingRoutes = []route{
	{RouteBillingEntitlementGroup, "/billing-ux/api/cloud/{cloudId}/billing/entitlement-group",
		"GET"},
	{RouteBillingEdition,
		"/billing-ux/api/cloud/{cloudId}/billing/entitlements/{entitlementId}/edition", "GET"},
	{RouteBillingDetails, "/billing-ux/api/cloud/{cloudId}/billing/billing-details", "GET"},
	{RouteBillingEstimate, "/billing-ux/api/cloud/{cloudId}/billing/bill-estimate", "GET"},
}

// Product keys of billing entitlements.
const (
	billingKeyConfluence = "confluence.ondemand"
	billingKeyJira       = "jira-software.ondemand"
)

// The emulator's own list prices, in US cents. They differ from the
// plugin's default price table on purpose, so that a test can tell a
// figure taken from the bill estimate from one computed from a table.
const (
	// EmulatorStandardPerUser is the monthly price of each user on a
	// Standard site, whatever the count.
	EmulatorStandardPerUser = 605
	// EmulatorPremiumPerSeatYear and EmulatorEnterprisePerSeatYear price
	// each seat of the user tier bought, for a year.
	EmulatorPremiumPerSeatYear    = 9600
	EmulatorEnterprisePerSeatYear = 15000
)

// SiteBilling is the billing data the emulator serves for one site.
type SiteBilling struct {
	EntitlementID string
	Edition       string // upper case, as the admin hub writes it
	Cycle         string // MONTHLY or ANNUAL
	Currency      string
	NextBillDate  string    // yyyy-mm-dd
	TotalMinor    int64     // bill estimate for Confluence, in cents
	UnitCount     int64     // users the estimate counts
	UserTier      *int64    // tier bought, annual plans only
	Now           time.Time // data clock the dates derive from
}

// Billing returns the billing data of a site, or false for a site the
// admin hub has none for: a sandbox, a site without Confluence, or a
// site WithholdBilling named.
func (e *Emulator) Billing(s *Site) (SiteBilling, bool) {
	w := s.Confluence()
	if w == nil || s.Sandbox || e.billingWithheld(s.CloudID) {
		return SiteBilling{}, false
	}
	var users int64
	if w.Usage != nil {
		users = *w.Usage
	}
	now := e.org.Now
	b := SiteBilling{
		EntitlementID: "ent-" + s.CloudID[:8] + "-confluence",
		Currency:      "USD",
		UnitCount:     users,
		Now:           now,
	}
	switch s.Edition {
	case EditionFree:
		b.Edition, b.Cycle = "FREE", "MONTHLY"
	case EditionStandard:
		b.Edition, b.Cycle = "STANDARD", "MONTHLY"
		b.TotalMinor = users * EmulatorStandardPerUser
	case EditionPremium, EditionEnterprise:
		b.Edition, b.Cycle = "PREMIUM", "ANNUAL"
		price := int64(EmulatorPremiumPerSeatYear)
		if s.Edition == EditionEnterprise {
			b.Edition, price = "ENTERPRISE", EmulatorEnterprisePerSeatYear
		}
		tier := seatTier(users)
		if w.Capacity != nil {
			tier = *w.Capacity
		}
		b.UserTier = &tier
		b.TotalMinor = tier * price
	default:
		return SiteBilling{}, false
	}
	if b.Cycle == "MONTHLY" {
		first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		b.NextBillDate = first.AddDate(0, 1, 0).Format(time.DateOnly)
	} else {
		b.NextBillDate = now.AddDate(0, 4, 0).Format(time.DateOnly)
	}
	return b, true
}

// WithholdBilling makes the admin hub answer 404 to every billing
// request for the site with this name or cloud id, as for a tenant whose
// billing data the session cannot read. It fails for an unknown site.
func (e *Emulator) WithholdBilling(site string) error {
	s := e.org.Site(site)
	if s == nil {
		return fmt.Errorf("site %q not found: use a site name or cloud id of Info.Sites", site)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.withheld == nil {
		e.withheld = map[string]bool{}
	}
	e.withheld[s.CloudID] = true
	return nil
}

func (e *Emulator) billingWithheld(cloudID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.withheld[cloudID]
}

// registerBilling adds the billing routes to the admin hub.
func (e *Emulator) registerBilling(h *host) {
	handlers := map[string]http.HandlerFunc{
		RouteBillingEntitlementGroup: e.handleEntitlementGroup,
		RouteBillingEdition:          e.handleEdition,
		RouteBillingDetails:          e.handleBillingDetails,
		RouteBillingEstimate:         e.handleBillEstimate,
	}
	for _, rt := range billingRoutes {
		h.handle(adminGatewayPrefix, rt, handlers[rt.key])
	}
}

// siteBilling finds the site of the request and its billing data, or
// writes a 404.
func (e *Emulator) siteBilling(w http.ResponseWriter, r *http.Request) (*Site, SiteBilling,
	bool) {
	id := r.PathValue("cloudId")
	s := e.org.Site(id)
	if s == nil || s.CloudID != id {
		writeError(w, http.StatusNotFound, "site %s not found", id)
		return nil, SiteBilling{}, false
	}
	b, ok := e.Billing(s)
	if !ok {
		writeError(w, http.StatusNotFound, "no billing data for site %s", id)
		return nil, SiteBilling{}, false
	}
	return s, b, true
}

func (e *Emulator) handleEntitlementGroup(w http.ResponseWriter, r *http.Request) {
	s, b, ok := e.siteBilling(w, r)
	if !ok {
		return
	}
	entitlements := []map[string]string{
		{"id": b.EntitlementID, "productKey": billingKeyConfluence, "status": "ACTIVE"},
	}
	if s.Workspace(ProductJira) != nil {
		entitlements = append(entitlements, map[string]string{
			"id": "ent-" + s.CloudID[:8] + "-jira", "productKey": billingKeyJira,
			"status": "ACTIVE"})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id":           "eg-" + s.CloudID[:8],
		"entitlements": entitlements,
	})
}

func (e *Emulator) handleEdition(w http.ResponseWriter, r *http.Request) {
	_, b, ok := e.siteBilling(w, r)
	if !ok {
		return
	}
	if id := r.PathValue("entitlementId"); id != b.EntitlementID {
		writeError(w, http.StatusNotFound, "entitlement %s not found", id)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"currentEdition": b.Edition})
}

func (e *Emulator) handleBillingDetails(w http.ResponseWriter, r *http.Request) {
	_, b, ok := e.siteBilling(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"currency":        b.Currency,
		"billingCycle":    b.Cycle,
		"nextBillingDate": b.NextBillDate,
	})
}

func (e *Emulator) handleBillEstimate(w http.ResponseWriter, r *http.Request) {
	_, b, ok := e.siteBilling(w, r)
	if !ok {
		return
	}
	line := map[string]any{
		"entitlementId":    b.EntitlementID,
		"productKey":       billingKeyConfluence,
		"totalAmountMinor": b.TotalMinor,
		"unitCount":        b.UnitCount,
	}
	if b.UserTier != nil {
		line["userTier"] = *b.UserTier
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"currency":        b.Currency,
		"nextBillingDate": b.NextBillDate,
		"lines":           []any{line},
	})
}
