package atlassian

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client is the Atlassian HTTP client. It implements ClientAPI and
// SiteAPI, and is safe for concurrent use.
type Client struct {
	opts       Options
	log        Logger
	identity   *url.URL
	adminHub   *url.URL
	adminAPI   *url.URL
	totpSecret string // normalized
	httpc      *http.Client
	timeout    time.Duration
	now        func() time.Time
	// sleep and jitter are replaced in tests so that retry waits take no
	// time and backoff is predictable.
	sleep  func(context.Context, time.Duration) error
	jitter func() float64
	sess   *sessionManager // nil without a session route

	orgMu sync.Mutex // serializes the org lookup of ResolveOrgID
	// orgID is the resolved org id. It is atomic so that the rate limiter
	// lookup of the org list request, sent while ResolveOrgID holds orgMu,
	// can read it without waiting.
	orgID atomic.Pointer[string]

	// limiterOwner names the client's rates in the shared limiters.
	limiterOwner string
}

var (
	_ ClientAPI = (*Client)(nil)
	_ SiteAPI   = (*Client)(nil)
)

// NewClient validates opts and returns a client. It sends no request.
func NewClient(opts Options) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts, log: opts.Logger, httpc: newHTTPClient(), timeout: opts.RequestTimeout,
		now: opts.Now, sleep: sleepContext, jitter: defaultJitter}
	if c.log == nil {
		c.log = nopLogger{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.timeout == 0 {
		c.timeout = DefaultRequestTimeout
	}
	c.limiterOwner = opts.LimiterOwner
	if c.limiterOwner == "" {
		c.limiterOwner = fmt.Sprintf("client %p", c)
	} else {
		// A new client of the owner replaces the old one's rates, so that
		// a changed setting applies at once, lower or higher.
		forgetOwner(c.limiterOwner)
	}

	var err error
	if c.identity, err = parseBaseURL("identity_url", orDefault(opts.IdentityURL,
		DefaultIdentityURL)); err != nil {
		return nil, err
	}
	if c.adminHub, err = parseBaseURL("admin_hub_url", orDefault(opts.AdminHubURL,
		DefaultAdminHubURL)); err != nil {
		return nil, err
	}
	if c.adminAPI, err = parseBaseURL("admin_api_url", orDefault(opts.AdminAPIURL,
		DefaultAdminAPIURL)); err != nil {
		return nil, err
	}

	if opts.TOTPSecret != "" {
		if c.totpSecret, err = NormalizeTOTPSecret(opts.TOTPSecret); err != nil {
			return nil, err
		}
	}
	if opts.SessionToken != "" || opts.Password != "" {
		c.sess = newSessionManager(c)
	}
	return c, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

type nopLogger struct{}

func (nopLogger) Trace(string, ...any) {}
func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

// adminRoute returns the route of an Admin API endpoint: the API key when
// set, since it is the documented route, else the session.
func (c *Client) adminRoute(e Endpoint) (Route, error) {
	switch {
	case c.opts.APIKey != "":
		r, _ := LookupRoute(e, CredentialAPIKey)
		return r, nil
	case c.sess != nil:
		r, _ := LookupRoute(e, CredentialSession)
		return r, nil
	}
	return Route{}, &ConfigError{Setting: "api_key",
		Problem: "missing: listing " + string(e) + " needs an org API key or a session",
		Fix:     "set api_key, or email, password and totp_secret, or session_token"}
}

// siteRoute returns the route of a site endpoint: the API token when set,
// else the session.
func (c *Client) siteRoute(e Endpoint) (Route, error) {
	switch {
	case c.opts.APIToken != "":
		r, _ := LookupRoute(e, CredentialAPIToken)
		return r, nil
	case c.sess != nil:
		r, _ := LookupRoute(e, CredentialSession)
		return r, nil
	}
	return Route{}, &ConfigError{Setting: "api_token",
		Problem: "missing: reading a Confluence site needs a user API token or a session",
		Fix:     "set email and api_token, or email, password and totp_secret, or session_token"}
}

func (c *Client) hostBase(r Route) *url.URL {
	switch r.Host {
	case HostAdminHub:
		return c.adminHub
	case HostAdminAPI:
		return c.adminAPI
	case HostIdentity:
		return c.identity
	}
	return nil
}

// siteBase parses a workspace's HostURL into the root of the site. A
// trailing /wiki is dropped because the route paths start at the root.
func siteBase(siteURL string) (*url.URL, error) {
	raw := strings.TrimSpace(siteURL)
	if raw != "" && !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := parseBaseURL("sites", raw)
	if err != nil {
		return nil, fmt.Errorf("invalid site URL %q: expected https://<name>.atlassian.net", siteURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/wiki")
	return u, nil
}

// call sends one request of route and decodes its JSON response into out.
// With the session credential, an response that means the session expired
// is followed by one renewal (a newer cached session or a new sign-in)
// and one more try.
func (c *Client) call(ctx context.Context, o *outgoing, out any) error {
	renewed := false
	for {
		if o.route.Credential == CredentialSession {
			if c.sess == nil {
				return fmt.Errorf("%s request failed: no session is configured", o.name())
			}
			tok, err := c.sess.token(ctx)
			if err != nil {
				return err
			}
			o.session = tok
		}
		res, err := c.send(ctx, o)
		if err != nil {
			return err
		}
		if o.route.Credential == CredentialSession && c.sessionExpiredResponse(res) {
			if renewed {
				return fmt.Errorf("%w: the %s host rejected a new session for %s "+
					"(run `steampipe-plugin-confluence doctor`)", ErrSessionExpired, o.route.Host,
					o.name())
			}
			c.log.Info("atlassian.session", "result", "rejected", "route", o.name(),
				"status", res.status)
			if _, err := c.sess.renew(ctx, o.session); err != nil {
				return err
			}
			renewed = true
			continue
		}
		return c.decodeResponse(o, res, out)
	}
}

// newAdminRequest builds a request of an Admin API endpoint.
func (c *Client) newAdminRequest(e Endpoint, ids map[string]string) (*outgoing, error) {
	r, err := c.adminRoute(e)
	if err != nil {
		return nil, err
	}
	p, err := expandPath(r.Path, ids)
	if err != nil {
		return nil, err
	}
	return &outgoing{route: r, base: c.hostBase(r), path: p, org: ids["orgId"]}, nil
}

// newSiteRequest builds a request of a site endpoint.
func (c *Client) newSiteRequest(e Endpoint, siteURL string,
	ids map[string]string) (*outgoing, error) {
	r, err := c.siteRoute(e)
	if err != nil {
		return nil, err
	}
	base, err := siteBase(siteURL)
	if err != nil {
		return nil, err
	}
	p, err := expandPath(r.Path, ids)
	if err != nil {
		return nil, err
	}
	return &outgoing{route: r, base: base, path: p}, nil
}
