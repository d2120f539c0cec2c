package emulator

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// rateLimiter is the org's token bucket. It holds at most burst tokens,
// starts full and refills continuously at perMinute tokens a minute; each
// request takes one token. A client may therefore send burst requests at
// once, then one every minute/perMinute. This is the model of
// golang.org/x/time/rate, so a client paced by such a limiter with the
// same rate and a burst no larger never receives a 429.
//
// NOTE: Atlassian publishes no rate-limit algorithm or numbers; the
// token bucket is the emulator's choice, not a copy of Atlassian's.
type rateLimiter struct {
	perMinute int
	burst     int
	tokens    float64
	last      time.Time
}

func newRateLimiter(perMinute, burst int, now time.Time) *rateLimiter {
	if burst == 0 {
		burst = perMinute
	}
	return &rateLimiter{perMinute: perMinute, burst: burst, tokens: float64(burst), last: now}
}

// take refills the bucket up to now and takes one token. It returns the
// whole tokens left and, when no token was available, how long until one is.
func (l *rateLimiter) take(now time.Time) (ok bool, remaining int, wait time.Duration) {
	perSecond := float64(l.perMinute) / 60
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = math.Min(float64(l.burst), l.tokens+elapsed.Seconds()*perSecond)
		l.last = now
	}
	if l.tokens >= 1 {
		l.tokens--
		return true, int(l.tokens), 0
	}
	wait = time.Duration((1 - l.tokens) / perSecond * float64(time.Second))
	return false, 0, wait
}

// limitRate applies the org's rate limit to one request of an admin hub
// or Admin API route. It sets X-RateLimit-Limit and X-RateLimit-Remaining
// on every such response. Over the limit it writes a 429 with
// Retry-After (whole seconds, rounded up) and X-RateLimit-Reset (the ISO
// 8601 time a request is accepted again) and returns false.
func (e *Emulator) limitRate(w http.ResponseWriter) bool {
	e.mu.Lock()
	e.counts.AdminRequests++
	if e.limiter == nil {
		e.mu.Unlock()
		return true
	}
	now := e.clock()
	ok, remaining, wait := e.limiter.take(now)
	if !ok {
		e.counts.RateLimited++
	}
	e.mu.Unlock()

	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(e.opts.RateLimitPerMinute))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	if ok {
		return true
	}
	secs := int64(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	reset := now.Add(wait).UTC()
	if reset.Truncate(time.Second) != reset {
		reset = reset.Truncate(time.Second).Add(time.Second)
	}
	h.Set("Retry-After", strconv.FormatInt(secs, 10))
	h.Set("X-RateLimit-Reset", reset.Format("2006-01-02T15:04:05Z"))
	writeError(w, http.StatusTooManyRequests,
		"rate limit of %d requests a minute exceeded for org %s; retry after %d s",
		e.opts.RateLimitPerMinute, e.org.ID, secs)
	return false
}
