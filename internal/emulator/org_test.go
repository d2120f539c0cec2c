package emulator

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

// orgFingerprint flattens an org into comparable values, without pointers.
func orgFingerprint(o *Org) []string {
	out := []string{o.ID, o.Name, o.DirectoryID}
	for _, s := range o.Sites {
		out = append(out, s.CloudID, s.Name, s.Edition)
	}
	for _, u := range o.Users {
		line := u.AccountID + "|" + u.Name + "|" + u.Email + "|" + u.Status + "|" +
			u.AddedToOrg.String()
		for _, g := range u.Grants {
			line += "|" + g.Workspace.ARI
			if g.LastActive != nil {
				line += "@" + g.LastActive.String()
			}
		}
		for _, g := range u.Groups {
			line += "|" + g.ID
		}
		out = append(out, line)
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	a, err := New(Options{Users: 500, Seed: 7, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{Users: 500, Seed: 7, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(orgFingerprint(a.Org()), orgFingerprint(b.Org())) {
		t.Error("same seed and now gave different orgs")
	}
	if a.Info().Password == b.Info().Password || a.Info().TOTPSecret == b.Info().TOTPSecret ||
		a.Info().APIKey == b.Info().APIKey || a.Info().APIToken == b.Info().APIToken {
		t.Error("credentials repeat across emulators with the same seed")
	}

	c, err := New(Options{Users: 500, Seed: 8, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(orgFingerprint(a.Org()), orgFingerprint(c.Org())) {
		t.Error("different seeds gave the same org")
	}
	d, err := New(Options{Users: 500, Seed: 7, Now: testNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(orgFingerprint(a.Org()), orgFingerprint(d.Org())) {
		t.Error("different now gave the same org")
	}
}

func TestNewRejectsUserCounts(t *testing.T) {
	for _, n := range []int{-1, 0, 9, 100001} {
		_, err := New(Options{Users: n})
		if err == nil {
			t.Errorf("Users %d: no error", n)
			continue
		}
		if !strings.Contains(err.Error(), "Users") || !strings.Contains(err.Error(), "between 10 and 100000") {
			t.Errorf("Users %d: unclear error %q", n, err)
		}
	}
	for _, n := range []int{10, 100000} {
		e, err := New(Options{Users: n, Seed: 1})
		if err != nil {
			t.Errorf("Users %d: %v", n, err)
			continue
		}
		if got := len(e.Org().Users); got != n {
			t.Errorf("Users %d: generated %d accounts", n, got)
		}
	}
}

func TestNewRejectsNonLoopbackHost(t *testing.T) {
	for _, host := range []string{"0.0.0.0", "192.0.2.10", "example.com", "::"} {
		_, err := New(Options{Users: 10, Host: host})
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("Host %q: error %v, want a loopback error", host, err)
		}
		if _, err := New(Options{Users: 10, Host: host, AllowNonLoopback: true}); err != nil {
			t.Errorf("Host %q with AllowNonLoopback: %v", host, err)
		}
	}
	for _, host := range []string{"", "127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"} {
		if _, err := New(Options{Users: 10, Host: host}); err != nil {
			t.Errorf("Host %q: %v", host, err)
		}
	}
}

func TestNewRejectsNegativeRefresh(t *testing.T) {
	_, err := New(Options{Users: 10, SessionRefreshAfter: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "SessionRefreshAfter") {
		t.Errorf("error %v, want one naming SessionRefreshAfter", err)
	}
}

func TestNewDefaultsNow(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	e, err := New(Options{Users: 10})
	if err != nil {
		t.Fatal(err)
	}
	now := e.Org().Now
	if now.Before(before) || now.After(time.Now()) || now.Nanosecond() != 0 {
		t.Errorf("Org.Now %v: want time.Now() at New truncated to the second", now)
	}
}

func TestOrgSites(t *testing.T) {
	o := generateOrg(2000, 3, testNow)
	editions := map[string]int{}
	sandboxes, jiraOnly, withJira := 0, 0, 0
	for _, s := range o.Sites {
		if s.Confluence() != nil && !s.Sandbox {
			editions[s.Edition]++
		}
		if s.Sandbox {
			sandboxes++
			if s.Confluence() == nil {
				t.Errorf("sandbox %s has no Confluence", s.Name)
			}
		}
		if s.Workspace(ProductJira) != nil {
			withJira++
			if s.Confluence() == nil {
				jiraOnly++
			}
		}
	}
	for _, ed := range []string{EditionFree, EditionStandard, EditionPremium, EditionEnterprise} {
		if editions[ed] == 0 {
			t.Errorf("no production Confluence site with edition %s", ed)
		}
	}
	if sandboxes != 1 {
		t.Errorf("sandboxes: %d, want 1", sandboxes)
	}
	if jiraOnly != 1 {
		t.Errorf("Jira-only sites: %d, want 1", jiraOnly)
	}
	if withJira < 3 {
		t.Errorf("sites with Jira: %d, want several", withJira)
	}
	for _, w := range o.Workspaces {
		want := "ari:cloud:" + w.TypeKey + "::site/" + w.CloudID()
		if w.ARI != want {
			t.Errorf("workspace ARI %q, want %q", w.ARI, want)
		}
	}
}

func TestOrgFreeSiteLimit(t *testing.T) {
	for _, n := range []int{10, 50, 2000, 20000} {
		o := generateOrg(n, int64(n), testNow)
		for _, s := range o.Sites {
			if s.Edition != EditionFree {
				continue
			}
			if got := len(o.UsersWithAccess(s.Confluence().ARI)); got > freeSiteMaxUsers || got == 0 {
				t.Errorf("%d users: Free site has %d users with access, want 1..10", n, got)
			}
		}
	}
}

// TestOrgUserMix checks that a mid-size org contains every kind of
// account the plugin must handle.
func TestOrgUserMix(t *testing.T) {
	o := generateOrg(3000, 11, testNow)
	confARI := map[*Site]string{}
	for _, s := range o.ConfluenceSites() {
		confARI[s] = s.Confluence().ARI
	}
	has := map[string]int{}
	for _, u := range o.Users {
		has["type "+u.AccountType]++
		has["status "+u.Status]++
		has["claim "+u.ClaimStatus]++
		if u.Email == "" && u.AccountType == AccountAtlassian {
			has["hidden email"]++
		}
		if u.Guest {
			has["guest"]++
		}
		if u.DeactivatedOn != nil {
			has["deactivatedOn"]++
		}
		for _, r := range u.Name {
			switch {
			case unicode.In(r, unicode.Han, unicode.Hiragana):
				has["japanese"]++
			case unicode.In(r, unicode.Cyrillic):
				has["cyrillic"]++
			case unicode.In(r, unicode.Greek):
				has["greek"]++
			case unicode.In(r, unicode.Arabic):
				has["arabic"]++
			case r > 0x7f && unicode.In(r, unicode.Latin):
				has["accented"]++
			}
		}
		prod, sandbox, jira, suspendedConf := 0, 0, 0, 0
		for _, g := range u.Grants {
			switch {
			case g.Workspace.TypeKey == ProductJira:
				if !g.Suspended {
					jira++
				}
			case g.Suspended:
				suspendedConf++
			case g.Workspace.Sandbox():
				sandbox++
			default:
				prod++
			}
			if g.LastActive == nil {
				has["never active"]++
			} else {
				age := o.Now.Sub(*g.LastActive)
				if age < 30*day {
					has["recent"]++
				}
				if age > 90*day {
					has["inactive 90 days"]++
				}
				if g.LastActive.After(o.Now) || g.LastActive.Before(u.AddedToOrg) {
					t.Errorf("user %s: last active %v outside [%v, %v]",
						u.AccountID, g.LastActive, u.AddedToOrg, o.Now)
				}
			}
			if g.Encoding == EncodeEpochMillis {
				has["epoch millis"]++
			}
		}
		if prod >= 2 {
			has["two production sites"]++
		}
		if prod == 0 && sandbox > 0 {
			has["sandbox only"]++
		}
		if prod == 0 && sandbox == 0 && jira > 0 {
			has["jira only"]++
		}
		if suspendedConf > 0 && prod > 0 && u.Status == "active" {
			has["suspended on one site"]++
		}
		if o.Now.Sub(u.AddedToOrg) > 2*365*day {
			has["added 2+ years ago"]++
		}
	}
	for _, want := range []string{"type atlassian", "type app", "type customer",
		"status active", "status suspended", "status deactivated", "status not_invited",
		"claim managed", "claim unmanaged", "hidden email", "guest", "deactivatedOn",
		"japanese", "cyrillic", "greek", "arabic", "accented", "never active", "recent",
		"inactive 90 days", "epoch millis", "two production sites", "sandbox only",
		"jira only", "suspended on one site", "added 2+ years ago"} {
		if has[want] == 0 {
			t.Errorf("no %s in a 3000-user org", want)
		}
	}
	if has["type atlassian"] < has["type app"]+has["type customer"] {
		t.Errorf("atlassian accounts %d are not the majority", has["type atlassian"])
	}
}

func TestOrgGroups(t *testing.T) {
	o := generateOrg(1000, 5, testNow)
	for _, s := range o.Sites {
		for _, w := range s.Workspaces {
			prefix := "confluence-users-"
			if w.TypeKey == ProductJira {
				prefix = "jira-software-users-"
			}
			g := o.GroupByName(prefix + s.Name)
			if g == nil {
				t.Errorf("no group %s%s", prefix, s.Name)
				continue
			}
			for _, u := range o.UsersWithAccess(w.ARI) {
				if !u.InGroup(g) {
					t.Errorf("user %s has access on %s but is not in %s", u.AccountID, w.ARI, g.Name)
					break
				}
			}
		}
	}
	admins := o.GroupByName("site-admins")
	if admins == nil || !o.Admin.InGroup(admins) {
		t.Error("admin is not in site-admins")
	}
	custom := 0
	for _, g := range o.Groups {
		if !strings.HasPrefix(g.Name, "confluence-users-") &&
			!strings.HasPrefix(g.Name, "jira-software-users-") && g.Name != "site-admins" {
			custom++
		}
		for _, m := range g.Members {
			if !m.InGroup(g) {
				t.Errorf("group %s lists %s, whose groups omit it", g.Name, m.AccountID)
			}
		}
	}
	if custom < 2 {
		t.Errorf("custom groups: %d, want a few", custom)
	}
}

func TestOrgUsage(t *testing.T) {
	o := generateOrg(1500, 9, testNow)
	for _, w := range o.Workspaces {
		if w.Usage == nil {
			continue
		}
		var want int64
		for _, u := range o.UsersWithAccess(w.ARI) {
			if u.AccountType == AccountAtlassian && !u.Guest {
				want++
			}
		}
		if *w.Usage != want {
			t.Errorf("%s %s usage %d, want %d", w.Name(), w.TypeKey, *w.Usage, want)
		}
		if w.Capacity != nil && *w.Capacity < *w.Usage {
			t.Errorf("%s %s capacity %d below usage %d", w.Name(), w.TypeKey, *w.Capacity, *w.Usage)
		}
	}
}

func TestGenerateMaxUsers(t *testing.T) {
	o := generateOrg(MaxUsers, 42, testNow)
	if len(o.Users) != MaxUsers {
		t.Fatalf("generated %d users, want %d", len(o.Users), MaxUsers)
	}
	seen := make(map[string]bool, MaxUsers)
	emails := make(map[string]bool, MaxUsers)
	for _, u := range o.Users {
		if seen[u.AccountID] {
			t.Fatalf("account id %s repeats", u.AccountID)
		}
		seen[u.AccountID] = true
		if u.Email != "" {
			if emails[u.Email] {
				t.Fatalf("e-mail %s repeats", u.Email)
			}
			emails[u.Email] = true
		}
	}
	std := o.Sites[siteStandard]
	if n := len(o.LicensedUsers(std, PermissionLicensed)); n <= maxSearchOffset {
		t.Errorf("standard site has %d licensed users; want more than %d to exercise the search cap",
			n, maxSearchOffset)
	}
}
