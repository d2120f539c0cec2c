package recommend

import (
	"github.com/Masterminds/squirrel"
)

// Precedence values. The per-user saving rules come first, in the order
// of pairRules; a pair matched by several of them is reported by the
// first only. The site rules and the information-only rules exclude
// nothing, so their values only order the report.
const (
	precedenceSuspendedElsewhere = 10
	precedenceNeverActive        = 20
	precedenceInactive           = 30
	precedenceExternal           = 40
	precedenceAnnualTier         = 50
	precedenceMonthlyToAnnual    = 60
	precedenceEdition            = 70
	precedenceDuplicates         = 80
)

func suspendedElsewhere() Definition {
	r := ruleSuspendedElsewhere
	return Definition{
		Name:  r.name,
		Title: "Users still billed on one site after losing access on another",
		Description: "Users whose Confluence access was suspended on one site, but who " +
			"keep access, and a paid seat, on another production site.",
		Saving: true, Precedence: precedenceSuspendedElsewhere,
		Params: pairParams, Tables: r.tableList(), Build: r.build(true),
	}
}

func neverActiveUsers() Definition {
	r := ruleNeverActive
	return Definition{
		Name:  r.name,
		Title: "Users who never used Confluence",
		Description: "Billed users who have not used Confluence on any site since being " +
			"added to the organization more than never_active_days ago.",
		Saving: true, Precedence: precedenceNeverActive,
		Params: pairParams, Tables: r.tableList(), Build: r.build(true),
	}
}

func inactiveUsers() Definition {
	r := ruleInactive
	return Definition{
		Name:  r.name,
		Title: "Users inactive in Confluence",
		Description: "Billed users who have not used Confluence on a site for " +
			"inactive_days, leaving out users added within grace_days.",
		Saving: true, Precedence: precedenceInactive,
		Params: pairParams, Tables: r.tableList(), Build: r.build(true),
	}
}

func externalPaidSeats() Definition {
	r := ruleExternal
	return Definition{
		Name:  r.name,
		Title: "App, customer and external accounts holding paid seats",
		Description: "Billed accounts that are app or customer accounts, or external " +
			"accounts the organization does not manage, which a guest seat may serve.",
		Saving: true, Precedence: precedenceExternal,
		Params: pairParams, Tables: r.tableList(), Build: r.build(true),
	}
}

// lowerTier and tierFor are correlated subqueries over annual_tiers for
// the license row l2.
func lowerTier(d Dialect, column string) squirrel.Sqlizer {
	return squirrel.ConcatExpr("(select t."+column+" from ", tiersTable(d), " as t where "+
		"t.edition = l2.edition and t.currency = l2.currency and t.users < l2.seats_bought "+
		"order by t.users desc limit 1)")
}

func tierFor(d Dialect, column string) squirrel.Sqlizer {
	return squirrel.ConcatExpr("(select t."+column+" from ", tiersTable(d), " as t where "+
		"t.edition = l2.edition and t.currency = l2.currency and t.users >= l2.billable_users "+
		"order by t.users limit 1)")
}

// siteColumns are the result columns of a site rule over alias l, with
// the saving expressions in minor units.
func siteColumns(d Dialect, status, reason, monthly, annual string) []string {
	return []string{
		"l.site as resource",
		status + " as status",
		reason + " as reason",
		"cast(null as text) as account_id",
		"l.site as site",
		"l.cloud_id as cloud_id",
		"l.currency as currency",
		monthly + " as saving_monthly_minor",
		annual + " as saving_annual_minor",
		major(d, monthly, "l.currency") + " as saving_monthly",
		major(d, annual, "l.currency") + " as saving_annual",
	}
}

// mixedSources returns SQL for a sentence that warns when a site's amount
// is the bill estimate but the tier it is compared with comes from the
// price table, so the reader knows which figure to check against a quote.
// For other sites the SQL gives an empty string.
func mixedSources(alias string) string {
	return "(case when " + alias + ".cost_source = 'bill_estimate' then ' The current " +
		"amount is the bill estimate, and the tier price comes from the price table: " +
		"check that price against your quote.' else '' end)"
}

// halfUpTwelfth is an annual minor amount divided by 12, halves up.
func halfUpTwelfth(annual string) string { return "((" + annual + " + 6) / 12)" }

func annualTierAboveNeed() Definition {
	build := func(d Dialect) squirrel.SelectBuilder {
		inner := squirrel.Select("l2.*").
			Column(squirrel.Alias(lowerTier(d, "users"), "lower_users")).
			Column(squirrel.Alias(lowerTier(d, "price_minor"), "lower_price")).
			Column("coalesce(c.candidates, 0) as candidates").
			From(tableLicense + " as l2").
			JoinClause(squirrel.ConcatExpr("left join (select cloud_id, count(*) as candidates "+
				"from (", allPairs(d), ") as p group by cloud_id) as c on c.cloud_id = l2.cloud_id")).
			Where("l2.billing_cycle = 'annual' and l2.seats_to_next_lower_tier is not null")
		can := "(l.lower_price is not null and l.amount_annual_minor > l.lower_price)"
		real := "(" + can + " and l.candidates >= l.seats_to_next_lower_tier)"
		annual := "(case when " + real + " then l.amount_annual_minor - l.lower_price else 0 end)"
		diff := "(l.amount_annual_minor - l.lower_price)"
		renewal := "coalesce(' on ' || " + dateOf(d, "l.next_bill_date") + ", '')"
		head := "l.site || ' is on the ' || " + text("l.seats_bought") + " || '-user annual " +
			"tier of Confluence ' || coalesce(l.edition, 'of an unknown edition') || ' with ' || " +
			text("l.billable_users") + " || ' billed users'"
		fewer := "' fewer users by renewal' || " + renewal + " || ' fit the ' || " +
			text("l.lower_users") + " || '-user tier'"
		amounts := money(d, diff, "l.currency") + " || ' a year (' || " +
			money(d, halfUpTwelfth(diff), "l.currency") + " || ' a month)'"
		reason := head + " || (case when not " + can + " then '; the price table has no " +
			"cheaper lower tier for it, so no saving is claimed' when " + real +
			" then ': removing ' || " + text("l.seats_to_next_lower_tier") + " || ' of the ' || " +
			text("l.candidates") + " || ' seats the per-user rules report' || ' leaves ' || " +
			text("l.billable_users - l.seats_to_next_lower_tier") + " || ' users, which' || " +
			"' fit the ' || " + text("l.lower_users") + " || '-user tier at renewal' || " +
			renewal + " || ' and saves ' || " + amounts + " else '; ' || " +
			text("l.seats_to_next_lower_tier") + " || " + fewer + " || ', which would save ' || " +
			amounts + " || ', but the per-user rules report only ' || " + text("l.candidates") +
			" || ' of its seats, so no saving is claimed' end) || '.' || " + mixedSources("l")
		status := "(case when " + real + " then 'alarm' else 'info' end)"
		return squirrel.Select(siteColumns(d, status, reason, halfUpTwelfth(annual), annual)...).
			FromSelect(inner, "l").
			OrderBy("l.site")
	}
	return Definition{
		Name:  "annual_tier_above_need",
		Title: "Annual plans that can renew on a lower user tier",
		Description: "Annual subscriptions whose billed users, less the seats the per-user " +
			"rules report, fit the next lower user tier at renewal.",
		Saving: true, Precedence: precedenceAnnualTier,
		Params: append(append([]Param{}, pairParams...), paramAnnualTiers),
		Tables: []string{tableLicense, tableSpend, tableUser, tableActivity, tableGroup,
			tableGroupMember},
		Build: build,
	}
}

func monthlyToAnnual() Definition {
	build := func(d Dialect) squirrel.SelectBuilder {
		inner := squirrel.Select("l2.*").
			Column(squirrel.Alias(tierFor(d, "users"), "tier_users")).
			Column(squirrel.Alias(tierFor(d, "price_minor"), "tier_price")).
			From(tableLicense + " as l2").
			Where("l2.billing_cycle = 'monthly' and l2.amount_annual_minor is not null " +
				"and l2.billable_users > 0")
		diff := "(l.amount_annual_minor - l.tier_price)"
		reason := "l.site || ': 12 monthly bills for ' || " + text("l.billable_users") +
			" || ' users cost ' || " + money(d, "l.amount_annual_minor", "l.currency") +
			" || ' a year (' || " + money(d, "l.amount_monthly_minor", "l.currency") +
			" || ' a month), and the annual ' || " + text("l.tier_users") +
			" || '-user tier costs ' || " + money(d, "l.tier_price", "l.currency") + " || ', ' || " +
			money(d, diff, "l.currency") + " || ' a year (' || " +
			money(d, halfUpTwelfth(diff), "l.currency") + " || ' a month) less: information " +
			"only, because an annual plan commits to the tier for a year.' || " + mixedSources("l")
		return squirrel.Select(siteColumns(d, "'info'", reason, "0", "0")...).
			FromSelect(inner, "l").
			Where("l.tier_price is not null and l.amount_annual_minor > l.tier_price").
			OrderBy("l.site")
	}
	return Definition{
		Name:  "monthly_to_annual",
		Title: "Monthly plans that cost more than the annual tier",
		Description: "Monthly subscriptions whose twelve bills at today's user count cost " +
			"more than the annual tier for that count, where the price table has both.",
		Saving: false, Precedence: precedenceMonthlyToAnnual,
		Params: []Param{paramAsOf, paramAnnualTiers},
		Tables: []string{tableLicense},
		Build:  build,
	}
}

func editionAboveNeed() Definition {
	build := func(d Dialect) squirrel.SelectBuilder {
		active := squirrel.ConcatExpr("left join (select s.cloud_id, count(*) as active_users "+
			"from "+tableSpend+" as s join (select account_id, cloud_id, max(last_active) as "+
			"last_active from "+tableActivity+" where product_key = 'confluence' group by "+
			"account_id, cloud_id) as a on a.account_id = s.account_id and "+
			"a.cloud_id = s.cloud_id where s.billable and a.last_active is not null and ",
			notOlderThan(d, "a.last_active", ParamInactiveDays),
			" group by s.cloud_id) as act on act.cloud_id = l2.cloud_id")
		inner := squirrel.Select("l2.*", "coalesce(act.active_users, 0) as active_users").
			Column(squirrel.Alias(numberParam(ParamInactiveDays), "window_days")).
			From(tableLicense + " as l2").
			JoinClause(active).
			Where("l2.edition in ('premium', 'enterprise') and l2.billable_users > 0 and " +
				"l2.cost_source not in ('sandbox', 'free_plan')").
			Where(squirrel.ConcatExpr("coalesce(act.active_users, 0) * 100 < ",
				numberParam(ParamEditionActivePercent), " * l2.billable_users"))
		cost := "(case when l.amount_monthly_minor is null then 'an amount the price table " +
			"does not know' else " + money(d, "l.amount_monthly_minor", "l.currency") +
			" || ' a month and ' || " + money(d, "l.amount_annual_minor", "l.currency") +
			" || ' a year' end)"
		reason := "l.site || ' runs Confluence ' || l.edition || ' for ' || " +
			text("l.billable_users") + " || ' billed users at ' || " + cost +
			" || ', and only ' || " + text("l.active_users") + " || ' of them used Confluence " +
			"there in the last ' || " + text("l.window_days") + " || ' days; the plugin " +
			"cannot see which ' || l.edition || ' features are in use, so check them before " +
			"changing the edition: information only.'"
		return squirrel.Select(siteColumns(d, "'info'", reason, "0", "0")...).
			FromSelect(inner, "l").
			OrderBy("l.site")
	}
	return Definition{
		Name:  "edition_above_need",
		Title: "Premium and Enterprise sites with little activity",
		Description: "Premium or Enterprise sites where fewer than edition_active_percent " +
			"of the billed users used Confluence within inactive_days.",
		Saving: false, Precedence: precedenceEdition,
		Params: []Param{paramAsOf, paramInactiveDays, paramEditionActivePercent},
		Tables: []string{tableLicense, tableSpend, tableActivity},
		Build:  build,
	}
}

func duplicatePeople() Definition {
	r := pairRule{
		name: "duplicate_people",
		joins: func(d Dialect, b squirrel.SelectBuilder) squirrel.SelectBuilder {
			// Grouping by name and local part finds the duplicates without
			// comparing every pair of users.
			return b.Join("(select lower(trim(name)) as name_key, " + emailLocal(d, "email") +
				" as local_key, min(lower(email)) as first_email, max(lower(email)) as " +
				"last_email from " + tableUser + " where name is not null and email like " +
				"'%_@_%' group by lower(trim(name)), " + emailLocal(d, "email") + " having " +
				"count(distinct " + emailDomain(d, "email") + ") > 1) as dup on " +
				"dup.name_key = lower(trim(u.name)) and dup.local_key = " +
				emailLocal(d, "u.email"))
		},
		match: func(Dialect) squirrel.Sqlizer { return expr("u.email like '%_@_%'") },
		phrase: func(Dialect) string {
			return "'may be the same person as ' || (case when lower(u.email) = dup.first_email " +
				"then dup.last_email else dup.first_email end) || ' (same name and e-mail " +
				"local part, another domain), and is billed on ' || s.site"
		},
	}
	return Definition{
		Name:  r.name,
		Title: "Likely duplicate people",
		Description: "Billed accounts with the same display name and e-mail local part as " +
			"an account on another e-mail domain: information only.",
		Saving: false, Precedence: precedenceDuplicates,
		Params: []Param{paramAsOf}, Tables: r.tableList(), Build: r.build(false),
	}
}
