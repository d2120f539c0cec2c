package atlassian

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Retry limits. Atlassian tells rate-limited clients to wait for the time
// in Retry-After or X-RateLimit-Reset; waits longer than maxRetryWait are
// clamped so that one query never stalls for hours on a bad header.
const (
	maxAttempts  = 6
	maxRetryWait = 60 * time.Second
	backoffBase  = 500 * time.Millisecond
	backoffMax   = 30 * time.Second
)

// rateLimitResetLayouts are the forms of X-RateLimit-Reset: ISO 8601 with
// or without seconds, with the zone as "Z", "+0000" or "+00:00".
var rateLimitResetLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
}

// retryAfter returns the wait a rate-limited or failing response requests,
// clamped to [0, maxRetryWait]. ok is false when the response names no wait.
func retryAfter(h http.Header, now time.Time) (wait time.Duration, ok bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if d, ok := parseRetryAfter(v, now); ok {
			return clampWait(d), true
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		for _, layout := range rateLimitResetLayouts {
			if t, err := time.Parse(layout, v); err == nil {
				return clampWait(t.Sub(now)), true
			}
		}
	}
	return 0, false
}

// parseRetryAfter reads Retry-After as delay seconds or an HTTP date
// (RFC 9110, section 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(maxRetryWait/time.Second) {
			// Too large for int64 or beyond the clamp: wait the maximum.
			return maxRetryWait, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return t.Sub(now), true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func clampWait(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	if d > maxRetryWait {
		return maxRetryWait
	}
	return d
}

// backoff returns the wait before attempt (2 for the first retry) when the
// response names none: exponential from backoffBase, capped at backoffMax,
// with the upper half jittered so that parallel queries spread out.
func backoff(attempt int, jitter func() float64) time.Duration {
	d := backoffBase
	for i := 2; i < attempt && d < backoffMax; i++ {
		d *= 2
	}
	if d > backoffMax {
		d = backoffMax
	}
	half := d / 2
	return half + time.Duration(jitter()*float64(half))
}

func defaultJitter() float64 { return rand.Float64() }

// sleepContext waits for d or until ctx is done, whichever comes first.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryableStatus reports whether status means "try again later".
func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status <= 599
}

// retryableNetError reports whether err is a dropped or refused connection
// or a timed-out exchange, as opposed to a cancelled context or an error
// that repeats (a bad URL, a TLS certificate problem).
func retryableNetError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
