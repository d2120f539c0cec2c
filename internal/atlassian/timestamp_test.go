package atlassian

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) *time.Time {
		v := time.Date(y, mo, d, h, mi, s, ns, time.UTC)
		return &v
	}
	cases := []struct {
		raw  string
		want *time.Time
	}{
		{`"2024-03-05T10:20:30Z"`, utc(2024, 3, 5, 10, 20, 30, 0)},
		{`"2024-03-05T10:20:30.123Z"`, utc(2024, 3, 5, 10, 20, 30, 123000000)},
		{`"2024-03-05T10:20:30.123456789Z"`, utc(2024, 3, 5, 10, 20, 30, 123456789)},
		{`"2024-03-05T10:20:30+0000"`, utc(2024, 3, 5, 10, 20, 30, 0)},
		{`"2024-03-05T10:20:30.5+0000"`, utc(2024, 3, 5, 10, 20, 30, 500000000)},
		{`"2024-03-05T10:20:30+00:00"`, utc(2024, 3, 5, 10, 20, 30, 0)},
		{`"2024-03-05T12:20:30+02:00"`, utc(2024, 3, 5, 10, 20, 30, 0)},
		{`"2024-03-05T05:20:30-0500"`, utc(2024, 3, 5, 10, 20, 30, 0)},
		{`"2024-03-05T10:20Z"`, utc(2024, 3, 5, 10, 20, 0, 0)},
		{`"2024-03-05T10:20+00:00"`, utc(2024, 3, 5, 10, 20, 0, 0)},
		{`"2024-03-05T05:20-0500"`, utc(2024, 3, 5, 10, 20, 0, 0)},
		{`"2024-03-05T10:20:30.123+00:00"`, utc(2024, 3, 5, 10, 20, 30, 123000000)},
		{`"2024-03-05"`, utc(2024, 3, 5, 0, 0, 0, 0)},
		{`1709634030123`, utc(2024, 3, 5, 10, 20, 30, 123000000)},
		{`"1709634030123"`, utc(2024, 3, 5, 10, 20, 30, 123000000)},
		{`1.709634030123e12`, utc(2024, 3, 5, 10, 20, 30, 123000000)},
		{`null`, nil},
		{`""`, nil},
		{`0`, nil},
		{`"0"`, nil},
		{``, nil},
	}
	for _, tc := range cases {
		got, err := ParseTimestamp(json.RawMessage(tc.raw))
		if err != nil {
			t.Errorf("ParseTimestamp(%s): %v", tc.raw, err)
			continue
		}
		switch {
		case tc.want == nil && got != nil:
			t.Errorf("ParseTimestamp(%s) = %v, want nil", tc.raw, got)
		case tc.want != nil && got == nil:
			t.Errorf("ParseTimestamp(%s) = nil, want %v", tc.raw, tc.want)
		case tc.want != nil && (!got.Equal(*tc.want) || got.Location() != time.UTC):
			t.Errorf("ParseTimestamp(%s) = %v, want %v", tc.raw, got, tc.want)
		}
	}
}

func TestParseTimestampDateIgnoresLocalZone(t *testing.T) {
	saved := time.Local
	defer func() { time.Local = saved }()
	for _, zone := range []*time.Location{time.FixedZone("UTC-10", -10*3600),
		time.FixedZone("UTC+14", 14*3600)} {
		time.Local = zone
		got, err := ParseTimestamp(json.RawMessage(`"2024-12-31"`))
		if err != nil {
			t.Fatal(err)
		}
		if got.Format(time.RFC3339) != "2024-12-31T00:00:00Z" {
			t.Errorf("%s: date = %s, want 2024-12-31T00:00:00Z", zone,
				got.Format(time.RFC3339))
		}
	}
}

func TestParseTimestampInvalid(t *testing.T) {
	for _, raw := range []string{`"yesterday"`, `"2024-03-05T10:20:30"`, `"2024-13-01"`,
		`true`, `{"a":1}`, `"12ab"`, `[1]`} {
		if got, err := ParseTimestamp(json.RawMessage(raw)); err == nil {
			t.Errorf("ParseTimestamp(%s) = %v, want an error", raw, got)
		}
	}
}
