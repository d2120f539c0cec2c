package pricing

import (
	"strings"
	"testing"
)

var usd = Currency{Code: "USD", Exponent: 2}

func TestParseAmount(t *testing.T) {
	jpy := Currency{Code: "JPY", Exponent: 0}
	cases := []struct {
		text string
		cur  Currency
		want int64
	}{
		{"6.40", usd, 640},
		{"6.4", usd, 640},
		{"6", usd, 600},
		{"0.01", usd, 1},
		{" 1200.00 ", usd, 120000},
		{"-3.50", usd, -350},
		{"+2.05", usd, 205},
		{"980", jpy, 980},
		{"92233720368547758.07", usd, 9223372036854775807},
	}
	for _, c := range cases {
		got, err := ParseAmount(c.text, c.cur)
		if err != nil {
			t.Errorf("ParseAmount(%q, %s): %v", c.text, c.cur.Code, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseAmount(%q, %s) = %d, want %d", c.text, c.cur.Code, got, c.want)
		}
	}
}

func TestParseAmountRejects(t *testing.T) {
	cases := []struct {
		text, want string
	}{
		{"", "empty"},
		{"6.405", "2 decimal places"},
		{"6,40", "decimal such as"},
		{"1e3", "decimal such as"},
		{".5", "decimal such as"},
		{"5.", "decimal such as"},
		{"92233720368547758.08", "too large"},
	}
	for _, c := range cases {
		_, err := ParseAmount(c.text, usd)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseAmount(%q) error = %v, want one containing %q", c.text, err, c.want)
		}
	}
	if _, err := ParseAmount("1.5", Currency{Code: "JPY"}); err == nil {
		t.Errorf("ParseAmount(1.5, JPY) accepted a fraction of a yen")
	}
}

func TestFormatAmount(t *testing.T) {
	cases := []struct {
		minor int64
		cur   Currency
		want  string
	}{
		{640, usd, "6.40"},
		{5, usd, "0.05"},
		{0, usd, "0.00"},
		{-1234, usd, "-12.34"},
		{980, Currency{Code: "JPY"}, "980"},
	}
	for _, c := range cases {
		if got := FormatAmount(c.minor, c.cur); got != c.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", c.minor, c.cur.Code, got, c.want)
		}
	}
}

func TestLookupCurrency(t *testing.T) {
	c, err := LookupCurrency("eur")
	if err != nil || c.Code != "EUR" || c.Exponent != 2 {
		t.Errorf("LookupCurrency(eur) = %+v, %v; want EUR with exponent 2", c, err)
	}
	if c, err := LookupCurrency("JPY"); err != nil || c.Exponent != 0 {
		t.Errorf("LookupCurrency(JPY) = %+v, %v; want exponent 0", c, err)
	}
	if _, err := LookupCurrency("XYZ"); err == nil || !strings.Contains(err.Error(), "ISO 4217") {
		t.Errorf("LookupCurrency(XYZ) error = %v, want unknown currency", err)
	}
}

func TestDivRoundHalfUp(t *testing.T) {
	cases := []struct{ a, b, want int64 }{
		{10, 4, 3}, // 2.5 rounds up
		{9, 4, 2},  // 2.25
		{11, 4, 3}, // 2.75
		{12, 4, 3},
		{-10, 4, -3},
		{0, 7, 0},
		{640000, 12, 53333}, // 53333.33
	}
	for _, c := range cases {
		if got := DivRoundHalfUp(c.a, c.b); got != c.want {
			t.Errorf("DivRoundHalfUp(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestSplitAddsUpExactly(t *testing.T) {
	cases := []struct {
		name  string
		total int64
		ids   []string
		want  map[string]int64
	}{
		{"even", 900, []string{"c", "a", "b"}, map[string]int64{"a": 300, "b": 300, "c": 300}},
		// 1000 / 3 = 333 rest 1: the first id in order gets the extra cent.
		{"remainder one", 1000, []string{"c", "b", "a"},
			map[string]int64{"a": 334, "b": 333, "c": 333}},
		// 1001 / 3 = 333 rest 2: a and b get one more.
		{"remainder two", 1001, []string{"b", "c", "a"},
			map[string]int64{"a": 334, "b": 334, "c": 333}},
		{"less than one each", 2, []string{"z", "y", "x"},
			map[string]int64{"x": 1, "y": 1, "z": 0}},
		{"negative credit", -1000, []string{"b", "a", "c"},
			map[string]int64{"a": -334, "b": -333, "c": -333}},
		{"zero", 0, []string{"a"}, map[string]int64{"a": 0}},
		{"no users, nothing to split", 0, nil, map[string]int64{}},
	}
	for _, c := range cases {
		got, err := Split(c.total, c.ids)
		if err != nil {
			t.Errorf("%s: Split: %v", c.name, err)
			continue
		}
		var sum int64
		for _, v := range got {
			sum += v
		}
		if sum != c.total {
			t.Errorf("%s: parts add up to %d, want %d", c.name, sum, c.total)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d parts, want %d", c.name, len(got), len(c.want))
		}
		for id, w := range c.want {
			if got[id] != w {
				t.Errorf("%s: part of %s = %d, want %d", c.name, id, got[id], w)
			}
		}
	}
}

func TestSplitRejects(t *testing.T) {
	if _, err := Split(100, nil); err == nil {
		t.Errorf("Split(100, no users) succeeded, want an error")
	}
	if _, err := Split(100, []string{"a", "a"}); err == nil {
		t.Errorf("Split over a duplicate id succeeded, want an error")
	}
}

// monthlyStandard is a two-band table: users 1 to 100 at 6.40, every
// user above 100 at 5.10.
var monthlyStandard = Price{Edition: Standard, Cycle: Monthly, Currency: usd,
	Bands: []Band{{100, 640}, {0, 510}}}

func TestMonthlyCostGraduated(t *testing.T) {
	cases := []struct {
		users int64
		want  int64
	}{
		{0, 0},
		{1, 640},
		{99, 99 * 640},
		{100, 100 * 640},            // last user of the first band
		{101, 100*640 + 1*510},      // first user of the second band
		{250, 100*640 + 150*510},    // 64000 + 76500
		{10000, 100*640 + 9900*510}, // unbounded last band
	}
	for _, c := range cases {
		got, err := monthlyStandard.MonthlyCost(c.users)
		if err != nil {
			t.Errorf("MonthlyCost(%d): %v", c.users, err)
			continue
		}
		if got != c.want {
			t.Errorf("MonthlyCost(%d) = %d, want %d", c.users, got, c.want)
		}
	}
}

func TestMonthlyCostBeyondLastBand(t *testing.T) {
	capped := Price{Edition: Premium, Cycle: Monthly, Currency: usd,
		Bands: []Band{{10, 1200}, {20, 1100}}}
	got, err := capped.MonthlyCost(20)
	if err != nil || got != 10*1200+10*1100 {
		t.Errorf("MonthlyCost(20) = %d, %v; want %d", got, err, 10*1200+10*1100)
	}
	if _, err := capped.MonthlyCost(21); err == nil || !strings.Contains(err.Error(), "up_to = 0") {
		t.Errorf("MonthlyCost(21) error = %v, want one naming the missing band", err)
	}
}

var annualStandard = Price{Edition: Standard, Cycle: Annual, Currency: usd,
	Tiers: []Tier{{10, 60000}, {25, 150000}, {50, 300000}, {100, 600000}}}

func TestTierHelpers(t *testing.T) {
	cases := []struct {
		users      int64
		tier       int64
		price      int64
		lower      int64 // 0 when there is no lower tier
		toLower    int64
		saving     int64
		hasLower   bool
		wantTierOK bool
	}{
		{1, 10, 60000, 0, 0, 0, false, true},
		{10, 10, 60000, 0, 0, 0, false, true},
		// 11 users need the 25-user tier; one user less fits the 10 tier.
		{11, 25, 150000, 10, 1, 90000, true, true},
		{25, 25, 150000, 10, 15, 90000, true, true},
		{26, 50, 300000, 25, 1, 150000, true, true},
		{87, 100, 600000, 50, 37, 300000, true, true},
		{100, 100, 600000, 50, 50, 300000, true, true},
		{101, 0, 0, 0, 0, 0, false, false},
	}
	for _, c := range cases {
		tier, err := annualStandard.TierFor(c.users)
		if !c.wantTierOK {
			if err == nil {
				t.Errorf("TierFor(%d) = %+v, want an error", c.users, tier)
			}
			continue
		}
		if err != nil || tier.Users != c.tier || tier.Price != c.price {
			t.Errorf("TierFor(%d) = %+v, %v; want %d users at %d", c.users, tier, err, c.tier,
				c.price)
			continue
		}
		lower, ok := annualStandard.LowerTier(tier.Users)
		if ok != c.hasLower {
			t.Errorf("LowerTier(%d) found = %v, want %v", tier.Users, ok, c.hasLower)
			continue
		}
		if !ok {
			continue
		}
		if lower.Users != c.lower {
			t.Errorf("LowerTier(%d) = %d users, want %d", tier.Users, lower.Users, c.lower)
		}
		if got := SeatsToLowerTier(c.users, lower); got != c.toLower {
			t.Errorf("SeatsToLowerTier(%d, %d) = %d, want %d", c.users, lower.Users, got,
				c.toLower)
		}
		if got := RenewalSaving(tier, lower); got != c.saving {
			t.Errorf("RenewalSaving(%d -> %d) = %d, want %d", tier.Users, lower.Users, got,
				c.saving)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	eur := Currency{Code: "EUR", Exponent: 2}
	cases := []struct {
		name  string
		table Table
		want  []string
	}{
		{"negative band price", Table{Prices: []Price{{Edition: Standard, Cycle: Monthly,
			Currency: usd, Bands: []Band{{100, -640}, {0, 510}}}}},
			[]string{"price standard/monthly, band 1", "per_user -6.40", "negative"}},
		{"negative tier price", Table{Prices: []Price{{Edition: Premium, Cycle: Annual,
			Currency: usd, Tiers: []Tier{{10, -1}}}}},
			[]string{"price premium/annual, tier 1", "negative"}},
		{"overlapping bands", Table{Prices: []Price{{Edition: Standard, Cycle: Monthly,
			Currency: usd, Bands: []Band{{100, 640}, {50, 510}, {0, 400}}}}},
			[]string{"band 2", "up_to 50", "overlaps", "ascending"}},
		{"unbounded band not last", Table{Prices: []Price{{Edition: Standard, Cycle: Monthly,
			Currency: usd, Bands: []Band{{0, 640}, {100, 510}}}}},
			[]string{"band 1", "make it the last band"}},
		{"unordered tiers", Table{Prices: []Price{{Edition: Standard, Cycle: Annual,
			Currency: usd, Tiers: []Tier{{25, 2}, {10, 1}}}}},
			[]string{"tier 2", "users 10", "overlaps"}},
		{"unknown edition", Table{Prices: []Price{{Edition: "gold", Cycle: Monthly,
			Currency: usd, Bands: []Band{{0, 1}}}}},
			[]string{"price entry 1", `unknown edition "gold"`, "standard, premium"}},
		{"free edition priced", Table{Prices: []Price{{Edition: Free, Cycle: Monthly,
			Currency: usd, Bands: []Band{{0, 1}}}}},
			[]string{"never charged"}},
		{"unknown cycle", Table{Prices: []Price{{Edition: Standard, Cycle: "weekly",
			Currency: usd, Bands: []Band{{0, 1}}}}},
			[]string{"unknown billing cycle", "monthly or annual"}},
		{"unknown currency", Table{Prices: []Price{{Edition: Standard, Cycle: Monthly,
			Currency: Currency{Code: "XYZ"}, Bands: []Band{{0, 1}}}}},
			[]string{"price standard/monthly", `unknown currency "XYZ"`}},
		{"mixed currencies", Table{Prices: []Price{
			{Edition: Standard, Cycle: Monthly, Currency: usd, Bands: []Band{{0, 1}}},
			{Edition: Premium, Cycle: Monthly, Currency: eur, Bands: []Band{{0, 1}}}}},
			[]string{"price premium/monthly", "currency EUR", "table is in USD"}},
		{"duplicate entry", Table{Prices: []Price{
			{Edition: Standard, Cycle: Monthly, Currency: usd, Bands: []Band{{0, 1}}},
			{Edition: Standard, Cycle: Monthly, Currency: usd, Bands: []Band{{0, 2}}}}},
			[]string{"defined twice"}},
		{"annual with bands", Table{Prices: []Price{{Edition: Standard, Cycle: Annual,
			Currency: usd, Bands: []Band{{0, 1}}}}},
			[]string{"annual price needs user tiers"}},
		{"monthly without bands", Table{Prices: []Price{{Edition: Standard, Cycle: Monthly,
			Currency: usd}}},
			[]string{"monthly price needs per-user bands"}},
	}
	for _, c := range cases {
		err := c.table.Validate()
		if err == nil {
			t.Errorf("%s: Validate accepted the table", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", c.name, err, w)
			}
		}
	}
}

func TestDefaultTable(t *testing.T) {
	table := DefaultTable()
	if err := table.Validate(); err != nil {
		t.Fatalf("default table is invalid: %v", err)
	}
	if table.Date != "2026-11-01" {
		t.Errorf("Date = %q, want 2026-11-01", table.Date)
	}
	if _, ok := table.Lookup(Enterprise, Monthly); ok {
		t.Errorf("default table prices Enterprise, which is priced by quote")
	}
	std, ok := table.Lookup(Standard, Monthly)
	if !ok {
		t.Fatalf("default table has no standard/monthly price")
	}
	// 120 users: 100 at 6.40 and 20 at 5.10.
	if got, err := std.MonthlyCost(120); err != nil || got != 64000+10200 {
		t.Errorf("standard monthly cost of 120 users = %d, %v; want 74200", got, err)
	}
	prem, _ := table.Lookup(Premium, Annual)
	// The 50-user tier costs ten months of 50 users at 11.80.
	if tier, err := prem.TierFor(37); err != nil || tier.Users != 50 || tier.Price != 590000 {
		t.Errorf("premium annual tier of 37 users = %+v, %v; want 50 users at 590000", tier, err)
	}
	cur, ok := table.Currency()
	if !ok || cur.Code != "USD" {
		t.Errorf("Currency = %+v, %v; want USD", cur, ok)
	}
}

func TestParseEditionAndCycle(t *testing.T) {
	if e, err := ParseEdition(" Premium "); err != nil || e != Premium {
		t.Errorf("ParseEdition(Premium) = %q, %v", e, err)
	}
	if c, err := ParseCycle("ANNUAL"); err != nil || c != Annual {
		t.Errorf("ParseCycle(ANNUAL) = %q, %v", c, err)
	}
	if _, err := ParseEdition("basic"); err == nil {
		t.Errorf("ParseEdition(basic) succeeded")
	}
}
