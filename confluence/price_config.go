package confluence

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
)

// pricesEnvVar holds a prices value in HCL or JSON syntax, read when the
// .spc file sets no prices.
const pricesEnvVar = "CONFLUENCE_PRICES"

// pricesSetting is the name of the price table setting.
const pricesSetting = "prices"

// The prices setting is an attribute holding a list of objects, not a
// list of nested blocks, because Steampipe passes a plugin only the
// attributes of a connection block and rejects blocks other than options.

// pricesFix is the example every prices error ends with.
const pricesFix = `write prices = [{ edition = "standard", cycle = "monthly", ` +
	`currency = "USD", bands = [{ up_to = 100, per_user = "6.40" }, ` +
	`{ up_to = 0, per_user = "5.10" }] }]; amounts are decimal strings`

// withPricesEnv fills Prices from CONFLUENCE_PRICES when the .spc file
// leaves it unset. The text is kept as a string and parsed by
// PriceTable, so that a value that does not parse is reported by
// Validate with the other setting errors.
func (c Config) withPricesEnv(lookup func(string) (string, bool)) Config {
	if c.pricesSet() {
		return c
	}
	if text, ok := lookup(pricesEnvVar); ok && strings.TrimSpace(text) != "" {
		c.Prices = cty.StringVal(text)
	}
	return c
}

func (c Config) pricesSet() bool {
	return c.Prices != cty.NilVal && !c.Prices.IsNull()
}

// PriceTable returns the configured price table, or the default table
// with configured false when prices is not set. A configured table
// replaces the default one whole, so that a table never mixes currencies
// or dates.
func (c Config) PriceTable() (table pricing.Table, configured bool, err error) {
	if !c.pricesSet() {
		return pricing.DefaultTable(), false, nil
	}
	table, err = decodePrices(c.Prices)
	if err == nil {
		err = table.Validate()
	}
	if err != nil {
		return pricing.Table{}, false, &atlassian.ConfigError{Setting: pricesSetting,
			Problem: err.Error(), Fix: "see the prices example in config/confluence.spc"}
	}
	return table, true, nil
}

// decodePrices reads the prices value: a list of price objects, or a
// string holding that list in HCL or JSON syntax.
func decodePrices(v cty.Value) (pricing.Table, error) {
	var table pricing.Table
	if v.Type() == cty.String {
		expr, diags := hclsyntax.ParseExpression([]byte(v.AsString()), pricesEnvVar,
			hcl.Pos{Line: 1, Column: 1})
		if !diags.HasErrors() {
			v, diags = expr.Value(nil)
		}
		if diags.HasErrors() {
			return table, fmt.Errorf("invalid value: the text is not an HCL or JSON list "+
				"(%s); %s", diags[0].Summary, pricesFix)
		}
	}
	if !isList(v) {
		return table, fmt.Errorf("invalid value: expected a list of price objects; %s", pricesFix)
	}
	if v.LengthInt() == 0 {
		return table, fmt.Errorf("invalid value: the list is empty; remove prices to use the "+
			"default table, or %s", pricesFix)
	}
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, entry := it.Element()
		p, err := decodePrice(entry)
		if err != nil {
			return table, fmt.Errorf("price entry %d: %w", i+1, err)
		}
		table.Prices = append(table.Prices, p)
	}
	return table, nil
}

func decodePrice(v cty.Value) (pricing.Price, error) {
	var p pricing.Price
	keys := []string{"edition", "cycle", "currency", "bands", "tiers"}
	if err := checkObject(v, keys); err != nil {
		return p, err
	}
	edition, err := stringField(v, "edition")
	if err != nil {
		return p, err
	}
	if p.Edition, err = pricing.ParseEdition(edition); err != nil {
		return p, err
	}
	cycle, err := stringField(v, "cycle")
	if err != nil {
		return p, err
	}
	if p.Cycle, err = pricing.ParseCycle(cycle); err != nil {
		return p, fmt.Errorf("edition %s: %w", p.Edition, err)
	}
	code, err := stringField(v, "currency")
	if err != nil {
		return p, err
	}
	if p.Currency, err = pricing.LookupCurrency(code); err != nil {
		return p, fmt.Errorf("price %s/%s: %w", p.Edition, p.Cycle, err)
	}
	at := fmt.Sprintf("price %s/%s", p.Edition, p.Cycle)
	err = eachObject(v, "bands", []string{"up_to", "per_user"}, func(i int, b cty.Value) error {
		upTo, err := intField(b, "up_to")
		if err != nil {
			return fmt.Errorf("%s, band %d: %w", at, i+1, err)
		}
		perUser, err := amountField(b, "per_user", p.Currency)
		if err != nil {
			return fmt.Errorf("%s, band %d: %w", at, i+1, err)
		}
		p.Bands = append(p.Bands, pricing.Band{UpTo: upTo, PerUser: perUser})
		return nil
	})
	if err != nil {
		return p, err
	}
	err = eachObject(v, "tiers", []string{"users", "price"}, func(i int, t cty.Value) error {
		users, err := intField(t, "users")
		if err != nil {
			return fmt.Errorf("%s, tier %d: %w", at, i+1, err)
		}
		price, err := amountField(t, "price", p.Currency)
		if err != nil {
			return fmt.Errorf("%s, tier %d: %w", at, i+1, err)
		}
		p.Tiers = append(p.Tiers, pricing.Tier{Users: users, Price: price})
		return nil
	})
	return p, err
}

func isList(v cty.Value) bool {
	t := v.Type()
	return !v.IsNull() && v.IsKnown() && (t.IsTupleType() || t.IsListType())
}

// checkObject fails unless v is an object whose keys are all in allowed.
func checkObject(v cty.Value, allowed []string) error {
	t := v.Type()
	if v.IsNull() || !(t.IsObjectType() || t.IsMapType()) {
		return fmt.Errorf("invalid entry: expected an object with %s",
			strings.Join(allowed, ", "))
	}
	for it := v.ElementIterator(); it.Next(); {
		k, _ := it.Element()
		if !slices.Contains(allowed, k.AsString()) {
			return fmt.Errorf("invalid key %q: use %s", k.AsString(),
				strings.Join(allowed, ", "))
		}
	}
	return nil
}

func field(v cty.Value, name string) (cty.Value, bool) {
	if v.Type().IsObjectType() && !v.Type().HasAttribute(name) {
		return cty.NilVal, false
	}
	if v.Type().IsMapType() && !v.HasIndex(cty.StringVal(name)).True() {
		return cty.NilVal, false
	}
	f := v.GetAttr(name)
	if v.Type().IsMapType() {
		f = v.Index(cty.StringVal(name))
	}
	return f, !f.IsNull()
}

func stringField(v cty.Value, name string) (string, error) {
	f, ok := field(v, name)
	if !ok {
		return "", fmt.Errorf("missing %s", name)
	}
	if f.Type() != cty.String {
		return "", fmt.Errorf("invalid %s: expected a string", name)
	}
	return f.AsString(), nil
}

func intField(v cty.Value, name string) (int64, error) {
	f, ok := field(v, name)
	if !ok {
		return 0, fmt.Errorf("missing %s", name)
	}
	if f.Type() != cty.Number {
		return 0, fmt.Errorf("invalid %s: expected a whole number", name)
	}
	n, acc := f.AsBigFloat().Int64()
	if acc != big.Exact {
		return 0, fmt.Errorf("invalid %s: expected a whole number", name)
	}
	return n, nil
}

// amountField reads a money amount, which must be a decimal string: a
// number literal would pass through binary floating point on the way.
func amountField(v cty.Value, name string, cur pricing.Currency) (int64, error) {
	f, ok := field(v, name)
	if !ok {
		return 0, fmt.Errorf("missing %s", name)
	}
	if f.Type() != cty.String {
		return 0, fmt.Errorf("invalid %s: write the amount as a decimal string such as "+
			"\"6.40\", so that it is read exactly", name)
	}
	amount, err := pricing.ParseAmount(f.AsString(), cur)
	if err != nil {
		return 0, fmt.Errorf("invalid %s: %w", name, err)
	}
	return amount, nil
}

// eachObject calls fn for each object of the list field name, when the
// field is present.
func eachObject(v cty.Value, name string, keys []string, fn func(int, cty.Value) error) error {
	list, ok := field(v, name)
	if !ok {
		return nil
	}
	if !isList(list) {
		return fmt.Errorf("invalid %s: expected a list of objects with %s", name,
			strings.Join(keys, ", "))
	}
	i := 0
	for it := list.ElementIterator(); it.Next(); i++ {
		_, item := it.Element()
		if err := checkObject(item, keys); err != nil {
			return fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		if err := fn(i, item); err != nil {
			return err
		}
	}
	return nil
}
