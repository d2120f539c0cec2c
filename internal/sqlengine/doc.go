// Package sqlengine runs SQL over a Steampipe plugin without Postgres.
//
// Open starts the plugin in-process through the plugin SDK's own gRPC
// server type (called directly, with no socket), reads its schema and
// registers one SQLite virtual table per plugin table on a private
// in-memory modernc.org/sqlite database. A query then reaches the plugin
// through the same Execute entry point Steampipe uses:
//
//   - only the columns SQLite reads are requested, so hydrate functions
//     of unused columns never run;
//   - =, <, <=, > and >= conditions on key columns, with operators the
//     table declares, are sent as quals;
//   - SQLite skips re-checking a condition only when Options.ExactQual
//     reports that the plugin applies it exactly;
//   - a LIMIT is sent only when the plugin handled every condition of the
//     query exactly, so that no row the plugin returns is later dropped.
//
// Column values are mapped to SQLite storage classes: BOOL to INTEGER 0
// or 1, INT to INTEGER, DOUBLE to REAL, JSON to TEXT holding JSON,
// TIMESTAMP to TEXT in the UTC format 2006-01-02T15:04:05Z, and every
// other type to TEXT. A null column value is SQL NULL.
//
// The package has no code specific to any one plugin.
package sqlengine
