package pricing

import (
	"errors"
	"fmt"
	"strings"
)

// Edition is a Confluence Cloud plan.
type Edition string

// Editions, as the site's systemInfo call names them.
const (
	Free       Edition = "free"
	Standard   Edition = "standard"
	Premium    Edition = "premium"
	Enterprise Edition = "enterprise"
)

// FreeUserLimit is the most users a Free plan takes; it costs nothing.
const FreeUserLimit = 10

// ParseEdition returns the edition named by s, in any letter case.
func ParseEdition(s string) (Edition, error) {
	e := Edition(strings.ToLower(strings.TrimSpace(s)))
	switch e {
	case Free, Standard, Premium, Enterprise:
		return e, nil
	}
	return "", fmt.Errorf("unknown edition %q: use free, standard, premium or enterprise", s)
}

// Cycle is a billing cycle.
type Cycle string

// Billing cycles.
const (
	Monthly Cycle = "monthly"
	Annual  Cycle = "annual"
)

// ParseCycle returns the cycle named by s, in any letter case.
func ParseCycle(s string) (Cycle, error) {
	c := Cycle(strings.ToLower(strings.TrimSpace(s)))
	switch c {
	case Monthly, Annual:
		return c, nil
	}
	return "", fmt.Errorf("unknown billing cycle %q: use monthly or annual", s)
}

// Band is one monthly volume band: users up to UpTo (inclusive) pay
// PerUser minor units each for the month. UpTo 0 means no upper limit
// and is allowed on the last band only.
type Band struct {
	UpTo    int64
	PerUser int64
}

// Tier is one annual user tier: up to Users users for Price minor units
// a year.
type Tier struct {
	Users int64
	Price int64
}

// Price is the price of one edition on one billing cycle: Bands for a
// monthly cycle, Tiers for an annual one.
type Price struct {
	Edition  Edition
	Cycle    Cycle
	Currency Currency
	Bands    []Band
	Tiers    []Tier
}

// Table is a set of prices in one currency.
type Table struct {
	// Date is when the prices were read from public sources; empty for a
	// table the user configured.
	Date   string
	Prices []Price
}

// name identifies a price entry in error messages.
func (p Price) name() string {
	return fmt.Sprintf("price %s/%s", p.Edition, p.Cycle)
}

// Validate checks every entry and reports every problem, each naming the
// entry and the fix.
func (t Table) Validate() error {
	var errs []error
	seen := map[string]bool{}
	currency := ""
	for i, p := range t.Prices {
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("price entry %d: %w", i+1, err))
			continue
		}
		key := string(p.Edition) + "/" + string(p.Cycle)
		if seen[key] {
			errs = append(errs, fmt.Errorf("%s: invalid: defined twice; keep one entry per "+
				"edition and billing cycle", p.name()))
		}
		seen[key] = true
		if currency == "" {
			currency = p.Currency.Code
		} else if p.Currency.Code != currency {
			errs = append(errs, fmt.Errorf("%s: invalid currency %s: the table is in %s, and "+
				"amounts in different currencies are never added; use one currency for every "+
				"entry", p.name(), p.Currency.Code, currency))
		}
	}
	return errors.Join(errs...)
}

// Validate checks one entry.
func (p Price) Validate() error {
	if _, err := ParseEdition(string(p.Edition)); err != nil {
		return err
	}
	if p.Edition == Free {
		return fmt.Errorf("%s: invalid: the Free plan is never charged; remove this entry",
			p.name())
	}
	if _, err := ParseCycle(string(p.Cycle)); err != nil {
		return fmt.Errorf("edition %s: %w", p.Edition, err)
	}
	if _, err := LookupCurrency(p.Currency.Code); err != nil {
		return fmt.Errorf("%s: %w", p.name(), err)
	}
	if p.Cycle == Monthly {
		if len(p.Tiers) > 0 || len(p.Bands) == 0 {
			return fmt.Errorf("%s: invalid: a monthly price needs per-user bands and no tiers",
				p.name())
		}
		return validateBands(p)
	}
	if len(p.Bands) > 0 || len(p.Tiers) == 0 {
		return fmt.Errorf("%s: invalid: an annual price needs user tiers and no bands", p.name())
	}
	return validateTiers(p)
}

func validateBands(p Price) error {
	last := int64(0)
	for i, b := range p.Bands {
		at := fmt.Sprintf("%s, band %d", p.name(), i+1)
		switch {
		case b.PerUser < 0:
			return fmt.Errorf("%s: invalid per_user %s: negative; use 0 or more", at,
				FormatAmount(b.PerUser, p.Currency))
		case b.UpTo < 0:
			return fmt.Errorf("%s: invalid up_to %d: negative; use a user count, or 0 for "+
				"no upper limit", at, b.UpTo)
		case b.UpTo == 0 && i != len(p.Bands)-1:
			return fmt.Errorf("%s: invalid: up_to 0 (no upper limit) overlaps every later "+
				"band; make it the last band", at)
		case b.UpTo != 0 && b.UpTo <= last:
			return fmt.Errorf("%s: invalid up_to %d: overlaps the previous band, which ends "+
				"at %d; list bands in ascending up_to order without repeats", at, b.UpTo, last)
		}
		last = b.UpTo
	}
	return nil
}

func validateTiers(p Price) error {
	last := int64(0)
	for i, t := range p.Tiers {
		at := fmt.Sprintf("%s, tier %d", p.name(), i+1)
		switch {
		case t.Price < 0:
			return fmt.Errorf("%s: invalid price %s: negative; use 0 or more", at,
				FormatAmount(t.Price, p.Currency))
		case t.Users <= 0:
			return fmt.Errorf("%s: invalid users %d: use the tier's user count, 1 or more",
				at, t.Users)
		case t.Users <= last:
			return fmt.Errorf("%s: invalid users %d: overlaps the previous tier of %d users; "+
				"list tiers in ascending order without repeats", at, t.Users, last)
		}
		last = t.Users
	}
	return nil
}

// Lookup returns the entry of an edition and cycle.
func (t Table) Lookup(e Edition, c Cycle) (Price, bool) {
	for _, p := range t.Prices {
		if p.Edition == e && p.Cycle == c {
			return p, true
		}
	}
	return Price{}, false
}

// Currency returns the table's currency, or false for an empty table.
func (t Table) Currency() (Currency, bool) {
	if len(t.Prices) == 0 {
		return Currency{}, false
	}
	return t.Prices[0].Currency, true
}

// MonthlyCost returns the monthly bill of users users, in minor units,
// by graduated bands: each band prices the users inside it. It fails when
// the last band has an upper limit below users.
func (p Price) MonthlyCost(users int64) (int64, error) {
	if p.Cycle != Monthly {
		return 0, fmt.Errorf("%s: has no monthly bands", p.name())
	}
	if users < 0 {
		return 0, fmt.Errorf("invalid user count %d: negative", users)
	}
	var total int64
	lower := int64(0) // users priced by earlier bands
	for _, b := range p.Bands {
		if lower >= users {
			break
		}
		upper := users
		if b.UpTo != 0 && b.UpTo < users {
			upper = b.UpTo
		}
		var err error
		if total, err = mulAdd(total, upper-lower, b.PerUser); err != nil {
			return 0, fmt.Errorf("%s: %w", p.name(), err)
		}
		lower = upper
	}
	if lower < users {
		return 0, fmt.Errorf("%s: no band for %d users: the last band ends at %d; add a band "+
			"with up_to = 0 (no upper limit)", p.name(), users, lower)
	}
	return total, nil
}

// TierFor returns the smallest tier that holds users users. It fails
// when users is above the largest tier.
func (p Price) TierFor(users int64) (Tier, error) {
	if p.Cycle != Annual {
		return Tier{}, fmt.Errorf("%s: has no annual tiers", p.name())
	}
	for _, t := range p.Tiers {
		if users <= t.Users {
			return t, nil
		}
	}
	return Tier{}, fmt.Errorf("%s: no tier for %d users: the largest tier is %d users; add a "+
		"larger tier", p.name(), users, p.Tiers[len(p.Tiers)-1].Users)
}

// LowerTier returns the tier just below the one of tierUsers users, or
// false when that tier is the smallest or not in the table.
func (p Price) LowerTier(tierUsers int64) (Tier, bool) {
	for i, t := range p.Tiers {
		if t.Users == tierUsers {
			if i == 0 {
				return Tier{}, false
			}
			return p.Tiers[i-1], true
		}
	}
	return Tier{}, false
}

// SeatsToLowerTier returns how many of users users must lose access before
// the count fits lower, the next lower tier: zero when it fits already.
func SeatsToLowerTier(users int64, lower Tier) int64 {
	return max(0, users-lower.Users)
}

// RenewalSaving returns what an annual plan saves at renewal when its
// count falls from the tier current into the tier lower: the difference
// of their prices, never negative.
func RenewalSaving(current, lower Tier) int64 {
	return max(0, current.Price-lower.Price)
}
