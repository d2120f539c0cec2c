package sqlengine

import (
	"bytes"
	"database/sql/driver"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// qualConversion is a SQL condition value turned into a qual.
type qualConversion struct {
	// noRows is set when no row can satisfy the condition, as with a NULL
	// value: the plugin is then not called at all.
	noRows bool
	// operator and value form the qual; value is nil when the condition
	// cannot be expressed exactly as a qual of the column's type.
	operator string
	value    *proto.QualValue
}

// maxExactFloatInt bounds the integers a float64 holds exactly (2^53).
const maxExactFloatInt = 1 << 53

// convertQual converts the right-hand value of "column op value" to a
// qual that selects exactly the rows SQLite would select. SQLite applies
// the column's affinity to the value and compares storage classes, so a
// value that does not convert cleanly gets no qual and is checked locally.
func convertQual(col *columnInfo, op string, v driver.Value) qualConversion {
	if v == nil {
		return qualConversion{noRows: true}
	}
	switch col.typ {
	case proto.ColumnType_BOOL:
		return convertBool(op, v)
	case proto.ColumnType_INT:
		if n, ok := exactInt(v); ok {
			return qualConversion{operator: op, value: &proto.QualValue{
				Value: &proto.QualValue_Int64Value{Int64Value: n}}}
		}
	case proto.ColumnType_DOUBLE:
		if f, ok := exactFloat(v); ok {
			return qualConversion{operator: op, value: &proto.QualValue{
				Value: &proto.QualValue_DoubleValue{DoubleValue: f}}}
		}
	case proto.ColumnType_TIMESTAMP:
		return convertTimestamp(col, op, v)
	default:
		if s, ok := exactText(v); ok {
			return qualConversion{operator: op, value: textQualValue(col.typ, s)}
		}
	}
	return qualConversion{}
}

// convertBool maps 1 and 0 to true and false. Other values and range
// conditions are checked locally.
func convertBool(op string, v driver.Value) qualConversion {
	n, ok := exactInt(v)
	if !ok || op != "=" {
		return qualConversion{}
	}
	if n != 0 && n != 1 {
		return qualConversion{noRows: true}
	}
	return qualConversion{operator: op, value: &proto.QualValue{
		Value: &proto.QualValue_BoolValue{BoolValue: n == 1}}}
}

// convertTimestamp accepts values in TimestampFormat, whose text order
// is time order, and bare dates. A column value is never equal to a bare
// date and sorts after it when on that date, so "> date" and ">= date"
// both mean ">= midnight", and "< date" and "<= date" mean "< midnight".
func convertTimestamp(col *columnInfo, op string, v driver.Value) qualConversion {
	s, ok := v.(string)
	if !ok {
		return qualConversion{}
	}
	if t, err := time.Parse(TimestampFormat, s); err == nil && t.Format(TimestampFormat) == s {
		return qualConversion{operator: op, value: timestampQualValue(t)}
	}
	const dateLayout = "2006-01-02"
	t, err := time.Parse(dateLayout, s)
	if err != nil || t.Format(dateLayout) != s {
		return qualConversion{}
	}
	switch op {
	case "=":
		return qualConversion{noRows: true}
	case ">", ">=":
		op = ">="
	case "<", "<=":
		op = "<"
	}
	if !col.keyOps[op] {
		return qualConversion{}
	}
	return qualConversion{operator: op, value: timestampQualValue(t)}
}

func timestampQualValue(t time.Time) *proto.QualValue {
	return &proto.QualValue{Value: &proto.QualValue_TimestampValue{
		TimestampValue: timestamppb.New(t)}}
}

func textQualValue(t proto.ColumnType, s string) *proto.QualValue {
	switch t {
	case proto.ColumnType_JSON:
		return &proto.QualValue{Value: &proto.QualValue_JsonbValue{JsonbValue: s}}
	case proto.ColumnType_LTREE:
		return &proto.QualValue{Value: &proto.QualValue_LtreeValue{LtreeValue: s}}
	case proto.ColumnType_IPADDR, proto.ColumnType_INET:
		return &proto.QualValue{Value: &proto.QualValue_InetValue{InetValue: &proto.Inet{Addr: s}}}
	case proto.ColumnType_CIDR:
		return &proto.QualValue{Value: &proto.QualValue_InetValue{InetValue: &proto.Inet{Cidr: s}}}
	}
	return &proto.QualValue{Value: &proto.QualValue_StringValue{StringValue: s}}
}

// exactInt returns v as an integer when integer affinity makes it one.
func exactInt(v driver.Value) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxExactFloatInt {
			return int64(x), true
		}
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return exactInt(f)
		}
	}
	return 0, false
}

// exactFloat returns v as a float when real affinity makes it one.
func exactFloat(v driver.Value) (float64, bool) {
	switch x := v.(type) {
	case int64:
		if x >= -maxExactFloatInt && x <= maxExactFloatInt {
			return float64(x), true
		}
	case float64:
		return x, true
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil && !math.IsInf(f, 0) {
			return f, true
		}
	}
	return 0, false
}

// exactText returns v as text when text affinity makes it the same text
// the plugin would compare.
func exactText(v driver.Value) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// affinity is the SQLite column affinity of a declared type.
type affinity int

const (
	affinityNumeric affinity = iota
	affinityText
)

func affinityOf(t proto.ColumnType) affinity {
	switch t {
	case proto.ColumnType_BOOL, proto.ColumnType_INT, proto.ColumnType_DOUBLE:
		return affinityNumeric
	}
	return affinityText
}

// localCheck is a condition SQLite was told not to re-check but that the
// plugin could not receive exactly, evaluated with SQLite's rules.
type localCheck struct {
	column   int
	affinity affinity
	operator string
	value    driver.Value
}

func (l localCheck) matches(columnValue driver.Value) bool {
	cmp, ok := compareSQLite(columnValue, applyAffinity(l.affinity, l.value))
	if !ok {
		return false
	}
	switch l.operator {
	case "=":
		return cmp == 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}

// applyAffinity converts a comparison value as SQLite does when the other
// operand is a column with affinity a.
func applyAffinity(a affinity, v driver.Value) driver.Value {
	switch a {
	case affinityNumeric:
		if s, ok := v.(string); ok {
			trimmed := strings.TrimSpace(s)
			if n, err := strconv.ParseInt(trimmed, 10, 64); err == nil {
				return n
			}
			if f, err := strconv.ParseFloat(trimmed, 64); err == nil {
				return f
			}
		}
	case affinityText:
		switch x := v.(type) {
		case int64:
			return strconv.FormatInt(x, 10)
		case float64:
			return formatReal(x)
		}
	}
	return v
}

// formatReal renders a REAL as SQLite's text conversion does ("%!.15g"),
// which always shows a decimal point.
func formatReal(f float64) string {
	s := strconv.FormatFloat(f, 'g', 15, 64)
	if strings.ContainsAny(s, ".nN") {
		return s
	}
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		return s[:i] + ".0" + s[i:]
	}
	return s + ".0"
}

// storageClassRank orders SQLite storage classes: numbers, then text,
// then blobs. NULL never compares.
func storageClassRank(v driver.Value) int {
	switch v.(type) {
	case int64, float64:
		return 1
	case string:
		return 2
	case []byte:
		return 3
	}
	return 0
}

// compareSQLite compares two values as SQLite's BINARY collation does; ok
// is false when either is NULL.
func compareSQLite(a, b driver.Value) (int, bool) {
	ra, rb := storageClassRank(a), storageClassRank(b)
	if ra == 0 || rb == 0 {
		return 0, false
	}
	if ra != rb {
		if ra < rb {
			return -1, true
		}
		return 1, true
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return compareOrdered(x, y), true
		}
		return compareOrdered(float64(x), b.(float64)), true
	case float64:
		if y, ok := b.(float64); ok {
			return compareOrdered(x, y), true
		}
		return compareOrdered(x, float64(b.(int64))), true
	case string:
		return strings.Compare(x, b.(string)), true
	case []byte:
		return bytes.Compare(x, b.([]byte)), true
	}
	return 0, false
}

func compareOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
