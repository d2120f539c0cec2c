package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/recommend"
)

// Names of the generated queries that sum the findings of every rule.
const (
	SavingsQueryName      = "confluence_savings_by_recommendation"
	SavingsChartQueryName = "confluence_savings_by_recommendation_chart"
)

// zeroExponentSQL matches the currencies without a minor unit. It is the
// list that package recommend converts with, and that the dashboard uses.
const zeroExponentSQL = "in ('JPY', 'KRW')"

// savingsUnion is the union of every rule's PostgreSQL query, summed per
// rule and currency, with one parameter list shared by all rules.
type savingsUnion struct {
	sql string
	// names are the parameters of $1, $2 and so on, in the order the rules
	// first use them.
	names []string
}

// buildSavingsUnion renders each rule, renumbers its placeholders into the
// shared list and sums its rows. Each branch has the columns position,
// recommendation, title, currency, findings, findings_with_saving,
// saving_monthly_minor and saving_annual_minor. As in recommend.Run, the
// savings are those of the alarm rows, the rows that claim a saving.
func buildSavingsUnion(defs []recommend.Definition) (savingsUnion, error) {
	var u savingsUnion
	index := map[string]int{}
	branches := make([]string, 0, len(defs))
	for i, def := range defs {
		values := map[string]any{recommend.ParamAsOf: "2000-01-01"}
		q, err := recommend.RenderQuery(def, recommend.Postgres, values)
		if err != nil {
			return savingsUnion{}, fmt.Errorf("rendering rule %s failed: %w", def.Name, err)
		}
		for _, name := range q.Names {
			if _, ok := index[name]; !ok {
				u.names = append(u.names, name)
				index[name] = len(u.names)
			}
		}
		// The rule's $n becomes the shared number of its parameter, so that
		// ControlSQL wraps it by the parameter's type as in the controls.
		var failed error
		q.SQL = placeholder.ReplaceAllStringFunc(q.SQL, func(m string) string {
			n, _ := strconv.Atoi(m[1:])
			if n < 1 || n > len(q.Names) {
				failed = fmt.Errorf("rule %s: placeholder %s has no parameter", def.Name, m)
				return m
			}
			return "$" + strconv.Itoa(index[q.Names[n-1]])
		})
		if failed != nil {
			return savingsUnion{}, failed
		}
		q.Names = u.names
		sql, err := ControlSQL(def, q)
		if err != nil {
			return savingsUnion{}, err
		}
		branches = append(branches, savingsBranch(i+1, def, sql))
	}
	u.sql = strings.Join(branches, "\n  union all\n")
	return u, nil
}

func savingsBranch(position int, def recommend.Definition, sql string) string {
	alarm := "filter (where r.status = '" + recommend.StatusAlarm + "')"
	return "  select " + strconv.Itoa(position) + " as position, " +
		sqlString(def.Name) + " as recommendation, " +
		escapeTemplates(sqlString(def.Title)) + " as title, r.currency,\n" +
		"    count(*) as findings,\n" +
		"    count(*) " + alarm + " as findings_with_saving,\n" +
		"    cast(coalesce(sum(r.saving_monthly_minor) " + alarm + ", 0) as bigint)" +
		" as saving_monthly_minor,\n" +
		"    cast(coalesce(sum(r.saving_annual_minor) " + alarm + ", 0) as bigint)" +
		" as saving_annual_minor\n" +
		"  from (\n    " + sql + "\n  ) as r\n" +
		"  group by r.currency"
}

// majorSQL converts a minor-unit column to the currency's major unit.
func majorSQL(minor string) string {
	return "round(case when currency " + zeroExponentSQL + " then " + minor +
		" * 1.0 else " + minor + " / 100.0 end, 2)"
}

// savingsTableSQL selects the sums per rule and currency in rule order.
func savingsTableSQL(union string) string {
	return "select\n" +
		"  recommendation,\n" +
		"  title,\n" +
		"  currency,\n" +
		"  findings,\n" +
		"  findings_with_saving,\n" +
		"  saving_monthly_minor,\n" +
		"  saving_annual_minor,\n" +
		"  " + majorSQL("saving_monthly_minor") + " as saving_monthly,\n" +
		"  " + majorSQL("saving_annual_minor") + " as saving_annual\n" +
		"from (\n" + union + "\n) as t\n" +
		"order by position, currency"
}

// savingsChartSQL has the shape of a Powerpipe bar chart: a label, then
// one numeric column per series. Rows without a currency claim no saving,
// and each label names its currency, because the bars of different
// currencies share one axis but are never added together.
func savingsChartSQL(union string) string {
	return "select\n" +
		"  recommendation || ' (' || currency || ')' as recommendation,\n" +
		"  " + majorSQL("saving_monthly_minor") + " as saving_monthly,\n" +
		"  " + majorSQL("saving_annual_minor") + " as saving_annual\n" +
		"from (\n" + union + "\n) as t\n" +
		"where currency is not null and findings_with_saving > 0\n" +
		"order by position, currency"
}

// renderQueries renders the query blocks of QueriesFile. Their param
// blocks are the shared list, each defaulting to its mod variable.
func renderQueries(defs []recommend.Definition, vars []variable) (string, error) {
	u, err := buildSavingsUnion(defs)
	if err != nil {
		return "", err
	}
	params, err := savingsParams(u.names, vars)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# The findings of every recommendation summed per rule and currency: the\n" +
		"# union of the controls' SQL. Amounts of different currencies are never added.\n")
	writeQuery(&b, SavingsQueryName, "Savings per recommendation",
		"Findings, findings with a saving and the saving a month and a year of each "+
			"recommendation, per currency, in minor units and in the currency's major unit.",
		params, savingsTableSQL(u.sql))
	b.WriteString("\n# The savings of " + SavingsQueryName + " for a bar chart: one bar per\n" +
		"# rule and currency, in the currency's major unit.\n")
	writeQuery(&b, SavingsChartQueryName, "Savings per recommendation (chart)",
		"The saving a month and a year of each recommendation in the major unit of its "+
			"currency, one row per recommendation and currency that claims a saving.",
		params, savingsChartSQL(u.sql))
	return b.String(), nil
}

func savingsParams(names []string, vars []variable) ([]recommend.Param, error) {
	params := make([]recommend.Param, 0, len(names))
	for _, name := range names {
		found := false
		for _, v := range vars {
			if v.Name == name {
				params = append(params, v.declared)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("parameter %s has no mod variable", name)
		}
	}
	return params, nil
}

func writeQuery(b *strings.Builder, name, title, description string,
	params []recommend.Param, sql string) {
	fmt.Fprintf(b, "query %q {\n", name)
	fmt.Fprintf(b, "  title       = %s\n", literal(cty.StringVal(title)))
	fmt.Fprintf(b, "  description = %s\n\n", literal(cty.StringVal(description)))
	for _, p := range params {
		fmt.Fprintf(b, "  param %q {\n", p.Name)
		fmt.Fprintf(b, "    description = %s\n", literal(cty.StringVal(p.Description)))
		fmt.Fprintf(b, "    default     = var.%s\n", p.Name)
		b.WriteString("  }\n\n")
	}
	b.WriteString("  sql = <<-EOQ\n")
	for _, line := range strings.Split(sql, "\n") {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("  EOQ\n}\n")
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// escapeTemplates keeps HCL from reading template sequences in a heredoc.
func escapeTemplates(s string) string {
	s = strings.ReplaceAll(s, "${", "$${")
	return strings.ReplaceAll(s, "%{", "%%{")
}
