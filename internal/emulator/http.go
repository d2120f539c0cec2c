package emulator

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type hostKind int

const (
	hostIdentity hostKind = iota
	hostAdminHub
	hostAdminAPI
	hostSite
)

// host is the routing table of one listener.
type host struct {
	kind   hostKind
	site   *Site // for hostSite
	mux    *http.ServeMux
	routes map[string]route // ServeMux pattern → route
}

func newHost(kind hostKind, site *Site) *host {
	return &host{kind: kind, site: site, mux: http.NewServeMux(), routes: make(map[string]route)}
}

func (h *host) handle(prefix string, rt route, fn http.HandlerFunc) {
	pattern := prefix + rt.pattern
	h.mux.HandleFunc(pattern, fn)
	h.routes[pattern] = rt
}

// lookup returns the route the request matches, if any.
func (h *host) lookup(r *http.Request) (route, bool) {
	_, pattern := h.mux.Handler(r)
	rt, ok := h.routes[pattern]
	return rt, ok
}

type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"code":500,"message":"failed to encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, errorBody{Code: status, Message: fmt.Sprintf(format, args...)})
}

func writeHTML(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head>"+
		"<body><h1>%s</h1><form method=\"post\" action=\"/login\">"+
		"<input name=\"username\"><input type=\"password\" name=\"password\">"+
		"</form></body></html>\n", title, title)
}

// presented lists the credentials a request carries.
type presented struct {
	bearer  string
	basic   bool
	user    string
	pass    string
	session string
}

func credentialsOf(r *http.Request) presented {
	var p presented
	auth := r.Header.Get("Authorization")
	scheme, value, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		p.bearer = strings.TrimSpace(value)
	case "basic":
		p.basic = true
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value)); err == nil {
			p.user, p.pass, _ = strings.Cut(string(raw), ":")
		}
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		p.session = c.Value
	}
	return p
}

// misdirected reports whether the request carries a credential that its
// host never takes.
func misdirected(kind hostKind, p presented) bool {
	switch kind {
	case hostIdentity:
		return p.bearer != "" || p.basic
	case hostAdminHub:
		return p.bearer != "" || p.basic
	case hostAdminAPI:
		return p.session != "" || p.basic
	case hostSite:
		return p.bearer != ""
	}
	return false
}

func isWrite(method string, rt route, known bool) bool {
	switch method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	case http.MethodPost:
		return !known || rt.method != http.MethodPost
	}
	return false
}

func methodAllowed(method string, rt route) bool {
	return method == rt.method || (rt.method == http.MethodGet && method == http.MethodHead)
}

// serveAPI runs the checks every admin hub, Admin API and site request
// goes through, in the order a real gateway applies them, then the handler.
func (e *Emulator) serveAPI(h *host, w http.ResponseWriter, r *http.Request) {
	rt, known := h.lookup(r)
	if known {
		e.countRequest(rt.key)
	}
	creds := credentialsOf(r)
	wrongHost := misdirected(h.kind, creds)
	if wrongHost {
		e.mu.Lock()
		e.counts.MisdirectedCredentials++
		e.mu.Unlock()
	}

	if isWrite(r.Method, rt, known) {
		e.mu.Lock()
		e.counts.WritesAttempted++
		e.mu.Unlock()
		writeError(w, http.StatusMethodNotAllowed,
			"method %s not allowed: the emulator serves read-only requests", r.Method)
		return
	}
	if wrongHost {
		writeError(w, http.StatusUnauthorized, unauthorizedMessage)
		return
	}
	if !known {
		writeError(w, http.StatusNotFound, "no route for %s", r.URL.Path)
		return
	}
	if !methodAllowed(r.Method, rt) {
		w.Header().Set("Allow", rt.method)
		writeError(w, http.StatusMethodNotAllowed, "method %s not allowed: use %s", r.Method, rt.method)
		return
	}

	if e.applyFaults(rt.key, w, r) {
		return
	}
	if rt.key != RouteTenantInfo && !e.authorize(h, creds, w, r) {
		return
	}
	if (h.kind == hostAdminHub || h.kind == hostAdminAPI) && !e.limitRate(w) {
		return
	}
	if bw := e.bodyFaultWriter(rt.key, w); bw != nil {
		h.mux.ServeHTTP(bw, r)
		bw.finish()
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authorize checks the credential the host takes. On failure it writes
// the response and returns false. On success with an old session token it
// adds a Set-Cookie with a refreshed one. Any valid session is accepted,
// because the emulator does not model per-account admin rights.
func (e *Emulator) authorize(h *host, p presented, w http.ResponseWriter, r *http.Request) bool {
	switch h.kind {
	case hostAdminAPI:
		if p.bearer != "" && secureEqual(p.bearer, e.creds.apiKey) {
			return true
		}
	case hostSite:
		if p.basic {
			if secureEqual(strings.ToLower(p.user), strings.ToLower(e.org.Admin.Email)) &&
				secureEqual(p.pass, e.creds.apiToken) {
				return true
			}
			break
		}
		fallthrough
	case hostAdminHub:
		if p.session == "" {
			break
		}
		claims, ok := e.validSession(p.session)
		if !ok {
			e.answerExpired(h, w, r)
			return false
		}
		if time.Now().Unix() >= claims.RefreshTimeout {
			http.SetCookie(w, e.sessionCookie(e.refreshToken(claims)))
		}
		return true
	}
	writeError(w, http.StatusUnauthorized, unauthorizedMessage)
	return false
}

func secureEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// answerExpired responds to an invalid session in the style Faults.ExpiryStyle sets.
func (e *Emulator) answerExpired(h *host, w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	style := e.faults.ExpiryStyle
	identity := e.identityURL
	back := e.adminHubURL + "/"
	e.mu.Unlock()
	if h.kind == hostSite {
		back = h.site.URL + r.URL.Path
	}
	switch style {
	case ExpiryRedirect:
		target := identity + identityLoginPath + "?" + url.Values{
			"continue": {back}, "application": {"admin"},
		}.Encode()
		http.Redirect(w, r, target, http.StatusFound)
	case ExpiryHTML:
		writeHTML(w, http.StatusOK, "Log in to continue")
	default:
		writeError(w, http.StatusUnauthorized, unauthorizedMessage)
	}
}

type faultAction int

const (
	faultNone faultAction = iota
	faultRateLimit
	faultServerError
	faultHTML
)

// applyFaults delays the request and writes the fault response that the
// faults in force call for. It returns true when it wrote a response.
func (e *Emulator) applyFaults(key string, w http.ResponseWriter, r *http.Request) bool {
	e.mu.Lock()
	f := &e.faults
	if !f.matches(key) {
		e.mu.Unlock()
		return false
	}
	action := faultNone
	switch {
	case f.RateLimited > 0:
		f.RateLimited--
		e.counts.RateLimited++
		action = faultRateLimit
	case f.ServerErrors > 0:
		f.ServerErrors--
		action = faultServerError
	case f.HTML > 0:
		f.HTML--
		action = faultHTML
	}
	slow, retryAfter, htmlStatus := f.Slow, f.RetryAfter, f.HTMLStatus
	e.mu.Unlock()

	if slow > 0 {
		timer := time.NewTimer(slow)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return true
		}
	}
	switch action {
	case faultRateLimit:
		setRetryAfter(w, retryAfter)
		writeError(w, http.StatusTooManyRequests, "Too Many Requests")
	case faultServerError:
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
	case faultHTML:
		if htmlStatus == 0 {
			htmlStatus = http.StatusOK
		}
		writeHTML(w, htmlStatus, "Atlassian")
	default:
		return false
	}
	return true
}

func setRetryAfter(w http.ResponseWriter, form string) {
	parsed, err := parseRetryAfter(form)
	if err != nil {
		return
	}
	now := time.Now()
	switch parsed.kind {
	case "seconds":
		w.Header().Set("Retry-After", strconv.Itoa(parsed.seconds))
	case "date":
		w.Header().Set("Retry-After", now.Add(2*time.Second).UTC().Format(http.TimeFormat))
	case "reset":
		// Real tenants send this form without seconds; rounding up keeps
		// the time in the future.
		reset := now.UTC().Add(time.Minute).Truncate(time.Minute)
		w.Header().Set("X-RateLimit-Reset", reset.Format("2006-01-02T15:04Z"))
	}
}
