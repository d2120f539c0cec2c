package emulator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RouteIdentity is the Faults.Route value that targets the sign-in flow.
const RouteIdentity = "identity"

// Faults are failures the emulator injects into its responses. The zero
// value injects none. Counters (RateLimited, ServerErrors, HTML) count
// down with each matching request, and only one of them applies to a
// request, in that order.
type Faults struct {
	// Route limits the faults to one route key (see the Route constants).
	// "" means every API route but not the sign-in flow, and
	// RouteIdentity means every step of the sign-in flow.
	Route string `json:"route,omitempty"`

	// RateLimited is the number of matching requests that get 429.
	RateLimited int `json:"rate_limited,omitempty"`

	// RetryAfter is the form of the rate-limit hint on those 429s. The
	// forms are "" (none), "seconds:N" (Retry-After: N), "date" (an HTTP
	// date 2 s ahead), "zero" (Retry-After: 0) and "huge" (Retry-After:
	// 86400). "reset" sends X-RateLimit-Reset, an ISO 8601 time without
	// seconds, in place of Retry-After.
	RetryAfter string `json:"retry_after,omitempty"`

	// ServerErrors is the number of matching requests that get 503.
	ServerErrors int `json:"server_errors,omitempty"`

	// Slow delays every matching response. In JSON it is a Go duration
	// string ("250ms") or a number of nanoseconds.
	Slow time.Duration `json:"slow,omitempty"`

	// HTML is the number of matching responses that are an HTML page
	// with status HTMLStatus (200 when zero).
	HTML       int `json:"html,omitempty"`
	HTMLStatus int `json:"html_status,omitempty"`

	// ExpireSessions invalidates every session issued before SetFaults.
	// It acts once, when the faults are set.
	ExpireSessions bool `json:"expire_sessions,omitempty"`

	// ExpiryStyle is the response of the admin hub and sites to an
	// invalid or expired session: "401" (the default), "redirect" (302 to the
	// identity host's /login) or "html" (200 with a sign-in page).
	ExpiryStyle string `json:"expiry_style,omitempty"`

	// BotCheck makes the authenticate step respond 403 captcha_required
	// for every account.
	BotCheck bool `json:"bot_check,omitempty"`

	// ResetMidBody is the number of matching 200 responses whose
	// connection is closed after half of the body, with the full length
	// announced in Content-Length.
	ResetMidBody int `json:"reset_mid_body,omitempty"`

	// TruncateJSON is the number of matching 200 responses whose JSON body
	// is cut in half and sent complete at that length, so that only the
	// JSON is invalid.
	TruncateJSON int `json:"truncate_json,omitempty"`

	// RepeatCursor is the number of matching user search pages requested
	// with a cursor whose links.next repeats that cursor.
	RepeatCursor int `json:"repeat_cursor,omitempty"`

	// MaxPageSize, when above zero, caps the users of a matching user
	// search page whatever limit the request sets, as a server that
	// shrinks its pages would.
	MaxPageSize int `json:"max_page_size,omitempty"`
}

// Expiry styles of Faults.ExpiryStyle.
const (
	ExpiryUnauthorized = "401"
	ExpiryRedirect     = "redirect"
	ExpiryHTML         = "html"
)

// UnmarshalJSON reads Slow as a duration string or a number of nanoseconds.
func (f *Faults) UnmarshalJSON(data []byte) error {
	type plain Faults
	var aux struct {
		*plain
		Slow json.RawMessage `json:"slow,omitempty"`
	}
	aux.plain = (*plain)(f)
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return err
	}

	f.Slow = 0
	if len(aux.Slow) == 0 || string(aux.Slow) == "null" {
		return nil
	}
	var text string
	if err := json.Unmarshal(aux.Slow, &text); err == nil {
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("invalid slow %q: use a Go duration such as \"250ms\"", text)
		}
		f.Slow = d
		return nil
	}
	var ns int64
	if err := json.Unmarshal(aux.Slow, &ns); err != nil {
		return fmt.Errorf("invalid slow %s: use a duration string or nanoseconds", aux.Slow)
	}
	f.Slow = time.Duration(ns)
	return nil
}

// MarshalJSON writes Slow as a duration string, the form UnmarshalJSON reads.
func (f Faults) MarshalJSON() ([]byte, error) {
	type plain Faults
	aux := struct {
		plain
		Slow string `json:"slow,omitempty"`
	}{plain: plain(f)}
	if f.Slow != 0 {
		aux.Slow = f.Slow.String()
	}
	return json.Marshal(aux)
}

// Validate reports the first invalid field of f.
func (f Faults) Validate() error {
	if f.Route != "" && f.Route != RouteIdentity && !knownRoute(f.Route) {
		return fmt.Errorf("invalid route %q: use \"\", %q or a route key such as %q",
			f.Route, RouteIdentity, RouteUsersSearch)
	}
	if f.RateLimited < 0 || f.ServerErrors < 0 || f.HTML < 0 {
		return fmt.Errorf("invalid fault count: rate_limited, server_errors and html must be >= 0")
	}
	if f.ResetMidBody < 0 || f.TruncateJSON < 0 || f.RepeatCursor < 0 || f.MaxPageSize < 0 {
		return fmt.Errorf("invalid fault count: reset_mid_body, truncate_json, repeat_cursor " +
			"and max_page_size must be >= 0")
	}
	if f.Slow < 0 {
		return fmt.Errorf("invalid slow %s: must be >= 0", f.Slow)
	}
	if f.HTMLStatus != 0 && (f.HTMLStatus < 100 || f.HTMLStatus > 599) {
		return fmt.Errorf("invalid html_status %d: use an HTTP status 100..599", f.HTMLStatus)
	}
	switch f.ExpiryStyle {
	case "", ExpiryUnauthorized, ExpiryRedirect, ExpiryHTML:
	default:
		return fmt.Errorf("invalid expiry_style %q: use \"401\", \"redirect\" or \"html\"", f.ExpiryStyle)
	}
	if _, err := parseRetryAfter(f.RetryAfter); err != nil {
		return err
	}
	return nil
}

// retryAfterForm is a parsed Faults.RetryAfter.
type retryAfterForm struct {
	kind    string // "", "seconds", "date", "reset"
	seconds int
}

func parseRetryAfter(s string) (retryAfterForm, error) {
	switch s {
	case "":
		return retryAfterForm{}, nil
	case "date":
		return retryAfterForm{kind: "date"}, nil
	case "zero":
		return retryAfterForm{kind: "seconds"}, nil
	case "huge":
		return retryAfterForm{kind: "seconds", seconds: 86400}, nil
	case "reset":
		return retryAfterForm{kind: "reset"}, nil
	}
	if rest, ok := strings.CutPrefix(s, "seconds:"); ok {
		n, err := strconv.Atoi(rest)
		if err == nil && n >= 0 {
			return retryAfterForm{kind: "seconds", seconds: n}, nil
		}
	}
	return retryAfterForm{}, fmt.Errorf(
		"invalid retry_after %q: use \"\", \"seconds:N\", \"date\", \"zero\", \"huge\" or \"reset\"", s)
}

// matches reports whether the faults apply to a request on route key.
func (f Faults) matches(key string) bool {
	identity := isIdentityRoute(key)
	switch f.Route {
	case "":
		return !identity
	case RouteIdentity:
		return identity
	default:
		return f.Route == key
	}
}
