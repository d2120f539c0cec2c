package atlassian

import (
	"context"
	"fmt"
	"slices"
)

type pacerKey struct{}

// pacer is the caller's pace function and the hosts it applies to.
type pacer struct {
	pace  func(context.Context) error
	hosts []HostKind // empty means every host but the identity host
}

// WithPacer returns a copy of ctx under which every API request the client
// sends to one of hosts (every host when none is given) first calls pace.
// A rate limiter owned by the caller, such as a
// golang.org/x/time/rate.Limiter's Wait, then spaces out the pages of a
// list and the retries of a request. A pace error aborts the request before it
// is sent. Sign-in requests to the identity host are never paced: they
// are few, and holding a TOTP code back could let it expire.
func WithPacer(ctx context.Context, pace func(context.Context) error,
	hosts ...HostKind) context.Context {
	if pace == nil {
		return ctx
	}
	return context.WithValue(ctx, pacerKey{}, pacer{pace: pace, hosts: hosts})
}

// pace waits on the pacer of ctx, if it applies to o's host, and then on
// the limiter the process shares for the org or site of o, before one
// request of o.
func (c *Client) pace(ctx context.Context, o *outgoing) error {
	if o.route.Host == HostIdentity {
		return nil
	}
	p, _ := ctx.Value(pacerKey{}).(pacer)
	if p.pace != nil && (len(p.hosts) == 0 || slices.Contains(p.hosts, o.route.Host)) {
		if err := p.pace(ctx); err != nil {
			return fmt.Errorf("%s request stopped while waiting for the rate limiter: %w",
				o.name(), err)
		}
	}
	return c.waitShared(ctx, o)
}
