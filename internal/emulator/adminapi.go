package emulator

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Page sizes of the Admin API lists.
const (
	defaultUserPageSize      = 50
	maxUserPageSize          = 100
	defaultWorkspacePageSize = 20
	maxWorkspacePageSize     = 100
	defaultGroupPageSize     = 50
	maxGroupPageSize         = 100
)

// adminHandler serves the Admin API routes: as they are on the Admin API
// host, under /gateway/api on the admin hub.
func (e *Emulator) adminHandler(kind hostKind) http.Handler {
	h := newHost(kind, nil)
	prefix := ""
	if kind == hostAdminHub {
		prefix = adminGatewayPrefix
	}
	handlers := map[string]http.HandlerFunc{
		RouteOrgs:         e.handleOrgs(prefix),
		RouteDirectories:  e.handleDirectories,
		RouteWorkspaces:   e.handleWorkspaces,
		RouteUsersSearch:  e.handleUsersSearch,
		RouteLastActive:   e.handleLastActive,
		RouteGroupsSearch: e.handleGroupsSearch,
	}
	for _, rt := range adminRoutes {
		h.handle(prefix, rt, handlers[rt.key])
	}
	if kind == hostAdminHub {
		e.registerBilling(h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serveAPI(h, w, r) })
}

// errBadRequest marks errors that are the client's fault.
var errBadRequest = errors.New("bad request")

// decodeBody reads a JSON request body into v. An empty body leaves v as
// it is. Unknown fields are rejected so that a client drifting from the
// wire format fails loudly.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: invalid JSON body: %v", errBadRequest, err)
	}
	return nil
}

// encodeCursor returns an opaque cursor for position pos of list kind,
// signed so that a forged or foreign cursor is rejected.
func (e *Emulator) encodeCursor(kind string, pos int) string {
	payload := kind + ":" + strconv.Itoa(pos)
	sig := e.mac("cursor:" + payload)[:12]
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(sig)
}

func (e *Emulator) decodeCursor(kind, cursor string, total int) (int, error) {
	bad := fmt.Errorf("%w: invalid cursor %q: use links.next of the previous page", errBadRequest, cursor)
	payloadPart, sigPart, ok := strings.Cut(cursor, ".")
	if !ok {
		return 0, bad
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(payloadPart)
	sig, err2 := base64.RawURLEncoding.DecodeString(sigPart)
	if err1 != nil || err2 != nil || !secureEqual(string(sig), string(e.mac("cursor:" + string(payload))[:12])) {
		return 0, bad
	}
	k, posText, _ := strings.Cut(string(payload), ":")
	pos, err := strconv.Atoi(posText)
	if k != kind || err != nil || pos < 0 || pos > total {
		return 0, bad
	}
	return pos, nil
}

func pageSize(limit *int, def, maxSize int) (int, error) {
	if limit == nil || *limit == 0 {
		return def, nil
	}
	if *limit < 0 {
		return 0, fmt.Errorf("%w: invalid limit %d: must be between 1 and %d", errBadRequest, *limit, maxSize)
	}
	return min(*limit, maxSize), nil
}

func writeBadRequest(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
}

// checkOrg responds 404 unless the path names the org (and, when present,
// its directory or "-").
func (e *Emulator) checkOrg(w http.ResponseWriter, r *http.Request) bool {
	if id := r.PathValue("orgId"); id != e.org.ID {
		writeError(w, http.StatusNotFound, "org %s not found", id)
		return false
	}
	if dir := r.PathValue("directoryId"); dir != "" && dir != "-" && dir != e.org.DirectoryID {
		writeError(w, http.StatusNotFound, "directory %s not found in org %s", dir, e.org.ID)
		return false
	}
	return true
}

// handleOrgs serves the v1 org list. Its first page carries a links.next
// whole URL to a second, empty page, so that clients exercise v1 paging
// although the emulator has one org.
func (e *Emulator) handleOrgs(prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host + prefix + "/admin/v1/orgs"
		links := map[string]string{"self": base}
		data := []any{}
		if c := r.URL.Query().Get("cursor"); c != "" {
			if _, err := e.decodeCursor("orgs", c, 1); err != nil {
				writeBadRequest(w, err)
				return
			}
		} else {
			data = append(data, map[string]any{
				"id":         e.org.ID,
				"type":       "orgs",
				"attributes": map[string]string{"name": e.org.Name},
				"links":      map[string]string{"self": base + "/" + e.org.ID},
			})
			links["next"] = base + "?" + url.Values{"cursor": {e.encodeCursor("orgs", 1)}}.Encode()
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links})
	}
}

func (e *Emulator) handleDirectories(w http.ResponseWriter, r *http.Request) {
	if !e.checkOrg(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":  []map[string]string{{"directoryId": e.org.DirectoryID, "name": e.org.DirectoryName}},
		"links": map[string]string{},
	})
}

type workspaceAttributes struct {
	Name     string `json:"name"`
	TypeKey  string `json:"typeKey"`
	Type     string `json:"type"`
	Owner    string `json:"owner"`
	Status   string `json:"status"`
	HostURL  string `json:"hostUrl"`
	Sandbox  bool   `json:"sandbox"`
	Capacity *int64 `json:"capacity,omitempty"`
	Usage    *int64 `json:"usage,omitempty"`
}

func (e *Emulator) handleWorkspaces(w http.ResponseWriter, r *http.Request) {
	if !e.checkOrg(w, r) {
		return
	}
	var req struct {
		Limit  *int   `json:"limit"`
		Cursor string `json:"cursor"`
	}
	start, limit, err := e.readPageRequest(w, r, &req, &req.Limit, &req.Cursor,
		"workspaces", len(e.org.Workspaces), defaultWorkspacePageSize, maxWorkspacePageSize)
	if err != nil {
		writeBadRequest(w, err)
		return
	}
	end := min(start+limit, len(e.org.Workspaces))
	data := make([]any, 0, end-start)
	for _, ws := range e.org.Workspaces[start:end] {
		data = append(data, map[string]any{
			"id":   ws.CloudID(),
			"type": "workspace",
			"attributes": workspaceAttributes{
				Name: ws.Name(), TypeKey: ws.TypeKey, Type: ws.TypeKey, Owner: e.org.ID,
				Status: ws.Status, HostURL: ws.Site.URL, Sandbox: ws.Sandbox(),
				Capacity: ws.Capacity, Usage: ws.Usage,
			},
		})
	}
	links := map[string]string{}
	if end < len(e.org.Workspaces) {
		links["next"] = e.encodeCursor("workspaces", end)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links})
}

// readPageRequest decodes a POST list body with limit and cursor and
// returns the start position and page size.
func (e *Emulator) readPageRequest(w http.ResponseWriter, r *http.Request, req any,
	limitField **int, cursorField *string, kind string, total, def, maxSize int) (int, int, error) {
	if err := decodeBody(w, r, req); err != nil {
		return 0, 0, err
	}
	limit, err := pageSize(*limitField, def, maxSize)
	if err != nil {
		return 0, 0, err
	}
	start := 0
	if *cursorField != "" {
		if start, err = e.decodeCursor(kind, *cursorField, total); err != nil {
			return 0, 0, err
		}
	}
	return start, limit, nil
}

type userSearchRequest struct {
	Limit       *int     `json:"limit"`
	Cursor      string   `json:"cursor"`
	AccountIDs  []string `json:"accountIds"`
	ResourceIDs []string `json:"resourceIds"`
	Status      []string `json:"status"`
	SearchTerm  string   `json:"searchTerm"`
	Expand      []string `json:"expand"`
}

type userJSON struct {
	AccountID        string               `json:"accountId"`
	AccountType      string               `json:"accountType"`
	Status           string               `json:"status"`
	AccountStatus    string               `json:"accountStatus"`
	MembershipStatus string               `json:"membershipStatus"`
	AddedToOrg       string               `json:"addedToOrg"`
	Name             string               `json:"name"`
	Nickname         string               `json:"nickname"`
	Email            string               `json:"email,omitempty"`
	EmailVerified    bool                 `json:"emailVerified"`
	ClaimStatus      string               `json:"claimStatus"`
	PlatformRoles    *[]string            `json:"platformRoles,omitempty"`
	MFAEnabled       bool                 `json:"mfaEnabled"`
	ProductAccess    *[]productAccessJSON `json:"productAccess,omitempty"`
	Groups           *[]groupRefJSON      `json:"groups,omitempty"`
	DeactivatedOn    string               `json:"deactivatedOn,omitempty"`
}

// productAccessJSON is one productAccess entry. LastActiveTimestamp is
// null for a grant never used and left out (a nil interface) under
// Options.OmitActivityTimestamps, so that "never active" and "not
// reported" differ on the wire.
type productAccessJSON struct {
	Key                 string `json:"key"`
	ID                  string `json:"id"`
	LastActiveTimestamp any    `json:"lastActiveTimestamp,omitempty"`
}

// jsonNull is a present JSON null, which omitempty does not drop.
var jsonNull = json.RawMessage("null")

// Error code of a v2 user search that expands productAccess in an org on
// the original user management experience.
const codeLegacyUserManagement = "ADMIN-400-4"

// codedError is the Admin API error body whose code is a string
// identifier rather than the HTTP status.
type codedError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type groupRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

var userStatuses = []string{"active", "suspended", "not_invited", "deactivated", "for_deletion"}

// userQuery is a parsed user search.
type userQuery struct {
	accounts  map[string]bool
	resources []string
	statuses  map[string]bool
	term      string
	expand    map[string]bool
}

func parseUserSearch(req userSearchRequest) (userQuery, error) {
	q := userQuery{term: strings.ToLower(req.SearchTerm), expand: make(map[string]bool)}
	if req.AccountIDs != nil {
		q.accounts = make(map[string]bool, len(req.AccountIDs))
		for _, id := range req.AccountIDs {
			q.accounts[id] = true
		}
	}
	for _, ari := range req.ResourceIDs {
		if !strings.HasPrefix(ari, "ari:cloud:") {
			return q, fmt.Errorf("%w: invalid resourceIds value %q: use a site ARI such as "+
				"ari:cloud:confluence::site/<cloudId>", errBadRequest, ari)
		}
	}
	q.resources = req.ResourceIDs
	if len(req.Status) > 0 {
		q.statuses = make(map[string]bool, len(req.Status))
		for _, s := range req.Status {
			if !slices.Contains(userStatuses, s) {
				return q, fmt.Errorf("%w: invalid status %q: use one of %s",
					errBadRequest, s, strings.Join(userStatuses, ", "))
			}
			q.statuses[s] = true
		}
	}
	for _, x := range req.Expand {
		switch x {
		case "productAccess", "groups", "platformRoles":
			q.expand[x] = true
		default:
			return q, fmt.Errorf("%w: invalid expand %q: use productAccess, groups or platformRoles",
				errBadRequest, x)
		}
	}
	return q, nil
}

func (q userQuery) match(u *User) bool {
	if q.accounts != nil && !q.accounts[u.AccountID] {
		return false
	}
	if q.statuses != nil && !q.statuses[u.Status] {
		return false
	}
	if q.term != "" && !strings.Contains(u.searchText, q.term) {
		return false
	}
	if len(q.resources) > 0 {
		for _, ari := range q.resources {
			if u.HasAccess(ari) {
				return true
			}
		}
		return false
	}
	return true
}

// candidates walks, in ascending order from a start index, the user
// indexes that may match: the listed accounts, the users with access on
// the listed resources, or everyone. It keeps a page from scanning the
// whole directory when a filter selects few users.
type candidates struct {
	all   int       // number of users, when lists is nil
	lists [][]int32 // ascending index lists to merge
	heads []int
	next  int
}

func (o *Org) candidates(q userQuery, from int) *candidates {
	c := &candidates{next: from}
	switch {
	case q.accounts != nil:
		ids := make([]int32, 0, len(q.accounts))
		for id := range q.accounts {
			if u := o.byAccount[id]; u != nil {
				ids = append(ids, int32(u.Index))
			}
		}
		slices.Sort(ids)
		c.lists = [][]int32{ids}
	case len(q.resources) > 0:
		for _, ari := range q.resources {
			c.lists = append(c.lists, o.byResource[ari])
		}
	default:
		c.all = len(o.Users)
		return c
	}
	c.heads = make([]int, len(c.lists))
	for i, l := range c.lists {
		c.heads[i] = sort.Search(len(l), func(j int) bool { return int(l[j]) >= from })
	}
	return c
}

// advance returns the next candidate index, or -1 at the end.
func (c *candidates) advance() int {
	if c.lists == nil {
		if c.next >= c.all {
			return -1
		}
		c.next++
		return c.next - 1
	}
	best := -1
	for i, l := range c.lists {
		if c.heads[i] < len(l) && (best < 0 || int(l[c.heads[i]]) < best) {
			best = int(l[c.heads[i]])
		}
	}
	if best < 0 {
		return -1
	}
	for i, l := range c.lists {
		if c.heads[i] < len(l) && int(l[c.heads[i]]) == best {
			c.heads[i]++
		}
	}
	return best
}

func (e *Emulator) handleUsersSearch(w http.ResponseWriter, r *http.Request) {
	if !e.checkOrg(w, r) {
		return
	}
	var req userSearchRequest
	start, limit, err := e.readPageRequest(w, r, &req, &req.Limit, &req.Cursor,
		"users", len(e.org.Users), defaultUserPageSize, maxUserPageSize)
	if err != nil {
		writeBadRequest(w, err)
		return
	}
	q, err := parseUserSearch(req)
	if err != nil {
		writeBadRequest(w, err)
		return
	}
	limit = e.pageSizeFault(RouteUsersSearch, limit)
	if e.opts.LegacyUserManagement && q.expand["productAccess"] {
		writeJSON(w, http.StatusBadRequest, codedError{Code: codeLegacyUserManagement,
			Message: "expand productAccess is not supported for organizations on the " +
				"original user management experience"})
		return
	}

	data := make([]userJSON, 0, limit)
	next := -1
	it := e.org.candidates(q, start)
	for idx := it.advance(); idx >= 0; idx = it.advance() {
		u := e.org.Users[idx]
		if !q.match(u) {
			continue
		}
		if len(data) == limit {
			next = idx
			break
		}
		data = append(data, e.userJSON(u, q.expand))
	}

	links := map[string]string{}
	if next >= 0 {
		links["next"] = e.encodeCursor("users", next)
		if req.Cursor != "" && e.repeatCursorFault(RouteUsersSearch) {
			links["next"] = req.Cursor
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links})
}

func (e *Emulator) userJSON(u *User, expand map[string]bool) userJSON {
	out := userJSON{
		AccountID:        u.AccountID,
		AccountType:      u.AccountType,
		Status:           u.Status,
		AccountStatus:    u.AccountStatus,
		MembershipStatus: u.MembershipStatus,
		AddedToOrg:       isoMillis(u.AddedToOrg),
		Name:             u.Name,
		Nickname:         u.Nickname,
		Email:            u.Email,
		EmailVerified:    u.EmailVerified,
		ClaimStatus:      u.ClaimStatus,
		MFAEnabled:       u.MFAEnabled,
	}
	if u.DeactivatedOn != nil {
		out.DeactivatedOn = isoMillis(*u.DeactivatedOn)
	}
	if expand["platformRoles"] {
		roles := slices.Clone(u.PlatformRoles)
		if roles == nil {
			roles = []string{}
		}
		out.PlatformRoles = &roles
	}
	if expand["productAccess"] {
		access := []productAccessJSON{}
		for _, g := range u.Grants {
			if g.Suspended {
				continue
			}
			pa := productAccessJSON{Key: g.Workspace.TypeKey, ID: g.Workspace.ARI}
			switch {
			case e.opts.OmitActivityTimestamps:
			case g.LastActive != nil:
				pa.LastActiveTimestamp = EncodeTime(*g.LastActive, g.Encoding)
			default:
				pa.LastActiveTimestamp = jsonNull
			}
			access = append(access, pa)
		}
		out.ProductAccess = &access
	}
	if expand["groups"] {
		groups := make([]groupRefJSON, 0, len(u.Groups))
		for _, g := range u.Groups {
			groups = append(groups, groupRefJSON{ID: g.ID, Name: g.Name})
		}
		out.Groups = &groups
	}
	return out
}

func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// offsetZones are the zones EncodeISOOffset writes in, picked by time so
// that the output stays deterministic.
var offsetZones = []*time.Location{
	time.FixedZone("", 2*3600), time.FixedZone("", -5*3600), time.FixedZone("", 5*3600+1800),
}

// EncodeTime returns t as the v2 user search writes it with encoding enc:
// a string for the ISO forms, an int64 for epoch milliseconds.
func EncodeTime(t time.Time, enc TimeEncoding) any {
	switch enc {
	case EncodeISOSecondsUTC:
		return t.UTC().Format("2006-01-02T15:04:05Z")
	case EncodeISOOffset:
		i := t.Unix() % int64(len(offsetZones))
		if i < 0 {
			i += int64(len(offsetZones))
		}
		return t.In(offsetZones[i]).Format(time.RFC3339)
	case EncodeEpochMillis:
		return t.UnixMilli()
	default:
		return isoMillis(t)
	}
}

type lastActiveProduct struct {
	ID                  string `json:"id"`
	Key                 string `json:"key"`
	Name                string `json:"name"`
	URL                 string `json:"url"`
	LastActive          string `json:"last_active"`
	LastActiveTimestamp string `json:"last_active_timestamp"`
}

// handleLastActive serves a user's last-active dates. It lists every
// grant with recorded activity, suspended grants included, because the
// dates are history; a user never active gets an empty product_access.
func (e *Emulator) handleLastActive(w http.ResponseWriter, r *http.Request) {
	if !e.checkOrg(w, r) {
		return
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		writeError(w, http.StatusBadRequest, "invalid cursor %q: this list has one page", c)
		return
	}
	id := r.PathValue("accountId")
	u := e.org.User(id)
	if u == nil {
		writeError(w, http.StatusNotFound, "user %s not found in org %s", id, e.org.ID)
		return
	}
	products := []lastActiveProduct{}
	for _, g := range u.Grants {
		if g.LastActive == nil {
			continue
		}
		products = append(products, lastActiveProduct{
			ID:                  g.Workspace.CloudID(),
			Key:                 g.Workspace.TypeKey,
			Name:                productName(g.Workspace.TypeKey),
			URL:                 g.Workspace.Site.URL,
			LastActive:          g.LastActive.UTC().Format(time.DateOnly),
			LastActiveTimestamp: isoMillis(*g.LastActive),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": map[string]any{
			"product_access":         products,
			"added_to_org":           u.AddedToOrg.UTC().Format(time.DateOnly),
			"added_to_org_timestamp": isoMillis(u.AddedToOrg),
		},
		"links": map[string]string{},
	})
}

func productName(typeKey string) string {
	if typeKey == ProductConfluence {
		return "Confluence"
	}
	return "Jira Software"
}

func (e *Emulator) handleGroupsSearch(w http.ResponseWriter, r *http.Request) {
	if !e.checkOrg(w, r) {
		return
	}
	var req struct {
		Limit  *int     `json:"limit"`
		Cursor string   `json:"cursor"`
		Expand []string `json:"expand"`
	}
	start, limit, err := e.readPageRequest(w, r, &req, &req.Limit, &req.Cursor,
		"groups", len(e.org.Groups), defaultGroupPageSize, maxGroupPageSize)
	if err != nil {
		writeBadRequest(w, err)
		return
	}
	counts := false
	for _, x := range req.Expand {
		if x != "counts.users" {
			writeError(w, http.StatusBadRequest, "invalid expand %q: use counts.users", x)
			return
		}
		counts = true
	}

	end := min(start+limit, len(e.org.Groups))
	data := make([]map[string]any, 0, end-start)
	for _, g := range e.org.Groups[start:end] {
		item := map[string]any{"id": g.ID, "name": g.Name, "description": g.Description,
			"managementSource": g.ManagementSource}
		if counts {
			item["counts"] = map[string]int{"users": len(g.Members)}
		}
		data = append(data, item)
	}

	links := map[string]string{}
	if end < len(e.org.Groups) {
		links["next"] = e.encodeCursor("groups", end)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "links": links})
}
