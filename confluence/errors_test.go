package confluence

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/context_key"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

func TestShouldIgnoreErrorGetOnly(t *testing.T) {
	ctx := context.WithValue(context.Background(), context_key.Logger, hclog.NewNullLogger())
	notFound := fmt.Errorf("get: %w", &atlassian.HTTPError{Status: http.StatusNotFound})
	gone := &atlassian.HTTPError{Status: http.StatusGone}

	get := &plugin.QueryData{FetchType: "get"}
	list := &plugin.QueryData{FetchType: "list"}
	if !shouldIgnoreError(ctx, get, nil, notFound) {
		t.Errorf("Get call: 404 not ignored")
	}
	if shouldIgnoreError(ctx, get, nil, gone) {
		t.Errorf("Get call: 410 ignored")
	}
	if shouldIgnoreError(ctx, get, nil, errors.New("other")) {
		t.Errorf("Get call: unrelated error ignored")
	}
	if shouldIgnoreError(ctx, list, nil, notFound) {
		t.Errorf("list call: 404 ignored")
	}
	if shouldIgnoreError(ctx, nil, nil, notFound) {
		t.Errorf("call without query data: 404 ignored")
	}
}

func TestShouldRetryErrorNotForLists(t *testing.T) {
	ctx := context.WithValue(context.Background(), context_key.Logger, hclog.NewNullLogger())
	limited := &atlassian.HTTPError{Status: http.StatusTooManyRequests}
	list := &plugin.QueryData{FetchType: "list"}
	get := &plugin.QueryData{FetchType: "get"}
	if shouldRetryError(ctx, list, &plugin.HydrateData{}, limited) {
		t.Errorf("list call: 429 retried, although the client already retried it")
	}
	if !shouldRetryError(ctx, list, &plugin.HydrateData{Item: siteRow{}}, limited) {
		t.Errorf("hydrate call of a list query: 429 not retried")
	}
	if !shouldRetryError(ctx, get, &plugin.HydrateData{}, limited) {
		t.Errorf("get call: 429 not retried")
	}
	if shouldRetryError(ctx, get, &plugin.HydrateData{}, atlassian.ErrWrongPassword) {
		t.Errorf("get call: wrong password retried")
	}
}

func TestIsTransient(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&atlassian.HTTPError{Status: http.StatusTooManyRequests}, true},
		{fmt.Errorf("wrapped: %w", &atlassian.HTTPError{Status: http.StatusBadGateway}), true},
		{&atlassian.HTTPError{Status: http.StatusNotFound}, false},
		{&atlassian.HTTPError{Status: http.StatusUnauthorized}, false},
		{&atlassian.PausedError{Cause: atlassian.ErrWrongPassword}, false},
		{atlassian.ErrWrongPassword, false},
		{errors.New("other"), false},
		{nil, false},
	}
	for _, tc := range cases {
		if got := isTransient(tc.err); got != tc.want {
			t.Errorf("isTransient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
