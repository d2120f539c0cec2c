// Package emulator serves a generated Atlassian organization on loopback
// HTTP listeners, for demos and for the plugin's tests.
//
// It implements the wire format of docs/wire-format.md on its own, without
// the plugin's client code, so that a test fails when the client drifts
// from that format. Each Atlassian host (identity, admin hub, Admin API and
// every site) gets its own port, so a credential sent to the wrong host is
// seen and counted. A control host reports request counts and takes
// injected faults (rate limits, server errors, HTML responses, delays,
// expired sessions, bot checks). Options can limit the org's request
// rate, put it on the original user management experience, or leave
// activity out of the user search.
//
// The organization is generated from Options.Seed and Options.Now, so a
// test can compute expected results from Org without HTTP. Credentials
// are random on every New and never derive from the seed.
//
// The emulator responds 405 to every request that would change state and
// counts it, because the plugin must only read.
package emulator
