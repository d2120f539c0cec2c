package atlassian

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Public base URLs used when the matching setting is empty.
const (
	DefaultIdentityURL = "https://id.atlassian.com"
	DefaultAdminHubURL = "https://admin.atlassian.com"
	DefaultAdminAPIURL = "https://api.atlassian.com"
)

// DefaultRequestTimeout bounds one HTTP exchange when
// Options.RequestTimeout is zero.
const DefaultRequestTimeout = 60 * time.Second

// ConfigError is a missing, invalid or conflicting setting. Setting is the
// name of the setting in the connection's HCL configuration.
type ConfigError struct {
	Setting string
	Problem string
	Fix     string
}

func (e *ConfigError) Error() string {
	msg := fmt.Sprintf("invalid setting %s: %s", e.Setting, e.Problem)
	if e.Fix != "" {
		msg += "; fix: " + e.Fix
	}
	return msg
}

// DefaultSessionCacheDir returns the directory that holds cached sessions
// when session_cache_path is not set: a subdirectory of the user's cache
// directory, or of the home directory when no cache directory is known.
func DefaultSessionCacheDir() string {
	if dir, err := os.UserCacheDir(); err == nil && dir != "" {
		return filepath.Join(dir, "steampipe-plugin-confluence", "sessions")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".steampipe-plugin-confluence", "sessions")
	}
	// NOTE: a relative path; reached only when neither $XDG_CACHE_HOME nor
	// $HOME is set, and session_cache_path should then be set.
	return filepath.Join(".steampipe-plugin-confluence", "sessions")
}

// Validate reports missing, invalid and conflicting settings. Each
// problem is a *ConfigError naming the setting and the fix; several are
// joined with errors.Join.
func (o Options) Validate() error {
	var errs []error
	add := func(setting, problem, fix string) {
		errs = append(errs, &ConfigError{Setting: setting, Problem: problem, Fix: fix})
	}

	hasPassword := o.Password != ""
	hasSecret := o.TOTPSecret != ""
	hasSignIn := o.Email != "" && hasPassword && hasSecret
	hasSession := hasSignIn || o.SessionToken != ""

	switch {
	case hasPassword && !hasSecret:
		add("totp_secret", "missing: password is set, but signing in also needs "+
			"the authenticator secret",
			"set totp_secret to the secret of the account's authenticator app")
	case hasSecret && !hasPassword:
		add("password", "missing: totp_secret is set, but signing in also needs "+
			"the account password",
			"set password, or remove totp_secret")
	}
	if (hasPassword || hasSecret) && o.Email == "" {
		add("email", "missing: signing in with password and totp_secret needs "+
			"the account's e-mail address", "set email")
	}
	if o.SessionToken != "" && hasPassword {
		add("session_token", "conflicts with password: a pasted session cannot be "+
			"renewed, while password and totp_secret sign in by themselves",
			"set either session_token, or email, password and totp_secret")
	}
	if o.APIToken != "" && o.Email == "" {
		add("email", "missing: api_token is sent with the e-mail address of "+
			"the account that created it", "set email")
	}
	if !hasSession && o.APIKey == "" {
		if o.APIToken != "" {
			add("api_key", "missing: api_token alone reaches the Confluence sites "+
				"but cannot list org users",
				"set api_key to an org API key, or set email, password and totp_secret, "+
					"or session_token")
		} else if !hasPassword && !hasSecret {
			add("email, password, totp_secret, session_token or api_key",
				"missing: no credentials are set",
				"set email, password and totp_secret; or session_token; or api_key "+
					"(with email and api_token for site data), in the connection "+
					"block of an .spc file or as CONFLUENCE_* environment variables")
		}
	}
	if o.Email != "" && !strings.Contains(o.Email, "@") {
		add("email", "invalid: the value is not an e-mail address",
			"set email to the account's e-mail address")
	}
	if hasSecret {
		if _, err := NormalizeTOTPSecret(o.TOTPSecret); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				errs = append(errs, ce)
			}
		}
	}
	if o.SessionToken != "" && strings.ContainsAny(o.SessionToken, " ;\r\n\t") {
		add("session_token", "invalid: the value contains spaces or ';'",
			"paste only the value of the cloud.session.token cookie")
	}
	if o.OrgID != "" && !validID(o.OrgID) {
		add("org_id", "invalid: an org id contains only letters, digits, '-', '_' and ':'",
			"copy the org id from the admin hub URL (admin.atlassian.com/o/<org id>)")
	}
	for _, s := range o.Sites {
		if strings.TrimSpace(s) == "" {
			add("sites", "invalid: the list contains an empty entry",
				"list site host names, URLs or cloud ids, for example \"example.atlassian.net\"")
			break
		}
	}
	for _, u := range []struct{ setting, value string }{
		{"identity_url", o.IdentityURL},
		{"admin_hub_url", o.AdminHubURL},
		{"admin_api_url", o.AdminAPIURL},
	} {
		if u.value == "" {
			continue
		}
		if _, err := parseBaseURL(u.setting, u.value); err != nil {
			errs = append(errs, err)
		}
	}
	if o.SessionCacheDir != "" && !filepath.IsAbs(o.SessionCacheDir) {
		add("session_cache_path", "invalid: the path is relative, and the plugin's "+
			"working directory is not fixed", "set an absolute path")
	}
	if o.RequestTimeout < 0 {
		add("request_timeout", "invalid: the timeout is negative", "set a positive duration")
	}
	for _, r := range []struct {
		setting string
		value   int
	}{
		{"org_requests_per_minute", o.OrgRequestsPerMinute},
		{"site_requests_per_minute", o.SiteRequestsPerMinute},
	} {
		if r.value < NoLimit {
			add(r.setting, fmt.Sprintf("invalid value %d: the rate is negative", r.value),
				"set a positive number of requests a minute, 0 for the default, or NoLimit")
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	default:
		return errors.Join(errs...)
	}
}

// validID reports whether s can be used as one path segment as it is.
func validID(s string) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == ':' || r == '.'
		if !ok {
			return false
		}
	}
	return s != "" && s != "." && s != ".."
}

// parseBaseURL checks that raw is an absolute https URL, or an http URL of
// a loopback host, and returns it without a trailing slash. Plain http is
// rejected elsewhere because credentials would cross the network in the
// clear.
func parseBaseURL(setting, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Scheme == "" {
		return nil, &ConfigError{Setting: setting,
			Problem: "invalid: the value is not an absolute URL",
			Fix:     "set an absolute URL such as https://host"}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &ConfigError{Setting: setting,
			Problem: "invalid: the URL contains user info, a query or a fragment",
			Fix:     "set only scheme, host and an optional path"}
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return nil, &ConfigError{Setting: setting,
				Problem: "invalid: plain http is accepted only for loopback hosts",
				Fix:     "use an https URL"}
		}
	default:
		return nil, &ConfigError{Setting: setting,
			Problem: "invalid: the scheme is " + u.Scheme + ", not https",
			Fix:     "use an https URL"}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// isLoopbackHost reports whether host is localhost, 127.0.0.0/8 or ::1.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
