package atlassian

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timestampLayouts are the ISO 8601 forms the Admin API has been seen to
// send. Go's Z0700 matches "Z" and "+0000", and Z07:00 matches "Z" and
// "+00:00". Every layout with seconds also accepts a fractional second.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
}

// ParseTimestamp decodes a JSON timestamp in any form the Atlassian APIs
// use. It accepts an ISO 8601 string with a zone, with or without
// fractional seconds, and the zone as "Z", "+0000" or "+00:00". A date
// alone is midnight UTC of that calendar day, whatever the host's zone.
// Numbers and numeric strings are epoch milliseconds. null, "", 0 and "0"
// mean no time and return nil. The result is in UTC.
func ParseTimestamp(raw json.RawMessage) (*time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("invalid timestamp: %w", err)
		}
		return parseTimestampString(strings.TrimSpace(s))
	}
	return parseEpochMillis(string(raw))
}

func parseTimestampString(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	if isNumeric(s) {
		return parseEpochMillis(s)
	}
	if len(s) == len("2006-01-02") {
		t, err := time.ParseInLocation("2006-01-02", s, time.UTC)
		if err != nil {
			return nil, fmt.Errorf("invalid timestamp %q: expected an ISO 8601 date", s)
		}
		return &t, nil
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, fmt.Errorf("invalid timestamp %q: expected ISO 8601 with a zone, "+
		"a date, or epoch milliseconds", s)
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '-' && i == 0 && len(s) > 1 {
			continue
		}
		if r == '.' || r == 'e' || r == 'E' || r == '+' || r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// parseEpochMillis reads milliseconds since 1970 written as an integer or,
// as some responses do, a float.
func parseEpochMillis(s string) (*time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		// The bound keeps the conversion to int64 exact and the year
		// within four digits.
		if ferr != nil || f < -1e14 || f > 1e15 {
			return nil, fmt.Errorf("invalid timestamp %s: expected epoch milliseconds", s)
		}
		ms = int64(f)
	}
	if ms == 0 {
		return nil, nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t, nil
}
