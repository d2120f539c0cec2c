package confluence

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

// clientCacheKey is the connection cache key of the Atlassian client. The
// connection cache is already separate per connection, and the SDK clears
// it when the connection's config changes.
const clientCacheKey = "confluence_client"

// connect returns the connection's Atlassian client, building it on first
// use. Two queries racing on first use may each build one. Both use the
// account's on-disk session, so the extra client costs no sign-in.
func connect(ctx context.Context, d *plugin.QueryData) (*atlassian.Client, error) {
	if cached, ok := d.ConnectionCache.Get(ctx, clientCacheKey); ok {
		if client, ok := cached.(*atlassian.Client); ok {
			return client, nil
		}
	}

	cfg, err := GetConfig(d.Connection)
	if err != nil {
		plugin.Logger(ctx).Error("connect", "connection", d.Connection.Name, "config_error", err)
		return nil, err
	}
	opts := cfg.ClientOptions()
	opts.Logger = clientLogger(plugin.Logger(ctx))
	opts.LimiterOwner = "connection " + d.Connection.Name

	client, err := atlassian.NewClient(opts)
	if err != nil {
		plugin.Logger(ctx).Error("connect", "connection", d.Connection.Name, "client_error", err)
		return nil, fmt.Errorf("connection %q: %w", d.Connection.Name, err)
	}
	if err := d.ConnectionCache.Set(ctx, clientCacheKey, client); err != nil {
		// The client still works; the next query builds another one.
		plugin.Logger(ctx).Warn("connect", "connection", d.Connection.Name, "cache_error", err)
	}
	return client, nil
}

// clientLogger adapts the SDK's hclog logger to the client's Logger. The
// cached client outlives the query that built it, so its lines carry a
// fixed name instead of that query's call id.
func clientLogger(logger hclog.Logger) atlassian.Logger {
	return logger.ResetNamed("atlassian")
}
