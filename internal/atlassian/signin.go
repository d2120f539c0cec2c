package atlassian

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// signinWire is every path, parameter, cookie and field name of the
// sign-in flow at the identity host, as docs/wire-format.md describes it.
var signinWire = struct {
	LoginPath, ContinueParam, ApplicationParam, Application string
	XSRFCookie, SessionCookie                               string

	CheckUsernamePath, AuthenticatePath, VerifyPath string

	// Request fields.
	Username, Password, CSRFToken, MFAToken, Code string

	// Response fields and their values.
	Action, ActionPassword, ActionRedirect, RedirectURI string
	Step, StepMFA, StepDone                             string
	MFAType, MFATypeTOTP, MFATypeEmail                  string
	ErrorCode                                           string
	InvalidCredentials, AccountLocked, CaptchaRequired  string
	InvalidOTP                                          string
}{
	LoginPath:        "/login",
	ContinueParam:    "continue",
	ApplicationParam: "application",
	Application:      "admin",
	XSRFCookie:       "atlassian.account.xsrf.token",
	SessionCookie:    sessionCookie,

	CheckUsernamePath: "/rest/check-username",
	AuthenticatePath:  "/rest/authenticate",
	VerifyPath:        "/rest/mfa/verify",

	Username:  "username",
	Password:  "password",
	CSRFToken: "csrfToken",
	MFAToken:  "mfaToken",
	Code:      "code",

	Action:             "action",
	ActionPassword:     "password",
	ActionRedirect:     "redirect",
	RedirectURI:        "redirect_uri",
	Step:               "step",
	StepMFA:            "mfa",
	StepDone:           "done",
	MFAType:            "mfaType",
	MFATypeTOTP:        "totp",
	MFATypeEmail:       "email",
	ErrorCode:          "errorCode",
	InvalidCredentials: "invalid_credentials",
	AccountLocked:      "account_locked",
	CaptchaRequired:    "captcha_required",
	InvalidOTP:         "invalid_otp",
}

// signinState is a step of the sign-in flow: the request to send next.
type signinState int

const (
	stateLogin signinState = iota
	stateCheckUsername
	stateAuthenticate
	stateVerify
	stateDone
)

// signinRoutes are the sign-in requests. Only the first two are retried:
// authenticate spends a password attempt and verify spends a TOTP code.
var signinRoutes = map[signinState]struct {
	name  string
	route Route
}{
	stateLogin: {"signin_login", Route{Host: HostIdentity, Method: http.MethodGet,
		Path: signinWire.LoginPath, SafeToRetry: true}},
	stateCheckUsername: {"signin_check_username", Route{Host: HostIdentity,
		Method: http.MethodPost, Path: signinWire.CheckUsernamePath, SafeToRetry: true}},
	stateAuthenticate: {"signin_authenticate", Route{Host: HostIdentity,
		Method: http.MethodPost, Path: signinWire.AuthenticatePath}},
	stateVerify: {"signin_verify", Route{Host: HostIdentity,
		Method: http.MethodPost, Path: signinWire.VerifyPath}},
}

// Timing of TOTP codes. A code sent with less than minStepLeft left in its
// step may reach the identity host after the step ended.
const (
	minStepLeft = 5 * time.Second
	// maxCodeWait bounds the wait for a usable step. A longer one means
	// the recorded last step is in the future: the host clock went back.
	maxCodeWait = 2*totpPeriod*time.Second + minStepLeft
)

// signinRun is one pass through the sign-in flow.
type signinRun struct {
	c       *Client
	cookies map[string]*http.Cookie // identity host cookies
	xsrf    string
	mfa     string
	session string
	// minStep is the first TOTP step whose code may be sent.
	minStep int64
	// recordStep stores a step before its code is sent.
	recordStep func(step int64) error
	rejected   int
}

// runSignIn signs in with the configured e-mail, password and TOTP
// secret, never sending a code of a step at or before lastStep, and
// returns the session cookie.
func (c *Client) runSignIn(ctx context.Context, lastStep int64,
	recordStep func(int64) error) (string, error) {
	r := &signinRun{c: c, cookies: map[string]*http.Cookie{}, minStep: lastStep + 1,
		recordStep: recordStep}
	state := stateLogin
	passwordSent := false
	fail := func(err error) (string, error) {
		return "", &SignInError{Err: err, PasswordSent: passwordSent}
	}
	// Each state is entered at most twice (verify is retried once), so
	// more transitions than this mean the flow is looping.
	for i := 0; state != stateDone; i++ {
		if i > 8 {
			return fail(fmt.Errorf("%w: the sign-in flow did not finish", ErrUnrecognisedAnswer))
		}
		o, err := r.request(ctx, state)
		if err != nil {
			return fail(err)
		}
		passwordSent = passwordSent || state >= stateAuthenticate
		res, err := c.send(ctx, o)
		if err != nil {
			return fail(err)
		}
		for _, ck := range res.cookies {
			r.cookies[ck.Name] = &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
		state, err = r.next(state, res)
		if err != nil {
			return fail(err)
		}
	}
	return r.session, nil
}

// request builds the request of state.
func (r *signinRun) request(ctx context.Context, state signinState) (*outgoing, error) {
	w := signinWire
	sr := signinRoutes[state]
	o := &outgoing{route: sr.route, routeName: sr.name, base: r.c.identity,
		path: sr.route.Path}
	for _, ck := range r.cookies {
		o.cookies = append(o.cookies, ck)
	}
	var body map[string]string
	switch state {
	case stateLogin:
		o.query = url.Values{
			w.ContinueParam:    {r.c.adminHub.String() + "/"},
			w.ApplicationParam: {w.Application},
		}
	case stateCheckUsername:
		body = map[string]string{w.Username: r.c.opts.Email, w.CSRFToken: r.xsrf}
	case stateAuthenticate:
		body = map[string]string{w.Username: r.c.opts.Email, w.Password: r.c.opts.Password,
			w.CSRFToken: r.xsrf}
	case stateVerify:
		code, err := r.nextCode(ctx)
		if err != nil {
			return nil, err
		}
		body = map[string]string{w.MFAToken: r.mfa, w.Code: code, w.CSRFToken: r.xsrf}
	}
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		o.body, o.bodyType = data, "application/json"
	}
	return o, nil
}

// nextCode waits, when needed, for a TOTP step that is after every step
// already used and has at least minStepLeft to run, records the step and
// returns its code.
func (r *signinRun) nextCode(ctx context.Context) (string, error) {
	now := r.c.now()
	step := totpStep(now)
	if step < r.minStep {
		step = r.minStep
	}
	if stepStart(step+1).Sub(now) < minStepLeft {
		step++
	}
	wait := stepStart(step).Sub(now)
	if wait > maxCodeWait {
		return "", fmt.Errorf("sign-in failed: the session cache records a TOTP code "+
			"sent %s from now; check the host clock", wait.Round(time.Second))
	}
	if wait > 0 {
		r.c.log.Debug("atlassian.signIn", "waiting_for_totp_step", wait.String())
		if err := r.c.sleep(ctx, wait); err != nil {
			return "", fmt.Errorf("sign-in stopped while waiting for the next TOTP step: %w", err)
		}
	}
	if err := r.recordStep(step); err != nil {
		return "", err
	}
	r.minStep = step + 1
	return GenerateCode(r.c.totpSecret, stepStart(step))
}

// signinResponse is the union of the JSON fields the identity host sends.
type signinResponse struct {
	Action      string `json:"action"`
	RedirectURI string `json:"redirect_uri"`
	Step        string `json:"step"`
	MFAType     string `json:"mfaType"`
	MFAToken    string `json:"mfaToken"`
	ErrorCode   string `json:"errorCode"`
}

// next interprets the response to state's request and returns the state to
// enter, or the sentinel error of a dead end.
func (r *signinRun) next(state signinState, res *response) (signinState, error) {
	w := signinWire
	name := signinRoutes[state].name
	unrecognised := func(what string) error {
		return fmt.Errorf("%w: %s returned status %d, content type %q: %s",
			ErrUnrecognisedAnswer, name, res.status, res.contentType, what)
	}
	if looksLikeBotCheck(res) {
		return state, fmt.Errorf("%w (at %s)", ErrBotCheck, name)
	}
	if res.status == http.StatusTooManyRequests || res.status >= 500 {
		// A busy or failing identity host is no verdict on the account, so
		// this error does not pause sign-ins.
		return state, &HTTPError{Method: signinRoutes[state].route.Method, Route: name,
			Host: string(HostIdentity), Status: res.status, ContentType: res.contentType,
			Problem: "the identity host is unavailable; try again later"}
	}
	if state == stateLogin {
		if res.status != http.StatusOK {
			return state, unrecognised("expected status 200")
		}
		ck, ok := r.cookies[w.XSRFCookie]
		if !ok || ck.Value == "" {
			return state, unrecognised("the " + w.XSRFCookie + " cookie is missing")
		}
		r.xsrf = ck.Value
		return stateCheckUsername, nil
	}
	if !res.isJSON() {
		return state, unrecognised("expected JSON")
	}
	var a signinResponse
	if err := json.Unmarshal(res.body, &a); err != nil {
		return state, unrecognised("the JSON response is not an object")
	}
	switch a.ErrorCode {
	case "":
	case w.AccountLocked:
		return state, fmt.Errorf("%w (at %s)", ErrAccountLocked, name)
	case w.CaptchaRequired:
		return state, fmt.Errorf("%w (at %s)", ErrBotCheck, name)
	case w.InvalidCredentials:
		if state == stateAuthenticate || state == stateCheckUsername {
			return state, ErrWrongPassword
		}
		return state, unrecognised("error code " + w.InvalidCredentials)
	case w.InvalidOTP:
		if state != stateVerify {
			return state, unrecognised("error code " + w.InvalidOTP)
		}
		r.rejected++
		if r.rejected > 1 {
			return state, ErrCodeRejected
		}
		r.c.log.Warn("atlassian.signIn", "result", "totp code rejected",
			"retry", "with the next step's code")
		return stateVerify, nil
	default:
		return state, unrecognised("unknown error code")
	}
	if res.status != http.StatusOK {
		return state, unrecognised("expected status 200")
	}

	switch state {
	case stateCheckUsername:
		switch a.Action {
		case w.ActionPassword:
			return stateAuthenticate, nil
		case w.ActionRedirect:
			return state, ErrSSORedirect
		}
		return state, unrecognised("unknown action")
	case stateAuthenticate:
		switch {
		case a.Step == w.StepMFA && a.MFAType == w.MFATypeTOTP && a.MFAToken != "":
			r.mfa = a.MFAToken
			return stateVerify, nil
		case a.Step == w.StepMFA && a.MFAType == w.MFATypeEmail:
			return state, ErrEmailCodeRequired
		case a.Step == w.StepDone:
			return r.done(res, unrecognised)
		}
		return state, unrecognised("unknown step or verification type")
	case stateVerify:
		if a.Step == w.StepDone {
			return r.done(res, unrecognised)
		}
		return state, unrecognised("unknown step")
	}
	return state, unrecognised("unexpected state")
}

func (r *signinRun) done(res *response, unrecognised func(string) error) (signinState, error) {
	tok, ok := res.cookie(signinWire.SessionCookie)
	if !ok {
		return stateDone, unrecognised("the " + signinWire.SessionCookie + " cookie is missing")
	}
	r.session = tok
	return stateDone, nil
}

// looksLikeBotCheck reports whether an response is a challenge page: an
// HTML response refused with 403 or 429, or one that mentions a captcha.
func looksLikeBotCheck(res *response) bool {
	if !res.isHTML() {
		return false
	}
	if res.status == http.StatusForbidden || res.status == http.StatusTooManyRequests {
		return true
	}
	lower := bytes.ToLower(res.body)
	return bytes.Contains(lower, []byte("captcha")) ||
		bytes.Contains(lower, []byte("challenge-form")) ||
		bytes.Contains(lower, []byte("cf-challenge"))
}
