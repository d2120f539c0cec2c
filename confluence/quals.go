package confluence

import (
	"slices"
	"strings"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/quals"
)

// exactQuals lists, per table and column, the operators whose quals the
// API or the plugin applies exactly as SQL would. Quals not listed here are
// only narrowed, so the SQL engine must check them again.
var exactQuals = map[string]map[string][]string{
	"confluence_user": {
		"account_id":   {quals.QualOperatorEqual},
		"status":       {quals.QualOperatorEqual},
		"account_type": {quals.QualOperatorEqual},
		// email is left out on purpose: the plugin compares it without
		// regard to case, and SQL "=" does not.
	},
	"confluence_user_activity": {
		"account_id":  {quals.QualOperatorEqual},
		"product_key": {quals.QualOperatorEqual},
	},
	"confluence_group": {
		"id":   {quals.QualOperatorEqual},
		"name": {quals.QualOperatorEqual},
	},
	"confluence_group_member": {
		"group_id":   {quals.QualOperatorEqual},
		"group_name": {quals.QualOperatorEqual},
		"account_id": {quals.QualOperatorEqual},
	},
	"confluence_site": {
		"cloud_id": {quals.QualOperatorEqual},
	},
}

// ExactQual reports whether a qual on table.column with operator is
// applied exactly by the plugin, so that an embedding SQL engine can skip
// checking it again. operator uses the SDK's spelling ("=", "<>", ...).
func ExactQual(table, column, operator string) bool {
	return slices.Contains(exactQuals[table][column], operator)
}

// stringSet is a set of strings. A nil set means "no filter".
type stringSet map[string]struct{}

func (s stringSet) has(v string) bool {
	_, ok := s[v]
	return ok
}

func (s stringSet) subsetOf(other stringSet) bool {
	for v := range s {
		if !other.has(v) {
			return false
		}
	}
	return true
}

// sorted returns the members in order, so that requests are reproducible.
func (s stringSet) sorted() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// equalsValues returns the values a column must equal under its "="
// quals, with normalize applied to each. Each qual may hold one value or
// a list (from SQL "in"), and several quals on one column intersect, so
// "account_id = 'a' and account_id = 'b'" yields an empty, non-nil set.
// A nil result means the column has no usable "=" qual.
func equalsValues(qualMap plugin.KeyColumnQualMap, column string,
	normalize func(string) string) stringSet {
	columnQuals, ok := qualMap[column]
	if !ok || columnQuals == nil {
		return nil
	}
	var result stringSet
	for _, q := range columnQuals.Quals {
		if q == nil || q.Operator != quals.QualOperatorEqual || q.Value == nil {
			continue
		}
		values := make(stringSet)
		if list := q.Value.GetListValue(); list != nil {
			for _, v := range list.Values {
				values[normalize(v.GetStringValue())] = struct{}{}
			}
		} else {
			values[normalize(q.Value.GetStringValue())] = struct{}{}
		}
		result = intersect(result, values)
	}
	return result
}

// intersect returns the members of b that are also in a. A nil a means
// "any value", so b is returned unchanged.
func intersect(a, b stringSet) stringSet {
	if a == nil {
		return b
	}
	out := make(stringSet)
	for v := range b {
		if a.has(v) {
			out[v] = struct{}{}
		}
	}
	return out
}

func identity(s string) string { return s }

// foldEmail normalizes an e-mail address for comparison. Atlassian treats
// addresses without regard to case.
func foldEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
