package confluence

import (
	"context"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/rate_limiter"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

// serviceTag is the rate limiter tag every List, Get and Hydrate config
// carries, so that a limiter's where clause can pick the API it paces.
const serviceTag = "service"

// Values of serviceTag.
const (
	// serviceAdminAPI covers the Admin API, on api.atlassian.com or
	// through the admin hub: orgs, workspaces, user, group and activity
	// calls.
	serviceAdminAPI = "admin_api"
	// serviceSiteREST covers each Confluence site's REST API.
	serviceSiteREST = "site_rest"
)

var (
	adminAPITags = map[string]string{serviceTag: serviceAdminAPI}
	siteRESTTags = map[string]string{serviceTag: serviceSiteREST}
)

// Names of the default rate limiters. A limiter block of the same name in
// the .spc file's plugin block replaces the default.
const (
	adminAPILimiterName = "confluence_admin_api"
	siteRESTLimiterName = "confluence_site_rest"
)

// rateLimiters returns the default limiters, one instance per connection.
//
// NOTE: Atlassian publishes no request limits. The Admin API figure is an
// estimate: about 200 requests a minute per org was observed on the
// last-active-dates call, so the default stays at 180 a minute. These
// limiters are per connection. The client's own org and site limiters,
// which every connection of the process shares, keep two connections of
// one org within the org's budget. The site figure is a guess sized well
// below what Confluence Cloud pages serve to a browser.
func rateLimiters() []*rate_limiter.Definition {
	return []*rate_limiter.Definition{
		{
			Name:       adminAPILimiterName,
			FillRate:   3,
			BucketSize: 10,
			Scope:      []string{rate_limiter.RateLimiterScopeConnection},
			Where:      serviceTag + " = '" + serviceAdminAPI + "'",
		},
		{
			Name:       siteRESTLimiterName,
			FillRate:   10,
			BucketSize: 20,
			Scope:      []string{rate_limiter.RateLimiterScopeConnection},
			Where:      serviceTag + " = '" + serviceSiteREST + "'",
		},
	}
}

// pacedContext returns ctx with a pacer that waits on the list call's
// rate limiter before every Admin API and admin hub request the client
// sends. The SDK waits once per list call, but a list call here reads
// every page of a scan, and the activity fallback sends one request per
// user, so each request must wait for its own token. Every list is tagged
// for the Admin API, so the site REST requests a list sends (the licensed
// users of each site, for example) skip that limiter; the client's own
// limiter per site, site_requests_per_minute, paces them.
func pacedContext(ctx context.Context, d *plugin.QueryData) context.Context {
	return atlassian.WithPacer(ctx, func(ctx context.Context) error {
		d.WaitForListRateLimit(ctx)
		return ctx.Err()
	}, atlassian.HostAdminHub, atlassian.HostAdminAPI)
}

// LoopbackLimitSettings are connection settings that turn off the org and
// site limiters every connection of the process shares. With
// LoopbackRateLimiters, they let a local emulator on loopback serve as
// fast as it can.
const LoopbackLimitSettings = "org_requests_per_minute = 0\nsite_requests_per_minute = 0\n"

// LoopbackRateLimiters returns the plugin's limiters with their rates
// raised so far that a local emulator on loopback never waits on them.
// The demo and the benchmarks pass them to the plugin in place of the
// defaults, which are sized for Atlassian.
func LoopbackRateLimiters() []*proto.RateLimiterDefinition {
	var defs []*proto.RateLimiterDefinition
	for _, d := range rateLimiters() {
		defs = append(defs, &proto.RateLimiterDefinition{
			Name:       d.Name,
			FillRate:   10000,
			BucketSize: 10000,
			Scope:      d.Scope,
			Where:      d.Where,
		})
	}
	return defs
}
