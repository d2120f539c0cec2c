// Package pricing models what Confluence Cloud costs: a price table per
// edition and billing cycle, amounts as int64 minor units of an ISO 4217
// currency, and the arithmetic that turns a user count into a bill and
// splits a bill over users so that the parts add up exactly.
//
// Monthly plans are priced by graduated per-user bands: each band prices
// the users that fall inside it, so the first 100 users cost the first
// band's price and user 101 onwards the next band's. Annual plans are
// bought in user tiers: a tier of up to N users has one price for the
// year, and the bill only drops when the count fits a lower tier at
// renewal.
//
// The package is pure: it sends no request and reads no clock.
package pricing
