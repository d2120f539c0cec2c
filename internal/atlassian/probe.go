package atlassian

import (
	"context"
	"errors"
	"fmt"
)

// Probe calls each route the credentials reach once, on the first org,
// directory, Confluence site, user and group it finds, so that the doctor
// command can print the TraceEvents of every call. It goes on after a
// failed call when the next one does not depend on it, and returns every
// error joined.
func (c *Client) Probe(ctx context.Context) error {
	var errs []error
	fail := func(step string, err error) {
		errs = append(errs, fmt.Errorf("probe %s: %w", step, err))
	}

	orgID := c.opts.OrgID
	orgs, err := c.Orgs(ctx)
	if err != nil {
		fail("orgs", err)
	}
	if orgID == "" && len(orgs) == 1 {
		orgID = orgs[0].ID
	}
	if orgID == "" {
		id, err := c.ResolveOrgID(ctx)
		if err != nil {
			fail("org_id", err)
			return errors.Join(errs...)
		}
		orgID = id
	}
	if _, err := c.Directories(ctx, orgID); err != nil {
		fail("directories", err)
	}
	var site *Workspace
	err = c.workspaces(ctx, orgID, adminPageSize, func(w Workspace) bool {
		if w.TypeKey == "confluence" && (len(c.opts.Sites) == 0 || matchesAny(c.opts.Sites, w)) {
			site = &w
			return false
		}
		return true
	})
	if err != nil {
		fail("workspaces", err)
	}
	var accountID string
	err = c.SearchUsers(ctx, orgID, UserSearch{PageSize: 1,
		Expand: []string{"productAccess", "groups", "platformRoles"}}, func(u User) bool {
		accountID = u.AccountID
		return false
	})
	if err != nil {
		fail("users_search", err)
	}
	if accountID != "" {
		if _, err := c.LastActiveDates(ctx, orgID, accountID); err != nil {
			fail("last_active_dates", err)
		}
	}
	err = c.searchGroups(ctx, orgID, 1, func(DirectoryGroup) bool { return false })
	if err != nil {
		fail("groups_search", err)
	}
	if site == nil {
		if err == nil {
			fail("sites", errors.New("no Confluence site found, so site routes were not probed"))
		}
		return errors.Join(errs...)
	}
	c.probeSite(ctx, site.HostURL, fail)
	// The billing routes exist only on the admin hub, for a session.
	if c.sess != nil {
		if _, err := c.ConfluenceBilling(ctx, orgID, site.CloudID); err != nil &&
			!errors.Is(err, ErrNoBillingData) {
			fail("billing", err)
		}
	}
	return errors.Join(errs...)
}

func (c *Client) probeSite(ctx context.Context, siteURL string, fail func(string, error)) {
	if _, err := c.TenantInfo(ctx, siteURL); err != nil {
		fail("tenant_info", err)
	}
	if _, err := c.SystemInfo(ctx, siteURL); err != nil {
		fail("system_info", err)
	}
	if err := c.licensedUsers(ctx, siteURL, 1, func(SiteUser) bool { return false }); err != nil {
		fail("licensed_users", err)
	}
	var groupID string
	err := c.siteGroups(ctx, siteURL, 1, func(g Group) bool {
		groupID = g.ID
		return false
	})
	if err != nil {
		fail("site_groups", err)
	}
	if groupID != "" {
		err := c.groupMembers(ctx, siteURL, groupID, 1, func(SiteUser) bool { return false })
		if err != nil {
			fail("group_members", err)
		}
	}
}

func matchesAny(entries []string, w Workspace) bool {
	for _, e := range entries {
		if siteMatches(e, w) {
			return true
		}
	}
	return false
}
