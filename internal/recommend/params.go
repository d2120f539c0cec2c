package recommend

import (
	"encoding/json"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pricing"
)

// Parameter names. Every rule takes ParamAsOf.
const (
	ParamAsOf                 = "as_of"
	ParamExempt               = "exempt"
	ParamInactiveDays         = "inactive_days"
	ParamGraceDays            = "grace_days"
	ParamNeverActiveDays      = "never_active_days"
	ParamAnnualTiers          = "annual_tiers"
	ParamEditionActivePercent = "edition_active_percent"
)

// Default thresholds.
const (
	DefaultInactiveDays         = 90
	DefaultGraceDays            = 30
	DefaultNeverActiveDays      = 30
	DefaultEditionActivePercent = 50
)

var (
	paramAsOf = Param{Name: ParamAsOf, Type: TypeString,
		Description: "Evaluation time as an RFC 3339 time or a YYYY-MM-DD date; day " +
			"thresholds count back from it."}
	paramExempt = Param{Name: ParamExempt, Type: TypeStringList, Default: []string{},
		Description: "Account ids or e-mail addresses that no per-user rule reports " +
			"(compared without letter case)."}
	paramInactiveDays = Param{Name: ParamInactiveDays, Type: TypeNumber,
		Default: DefaultInactiveDays,
		Description: "Days without Confluence activity on a site after which a user " +
			"counts as inactive there."}
	paramGraceDays = Param{Name: ParamGraceDays, Type: TypeNumber, Default: DefaultGraceDays,
		Description: "Days after being added to the organization during which a user " +
			"is not reported as inactive."}
	paramNeverActiveDays = Param{Name: ParamNeverActiveDays, Type: TypeNumber,
		Default: DefaultNeverActiveDays,
		Description: "Days since being added to the organization after which a user " +
			"who never used Confluence is reported."}
	paramAnnualTiers = Param{Name: ParamAnnualTiers, Type: TypeString,
		Default: DefaultAnnualTiers(),
		Description: "Annual user tiers as a JSON array of objects with edition, " +
			"currency, users and price_minor (the tier's price a year in minor units)."}
	paramEditionActivePercent = Param{Name: ParamEditionActivePercent, Type: TypeNumber,
		Default: DefaultEditionActivePercent,
		Description: "A Premium or Enterprise site is reported when fewer than this " +
			"percentage of its billed users used Confluence there within inactive_days."}
)

// pairParams are the inputs of the per-user rules: each one repeats the
// conditions of the rules before it, so each takes all of them.
var pairParams = []Param{paramAsOf, paramExempt, paramNeverActiveDays, paramInactiveDays,
	paramGraceDays}

// AnnualTier is one entry of the annual_tiers parameter.
type AnnualTier struct {
	Edition    string `json:"edition"`
	Currency   string `json:"currency"`
	Users      int64  `json:"users"`
	PriceMinor int64  `json:"price_minor"`
}

// AnnualTiers returns the annual tiers of a price table in the JSON form
// of the annual_tiers parameter.
func AnnualTiers(t pricing.Table) string {
	tiers := []AnnualTier{}
	for _, p := range t.Prices {
		if p.Cycle != pricing.Annual {
			continue
		}
		for _, tier := range p.Tiers {
			tiers = append(tiers, AnnualTier{Edition: string(p.Edition),
				Currency: p.Currency.Code, Users: tier.Users, PriceMinor: tier.Price})
		}
	}
	// A slice of plain structs always marshals.
	text, _ := json.Marshal(tiers)
	return string(text)
}

// DefaultAnnualTiers returns the annual tiers of the plugin's default
// price table, which is approximate (see pricing.DefaultTable).
func DefaultAnnualTiers() string { return AnnualTiers(pricing.DefaultTable()) }
