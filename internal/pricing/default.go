package pricing

// PriceTableDate is when the prices of DefaultTable were read.
const PriceTableDate = "2026-11-01"

// DefaultTable returns the price table the plugin ships, in USD. It is
// approximate: the first band of Standard (6.40) and Premium (11.80) is
// within the public list prices seen in 2026 (about 6 to 7 USD and 11.50
// to 12 USD per user per month at small sizes). The lower prices of the
// later bands are estimates, and each annual tier costs ten times the
// monthly bill of that many users (two months free), rounded to whole
// dollars. Enterprise is priced by quote, so it has no entry.
func DefaultTable() Table {
	usd := Currency{Code: "USD", Exponent: 2}
	return Table{
		Date: PriceTableDate,
		Prices: []Price{
			{Edition: Standard, Cycle: Monthly, Currency: usd, Bands: []Band{
				{100, 640}, {250, 510}, {1000, 400}, {5000, 310}, {0, 240},
			}},
			{Edition: Premium, Cycle: Monthly, Currency: usd, Bands: []Band{
				{100, 1180}, {250, 940}, {1000, 740}, {5000, 580}, {0, 450},
			}},
			{Edition: Standard, Cycle: Annual, Currency: usd, Tiers: []Tier{
				{10, 64000}, {25, 160000}, {50, 320000}, {100, 640000}, {200, 1150000},
				{250, 1405000}, {300, 1605000}, {400, 2005000}, {500, 2405000},
				{600, 2805000}, {800, 3605000}, {1000, 4405000}, {1200, 5025000},
				{1500, 5955000}, {2000, 7505000}, {2500, 9055000}, {3000, 10605000},
				{4000, 13705000}, {5000, 16805000}, {7500, 22805000}, {10000, 28805000},
			}},
			{Edition: Premium, Cycle: Annual, Currency: usd, Tiers: []Tier{
				{10, 118000}, {25, 295000}, {50, 590000}, {100, 1180000}, {200, 2120000},
				{250, 2590000}, {300, 2960000}, {400, 3700000}, {500, 4440000},
				{600, 5180000}, {800, 6660000}, {1000, 8140000}, {1200, 9300000},
				{1500, 11040000}, {2000, 13940000}, {2500, 16840000}, {3000, 19740000},
				{4000, 25540000}, {5000, 31340000}, {7500, 42590000}, {10000, 53840000},
			}},
		},
	}
}
