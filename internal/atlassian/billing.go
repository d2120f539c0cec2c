package atlassian

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Endpoints of the admin hub's billing data. Atlassian does not document
// them; docs/wire-format.md lists the shapes the client reads.
const (
	EndpointEntitlementGroup Endpoint = "billing_entitlement_group"
	EndpointEdition          Endpoint = "billing_edition"
	EndpointBillingDetails   Endpoint = "billing_details"
	EndpointBillEstimate     Endpoint = "billing_bill_estimate"
)

// billingPrefix is the path of one site's billing data on the admin hub.
const billingPrefix = gatewayPrefix + "/billing-ux/api/cloud/{cloudId}/billing"

var billingPaths = []struct {
	endpoint Endpoint
	path     string
}{
	{EndpointEntitlementGroup, billingPrefix + "/entitlement-group"},
	{EndpointEdition, billingPrefix + "/entitlements/{entitlementId}/edition"},
	{EndpointBillingDetails, billingPrefix + "/billing-details"},
	{EndpointBillEstimate, billingPrefix + "/bill-estimate"},
}

// addBillingRoutes adds the billing routes: session only, because the
// admin hub's own pages are their only documented caller.
func addBillingRoutes(t map[routeKey]Route) {
	for _, b := range billingPaths {
		t[routeKey{b.endpoint, CredentialSession}] = Route{
			Endpoint: b.endpoint, Credential: CredentialSession, Host: HostAdminHub,
			Method: http.MethodGet, Path: b.path, SafeToRetry: true,
		}
	}
}

var (
	// ErrBillingUnavailable means the connection has no session, and only
	// a session reaches billing data: an org API key does not.
	ErrBillingUnavailable = errors.New("billing data unavailable: only the session route " +
		"(email, password and totp_secret, or session_token) reaches it")
	// ErrNoBillingData means the admin hub has no Confluence billing data
	// for the site (404, or no Confluence entitlement), as for a sandbox.
	ErrNoBillingData = errors.New("billing data not found for the site")
)

// confluenceProductKey is the product key of Confluence Cloud entitlements.
const confluenceProductKey = "confluence.ondemand"

// SiteBilling is what the admin hub reports of one site's Confluence
// subscription.
type SiteBilling struct {
	CloudID       string
	EntitlementID string
	Edition       string // lower case: free, standard, premium or enterprise
	Currency      string // ISO 4217 code, upper case
	Cycle         string // "monthly" or "annual"
	NextBillDate  *time.Time
	// TotalMinor is the estimate of the next bill for Confluence on the
	// site, in minor units of Currency.
	TotalMinor int64
	UnitCount  *int64 // users the estimate counts, when reported
	UserTier   *int64 // the user tier bought, on annual plans
}

type wireEntitlementGroup struct {
	ID           string `json:"id"`
	Entitlements []struct {
		ID         string `json:"id"`
		ProductKey string `json:"productKey"`
		Status     string `json:"status"`
	} `json:"entitlements"`
}

type wireEdition struct {
	CurrentEdition string `json:"currentEdition"`
}

type wireBillingDetails struct {
	Currency        string `json:"currency"`
	BillingCycle    string `json:"billingCycle"`
	NextBillingDate string `json:"nextBillingDate"`
}

type wireBillEstimate struct {
	Currency        string `json:"currency"`
	NextBillingDate string `json:"nextBillingDate"`
	Lines           []struct {
		EntitlementID    string          `json:"entitlementId"`
		ProductKey       string          `json:"productKey"`
		TotalAmountMinor json.Number     `json:"totalAmountMinor"`
		UnitCount        json.RawMessage `json:"unitCount"`
		UserTier         json.RawMessage `json:"userTier"`
	} `json:"lines"`
}

// ConfluenceBilling reads the Confluence subscription of a site of the
// org from the admin hub: its entitlement, edition, billing details and
// bill estimate. The org id selects the org's shared rate limiter, since
// the billing paths name only the site.
// It returns ErrBillingUnavailable without a session and wraps
// ErrNoBillingData when the admin hub has no such data for the site.
func (c *Client) ConfluenceBilling(ctx context.Context, orgID, cloudID string) (SiteBilling,
	error) {
	out := SiteBilling{CloudID: cloudID}
	if c.sess == nil {
		return out, ErrBillingUnavailable
	}
	ids := map[string]string{"orgId": orgID, "cloudId": cloudID}

	var group wireEntitlementGroup
	if err := c.billingCall(ctx, EndpointEntitlementGroup, ids, &group); err != nil {
		return out, err
	}
	for _, e := range group.Entitlements {
		if e.ProductKey == confluenceProductKey {
			out.EntitlementID = e.ID
			break
		}
	}
	if out.EntitlementID == "" {
		return out, fmt.Errorf("%w: site %s has no %s entitlement", ErrNoBillingData, cloudID,
			confluenceProductKey)
	}
	ids["entitlementId"] = out.EntitlementID

	var edition wireEdition
	if err := c.billingCall(ctx, EndpointEdition, ids, &edition); err != nil {
		return out, err
	}
	out.Edition = strings.ToLower(strings.TrimSpace(edition.CurrentEdition))

	var details wireBillingDetails
	if err := c.billingCall(ctx, EndpointBillingDetails, ids, &details); err != nil {
		return out, err
	}
	out.Currency = strings.ToUpper(strings.TrimSpace(details.Currency))
	switch strings.ToUpper(strings.TrimSpace(details.BillingCycle)) {
	case "MONTHLY":
		out.Cycle = "monthly"
	case "ANNUAL":
		out.Cycle = "annual"
	default:
		return out, fmt.Errorf("%s response: field billingCycle: expected MONTHLY or ANNUAL",
			EndpointBillingDetails)
	}

	var estimate wireBillEstimate
	if err := c.billingCall(ctx, EndpointBillEstimate, ids, &estimate); err != nil {
		return out, err
	}
	return out, readEstimate(&out, details, estimate)
}

// readEstimate fills out from the estimate line of out's entitlement.
func readEstimate(out *SiteBilling, details wireBillingDetails, est wireBillEstimate) error {
	name := string(EndpointBillEstimate)
	if est.Currency != "" && !strings.EqualFold(est.Currency, out.Currency) {
		return fmt.Errorf("%s response: field currency differs from the billing details", name)
	}
	date := est.NextBillingDate
	if date == "" {
		date = details.NextBillingDate
	}
	if date != "" {
		t, err := time.Parse(time.DateOnly, date)
		if err != nil {
			return fmt.Errorf("%s response: field nextBillingDate: expected yyyy-mm-dd", name)
		}
		out.NextBillDate = &t
	}
	for _, line := range est.Lines {
		if line.EntitlementID != out.EntitlementID {
			continue
		}
		total, err := line.TotalAmountMinor.Int64()
		if err != nil {
			return fmt.Errorf("%s response: field totalAmountMinor: expected a whole number "+
				"of minor units", name)
		}
		out.TotalMinor = total
		if out.UnitCount, err = optionalInt(line.UnitCount); err != nil {
			return fmt.Errorf("%s response: %w", name, &fieldError{"unitCount", err})
		}
		if out.UserTier, err = optionalInt(line.UserTier); err != nil {
			return fmt.Errorf("%s response: %w", name, &fieldError{"userTier", err})
		}
		return nil
	}
	return fmt.Errorf("%w: the bill estimate has no line for entitlement %s", ErrNoBillingData,
		out.EntitlementID)
}

// billingCall sends one billing request. A 404 means the site has no
// billing data, which callers tell apart with ErrNoBillingData.
func (c *Client) billingCall(ctx context.Context, e Endpoint, ids map[string]string,
	out any) error {
	r, ok := LookupRoute(e, CredentialSession)
	if !ok {
		return fmt.Errorf("%s: no session route", e)
	}
	values := map[string]string{}
	for k, v := range ids {
		if strings.Contains(r.Path, "{"+k+"}") {
			values[k] = v
		}
	}
	p, err := expandPath(r.Path, values)
	if err != nil {
		return err
	}
	o := &outgoing{route: r, base: c.hostBase(r), path: p, org: ids["orgId"]}
	err = c.call(ctx, o, out)
	var he *HTTPError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return fmt.Errorf("%w: %w", ErrNoBillingData, err)
	}
	return err
}
