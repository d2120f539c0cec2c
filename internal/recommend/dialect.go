package recommend

import (
	"strings"

	"github.com/Masterminds/squirrel"
)

// The SQL below differs between the dialects only in these helpers. Each
// helper returns a squirrel expression whose arguments are ParamRef
// values, and casts every placeholder the same way wherever a parameter
// appears, because PostgreSQL infers one type per parameter.

// expr is shorthand for squirrel.Expr.
func expr(sql string, args ...any) squirrel.Sqlizer { return squirrel.Expr(sql, args...) }

// numberParam is a TypeNumber parameter as a bigint.
func numberParam(name string) squirrel.Sqlizer {
	return expr("cast(? as bigint)", ParamRef(name))
}

// asOfEpoch is the as_of parameter in seconds since the Unix epoch.
func asOfEpoch(d Dialect) squirrel.Sqlizer {
	if d == Postgres {
		return expr("extract(epoch from cast(? as timestamptz))", ParamRef(ParamAsOf))
	}
	return expr("cast(strftime('%s', ?) as integer)", ParamRef(ParamAsOf))
}

// epoch is a TIMESTAMP column or expression in seconds since the Unix
// epoch. The embedded engine stores timestamps as text, which strftime
// reads.
func epoch(d Dialect, column string) string {
	if d == Postgres {
		return "extract(epoch from " + column + ")"
	}
	return "cast(strftime('%s', " + column + ") as integer)"
}

// cutoff is as_of minus the number of days in the named parameter, in
// seconds since the Unix epoch. Days are 86,400 s: as_of is UTC.
func cutoff(d Dialect, daysParam string) squirrel.Sqlizer {
	return squirrel.ConcatExpr("(", asOfEpoch(d), " - ", numberParam(daysParam), " * 86400)")
}

// olderThan is true when the timestamp column lies strictly before
// as_of minus the days of daysParam.
func olderThan(d Dialect, column, daysParam string) squirrel.Sqlizer {
	return squirrel.ConcatExpr(epoch(d, column), " < ", cutoff(d, daysParam))
}

// notOlderThan is the negation of olderThan for a non-NULL column.
func notOlderThan(d Dialect, column, daysParam string) squirrel.Sqlizer {
	return squirrel.ConcatExpr(epoch(d, column), " >= ", cutoff(d, daysParam))
}

// inList is true when the text expression is an element of the list
// parameter, which Render binds as JSON array text.
func inList(d Dialect, text, listParam string) squirrel.Sqlizer {
	if d == Postgres {
		return expr(text+" in (select jsonb_array_elements_text(cast(? as jsonb)))",
			ParamRef(listParam))
	}
	return expr(text+" in (select value from json_each(?))", ParamRef(listParam))
}

// emailLocal and emailDomain split a lower-case e-mail address at its @.
func emailLocal(d Dialect, email string) string {
	if d == Postgres {
		return "split_part(lower(" + email + "), '@', 1)"
	}
	return "substr(lower(" + email + "), 1, instr(" + email + ", '@') - 1)"
}

func emailDomain(d Dialect, email string) string {
	if d == Postgres {
		return "split_part(lower(" + email + "), '@', 2)"
	}
	return "substr(lower(" + email + "), instr(" + email + ", '@') + 1)"
}

// zeroExponentCurrencies are the currencies without a minor unit that
// Atlassian bills in (ISO 4217 exponent 0); all others have cents.
var zeroExponentCurrencies = []string{"JPY", "KRW"}

func zeroExponent(currency string) string {
	return currency + " in ('" + strings.Join(zeroExponentCurrencies, "', '") + "')"
}

// major is a minor-unit amount as a number in the currency's major unit,
// for display.
func major(d Dialect, minor, currency string) string {
	return "round(case when " + zeroExponent(currency) + " then " + minor + " * 1.0 else " +
		minor + " / 100.0 end, 2)"
}

// money is a minor-unit amount as text such as "12.30 USD".
func money(d Dialect, minor, currency string) string {
	var whole, cents string
	if d == Postgres {
		whole = "to_char(" + minor + ", 'FM999999999999990')"
		cents = "to_char(" + minor + " / 100.0, 'FM999999999999990.00')"
	} else {
		whole = "printf('%d', " + minor + ")"
		cents = "printf('%.2f', " + minor + " / 100.0)"
	}
	return "(case when " + zeroExponent(currency) + " then " + whole + " else " + cents +
		" end || ' ' || " + currency + ")"
}

// text casts an expression to text, which PostgreSQL needs before ||.
func text(e string) string {
	return "cast(" + e + " as text)"
}

// tiersTable is a subquery over the annual_tiers parameter with the
// columns edition, currency, users and price_minor.
func tiersTable(d Dialect) squirrel.Sqlizer {
	if d == Postgres {
		return expr("(select * from jsonb_to_recordset(cast(? as jsonb)) as "+
			"x(edition text, currency text, users bigint, price_minor bigint))",
			ParamRef(ParamAnnualTiers))
	}
	return expr("(select json_extract(value, '$.edition') as edition, "+
		"json_extract(value, '$.currency') as currency, "+
		"cast(json_extract(value, '$.users') as integer) as users, "+
		"cast(json_extract(value, '$.price_minor') as integer) as price_minor "+
		"from json_each(?))", ParamRef(ParamAnnualTiers))
}
