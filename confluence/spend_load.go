package confluence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

// spendCacheKey holds a connection's computed licenses and spend rows, so
// that confluence_license and confluence_spend read the sites' billing
// data and licensed users once per inventory_cache_ttl, not once each.
const spendCacheKey = "confluence_spend"

// cachedSpend is the value stored under spendCacheKey.
type cachedSpend struct {
	builtAt  time.Time
	licenses []licenseRow
	spends   []spendRow
}

// loadSpend returns the spend of the connection, from the connection
// cache while it is younger than inventory_cache_ttl.
func loadSpend(ctx context.Context, d *plugin.QueryData) ([]licenseRow, []spendRow, error) {
	ttl, err := cacheTTL(d)
	if err != nil {
		return nil, nil, err
	}
	if ttl > 0 {
		if v, ok := d.ConnectionCache.Get(ctx, spendCacheKey); ok {
			if c, ok := v.(*cachedSpend); ok && now().Sub(c.builtAt) < ttl {
				return c.licenses, c.spends, nil
			}
		}
	}
	licenses, spends, err := computeConnectionSpend(ctx, d)
	if err != nil || ttl <= 0 {
		return licenses, spends, err
	}
	c := &cachedSpend{builtAt: now(), licenses: licenses, spends: spends}
	if err := d.ConnectionCache.SetWithTTL(ctx, spendCacheKey, c, ttl); err != nil {
		plugin.Logger(ctx).Warn("loadSpend", "connection", d.Connection.Name, "cache_error", err)
	}
	return licenses, spends, nil
}

// computeConnectionSpend reads what the spend computation needs: the
// sites with their edition and billing data, and every user with
// Confluence access with the sites where each is a guest. Users come from
// the cached inventory when there is one.
func computeConnectionSpend(ctx context.Context, d *plugin.QueryData) ([]licenseRow,
	[]spendRow, error) {
	cfg, err := GetConfig(d.Connection)
	if err != nil {
		return nil, nil, err
	}
	table, configured, err := cfg.PriceTable()
	if err != nil {
		return nil, nil, err
	}
	client, err := connect(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	inv, err := inventoryForQuery(ctx, d, false)
	if err != nil {
		return nil, nil, err
	}
	ctx = pacedContext(ctx, d)
	var orgID string
	var workspaces []atlassian.Workspace
	var index *siteIndex
	var users []atlassian.User
	if inv != nil {
		orgID, workspaces, index = inv.OrgID, inv.Sites, inv.Index
		for _, u := range inv.Users {
			users = append(users, u.User)
		}
	} else {
		if orgID, workspaces, index, err = orgSites(ctx, client, false); err != nil {
			return nil, nil, err
		}
		scan := userScan{orgID: orgID, index: index,
			search: atlassian.UserSearch{Expand: []string{"productAccess"}}}
		err = scanUsers(ctx, client, scan, func(u orgUser) bool {
			users = append(users, u.User)
			return true
		})
		if err != nil {
			return nil, nil, fmt.Errorf("listing the users failed: %w", err)
		}
	}

	sites := make([]spendSite, 0, len(workspaces))
	licensed := map[string]map[string]bool{} // cloud id -> licensed account ids
	for _, w := range workspaces {
		s, err := readSpendSite(ctx, client, orgID, w)
		if err != nil {
			return nil, nil, err
		}
		sites = append(sites, s)
		if w.Sandbox {
			continue
		}
		ids := map[string]bool{}
		err = client.LicensedUsers(ctx, w.HostURL, func(u atlassian.SiteUser) bool {
			ids[u.AccountID] = true
			return true
		})
		if err != nil {
			return nil, nil, fmt.Errorf("listing the licensed users of %s failed: %w",
				w.HostURL, err)
		}
		licensed[w.CloudID] = ids
	}

	var spendUsers []spendUser
	for _, u := range users {
		su := spendUser{AccountID: u.AccountID, AccountType: u.AccountType, Status: u.Status,
			Access: map[string]bool{}}
		for _, p := range u.ProductAccess {
			if p.Key != confluenceKey || !index.isConfluence(cloudIDOfARI(p.ID)) {
				continue
			}
			cloudID := cloudIDOfARI(p.ID)
			// The licensed user list leaves guests out, so an Atlassian
			// account with access that the list lacks is a guest.
			ids, checked := licensed[cloudID]
			su.Access[cloudID] = checked && u.AccountType == "atlassian" && !ids[u.AccountID]
		}
		if len(su.Access) > 0 {
			spendUsers = append(spendUsers, su)
		}
	}
	licenses, spends := computeSpend(sites, spendUsers,
		priceSource{Table: table, Configured: configured})
	plugin.Logger(ctx).Debug("loadSpend", "org_id", orgID, "sites", len(sites),
		"users", len(spendUsers))
	return licenses, spends, nil
}

// readSpendSite reads a site's edition and, through the session, its
// billing data. Billing data the admin hub does not give, for any
// reason, leaves the site to the price table: the endpoints are
// undocumented, and their failure must not hide the rest of the spend.
func readSpendSite(ctx context.Context, client *atlassian.Client, orgID string,
	w atlassian.Workspace) (spendSite, error) {
	s := spendSite{CloudID: w.CloudID, URL: w.HostURL, Sandbox: w.Sandbox,
		Capacity: w.Capacity}
	if !w.Sandbox {
		b, err := client.ConfluenceBilling(ctx, orgID, w.CloudID)
		switch {
		case err == nil:
			s.Billing = &b
		case errors.Is(err, atlassian.ErrBillingUnavailable):
		case ctx.Err() != nil:
			return s, ctx.Err()
		default:
			plugin.Logger(ctx).Warn("readSpendSite", "cloud_id", w.CloudID,
				"billing", "price table used", "api_error", err)
		}
	}
	if s.Billing == nil || s.Billing.Edition == "" {
		info, err := client.SystemInfo(ctx, w.HostURL)
		if err != nil {
			return s, fmt.Errorf("reading the edition of %s failed: %w", w.HostURL, err)
		}
		s.Edition = strings.ToLower(strings.TrimSpace(info.Edition))
	}
	return s, nil
}
