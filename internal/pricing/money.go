package pricing

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 currency with the exponent of its minor unit:
// 2 for USD (cents), 0 for JPY.
type Currency struct {
	Code     string
	Exponent int
}

// currencyExponents lists the currencies Atlassian bills in, and a few
// more, with their ISO 4217 minor-unit exponents.
var currencyExponents = map[string]int{
	"AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2,
	"GBP": 2, "HKD": 2, "INR": 2, "JPY": 0, "KRW": 0, "MXN": 2, "NOK": 2, "NZD": 2,
	"PLN": 2, "SEK": 2, "SGD": 2, "USD": 2, "ZAR": 2,
}

// LookupCurrency returns the currency with this ISO 4217 code, in any
// letter case.
func LookupCurrency(code string) (Currency, error) {
	upper := strings.ToUpper(strings.TrimSpace(code))
	exp, ok := currencyExponents[upper]
	if !ok {
		return Currency{}, fmt.Errorf("unknown currency %q: use an ISO 4217 code such as USD, "+
			"EUR, GBP, AUD or JPY", code)
	}
	return Currency{Code: upper, Exponent: exp}, nil
}

// ParseAmount reads a decimal string such as "6.40" or "1200" into minor
// units of cur, exactly: it never goes through a float. More fraction
// digits than the currency has are an error, not a rounding.
func ParseAmount(text string, cur Currency) (int64, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, fmt.Errorf("invalid amount %q: it is empty; write a decimal such as \"6.40\"",
			text)
	}
	negative := false
	if s[0] == '-' || s[0] == '+' {
		negative = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") || !digitsOnly(whole) || !digitsOnly(frac) {
		return 0, fmt.Errorf("invalid amount %q: write a decimal such as \"6.40\"", text)
	}
	if len(frac) > cur.Exponent {
		return 0, fmt.Errorf("invalid amount %q: %s has %d decimal places", text, cur.Code,
			cur.Exponent)
	}
	frac += strings.Repeat("0", cur.Exponent-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid amount %q: too large", text)
	}
	if negative {
		n = -n
	}
	return n, nil
}

func digitsOnly(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// FormatAmount writes minor units of cur as a decimal string, "6.40".
func FormatAmount(minor int64, cur Currency) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign = "-"
		u = uint64(-minor) // two's complement also covers math.MinInt64
	}
	digits := strconv.FormatUint(u, 10)
	if cur.Exponent == 0 {
		return sign + digits
	}
	if len(digits) <= cur.Exponent {
		digits = strings.Repeat("0", cur.Exponent-len(digits)+1) + digits
	}
	cut := len(digits) - cur.Exponent
	return sign + digits[:cut] + "." + digits[cut:]
}

// ToMajor returns minor units as a float of major units, for display
// only: sums must be taken over the minor units.
func ToMajor(minor int64, cur Currency) float64 {
	return float64(minor) / math.Pow10(cur.Exponent)
}

// DivRoundHalfUp divides a by b > 0 and rounds to the nearest integer,
// halves away from zero.
func DivRoundHalfUp(a, b int64) int64 {
	q, r := a/b, a%b
	if r < 0 {
		r = -r
	}
	if 2*r >= b {
		if a < 0 {
			return q - 1
		}
		return q + 1
	}
	return q
}

// mulAdd returns acc + a*b, or an error when the result overflows int64.
func mulAdd(acc, a, b int64) (int64, error) {
	if a != 0 && (b > math.MaxInt64/a || b < math.MinInt64/a) {
		return 0, errOverflow
	}
	p := a * b
	if (p > 0 && acc > math.MaxInt64-p) || (p < 0 && acc < math.MinInt64-p) {
		return 0, errOverflow
	}
	return acc + p, nil
}

var errOverflow = fmt.Errorf("amount out of range: it does not fit in 64-bit minor units")
