package confluence

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkgrpc "github.com/turbot/steampipe-plugin-sdk/v5/grpc"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"google.golang.org/grpc/metadata"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// rowStream is the server side of an Execute stream. It keeps every row
// the plugin sends and never swallows an error, so a failed scan cannot
// pass as a short one.
type rowStream struct {
	ctx  context.Context
	mu   sync.Mutex
	rows []*proto.Row
}

var _ proto.WrapperPlugin_ExecuteServer = (*rowStream)(nil)

func (s *rowStream) Send(r *proto.ExecuteResponse) error {
	if r == nil || r.Row == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, r.Row)
	return nil
}

func (s *rowStream) Context() context.Context     { return s.ctx }
func (s *rowStream) SetHeader(metadata.MD) error  { return nil }
func (s *rowStream) SendHeader(metadata.MD) error { return nil }
func (s *rowStream) SetTrailer(metadata.MD)       {}
func (s *rowStream) SendMsg(any) error            { return nil }
func (s *rowStream) RecvMsg(any) error            { return io.EOF }

// harness is a plugin server and an emulator, with one connection per
// credential route.
type harness struct {
	server *sdkgrpc.PluginServer
	emu    *emulator.Emulator
	info   emulator.Info
	calls  atomic.Int64
}

const (
	sessionConnection = "confluence_session"
	apiKeyConnection  = "confluence_api_key"
	sharedConnection  = "confluence_same_admin"
	noCacheConnection = "confluence_no_cache"
	proxyConnection   = "confluence_proxy"
)

// harnessOptions configures startHarnessWith.
type harnessOptions struct {
	emulator emulator.Options
	// proxy, when set, returns the base URL of a server in front of the
	// emulator's Admin API host, which connection confluence_proxy uses
	// by the API key route.
	proxy func(t *testing.T, info emulator.Info) string
}

func startHarness(t *testing.T, users int) *harness {
	t.Helper()
	return startHarnessWith(t, harnessOptions{emulator: emulator.Options{Users: users}})
}

func startHarnessWith(t *testing.T, opts harnessOptions) *harness {
	t.Helper()
	clearConfigEnv(t)
	emuOpts := opts.emulator
	emuOpts.Seed = 11
	emuOpts.Now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	emu, err := emulator.New(emuOpts)
	if err != nil {
		t.Fatalf("create emulator: %v", err)
	}
	if err := emu.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() {
		if err := emu.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	})
	h := &harness{emu: emu, info: emu.Info()}
	h.server = plugin.Server(&plugin.ServeOpts{PluginName: PluginName, PluginFunc: Plugin})

	// LoopbackLimitSettings turns off the shared org and site limiters,
	// as the raised SDK limiters below do for the per-connection ones.
	sessionBody := h.info.Config + "\nsession_cache_path = \"" + t.TempDir() + "\"\n" +
		LoopbackLimitSettings
	// A second connection for the same admin and cache, configured
	// differently, must reuse the first one's session.
	sharedBody := sessionBody + "org_id = \"" + h.info.OrgID + "\"\n"
	apiKeyBody := fmt.Sprintf("api_key = %q\napi_token = %q\nemail = %q\n"+
		"admin_api_url = %q\nsession_cache_path = %q\n",
		h.info.APIKey, h.info.APIToken, h.info.Email, h.info.AdminAPIURL, t.TempDir()) +
		LoopbackLimitSettings
	noCacheBody := sessionBody + "inventory_cache_ttl = 0\n"
	configs := []*proto.ConnectionConfig{
		connectionConfig(sessionConnection, sessionBody),
		connectionConfig(apiKeyConnection, apiKeyBody),
		connectionConfig(sharedConnection, sharedBody),
		connectionConfig(noCacheConnection, noCacheBody),
	}
	if opts.proxy != nil {
		proxyBody := fmt.Sprintf("api_key = %q\napi_token = %q\nemail = %q\n"+
			"admin_api_url = %q\nsession_cache_path = %q\n",
			h.info.APIKey, h.info.APIToken, h.info.Email, opts.proxy(t, h.info), t.TempDir()) +
			LoopbackLimitSettings
		configs = append(configs, connectionConfig(proxyConnection, proxyBody))
	}
	res, err := h.server.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs:        configs,
		MaxCacheSizeMb: 16,
	})
	if err != nil {
		t.Fatalf("set connection configs: %v", err)
	}
	for name, msg := range res.FailedConnections {
		t.Fatalf("connection %s failed: %s", name, msg)
	}
	// The default limiters keep under Atlassian's limits, which would make
	// each test wait seconds; raising them the way a limiter block in the
	// .spc file does keeps the tests fast.
	var fast []*proto.RateLimiterDefinition
	for _, def := range rateLimiters() {
		fast = append(fast, &proto.RateLimiterDefinition{Name: def.Name, FillRate: 100000,
			BucketSize: 100000, Scope: def.Scope, Where: def.Where})
	}
	if _, err := h.server.SetRateLimiters(&proto.SetRateLimitersRequest{Definitions: fast}); err != nil {
		t.Fatalf("set rate limiters: %v", err)
	}
	return h
}

func connectionConfig(name, body string) *proto.ConnectionConfig {
	return &proto.ConnectionConfig{
		Connection:      name,
		Plugin:          "local/confluence",
		PluginShortName: "confluence",
		PluginInstance:  "local/confluence",
		Config:          body,
	}
}

// scan is one Execute request against a table, confluence_user by default.
type scan struct {
	table      string
	connection string
	columns    []string
	quals      map[string]string // column = value
	limit      int64             // -1 for none
}

// run executes s and returns the rows keyed by column name.
func (h *harness) run(t *testing.T, s scan) ([]map[string]*proto.Column, error) {
	t.Helper()
	qualMap := map[string]*proto.Quals{}
	for column, value := range s.quals {
		qualMap[column] = &proto.Quals{Quals: []*proto.Qual{{
			FieldName: column,
			Operator:  &proto.Qual_StringValue{StringValue: "="},
			Value:     stringValue(value),
		}}}
	}
	if s.connection == "" {
		s.connection = sessionConnection
	}
	if s.table == "" {
		s.table = "confluence_user"
	}

	data := &proto.ExecuteConnectionData{CacheEnabled: false}
	if s.limit >= 0 {
		data.Limit = &proto.NullableInt{Value: s.limit}
	}
	req := &proto.ExecuteRequest{
		Table:                 s.table,
		QueryContext:          proto.NewQueryContext(s.columns, qualMap, s.limit, nil),
		Connection:            s.connection,
		CallId:                fmt.Sprintf("%s-%d", t.Name(), h.calls.Add(1)),
		ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{s.connection: data},
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream := &rowStream{ctx: ctx}
	err := h.server.Execute(req, stream)
	if ctx.Err() != nil {
		t.Fatalf("scan timed out: %v", ctx.Err())
	}
	var rows []map[string]*proto.Column
	for _, r := range stream.rows {
		rows = append(rows, r.Columns)
	}
	return rows, err
}

func (h *harness) mustRun(t *testing.T, s scan) []map[string]*proto.Column {
	t.Helper()
	rows, err := h.run(t, s)
	if err != nil {
		t.Fatalf("scan %+v: %v", s, err)
	}
	return rows
}

func (h *harness) searchRequests() int64 {
	return h.emu.Counts().Requests["users_search"]
}

// confluenceUsers returns the generated accounts with Confluence access,
// keyed by account id.
func (h *harness) confluenceUsers() map[string]*emulator.User {
	out := map[string]*emulator.User{}
	for _, u := range h.emu.Org().Users {
		if u.HasConfluence() {
			out[u.AccountID] = u
		}
	}
	return out
}

// isNull reports whether a column is missing or SQL NULL.
func isNull(c *proto.Column) bool {
	if c == nil {
		return true
	}
	_, null := c.GetValue().(*proto.Column_NullValue)
	return null
}

var allColumns = []string{"account_id", "status", "email", "account_type", "name",
	"account_status", "claim_status", "membership_status", "sites", "groups",
	"platform_roles", "mfa_enabled", "added_to_org", "last_active", "last_active_known",
	"days_since_last_active", "last_active_any_product", "product_access", "org_id"}

func TestUserTableScan(t *testing.T) {
	h := startHarness(t, 300)
	want := h.confluenceUsers()
	if len(want) != h.info.ConfluenceUsers {
		t.Fatalf("emulator org has %d Confluence users, Info says %d",
			len(want), h.info.ConfluenceUsers)
	}

	rows := h.mustRun(t, scan{columns: allColumns, limit: -1})
	if len(rows) != h.info.ConfluenceUsers {
		t.Fatalf("got %d rows, want %d", len(rows), h.info.ConfluenceUsers)
	}

	seen := map[string]bool{}
	for _, row := range rows {
		id := row["account_id"].GetStringValue()
		if seen[id] {
			t.Errorf("account %s returned twice", id)
		}
		seen[id] = true
		u, ok := want[id]
		if !ok {
			t.Errorf("account %s has no Confluence access in the org", id)
			continue
		}
		checkUserRow(t, h, u, row)
	}
}

// checkUserRow compares one row with the generated account it stands for.
func checkUserRow(t *testing.T, h *harness, u *emulator.User, row map[string]*proto.Column) {
	t.Helper()
	id := u.AccountID
	if got := row["status"].GetStringValue(); got != u.Status {
		t.Errorf("%s: status = %q, want %q", id, got, u.Status)
	}
	if got := row["account_type"].GetStringValue(); got != u.AccountType {
		t.Errorf("%s: account_type = %q, want %q", id, got, u.AccountType)
	}
	if got := row["name"].GetStringValue(); got != u.Name {
		t.Errorf("%s: name = %q, want %q", id, got, u.Name)
	}
	if got := row["mfa_enabled"].GetBoolValue(); isNull(row["mfa_enabled"]) || got != u.MFAEnabled {
		t.Errorf("%s: mfa_enabled = %v, want %v", id, row["mfa_enabled"], u.MFAEnabled)
	}
	if got := row["added_to_org"].GetTimestampValue().AsTime(); !got.Equal(u.AddedToOrg) {
		t.Errorf("%s: added_to_org = %v, want %v", id, got, u.AddedToOrg)
	}
	if got := row["org_id"].GetStringValue(); got != h.info.OrgID {
		t.Errorf("%s: org_id = %q, want %q", id, got, h.info.OrgID)
	}
	if u.Email == "" && !isNull(row["email"]) {
		t.Errorf("%s: email = %v, want NULL for a hidden address", id, row["email"])
	}
	if u.Email != "" && row["email"].GetStringValue() != u.Email {
		t.Errorf("%s: email = %v, want %q", id, row["email"], u.Email)
	}

	var wantLast *time.Time
	var wantSites []string
	for _, g := range u.ActiveGrants() {
		if g.Workspace.TypeKey != "confluence" {
			continue
		}
		if !slices.Contains(wantSites, g.Workspace.Site.URL) {
			wantSites = append(wantSites, g.Workspace.Site.URL)
		}
		if g.LastActive != nil && (wantLast == nil || g.LastActive.After(*wantLast)) {
			wantLast = g.LastActive
		}
	}
	slices.Sort(wantSites)
	switch {
	case wantLast == nil && !isNull(row["last_active"]):
		t.Errorf("%s: last_active = %v, want NULL for a user who never used Confluence",
			id, row["last_active"])
	case wantLast != nil && isNull(row["last_active"]):
		t.Errorf("%s: last_active is NULL, want %v", id, wantLast)
	case wantLast != nil && !row["last_active"].GetTimestampValue().AsTime().Equal(*wantLast):
		t.Errorf("%s: last_active = %v, want %v", id,
			row["last_active"].GetTimestampValue().AsTime(), wantLast)
	}

	var gotSites []string
	if err := json.Unmarshal(row["sites"].GetJsonValue(), &gotSites); err != nil {
		t.Errorf("%s: sites is not a JSON list of strings: %v", id, err)
	}
	if !slices.Equal(gotSites, wantSites) {
		t.Errorf("%s: sites = %q, want %q", id, gotSites, wantSites)
	}

	var access []map[string]any
	if err := json.Unmarshal(row["product_access"].GetJsonValue(), &access); err != nil {
		t.Errorf("%s: product_access is not a JSON list: %v", id, err)
	}
	if len(access) != len(u.ActiveGrants()) {
		t.Errorf("%s: product_access has %d entries, want %d", id, len(access),
			len(u.ActiveGrants()))
	}
	var groups []map[string]any
	if err := json.Unmarshal(row["groups"].GetJsonValue(), &groups); err != nil {
		t.Errorf("%s: groups is not a JSON list: %v", id, err)
	}
	if len(groups) != len(u.Groups) {
		t.Errorf("%s: groups has %d entries, want %d", id, len(groups), len(u.Groups))
	}
	var roles []string
	if err := json.Unmarshal(row["platform_roles"].GetJsonValue(), &roles); err != nil {
		t.Errorf("%s: platform_roles is not a JSON list of strings: %v", id, err)
	}
	if !slices.Equal(roles, u.PlatformRoles) && len(roles)+len(u.PlatformRoles) > 0 {
		t.Errorf("%s: platform_roles = %q, want %q", id, roles, u.PlatformRoles)
	}
}

func TestUserTableQuals(t *testing.T) {
	h := startHarness(t, 300)
	users := h.confluenceUsers()

	var target *emulator.User
	statusCount := map[string]int{}
	typeCount := map[string]int{}
	for _, u := range h.emu.Org().Users {
		if _, ok := users[u.AccountID]; !ok {
			continue
		}
		statusCount[u.Status]++
		typeCount[u.AccountType]++
		if target == nil && u.Email != "" && u.Status == "active" {
			target = u
		}
	}
	if target == nil {
		t.Fatalf("generated org has no active Confluence user with an e-mail address")
	}

	t.Run("account id", func(t *testing.T) {
		rows := h.mustRun(t, scan{columns: []string{"account_id", "name"},
			quals: map[string]string{"account_id": target.AccountID}, limit: -1})
		if len(rows) != 1 {
			t.Fatalf("got %d rows, want 1", len(rows))
		}
		if got := rows[0]["account_id"].GetStringValue(); got != target.AccountID {
			t.Errorf("account_id = %q, want %q", got, target.AccountID)
		}
	})

	t.Run("status", func(t *testing.T) {
		if statusCount["active"] == 0 {
			t.Fatalf("generated org has no active Confluence user")
		}
		// Every status, including those no Confluence user has, so that
		// an ignored filter shows up as extra rows.
		for _, status := range userStatuses.sorted() {
			want := statusCount[status]
			before := h.searchRequests()
			// Without the inventory cache, a status qual goes to the API.
			rows := h.mustRun(t, scan{connection: noCacheConnection,
				columns: []string{"account_id", "status"},
				quals:   map[string]string{"status": status}, limit: -1})
			if len(rows) != want {
				t.Errorf("status %s: got %d rows, want %d", status, len(rows), want)
			}
			for _, row := range rows {
				if got := row["status"].GetStringValue(); got != status {
					t.Errorf("status %s: row has status %q", status, got)
				}
			}
			pages := (want + maxUserPageSize - 1) / maxUserPageSize
			if got := h.searchRequests() - before; got > int64(max(pages, 1)) {
				t.Errorf("status %s: %d search requests for %d rows, so the API did not "+
					"filter by status", status, got, want)
			}
		}
	})

	t.Run("unknown status", func(t *testing.T) {
		rows := h.mustRun(t, scan{columns: []string{"account_id"},
			quals: map[string]string{"status": "Active"}, limit: -1})
		if len(rows) != 0 {
			t.Errorf("got %d rows for status 'Active', want 0", len(rows))
		}
	})

	t.Run("email any case", func(t *testing.T) {
		rows := h.mustRun(t, scan{columns: []string{"account_id", "email"},
			quals: map[string]string{"email": strings.ToUpper(target.Email)}, limit: -1})
		if len(rows) != 1 {
			t.Fatalf("got %d rows, want 1", len(rows))
		}
		if got := rows[0]["account_id"].GetStringValue(); got != target.AccountID {
			t.Errorf("account_id = %q, want %q", got, target.AccountID)
		}
	})

	t.Run("account type", func(t *testing.T) {
		rows := h.mustRun(t, scan{columns: []string{"account_id", "account_type"},
			quals: map[string]string{"account_type": "app"}, limit: -1})
		if len(rows) != typeCount["app"] {
			t.Errorf("got %d rows, want %d", len(rows), typeCount["app"])
		}
		for _, row := range rows {
			if got := row["account_type"].GetStringValue(); got != "app" {
				t.Errorf("row has account_type %q", got)
			}
		}
	})

}

func TestUserTableLimitReadsOnePage(t *testing.T) {
	h := startHarness(t, 300)
	before := h.searchRequests()
	rows := h.mustRun(t, scan{columns: []string{"account_id"}, limit: 5})
	if len(rows) != 5 {
		t.Errorf("got %d rows, want 5", len(rows))
	}
	if got := h.searchRequests() - before; got != 1 {
		t.Errorf("LIMIT 5 sent %d user search requests, want 1", got)
	}
}

func TestUserTableAPIKeyRoute(t *testing.T) {
	h := startHarness(t, 300)
	rows := h.mustRun(t, scan{connection: apiKeyConnection,
		columns: []string{"account_id", "last_active", "sites"}, limit: -1})
	if len(rows) != h.info.ConfluenceUsers {
		t.Errorf("API key route: got %d rows, want %d", len(rows), h.info.ConfluenceUsers)
	}
	if got := h.emu.Counts().SignIns; got != 0 {
		t.Errorf("API key route signed in %d times, want 0", got)
	}
}

func TestUserTableSharesSignIn(t *testing.T) {
	h := startHarness(t, 100)
	for i := 0; i < 3; i++ {
		rows := h.mustRun(t, scan{columns: []string{"account_id"}, limit: -1})
		if len(rows) != h.info.ConfluenceUsers {
			t.Fatalf("scan %d: got %d rows, want %d", i+1, len(rows), h.info.ConfluenceUsers)
		}
	}
	if got := h.emu.Counts().SignIns; got != 1 {
		t.Errorf("three scans signed in %d times, want 1", got)
	}

	rows := h.mustRun(t, scan{connection: sharedConnection, columns: []string{"account_id"},
		limit: -1})
	if len(rows) != h.info.ConfluenceUsers {
		t.Errorf("second connection: got %d rows, want %d", len(rows), h.info.ConfluenceUsers)
	}
	if got := h.emu.Counts().SignIns; got != 1 {
		t.Errorf("a second connection for the same admin signed in again: %d sign-ins", got)
	}
}

func TestUserTableBadConfigFails(t *testing.T) {
	clearConfigEnv(t)
	server := plugin.Server(&plugin.ServeOpts{PluginName: PluginName, PluginFunc: Plugin})
	secret := "NOT!BASE32-SECRET-1"
	body := "email = \"admin@example.com\"\npassword = \"hunter2-password\"\n" +
		"totp_secret = \"" + secret + "\"\n"
	_, err := server.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs:        []*proto.ConnectionConfig{connectionConfig("bad", body)},
		MaxCacheSizeMb: 16,
	})
	if err != nil {
		t.Fatalf("set connection config: %v", err)
	}
	h := &harness{server: server}
	rows, err := h.run(t, scan{connection: "bad", columns: []string{"account_id"}, limit: -1})
	if err == nil {
		t.Fatalf("scan with an invalid TOTP secret succeeded with %d rows", len(rows))
	}
	if !strings.Contains(err.Error(), "totp_secret") {
		t.Errorf("error %q does not name totp_secret", err)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error quotes a secret: %q", err)
	}
}
