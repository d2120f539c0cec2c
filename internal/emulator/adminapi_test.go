package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOrgsNextIsWholeURL(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	key := e.Info().APIKey
	session := noMFASession(t, e)
	for _, c := range []struct {
		name, first string
		req         request
	}{
		{"admin api", adminAPI(e, "/admin/v1/orgs"), request{bearer: key}},
		{"admin hub", adminHub(e, "/admin/v1/orgs"), request{session: session}},
	} {
		req := c.req
		req.url = c.first
		a := do(t, req)
		var page struct {
			Data []struct {
				ID         string            `json:"id"`
				Attributes map[string]string `json:"attributes"`
			} `json:"data"`
			Links map[string]string `json:"links"`
		}
		a.json(t, &page)
		if a.status != 200 || len(page.Data) != 1 || page.Data[0].ID != e.Org().ID ||
			page.Data[0].Attributes["name"] != e.Org().Name {
			t.Fatalf("%s: status %d body %s", c.name, a.status, a.body)
		}
		next := page.Links["next"]
		u, err := url.Parse(next)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			t.Fatalf("%s: links.next %q is not a whole URL", c.name, next)
		}
		if !strings.HasPrefix(next, c.first+"?cursor=") {
			t.Errorf("%s: links.next %q does not continue %s", c.name, next, c.first)
		}
		req.url = next
		a = do(t, req)
		var last struct {
			Data  []any             `json:"data"`
			Links map[string]string `json:"links"`
		}
		a.json(t, &last)
		if a.status != 200 || len(last.Data) != 0 || last.Links["next"] != "" {
			t.Errorf("%s: second page status %d body %s, want an empty last page", c.name, a.status, a.body)
		}
		req.url = c.first + "?cursor=forged"
		if a := do(t, req); a.status != http.StatusBadRequest || a.object(t)["code"] != float64(400) {
			t.Errorf("%s: forged cursor status %d body %s", c.name, a.status, a.body)
		}
	}
}

func TestDirectories(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	a := do(t, request{url: adminAPI(e, "/admin/v2/orgs/"+e.Org().ID+"/directories"), bearer: e.Info().APIKey})
	m := a.object(t)
	data, _ := m["data"].([]any)
	if a.status != 200 || len(data) != 1 {
		t.Fatalf("status %d body %s", a.status, a.body)
	}
	d := data[0].(map[string]any)
	if d["directoryId"] != e.Org().DirectoryID || d["name"] != e.Org().DirectoryName {
		t.Errorf("directory %v", d)
	}
}

type workspaceItem struct {
	ID         string `json:"id"`
	Attributes struct {
		Name     string `json:"name"`
		TypeKey  string `json:"typeKey"`
		HostURL  string `json:"hostUrl"`
		Status   string `json:"status"`
		Sandbox  *bool  `json:"sandbox"`
		Capacity *int64 `json:"capacity"`
		Usage    *int64 `json:"usage"`
	} `json:"attributes"`
}

func TestWorkspacesPaging(t *testing.T) {
	e := startEmulator(t, Options{Users: 300})
	path := adminAPI(e, "/admin/v2/orgs/"+e.Org().ID+"/workspaces")
	body := map[string]any{"limit": 3}
	var all []workspaceItem
	for page := 0; page < 20; page++ {
		a := do(t, request{method: "POST", url: path, body: body, bearer: e.Info().APIKey})
		var res struct {
			Data  []workspaceItem   `json:"data"`
			Links map[string]string `json:"links"`
		}
		a.json(t, &res)
		if a.status != 200 || len(res.Data) > 3 {
			t.Fatalf("page %d: status %d, %d items", page, a.status, len(res.Data))
		}
		all = append(all, res.Data...)
		if res.Links["next"] == "" {
			break
		}
		if strings.Contains(res.Links["next"], "://") {
			t.Errorf("v2 links.next %q is a URL, want a bare cursor", res.Links["next"])
		}
		body = map[string]any{"limit": 3, "cursor": res.Links["next"]}
	}
	if len(all) != len(e.Org().Workspaces) {
		t.Fatalf("got %d workspaces, want %d", len(all), len(e.Org().Workspaces))
	}
	for i, w := range e.Org().Workspaces {
		got := all[i]
		if got.ID != w.CloudID() || got.Attributes.TypeKey != w.TypeKey ||
			got.Attributes.Name != w.Name() || got.Attributes.HostURL != w.Site.URL {
			t.Errorf("workspace %d: %+v, want %s %s %s", i, got, w.CloudID(), w.TypeKey, w.Site.URL)
		}
		if got.Attributes.Sandbox == nil || *got.Attributes.Sandbox != w.Sandbox() {
			t.Errorf("workspace %s %s: sandbox %v", w.Name(), w.TypeKey, got.Attributes.Sandbox)
		}
		if (got.Attributes.Capacity == nil) != (w.Capacity == nil) ||
			(w.Capacity != nil && *got.Attributes.Capacity != *w.Capacity) {
			t.Errorf("workspace %s %s: capacity differs from Org()", w.Name(), w.TypeKey)
		}
		if (got.Attributes.Usage == nil) != (w.Usage == nil) ||
			(w.Usage != nil && *got.Attributes.Usage != *w.Usage) {
			t.Errorf("workspace %s %s: usage differs from Org()", w.Name(), w.TypeKey)
		}
	}
	a := do(t, request{method: "POST", url: path, body: `{"limit":3,"filter":"x"}`, bearer: e.Info().APIKey})
	if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "filter") {
		t.Errorf("unknown body field: status %d body %s, want 400 naming it", a.status, a.body)
	}
}

func TestUsersSearchEveryUserOnce(t *testing.T) {
	e := startEmulator(t, Options{Users: 1234, Seed: 2})
	ids, sizes := searchAllUsers(t, e, map[string]any{"limit": 100})
	if len(ids) != len(e.Org().Users) {
		t.Fatalf("got %d users, want %d", len(ids), len(e.Org().Users))
	}
	for i, u := range e.Org().Users {
		if ids[i] != u.AccountID {
			t.Fatalf("user %d: %s, want %s", i, ids[i], u.AccountID)
		}
	}
	for i, n := range sizes[:len(sizes)-1] {
		if n != 100 {
			t.Errorf("page %d has %d users, want 100", i, n)
		}
	}

	_, sizes = searchAllUsers(t, e, map[string]any{"limit": 500})
	if sizes[0] != maxUserPageSize {
		t.Errorf("limit 500 gave %d users, want the cap %d", sizes[0], maxUserPageSize)
	}
	_, sizes = searchAllUsers(t, e, map[string]any{})
	if sizes[0] != defaultUserPageSize {
		t.Errorf("no limit gave %d users, want the default %d", sizes[0], defaultUserPageSize)
	}
}

func TestUsersSearchFilters(t *testing.T) {
	e := startEmulator(t, Options{Users: 2500, Seed: 4})
	o := e.Org()
	std := o.Sites[siteStandard].Confluence().ARI
	prem := o.Sites[sitePremium].Confluence().ARI
	sandbox := o.Sites[siteSandbox].Confluence().ARI

	expect := func(keep func(u *User) bool) []string {
		var ids []string
		for _, u := range o.Users {
			if keep(u) {
				ids = append(ids, u.AccountID)
			}
		}
		return ids
	}
	var nonLatin *User
	for _, u := range o.Users {
		if strings.ContainsAny(u.Name, "ИОДНСАПКВ") {
			nonLatin = u
			break
		}
	}
	if nonLatin == nil {
		t.Fatal("no Cyrillic name to search for")
	}
	cyrTerm := strings.ToLower(strings.Fields(nonLatin.Name)[1])
	picked := []string{o.Users[7].AccountID, o.Users[900].AccountID, "unknown-id", o.Users[3].AccountID}

	cases := []struct {
		name string
		body map[string]any
		want []string
	}{
		{"one resource", map[string]any{"resourceIds": []string{std}},
			expect(func(u *User) bool { return u.HasAccess(std) })},
		{"two resources", map[string]any{"resourceIds": []string{prem, sandbox}},
			expect(func(u *User) bool { return u.HasAccess(prem) || u.HasAccess(sandbox) })},
		{"status", map[string]any{"status": []string{"suspended", "deactivated"}},
			expect(func(u *User) bool { return u.Status == "suspended" || u.Status == "deactivated" })},
		{"resource and status", map[string]any{"resourceIds": []string{std}, "status": []string{"active"}},
			expect(func(u *User) bool { return u.HasAccess(std) && u.Status == "active" })},
		{"term in e-mail", map[string]any{"searchTerm": "SMITH"},
			expect(func(u *User) bool {
				return strings.Contains(strings.ToLower(u.Name+"\x00"+u.Email), "smith")
			})},
		{"cyrillic term", map[string]any{"searchTerm": cyrTerm},
			expect(func(u *User) bool { return strings.Contains(strings.ToLower(u.Name), cyrTerm) })},
		{"account ids", map[string]any{"accountIds": picked},
			[]string{o.Users[3].AccountID, o.Users[7].AccountID, o.Users[900].AccountID}},
		{"no match", map[string]any{"searchTerm": "zzzz-nobody"}, nil},
	}
	for _, c := range cases {
		c.body["limit"] = 37
		got, _ := searchAllUsers(t, e, c.body)
		if len(c.want) == 0 && c.name != "no match" {
			t.Errorf("%s: expectation is empty, the test proves nothing", c.name)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %d users, want %d", c.name, len(got), len(c.want))
		}
	}
}

func TestUsersSearchRejectsBadInput(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	path := adminAPI(e, "/admin/v2/orgs/"+e.Org().ID+"/directories/-/users/search")
	for _, body := range []string{
		`{"cursor":"not-a-cursor"}`,
		`{"limit":-1}`,
		`{"status":["sleeping"]}`,
		`{"expand":["everything"]}`,
		`{"resourceIds":["site-1"]}`,
		`{"statuses":["active"]}`,
		`{"limit":`,
	} {
		a := do(t, request{method: "POST", url: path, body: body, bearer: e.Info().APIKey})
		if a.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, a.status)
			continue
		}
		if m := a.object(t); m["code"] != float64(400) || m["message"] == "" {
			t.Errorf("%s: body %s", body, a.body)
		}
	}
	// A cursor of another list is rejected too.
	w := do(t, request{method: "POST", url: adminAPI(e, "/admin/v2/orgs/"+e.Org().ID+"/workspaces"),
		body: `{"limit":1}`, bearer: e.Info().APIKey}).object(t)
	cursor := w["links"].(map[string]any)["next"].(string)
	a := do(t, request{method: "POST", url: path, body: map[string]string{"cursor": cursor}, bearer: e.Info().APIKey})
	if a.status != http.StatusBadRequest {
		t.Errorf("workspaces cursor on users search: status %d, want 400", a.status)
	}
}

func TestUsersSearchExpand(t *testing.T) {
	e := startEmulator(t, Options{Users: 800, Seed: 6})
	o := e.Org()
	path := adminAPI(e, "/admin/v2/orgs/"+o.ID+"/directories/-/users/search")
	search := func(body map[string]any) []map[string]json.RawMessage {
		a := do(t, request{method: "POST", url: path, body: body, bearer: e.Info().APIKey})
		var res struct {
			Data []map[string]json.RawMessage `json:"data"`
		}
		a.json(t, &res)
		return res.Data
	}

	plain := search(map[string]any{"limit": 100})
	for _, u := range plain {
		for _, f := range []string{"productAccess", "groups", "platformRoles"} {
			if _, ok := u[f]; ok {
				t.Fatalf("field %s present without expand", f)
			}
		}
		for _, f := range []string{"accountId", "accountType", "status", "accountStatus",
			"membershipStatus", "addedToOrg", "name", "nickname", "emailVerified", "claimStatus", "mfaEnabled"} {
			if _, ok := u[f]; !ok {
				t.Fatalf("field %s missing", f)
			}
		}
	}

	encodings := map[string]int{}
	hidden := 0
	for page, cursor := 0, ""; page < 100; page++ {
		body := map[string]any{"limit": 100, "expand": []string{"productAccess", "groups", "platformRoles"}}
		if cursor != "" {
			body["cursor"] = cursor
		}
		a := do(t, request{method: "POST", url: path, body: body, bearer: e.Info().APIKey})
		var res struct {
			Data []struct {
				AccountID     string   `json:"accountId"`
				Email         *string  `json:"email"`
				PlatformRoles []string `json:"platformRoles"`
				ProductAccess []struct {
					Key  string          `json:"key"`
					ID   string          `json:"id"`
					Last json.RawMessage `json:"lastActiveTimestamp"`
				} `json:"productAccess"`
				Groups []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"groups"`
			} `json:"data"`
			Links map[string]string `json:"links"`
		}
		a.json(t, &res)
		for _, got := range res.Data {
			u := o.User(got.AccountID)
			if (got.Email == nil) != (u.Email == "") {
				t.Errorf("%s: email presence %v, Org e-mail %q", u.AccountID, got.Email != nil, u.Email)
			}
			if got.Email == nil {
				hidden++
			}
			if got.PlatformRoles == nil || !slices.Equal(got.PlatformRoles, u.PlatformRoles) {
				t.Errorf("%s: platformRoles %v, want %v", u.AccountID, got.PlatformRoles, u.PlatformRoles)
			}
			active := u.ActiveGrants()
			if len(got.ProductAccess) != len(active) {
				t.Errorf("%s: %d productAccess, want %d", u.AccountID, len(got.ProductAccess), len(active))
				continue
			}
			for i, pa := range got.ProductAccess {
				g := active[i]
				if pa.Key != g.Workspace.TypeKey || pa.ID != g.Workspace.ARI {
					t.Errorf("%s: productAccess %s %s, want %s %s", u.AccountID, pa.Key, pa.ID,
						g.Workspace.TypeKey, g.Workspace.ARI)
				}
				checkTimestamp(t, u.AccountID, pa.Last, g, encodings)
			}
			if len(got.Groups) != len(u.Groups) {
				t.Errorf("%s: %d groups, want %d", u.AccountID, len(got.Groups), len(u.Groups))
			}
		}
		cursor = res.Links["next"]
		if cursor == "" {
			break
		}
	}
	for _, kind := range []string{"iso", "epoch", "null"} {
		if encodings[kind] == 0 {
			t.Errorf("no lastActiveTimestamp encoded as %s", kind)
		}
	}
	if hidden == 0 {
		t.Error("no user with a hidden e-mail")
	}
}

// checkTimestamp compares a lastActiveTimestamp with the grant and counts
// its encoding.
func checkTimestamp(t *testing.T, id string, raw json.RawMessage, g Grant, encodings map[string]int) {
	t.Helper()
	if g.LastActive == nil {
		if string(raw) != "null" {
			t.Errorf("%s: lastActiveTimestamp %q for a never-active grant, want null", id, raw)
		}
		encodings["null"]++
		return
	}
	var got time.Time
	var text string
	var millis int64
	switch {
	case json.Unmarshal(raw, &text) == nil:
		parsed, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			t.Errorf("%s: lastActiveTimestamp %q is not ISO 8601: %v", id, text, err)
			return
		}
		got = parsed
		encodings["iso"]++
	case json.Unmarshal(raw, &millis) == nil:
		got = time.UnixMilli(millis)
		encodings["epoch"]++
	default:
		t.Errorf("%s: lastActiveTimestamp %s is neither a string nor a number", id, raw)
		return
	}
	if !got.Equal(*g.LastActive) {
		t.Errorf("%s: lastActiveTimestamp %v, want %v", id, got, g.LastActive)
	}
}

func TestLastActiveDates(t *testing.T) {
	e := startEmulator(t, Options{Users: 500, Seed: 8})
	o := e.Org()
	var active, never *User
	for _, u := range o.Users {
		hasActivity := false
		for _, g := range u.Grants {
			if g.LastActive != nil {
				hasActivity = true
			}
		}
		if hasActivity && len(u.Grants) >= 2 && active == nil {
			active = u
		}
		if len(u.Grants) > 0 && !hasActivity && never == nil {
			never = u
		}
	}
	if active == nil || never == nil {
		t.Fatal("no user with activity or none never active")
	}
	get := func(u *User) map[string]any {
		a := do(t, request{url: adminAPI(e, "/admin/v1/orgs/"+o.ID+"/directory/users/"+u.AccountID+
			"/last-active-dates"), bearer: e.Info().APIKey})
		if a.status != 200 {
			t.Fatalf("%s: status %d", u.AccountID, a.status)
		}
		m := a.object(t)
		if links, _ := m["links"].(map[string]any); links["next"] != nil {
			t.Errorf("%s: links.next present", u.AccountID)
		}
		return m["data"].(map[string]any)
	}

	data := get(active)
	if data["added_to_org"] != active.AddedToOrg.Format(time.DateOnly) {
		t.Errorf("added_to_org %v, want %s", data["added_to_org"], active.AddedToOrg.Format(time.DateOnly))
	}
	if _, err := time.Parse(time.RFC3339, data["added_to_org_timestamp"].(string)); err != nil {
		t.Errorf("added_to_org_timestamp: %v", err)
	}
	products := data["product_access"].([]any)
	n := 0
	for _, g := range active.Grants {
		if g.LastActive == nil {
			continue
		}
		p := products[n].(map[string]any)
		n++
		if p["id"] != g.Workspace.CloudID() || p["key"] != g.Workspace.TypeKey || p["url"] != g.Workspace.Site.URL {
			t.Errorf("product %v, want %s %s", p, g.Workspace.CloudID(), g.Workspace.TypeKey)
		}
		if p["last_active"] != g.LastActive.UTC().Format(time.DateOnly) {
			t.Errorf("last_active %v, want %s", p["last_active"], g.LastActive.Format(time.DateOnly))
		}
		ts, err := time.Parse(time.RFC3339Nano, p["last_active_timestamp"].(string))
		if err != nil || !ts.Equal(*g.LastActive) {
			t.Errorf("last_active_timestamp %v, want %v", p["last_active_timestamp"], g.LastActive)
		}
		if p["name"] == "" {
			t.Error("product name empty")
		}
	}
	if len(products) != n {
		t.Errorf("%d products, want %d", len(products), n)
	}
	if products := get(never)["product_access"].([]any); len(products) != 0 {
		t.Errorf("never-active user has %d products, want none", len(products))
	}
}

func TestGroupsSearch(t *testing.T) {
	e := startEmulator(t, Options{Users: 400})
	o := e.Org()
	path := adminAPI(e, "/admin/v2/orgs/"+o.ID+"/directories/-/groups/search")
	var got []map[string]any
	body := map[string]any{"limit": 4, "expand": []string{"counts.users"}}
	for page := 0; page < 50; page++ {
		a := do(t, request{method: "POST", url: path, body: body, bearer: e.Info().APIKey})
		m := a.object(t)
		if a.status != 200 {
			t.Fatalf("status %d body %s", a.status, a.body)
		}
		for _, d := range m["data"].([]any) {
			got = append(got, d.(map[string]any))
		}
		next, _ := m["links"].(map[string]any)["next"].(string)
		if next == "" {
			break
		}
		body = map[string]any{"limit": 4, "cursor": next, "expand": []string{"counts.users"}}
	}
	if len(got) != len(o.Groups) {
		t.Fatalf("%d groups, want %d", len(got), len(o.Groups))
	}
	for i, g := range o.Groups {
		counts, _ := got[i]["counts"].(map[string]any)
		if got[i]["id"] != g.ID || got[i]["name"] != g.Name || counts["users"] != float64(len(g.Members)) {
			t.Errorf("group %d: %v, want %s %s %d", i, got[i], g.ID, g.Name, len(g.Members))
		}
	}
	a := do(t, request{method: "POST", url: path, body: `{}`, bearer: e.Info().APIKey})
	first := a.object(t)["data"].([]any)[0].(map[string]any)
	if _, ok := first["counts"]; ok {
		t.Error("counts present without expand")
	}
}
