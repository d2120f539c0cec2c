package atlassian

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// jsonSkeleton returns the key structure of a JSON document with every
// value replaced by its type name ("string", "number", "boolean",
// "null"). Arrays keep one element, the merge of all their elements'
// skeletons, so that optional keys show up. ok is false when body is not
// JSON.
func jsonSkeleton(body []byte) (json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	out, err := json.Marshal(skeletonOf(v))
	if err != nil {
		return nil, false
	}
	return out, true
}

func skeletonOf(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = skeletonOf(e)
		}
		return m
	case []any:
		var merged any
		for _, e := range x {
			merged = mergeSkeletons(merged, skeletonOf(e))
		}
		if merged == nil {
			return []any{}
		}
		return []any{merged}
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	default:
		return "null"
	}
}

// mergeSkeletons combines two skeletons of array elements: objects take
// the union of their keys, and differing type names are joined with "|".
func mergeSkeletons(a, b any) any {
	if a == nil {
		return b
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		for k, v := range bm {
			am[k] = mergeSkeletons(am[k], v)
		}
		return am
	}
	aa, aok := a.([]any)
	ba, bok := b.([]any)
	if aok && bok {
		if len(aa) == 0 {
			return ba
		}
		if len(ba) == 0 {
			return aa
		}
		return []any{mergeSkeletons(aa[0], ba[0])}
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		if as == bs || strings.Contains("|"+as+"|", "|"+bs+"|") {
			return as
		}
		return as + "|" + bs
	}
	return typeName(a) + "|" + typeName(b)
}

func typeName(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return x
	default:
		return "null"
	}
}

// headerNames returns the sorted names of h.
func headerNames(h http.Header) []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, http.CanonicalHeaderKey(k))
	}
	sort.Strings(out)
	return out
}

func cookieNames(cookies []*http.Cookie) []string {
	out := make([]string, 0, len(cookies))
	for _, c := range cookies {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return out
}

// bodyFieldNames returns the top-level field names of a JSON object or a
// URL-encoded form.
func bodyFieldNames(body []byte, contentType string) []string {
	if len(body) == 0 {
		return nil
	}
	var out []string
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil
		}
		for k := range vals {
			out = append(out, k)
		}
	} else {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			return nil
		}
		for k := range m {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// tracePath returns the route's path template followed by the query's
// parameter names, each with a {placeholder} in place of its value.
func tracePath(template string, query url.Values) string {
	if len(query) == 0 {
		return template
	}
	names := make([]string, 0, len(query))
	for k := range query {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "={" + k + "}"
	}
	return template + "?" + strings.Join(parts, "&")
}
