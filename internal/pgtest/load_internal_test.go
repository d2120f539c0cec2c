package pgtest

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
)

func TestPostgresValueConversions(t *testing.T) {
	cases := []struct {
		typ  proto.ColumnType
		in   any
		want any
	}{
		{proto.ColumnType_BOOL, int64(1), true},
		{proto.ColumnType_BOOL, int64(0), false},
		{proto.ColumnType_INT, int64(-7), int64(-7)},
		{proto.ColumnType_DOUBLE, int64(3), float64(3)},
		{proto.ColumnType_DOUBLE, 2.5, 2.5},
		{proto.ColumnType_TIMESTAMP, "2026-05-29T12:00:01Z",
			time.Date(2026, 5, 29, 12, 0, 1, 0, time.UTC)},
		{proto.ColumnType_JSON, `{"a":[1,2]}`, `{"a":[1,2]}`},
		{proto.ColumnType_JSON, []byte(`[]`), `[]`},
		{proto.ColumnType_STRING, "x", "x"},
		{proto.ColumnType_LTREE, "a.b", "a.b"},
		{proto.ColumnType_INET, "10.0.0.1", netip.MustParsePrefix("10.0.0.1/32")},
		{proto.ColumnType_CIDR, "10.0.0.0/8", netip.MustParsePrefix("10.0.0.0/8")},
		{proto.ColumnType_IPADDR, "::1", netip.MustParsePrefix("::1/128")},
		{proto.ColumnType_TIMESTAMP, nil, nil},
	}
	for _, c := range cases {
		got, err := postgresValue(c.typ, c.in)
		if err != nil {
			t.Errorf("%s %v: %v", c.typ, c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s %v = %#v, want %#v", c.typ, c.in, got, c.want)
		}
	}
}

func TestPostgresValueInvalid(t *testing.T) {
	cases := []struct {
		typ     proto.ColumnType
		in      any
		message string
	}{
		{proto.ColumnType_TIMESTAMP, "2026-05-29 12:00:00", "invalid timestamp"},
		{proto.ColumnType_INET, "not-an-address", "invalid IP address"},
		{proto.ColumnType_CIDR, "10.0.0.0/99", "invalid network address"},
		{proto.ColumnType_INT, "12", "unexpected value"},
		{proto.ColumnType_BOOL, 1.5, "unexpected value"},
	}
	for _, c := range cases {
		_, err := postgresValue(c.typ, c.in)
		if err == nil || !strings.Contains(err.Error(), c.message) {
			t.Errorf("%s %v: err = %v, want one containing %q", c.typ, c.in, err, c.message)
		}
	}
}

func TestVersionLess(t *testing.T) {
	if !versionLess("9.6", "15") || !versionLess("15", "16") || versionLess("16", "15") {
		t.Errorf("versionLess does not order 9.6 < 15 < 16 numerically")
	}
}
