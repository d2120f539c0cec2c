package atlassian

import (
	"context"
	"fmt"
)

type pacerKey struct{}

// WithPacer returns a copy of ctx under which every API request the client
// sends first calls pace, so that a rate limiter owned by the caller (for
// example a golang.org/x/time/rate.Limiter's Wait) spaces out the pages
// of a list and the retries of a request. A pace error aborts the request
// before it is sent. Sign-in requests to the identity host are not paced:
// they are few, and holding a TOTP code back could let it expire.
func WithPacer(ctx context.Context, pace func(context.Context) error) context.Context {
	if pace == nil {
		return ctx
	}
	return context.WithValue(ctx, pacerKey{}, pace)
}

// pace waits on the pacer of ctx, if any, and then on the limiter the
// process shares for the org or site of o, before one request of o.
func (c *Client) pace(ctx context.Context, o *outgoing) error {
	if o.route.Host == HostIdentity {
		return nil
	}
	if pace, _ := ctx.Value(pacerKey{}).(func(context.Context) error); pace != nil {
		if err := pace(ctx); err != nil {
			return fmt.Errorf("%s request stopped while waiting for the rate limiter: %w",
				o.name(), err)
		}
	}
	return c.waitShared(ctx, o)
}
