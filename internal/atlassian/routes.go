package atlassian

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Endpoint names one API call, independent of the route that reaches it.
type Endpoint string

// Endpoints of the Admin API and of Confluence site REST.
const (
	EndpointOrgs            Endpoint = "orgs"
	EndpointDirectories     Endpoint = "directories"
	EndpointWorkspaces      Endpoint = "workspaces"
	EndpointUsersSearch     Endpoint = "users_search"
	EndpointLastActiveDates Endpoint = "last_active_dates"
	EndpointGroupsSearch    Endpoint = "groups_search"
	EndpointTenantInfo      Endpoint = "tenant_info"
	EndpointSystemInfo      Endpoint = "system_info"
	EndpointLicensedUsers   Endpoint = "licensed_users"
	EndpointSiteGroups      Endpoint = "site_groups"
	EndpointGroupMembers    Endpoint = "group_members"
)

// Credential is the kind of secret a route sends.
type Credential string

// Credentials, in the order the client prefers them when several reach
// an endpoint.
const (
	// CredentialAPIKey is an org API key, sent as a Bearer token.
	CredentialAPIKey Credential = "api_key"
	// CredentialAPIToken is a user API token, sent as Basic e-mail:token.
	CredentialAPIToken Credential = "api_token"
	// CredentialSession is the cloud.session.token cookie.
	CredentialSession Credential = "session"
)

// HostKind names the host a request goes to.
type HostKind string

// Host kinds, with the name TraceEvent.Host uses.
const (
	HostIdentity HostKind = "identity"
	HostAdminHub HostKind = "admin_hub"
	HostAdminAPI HostKind = "admin_api"
	HostSite     HostKind = "site"
)

// Route is one way to call an endpoint.
type Route struct {
	Endpoint   Endpoint
	Credential Credential
	Host       HostKind
	Method     string
	// Path is relative to the host's base URL; {name} marks a value the
	// client fills in, and TraceEvent.Path keeps the marks.
	Path string
	// SafeToRetry marks requests that change nothing, so that a 429, a
	// 5xx or a dropped connection can be retried.
	SafeToRetry bool
}

type routeKey struct {
	endpoint   Endpoint
	credential Credential
}

// gatewayPrefix is the admin hub's path prefix for the Admin API calls its
// own pages make with the session cookie.
const gatewayPrefix = "/gateway/api"

// adminPaths are the Admin API calls, the same under both org routes.
var adminPaths = []struct {
	endpoint Endpoint
	method   string
	path     string
}{
	{EndpointOrgs, http.MethodGet, "/admin/v1/orgs"},
	{EndpointDirectories, http.MethodGet, "/admin/v2/orgs/{orgId}/directories"},
	{EndpointWorkspaces, http.MethodPost, "/admin/v2/orgs/{orgId}/workspaces"},
	{EndpointUsersSearch, http.MethodPost, "/admin/v2/orgs/{orgId}/directories/-/users/search"},
	{EndpointLastActiveDates, http.MethodGet,
		"/admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates"},
	{EndpointGroupsSearch, http.MethodPost, "/admin/v2/orgs/{orgId}/directories/-/groups/search"},
}

// sitePaths are the Confluence REST calls, relative to the site's root.
var sitePaths = []struct {
	endpoint Endpoint
	path     string
}{
	{EndpointTenantInfo, "/_edge/tenant_info"},
	{EndpointSystemInfo, "/wiki/rest/api/settings/systemInfo"},
	{EndpointLicensedUsers, "/wiki/rest/api/search/user"},
	{EndpointSiteGroups, "/wiki/rest/api/group"},
	{EndpointGroupMembers, "/wiki/rest/api/group/{groupId}/membersByGroupId"},
}

// routes is the route table. Every request the client sends to an
// Atlassian API, sign-in aside, takes its host, method and path from here.
var routes = buildRoutes()

func buildRoutes() map[routeKey]Route {
	t := map[routeKey]Route{}
	for _, a := range adminPaths {
		// Every Admin API call the client makes reads: the POSTs are
		// searches, so all of them are safe to retry.
		t[routeKey{a.endpoint, CredentialSession}] = Route{
			Endpoint: a.endpoint, Credential: CredentialSession, Host: HostAdminHub,
			Method: a.method, Path: gatewayPrefix + a.path, SafeToRetry: true,
		}
		t[routeKey{a.endpoint, CredentialAPIKey}] = Route{
			Endpoint: a.endpoint, Credential: CredentialAPIKey, Host: HostAdminAPI,
			Method: a.method, Path: a.path, SafeToRetry: true,
		}
	}
	for _, s := range sitePaths {
		for _, cred := range []Credential{CredentialSession, CredentialAPIToken} {
			t[routeKey{s.endpoint, cred}] = Route{
				Endpoint: s.endpoint, Credential: cred, Host: HostSite,
				Method: http.MethodGet, Path: s.path, SafeToRetry: true,
			}
		}
	}
	addBillingRoutes(t)
	return t
}

// credentialHosts lists the hosts that take each credential.
// attachCredential checks every request against it, so that a route table mistake cannot leak a
// credential to another host.
var credentialHosts = map[Credential][]HostKind{
	CredentialSession:  {HostAdminHub, HostSite},
	CredentialAPIKey:   {HostAdminAPI},
	CredentialAPIToken: {HostSite},
}

// credentialAllowed reports whether cred may be sent to host.
func credentialAllowed(cred Credential, host HostKind) bool {
	for _, h := range credentialHosts[cred] {
		if h == host {
			return true
		}
	}
	return false
}

// LookupRoute returns the route of endpoint for credential, if any.
func LookupRoute(endpoint Endpoint, credential Credential) (Route, bool) {
	r, ok := routes[routeKey{endpoint, credential}]
	return r, ok
}

// Routes returns the route table sorted by endpoint and credential, for
// documentation and the doctor command.
func Routes() []Route {
	out := make([]Route, 0, len(routes))
	for _, r := range routes {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Endpoint != out[j].Endpoint {
			return out[i].Endpoint < out[j].Endpoint
		}
		return out[i].Credential < out[j].Credential
	})
	return out
}

// expandPath fills the {name} marks of template with values, which must
// be single path segments.
func expandPath(template string, values map[string]string) (string, error) {
	out := template
	for name, v := range values {
		if !validID(v) && !(name == "orgId" && v == "-") {
			return "", fmt.Errorf("invalid %s %q: it may contain only letters, digits, "+
				"'-', '_', '.' and ':'", name, v)
		}
		out = strings.ReplaceAll(out, "{"+name+"}", v)
	}
	if i := strings.IndexByte(out, '{'); i >= 0 {
		return "", fmt.Errorf("route path %s has an unfilled value", template)
	}
	return out, nil
}
