// Command steampipe-plugin-confluence is the Confluence Steampipe plugin.
// Started by Steampipe it serves the plugin over gRPC; started by hand it
// is a command line tool (see internal/cli).
package main

import (
	"os"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/shared"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/cli"
)

func main() {
	// Steampipe's plugin manager sets the go-plugin handshake cookie.
	if os.Getenv(shared.Handshake.MagicCookieKey) == shared.Handshake.MagicCookieValue {
		plugin.Serve(&plugin.ServeOpts{PluginFunc: confluence.Plugin})
		return
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
