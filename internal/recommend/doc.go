// Package recommend defines the plugin's savings recommendations once
// each and renders them to SQL for two engines: PostgreSQL, as Steampipe
// and Powerpipe run them, and SQLite, as the embedded engine runs them.
//
// Each Definition builds its query with squirrel. Every value a query
// depends on (thresholds, the evaluation time, exemption lists, price
// tiers) is a named parameter that Render binds as a placeholder, so no
// value ever becomes SQL text. Every query returns the columns listed in
// Columns.
package recommend
