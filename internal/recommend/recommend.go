package recommend

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/squirrel"
)

// Dialect is the SQL engine a query is rendered for.
type Dialect int

const (
	// Postgres is PostgreSQL as Steampipe serves the plugin's tables.
	Postgres Dialect = iota
	// SQLite is the embedded engine, whose TIMESTAMP columns hold text in
	// the layout 2006-01-02T15:04:05Z and whose BOOLEAN columns hold 0 or 1.
	SQLite
)

func (d Dialect) String() string {
	switch d {
	case Postgres:
		return "postgres"
	case SQLite:
		return "sqlite"
	}
	return "dialect(" + strconv.Itoa(int(d)) + ")"
}

// Parameter types, named as Powerpipe names variable types.
const (
	TypeNumber     = "number"
	TypeString     = "string"
	TypeStringList = "list(string)"
)

// Param is one named input of a rule.
type Param struct {
	Name        string
	Description string
	// Default is an int for TypeNumber, a string for TypeString and a
	// []string for TypeStringList. A nil Default means the caller must
	// give a value.
	Default any
	Type    string
}

// Definition is one recommendation.
type Definition struct {
	// Name is the rule's identifier, in snake case.
	Name  string
	Title string
	// Description is one or two sentences for a control's description.
	Description string
	// Saving is false for information-only rules, whose rows have status
	// info and zero saving columns.
	Saving bool
	// Precedence orders the rules that report (account, site) pairs: when
	// a pair matches several saving rules, only the rule with the lowest
	// Precedence reports it. Each rule's SQL leaves out the pairs of the
	// rules before it, so the rows of all rules add up without counting a
	// seat twice. Site-level and information-only rules have their own
	// values and exclude nothing.
	Precedence int
	// Params lists the rule's inputs, as_of included.
	Params []Param
	// Tables lists the plugin tables the query reads.
	Tables []string
	// Build returns the query for a dialect. Its placeholders take
	// ParamRef arguments only, which Render replaces with values.
	Build func(d Dialect) squirrel.SelectBuilder
}

// Columns are the result columns of every rule, in order.
var Columns = []string{
	"resource", "status", "reason", "account_id", "site", "cloud_id", "currency",
	"saving_monthly_minor", "saving_annual_minor", "saving_monthly", "saving_annual",
}

// Status values of a row.
const (
	StatusAlarm = "alarm"
	StatusInfo  = "info"
)

// ParamRef is a placeholder argument that names a parameter. Build
// functions pass it in place of a value, and Render swaps in the value.
type ParamRef string

// Query is a rendered rule.
type Query struct {
	SQL string
	// Args are the values of the placeholders: Args[i] binds $i+1 on
	// PostgreSQL and ?i+1 on SQLite.
	Args []any
	// Names are the parameter names of Args, in the same order.
	Names []string
}

// Render renders def for d with the given parameter values; a parameter
// missing from values takes its default. Placeholders are $1.. on
// PostgreSQL and ?1.. on SQLite, one per parameter however often the
// query uses it.
func Render(def Definition, d Dialect, values map[string]any) (string, []any, error) {
	q, err := RenderQuery(def, d, values)
	if err != nil {
		return "", nil, err
	}
	return q.SQL, q.Args, nil
}

// RenderQuery is Render that also returns the parameter name of each
// placeholder, so that a caller can bind them by name.
func RenderQuery(def Definition, d Dialect, values map[string]any) (Query, error) {
	if d != Postgres && d != SQLite {
		return Query{}, fmt.Errorf("invalid dialect %v: use Postgres or SQLite", d)
	}
	for name := range values {
		if !slices.ContainsFunc(def.Params, func(p Param) bool { return p.Name == name }) {
			return Query{}, fmt.Errorf("invalid parameter %q for rule %s: it takes %s",
				name, def.Name, paramNames(def.Params))
		}
	}
	text, rawArgs, err := def.Build(d).PlaceholderFormat(squirrel.Question).ToSql()
	if err != nil {
		return Query{}, fmt.Errorf("building rule %s failed: %w", def.Name, err)
	}
	var q Query
	index := map[string]int{}
	var b strings.Builder
	next := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '?' {
			b.WriteByte(c)
			continue
		}
		if next >= len(rawArgs) {
			return Query{}, fmt.Errorf("rule %s: more placeholders than arguments", def.Name)
		}
		ref, ok := rawArgs[next].(ParamRef)
		next++
		if !ok {
			// Only named parameters may reach the database, so that a value
			// is always bound, checked and documented.
			return Query{}, fmt.Errorf("rule %s: argument %d is not a ParamRef", def.Name, next)
		}
		n, seen := index[string(ref)]
		if !seen {
			p, found := findParam(def.Params, string(ref))
			if !found {
				return Query{}, fmt.Errorf("rule %s: query uses undeclared parameter %q",
					def.Name, ref)
			}
			v, err := paramValue(p, values)
			if err != nil {
				return Query{}, fmt.Errorf("rule %s: %w", def.Name, err)
			}
			q.Args = append(q.Args, v)
			q.Names = append(q.Names, p.Name)
			n = len(q.Args)
			index[string(ref)] = n
		}
		if d == Postgres {
			b.WriteString("$" + strconv.Itoa(n))
		} else {
			b.WriteString("?" + strconv.Itoa(n))
		}
	}
	if next != len(rawArgs) {
		return Query{}, fmt.Errorf("rule %s: more arguments than placeholders", def.Name)
	}
	q.SQL = b.String()
	return q, nil
}

func findParam(params []Param, name string) (Param, bool) {
	for _, p := range params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

func paramNames(params []Param) string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// paramValue checks the value of p (or its default) and converts it to
// what the database binds: int64 for numbers, JSON array text for lists.
func paramValue(p Param, values map[string]any) (any, error) {
	v, ok := values[p.Name]
	if !ok || v == nil {
		v = p.Default
	}
	if v == nil {
		return nil, fmt.Errorf("missing value for parameter %s (%s)", p.Name, p.Description)
	}
	switch p.Type {
	case TypeNumber:
		n, err := toInt(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for parameter %s: %w", p.Name, err)
		}
		if n < 0 {
			return nil, fmt.Errorf("invalid value %d for parameter %s: use 0 or more", n, p.Name)
		}
		return n, nil
	case TypeString:
		switch s := v.(type) {
		case string:
			if p.Name == ParamAsOf {
				return normaliseTime(s)
			}
			return s, nil
		case time.Time:
			if p.Name == ParamAsOf {
				return s.UTC().Truncate(time.Second).Format(TimeLayout), nil
			}
		}
		return nil, fmt.Errorf("invalid value for parameter %s: want a string, got %T", p.Name, v)
	case TypeStringList:
		list, ok := v.([]string)
		if !ok {
			return nil, fmt.Errorf("invalid value for parameter %s: want a list of strings, "+
				"got %T", p.Name, v)
		}
		folded := make([]string, 0, len(list))
		for _, s := range list {
			if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
				folded = append(folded, s)
			}
		}
		text, err := json.Marshal(folded)
		if err != nil {
			return nil, err
		}
		return string(text), nil
	}
	return nil, fmt.Errorf("parameter %s has unknown type %q", p.Name, p.Type)
}

func toInt(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int64:
		return n, nil
	case int32:
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || math.IsNaN(n) {
			return 0, fmt.Errorf("%v is not a whole number", n)
		}
		return int64(n), nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", n)
		}
		return i, nil
	}
	return 0, fmt.Errorf("want a whole number, got %T", v)
}

// TimeLayout is the layout of the as_of value Render binds: UTC to the
// second, which SQLite's date functions and PostgreSQL's timestamptz
// both read.
const TimeLayout = "2006-01-02T15:04:05Z"

// normaliseTime accepts an RFC 3339 time or a YYYY-MM-DD date (midnight
// UTC) and returns it in TimeLayout.
func normaliseTime(s string) (string, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Truncate(time.Second).Format(TimeLayout), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC().Format(TimeLayout), nil
	}
	return "", fmt.Errorf("invalid value %q for parameter %s: use an RFC 3339 time such as "+
		"2026-05-01T00:00:00Z or a date such as 2026-05-01", s, ParamAsOf)
}

// All returns every rule, in precedence order.
func All() []Definition {
	return []Definition{
		suspendedElsewhere(),
		neverActiveUsers(),
		inactiveUsers(),
		externalPaidSeats(),
		annualTierAboveNeed(),
		monthlyToAnnual(),
		editionAboveNeed(),
		duplicatePeople(),
	}
}

// Lookup returns the rule named name.
func Lookup(name string) (Definition, bool) {
	for _, d := range All() {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}
