package confluence

import (
	"strings"
	"testing"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

var groupColumns = []string{"id", "name", "description", "member_count", "grants_confluence",
	"access_site", "management_source", "synced", "org_id"}

func TestGroupTableScan(t *testing.T) {
	h := startHarness(t, 300)
	org := h.emu.Org()
	rows := h.mustRun(t, scan{table: "confluence_group", columns: groupColumns, limit: -1})
	if len(rows) != len(org.Groups) {
		t.Fatalf("got %d rows, want %d groups", len(rows), len(org.Groups))
	}
	accessGroups, syncedGroups := 0, 0
	for _, row := range rows {
		g := org.Group(row["id"].GetStringValue())
		if g == nil {
			t.Errorf("row %v is not a group of the org", row["id"])
			continue
		}
		if got := row["name"].GetStringValue(); got != g.Name {
			t.Errorf("group %s: name = %q, want %q", g.ID, got, g.Name)
		}
		if g.Description == "" && !isNull(row["description"]) {
			t.Errorf("group %s: description = %v, want NULL", g.Name, row["description"])
		}
		if g.Description != "" && row["description"].GetStringValue() != g.Description {
			t.Errorf("group %s: description = %v, want %q", g.Name, row["description"],
				g.Description)
		}
		if got := row["member_count"].GetIntValue(); got != int64(len(g.Members)) {
			t.Errorf("group %s: member_count = %d, want %d", g.Name, got, len(g.Members))
		}
		if got := row["org_id"].GetStringValue(); got != h.info.OrgID {
			t.Errorf("group %s: org_id = %q, want %q", g.Name, got, h.info.OrgID)
		}
		if got := row["management_source"].GetStringValue(); got != g.ManagementSource {
			t.Errorf("group %s: management_source = %q, want %q", g.Name, got,
				g.ManagementSource)
		}
		wantSynced := g.ManagementSource == emulator.GroupSyncedByIdP
		if got := row["synced"].GetBoolValue(); isNull(row["synced"]) || got != wantSynced {
			t.Errorf("group %s: synced = %v, want %v", g.Name, row["synced"], wantSynced)
		}
		if wantSynced {
			syncedGroups++
		}

		// The generator names the group of each Confluence site
		// confluence-users-<site name>.
		siteName, isAccess := strings.CutPrefix(g.Name, "confluence-users-")
		if !isAccess {
			if !isNull(row["grants_confluence"]) || !isNull(row["access_site"]) {
				t.Errorf("group %s: grants_confluence = %v, access_site = %v, want NULL",
					g.Name, row["grants_confluence"], row["access_site"])
			}
			continue
		}
		accessGroups++
		if !row["grants_confluence"].GetBoolValue() {
			t.Errorf("group %s: grants_confluence = %v, want true", g.Name,
				row["grants_confluence"])
		}
		if got, want := row["access_site"].GetStringValue(), org.Site(siteName).URL; got != want {
			t.Errorf("group %s: access_site = %q, want %q", g.Name, got, want)
		}
	}
	if accessGroups != len(org.ConfluenceSites()) {
		t.Errorf("%d groups grant Confluence, want one per Confluence site (%d)", accessGroups,
			len(org.ConfluenceSites()))
	}
	if syncedGroups == 0 {
		t.Errorf("no synced group in the org, so synced was never checked as true")
	}
}

func TestGroupTableQualsAndLimit(t *testing.T) {
	h := startHarness(t, 100)
	target := h.emu.Org().Groups[3]

	byName := h.mustRun(t, scan{table: "confluence_group", columns: []string{"id", "name"},
		quals: map[string]string{"name": target.Name}, limit: -1})
	if len(byName) != 1 || byName[0]["id"].GetStringValue() != target.ID {
		t.Errorf("name = %q: got %v, want group %s", target.Name, byName, target.ID)
	}

	byID := h.mustRun(t, scan{table: "confluence_group", columns: []string{"id", "name"},
		quals: map[string]string{"id": target.ID}, limit: -1})
	if len(byID) != 1 || byID[0]["name"].GetStringValue() != target.Name {
		t.Errorf("id = %q: got %v, want group %s", target.ID, byID, target.Name)
	}

	none := h.mustRun(t, scan{table: "confluence_group", columns: []string{"id"},
		quals: map[string]string{"id": "no-such-group"}, limit: -1})
	if len(none) != 0 {
		t.Errorf("unknown id: got %d rows, want 0", len(none))
	}

	limited := h.mustRun(t, scan{table: "confluence_group", columns: []string{"id"}, limit: 3})
	if len(limited) != 3 {
		t.Errorf("LIMIT 3: got %d rows", len(limited))
	}
}

var memberColumns = []string{"group_id", "group_name", "account_id", "name", "email",
	"account_type", "status", "has_confluence_access", "org_id"}

// checkMembers compares the rows of confluence_group_member with every
// membership of the generated org.
func checkMembers(t *testing.T, h *harness, connection string) {
	t.Helper()
	org := h.emu.Org()
	want := map[string]*emulator.User{}
	for _, g := range org.Groups {
		for _, m := range g.Members {
			want[g.ID+" "+m.AccountID] = m
		}
	}
	rows := h.mustRun(t, scan{table: "confluence_group_member", connection: connection,
		columns: memberColumns, limit: -1})
	if len(rows) != len(want) {
		t.Errorf("got %d rows, want %d memberships", len(rows), len(want))
	}
	for _, row := range rows {
		groupID := row["group_id"].GetStringValue()
		key := groupID + " " + row["account_id"].GetStringValue()
		u, ok := want[key]
		if !ok {
			t.Errorf("unexpected membership %s", key)
			continue
		}
		delete(want, key)
		if got := row["group_name"].GetStringValue(); got != org.Group(groupID).Name {
			t.Errorf("%s: group_name = %q, want %q", key, got, org.Group(groupID).Name)
		}
		if got := row["status"].GetStringValue(); got != u.Status {
			t.Errorf("%s: status = %q, want %q", key, got, u.Status)
		}
		if got := row["has_confluence_access"].GetBoolValue(); got != u.HasConfluence() {
			t.Errorf("%s: has_confluence_access = %v, want %v", key, got, u.HasConfluence())
		}
		if got := row["name"].GetStringValue(); got != u.Name {
			t.Errorf("%s: name = %q, want %q", key, got, u.Name)
		}
	}
}

func TestGroupMemberTableScan(t *testing.T) {
	h := startHarness(t, 300)
	checkMembers(t, h, sessionConnection)
}

func TestGroupMemberTableLegacyOrg(t *testing.T) {
	h := startHarnessWith(t, harnessOptions{emulator: emulator.Options{Users: 300,
		LegacyUserManagement: true}})
	checkMembers(t, h, sessionConnection)
}

func TestGroupMemberTableQuals(t *testing.T) {
	h := startHarness(t, 300)
	org := h.emu.Org()
	group := org.GroupByName("confluence-users-" + org.ConfluenceSites()[0].Name)
	suspended := 0
	for _, m := range group.Members {
		if m.Status == "suspended" {
			suspended++
		}
	}
	if suspended == 0 {
		t.Fatalf("generated group %s has no suspended member", group.Name)
	}

	rows := h.mustRun(t, scan{table: "confluence_group_member",
		columns: []string{"group_id", "account_id", "status"},
		quals:   map[string]string{"group_id": group.ID}, limit: -1})
	if len(rows) != len(group.Members) {
		t.Errorf("group_id: got %d rows, want %d members", len(rows), len(group.Members))
	}
	gotSuspended := 0
	for _, row := range rows {
		if row["status"].GetStringValue() == "suspended" {
			gotSuspended++
		}
	}
	if gotSuspended != suspended {
		t.Errorf("got %d suspended members, want %d: the site API would leave them out",
			gotSuspended, suspended)
	}

	byName := h.mustRun(t, scan{table: "confluence_group_member", columns: []string{"account_id"},
		quals: map[string]string{"group_name": group.Name}, limit: -1})
	if len(byName) != len(group.Members) {
		t.Errorf("group_name: got %d rows, want %d", len(byName), len(group.Members))
	}

	member := group.Members[0]
	before := h.searchRequests()
	mine := h.mustRun(t, scan{table: "confluence_group_member",
		columns: []string{"group_id", "account_id"},
		quals:   map[string]string{"account_id": member.AccountID}, limit: -1})
	if len(mine) != len(member.Groups) {
		t.Errorf("account_id: got %d rows, want the user's %d groups", len(mine),
			len(member.Groups))
	}
	if got := h.searchRequests() - before; got != 1 {
		t.Errorf("account_id: sent %d user search requests, want 1", got)
	}

	limited := h.mustRun(t, scan{table: "confluence_group_member", columns: []string{"account_id"},
		limit: 4})
	if len(limited) != 4 {
		t.Errorf("LIMIT 4: got %d rows", len(limited))
	}
}
