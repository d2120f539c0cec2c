package atlassian_test

import (
	"errors"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

func TestConfluenceBillingThroughSession(t *testing.T) {
	emu := startEmulator(t, 120)
	info := emu.Info()
	c := sessionClient(t, info, info.Email, info.Password)
	ctx := testContext(t)
	org := emu.Org()
	for _, s := range org.ConfluenceSites() {
		got, err := c.ConfluenceBilling(ctx, info.OrgID, s.CloudID)
		want, ok := emu.Billing(s)
		if !ok {
			if !errors.Is(err, atlassian.ErrNoBillingData) {
				t.Errorf("%s: error %v, want ErrNoBillingData", s.Name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if got.EntitlementID != want.EntitlementID || got.Edition != s.Edition ||
			got.Currency != "USD" || got.TotalMinor != want.TotalMinor {
			t.Errorf("%s: billing = %+v, want %+v", s.Name, got, want)
		}
		wantCycle := map[string]string{"MONTHLY": "monthly", "ANNUAL": "annual"}[want.Cycle]
		if got.Cycle != wantCycle {
			t.Errorf("%s: cycle = %q, want %q", s.Name, got.Cycle, wantCycle)
		}
		if got.NextBillDate == nil || got.NextBillDate.Format(time.DateOnly) != want.NextBillDate {
			t.Errorf("%s: next bill date = %v, want %s", s.Name, got.NextBillDate,
				want.NextBillDate)
		}
		if (got.UserTier == nil) != (want.UserTier == nil) ||
			(got.UserTier != nil && *got.UserTier != *want.UserTier) {
			t.Errorf("%s: user tier = %v, want %v", s.Name, got.UserTier, want.UserTier)
		}
	}
	if n := emu.Counts().Requests[emulator.RouteBillingEstimate]; n == 0 {
		t.Errorf("no bill estimate request reached the emulator")
	}
}

func TestConfluenceBillingUnavailableWithAPIKey(t *testing.T) {
	emu := startEmulator(t, 20)
	info := emu.Info()
	c, err := atlassian.NewClient(atlassian.Options{AdminAPIURL: info.AdminAPIURL,
		APIKey: info.APIKey, Email: info.Email, APIToken: info.APIToken,
		SessionCacheDir: t.TempDir(), OrgRequestsPerMinute: atlassian.NoLimit,
		SiteRequestsPerMinute: atlassian.NoLimit})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	_, err = c.ConfluenceBilling(testContext(t), info.OrgID, info.Sites[0].CloudID)
	if !errors.Is(err, atlassian.ErrBillingUnavailable) {
		t.Errorf("error = %v, want ErrBillingUnavailable", err)
	}
	counts := emu.Counts()
	if counts.Requests[emulator.RouteBillingEntitlementGroup] != 0 ||
		counts.MisdirectedCredentials != 0 {
		t.Errorf("a billing request was sent without a session: %+v", counts)
	}
}
