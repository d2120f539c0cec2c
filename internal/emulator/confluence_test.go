package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type v1Answer struct {
	Results   []map[string]any  `json:"results"`
	Start     int               `json:"start"`
	Limit     int               `json:"limit"`
	Size      int               `json:"size"`
	TotalSize *int              `json:"totalSize"`
	Links     map[string]string `json:"_links"`
}

// pageV1 follows _links.next from path on the site and returns every page.
func pageV1(t *testing.T, e *Emulator, s *Site, path string, maxPages int) ([]v1Answer, answer) {
	t.Helper()
	info := e.Info()
	var pages []v1Answer
	for i := 0; i < maxPages; i++ {
		a := do(t, request{url: s.URL + path, basic: [2]string{info.Email, info.APIToken}})
		if a.status != 200 {
			return pages, a
		}
		var p v1Answer
		a.json(t, &p)
		pages = append(pages, p)
		if p.Links["base"] != s.URL+"/wiki" || p.Links["context"] != "/wiki" {
			t.Errorf("_links base %q context %q", p.Links["base"], p.Links["context"])
		}
		next := p.Links["next"]
		if next == "" {
			return pages, a
		}
		if !strings.HasPrefix(next, "/wiki/") {
			t.Fatalf("_links.next %q does not start with /wiki", next)
		}
		path = next
	}
	t.Fatalf("%s: more than %d pages", path, maxPages)
	return nil, answer{}
}

func TestTenantAndSystemInfo(t *testing.T) {
	e := startEmulator(t, Options{Users: 30})
	for _, s := range e.Org().Sites {
		a := do(t, request{url: s.URL + "/_edge/tenant_info"})
		if a.status != 200 || a.object(t)["cloudId"] != s.CloudID {
			t.Errorf("%s tenant_info: status %d body %s", s.Name, a.status, a.body)
		}
		if s.Confluence() == nil {
			continue
		}
		a = do(t, request{url: s.URL + "/wiki/rest/api/settings/systemInfo",
			basic: [2]string{e.Info().Email, e.Info().APIToken}})
		m := a.object(t)
		if a.status != 200 || m["cloudId"] != s.CloudID || m["edition"] != s.Edition ||
			m["baseUrl"] != s.URL+"/wiki" || m["siteTitle"] != s.Title {
			t.Errorf("%s systemInfo: status %d body %s", s.Name, a.status, a.body)
		}
	}
}

func TestLicensedUsersPaging(t *testing.T) {
	e := startEmulator(t, Options{Users: 700, Seed: 12})
	o := e.Org()
	for _, s := range o.ConfluenceSites() {
		for _, filter := range []string{PermissionLicensed, PermissionGuests, PermissionAll} {
			path := "/wiki/rest/api/search/user?" + url.Values{"cql": {"type=user"},
				"sitePermissionTypeFilter": {filter}, "start": {"0"}, "limit": {"50"}}.Encode()
			pages, last := pageV1(t, e, s, path, 100)
			if last.status != 200 {
				t.Fatalf("%s %s: status %d body %s", s.Name, filter, last.status, last.body)
			}
			var got []string
			for _, p := range pages {
				if p.TotalSize == nil {
					t.Fatalf("%s: totalSize missing", s.Name)
				}
				for _, r := range p.Results {
					user := r["user"].(map[string]any)
					got = append(got, user["accountId"].(string))
					if user["accountType"] == "" || user["displayName"] == "" {
						t.Errorf("%s: user %v lacks fields", s.Name, user)
					}
				}
			}
			var want []string
			for _, u := range o.LicensedUsers(s, filter) {
				want = append(want, u.AccountID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: %d users, want %d", s.Name, filter, len(got), len(want))
			}
			if filter == PermissionLicensed && len(want) > 0 && *pages[0].TotalSize != len(want) {
				t.Errorf("%s: totalSize %d, want %d", s.Name, *pages[0].TotalSize, len(want))
			}
		}
	}
	free := o.Sites[siteFree]
	if n := len(o.LicensedUsers(free, PermissionAll)); n > 10 {
		t.Errorf("Free site lists %d users, want at most 10", n)
	}
}

func TestLicensedUsersSearchCap(t *testing.T) {
	e := startEmulator(t, Options{Users: 20000, Seed: 1})
	s := e.Org().Sites[siteStandard]
	total := len(e.Org().LicensedUsers(s, PermissionLicensed))
	if total <= maxSearchOffset {
		t.Fatalf("standard site has %d licensed users, want more than %d", total, maxSearchOffset)
	}
	path := "/wiki/rest/api/search/user?cql=type%3Duser&sitePermissionTypeFilter=none&start=0&limit=300"
	pages, last := pageV1(t, e, s, path, 200)
	if last.status != http.StatusBadRequest || last.object(t)["code"] != float64(400) {
		t.Fatalf("following next past %d: status %d body %s, want 400", maxSearchOffset, last.status, last.body)
	}
	n := 0
	for _, p := range pages {
		n += len(p.Results)
		if p.Limit != maxConfluencePageSize {
			t.Errorf("limit %d, want the cap %d", p.Limit, maxConfluencePageSize)
		}
		if *p.TotalSize != total {
			t.Errorf("totalSize %d, want %d", *p.TotalSize, total)
		}
	}
	if n != maxSearchOffset {
		t.Errorf("served %d users before the cap, want %d", n, maxSearchOffset)
	}
	a := do(t, request{url: s.URL + "/wiki/rest/api/search/user?cql=type%3Duser&start=" +
		strconv.Itoa(maxSearchOffset+5), basic: [2]string{e.Info().Email, e.Info().APIToken}})
	if a.status != http.StatusBadRequest {
		t.Errorf("start beyond the cap: status %d, want 400", a.status)
	}
}

func TestLicensedUsersBadQuery(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	s := e.Org().Sites[siteStandard]
	for _, q := range []string{"", "cql=type%3Dpage", "cql=type%3Duser&start=-1",
		"cql=type%3Duser&limit=abc", "cql=type%3Duser&sitePermissionTypeFilter=admins"} {
		a := do(t, request{url: s.URL + "/wiki/rest/api/search/user?" + q,
			basic: [2]string{e.Info().Email, e.Info().APIToken}})
		if a.status != http.StatusBadRequest || a.object(t)["code"] != float64(400) {
			t.Errorf("%q: status %d body %s, want 400 JSON", q, a.status, a.body)
		}
	}
}

func TestConfluenceGroups(t *testing.T) {
	e := startEmulator(t, Options{Users: 300})
	o := e.Org()
	for _, s := range []*Site{o.Sites[siteStandard], o.Sites[siteSandbox]} {
		pages, last := pageV1(t, e, s, "/wiki/rest/api/group?start=0&limit=5", 50)
		if last.status != 200 {
			t.Fatalf("status %d", last.status)
		}
		var got []string
		for _, p := range pages {
			for _, r := range p.Results {
				got = append(got, r["id"].(string)+" "+r["name"].(string))
			}
		}
		var want []string
		for _, g := range o.Groups {
			want = append(want, g.ID+" "+g.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: groups %v, want %v", s.Name, got, want)
		}
	}
}

func TestGroupMembers(t *testing.T) {
	e := startEmulator(t, Options{Users: 3000, Seed: 21})
	o := e.Org()
	s := o.Sites[siteStandard]
	g := o.GroupByName("confluence-users-" + s.Name)
	visible := o.VisibleMembers(g, s)
	if len(visible) >= len(g.Members) {
		t.Fatalf("group has no suspended member to leave out (%d of %d)", len(visible), len(g.Members))
	}
	for _, u := range visible {
		if u.Status != "active" && u.Status != "not_invited" {
			t.Errorf("visible member %s has status %s", u.AccountID, u.Status)
		}
		if gr := u.Grant(s.Confluence().ARI); gr != nil && gr.Suspended {
			t.Errorf("visible member %s is suspended on the site", u.AccountID)
		}
	}
	path := "/wiki/rest/api/group/" + g.ID + "/membersByGroupId?start=0&limit=500&shouldReturnTotalSize=true"
	pages, last := pageV1(t, e, s, path, 100)
	if last.status != 200 {
		t.Fatalf("status %d body %s", last.status, last.body)
	}
	var got []string
	for _, p := range pages {
		if p.Limit != maxConfluencePageSize || p.Size > maxConfluencePageSize {
			t.Errorf("limit %d size %d, want at most %d", p.Limit, p.Size, maxConfluencePageSize)
		}
		if p.TotalSize == nil || *p.TotalSize != len(visible) {
			t.Errorf("totalSize %v, want %d", p.TotalSize, len(visible))
		}
		for _, r := range p.Results {
			got = append(got, r["accountId"].(string))
		}
	}
	var want []string
	for _, u := range visible {
		want = append(want, u.AccountID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%d members, want %d", len(got), len(want))
	}
	a := do(t, request{url: s.URL + "/wiki/rest/api/group/nope/membersByGroupId",
		basic: [2]string{e.Info().Email, e.Info().APIToken}})
	if a.status != http.StatusNotFound {
		t.Errorf("unknown group: status %d, want 404", a.status)
	}
}
