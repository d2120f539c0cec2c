package confluence

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/quals"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

func stringValue(s string) *proto.QualValue {
	return &proto.QualValue{Value: &proto.QualValue_StringValue{StringValue: s}}
}

func listValue(values ...string) *proto.QualValue {
	list := &proto.QualValueList{}
	for _, v := range values {
		list.Values = append(list.Values, stringValue(v))
	}
	return &proto.QualValue{Value: &proto.QualValue_ListValue{ListValue: list}}
}

// qualMap builds the map the SDK passes to a list function from
// (column, operator, value) triples.
func qualMap(triples ...any) plugin.KeyColumnQualMap {
	m := plugin.KeyColumnQualMap{}
	for i := 0; i+2 < len(triples); i += 3 {
		column := triples[i].(string)
		q := &quals.Qual{Column: column, Operator: triples[i+1].(string),
			Value: triples[i+2].(*proto.QualValue)}
		if m[column] == nil {
			m[column] = &plugin.KeyColumnQuals{Name: column}
		}
		m[column].Quals = append(m[column].Quals, q)
	}
	return m
}

func TestUserQueryFromQuals(t *testing.T) {
	cases := []struct {
		name     string
		quals    plugin.KeyColumnQualMap
		want     atlassian.UserSearch
		none     bool
		inPlugin bool
		matches  []atlassian.User
		rejects  []atlassian.User
	}{
		{
			name:  "no quals",
			quals: qualMap(),
			want:  atlassian.UserSearch{},
			matches: []atlassian.User{
				{AccountID: "a", Status: "active", AccountType: "app"},
				{AccountID: "b"},
			},
		},
		{
			name:    "account id",
			quals:   qualMap("account_id", "=", stringValue("acc-1")),
			want:    atlassian.UserSearch{AccountIDs: []string{"acc-1"}},
			matches: []atlassian.User{{AccountID: "acc-1"}},
			rejects: []atlassian.User{{AccountID: "acc-2"}, {AccountID: "ACC-1"}},
		},
		{
			name:    "account id list",
			quals:   qualMap("account_id", "=", listValue("b", "a", "b")),
			want:    atlassian.UserSearch{AccountIDs: []string{"a", "b"}},
			matches: []atlassian.User{{AccountID: "a"}, {AccountID: "b"}},
			rejects: []atlassian.User{{AccountID: "c"}},
		},
		{
			name: "contradicting account ids",
			quals: qualMap("account_id", "=", stringValue("a"),
				"account_id", "=", stringValue("b")),
			none: true,
		},
		{
			name: "account id list narrowed by second qual",
			quals: qualMap("account_id", "=", listValue("a", "b"),
				"account_id", "=", stringValue("b")),
			want:    atlassian.UserSearch{AccountIDs: []string{"b"}},
			rejects: []atlassian.User{{AccountID: "a"}},
		},
		{
			name:    "status",
			quals:   qualMap("status", "=", stringValue("suspended")),
			want:    atlassian.UserSearch{Statuses: []string{"suspended"}},
			matches: []atlassian.User{{AccountID: "a", Status: "suspended"}},
			rejects: []atlassian.User{{AccountID: "a", Status: "active"}},
		},
		{
			name:     "email becomes search term",
			quals:    qualMap("email", "=", stringValue("Linda.Walker@Example.com")),
			want:     atlassian.UserSearch{SearchTerm: "linda.walker@example.com"},
			inPlugin: true,
			matches: []atlassian.User{{AccountID: "a", Email: "linda.walker@example.com"},
				{AccountID: "b", Email: "LINDA.WALKER@EXAMPLE.COM"}},
			rejects: []atlassian.User{{AccountID: "c", Email: "walker@example.com"},
				{AccountID: "d", Email: "xlinda.walker@example.com"},
				{AccountID: "e"}},
		},
		{
			name:     "several emails filtered in plugin",
			quals:    qualMap("email", "=", listValue("a@example.com", "b@example.com")),
			want:     atlassian.UserSearch{},
			inPlugin: true,
			matches:  []atlassian.User{{AccountID: "a", Email: "b@example.com"}},
			rejects:  []atlassian.User{{AccountID: "c", Email: "c@example.com"}},
		},
		{
			name:     "account type filtered in plugin",
			quals:    qualMap("account_type", "=", stringValue("app")),
			want:     atlassian.UserSearch{},
			inPlugin: true,
			matches:  []atlassian.User{{AccountID: "a", AccountType: "app"}},
			rejects:  []atlassian.User{{AccountID: "b", AccountType: "atlassian"}},
		},
		{
			name: "every column",
			quals: qualMap("account_id", "=", stringValue("a"),
				"status", "=", listValue("active", "suspended"),
				"email", "=", stringValue("a@example.com"),
				"account_type", "=", stringValue("atlassian")),
			want: atlassian.UserSearch{
				AccountIDs: []string{"a"},
				Statuses:   []string{"active", "suspended"},
				SearchTerm: "a@example.com",
			},
			inPlugin: true,
			matches: []atlassian.User{{AccountID: "a", Status: "suspended",
				Email: "a@example.com", AccountType: "atlassian"}},
			rejects: []atlassian.User{{AccountID: "a", Status: "deactivated",
				Email: "a@example.com", AccountType: "atlassian"}},
		},
		{
			name:     "unknown status filtered in plugin",
			quals:    qualMap("status", "=", listValue("active", "Active")),
			want:     atlassian.UserSearch{},
			inPlugin: true,
			matches:  []atlassian.User{{AccountID: "a", Status: "active"}},
			rejects:  []atlassian.User{{AccountID: "b", Status: "suspended"}},
		},
		{
			name:    "operator other than equals ignored",
			quals:   qualMap("status", "<>", stringValue("active")),
			want:    atlassian.UserSearch{},
			matches: []atlassian.User{{AccountID: "a", Status: "active"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := userQueryFromQuals(tc.quals)
			if q.none != tc.none {
				t.Fatalf("none = %v, want %v", q.none, tc.none)
			}
			if tc.none {
				return
			}
			if !reflect.DeepEqual(q.search, tc.want) {
				t.Errorf("search = %+v, want %+v", q.search, tc.want)
			}
			if got := q.filtersInPlugin(); got != tc.inPlugin {
				t.Errorf("filtersInPlugin = %v, want %v", got, tc.inPlugin)
			}
			for _, u := range tc.matches {
				if !q.matches(u) {
					t.Errorf("matches(%+v) = false, want true", u)
				}
			}
			for _, u := range tc.rejects {
				if q.matches(u) {
					t.Errorf("matches(%+v) = true, want false", u)
				}
			}
		})
	}
}

func TestUserExpand(t *testing.T) {
	cases := []struct {
		columns []string
		want    []string
	}{
		{nil, []string{"productAccess"}},
		{[]string{"account_id", "last_active"}, []string{"productAccess"}},
		{[]string{"groups"}, []string{"productAccess", "groups"}},
		{[]string{"platform_roles"}, []string{"productAccess", "platformRoles"}},
		{[]string{"platform_roles", "name", "groups"},
			[]string{"productAccess", "groups", "platformRoles"}},
	}
	for _, tc := range cases {
		if got := userExpand(tc.columns); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("userExpand(%q) = %q, want %q", tc.columns, got, tc.want)
		}
	}
}

func TestUserPageSize(t *testing.T) {
	limit := func(n int64) *int64 { return &n }
	cases := []struct {
		limit    *int64
		inPlugin bool
		want     int
	}{
		{nil, false, 100},
		{limit(5), false, 5},
		{limit(1), false, 1},
		{limit(99), false, 99},
		{limit(100), false, 100},
		{limit(5000), false, 100},
		{limit(5), true, 100},
		{limit(-1), false, 100},
	}
	for _, tc := range cases {
		got := userPageSize(tc.limit, tc.inPlugin)
		name := "nil"
		if tc.limit != nil {
			name = fmt.Sprint(*tc.limit)
		}
		if got != tc.want {
			t.Errorf("userPageSize(%s, %v) = %d, want %d", name, tc.inPlugin, got, tc.want)
		}
	}
}

func TestExactQual(t *testing.T) {
	cases := []struct {
		table, column, operator string
		want                    bool
	}{
		{"confluence_user", "account_id", "=", true},
		{"confluence_user", "status", "=", true},
		{"confluence_user", "account_type", "=", true},
		{"confluence_user", "email", "=", false},
		{"confluence_user", "account_id", "<>", false},
		{"confluence_user", "name", "=", false},
		{"confluence_user", "last_active", ">", false},
		{"other_table", "account_id", "=", false},
	}
	for _, tc := range cases {
		if got := ExactQual(tc.table, tc.column, tc.operator); got != tc.want {
			t.Errorf("ExactQual(%s, %s, %s) = %v, want %v",
				tc.table, tc.column, tc.operator, got, tc.want)
		}
	}
}

func TestNewUserRow(t *testing.T) {
	at := func(day int) *time.Time {
		v := time.Date(2026, 5, day, 12, 0, 0, 0, time.UTC)
		return &v
	}
	confluenceA := atlassian.Workspace{CloudID: "cloud-a", HostURL: "https://a.atlassian.net",
		ARI: "ari:cloud:confluence::site/cloud-a", TypeKey: "confluence"}
	confluenceB := atlassian.Workspace{CloudID: "cloud-b", HostURL: "https://b.atlassian.net",
		ARI: "ari:cloud:confluence::site/cloud-b", TypeKey: "confluence"}
	sites := newSiteIndex([]atlassian.Workspace{confluenceA, confluenceB})

	u := atlassian.User{
		AccountID: "acc-1",
		Status:    "active",
		Name:      "Linda Walker",
		ProductAccess: []atlassian.ProductAccess{
			{Key: "confluence", ID: confluenceB.ARI, LastActive: at(3)},
			{Key: "confluence", ID: confluenceA.ARI, LastActive: at(9)},
			{Key: "jira-software", ID: "ari:cloud:jira-software::site/cloud-a", LastActive: at(20)},
			{Key: "jira-software", ID: "ari:cloud:jira-software::site/cloud-z"},
		},
	}
	setNow(t, time.Date(2026, 5, 19, 11, 0, 0, 0, time.UTC))
	row := newUserRow(orgUser{User: u, Activity: bulkActivity(u, sites)}, "org-1", sites)

	if row.Email != nil {
		t.Errorf("Email = %q, want NULL for a hidden address", *row.Email)
	}
	if row.AccountType != nil {
		t.Errorf("AccountType = %q, want NULL when absent", *row.AccountType)
	}
	if row.LastActive == nil || !row.LastActive.Equal(*at(9)) {
		t.Errorf("LastActive = %v, want the latest Confluence time %v", row.LastActive, at(9))
	}
	if row.DaysSinceLastActive == nil || *row.DaysSinceLastActive != 9 {
		t.Errorf("DaysSinceLastActive = %v, want 9 whole days from May 9 12:00 to May 19 11:00",
			row.DaysSinceLastActive)
	}
	if row.LastActiveKnown == nil || !*row.LastActiveKnown {
		t.Errorf("LastActiveKnown = %v, want true for activity from the search",
			row.LastActiveKnown)
	}
	if row.LastActiveAnyProduct == nil || !row.LastActiveAnyProduct.Equal(*at(20)) {
		t.Errorf("LastActiveAnyProduct = %v, want %v", row.LastActiveAnyProduct, at(20))
	}
	wantSites := []string{"https://a.atlassian.net", "https://b.atlassian.net"}
	if !reflect.DeepEqual(row.Sites, wantSites) {
		t.Errorf("Sites = %q, want %q", row.Sites, wantSites)
	}
	if len(row.ProductAccess) != 4 {
		t.Fatalf("ProductAccess has %d entries, want 4", len(row.ProductAccess))
	}
	if s := row.ProductAccess[2].Site; s == nil || *s != "https://a.atlassian.net" {
		t.Errorf("jira entry site = %v, want the host of its cloud id", s)
	}
	if s := row.ProductAccess[3].Site; s != nil {
		t.Errorf("entry of an unknown site = %q, want NULL", *s)
	}
	if row.OrgID != "org-1" {
		t.Errorf("OrgID = %q, want org-1", row.OrgID)
	}
	if row.Groups == nil || row.PlatformRoles == nil {
		t.Errorf("Groups and PlatformRoles must be empty lists, not nil")
	}

	neverUser := atlassian.User{AccountID: "acc-2", ProductAccess: []atlassian.ProductAccess{
		{Key: "confluence", ID: confluenceA.ARI, HasTimestamp: true},
	}}
	never := newUserRow(orgUser{User: neverUser, Activity: bulkActivity(neverUser, sites)},
		"org-1", sites)
	if never.LastActive != nil {
		t.Errorf("LastActive = %v, want NULL for a user who never used Confluence", never.LastActive)
	}
	if never.DaysSinceLastActive != nil {
		t.Errorf("DaysSinceLastActive = %d, want NULL for a user who never used Confluence",
			*never.DaysSinceLastActive)
	}
	if never.LastActiveKnown == nil || !*never.LastActiveKnown {
		t.Errorf("LastActiveKnown = %v, want true: never active is known", never.LastActiveKnown)
	}

	unknown := newUserRow(orgUser{User: neverUser, Activity: userActivity{
		Source: sourceLastActiveDates}}, "org-1", sites)
	if unknown.LastActive != nil || unknown.DaysSinceLastActive != nil {
		t.Errorf("unknown activity: LastActive = %v, DaysSinceLastActive = %v, want NULL",
			unknown.LastActive, unknown.DaysSinceLastActive)
	}
	if unknown.LastActiveKnown == nil || *unknown.LastActiveKnown {
		t.Errorf("unknown activity: LastActiveKnown = %v, want false", unknown.LastActiveKnown)
	}
	if !reflect.DeepEqual(never.Sites, []string{"https://a.atlassian.net"}) {
		t.Errorf("Sites = %q, want the site of the grant", never.Sites)
	}
}
