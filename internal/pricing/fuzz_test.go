package pricing

import (
	"encoding/binary"
	"testing"
)

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"6.40", "1200", "-5.1", "+0.05", "0.001", ".5", "5.", "",
		"  7 ", "9223372036854775807", "92233720368547758.08", "1e3", "--1", "١٢"} {
		f.Add(s, "USD")
		f.Add(s, "JPY")
	}
	f.Add("1.234", "KWD")
	f.Add("1", "xxx")
	f.Fuzz(func(t *testing.T, text, code string) {
		cur, err := LookupCurrency(code)
		if err != nil {
			return
		}
		n, err := ParseAmount(text, cur)
		if err != nil {
			return
		}
		// An accepted amount prints and reads back unchanged.
		formatted := FormatAmount(n, cur)
		back, err := ParseAmount(formatted, cur)
		if err != nil || back != n {
			t.Fatalf("%q read as %d prints as %q, which reads as %d (err %v)",
				text, n, formatted, back, err)
		}
	})
}

// FuzzPriceValidate builds a price entry from the input: edition, cycle
// and currency as strings, then pairs of 64-bit numbers as bands (monthly)
// or tiers (annual). A price that validates must compute a cost for every
// user count without panicking, and a monthly cost never falls as users
// grow.
func FuzzPriceValidate(f *testing.F) {
	pairs := func(v ...int64) []byte {
		b := make([]byte, 0, 8*len(v))
		for _, x := range v {
			b = binary.LittleEndian.AppendUint64(b, uint64(x))
		}
		return b
	}
	f.Add("standard", "monthly", "USD", pairs(100, 640, 0, 510))
	f.Add("premium", "annual", "EUR", pairs(10, 1000, 25, 2000))
	f.Add("standard", "monthly", "USD", pairs(0, 640, 100, 510))
	f.Add("standard", "annual", "JPY", pairs(10, -1))
	f.Add("free", "monthly", "USD", pairs(0, 0))
	f.Add("standard", "monthly", "USD", pairs(1, 1<<62, 0, 1<<62))
	f.Add("enterprise", "weekly", "USD", pairs())
	f.Fuzz(func(t *testing.T, edition, cycle, currency string, numbers []byte) {
		p := Price{Edition: Edition(edition), Cycle: Cycle(cycle)}
		p.Currency, _ = LookupCurrency(currency)
		for i := 0; i+16 <= len(numbers) && i < 16*20; i += 16 {
			a := int64(binary.LittleEndian.Uint64(numbers[i:]))
			b := int64(binary.LittleEndian.Uint64(numbers[i+8:]))
			if p.Cycle == Annual {
				p.Tiers = append(p.Tiers, Tier{Users: a, Price: b})
			} else {
				p.Bands = append(p.Bands, Band{UpTo: a, PerUser: b})
			}
		}
		if err := (Table{Prices: []Price{p}}).Validate(); err != nil {
			return
		}
		var previous int64
		for _, users := range []int64{0, 1, 2, 9, 10, 11, 99, 100, 101, 1000, 1 << 20, 1 << 40} {
			if p.Cycle == Annual {
				if tier, err := p.TierFor(users); err == nil && tier.Users < users {
					t.Fatalf("tier of %d users chosen for %d users", tier.Users, users)
				}
				continue
			}
			cost, err := p.MonthlyCost(users)
			if err != nil {
				continue
			}
			if cost < previous {
				t.Fatalf("cost of %d users is %d, less than %d for fewer users",
					users, cost, previous)
			}
			previous = cost
		}
	})
}
