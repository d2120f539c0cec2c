package emulator

import (
	"sort"
	"strings"
	"time"
)

// Account types of the Admin API.
const (
	AccountAtlassian = "atlassian"
	AccountApp       = "app"
	AccountCustomer  = "customer"
)

// Product type keys of workspaces.
const (
	ProductConfluence = "confluence"
	ProductJira       = "jira-software"
)

// Confluence editions as the systemInfo endpoint returns them.
const (
	EditionFree       = "free"
	EditionStandard   = "standard"
	EditionPremium    = "premium"
	EditionEnterprise = "enterprise"
)

// Dead-end account kinds, the keys of Info.DeadEndAccounts.
const (
	DeadEndSSO       = "sso"
	DeadEndEmailCode = "email_code"
	DeadEndLocked    = "locked"
	DeadEndCaptcha   = "captcha"
	DeadEndNoMFA     = "no_mfa"
)

// DeadEndKinds lists every dead-end account kind in a fixed order.
var DeadEndKinds = []string{DeadEndSSO, DeadEndEmailCode, DeadEndLocked, DeadEndCaptcha, DeadEndNoMFA}

// TimeEncoding is the JSON form of one lastActiveTimestamp in the v2 user search.
// Real tenants mix these forms, so the client must read all of them.
type TimeEncoding int

// Encodings of lastActiveTimestamp. The stored time has exactly the
// precision its encoding carries.
const (
	EncodeISOMillisUTC  TimeEncoding = iota // "2024-05-01T10:11:12.345Z"
	EncodeISOSecondsUTC                     // "2024-05-01T10:11:12Z"
	EncodeISOOffset                         // "2024-05-01T12:11:12+02:00"
	EncodeEpochMillis                       // 1714558272345 (JSON number)
)

// Org is the generated organization: every value the emulator serves
// comes from it. Fields are read-only once New returns, except Site.URL,
// which Start fills in.
type Org struct {
	ID            string
	Name          string
	Domain        string // claimed e-mail domain of managed accounts
	DirectoryID   string
	DirectoryName string
	Now           time.Time // data clock: activity and dates are at or before it

	Sites      []*Site
	Workspaces []*Workspace // every workspace of every site, site by site
	Users      []*User      // admin first, then the dead-end accounts, then the rest
	Groups     []*Group

	Admin    *User
	DeadEnds map[string]*User // kind (DeadEndSSO...) → account

	byAccount  map[string]*User
	byGroupID  map[string]*Group
	byResource map[string][]int32 // workspace ARI → indexes of users with access, ascending

	confluenceUsers int
}

// Site is one Atlassian cloud site, such as acme.atlassian.net.
type Site struct {
	CloudID    string
	Name       string // host name label, as in <name>.atlassian.net
	Title      string
	Edition    string // Confluence edition; "" on a site without Confluence
	Sandbox    bool
	URL        string // http://HOST:PORT once the emulator has started
	Workspaces []*Workspace
}

// Workspace is one product on one site.
type Workspace struct {
	Site     *Site
	ARI      string // ari:cloud:<typeKey>::site/<cloudId>
	TypeKey  string
	Status   string
	Capacity *int64 // seat limit; nil when the Admin API omits it
	Usage    *int64 // atlassian non-guest accounts with access; nil when omitted
}

// User is one account of the org directory.
type User struct {
	Index            int // position in Org.Users, the order of search results
	AccountID        string
	AccountType      string
	Status           string // active, suspended, not_invited, deactivated, for_deletion
	AccountStatus    string // active, inactive, closed
	MembershipStatus string
	ClaimStatus      string // managed, unmanaged
	Name             string
	Nickname         string
	Email            string // "" when hidden by the account's privacy settings
	EmailVerified    bool
	MFAEnabled       bool
	Guest            bool // external collaborator on Confluence
	PlatformRoles    []string
	AddedToOrg       time.Time
	DeactivatedOn    *time.Time
	Grants           []Grant // ordered by site, Confluence before Jira
	Groups           []*Group

	searchText string // lower-case name and e-mail for searchTerm
}

// Grant is a product access given to a user on one workspace. A suspended
// grant keeps its group membership and history but gives no access.
type Grant struct {
	Workspace  *Workspace
	LastActive *time.Time // nil when never active
	Encoding   TimeEncoding
	Suspended  bool
}

// Group is a group of the org directory; Confluence sites see all of them.
type Group struct {
	ID          string
	Name        string
	Description string
	// ManagementSource is who manages the group: GroupManagedByAdmin, or
	// GroupSyncedByIdP for a group provisioned from an identity provider.
	ManagementSource string
	Members          []*User // every member, whatever its status, in Org.Users order
}

// Values of Group.ManagementSource.
const (
	GroupManagedByAdmin = "admin"
	GroupSyncedByIdP    = "scim"
)

// Workspace returns the workspace of the product typeKey on the site, or nil.
func (s *Site) Workspace(typeKey string) *Workspace {
	for _, w := range s.Workspaces {
		if w.TypeKey == typeKey {
			return w
		}
	}
	return nil
}

// Confluence returns the site's Confluence workspace, or nil.
func (s *Site) Confluence() *Workspace { return s.Workspace(ProductConfluence) }

// CloudID returns the cloud id of the workspace's site.
func (w *Workspace) CloudID() string { return w.Site.CloudID }

// Name returns the site name, which the Admin API uses as workspace name.
func (w *Workspace) Name() string { return w.Site.Name }

// Sandbox reports whether the workspace's site is a sandbox.
func (w *Workspace) Sandbox() bool { return w.Site.Sandbox }

// Grant returns the user's grant on the workspace with this ARI, or nil.
func (u *User) Grant(ari string) *Grant {
	for i := range u.Grants {
		if u.Grants[i].Workspace.ARI == ari {
			return &u.Grants[i]
		}
	}
	return nil
}

// HasAccess reports whether the user has an unsuspended grant on the
// workspace with this ARI.
func (u *User) HasAccess(ari string) bool {
	g := u.Grant(ari)
	return g != nil && !g.Suspended
}

// HasConfluence reports whether the user has Confluence access on any
// site, sandbox included.
func (u *User) HasConfluence() bool {
	for _, g := range u.Grants {
		if !g.Suspended && g.Workspace.TypeKey == ProductConfluence {
			return true
		}
	}
	return false
}

// ActiveGrants returns the unsuspended grants, which the v2 user search
// lists as productAccess.
func (u *User) ActiveGrants() []Grant {
	out := make([]Grant, 0, len(u.Grants))
	for _, g := range u.Grants {
		if !g.Suspended {
			out = append(out, g)
		}
	}
	return out
}

// InGroup reports whether the user is a member of the group.
func (u *User) InGroup(g *Group) bool {
	for _, m := range u.Groups {
		if m == g {
			return true
		}
	}
	return false
}

// User returns the account with this id, or nil.
func (o *Org) User(accountID string) *User { return o.byAccount[accountID] }

// Group returns the group with this id, or nil.
func (o *Org) Group(id string) *Group { return o.byGroupID[id] }

// GroupByName returns the group with this name, or nil.
func (o *Org) GroupByName(name string) *Group {
	for _, g := range o.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// Site returns the site with this name or cloud id, or nil.
func (o *Org) Site(nameOrCloudID string) *Site {
	for _, s := range o.Sites {
		if s.Name == nameOrCloudID || s.CloudID == nameOrCloudID {
			return s
		}
	}
	return nil
}

// ConfluenceSites returns the sites that have Confluence, sandbox included.
func (o *Org) ConfluenceSites() []*Site {
	var out []*Site
	for _, s := range o.Sites {
		if s.Confluence() != nil {
			out = append(out, s)
		}
	}
	return out
}

// UsersWithAccess returns the users with an unsuspended grant on the
// workspace with this ARI, in Org.Users order.
func (o *Org) UsersWithAccess(ari string) []*User {
	idx := o.byResource[ari]
	out := make([]*User, len(idx))
	for i, n := range idx {
		out[i] = o.Users[n]
	}
	return out
}

// ConfluenceUsers counts the accounts with Confluence access on any site,
// sandbox included.
func (o *Org) ConfluenceUsers() int { return o.confluenceUsers }

// Site permission filters of the Confluence user search.
const (
	PermissionLicensed = "none" // licensed users, the default
	PermissionGuests   = "externalCollaborator"
	PermissionAll      = "all"
)

// LicensedUsers returns what the site's Confluence user search lists for
// the sitePermissionTypeFilter value filter ("", "none",
// "externalCollaborator" or "all"): users with Confluence access on the
// site, app accounts included, guests only for "externalCollaborator" and
// "all". It returns nil for a site without Confluence.
func (o *Org) LicensedUsers(s *Site, filter string) []*User {
	w := s.Confluence()
	if w == nil {
		return nil
	}
	var out []*User
	for _, n := range o.byResource[w.ARI] {
		u := o.Users[n]
		switch filter {
		case PermissionGuests:
			if !u.Guest {
				continue
			}
		case PermissionAll:
		default:
			if u.Guest {
				continue
			}
		}
		out = append(out, u)
	}
	return out
}

// VisibleMembers returns the members of g that a site's Confluence lists
// in membersByGroupId: it leaves out, without a word, members suspended or
// deactivated in the org and members whose Confluence grant on that site
// is suspended.
func (o *Org) VisibleMembers(g *Group, s *Site) []*User {
	var ari string
	if w := s.Confluence(); w != nil {
		ari = w.ARI
	}
	out := make([]*User, 0, len(g.Members))
	for _, u := range g.Members {
		if !memberVisible(u, ari) {
			continue
		}
		out = append(out, u)
	}
	return out
}

func memberVisible(u *User, ari string) bool {
	switch u.Status {
	case "suspended", "deactivated", "for_deletion":
		return false
	}
	if ari != "" {
		if gr := u.Grant(ari); gr != nil && gr.Suspended {
			return false
		}
	}
	return true
}

// index builds the lookup maps once the data is complete.
func (o *Org) index() {
	o.byAccount = make(map[string]*User, len(o.Users))
	o.byResource = make(map[string][]int32, len(o.Workspaces))
	for i, u := range o.Users {
		u.Index = i
		o.byAccount[u.AccountID] = u
		u.searchText = strings.ToLower(u.Name) + "\x00" + strings.ToLower(u.Email)
		if u.HasConfluence() {
			o.confluenceUsers++
		}
		for _, g := range u.Grants {
			if !g.Suspended {
				o.byResource[g.Workspace.ARI] = append(o.byResource[g.Workspace.ARI], int32(i))
			}
		}
	}
	o.byGroupID = make(map[string]*Group, len(o.Groups))
	for _, g := range o.Groups {
		o.byGroupID[g.ID] = g
	}
}

// sortGrants orders grants by site then product, the order the API lists them.
func sortGrants(grants []Grant, siteOrder map[*Site]int) {
	sort.SliceStable(grants, func(i, j int) bool {
		a, b := grants[i].Workspace, grants[j].Workspace
		if a.Site != b.Site {
			return siteOrder[a.Site] < siteOrder[b.Site]
		}
		return a.TypeKey < b.TypeKey
	})
}
