package atlassian

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOrgsAndResolveOrgID(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	f.orgs = []Org{{ID: "org-a", Name: "A"}, {ID: "org-b", Name: "B"}}
	c, _ := apiKeyClient(t, f.api)
	orgs, err := c.Orgs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(orgs) != 2 || orgs[0].ID != "org-a" || orgs[1].ID != "org-b" || orgs[1].Name != "B" {
		t.Fatalf("orgs = %+v", orgs)
	}
	reqs := f.recorded()
	if len(reqs) != 2 || reqs[1].Query != "cursor=p2" || reqs[1].Path != "/admin/v1/orgs" {
		t.Errorf("second page request = %+v", reqs[len(reqs)-1])
	}
	_, err = c.ResolveOrgID(context.Background())
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Setting != "org_id" {
		t.Fatalf("ResolveOrgID error = %v, want org_id ConfigError", err)
	}
	if !strings.Contains(err.Error(), "org-a (A)") || !strings.Contains(err.Error(), "org-b (B)") {
		t.Errorf("error does not list the org ids: %v", err)
	}

	f.orgs = f.orgs[:1]
	id, err := c.ResolveOrgID(context.Background())
	if err != nil || id != "org-a" {
		t.Errorf("ResolveOrgID = %q, %v, want org-a", id, err)
	}
	c.opts.OrgID = "set-org"
	if id, _ := c.ResolveOrgID(context.Background()); id != "set-org" {
		t.Errorf("ResolveOrgID with org_id = %q", id)
	}
}

func TestDirectoriesAndWorkspaces(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	ctx := context.Background()
	dirs, err := c.Directories(ctx, testOrgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 2 || dirs[0] != (Directory{ID: "dir-1", Name: "Main"}) ||
		dirs[1].ID != "dir-2" {
		t.Errorf("dirs = %+v", dirs)
	}
	ws, err := c.Workspaces(ctx, testOrgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 3 {
		t.Fatalf("workspaces = %+v", ws)
	}
	one := ws[0]
	if one.CloudID != "cloud-1" || one.ARI != "ari:cloud:confluence::site/cloud-1" ||
		one.TypeKey != "confluence" || one.HostURL != f.site.URL || one.Status != "online" ||
		one.Sandbox || one.Capacity == nil || *one.Capacity != 100 || one.Usage == nil ||
		*one.Usage != 42 {
		t.Errorf("workspace one = %+v", one)
	}
	two := ws[2]
	if !two.Sandbox || two.Capacity != nil || two.Usage != nil {
		t.Errorf("workspace two = %+v (sandbox object means true, no capacity)", two)
	}
	var bodies []string
	for _, r := range f.recorded() {
		if strings.HasSuffix(r.Path, "/workspaces") {
			bodies = append(bodies, r.Body)
		}
	}
	if len(bodies) != 2 || !strings.Contains(bodies[1], `"cursor":"w2"`) ||
		!strings.Contains(bodies[0], `"limit":100`) {
		t.Errorf("workspace request bodies = %v", bodies)
	}
}

func TestConfluenceSitesFilter(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	ctx := context.Background()
	all, err := c.ConfluenceSites(ctx, testOrgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].CloudID != "cloud-1" || all[1].CloudID != "cloud-2" {
		t.Fatalf("sites = %+v", all)
	}
	cases := map[string][]string{
		"two.atlassian.net":          {"cloud-2"},
		"https://TWO.atlassian.net/": {"cloud-2"},
		"cloud-1":                    {"cloud-1"},
		f.site.URL + "/wiki":         {"cloud-1"},
	}
	for entry, want := range cases {
		c.opts.Sites = []string{entry}
		got, err := c.ConfluenceSites(ctx, testOrgID)
		if err != nil {
			t.Errorf("%s: %v", entry, err)
			continue
		}
		var ids []string
		for _, w := range got {
			ids = append(ids, w.CloudID)
		}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("sites %q = %v, want %v", entry, ids, want)
		}
	}
	c.opts.Sites = []string{"one.atlassian.net"} // a Jira site, not Confluence
	_, err = c.ConfluenceSites(ctx, testOrgID)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Setting != "sites" || !strings.Contains(err.Error(),
		"two.atlassian.net") {
		t.Errorf("unmatched entry error = %v", err)
	}
}

func TestSearchUsers(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	ctx := context.Background()
	var users []User
	err := c.SearchUsers(ctx, testOrgID, UserSearch{PageSize: 2, Statuses: []string{"active"},
		Expand: []string{"productAccess"}}, func(u User) bool {
		users = append(users, u)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 3 {
		t.Fatalf("users = %d, want 3", len(users))
	}
	ann := users[0]
	added := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if ann.AccountID != "acc-1" || ann.Email != "ann@example.com" || ann.AddedToOrg == nil ||
		!ann.AddedToOrg.Equal(added) || strings.Join(ann.PlatformRoles, ",") != "org-admin" {
		t.Errorf("ann = %+v", ann)
	}
	if len(ann.ProductAccess) != 1 || ann.ProductAccess[0].LastActive == nil ||
		!ann.ProductAccess[0].LastActive.Equal(time.UnixMilli(1714564800000)) ||
		ann.ProductAccess[0].ID != "ari:cloud:confluence::site/cloud-1" {
		t.Errorf("ann product access = %+v", ann.ProductAccess)
	}
	bob := users[1]
	if strings.Join(bob.PlatformRoles, ",") != "user-admin" || bob.DeactivatedOn == nil ||
		!bob.DeactivatedOn.Equal(time.Date(2025, 2, 3, 0, 0, 0, 0, time.UTC)) ||
		bob.ProductAccess != nil {
		t.Errorf("bob = %+v", bob)
	}
	if users[2].Email != "" {
		t.Errorf("hidden e-mail = %q", users[2].Email)
	}
	var bodies []map[string]any
	for _, r := range f.recorded() {
		var b map[string]any
		_ = json.Unmarshal([]byte(r.Body), &b)
		bodies = append(bodies, b)
	}
	if len(bodies) != 2 || bodies[0]["limit"] != float64(2) || bodies[1]["cursor"] != "2" {
		t.Errorf("request bodies = %v", bodies)
	}
	if st, _ := bodies[0]["status"].([]any); len(st) != 1 || st[0] != "active" {
		t.Errorf("status filter = %v", bodies[0]["status"])
	}
	if _, ok := bodies[0]["searchTerm"]; ok {
		t.Errorf("empty searchTerm was sent")
	}
}

func TestSearchUsersPageSizeAndStop(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	n := 0
	err := c.SearchUsers(context.Background(), testOrgID, UserSearch{PageSize: 500},
		func(User) bool {
			n++
			return false
		})
	if err != nil || n != 1 {
		t.Fatalf("SearchUsers = %d users, %v", n, err)
	}
	reqs := f.recorded()
	if len(reqs) != 1 || !strings.Contains(reqs[0].Body, `"limit":100`) {
		t.Errorf("requests = %+v, want one with limit 100", reqs)
	}
}

func TestLastActiveDates(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	la, err := c.LastActiveDates(context.Background(), testOrgID, "557058:abc")
	if err != nil {
		t.Fatal(err)
	}
	if la.AddedToOrg == nil || !la.AddedToOrg.Equal(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("added = %v", la.AddedToOrg)
	}
	if len(la.Products) != 2 {
		t.Fatalf("products = %+v", la.Products)
	}
	p0, p1 := la.Products[0], la.Products[1]
	if p0.Key != "confluence" || p0.Name != "Confluence" || p0.URL != "https://one.atlassian.net" ||
		!p0.LastActive.Equal(time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("product 0 = %+v", p0)
	}
	if !p1.LastActive.Equal(time.Date(2026, 3, 1, 10, 0, 0, 500000000, time.UTC)) {
		t.Errorf("product 1 last active = %v, want the precise timestamp", p1.LastActive)
	}
	reqs := f.recorded()
	if reqs[0].Path != "/admin/v1/orgs/org-1/directory/users/557058:abc/last-active-dates" ||
		reqs[1].Query != "cursor=la2" {
		t.Errorf("requests = %+v", reqs)
	}
	if _, err := c.LastActiveDates(context.Background(), testOrgID, "../x"); err == nil {
		t.Error("an account id with a slash was sent")
	}
}

func TestSearchGroups(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	var groups []DirectoryGroup
	err := c.SearchGroups(context.Background(), testOrgID, func(g DirectoryGroup) bool {
		groups = append(groups, g)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].ID != "g-1" || groups[0].UserCount == nil ||
		*groups[0].UserCount != 7 {
		t.Errorf("groups = %+v", groups)
	}
	if body := f.recorded()[0].Body; !strings.Contains(body, `"expand":["counts.users"]`) {
		t.Errorf("body = %s", body)
	}
}

func TestSiteREST(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	c, _ := apiKeyClient(t, f.api)
	ctx := context.Background()
	id, err := c.TenantInfo(ctx, f.site.URL)
	if err != nil || id != "cloud-1" {
		t.Errorf("TenantInfo = %q, %v", id, err)
	}
	si, err := c.SystemInfo(ctx, f.site.URL)
	if err != nil || si.Edition != "standard" || si.CloudID != "cloud-1" || si.SiteTitle != "One" {
		t.Errorf("SystemInfo = %+v, %v", si, err)
	}
	var users []SiteUser
	err = c.LicensedUsers(ctx, f.site.URL, func(u SiteUser) bool {
		users = append(users, u)
		return true
	})
	if err != nil || len(users) != 2 || users[0].Email != "ann@example.com" ||
		users[1].DisplayName != "Bob" {
		t.Errorf("LicensedUsers = %+v, %v", users, err)
	}
	var members []SiteUser
	err = c.GroupMembers(ctx, f.site.URL, "sg-1", func(u SiteUser) bool {
		members = append(members, u)
		return true
	})
	if err != nil || len(members) != 1 || members[0].AccountID != "acc-1" {
		t.Errorf("GroupMembers = %+v, %v", members, err)
	}
	for _, r := range f.recorded() {
		if r.Path == "/wiki/rest/api/search/user" && !strings.Contains(r.Query, "cql=type%3Duser") {
			t.Errorf("licensed users request lost its cql: %s", r.Query)
		}
		if strings.Contains(r.Path, "membersByGroupId") &&
			!strings.Contains(r.Query, "shouldReturnTotalSize=true") {
			t.Errorf("members request = %s", r.Query)
		}
	}
	if _, err := c.TenantInfo(ctx, "http://example.com"); err == nil {
		t.Error("a plain http site URL of a remote host was accepted")
	}
}

func TestUserDecodingTolerant(t *testing.T) {
	raw := `{"accountId":"a","emailVerified":true,"mfaEnabled":false,
		"platformRoles":["r1",{"id":"r2","name":"Role 2"},null],
		"addedToOrg":1714564800000,"deactivatedOn":"2025-02-03T04:05:06.789+0000",
		"productAccess":[],"groups":[{"id":"g","name":"G"}]}`
	var w wireUser
	if err := json.Unmarshal([]byte(raw), &w); err != nil {
		t.Fatal(err)
	}
	u, err := w.user()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(u.PlatformRoles, ",") != "r1,r2" || !u.EmailVerified || u.MFAEnabled == nil ||
		*u.MFAEnabled || u.ProductAccess == nil || len(u.ProductAccess) != 0 ||
		len(u.Groups) != 1 || u.Groups[0].Name != "G" {
		t.Errorf("user = %+v", u)
	}
	if !u.DeactivatedOn.Equal(time.Date(2025, 2, 3, 4, 5, 6, 789000000, time.UTC)) {
		t.Errorf("deactivatedOn = %v", u.DeactivatedOn)
	}
	w = wireUser{AddedToOrg: json.RawMessage(`"last week"`)}
	if _, err := w.user(); err == nil || !strings.Contains(err.Error(), "addedToOrg") {
		t.Errorf("bad timestamp error = %v, want it to name addedToOrg", err)
	}
}

func TestFlexBool(t *testing.T) {
	cases := map[string]bool{`true`: true, `false`: false, `null`: false, `"true"`: true,
		`{}`: false, `{"parentId":"x"}`: true, `{"isSandbox":false}`: false,
		`{"value":true}`: true}
	for raw, want := range cases {
		var b flexBool
		if err := json.Unmarshal([]byte(raw), &b); err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if bool(b) != want {
			t.Errorf("%s = %v, want %v", raw, b, want)
		}
	}
	var b flexBool
	if err := json.Unmarshal([]byte(`3`), &b); err == nil {
		t.Error("a number decoded as a boolean")
	}
}

func TestJSONSkeleton(t *testing.T) {
	body := `{"data":[{"id":"x","n":1},{"id":"y","extra":true,"n":null}],"links":{"next":null},
		"empty":[]}`
	sk, ok := jsonSkeleton([]byte(body))
	if !ok {
		t.Fatal("not JSON")
	}
	want := `{"data":[{"extra":"boolean","id":"string","n":"number|null"}],"empty":[],` +
		`"links":{"next":"null"}}`
	if string(sk) != want {
		t.Errorf("skeleton = %s\nwant %s", sk, want)
	}
	if _, ok := jsonSkeleton([]byte("<html>")); ok {
		t.Error("HTML gave a skeleton")
	}
}

func TestProbeWithAPIKey(t *testing.T) {
	f := newFakeAtlassian(t, newFakeClock(t0))
	var events []TraceEvent
	c, _ := apiKeyClient(t, f.api)
	c.opts.Trace = func(ev TraceEvent) { events = append(events, ev) }
	if err := c.Probe(context.Background()); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	seen := map[string]string{}
	for _, ev := range events {
		if _, ok := seen[ev.Route]; !ok {
			seen[ev.Route] = ev.Host + " " + ev.Path
		}
	}
	want := map[string]string{
		"orgs":              "admin_api /admin/v1/orgs",
		"last_active_dates": "admin_api /admin/v1/orgs/{orgId}/directory/users/{accountId}/last-active-dates",
		"group_members": "site /wiki/rest/api/group/{groupId}/membersByGroupId" +
			"?limit={limit}&shouldReturnTotalSize={shouldReturnTotalSize}&start={start}",
		"tenant_info": "site /_edge/tenant_info",
	}
	for route, w := range want {
		if seen[route] != w {
			t.Errorf("trace of %s = %q, want %q", route, seen[route], w)
		}
	}
	if len(seen) != 11 {
		t.Errorf("probe traced %d routes, want 11: %v", len(seen), seen)
	}
}
