package confluence

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

var siteColumns = []string{"cloud_id", "url", "name", "edition", "title", "status", "sandbox",
	"capacity", "confluence_users", "confluence_users_source", "org_id"}

// checkSiteRow compares one row with the generated site it stands for.
func checkSiteRow(t *testing.T, h *harness, s *emulator.Site, row map[string]*proto.Column) {
	t.Helper()
	w := s.Confluence()
	checks := []struct {
		column, got, want string
	}{
		{"url", row["url"].GetStringValue(), s.URL},
		{"name", row["name"].GetStringValue(), s.Name},
		{"edition", row["edition"].GetStringValue(), s.Edition},
		{"title", row["title"].GetStringValue(), s.Title},
		{"status", row["status"].GetStringValue(), w.Status},
		{"org_id", row["org_id"].GetStringValue(), h.info.OrgID},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("site %s: %s = %q, want %q", s.Name, c.column, c.got, c.want)
		}
	}
	if got := row["sandbox"].GetBoolValue(); got != s.Sandbox {
		t.Errorf("site %s: sandbox = %v, want %v", s.Name, got, s.Sandbox)
	}
	switch {
	case w.Capacity == nil && !isNull(row["capacity"]):
		t.Errorf("site %s: capacity = %v, want NULL", s.Name, row["capacity"])
	case w.Capacity != nil && row["capacity"].GetIntValue() != *w.Capacity:
		t.Errorf("site %s: capacity = %v, want %d", s.Name, row["capacity"], *w.Capacity)
	}
}

func TestSiteTableScan(t *testing.T) {
	h := startHarness(t, 300)
	sites := h.emu.Org().ConfluenceSites()
	rows := h.mustRun(t, scan{table: "confluence_site", columns: siteColumns, limit: -1})
	if len(rows) != len(sites) {
		t.Fatalf("got %d rows, want the %d Confluence sites", len(rows), len(sites))
	}
	for _, row := range rows {
		s := h.emu.Org().Site(row["cloud_id"].GetStringValue())
		if s == nil || s.Confluence() == nil {
			t.Errorf("row %s is not a Confluence site of the org", row["cloud_id"])
			continue
		}
		checkSiteRow(t, h, s, row)
		if got := row["confluence_users"].GetIntValue(); got != *s.Confluence().Usage {
			t.Errorf("site %s: confluence_users = %d, want usage %d", s.Name, got,
				*s.Confluence().Usage)
		}
		if got := row["confluence_users_source"].GetStringValue(); got != usersFromAdminUsage {
			t.Errorf("site %s: confluence_users_source = %q, want %q", s.Name, got,
				usersFromAdminUsage)
		}
	}
	if got := h.emu.Counts().Requests[emulator.RouteLicensedUsers]; got != 0 {
		t.Errorf("sent %d licensed user requests although every site has usage", got)
	}
}

func TestSiteTableEditionOnlyWhenSelected(t *testing.T) {
	h := startHarness(t, 100)
	rows := h.mustRun(t, scan{table: "confluence_site", columns: []string{"cloud_id", "url"},
		limit: -1})
	if len(rows) == 0 {
		t.Fatalf("got no rows")
	}
	if got := h.emu.Counts().Requests[emulator.RouteSystemInfo]; got != 0 {
		t.Errorf("sent %d systemInfo requests without the edition column", got)
	}
	h.mustRun(t, scan{table: "confluence_site", columns: []string{"cloud_id", "edition"},
		limit: -1})
	if got := h.emu.Counts().Requests[emulator.RouteSystemInfo]; got != int64(len(rows)) {
		t.Errorf("sent %d systemInfo requests for %d sites, want one each", got, len(rows))
	}
}

func TestSiteTableGetAndLimit(t *testing.T) {
	h := startHarness(t, 100)
	target := h.emu.Org().ConfluenceSites()[1]
	rows := h.mustRun(t, scan{table: "confluence_site", columns: siteColumns,
		quals: map[string]string{"cloud_id": target.CloudID}, limit: -1})
	if len(rows) != 1 {
		t.Fatalf("get: got %d rows, want 1", len(rows))
	}
	checkSiteRow(t, h, target, rows[0])

	missing := h.mustRun(t, scan{table: "confluence_site", columns: []string{"cloud_id"},
		quals: map[string]string{"cloud_id": "no-such-cloud-id"}, limit: -1})
	if len(missing) != 0 {
		t.Errorf("get of an unknown cloud id: got %d rows, want 0", len(missing))
	}

	limited := h.mustRun(t, scan{table: "confluence_site", columns: []string{"cloud_id"},
		limit: 2})
	if len(limited) != 2 {
		t.Errorf("LIMIT 2: got %d rows", len(limited))
	}
}

// usageStrippingProxy serves the emulator's Admin API host but drops the
// usage figure of every workspace, as for a site without license data.
func usageStrippingProxy(t *testing.T, info emulator.Info) string {
	target, err := url.Parse(info.AdminAPIURL)
	if err != nil {
		t.Fatalf("parse admin API URL: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(res *http.Response) error {
		if !strings.HasSuffix(res.Request.URL.Path, "/workspaces") ||
			res.StatusCode != http.StatusOK {
			return nil
		}
		var page map[string]any
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return err
		}
		data, _ := page["data"].([]any)
		for _, item := range data {
			if w, ok := item.(map[string]any); ok {
				if attrs, ok := w["attributes"].(map[string]any); ok {
					delete(attrs, "usage")
				}
			}
		}
		if body, err = json.Marshal(page); err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		res.ContentLength = int64(len(body))
		res.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSiteTableCountsWithoutUsage(t *testing.T) {
	h := startHarnessWith(t, harnessOptions{emulator: emulator.Options{Users: 300},
		proxy: usageStrippingProxy})
	rows := h.mustRun(t, scan{table: "confluence_site", connection: proxyConnection,
		columns: []string{"cloud_id", "confluence_users", "confluence_users_source"}, limit: -1})
	if len(rows) != len(h.emu.Org().ConfluenceSites()) {
		t.Fatalf("got %d rows, want %d", len(rows), len(h.emu.Org().ConfluenceSites()))
	}
	for _, row := range rows {
		s := h.emu.Org().Site(row["cloud_id"].GetStringValue())
		var want int64
		for _, u := range h.emu.Org().LicensedUsers(s, emulator.PermissionLicensed) {
			if u.AccountType == emulator.AccountAtlassian {
				want++
			}
		}
		if got := row["confluence_users"].GetIntValue(); got != want {
			t.Errorf("site %s: confluence_users = %d, want %d licensed Atlassian accounts",
				s.Name, got, want)
		}
		// The count means what the Admin API's usage means.
		if usage := s.Confluence().Usage; usage != nil && *usage != want {
			t.Errorf("site %s: counted %d, but the workspace usage is %d", s.Name, want, *usage)
		}
		if got := row["confluence_users_source"].GetStringValue(); got != usersFromLicensedUsers {
			t.Errorf("site %s: confluence_users_source = %q, want %q", s.Name, got,
				usersFromLicensedUsers)
		}
	}
	if h.emu.Counts().Requests[emulator.RouteLicensedUsers] == 0 {
		t.Errorf("no licensed user request was sent")
	}
}
