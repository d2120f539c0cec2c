package recommend

import (
	"github.com/Masterminds/squirrel"
)

// Plugin tables the rules read.
const (
	tableUser        = "confluence_user"
	tableActivity    = "confluence_user_activity"
	tableSpend       = "confluence_spend"
	tableLicense     = "confluence_license"
	tableGroup       = "confluence_group"
	tableGroupMember = "confluence_group_member"
)

// pairRule is a rule that reports (account, site) pairs: rows of
// confluence_spend where the user is billed.
type pairRule struct {
	name string
	// joins adds the rule's own joins to the pair base.
	joins func(d Dialect, b squirrel.SelectBuilder) squirrel.SelectBuilder
	// match is the rule's condition over the aliases of pairBase.
	match func(d Dialect) squirrel.Sqlizer
	// phrase is the middle of the reason: what the user did or is.
	phrase func(d Dialect) string
	tables []string
}

// pairRules are the per-user saving rules in precedence order.
func pairRules() []pairRule {
	return []pairRule{ruleSuspendedElsewhere, ruleNeverActive, ruleInactive, ruleExternal}
}

// pairBase selects from the billed pairs with their user (u), the
// site's license (l) and the user's latest Confluence activity on the
// site (a, NULL when none is recorded there).
func pairBase(d Dialect, columns ...string) squirrel.SelectBuilder {
	return squirrel.Select(columns...).
		From(tableSpend + " as s").
		Join(tableUser + " as u on u.account_id = s.account_id").
		Join(tableLicense + " as l on l.cloud_id = s.cloud_id").
		LeftJoin("(select account_id, cloud_id, max(last_active) as last_active from " +
			tableActivity + " where product_key = 'confluence' group by account_id, cloud_id)" +
			" as a on a.account_id = s.account_id and a.cloud_id = s.cloud_id").
		Where("s.billable")
}

// matchPairs selects the account_id and cloud_id of the pairs r reports,
// before precedence.
func matchPairs(d Dialect, r pairRule) squirrel.SelectBuilder {
	b := pairBase(d, "s.account_id", "s.cloud_id")
	if r.joins != nil {
		b = r.joins(d, b)
	}
	return b.Where(r.match(d))
}

// earlierPairs is the union of the pairs of the rules before r.
func earlierPairs(d Dialect, r pairRule) squirrel.Sqlizer {
	var parts []any
	for _, other := range pairRules() {
		if other.name == r.name {
			break
		}
		if len(parts) > 0 {
			parts = append(parts, " union ")
		}
		parts = append(parts, matchPairs(d, other))
	}
	if len(parts) == 0 {
		return nil
	}
	return squirrel.ConcatExpr(append(append([]any{"(s.account_id, s.cloud_id) not in ("},
		parts...), ")")...)
}

// allPairs is the union of the pairs of every per-user rule.
func allPairs(d Dialect) squirrel.Sqlizer {
	var parts []any
	for i, r := range pairRules() {
		if i > 0 {
			parts = append(parts, " union ")
		}
		parts = append(parts, matchPairs(d, r))
	}
	return squirrel.ConcatExpr(parts...)
}

// notExempt leaves out users whose account id or e-mail is in exempt.
// NOTE: SQLite's lower() folds ASCII letters only, so a non-ASCII
// e-mail in another letter case matches on PostgreSQL but not on SQLite.
func notExempt(d Dialect) squirrel.Sqlizer {
	return squirrel.ConcatExpr("not (", inList(d, "lower(u.account_id)", ParamExempt),
		" or ", inList(d, "lower(coalesce(u.email, ''))", ParamExempt), ")")
}

// who names the user of a pair: display name, then e-mail when known.
const who = "coalesce(u.name, u.account_id) || coalesce(' <' || u.email || '>', '')"

// Saving of one pair. Only a monthly plan saves the seat's share at
// once; an annual plan saves only when the site drops below its tier,
// which annual_tier_above_need reports for the whole site.
// NOTE: the share is the bill split evenly over the billed users. On
// graduated monthly bands the last seats cost less than the average, so
// the share overstates a removal's saving on large sites a little.
const (
	pairSavingMonthly = "(case when l.billing_cycle = 'monthly' " +
		"then coalesce(s.amount_monthly_minor, 0) else 0 end)"
	pairSavingAnnual = "(case when l.billing_cycle = 'monthly' " +
		"then coalesce(s.amount_annual_minor, 0) else 0 end)"
)

// pairCost is the end of a pair's reason: what removing the seat saves,
// or why it saves nothing yet.
func pairCost(d Dialect, saving bool) string {
	share := money(d, "s.amount_monthly_minor", "s.currency") + " || ' a month and ' || " +
		money(d, "s.amount_annual_minor", "s.currency") + " || ' a year'"
	unpriced := "'the site has no price, so no saving is claimed'"
	if !saving {
		return "(case when s.amount_monthly_minor is null then " + unpriced +
			" else 'the seat costs ' || " + share +
			" || ': information only, no saving claimed' end)"
	}
	return "(case when s.amount_monthly_minor is null then " + unpriced +
		" when l.billing_cycle = 'monthly' then 'removing the seat saves ' || " + share +
		" else 'the seat''s share of the annual plan is ' || " + share +
		" || ', but removing it saves nothing until the site falls below its user tier " +
		"(see annual_tier_above_need)' end)"
}

// pairRule builds the Definition query of r.
func (r pairRule) build(saving bool) func(d Dialect) squirrel.SelectBuilder {
	return func(d Dialect) squirrel.SelectBuilder {
		monthly, annual := pairSavingMonthly, pairSavingAnnual
		if !saving {
			monthly, annual = "0", "0"
		}
		status := "(case when " + monthly + " > 0 then 'alarm' else 'info' end)"
		b := pairBase(d,
			"s.account_id as resource",
			status+" as status",
			who+" || ' ' || "+r.phrase(d)+" || '; ' || "+pairCost(d, saving)+
				" || '.' as reason",
			"s.account_id as account_id",
			"s.site as site",
			"s.cloud_id as cloud_id",
			"s.currency as currency",
			monthly+" as saving_monthly_minor",
			annual+" as saving_annual_minor",
			major(d, monthly, "s.currency")+" as saving_monthly",
			major(d, annual, "s.currency")+" as saving_annual",
		)
		if r.joins != nil {
			b = r.joins(d, b)
		}
		b = b.Where(r.match(d))
		if saving {
			if earlier := earlierPairs(d, r); earlier != nil {
				b = b.Where(earlier)
			}
		}
		return b.OrderBy("s.site", "s.account_id")
	}
}

func (r pairRule) tableList() []string {
	return append([]string{tableSpend, tableUser, tableLicense, tableActivity}, r.tables...)
}

// dateOf is a TIMESTAMP as YYYY-MM-DD in UTC.
func dateOf(d Dialect, column string) string {
	if d == Postgres {
		return "to_char(" + column + " at time zone 'UTC', 'YYYY-MM-DD')"
	}
	return "substr(" + column + ", 1, 10)"
}

// lostAccessSites lists, per account, the sites whose confluence-users
// group the account still belongs to while it has no Confluence access
// there: its access was suspended on that site. The account keeps the
// group membership, and confluence_spend has no row for it there.
const lostAccessSites = "(select gm.account_id, min(g.access_site) as lost_site, " +
	"count(distinct g.access_site) as lost_sites from " + tableGroupMember + " as gm " +
	"join " + tableGroup + " as g on g.id = gm.group_id " +
	"where g.access_site is not null and (gm.account_id, g.access_site) not in " +
	"(select account_id, site from " + tableSpend + ") group by gm.account_id) as x " +
	"on x.account_id = s.account_id"

var ruleSuspendedElsewhere = pairRule{
	name: "suspended_elsewhere",
	joins: func(_ Dialect, b squirrel.SelectBuilder) squirrel.SelectBuilder {
		return b.Join(lostAccessSites)
	},
	match: notExempt,
	phrase: func(d Dialect) string {
		return "'lost Confluence access on ' || x.lost_site || (case when x.lost_sites > 1 " +
			"then ' and ' || " + text("x.lost_sites - 1") + " || ' other site(s)' else '' end)" +
			" || ' but is still billed on ' || s.site"
	},
	tables: []string{tableGroup, tableGroupMember},
}

var ruleNeverActive = pairRule{
	name: "never_active_users",
	match: func(d Dialect) squirrel.Sqlizer {
		return squirrel.And{
			expr("u.last_active_known"),
			expr("u.last_active is null"),
			squirrel.ConcatExpr(epoch(d, "u.added_to_org"), " < ",
				cutoff(d, ParamNeverActiveDays)),
			notExempt(d),
		}
	},
	phrase: func(d Dialect) string {
		return "'has never used Confluence since being added to the organization on ' || " +
			dateOf(d, "u.added_to_org") + " || ', and is billed on ' || s.site"
	},
}

var ruleInactive = pairRule{
	name: "inactive_users",
	match: func(d Dialect) squirrel.Sqlizer {
		return squirrel.And{
			expr("u.last_active_known"),
			expr("u.last_active is not null"),
			squirrel.ConcatExpr(epoch(d, "u.added_to_org"), " < ", cutoff(d, ParamGraceDays)),
			squirrel.Or{expr("a.last_active is null"), olderThan(d, "a.last_active",
				ParamInactiveDays)},
			notExempt(d),
		}
	},
	phrase: func(d Dialect) string {
		return "(case when a.last_active is null then 'has never used Confluence on ' || " +
			"s.site || ' (last active on another site on ' || " + dateOf(d, "u.last_active") +
			" || ')' else 'has not used Confluence on ' || s.site || ' since ' || " +
			dateOf(d, "a.last_active") + " end)"
	},
}

var ruleExternal = pairRule{
	name: "external_paid_seats",
	match: func(d Dialect) squirrel.Sqlizer {
		return squirrel.And{
			expr("(u.account_type in ('app', 'customer') or u.claim_status = 'unmanaged')"),
			notExempt(d),
		}
	},
	phrase: func(_ Dialect) string {
		return "(case when u.account_type = 'app' then 'is an app account' " +
			"when u.account_type = 'customer' then 'is a customer account' " +
			"else 'is an external account (not managed by the organization)' end)" +
			" || ' holding a paid seat on ' || s.site"
	},
}
