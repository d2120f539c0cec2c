// Package atlassian is the HTTP client the confluence plugin uses to read
// an Atlassian organization and its Confluence sites.
//
// It reaches the Admin API in one of two ways. The session route goes
// through the admin hub with a browser session, signed in with e-mail,
// password and a TOTP code or pasted as a cloud.session.token cookie. The
// documented route sends an org API key to the Admin API host. Each
// site's REST API is read with the session or a user API token. Every request path is in the route table of
// routes.go, and the sign-in flow's paths and field names are in one table
// in signin.go, so that docs/wire-format.md and the `doctor` command can
// be compared with them.
//
// Sessions belong to an account (identity URL and e-mail), not to a
// connection: they are cached on disk with 0600 permissions and sign-ins
// are serialized across goroutines and processes by a lock per account.
//
// The package does not import the Steampipe plugin SDK, and it never logs
// a password, TOTP secret or code, API key or token, cookie or response
// body.
package atlassian
