package atlassian

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// sitePageSize is the page size of Confluence v1 lists; the API caps most
// of them at 50 whatever limit the request gives.
const sitePageSize = 50

// TenantInfo returns the cloud id of a site.
func (c *Client) TenantInfo(ctx context.Context, siteURL string) (string, error) {
	o, err := c.newSiteRequest(EndpointTenantInfo, siteURL, nil)
	if err != nil {
		return "", err
	}
	var ti tenantInfo
	if err := c.call(ctx, o, &ti); err != nil {
		return "", err
	}
	if ti.CloudID == "" {
		return "", fmt.Errorf("%s response: field cloudId is missing", o.name())
	}
	return ti.CloudID, nil
}

// SystemInfo returns a Confluence site's cloud id, edition, base URL and
// title.
func (c *Client) SystemInfo(ctx context.Context, siteURL string) (SystemInfo, error) {
	o, err := c.newSiteRequest(EndpointSystemInfo, siteURL, nil)
	if err != nil {
		return SystemInfo{}, err
	}
	var si systemInfo
	if err := c.call(ctx, o, &si); err != nil {
		return SystemInfo{}, err
	}
	return SystemInfo(si), nil
}

// LicensedUsers calls fn for each account that holds a Confluence license
// on the site, until fn returns false.
func (c *Client) LicensedUsers(ctx context.Context, siteURL string,
	fn func(SiteUser) bool) error {
	return c.licensedUsers(ctx, siteURL, sitePageSize, fn)
}

func (c *Client) licensedUsers(ctx context.Context, siteURL string, limit int,
	fn func(SiteUser) bool) error {
	o, err := c.newSiteRequest(EndpointLicensedUsers, siteURL, nil)
	if err != nil {
		return err
	}
	o.query = url.Values{
		"cql":                      {"type=user"},
		"sitePermissionTypeFilter": {"none"},
	}
	return c.confluencePages(ctx, o, limit, func() any { return &userSearchPage{} },
		func(page any) (string, bool) {
			p := page.(*userSearchPage)
			for _, r := range p.Results {
				if !fn(r.User.siteUser()) {
					return "", false
				}
			}
			return p.Links.Next, true
		})
}

// SiteGroups calls fn for each group of a Confluence site, until fn
// returns false.
func (c *Client) SiteGroups(ctx context.Context, siteURL string, fn func(Group) bool) error {
	return c.siteGroups(ctx, siteURL, sitePageSize, fn)
}

func (c *Client) siteGroups(ctx context.Context, siteURL string, limit int,
	fn func(Group) bool) error {
	o, err := c.newSiteRequest(EndpointSiteGroups, siteURL, nil)
	if err != nil {
		return err
	}
	o.query = url.Values{}
	return c.confluencePages(ctx, o, limit, func() any { return &siteGroupsPage{} },
		func(page any) (string, bool) {
			p := page.(*siteGroupsPage)
			for _, r := range p.Results {
				if !fn(Group{ID: r.ID, Name: r.Name}) {
					return "", false
				}
			}
			return p.Links.Next, true
		})
}

// GroupMembers calls fn for each member of a Confluence site group, until
// fn returns false.
func (c *Client) GroupMembers(ctx context.Context, siteURL, groupID string,
	fn func(SiteUser) bool) error {
	return c.groupMembers(ctx, siteURL, groupID, sitePageSize, fn)
}

func (c *Client) groupMembers(ctx context.Context, siteURL, groupID string, limit int,
	fn func(SiteUser) bool) error {
	o, err := c.newSiteRequest(EndpointGroupMembers, siteURL,
		map[string]string{"groupId": groupID})
	if err != nil {
		return err
	}
	o.query = url.Values{"shouldReturnTotalSize": {"true"}}
	return c.confluencePages(ctx, o, limit, func() any { return &membersPage{} },
		func(page any) (string, bool) {
			p := page.(*membersPage)
			for _, r := range p.Results {
				if !fn(r.siteUser()) {
					return "", false
				}
			}
			return p.Links.Next, true
		})
}

// confluencePages pages a Confluence v1 list by start and limit, following
// _links.next. each handles one decoded page and returns its next link,
// or false to stop.
func (c *Client) confluencePages(ctx context.Context, o *outgoing, limit int,
	newPage func() any, each func(any) (string, bool)) error {
	base := o.query
	base.Set("start", "0")
	base.Set("limit", strconv.Itoa(limit))
	var pt pageTracker
	for {
		page := newPage()
		if err := c.call(ctx, o, page); err != nil {
			return err
		}
		next, ok := each(page)
		if !ok {
			return nil
		}
		more, err := pt.next(next)
		if err != nil || !more {
			return wrapPaging(o, err)
		}
		q, err := confluenceNextQuery(next, o.path)
		if err != nil {
			return fmt.Errorf("%s response: %w", o.name(), err)
		}
		// The link normally repeats every parameter; those it leaves out
		// keep the first request's values.
		merged := url.Values{}
		for k, v := range base {
			merged[k] = v
		}
		for k, v := range q {
			merged[k] = v
		}
		o.query = merged
	}
}
