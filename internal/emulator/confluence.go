package emulator

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Paging limits of the Confluence v1 lists.
const (
	defaultConfluencePageSize = 25
	maxConfluencePageSize     = 200
	// maxSearchOffset models the result window of Confluence Cloud CQL
	// search: a start at or beyond it gets 400, whatever totalSize is.
	maxSearchOffset = 10000
)

// siteHandler serves one site: tenant_info always, the Confluence REST
// routes only when the site has Confluence.
func (e *Emulator) siteHandler(s *Site) http.Handler {
	h := newHost(hostSite, s)
	handlers := map[string]http.HandlerFunc{
		RouteTenantInfo:    e.handleTenantInfo(s),
		RouteSystemInfo:    e.handleSystemInfo(s),
		RouteLicensedUsers: e.handleLicensedUsers(s),
		RouteSiteGroups:    e.handleGroups(s),
		RouteGroupMembers:  e.handleGroupMembers(s),
	}
	for _, rt := range siteRoutes {
		if rt.key != RouteTenantInfo && s.Confluence() == nil {
			continue
		}
		h.handle("", rt, handlers[rt.key])
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serveAPI(h, w, r) })
}

func (e *Emulator) handleTenantInfo(s *Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"cloudId": s.CloudID})
	}
}

func (e *Emulator) handleSystemInfo(s *Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"cloudId":         s.CloudID,
			"commitHash":      "8f2c1e0",
			"baseUrl":         s.URL + confluenceContext,
			"edition":         s.Edition,
			"siteTitle":       s.Title,
			"defaultLocale":   "en_US",
			"defaultTimeZone": "UTC",
		})
	}
}

// v1Page is the parsed start and limit of a Confluence v1 list.
type v1Page struct {
	start int
	limit int
}

func parseV1Page(r *http.Request) (v1Page, string) {
	p := v1Page{limit: defaultConfluencePageSize}
	q := r.URL.Query()
	if s := q.Get("start"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, "invalid start " + strconv.Quote(s) + ": use a number >= 0"
		}
		p.start = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return p, "invalid limit " + strconv.Quote(s) + ": use a number >= 0"
		}
		p.limit = min(n, maxConfluencePageSize)
	}
	return p, ""
}

// v1Links returns the _links of a v1 page. next is relative to the site
// and starts with /wiki, as Confluence sends it.
func v1Links(s *Site, r *http.Request, page v1Page, start, count, total int) map[string]string {
	links := map[string]string{
		"base":    s.URL + confluenceContext,
		"context": confluenceContext,
		"self":    s.URL + r.URL.RequestURI(),
	}
	if start+count < total && count > 0 {
		q := r.URL.Query()
		q.Set("start", strconv.Itoa(start+count))
		q.Set("limit", strconv.Itoa(page.limit))
		links["next"] = r.URL.Path + "?" + q.Encode()
	}
	return links
}

type confluenceUser struct {
	Type                   string `json:"type"`
	AccountID              string `json:"accountId"`
	AccountType            string `json:"accountType"`
	Email                  string `json:"email"`
	PublicName             string `json:"publicName"`
	DisplayName            string `json:"displayName"`
	IsExternalCollaborator bool   `json:"isExternalCollaborator"`
}

func toConfluenceUser(u *User) confluenceUser {
	return confluenceUser{
		Type:                   "known",
		AccountID:              u.AccountID,
		AccountType:            u.AccountType,
		Email:                  u.Email,
		PublicName:             u.Nickname,
		DisplayName:            u.Name,
		IsExternalCollaborator: u.Guest,
	}
}

func (e *Emulator) handleLicensedUsers(s *Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		cql := strings.ReplaceAll(q.Get("cql"), " ", "")
		if cql != "type=user" {
			writeError(w, http.StatusBadRequest,
				"invalid cql %q: the emulator supports cql=type=user only", q.Get("cql"))
			return
		}
		filter := q.Get("sitePermissionTypeFilter")
		switch filter {
		case "", PermissionLicensed, PermissionGuests, PermissionAll:
		default:
			writeError(w, http.StatusBadRequest, "invalid sitePermissionTypeFilter %q: "+
				"use none, externalCollaborator or all", filter)
			return
		}
		page, msg := parseV1Page(r)
		if msg != "" {
			writeError(w, http.StatusBadRequest, "%s", msg)
			return
		}
		if page.start >= maxSearchOffset {
			writeError(w, http.StatusBadRequest, "invalid start %d: search results beyond %d "+
				"are not available; use the Admin API user search", page.start, maxSearchOffset)
			return
		}
		users := e.org.LicensedUsers(s, filter)
		end := min(page.start+page.limit, len(users), maxSearchOffset)
		start := min(page.start, end)
		results := make([]map[string]any, 0, end-start)
		for _, u := range users[start:end] {
			results = append(results, map[string]any{
				"user":       toConfluenceUser(u),
				"title":      u.Name,
				"excerpt":    "",
				"url":        "/people/" + u.AccountID,
				"entityType": "user",
			})
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"results":   results,
			"start":     start,
			"limit":     page.limit,
			"size":      len(results),
			"totalSize": len(users),
			"cqlQuery":  q.Get("cql"),
			"_links":    v1Links(s, r, page, start, len(results), len(users)),
		})
	}
}

func (e *Emulator) handleGroups(s *Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, msg := parseV1Page(r)
		if msg != "" {
			writeError(w, http.StatusBadRequest, "%s", msg)
			return
		}
		groups := e.org.Groups
		end := min(page.start+page.limit, len(groups))
		start := min(page.start, end)
		results := make([]map[string]any, 0, end-start)
		for _, g := range groups[start:end] {
			results = append(results, map[string]any{
				"type": "group",
				"name": g.Name,
				"id":   g.ID,
				"_links": map[string]string{
					"self": s.URL + confluenceContext + "/rest/api/group/by-id?id=" + url.QueryEscape(g.ID),
				},
			})
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"results": results,
			"start":   start,
			"limit":   page.limit,
			"size":    len(results),
			"_links":  v1Links(s, r, page, start, len(results), len(groups)),
		})
	}
}

func (e *Emulator) handleGroupMembers(s *Site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("groupId")
		g := e.org.Group(id)
		if g == nil {
			writeError(w, http.StatusNotFound, "group %s not found", id)
			return
		}
		page, msg := parseV1Page(r)
		if msg != "" {
			writeError(w, http.StatusBadRequest, "%s", msg)
			return
		}
		members := e.org.VisibleMembers(g, s)
		end := min(page.start+page.limit, len(members))
		start := min(page.start, end)
		results := make([]confluenceUser, 0, end-start)
		for _, u := range members[start:end] {
			results = append(results, toConfluenceUser(u))
		}
		body := map[string]any{
			"results": results,
			"start":   start,
			"limit":   page.limit,
			"size":    len(results),
			"_links":  v1Links(s, r, page, start, len(results), len(members)),
		}
		if r.URL.Query().Get("shouldReturnTotalSize") == "true" {
			body["totalSize"] = len(members)
		}
		writeJSON(w, http.StatusOK, body)
	}
}
