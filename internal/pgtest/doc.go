// Package pgtest runs a throwaway PostgreSQL server for tests and copies a
// Steampipe plugin's tables into it.
//
// Start runs the initdb and postgres programs of Debian's postgresql
// package (found under /usr/lib/postgresql/VERSION/bin) on a fresh data
// directory. The server listens only on a unix socket inside that
// directory, never on TCP, and is stopped and removed when the test ends.
// initdb and postgres reject running as root, so under root the server
// runs as the postgres system user that the Debian package creates, or
// else as the nobody user.
//
// ReadSchema reads a plugin's table schemas through the SDK's plugin
// server, CreateTablesFromSchema turns them into PostgreSQL tables with
// the column types Steampipe's foreign data wrapper uses, and LoadRows
// copies every row that the embedded SQLite engine (package sqlengine)
// returns, so that one query can run on both databases over the same data.
package pgtest
