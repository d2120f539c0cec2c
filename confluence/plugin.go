// Package confluence is the Steampipe plugin that shows who holds a
// Confluence Cloud license in an Atlassian organization and when each
// holder last used Confluence.
//
// Tables read the organization through internal/atlassian, which signs in
// to the admin hub with a browser session or calls the documented Admin
// API with an org API key. The plugin keeps one client per connection in
// the connection cache; sign-in sessions belong to the account, so several
// connections for one admin share one sign-in.
package confluence

import (
	"context"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"
)

// PluginName is the name the plugin reports to Steampipe.
const PluginName = "steampipe-plugin-confluence"

// Plugin returns the plugin definition that plugin.Serve starts.
func Plugin(ctx context.Context) *plugin.Plugin {
	return &plugin.Plugin{
		Name: PluginName,
		ConnectionConfigSchema: &plugin.ConnectionConfigSchema{
			NewInstance: func() any { return &Config{} },
		},
		DefaultTransform: transform.FromGo(),
		DefaultRetryConfig: &plugin.RetryConfig{
			ShouldRetryErrorFunc: shouldRetryError,
			MaxAttempts:          3,
			BackoffAlgorithm:     "Exponential",
			RetryInterval:        500,
			CappedDuration:       5000,
		},
		DefaultIgnoreConfig: &plugin.IgnoreConfig{
			ShouldIgnoreErrorFunc: shouldIgnoreError,
		},
		RateLimiters: rateLimiters(),
		TableMap: map[string]*plugin.Table{
			"confluence_group":         tableConfluenceGroup(ctx),
			"confluence_group_member":  tableConfluenceGroupMember(ctx),
			"confluence_license":       tableConfluenceLicense(ctx),
			"confluence_site":          tableConfluenceSite(ctx),
			"confluence_spend":         tableConfluenceSpend(ctx),
			"confluence_user":          tableConfluenceUser(ctx),
			"confluence_user_activity": tableConfluenceUserActivity(ctx),
		},
	}
}
