package sqlengine

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin/transform"
)

// item is one row of the test plugin's in-memory table.
type item struct {
	ID      int64          `json:"id"`
	Name    string         `json:"name"`
	Kind    string         `json:"kind"`
	Score   *float64       `json:"score"`
	Active  bool           `json:"active"`
	Created time.Time      `json:"created"`
	Tags    map[string]any `json:"tags"`
	Note    *string        `json:"note"`
}

func float(f float64) *float64 { return &f }
func text(s string) *string    { return &s }

var testItems = []item{
	{ID: 1, Name: "alpha", Kind: "a", Score: float(1.5), Active: true,
		Created: time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC), Tags: map[string]any{"team": "x"},
		Note: text("first")},
	{ID: 2, Name: "beta", Kind: "b", Score: float(2.5), Active: false,
		Created: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Tags: map[string]any{"team": "y"}},
	{ID: 3, Name: "gamma", Kind: "a", Score: nil, Active: true,
		Created: time.Date(2024, 1, 3, 12, 30, 0, 0, time.UTC)},
	{ID: 4, Name: "beta", Kind: "b", Score: float(4), Active: true,
		Created: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)},
	{ID: 5, Name: "delta", Kind: "c", Score: float(5.25), Active: false,
		Created: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
	{ID: 6, Name: "epsilon", Kind: "a", Score: float(6), Active: true,
		Created: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)},
}

// callRecord is what one List call of the test plugin received.
type callRecord struct {
	table   string
	columns []string
	quals   map[string][]string // column -> "op value"
	limit   *int64
}

// recorder collects the calls of one test plugin.
type recorder struct {
	mu       sync.Mutex
	calls    []callRecord
	hydrates atomic.Int64
	// slowDone is closed when a call to the endless table sees its
	// context cancelled.
	slowDone chan struct{}
	slowOnce sync.Once
}

func newRecorder() *recorder {
	return &recorder{slowDone: make(chan struct{})}
}

func (r *recorder) record(d *plugin.QueryData) {
	rec := callRecord{
		table:   d.Table.Name,
		columns: append([]string(nil), d.QueryContext.Columns...),
		quals:   map[string][]string{},
	}
	sort.Strings(rec.columns)
	if d.QueryContext.Limit != nil {
		limit := *d.QueryContext.Limit
		rec.limit = &limit
	}
	for name, q := range d.Quals {
		for _, qual := range q.Quals {
			rec.quals[name] = append(rec.quals[name], qual.Operator+" "+qualString(qual.Value))
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, rec)
	r.mu.Unlock()
}

func (r *recorder) lastCall() callRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		return callRecord{}
	}
	return r.calls[len(r.calls)-1]
}

func (r *recorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func qualString(v *proto.QualValue) string {
	switch x := v.GetValue().(type) {
	case *proto.QualValue_StringValue:
		return x.StringValue
	case *proto.QualValue_Int64Value:
		return strconv.FormatInt(x.Int64Value, 10)
	case *proto.QualValue_DoubleValue:
		return "double"
	case *proto.QualValue_BoolValue:
		if x.BoolValue {
			return "true"
		}
		return "false"
	case *proto.QualValue_TimestampValue:
		return x.TimestampValue.AsTime().UTC().Format(time.RFC3339)
	}
	return "?"
}

// errBackend is the error the failing table returns.
var errBackend = errors.New("backend quota exceeded for test tenant")

// testConfig is the connection config of the test plugin.
type testConfig struct {
	Token *string `hcl:"token"`
}

// testExactQual is the ExactQual of the test plugin: it applies id,
// kind and created exactly, and ignores name.
func testExactQual(table, column, op string) bool {
	if table != "test_item" {
		return false
	}
	switch column {
	case "id", "created":
		return true
	case "kind":
		return op == "="
	}
	return false
}

func newTestPlugin(rec *recorder) plugin.PluginFunc {
	return func(ctx context.Context) *plugin.Plugin {
		return &plugin.Plugin{
			Name:             "steampipe-plugin-test",
			DefaultTransform: transform.FromJSONTag(),
			ConnectionConfigSchema: &plugin.ConnectionConfigSchema{
				NewInstance: func() any { return &testConfig{} },
			},
			TableMap: map[string]*plugin.Table{
				"test_item":     itemTable(rec),
				"test_failing":  failingTable(rec),
				"test_endless":  endlessTable(rec),
				"test_required": requiredTable(rec),
			},
		}
	}
}

func itemColumns(rec *recorder) []*plugin.Column {
	return []*plugin.Column{
		{Name: "id", Type: proto.ColumnType_INT, Description: "Item id."},
		{Name: "name", Type: proto.ColumnType_STRING, Description: "Item name."},
		{Name: "kind", Type: proto.ColumnType_STRING, Description: "Item kind."},
		{Name: "score", Type: proto.ColumnType_DOUBLE, Description: "Score, null when unknown."},
		{Name: "active", Type: proto.ColumnType_BOOL, Description: "Whether the item is active."},
		{Name: "created", Type: proto.ColumnType_TIMESTAMP, Description: "Creation time."},
		{Name: "tags", Type: proto.ColumnType_JSON, Description: "Tags."},
		{Name: "note", Type: proto.ColumnType_STRING, Description: "Note, null when absent."},
		{Name: "detail", Type: proto.ColumnType_STRING, Description: "Detail from a hydrate call.",
			Hydrate: rec.hydrateDetail, Transform: transform.FromValue()},
	}
}

// hydrateDetail is a method, not a closure, because the SDK tells
// hydrate functions apart by name and every closure is named "funcN".
func (r *recorder) hydrateDetail(_ context.Context, _ *plugin.QueryData, h *plugin.HydrateData) (any, error) {
	r.hydrates.Add(1)
	return "detail of " + h.Item.(item).Name, nil
}

func itemTable(rec *recorder) *plugin.Table {
	return &plugin.Table{
		Name:        "test_item",
		Description: "In-memory items.",
		List: &plugin.ListConfig{
			KeyColumns: plugin.KeyColumnSlice{
				{Name: "id", Require: plugin.Optional, Operators: []string{"=", "<", "<=", ">", ">="}},
				{Name: "kind", Require: plugin.Optional},
				{Name: "name", Require: plugin.Optional},
				{Name: "created", Require: plugin.Optional, Operators: []string{"=", "<", "<=", ">", ">="}},
			},
			Hydrate: func(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
				rec.record(d)
				for _, it := range testItems {
					if !matchesQuals(it, d) {
						continue
					}
					d.StreamListItem(ctx, it)
					if d.RowsRemaining(ctx) == 0 {
						break
					}
				}
				return nil, nil
			},
		},
		Columns: itemColumns(rec),
	}
}

// matchesQuals applies the id, kind and created quals; it ignores name on
// purpose, so the engine must let SQLite re-check it.
func matchesQuals(it item, d *plugin.QueryData) bool {
	if q := d.Quals["id"]; q != nil {
		for _, qual := range q.Quals {
			if !compareInt(it.ID, qual.Operator, qual.Value.GetInt64Value()) {
				return false
			}
		}
	}
	if q := d.Quals["kind"]; q != nil {
		for _, qual := range q.Quals {
			if it.Kind != qual.Value.GetStringValue() {
				return false
			}
		}
	}
	if q := d.Quals["created"]; q != nil {
		for _, qual := range q.Quals {
			want := qual.Value.GetTimestampValue().AsTime().Unix()
			if !compareInt(it.Created.Unix(), qual.Operator, want) {
				return false
			}
		}
	}
	return true
}

func compareInt(a int64, op string, b int64) bool {
	switch op {
	case "=":
		return a == b
	case "<":
		return a < b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case ">=":
		return a >= b
	}
	return false
}

func failingTable(rec *recorder) *plugin.Table {
	return &plugin.Table{
		Name:        "test_failing",
		Description: "Streams rows, then fails unless id = 0.",
		List: &plugin.ListConfig{
			KeyColumns: plugin.KeyColumnSlice{{Name: "rows_before", Require: plugin.Optional}},
			Hydrate: func(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
				rec.record(d)
				n := int64(2)
				if q := d.EqualsQuals["rows_before"]; q != nil {
					n = q.GetInt64Value()
				}
				for i := int64(0); i < n; i++ {
					d.StreamListItem(ctx, map[string]any{"rows_before": n, "n": i})
				}
				return nil, errBackend
			},
		},
		Columns: []*plugin.Column{
			{Name: "rows_before", Type: proto.ColumnType_INT, Description: "Rows streamed before failing.", Transform: transform.FromField("rows_before")},
			{Name: "n", Type: proto.ColumnType_INT, Description: "Row number.", Transform: transform.FromField("n")},
		},
	}
}

func endlessTable(rec *recorder) *plugin.Table {
	return &plugin.Table{
		Name:        "test_endless",
		Description: "Streams rows until cancelled.",
		List: &plugin.ListConfig{
			Hydrate: func(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
				rec.record(d)
				// Rows come at an API's pace rather than as fast as
				// possible: the SDK leaks the row goroutines it has in
				// flight when a scan with a full row pipeline is cancelled.
				// The loop is bounded so that a broken cancellation fails
				// the test instead of hanging it.
				for i := int64(0); i < 100_000; i++ {
					select {
					case <-ctx.Done():
						rec.slowOnce.Do(func() { close(rec.slowDone) })
						return nil, nil
					case <-time.After(time.Millisecond):
					}
					d.StreamListItem(ctx, map[string]any{"n": i})
				}
				return nil, nil
			},
		},
		Columns: []*plugin.Column{
			{Name: "n", Type: proto.ColumnType_INT, Description: "Row number.", Transform: transform.FromField("n")},
		},
	}
}

func requiredTable(rec *recorder) *plugin.Table {
	return &plugin.Table{
		Name:        "test_required",
		Description: "Needs kind in every query.",
		List: &plugin.ListConfig{
			KeyColumns: plugin.SingleColumn("kind"),
			Hydrate: func(ctx context.Context, d *plugin.QueryData, _ *plugin.HydrateData) (any, error) {
				rec.record(d)
				kind := d.EqualsQualString("kind")
				d.StreamListItem(ctx, map[string]any{"kind": kind, "label": "kind " + kind})
				return nil, nil
			},
		},
		Columns: []*plugin.Column{
			{Name: "kind", Type: proto.ColumnType_STRING, Description: "Kind asked for.", Transform: transform.FromField("kind")},
			{Name: "label", Type: proto.ColumnType_STRING, Description: "Label of the kind.", Transform: transform.FromField("label")},
		},
	}
}
