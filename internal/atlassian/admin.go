package atlassian

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// adminPageSize is the Admin API's maximum page size.
const adminPageSize = 100

// Orgs lists the organizations the credentials administer.
func (c *Client) Orgs(ctx context.Context) ([]Org, error) {
	o, err := c.newAdminRequest(EndpointOrgs, nil)
	if err != nil {
		return nil, err
	}
	var out []Org
	var pt pageTracker
	for {
		var page orgsPage
		if err := c.call(ctx, o, &page); err != nil {
			return nil, err
		}
		for _, d := range page.Data {
			out = append(out, Org{ID: d.ID, Name: d.Attributes.Name})
		}
		// v1 lists give the next page as a whole URL.
		cursor, err := cursorFromNextURL(page.Links.Next)
		if err != nil {
			return nil, fmt.Errorf("%s response: %w", o.name(), err)
		}
		more, err := pt.next(cursor)
		if err != nil || !more {
			return out, wrapPaging(o, err)
		}
		o.query = url.Values{"cursor": {cursor}}
	}
}

func wrapPaging(o *outgoing, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s response: %w", o.name(), err)
}

// ResolveOrgID returns Options.OrgID, or the only org the credentials
// administer. Several orgs without org_id is an error listing their ids.
func (c *Client) ResolveOrgID(ctx context.Context) (string, error) {
	if id := c.knownOrgID(); id != "" {
		return id, nil
	}
	c.orgMu.Lock()
	defer c.orgMu.Unlock()
	if id := c.knownOrgID(); id != "" {
		return id, nil
	}
	orgs, err := c.Orgs(ctx)
	if err != nil {
		return "", err
	}
	switch len(orgs) {
	case 0:
		return "", &ConfigError{Setting: "org_id",
			Problem: "not found: the credentials administer no organization",
			Fix:     "use the credentials of an org admin, or an API key of the org"}
	case 1:
		id := orgs[0].ID
		c.orgID.Store(&id)
		return id, nil
	}
	names := make([]string, len(orgs))
	for i, o := range orgs {
		names[i] = fmt.Sprintf("%s (%s)", o.ID, o.Name)
	}
	sort.Strings(names)
	return "", &ConfigError{Setting: "org_id",
		Problem: fmt.Sprintf("missing: the credentials administer %d orgs: %s", len(orgs),
			strings.Join(names, ", ")),
		Fix: "set org_id to one of these ids"}
}

// Directories lists the user directories of an org.
func (c *Client) Directories(ctx context.Context, orgID string) ([]Directory, error) {
	o, err := c.newAdminRequest(EndpointDirectories, map[string]string{"orgId": orgID})
	if err != nil {
		return nil, err
	}
	var out []Directory
	var pt pageTracker
	for {
		var page directoriesPage
		if err := c.call(ctx, o, &page); err != nil {
			return nil, err
		}
		for _, d := range page.Data {
			out = append(out, Directory{ID: d.DirectoryID, Name: d.Name})
		}
		more, err := pt.next(page.Links.Next)
		if err != nil || !more {
			return out, wrapPaging(o, err)
		}
		o.query = url.Values{"cursor": {page.Links.Next}}
	}
}

// Workspaces lists the product instances of an org, every product.
func (c *Client) Workspaces(ctx context.Context, orgID string) ([]Workspace, error) {
	var out []Workspace
	err := c.workspaces(ctx, orgID, adminPageSize, func(w Workspace) bool {
		out = append(out, w)
		return true
	})
	return out, err
}

func (c *Client) workspaces(ctx context.Context, orgID string, limit int,
	fn func(Workspace) bool) error {
	o, err := c.newAdminRequest(EndpointWorkspaces, map[string]string{"orgId": orgID})
	if err != nil {
		return err
	}
	body := struct {
		Limit  int    `json:"limit"`
		Cursor string `json:"cursor,omitempty"`
	}{Limit: limit}
	var pt pageTracker
	for {
		if o.body, err = json.Marshal(body); err != nil {
			return err
		}
		o.bodyType = "application/json"
		var page workspacesPage
		if err := c.call(ctx, o, &page); err != nil {
			return err
		}
		for _, d := range page.Data {
			a := d.Attributes
			w := Workspace{CloudID: d.ID, Name: a.Name, TypeKey: a.TypeKey, HostURL: a.HostURL,
				Status: a.Status, Sandbox: bool(a.Sandbox)}
			w.ARI = "ari:cloud:" + a.TypeKey + "::site/" + d.ID
			if w.Capacity, err = optionalInt(a.Capacity); err != nil {
				return fmt.Errorf("%s response: %w", o.name(), &fieldError{"capacity", err})
			}
			if w.Usage, err = optionalInt(a.Usage); err != nil {
				return fmt.Errorf("%s response: %w", o.name(), &fieldError{"usage", err})
			}
			if !fn(w) {
				return nil
			}
		}
		more, err := pt.next(page.Links.Next)
		if err != nil || !more {
			return wrapPaging(o, err)
		}
		body.Cursor = page.Links.Next
	}
}

// ConfluenceSites returns the org's Confluence workspaces, limited to
// Options.Sites when it is set. An entry of Sites that matches no site is
// an error listing the sites found.
func (c *Client) ConfluenceSites(ctx context.Context, orgID string) ([]Workspace, error) {
	all, err := c.Workspaces(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var sites []Workspace
	for _, w := range all {
		if w.TypeKey == "confluence" {
			sites = append(sites, w)
		}
	}
	if len(c.opts.Sites) == 0 {
		return sites, nil
	}
	var out []Workspace
	for _, entry := range c.opts.Sites {
		found := false
		for _, w := range sites {
			if siteMatches(entry, w) {
				found = true
				if !containsWorkspace(out, w) {
					out = append(out, w)
				}
			}
		}
		if !found {
			hosts := make([]string, len(sites))
			for i, w := range sites {
				hosts[i] = siteHost(w.HostURL)
			}
			return nil, &ConfigError{Setting: "sites",
				Problem: fmt.Sprintf("not found: entry %q matches no Confluence site of org %s "+
					"(sites: %s)", entry, orgID, strings.Join(hosts, ", ")),
				Fix: "list site host names, URLs or cloud ids of this org"}
		}
	}
	return out, nil
}

func containsWorkspace(list []Workspace, w Workspace) bool {
	for _, x := range list {
		if x.CloudID == w.CloudID {
			return true
		}
	}
	return false
}

// siteMatches reports whether a sites entry names w by cloud id, host name
// or URL.
func siteMatches(entry string, w Workspace) bool {
	entry = strings.TrimSpace(entry)
	if strings.EqualFold(entry, w.CloudID) {
		return true
	}
	host := siteHost(w.HostURL)
	return host != "" && strings.EqualFold(siteHost(entry), host)
}

// siteHost returns the host name of a URL or of a bare host name.
func siteHost(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// SearchUsers calls fn for each user of the org's directories that
// matches q, in the order the API returns them, until fn returns false.
func (c *Client) SearchUsers(ctx context.Context, orgID string, q UserSearch,
	fn func(User) bool) error {
	o, err := c.newAdminRequest(EndpointUsersSearch, map[string]string{"orgId": orgID})
	if err != nil {
		return err
	}
	limit := q.PageSize
	if limit <= 0 || limit > adminPageSize {
		limit = adminPageSize
	}
	body := struct {
		Limit       int      `json:"limit"`
		Cursor      string   `json:"cursor,omitempty"`
		AccountIDs  []string `json:"accountIds,omitempty"`
		ResourceIDs []string `json:"resourceIds,omitempty"`
		Status      []string `json:"status,omitempty"`
		SearchTerm  string   `json:"searchTerm,omitempty"`
		Expand      []string `json:"expand,omitempty"`
	}{Limit: limit, AccountIDs: q.AccountIDs, ResourceIDs: q.ResourceIDs, Status: q.Statuses,
		SearchTerm: q.SearchTerm, Expand: q.Expand}
	var pt pageTracker
	for {
		if o.body, err = json.Marshal(body); err != nil {
			return err
		}
		o.bodyType = "application/json"
		var page usersPage
		if err := c.call(ctx, o, &page); err != nil {
			return bulkActivityError(q, err)
		}
		for i := range page.Data {
			u, err := page.Data[i].user()
			if err != nil {
				return fmt.Errorf("%s response, user %s: %w", o.name(), u.AccountID, err)
			}
			if !fn(u) {
				return nil
			}
		}
		more, err := pt.next(page.Links.Next)
		if err != nil || !more {
			return wrapPaging(o, err)
		}
		body.Cursor = page.Links.Next
	}
}

// codeLegacyUserManagement is the error code of a v2 user search that
// expands productAccess in an org on the original user management
// experience.
const codeLegacyUserManagement = "ADMIN-400-4"

// bulkActivityError wraps err with ErrBulkActivityUnsupported when it is
// the 400 a search expanding productAccess gets in an org on the original
// user management experience.
func bulkActivityError(q UserSearch, err error) error {
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest ||
		he.Code != codeLegacyUserManagement || !slices.Contains(q.Expand, "productAccess") {
		return err
	}
	return fmt.Errorf("%w: %w", ErrBulkActivityUnsupported, err)
}

// LastActiveDates returns when a user was added to the org and last used
// each product, merging every page of the response.
func (c *Client) LastActiveDates(ctx context.Context, orgID, accountID string) (LastActive,
	error) {
	var out LastActive
	o, err := c.newAdminRequest(EndpointLastActiveDates,
		map[string]string{"orgId": orgID, "accountId": accountID})
	if err != nil {
		return out, err
	}
	var pt pageTracker
	for {
		var page lastActivePage
		if err := c.call(ctx, o, &page); err != nil {
			return out, err
		}
		d := page.Data
		if out.AddedToOrg == nil {
			if out.AddedToOrg, err = firstTimestamp("added_to_org", d.AddedToOrgTimestamp,
				d.AddedToOrg); err != nil {
				return out, fmt.Errorf("%s response: %w", o.name(), err)
			}
		}
		for _, p := range d.ProductAccess {
			last, err := firstTimestamp("last_active", p.LastActiveTimestamp, p.LastActive)
			if err != nil {
				return out, fmt.Errorf("%s response: %w", o.name(), err)
			}
			out.Products = append(out.Products, ProductActivity{ID: p.ID, Key: p.Key,
				Name: p.Name, URL: p.URL, LastActive: last})
		}
		// The cursor of this v1 call is bare, unlike the orgs list.
		more, err := pt.next(page.Links.Next)
		if err != nil || !more {
			return out, wrapPaging(o, err)
		}
		o.query = url.Values{"cursor": {page.Links.Next}}
	}
}

// SearchGroups calls fn for each group of the org's directories, with its
// member count, until fn returns false.
func (c *Client) SearchGroups(ctx context.Context, orgID string,
	fn func(DirectoryGroup) bool) error {
	return c.searchGroups(ctx, orgID, adminPageSize, fn)
}

func (c *Client) searchGroups(ctx context.Context, orgID string, limit int,
	fn func(DirectoryGroup) bool) error {
	o, err := c.newAdminRequest(EndpointGroupsSearch, map[string]string{"orgId": orgID})
	if err != nil {
		return err
	}
	body := struct {
		Limit  int      `json:"limit"`
		Cursor string   `json:"cursor,omitempty"`
		Expand []string `json:"expand"`
	}{Limit: limit, Expand: []string{"counts.users"}}
	var pt pageTracker
	for {
		if o.body, err = json.Marshal(body); err != nil {
			return err
		}
		o.bodyType = "application/json"
		var page groupsPage
		if err := c.call(ctx, o, &page); err != nil {
			return err
		}
		for _, d := range page.Data {
			n, err := optionalInt(d.Counts.Users)
			if err != nil {
				return fmt.Errorf("%s response: %w", o.name(), &fieldError{"counts.users", err})
			}
			if !fn(DirectoryGroup{ID: d.ID, Name: d.Name, Description: d.Description,
				UserCount: n, ManagementSource: d.ManagementSource}) {
				return nil
			}
		}
		more, err := pt.next(page.Links.Next)
		if err != nil || !more {
			return wrapPaging(o, err)
		}
		body.Cursor = page.Links.Next
	}
}
