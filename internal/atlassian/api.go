package atlassian

import (
	"context"
	"encoding/json"
	"time"
)

// Options configures a Client. The caller validates settings before
// building one (see Validate); NewClient rejects what is still wrong.
type Options struct {
	// Base URLs of the Atlassian hosts. Empty means the public default.
	IdentityURL string
	AdminHubURL string
	AdminAPIURL string

	// Session route: e-mail, password and the TOTP secret of the admin's
	// authenticator app, or a pasted cloud.session.token cookie.
	Email        string
	Password     string
	TOTPSecret   string
	SessionToken string

	// Documented route: an org API key for the Admin API and a user API
	// token (with Email) for site REST.
	APIKey   string
	APIToken string

	// OrgID selects the organization; empty means the only one the
	// account administers.
	OrgID string

	// Sites limits site calls to these host names, URLs or cloud ids.
	Sites []string

	// SessionCacheDir holds one session file and one lock file per
	// account. Empty means DefaultSessionCacheDir().
	SessionCacheDir string

	// Logger receives structured log lines; nil discards them.
	Logger Logger

	// Trace, when set, receives one redacted event per HTTP exchange.
	Trace func(TraceEvent)

	// Now replaces time.Now in tests.
	Now func() time.Time

	// RequestTimeout bounds one HTTP exchange, body included. Zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration

	// OrgRequestsPerMinute paces the Admin API and admin hub requests of
	// the org. Every Client of the process that reads the same org waits
	// on one shared limiter, which runs at the lowest rate its clients
	// set. Zero means DefaultOrgRequestsPerMinute, and NoLimit makes this
	// client skip the limiter.
	OrgRequestsPerMinute int
	// SiteRequestsPerMinute paces the REST requests of each Confluence
	// site the same way, with one limiter per site.
	SiteRequestsPerMinute int
	// LimiterOwner names the caller in the shared limiters, for example
	// the Steampipe connection. A new client with the same owner replaces
	// the rates the old one set. Empty means the client alone.
	LimiterOwner string
}

// Logger is the subset of hclog.Logger the client uses, so that the
// client does not import the plugin SDK.
type Logger interface {
	Trace(msg string, args ...any)
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// TraceEvent describes one HTTP exchange without any value that could
// carry a secret: names and shapes only.
type TraceEvent struct {
	Method          string   `json:"method"`
	Host            string   `json:"host"`   // "identity", "admin_hub", "admin_api" or "site"
	Route           string   `json:"route"`  // route table key, e.g. "users_search"
	Path            string   `json:"path"`   // path with ids replaced by {placeholders}
	Status          int      `json:"status"` // 0 when no response arrived
	RequestHeaders  []string `json:"request_headers"`
	ResponseHeaders []string `json:"response_headers"`
	RequestCookies  []string `json:"request_cookies"`
	SetCookies      []string `json:"set_cookies"`
	FormFields      []string `json:"form_fields,omitempty"`
	ContentType     string   `json:"content_type,omitempty"`
	// Skeleton is the key structure of a JSON response, every value
	// replaced by its JSON type name.
	Skeleton json.RawMessage `json:"skeleton,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// Org is an Atlassian organization.
type Org struct {
	ID   string
	Name string
}

// Directory is a user directory of an org.
type Directory struct {
	ID   string
	Name string
}

// Workspace is a product instance on a site (a "workspace" in the Admin API).
type Workspace struct {
	CloudID  string
	ARI      string // ari:cloud:<product>::site/<cloudId>
	Name     string
	TypeKey  string // product key, "confluence" for Confluence
	HostURL  string
	Status   string
	Sandbox  bool
	Capacity *int64
	Usage    *int64
}

// ProductAccess is one product a user can use on one site.
//
// HasTimestamp distinguishes "never active" from "not reported". It is true when
// the entry carried the lastActiveTimestamp field, even as null: then a
// nil LastActive means the user never used the product. It is false when
// the field was absent, and LastActive is then nil but means nothing. A
// search answer whose entries all lack the field does not report
// activity, and the dates must come from LastActiveDates instead.
type ProductAccess struct {
	Key          string     `json:"key"`
	ID           string     `json:"id"` // site ARI
	LastActive   *time.Time `json:"last_active"`
	HasTimestamp bool       `json:"has_timestamp"`
}

// Group is a group a user belongs to.
type Group struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// User is one account in the org's directory, from the v2 user search.
type User struct {
	AccountID        string
	AccountType      string
	Status           string
	AccountStatus    string
	MembershipStatus string
	ClaimStatus      string
	Name             string
	Nickname         string
	Email            string // empty when hidden by privacy settings
	EmailVerified    bool
	MFAEnabled       *bool
	PlatformRoles    []string
	AddedToOrg       *time.Time
	DeactivatedOn    *time.Time
	ProductAccess    []ProductAccess // nil unless expanded
	Groups           []Group         // nil unless expanded
}

// UserSearch holds the filters of a v2 user search. Zero values mean
// no filter.
type UserSearch struct {
	AccountIDs  []string
	ResourceIDs []string // site ARIs
	Statuses    []string
	SearchTerm  string
	Expand      []string // "productAccess", "groups", "platformRoles"
	PageSize    int      // 1..100; 0 means 100
}

// LastActive is the response of the per-user last-active-dates call.
type LastActive struct {
	AddedToOrg *time.Time
	Products   []ProductActivity
}

// ProductActivity is one product's last activity for one user.
type ProductActivity struct {
	ID         string // site ARI or cloud id, as the API gives it
	Key        string
	Name       string
	URL        string
	LastActive *time.Time
}

// DirectoryGroup is a group of the org's directory, from the v2 group search.
type DirectoryGroup struct {
	ID          string
	Name        string
	Description string
	UserCount   *int64 // nil unless the response carries counts.users
	// ManagementSource names who manages the group, as the Admin API does:
	// "scim" for a group synced from an identity provider. It is "" when
	// the response leaves it out.
	ManagementSource string
}

// SystemInfo is the response of a Confluence site's systemInfo call.
type SystemInfo struct {
	CloudID   string
	Edition   string
	BaseURL   string
	SiteTitle string
}

// SiteUser is an account as a Confluence site's REST API lists it.
type SiteUser struct {
	AccountID   string
	AccountType string
	DisplayName string
	Email       string // empty when hidden by privacy settings
}

// ClientAPI reads an Atlassian organization through the routes its
// credentials reach. It never sends a request that changes state.
//
// Methods that page call fn once per item, in order; fn returns false to
// stop paging early (for example when a SQL LIMIT is met).
type ClientAPI interface {
	// Orgs lists the organizations the credentials administer.
	Orgs(ctx context.Context) ([]Org, error)
	// ResolveOrgID returns Options.OrgID, or discovers the only org.
	ResolveOrgID(ctx context.Context) (string, error)
	Directories(ctx context.Context, orgID string) ([]Directory, error)
	Workspaces(ctx context.Context, orgID string) ([]Workspace, error)
	// ConfluenceSites returns the Confluence workspaces, filtered by
	// Options.Sites.
	ConfluenceSites(ctx context.Context, orgID string) ([]Workspace, error)
	SearchUsers(ctx context.Context, orgID string, q UserSearch, fn func(User) bool) error
	LastActiveDates(ctx context.Context, orgID, accountID string) (LastActive, error)
}

// SiteAPI reads one Confluence site through its REST API. siteURL is a
// workspace's HostURL, for example https://example.atlassian.net.
type SiteAPI interface {
	TenantInfo(ctx context.Context, siteURL string) (cloudID string, err error)
	SystemInfo(ctx context.Context, siteURL string) (SystemInfo, error)
	// LicensedUsers lists the accounts that hold a Confluence license.
	LicensedUsers(ctx context.Context, siteURL string, fn func(SiteUser) bool) error
	SiteGroups(ctx context.Context, siteURL string, fn func(Group) bool) error
	GroupMembers(ctx context.Context, siteURL, groupID string, fn func(SiteUser) bool) error
}
