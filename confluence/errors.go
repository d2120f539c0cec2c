package confluence

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

// shouldRetryError reports whether a call may succeed when repeated. The
// client already retries rate limits and server errors with Retry-After,
// so this layer only covers what outlasted those retries. Sign-in failures
// are never retried: repeating them could lock the account.
func shouldRetryError(ctx context.Context, d *plugin.QueryData, h *plugin.HydrateData,
	err error) bool {
	if isListCall(d, h) {
		// SDK v5.14.1 retries a list call ten times whatever MaxAttempts
		// is set to, and each retry scans from the start. The client has already
		// retried each request as Retry-After asked, so a list error is final.
		return false
	}
	if isTransient(err) {
		plugin.Logger(ctx).Debug("shouldRetryError", "retry", true, "api_error", err)
		return true
	}
	return false
}

// isListCall reports whether the failed call is a table's list call: the
// SDK calls it with the query's fetch type and no row item.
func isListCall(d *plugin.QueryData, h *plugin.HydrateData) bool {
	return d != nil && string(d.FetchType) == "list" && (h == nil || h.Item == nil)
}

// isTransient reports whether err is a rate limit, a server error or a
// network timeout.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var paused *atlassian.PausedError
	var signIn *atlassian.SignInError
	if errors.As(err, &paused) || errors.As(err, &signIn) {
		return false
	}
	var httpErr *atlassian.HTTPError
	if errors.As(err, &httpErr) {
		switch httpErr.Status {
		case http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable,
			http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// shouldIgnoreError turns a 404 Not Found response to a Get call into an
// empty result. A list call never ignores 404 or 410, because there they
// mean an endpoint is gone and an empty table would hide it.
func shouldIgnoreError(ctx context.Context, d *plugin.QueryData, h *plugin.HydrateData,
	err error) bool {
	if d == nil || string(d.FetchType) != "get" {
		return false
	}
	var httpErr *atlassian.HTTPError
	if errors.As(err, &httpErr) && httpErr.Status == http.StatusNotFound {
		plugin.Logger(ctx).Debug("shouldIgnoreError", "ignored", true, "api_error", err)
		return true
	}
	return false
}
