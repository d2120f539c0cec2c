package atlassian

import (
	"net/http"
	"strings"
	"testing"
)

func TestRouteTableComplete(t *testing.T) {
	admin := []Endpoint{EndpointOrgs, EndpointDirectories, EndpointWorkspaces,
		EndpointUsersSearch, EndpointLastActiveDates, EndpointGroupsSearch}
	site := []Endpoint{EndpointTenantInfo, EndpointSystemInfo, EndpointLicensedUsers,
		EndpointSiteGroups, EndpointGroupMembers}
	for _, e := range admin {
		s, ok := LookupRoute(e, CredentialSession)
		if !ok || s.Host != HostAdminHub || !strings.HasPrefix(s.Path, "/gateway/api/admin/") {
			t.Errorf("%s session route = %+v", e, s)
		}
		k, ok := LookupRoute(e, CredentialAPIKey)
		if !ok || k.Host != HostAdminAPI || !strings.HasPrefix(k.Path, "/admin/") {
			t.Errorf("%s api_key route = %+v", e, k)
		}
		if "/gateway/api"+k.Path != s.Path || k.Method != s.Method {
			t.Errorf("%s: session and api_key routes differ beyond the prefix", e)
		}
		if _, ok := LookupRoute(e, CredentialAPIToken); ok {
			t.Errorf("%s has an api_token route; API tokens do not reach the Admin API", e)
		}
	}
	for _, e := range site {
		for _, cred := range []Credential{CredentialSession, CredentialAPIToken} {
			r, ok := LookupRoute(e, cred)
			if !ok || r.Host != HostSite || r.Method != http.MethodGet {
				t.Errorf("%s %s route = %+v", e, cred, r)
			}
		}
		if _, ok := LookupRoute(e, CredentialAPIKey); ok {
			t.Errorf("%s has an api_key route; org API keys do not reach sites", e)
		}
	}
	if n := len(Routes()); n != 2*len(admin)+2*len(site)+len(billingPaths) {
		t.Errorf("route table has %d routes, want %d", n,
			2*len(admin)+2*len(site)+len(billingPaths))
	}
	for _, r := range Routes() {
		if !credentialAllowed(r.Credential, r.Host) {
			t.Errorf("route %s/%s sends %s to %s", r.Endpoint, r.Credential, r.Credential, r.Host)
		}
		if !r.SafeToRetry {
			t.Errorf("route %s/%s is a read but not marked safe to retry", r.Endpoint,
				r.Credential)
		}
	}
	want := map[Endpoint]string{
		EndpointWorkspaces:      "POST /admin/v2/orgs/{orgId}/workspaces",
		EndpointUsersSearch:     "POST /admin/v2/orgs/{orgId}/directories/-/users/search",
		EndpointLastActiveDates: "GET /admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates",
		EndpointGroupMembers:    "GET /wiki/rest/api/group/{groupId}/membersByGroupId",
	}
	for e, w := range want {
		cred := CredentialAPIKey
		if e == EndpointGroupMembers {
			cred = CredentialAPIToken
		}
		r, _ := LookupRoute(e, cred)
		if got := r.Method + " " + r.Path; got != w {
			t.Errorf("%s = %q, want %q", e, got, w)
		}
	}
}

func TestCredentialHosts(t *testing.T) {
	cases := []struct {
		cred Credential
		host HostKind
		want bool
	}{
		{CredentialSession, HostAdminHub, true},
		{CredentialSession, HostSite, true},
		{CredentialSession, HostAdminAPI, false},
		{CredentialSession, HostIdentity, false},
		{CredentialAPIKey, HostAdminAPI, true},
		{CredentialAPIKey, HostAdminHub, false},
		{CredentialAPIKey, HostSite, false},
		{CredentialAPIToken, HostSite, true},
		{CredentialAPIToken, HostAdminAPI, false},
		{CredentialAPIToken, HostAdminHub, false},
	}
	for _, tc := range cases {
		if got := credentialAllowed(tc.cred, tc.host); got != tc.want {
			t.Errorf("credentialAllowed(%s, %s) = %v, want %v", tc.cred, tc.host, got, tc.want)
		}
	}
}

func TestExpandPath(t *testing.T) {
	got, err := expandPath("/admin/v1/orgs/{orgId}/directory/users/{accountId}/x",
		map[string]string{"orgId": "o-1", "accountId": "557058:abc-def"})
	if err != nil {
		t.Fatal(err)
	}
	if got != "/admin/v1/orgs/o-1/directory/users/557058:abc-def/x" {
		t.Errorf("expandPath = %q", got)
	}
	for _, bad := range []string{"../x", "a/b", "a?b", "", ".."} {
		if _, err := expandPath("/x/{orgId}", map[string]string{"orgId": bad}); err == nil {
			t.Errorf("expandPath accepted %q", bad)
		}
	}
	if _, err := expandPath("/x/{orgId}", nil); err == nil {
		t.Error("expandPath accepted an unfilled value")
	}
}
