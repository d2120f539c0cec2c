package emulator

// Route keys name the endpoints in Counts.Requests and Faults.Route.
const (
	RouteLogin          = "login"
	RouteCheckUsername  = "check_username"
	RouteAuthenticate   = "authenticate"
	RouteMFAVerify      = "mfa_verify"
	RouteOrgs           = "orgs"
	RouteDirectories    = "directories"
	RouteWorkspaces     = "workspaces"
	RouteUsersSearch    = "users_search"
	RouteLastActive     = "last_active_dates"
	RouteGroupsSearch   = "groups_search"
	RouteTenantInfo     = "tenant_info"
	RouteSystemInfo     = "system_info"
	RouteLicensedUsers  = "licensed_users"
	RouteSiteGroups     = "site_groups"
	RouteGroupMembers   = "group_members"
	adminGatewayPrefix  = "/gateway/api"
	sessionCookie       = "cloud.session.token"
	xsrfCookie          = "atlassian.account.xsrf.token"
	controlCountsPath   = "/__emulator/counts"
	controlFaultsPath   = "/__emulator/faults"
	confluenceContext   = "/wiki"
	identityLoginPath   = "/login"
	unauthorizedMessage = "Unauthorized"
)

// route is one endpoint: its key, path pattern (net/http.ServeMux syntax,
// without a method) and the one method it takes.
type route struct {
	key     string
	pattern string
	method  string
}

var identityRoutes = []route{
	{RouteLogin, "/login", "GET"},
	{RouteCheckUsername, "/rest/check-username", "POST"},
	{RouteAuthenticate, "/rest/authenticate", "POST"},
	{RouteMFAVerify, "/rest/mfa/verify", "POST"},
}

// adminRoutes are served under /admin on the Admin API host and under
// /gateway/api/admin on the admin hub. Their POSTs only read.
var adminRoutes = []route{
	{RouteOrgs, "/admin/v1/orgs", "GET"},
	{RouteDirectories, "/admin/v2/orgs/{orgId}/directories", "GET"},
	{RouteWorkspaces, "/admin/v2/orgs/{orgId}/workspaces", "POST"},
	{RouteUsersSearch, "/admin/v2/orgs/{orgId}/directories/{directoryId}/users/search", "POST"},
	{RouteLastActive, "/admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates", "GET"},
	{RouteGroupsSearch, "/admin/v2/orgs/{orgId}/directories/{directoryId}/groups/search", "POST"},
}

var siteRoutes = []route{
	{RouteTenantInfo, "/_edge/tenant_info", "GET"},
	{RouteSystemInfo, "/wiki/rest/api/settings/systemInfo", "GET"},
	{RouteLicensedUsers, "/wiki/rest/api/search/user", "GET"},
	{RouteSiteGroups, "/wiki/rest/api/group", "GET"},
	{RouteGroupMembers, "/wiki/rest/api/group/{groupId}/membersByGroupId", "GET"},
}

func isIdentityRoute(key string) bool {
	for _, r := range identityRoutes {
		if r.key == key {
			return true
		}
	}
	return false
}

func knownRoute(key string) bool {
	for _, list := range [][]route{identityRoutes, adminRoutes, siteRoutes, billingRoutes} {
		for _, r := range list {
			if r.key == key {
				return true
			}
		}
	}
	return false
}
