package confluence

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

var activityColumnNames = []string{"account_id", "product_key", "site", "cloud_id",
	"last_active", "last_active_known", "added_to_org", "source", "org_id"}

// activityKey identifies one row of confluence_user_activity.
func activityKey(accountID, product, cloudID string) string {
	return accountID + " " + product + " " + cloudID
}

// wantActivity computes the rows confluence_user_activity must return
// from the generated org: for each user with Confluence access, each
// product access with a last active time. allOtherProducts also counts
// suspended grants of products other than Confluence, which an org on the
// original user management experience cannot tell from current access.
func wantActivity(org *emulator.Org, allOtherProducts bool) map[string]time.Time {
	want := map[string]time.Time{}
	for _, u := range org.Users {
		if !u.HasConfluence() {
			continue
		}
		for _, g := range u.Grants {
			if g.LastActive == nil {
				continue
			}
			if g.Suspended && (g.Workspace.TypeKey == emulator.ProductConfluence ||
				!allOtherProducts) {
				continue
			}
			want[activityKey(u.AccountID, g.Workspace.TypeKey, g.Workspace.CloudID())] =
				*g.LastActive
		}
	}
	return want
}

// checkActivityRows compares rows with want and checks every column of
// each row against the generated org.
func checkActivityRows(t *testing.T, h *harness, rows []map[string]*proto.Column,
	want map[string]time.Time, source string) {
	t.Helper()
	org := h.emu.Org()
	if len(rows) != len(want) {
		t.Errorf("got %d rows, want %d", len(rows), len(want))
	}
	seen := map[string]bool{}
	for _, row := range rows {
		id := row["account_id"].GetStringValue()
		product := row["product_key"].GetStringValue()
		cloudID := row["cloud_id"].GetStringValue()
		key := activityKey(id, product, cloudID)
		if seen[key] {
			t.Errorf("row %s returned twice", key)
		}
		seen[key] = true
		wantTime, ok := want[key]
		if !ok {
			t.Errorf("unexpected row %s", key)
			continue
		}
		if got := row["last_active"].GetTimestampValue().AsTime(); !got.Equal(wantTime) {
			t.Errorf("%s: last_active = %v, want %v", key, got, wantTime)
		}
		if !row["last_active_known"].GetBoolValue() {
			t.Errorf("%s: last_active_known = false, want true", key)
		}
		if got := row["source"].GetStringValue(); got != source {
			t.Errorf("%s: source = %q, want %q", key, got, source)
		}
		if got, want := row["site"].GetStringValue(), org.Site(cloudID).URL; got != want {
			t.Errorf("%s: site = %q, want %q", key, got, want)
		}
		added := org.User(id).AddedToOrg
		if got := row["added_to_org"].GetTimestampValue().AsTime(); !got.Equal(added) {
			t.Errorf("%s: added_to_org = %v, want %v", key, got, added)
		}
		if got := row["org_id"].GetStringValue(); got != h.info.OrgID {
			t.Errorf("%s: org_id = %q, want %q", key, got, h.info.OrgID)
		}
	}
}

func TestActivityTableBulk(t *testing.T) {
	h := startHarness(t, 300)
	rows := h.mustRun(t, scan{table: "confluence_user_activity", columns: activityColumnNames,
		limit: -1})
	checkActivityRows(t, h, rows, wantActivity(h.emu.Org(), false), sourceBulkSearch)
	if got := h.emu.Counts().Requests[emulator.RouteLastActive]; got != 0 {
		t.Errorf("the bulk path sent %d last-active-dates requests, want 0", got)
	}
}

func TestActivityTableNeverActiveHasNoRow(t *testing.T) {
	h := startHarness(t, 300)
	var never *emulator.User
	for _, u := range h.emu.Org().Users {
		if !u.HasConfluence() {
			continue
		}
		usedConfluence, usedOther := false, false
		for _, g := range u.ActiveGrants() {
			if g.LastActive == nil {
				continue
			}
			if g.Workspace.TypeKey == emulator.ProductConfluence {
				usedConfluence = true
			} else {
				usedOther = true
			}
		}
		if !usedConfluence && usedOther {
			never = u
			break
		}
	}
	if never == nil {
		t.Fatalf("generated org has no user who used Jira but never Confluence")
	}
	rows := h.mustRun(t, scan{table: "confluence_user_activity", columns: activityColumnNames,
		quals: map[string]string{"account_id": never.AccountID}, limit: -1})
	if len(rows) == 0 {
		t.Fatalf("got no rows, want the user's Jira activity")
	}
	for _, row := range rows {
		if got := row["product_key"].GetStringValue(); got == emulator.ProductConfluence {
			t.Errorf("a user who never used Confluence has a Confluence row")
		}
	}
	users := h.mustRun(t, scan{columns: []string{"account_id", "last_active",
		"days_since_last_active", "last_active_known"},
		quals: map[string]string{"account_id": never.AccountID}, limit: -1})
	if len(users) != 1 {
		t.Fatalf("confluence_user: got %d rows, want 1", len(users))
	}
	if !isNull(users[0]["last_active"]) || !isNull(users[0]["days_since_last_active"]) {
		t.Errorf("confluence_user borrowed another product's date: last_active = %v, "+
			"days_since_last_active = %v", users[0]["last_active"],
			users[0]["days_since_last_active"])
	}
	if !users[0]["last_active_known"].GetBoolValue() {
		t.Errorf("last_active_known = false, want true: never active is known")
	}
}

func TestActivityTableQualsAndLimit(t *testing.T) {
	h := startHarness(t, 300)
	want := wantActivity(h.emu.Org(), false)
	var target string
	confluenceRows := 0
	for key := range want {
		parts := strings.Fields(key)
		if parts[1] == emulator.ProductConfluence {
			confluenceRows++
			target = parts[0]
		}
	}

	t.Run("product key", func(t *testing.T) {
		rows := h.mustRun(t, scan{table: "confluence_user_activity",
			columns: []string{"account_id", "product_key"},
			quals:   map[string]string{"product_key": emulator.ProductConfluence}, limit: -1})
		if len(rows) != confluenceRows {
			t.Errorf("got %d rows, want %d", len(rows), confluenceRows)
		}
		for _, row := range rows {
			if got := row["product_key"].GetStringValue(); got != emulator.ProductConfluence {
				t.Errorf("row has product_key %q", got)
			}
		}
	})

	t.Run("account id", func(t *testing.T) {
		wantRows := 0
		for key := range want {
			if strings.HasPrefix(key, target+" ") {
				wantRows++
			}
		}
		before := h.searchRequests()
		rows := h.mustRun(t, scan{table: "confluence_user_activity", connection: noCacheConnection,
			columns: []string{"account_id", "product_key", "last_active"},
			quals:   map[string]string{"account_id": target}, limit: -1})
		if len(rows) != wantRows {
			t.Errorf("got %d rows, want %d", len(rows), wantRows)
		}
		for _, row := range rows {
			if got := row["account_id"].GetStringValue(); got != target {
				t.Errorf("row has account_id %q", got)
			}
		}
		if got := h.searchRequests() - before; got != 1 {
			t.Errorf("one account sent %d user search requests, want 1", got)
		}
	})

	t.Run("limit", func(t *testing.T) {
		before := h.searchRequests()
		rows := h.mustRun(t, scan{table: "confluence_user_activity", connection: noCacheConnection,
			columns: []string{"account_id"}, limit: 3})
		if len(rows) != 3 {
			t.Errorf("got %d rows, want 3", len(rows))
		}
		if got := h.searchRequests() - before; got != 1 {
			t.Errorf("LIMIT 3 sent %d user search requests, want 1", got)
		}
	})
}

func TestActivityFallbackWithoutTimestamps(t *testing.T) {
	h := startHarnessWith(t, harnessOptions{emulator: emulator.Options{Users: 300,
		OmitActivityTimestamps: true}})
	rows := h.mustRun(t, scan{table: "confluence_user_activity", columns: activityColumnNames,
		limit: -1})
	checkActivityRows(t, h, rows, wantActivity(h.emu.Org(), false), sourceLastActiveDates)
	if got := h.emu.Counts().Requests[emulator.RouteLastActive]; got != int64(h.info.ConfluenceUsers) {
		t.Errorf("sent %d last-active-dates requests, want one per Confluence user (%d)",
			got, h.info.ConfluenceUsers)
	}

	// confluence_user reads the same inventory.
	users := h.mustRun(t, scan{columns: allColumns, limit: -1})
	if len(users) != h.info.ConfluenceUsers {
		t.Fatalf("confluence_user: got %d rows, want %d", len(users), h.info.ConfluenceUsers)
	}
	want := h.confluenceUsers()
	for _, row := range users {
		checkUserRow(t, h, want[row["account_id"].GetStringValue()], row)
	}
}

func TestActivityFallbackLegacyOrg(t *testing.T) {
	h := startHarnessWith(t, harnessOptions{emulator: emulator.Options{Users: 300,
		LegacyUserManagement: true}})
	rows := h.mustRun(t, scan{table: "confluence_user_activity", columns: activityColumnNames,
		limit: -1})
	checkActivityRows(t, h, rows, wantActivity(h.emu.Org(), true), sourceLastActiveDates)

	users := h.mustRun(t, scan{columns: []string{"account_id", "sites", "last_active",
		"last_active_known"}, limit: -1})
	if len(users) != h.info.ConfluenceUsers {
		t.Fatalf("confluence_user: got %d rows, want %d", len(users), h.info.ConfluenceUsers)
	}
	want := h.confluenceUsers()
	for _, row := range users {
		u := want[row["account_id"].GetStringValue()]
		var wantSites []string
		var wantLast *time.Time
		for _, g := range u.ActiveGrants() {
			if g.Workspace.TypeKey != emulator.ProductConfluence {
				continue
			}
			wantSites = append(wantSites, g.Workspace.Site.URL)
			if g.LastActive != nil && (wantLast == nil || g.LastActive.After(*wantLast)) {
				wantLast = g.LastActive
			}
		}
		var gotSites []string
		if err := json.Unmarshal(row["sites"].GetJsonValue(), &gotSites); err != nil {
			t.Fatalf("sites is not a JSON list: %v", err)
		}
		if len(gotSites) != len(wantSites) {
			t.Errorf("%s: sites = %q, want %q", u.AccountID, gotSites, wantSites)
		}
		switch {
		case wantLast == nil && !isNull(row["last_active"]):
			t.Errorf("%s: last_active = %v, want NULL", u.AccountID, row["last_active"])
		case wantLast != nil && !row["last_active"].GetTimestampValue().AsTime().Equal(*wantLast):
			t.Errorf("%s: last_active = %v, want %v", u.AccountID, row["last_active"], wantLast)
		}
	}
}

// refusingProxy serves the emulator's Admin API host, but answers the
// last-active-dates call of two accounts with 403 and 404, as a tenant
// does for an account the admin may not read or that just left.
func refusingProxy(forbidden, missing string) func(t *testing.T, info emulator.Info) string {
	return func(t *testing.T, info emulator.Info) string {
		target, err := url.Parse(info.AdminAPIURL)
		if err != nil {
			t.Fatalf("parse admin API URL: %v", err)
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			status := 0
			switch {
			case !strings.HasSuffix(r.URL.Path, "/last-active-dates"):
			case strings.Contains(r.URL.Path, "/users/"+forbidden+"/"):
				status = http.StatusForbidden
			case strings.Contains(r.URL.Path, "/users/"+missing+"/"):
				status = http.StatusNotFound
			}
			if status == 0 {
				proxy.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"code":"ADMIN-%d","message":"refused by the test proxy"}`, status)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
}

func TestActivityUnknownOnRefusedUser(t *testing.T) {
	// The emulator generates the same org for the same options, so a
	// first instance tells which accounts the proxy must refuse.
	probe, err := emulator.New(emulator.Options{Users: 300, Seed: 11,
		Now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("create emulator: %v", err)
	}
	var picked []*emulator.User
	for _, u := range probe.Org().Users {
		if u.HasConfluence() && len(u.ActiveGrants()) > 0 {
			picked = append(picked, u)
		}
		if len(picked) == 12 {
			break
		}
	}
	forbidden, missing := picked[10], picked[11]

	h := startHarnessWith(t, harnessOptions{
		emulator: emulator.Options{Users: 300, OmitActivityTimestamps: true},
		proxy:    refusingProxy(forbidden.AccountID, missing.AccountID),
	})
	rows := h.mustRun(t, scan{table: "confluence_user_activity", connection: proxyConnection,
		columns: activityColumnNames, limit: -1})

	want := wantActivity(h.emu.Org(), false)
	for _, u := range []*emulator.User{forbidden, missing} {
		for key := range want {
			if strings.HasPrefix(key, u.AccountID+" ") {
				delete(want, key)
			}
		}
	}
	var known []map[string]*proto.Column
	unknown := map[string]int{}
	for _, row := range rows {
		id := row["account_id"].GetStringValue()
		if id != forbidden.AccountID && id != missing.AccountID {
			known = append(known, row)
			continue
		}
		unknown[id]++
		if row["last_active_known"].GetBoolValue() {
			t.Errorf("%s: last_active_known = true for a refused lookup", id)
		}
		if !isNull(row["last_active"]) {
			t.Errorf("%s: last_active = %v, want NULL", id, row["last_active"])
		}
		if got := row["source"].GetStringValue(); got != sourceLastActiveDates {
			t.Errorf("%s: source = %q, want %q", id, got, sourceLastActiveDates)
		}
		if isNull(row["site"]) {
			t.Errorf("%s: site is NULL, want the site of the product access", id)
		}
	}
	checkActivityRows(t, h, known, want, sourceLastActiveDates)
	for _, u := range []*emulator.User{forbidden, missing} {
		if got := unknown[u.AccountID]; got != len(u.ActiveGrants()) {
			t.Errorf("%s: %d rows, want one per product access (%d)", u.AccountID, got,
				len(u.ActiveGrants()))
		}
	}

	users := h.mustRun(t, scan{connection: proxyConnection, columns: []string{"account_id",
		"last_active", "last_active_known", "days_since_last_active"},
		quals: map[string]string{"account_id": forbidden.AccountID}, limit: -1})
	if len(users) != 1 {
		t.Fatalf("confluence_user: got %d rows, want 1", len(users))
	}
	if users[0]["last_active_known"].GetBoolValue() || isNull(users[0]["last_active_known"]) {
		t.Errorf("last_active_known = %v, want false", users[0]["last_active_known"])
	}
	if !isNull(users[0]["last_active"]) || !isNull(users[0]["days_since_last_active"]) {
		t.Errorf("unknown activity gave last_active = %v, days_since_last_active = %v",
			users[0]["last_active"], users[0]["days_since_last_active"])
	}
}

func TestActivityFailsWhenRetriesRunOut(t *testing.T) {
	h := startHarnessWith(t, harnessOptions{emulator: emulator.Options{Users: 100,
		OmitActivityTimestamps: true}})
	h.emu.SetFaults(emulator.Faults{Route: emulator.RouteLastActive, RateLimited: 1000000,
		RetryAfter: "zero"})
	rows, err := h.run(t, scan{table: "confluence_user_activity", connection: noCacheConnection,
		columns: activityColumnNames, limit: -1})
	if err == nil {
		t.Fatalf("scan succeeded with %d rows while every last-active-dates request got 429",
			len(rows))
	}
	if len(rows) != 0 {
		t.Errorf("a failed scan streamed %d rows", len(rows))
	}
	if got := h.emu.Counts().RateLimited; got == 0 {
		t.Errorf("the emulator answered no request with 429")
	}
}
