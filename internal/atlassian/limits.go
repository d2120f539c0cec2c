package atlassian

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/time/rate"
)

// Request limits per org and per site, used when the matching option is 0.
//
// NOTE: Atlassian publishes no figures. The org default stays under the
// about 200 requests a minute per org that one practitioner saw on the
// last-active-dates call; the site default is an estimate.
const (
	DefaultOrgRequestsPerMinute  = 180
	DefaultSiteRequestsPerMinute = 600
)

// NoLimit, as Options.OrgRequestsPerMinute or SiteRequestsPerMinute,
// turns that shared limiter off.
const NoLimit = -1

// Burst sizes of the shared limiters: how many requests may leave at once
// after a pause.
const (
	orgBurst  = 10
	siteBurst = 20
)

// sharedLimiters holds one token bucket per org and per site for the whole
// process, so that every Client reading one org (for example two Steampipe
// connections of the same plugin process) draws on one budget.
var sharedLimiters = struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}{m: map[string]*rate.Limiter{}}

// sharedLimiter returns the process's limiter for key, creating it with
// perMinute and burst. When clients set different rates for one key, the
// lowest rate and burst apply to all of them until the process ends.
func sharedLimiter(key string, perMinute, burst int) *rate.Limiter {
	limit := rate.Limit(float64(perMinute) / 60)
	burst = min(burst, max(perMinute, 1))

	sharedLimiters.mu.Lock()
	defer sharedLimiters.mu.Unlock()
	l, ok := sharedLimiters.m[key]
	if !ok {
		l = rate.NewLimiter(limit, burst)
		sharedLimiters.m[key] = l
		return l
	}
	if limit < l.Limit() {
		l.SetLimit(limit)
	}
	if burst < l.Burst() {
		l.SetBurst(burst)
	}
	return l
}

// limiterFor returns the shared limiter request o waits on, or nil. Admin
// requests share one limiter per host and org id: the org list request,
// sent before the org id is known, waits on none. Site requests share one
// per site. Sign-in requests are never held back, because a delayed TOTP
// code can expire.
func (c *Client) limiterFor(o *outgoing) *rate.Limiter {
	switch o.route.Host {
	case HostAdminHub, HostAdminAPI:
		perMinute := orDefaultRate(c.opts.OrgRequestsPerMinute, DefaultOrgRequestsPerMinute)
		org := c.knownOrgID()
		if perMinute == NoLimit || org == "" {
			return nil
		}
		return sharedLimiter("org "+o.base.String()+" "+org, perMinute, orgBurst)
	case HostSite:
		perMinute := orDefaultRate(c.opts.SiteRequestsPerMinute, DefaultSiteRequestsPerMinute)
		if perMinute == NoLimit {
			return nil
		}
		return sharedLimiter("site "+o.base.Scheme+"://"+o.base.Host, perMinute, siteBurst)
	}
	return nil
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
	if id := c.knownOrg.Load(); id != nil {
		return *id
	}
	return ""
}

// waitShared waits for a token of the shared limiter of o, if any.
func (c *Client) waitShared(ctx context.Context, o *outgoing) error {
	l := c.limiterFor(o)
	if l == nil {
		return nil
	}
	if err := l.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("%s request stopped while waiting for the org's rate limiter: %w",
			o.name(), err)
	}
	return nil
}
