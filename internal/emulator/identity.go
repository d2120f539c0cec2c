package emulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// maxFailures is how many wrong passwords or codes in a row lock an
// account until the emulator restarts.
const maxFailures = 5

// challengeLifetime bounds how long an mfaToken from authenticate stays valid.
const challengeLifetime = 5 * time.Minute

// usedCodeMemory is how long an accepted code is remembered. A code stays
// valid for at most three 30 s periods (Skew 1), so two minutes covers it.
const usedCodeMemory = 2 * time.Minute

var totpOptions = totp.ValidateOpts{
	Period:    30,
	Skew:      1,
	Digits:    otp.DigitsSix,
	Algorithm: otp.AlgorithmSHA1,
}

// session is one sign-in. Refreshed tokens share it.
type session struct {
	accountID string
	expired   bool
}

// challenge is a pending second step of a sign-in.
type challenge struct {
	accountID string
	expires   time.Time
}

// accountState is the sign-in state of one account.
type accountState struct {
	failures  int
	locked    bool
	usedCodes map[string]time.Time // accepted code → when
}

type sessionClaims struct {
	Sub            string `json:"sub"`
	Created        int64  `json:"created"`
	RefreshTimeout int64  `json:"refreshTimeout"`
	SessionID      string `json:"sessionId"`
	TokenID        string `json:"jti"` // unique per token, so a refresh never repeats a token
}

type identityError struct {
	ErrorCode string `json:"errorCode"`
}

func (e *Emulator) identityHandler() http.Handler {
	h := newHost(hostIdentity, nil)
	handlers := map[string]http.HandlerFunc{
		RouteLogin:         e.handleLogin,
		RouteCheckUsername: e.handleCheckUsername,
		RouteAuthenticate:  e.handleAuthenticate,
		RouteMFAVerify:     e.handleMFAVerify,
	}
	for _, rt := range identityRoutes {
		h.handle("", rt, handlers[rt.key])
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, known := h.lookup(r)
		if known {
			e.countRequest(rt.key)
		}
		if misdirected(hostIdentity, credentialsOf(r)) {
			e.mu.Lock()
			e.counts.MisdirectedCredentials++
			e.mu.Unlock()
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
		h.mux.ServeHTTP(w, r)
	})
}

func (e *Emulator) handleLogin(w http.ResponseWriter, r *http.Request) {
	token := randomToken()
	e.mu.Lock()
	e.xsrfTokens[token] = true
	e.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: xsrfCookie, Value: token, Path: "/", HttpOnly: true})
	writeHTML(w, http.StatusOK, "Log in to continue")
}

// readIdentityBody decodes a sign-in step and checks its csrfToken. On
// failure it writes the error response and returns false.
func (e *Emulator) readIdentityBody(w http.ResponseWriter, r *http.Request, v any, csrf *string) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, identityError{ErrorCode: "invalid_request"})
		return false
	}
	e.mu.Lock()
	ok := *csrf != "" && e.xsrfTokens[*csrf]
	e.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusForbidden, identityError{ErrorCode: "invalid_csrf_token"})
		return false
	}
	return true
}

func (e *Emulator) handleCheckUsername(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username  string `json:"username"`
		CSRFToken string `json:"csrfToken"`
	}
	if !e.readIdentityBody(w, r, &body, &body.CSRFToken) {
		return
	}
	u := e.byEmail[strings.ToLower(strings.TrimSpace(body.Username))]
	if u != nil && e.deadEndOf[u.AccountID] == DeadEndSSO {
		e.mu.Lock()
		idp := e.identityURL + "/sso/saml/idp"
		e.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"action": "redirect", "redirect_uri": idp})
		return
	}
	// Unknown addresses go on to the password step too, as on the real
	// service, so that the response does not reveal which accounts exist.
	writeJSON(w, http.StatusOK, map[string]string{"action": "password"})
}

func (e *Emulator) handleAuthenticate(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.counts.SignInAttempts++
	e.mu.Unlock()
	var body struct {
		Username  string `json:"username"`
		Password  string `json:"password"`
		CSRFToken string `json:"csrfToken"`
	}
	if !e.readIdentityBody(w, r, &body, &body.CSRFToken) {
		return
	}
	e.mu.Lock()
	botCheck := e.faults.BotCheck
	e.mu.Unlock()
	if botCheck {
		writeJSON(w, http.StatusForbidden, identityError{ErrorCode: "captcha_required"})
		return
	}

	u := e.byEmail[strings.ToLower(strings.TrimSpace(body.Username))]
	if u == nil {
		writeJSON(w, http.StatusUnauthorized, identityError{ErrorCode: "invalid_credentials"})
		return
	}
	kind := e.deadEndOf[u.AccountID]
	switch {
	case kind == DeadEndLocked || e.isLocked(u.AccountID):
		writeJSON(w, http.StatusForbidden, identityError{ErrorCode: "account_locked"})
		return
	case kind == DeadEndCaptcha:
		writeJSON(w, http.StatusForbidden, identityError{ErrorCode: "captcha_required"})
		return
	case kind == DeadEndSSO:
		writeJSON(w, http.StatusForbidden, identityError{ErrorCode: "sso_required"})
		return
	}

	if !secureEqual(body.Password, e.creds.password) {
		e.recordFailure(u.AccountID)
		writeJSON(w, http.StatusUnauthorized, identityError{ErrorCode: "invalid_credentials"})
		return
	}

	switch kind {
	case DeadEndEmailCode:
		writeJSON(w, http.StatusOK, map[string]string{"step": "mfa", "mfaType": "email"})
	case DeadEndNoMFA:
		http.SetCookie(w, e.sessionCookie(e.newSession(u.AccountID)))
		writeJSON(w, http.StatusOK, map[string]string{"step": "done", "redirect_uri": e.doneURL()})
	default:
		token := randomToken()
		e.mu.Lock()
		e.challenges[token] = &challenge{accountID: u.AccountID, expires: time.Now().Add(challengeLifetime)}
		e.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"step": "mfa", "mfaType": "totp", "mfaToken": token})
	}
}

func (e *Emulator) handleMFAVerify(w http.ResponseWriter, r *http.Request) {
	var body struct {
		MFAToken  string `json:"mfaToken"`
		Code      string `json:"code"`
		CSRFToken string `json:"csrfToken"`
	}
	if !e.readIdentityBody(w, r, &body, &body.CSRFToken) {
		return
	}
	now := time.Now()
	e.mu.Lock()
	ch := e.challenges[body.MFAToken]
	if ch != nil && now.After(ch.expires) {
		delete(e.challenges, body.MFAToken)
		ch = nil
	}
	e.mu.Unlock()
	if ch == nil {
		writeJSON(w, http.StatusUnauthorized, identityError{ErrorCode: "invalid_mfa_token"})
		return
	}
	if e.isLocked(ch.accountID) {
		writeJSON(w, http.StatusForbidden, identityError{ErrorCode: "account_locked"})
		return
	}

	valid, err := totp.ValidateCustom(body.Code, e.creds.totpSecret, now, totpOptions)
	accepted := err == nil && valid && e.acceptCode(ch.accountID, body.Code, now)
	if !accepted {
		e.mu.Lock()
		e.counts.CodesRejected++
		e.mu.Unlock()
		e.recordFailure(ch.accountID)
		writeJSON(w, http.StatusUnauthorized, identityError{ErrorCode: "invalid_otp"})
		return
	}

	e.mu.Lock()
	delete(e.challenges, body.MFAToken)
	e.mu.Unlock()
	http.SetCookie(w, e.sessionCookie(e.newSession(ch.accountID)))
	writeJSON(w, http.StatusOK, map[string]string{"step": "done", "redirect_uri": e.doneURL()})
}

func (e *Emulator) doneURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.adminHubURL + "/"
}

func (e *Emulator) account(accountID string) *accountState {
	st := e.accounts[accountID]
	if st == nil {
		st = &accountState{usedCodes: make(map[string]time.Time)}
		e.accounts[accountID] = st
	}
	return st
}

func (e *Emulator) isLocked(accountID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.account(accountID).locked
}

func (e *Emulator) recordFailure(accountID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.account(accountID)
	st.failures++
	if st.failures >= maxFailures {
		st.locked = true
	}
}

// acceptCode records code as used and reports whether it was unused.
func (e *Emulator) acceptCode(accountID, code string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.account(accountID)
	for c, at := range st.usedCodes {
		if now.Sub(at) > usedCodeMemory {
			delete(st.usedCodes, c)
		}
	}
	if _, used := st.usedCodes[code]; used {
		return false
	}
	st.usedCodes[code] = now
	st.failures = 0
	return true
}

// newSession issues a session for the account and returns its token.
func (e *Emulator) newSession(accountID string) string {
	id := randomToken()
	e.mu.Lock()
	e.sessions[id] = &session{accountID: accountID}
	e.counts.SignIns++
	st := e.account(accountID)
	st.failures = 0
	e.mu.Unlock()
	return e.signToken(accountID, id, time.Now())
}

func (e *Emulator) refreshToken(c sessionClaims) string {
	return e.signToken(c.Sub, c.SessionID, time.Now())
}

func (e *Emulator) signToken(accountID, sessionID string, created time.Time) string {
	claims := sessionClaims{
		Sub:            accountID,
		Created:        created.Unix(),
		RefreshTimeout: created.Add(e.opts.SessionRefreshAfter).Unix(),
		SessionID:      sessionID,
		TokenID:        randomToken(),
	}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload, _ := json.Marshal(claims)
	signed := header + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(e.mac(signed))
}

// validSession checks a token's signature and that its session has not
// been expired.
func (e *Emulator) validSession(token string) (sessionClaims, bool) {
	var c sessionClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, e.mac(parts[0]+"."+parts[1])) {
		return c, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sessions[c.SessionID]
	if s == nil || s.expired || s.accountID != c.Sub {
		return c, false
	}
	return c, true
}

func (e *Emulator) sessionCookie(token string) *http.Cookie {
	return &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true}
}

func (e *Emulator) mac(data string) []byte {
	m := hmac.New(sha256.New, e.key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func randomToken() string {
	b := make([]byte, 18)
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
