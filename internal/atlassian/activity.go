package atlassian

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// Concurrency of LastActiveDatesMany.
const (
	DefaultActivityConcurrency = 8
	// maxActivityConcurrency bounds the requests in flight whatever the
	// caller requests, because all of them share the org's rate limit.
	maxActivityConcurrency = 64
)

// activityResult is the outcome of one user's last-active-dates request.
type activityResult struct {
	accountID string
	activity  LastActive
	err       error
}

// LastActiveDatesMany reads the last-active dates of each account in
// accountIDs with up to concurrency requests in flight (0 or less means
// DefaultActivityConcurrency, and at most 64 are used). It calls fn once
// per account, in completion order rather than input order, from the
// calling goroutine, so fn needs no locking.
//
// A user whose request is refused (403) or finds no user (404) is passed
// to fn with an error wrapping both ErrActivityUnknown and the
// *HTTPError, so that the caller can mark the dates unknown. Any other
// error, after the client's retries, stops every request and is returned.
// The call also stops, returning nil, when fn returns false, and returns
// the context's error when ctx is done. No goroutine it started is still
// running when it returns.
func (c *Client) LastActiveDatesMany(ctx context.Context, orgID string, accountIDs []string,
	concurrency int, fn func(accountID string, activity LastActive, err error) bool) error {
	if len(accountIDs) == 0 {
		return nil
	}
	if concurrency <= 0 {
		concurrency = DefaultActivityConcurrency
	}
	concurrency = min(concurrency, maxActivityConcurrency, len(accountIDs))

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Cancel before waiting, so that workers blocked on a request, a
	// retry wait or a send give up at once.
	defer wg.Wait()
	defer cancel()

	jobs := make(chan string)
	results := make(chan activityResult)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for _, id := range accountIDs {
			select {
			case jobs <- id:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				la, err := c.LastActiveDates(ctx, orgID, id)
				select {
				case results <- activityResult{accountID: id, activity: la, err: err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	for range accountIDs {
		var r activityResult
		select {
		case r = <-results:
		case <-parent.Done():
			return fmt.Errorf("reading last-active dates stopped: %w", parent.Err())
		}
		if r.err != nil {
			if err := parent.Err(); err != nil {
				return fmt.Errorf("reading last-active dates stopped: %w", err)
			}
			if !activityUnknown(r.err) {
				return r.err
			}
			r.err = fmt.Errorf("%w for account %s: %w", ErrActivityUnknown, r.accountID, r.err)
		}
		if !fn(r.accountID, r.activity, r.err) {
			return nil
		}
	}
	return nil
}

// activityUnknown reports whether err is a per-user refusal (403) or a
// missing user (404), which leaves that user's dates unknown but does not
// stop the other users.
func activityUnknown(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) &&
		(he.Status == http.StatusForbidden || he.Status == http.StatusNotFound)
}
