package confluence

import (
	"os"
	"strings"
	"testing"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
)

// routeSettings is a valid credential route, so that only the prices
// setting can make a body fail.
const routeSettings = `
api_key   = "org-api-key"
api_token = "user-api-token"
email     = "admin@example.com"
`

func clearPricesEnv(t *testing.T) {
	t.Helper()
	clearConfigEnv(t)
	t.Setenv(pricesEnvVar, "")
	if err := os.Unsetenv(pricesEnvVar); err != nil {
		t.Fatalf("unset %s: %v", pricesEnvVar, err)
	}
}

func TestPricesParsedFromHCL(t *testing.T) {
	clearPricesEnv(t)
	body := routeSettings + `
prices = [
  {
    edition  = "standard"
    cycle    = "monthly"
    currency = "EUR"
    bands = [
      { up_to = 100, per_user = "6.40" },
      { up_to = 0, per_user = "5.1" },
    ]
  },
  {
    edition  = "premium"
    cycle    = "annual"
    currency = "eur"
    tiers = [
      { users = 10, price = "1180" },
      { users = 25, price = "2950.50" },
    ]
  },
]
`
	conn, err := parseConnection(t, body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cfg, err := GetConfig(conn)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	table, configured, err := cfg.PriceTable()
	if err != nil {
		t.Fatalf("PriceTable: %v", err)
	}
	if !configured {
		t.Errorf("PriceTable says the default table is in use")
	}
	eur := pricing.Currency{Code: "EUR", Exponent: 2}
	std, ok := table.Lookup(pricing.Standard, pricing.Monthly)
	if !ok {
		t.Fatalf("no standard/monthly entry in %+v", table)
	}
	wantBands := []pricing.Band{{UpTo: 100, PerUser: 640}, {UpTo: 0, PerUser: 510}}
	if std.Currency != eur || len(std.Bands) != 2 || std.Bands[0] != wantBands[0] ||
		std.Bands[1] != wantBands[1] {
		t.Errorf("standard/monthly = %+v, want EUR bands %+v", std, wantBands)
	}
	prem, ok := table.Lookup(pricing.Premium, pricing.Annual)
	if !ok {
		t.Fatalf("no premium/annual entry in %+v", table)
	}
	wantTiers := []pricing.Tier{{Users: 10, Price: 118000}, {Users: 25, Price: 295050}}
	if prem.Currency != eur || len(prem.Tiers) != 2 || prem.Tiers[0] != wantTiers[0] ||
		prem.Tiers[1] != wantTiers[1] {
		t.Errorf("premium/annual = %+v, want EUR tiers %+v", prem, wantTiers)
	}
	if table.Date != "" {
		t.Errorf("configured table Date = %q, want empty", table.Date)
	}
}

func TestPricesDefaultWhenUnset(t *testing.T) {
	clearPricesEnv(t)
	conn, err := parseConnection(t, routeSettings)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cfg, err := GetConfig(conn)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	table, configured, err := cfg.PriceTable()
	if err != nil || configured {
		t.Fatalf("PriceTable = configured %v, %v; want the default table", configured, err)
	}
	if table.Date != pricing.PriceTableDate {
		t.Errorf("default table Date = %q, want %q", table.Date, pricing.PriceTableDate)
	}
}

func TestPricesFromEnvironment(t *testing.T) {
	clearPricesEnv(t)
	t.Setenv(pricesEnvVar, `[{"edition": "premium", "cycle": "monthly", "currency": "GBP",
		"bands": [{"up_to": 0, "per_user": "9.99"}]}]`)
	conn, err := parseConnection(t, routeSettings)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cfg, err := GetConfig(conn)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	table, configured, err := cfg.PriceTable()
	if err != nil || !configured {
		t.Fatalf("PriceTable = configured %v, %v; want the table of %s", configured, err,
			pricesEnvVar)
	}
	p, ok := table.Lookup(pricing.Premium, pricing.Monthly)
	if !ok || p.Currency.Code != "GBP" || len(p.Bands) != 1 || p.Bands[0].PerUser != 999 {
		t.Errorf("premium/monthly = %+v, want one GBP band at 999", p)
	}
}

func TestBadPricesRejectedAtLoad(t *testing.T) {
	cases := []struct {
		name   string
		prices string
		want   []string
	}{
		{"negative price", `[{ edition = "standard", cycle = "monthly", currency = "USD",
			bands = [{ up_to = 0, per_user = "-6.40" }] }]`,
			[]string{"prices", "price standard/monthly, band 1", "negative"}},
		{"negative tier price", `[{ edition = "premium", cycle = "annual", currency = "USD",
			tiers = [{ users = 10, price = "-1.00" }] }]`,
			[]string{"price premium/annual, tier 1", "negative"}},
		{"overlapping bands", `[{ edition = "standard", cycle = "monthly", currency = "USD",
			bands = [{ up_to = 100, per_user = "6.40" }, { up_to = 100, per_user = "5.10" }] }]`,
			[]string{"band 2", "overlaps the previous band", "ascending"}},
		{"unordered tiers", `[{ edition = "standard", cycle = "annual", currency = "USD",
			tiers = [{ users = 50, price = "1" }, { users = 25, price = "2" }] }]`,
			[]string{"tier 2", "overlaps the previous tier"}},
		{"unknown edition", `[{ edition = "platinum", cycle = "monthly", currency = "USD",
			bands = [{ up_to = 0, per_user = "1.00" }] }]`,
			[]string{"price entry 1", `unknown edition "platinum"`, "standard, premium"}},
		{"unknown currency", `[{ edition = "standard", cycle = "monthly", currency = "USX",
			bands = [{ up_to = 0, per_user = "1.00" }] }]`,
			[]string{"price entry 1", `unknown currency "USX"`, "ISO 4217"}},
		{"mixed currencies", `[
			{ edition = "standard", cycle = "monthly", currency = "USD",
			  bands = [{ up_to = 0, per_user = "1.00" }] },
			{ edition = "premium", cycle = "monthly", currency = "EUR",
			  bands = [{ up_to = 0, per_user = "1.00" }] }]`,
			[]string{"price premium/monthly", "currency EUR", "one currency"}},
		{"amount as number", `[{ edition = "standard", cycle = "monthly", currency = "USD",
			bands = [{ up_to = 0, per_user = 6.4 }] }]`,
			[]string{"per_user", "decimal string"}},
		{"too many decimals", `[{ edition = "standard", cycle = "monthly", currency = "USD",
			bands = [{ up_to = 0, per_user = "6.405" }] }]`,
			[]string{"per_user", "2 decimal places"}},
		{"unknown key", `[{ edition = "standard", cycle = "monthly", currency = "USD",
			band = [{ up_to = 0, per_user = "1" }] }]`,
			[]string{`invalid key "band"`, "bands"}},
		{"not a list", `{ edition = "standard" }`,
			[]string{"expected a list of price objects"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearPricesEnv(t)
			conn, err := parseConnection(t, routeSettings+"prices = "+c.prices+"\n")
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			_, err = GetConfig(conn)
			if err == nil {
				t.Fatalf("GetConfig accepted prices with %s, want an error", c.name)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
