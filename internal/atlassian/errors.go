package atlassian

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors of the sign-in flow and session handling. Errors the
// client returns wrap them, so callers test with errors.Is.
var (
	ErrWrongPassword = errors.New("sign-in failed: wrong e-mail or password " +
		"(check the email and password settings)")
	ErrCodeRejected = errors.New("sign-in failed: the TOTP code was rejected " +
		"(check that totp_secret is the authenticator secret of this account " +
		"and that the host clock is correct)")
	ErrEmailCodeRequired = errors.New("sign-in failed: the account gets e-mailed " +
		"verification codes, which cannot be automated (enroll an authenticator app " +
		"and set totp_secret, or use api_key, or paste session_token)")
	ErrSSORedirect = errors.New("sign-in failed: the account signs in through an " +
		"identity provider (SSO), which cannot be automated (use api_key with " +
		"api_token, or paste session_token)")
	ErrBotCheck = errors.New("sign-in failed: Atlassian asked for a bot check " +
		"(captcha) that cannot be automated (sign in with a browser and paste the " +
		"cloud.session.token cookie as session_token)")
	ErrAccountLocked = errors.New("sign-in failed: the account is locked " +
		"(unlock it at id.atlassian.com, then try again)")
	ErrUnrecognisedAnswer = errors.New("sign-in failed: the identity host sent an " +
		"unrecognised response (run `steampipe-plugin-confluence doctor` and compare " +
		"its output with docs/wire-format.md)")
	ErrSessionExpired = errors.New("session expired")
	// ErrRepeatedCursor means a list response pointed back to a page already
	// read, which would otherwise loop forever.
	ErrRepeatedCursor = errors.New("pagination failed: the API returned a cursor " +
		"it had already returned")
	// ErrBulkActivityUnsupported means the v2 user search rejected expand
	// productAccess with error code ADMIN-400-4, because the org is on the
	// original user management experience. Activity must then be read per
	// user from last-active-dates.
	ErrBulkActivityUnsupported = errors.New("user search cannot expand productAccess: " +
		"the org is on the original user management experience, so last-active dates " +
		"are read per user")
	// ErrActivityUnknown marks a user whose last-active-dates request was
	// refused (403) or found no user (404): the dates are unknown, which
	// is not the same as never active.
	ErrActivityUnknown = errors.New("last-active dates unknown")
)

// HTTPError is an API response the client could not use: an unexpected
// status or content type. It carries names only, never the body.
type HTTPError struct {
	Method      string
	Route       string // route table key
	Host        string // host kind: identity, admin_hub, admin_api or site
	Status      int
	ContentType string
	// Code is the API's error code when the response is JSON and has one.
	Code string
	// Problem describes what was wrong with the response in a few words.
	Problem string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s request to the %s host failed: status %d",
		e.Method, e.Route, e.Host, e.Status)
	if e.ContentType != "" {
		msg += ", content type " + e.ContentType
	}
	if e.Code != "" {
		msg += ", error code " + e.Code
	}
	if e.Problem != "" {
		msg += ": " + e.Problem
	}
	return msg
}

// SignInError is a failed run of the sign-in flow. Callers must not
// repeat the call that returned it: each repeat could send the password
// again, and enough of them lock the account.
type SignInError struct {
	Err error
	// PasswordSent is true when the flow got as far as sending the
	// password, so the failure may count against the account.
	PasswordSent bool
}

func (e *SignInError) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, signInFailedPrefix) {
		return msg
	}
	return signInFailedPrefix + msg
}

// signInFailedPrefix starts the message of every sign-in failure, so that
// a caller that only has the text, as after the plugin SDK, can tell one.
const signInFailedPrefix = "sign-in failed: "

func (e *SignInError) Unwrap() error { return e.Err }

// PausedError reports that sign-ins for an account are paused after a
// failure that retrying would repeat or make worse (a locked account,
// a rejected password or code). It wraps the sentinel of that failure.
type PausedError struct {
	Cause error
	Until time.Time
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("%v; sign-in for this account is paused until %s "+
		"so that retries do not lock it (fix the setting, or change password or "+
		"totp_secret to lift the pause now)",
		e.Cause, e.Until.UTC().Format(time.RFC3339))
}

func (e *PausedError) Unwrap() error { return e.Cause }
