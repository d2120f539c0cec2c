package atlassian

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/time/rate"
)

// Request limits per org and per site, used when the matching option is 0.
//
// NOTE: Atlassian publishes no figures, so both are estimates. One
// practitioner saw about 200 requests a minute per org on the
// last-active-dates call, and the org default stays under that.
const (
	DefaultOrgRequestsPerMinute  = 180
	DefaultSiteRequestsPerMinute = 600
)

// NoLimit, as Options.OrgRequestsPerMinute or SiteRequestsPerMinute,
// turns that shared limiter off for the client.
const NoLimit = -1

// Burst sizes of the shared limiters: how many requests may leave at once
// after a pause.
const (
	orgBurst  = 10
	siteBurst = 20
)

// limitSpec is the rate and burst one owner asks of a shared limiter.
type limitSpec struct {
	perMinute int
	burst     int
}

// sharedEntry is one shared limiter with the rate each owner asked for.
// The limiter runs at the lowest of them.
type sharedEntry struct {
	limiter *rate.Limiter
	specs   map[string]limitSpec
}

// sharedLimiters holds one token bucket per org and per site for the whole
// process, so that every Client reading one org (for example two Steampipe
// connections of the same plugin process) draws on one budget.
var sharedLimiters = struct {
	mu sync.Mutex
	m  map[string]*sharedEntry
}{m: map[string]*sharedEntry{}}

// sharedLimiter records that owner asks for perMinute and burst on the
// limiter of key, and returns that limiter, running at the lowest rate
// and burst its owners ask for.
func sharedLimiter(key, owner string, perMinute, burst int) *rate.Limiter {
	spec := limitSpec{perMinute: perMinute, burst: min(burst, max(perMinute, 1))}

	sharedLimiters.mu.Lock()
	defer sharedLimiters.mu.Unlock()
	e, ok := sharedLimiters.m[key]
	if !ok {
		e = &sharedEntry{specs: map[string]limitSpec{}}
		sharedLimiters.m[key] = e
	}
	if old, ok := e.specs[owner]; ok && old == spec && e.limiter != nil {
		return e.limiter
	}
	e.specs[owner] = spec
	e.apply()
	return e.limiter
}

// apply sets the limiter to the lowest rate and burst of the owners,
// creating it on first use. Without owners it keeps its settings.
func (e *sharedEntry) apply() {
	if len(e.specs) == 0 {
		return
	}
	low := limitSpec{perMinute: math.MaxInt, burst: math.MaxInt}
	for _, s := range e.specs {
		low.perMinute = min(low.perMinute, s.perMinute)
		low.burst = min(low.burst, s.burst)
	}
	limit := rate.Limit(float64(low.perMinute) / 60)
	if e.limiter == nil {
		e.limiter = rate.NewLimiter(limit, low.burst)
		return
	}
	if e.limiter.Limit() != limit {
		e.limiter.SetLimit(limit)
	}
	if e.limiter.Burst() != low.burst {
		e.limiter.SetBurst(low.burst)
	}
}

// forgetOwner drops what owner asked of every shared limiter, so that a
// client built from a changed configuration starts afresh.
//
// NOTE: the rates of a connection removed from the configuration stay
// until the process ends, because the SDK calls no plugin hook then.
func forgetOwner(owner string) {
	sharedLimiters.mu.Lock()
	defer sharedLimiters.mu.Unlock()
	for _, e := range sharedLimiters.m {
		if _, ok := e.specs[owner]; ok {
			delete(e.specs, owner)
			e.apply()
		}
	}
}

// limiterFor returns the shared limiter request o waits on, or nil, and
// the limiter's name for errors. Admin hub and Admin API requests share
// one limiter per org id, which is globally unique. An admin request
// without an org id, such as the org list sent before the org is known,
// waits on none. Site requests share one limiter per site host.
func (c *Client) limiterFor(o *outgoing) (*rate.Limiter, string) {
	switch o.route.Host {
	case HostAdminHub, HostAdminAPI:
		perMinute := orDefaultRate(c.opts.OrgRequestsPerMinute, DefaultOrgRequestsPerMinute)
		org := o.org
		if org == "" {
			org = c.knownOrgID()
		}
		if perMinute == NoLimit || org == "" {
			return nil, ""
		}
		return sharedLimiter("org "+org, c.limiterOwner, perMinute, orgBurst), "org's"
	case HostSite:
		perMinute := orDefaultRate(c.opts.SiteRequestsPerMinute, DefaultSiteRequestsPerMinute)
		if perMinute == NoLimit {
			return nil, ""
		}
		return sharedLimiter("site "+siteKey(o.base), c.limiterOwner,
			perMinute, siteBurst), "site's"
	}
	return nil, ""
}

// siteKey returns the scheme and host of u in one spelling: lower case,
// without the scheme's default port.
func siteKey(u *url.URL) string {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port != "" && !(scheme == "https" && port == "443" || scheme == "http" && port == "80") {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 address
	}
	return scheme + "://" + host
}

func orDefaultRate(perMinute, def int) int {
	if perMinute == 0 {
		return def
	}
	return perMinute
}

// knownOrgID returns the configured or resolved org id, or "" before
// ResolveOrgID has found it.
func (c *Client) knownOrgID() string {
	if c.opts.OrgID != "" {
		return c.opts.OrgID
	}
	if id := c.orgID.Load(); id != nil {
		return *id
	}
	return ""
}

// waitShared waits for a token of the shared limiter of o, if any.
func (c *Client) waitShared(ctx context.Context, o *outgoing) error {
	l, name := c.limiterFor(o)
	if l == nil {
		return nil
	}
	err := l.Wait(ctx)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	} else if _, ok := ctx.Deadline(); ok {
		// Wait returns at once when the next token comes after the
		// deadline, before the context itself expires.
		err = fmt.Errorf("the next token comes after the query's deadline: %w",
			context.DeadlineExceeded)
	}
	return fmt.Errorf("%s request stopped while waiting for the %s rate limiter: %w",
		o.name(), name, err)
}
