package sqlengine

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTestEngine(t *testing.T, rec *recorder, exact func(string, string, string) bool) *Engine {
	t.Helper()
	e, err := Open(context.Background(), Options{
		PluginFunc:     newTestPlugin(rec),
		PluginName:     "local/test",
		ConnectionName: "test",
		ExactQual:      exact,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func queryAll(t *testing.T, e *Engine, query string, args ...any) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := e.QueryAll(ctx, query, args...)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return res
}

// ids returns the first column of every row as int64.
func ids(t *testing.T, res *Result) []int64 {
	t.Helper()
	out := []int64{}
	for _, row := range res.Rows {
		n, ok := row[0].(int64)
		if !ok {
			t.Fatalf("first column is %T, expected int64", row[0])
		}
		out = append(out, n)
	}
	return out
}

func TestTablesListed(t *testing.T) {
	e := openTestEngine(t, newRecorder(), testExactQual)
	want := []string{"test_endless", "test_failing", "test_item", "test_required"}
	if got := e.Tables(); !reflect.DeepEqual(got, want) {
		t.Errorf("Tables() = %v, want %v", got, want)
	}
}

func TestColumnPruning(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)

	queryAll(t, e, "select name from test_item")
	if got := rec.lastCall().columns; !reflect.DeepEqual(got, []string{"name"}) {
		t.Errorf("columns requested = %v, want [name]", got)
	}
	if n := rec.hydrates.Load(); n != 0 {
		t.Errorf("hydrate calls = %d, want 0 when detail is not selected", n)
	}

	queryAll(t, e, "select id, detail from test_item where score > 2")
	if got := rec.lastCall().columns; !reflect.DeepEqual(got, []string{"detail", "id", "score"}) {
		t.Errorf("columns requested = %v, want [detail id score]", got)
	}
	if n := rec.hydrates.Load(); n != int64(len(testItems)) {
		t.Errorf("hydrate calls = %d, want %d", n, len(testItems))
	}
}

func TestCountHydratesNothing(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	res := queryAll(t, e, "select count(*) from test_item")
	if got := res.Rows[0][0]; got != int64(len(testItems)) {
		t.Errorf("count(*) = %v, want %d", got, len(testItems))
	}
	if n := rec.hydrates.Load(); n != 0 {
		t.Errorf("hydrate calls = %d, want 0", n)
	}
	if got := rec.lastCall().columns; !reflect.DeepEqual(got, []string{"id"}) {
		t.Errorf("columns requested = %v, want [id]", got)
	}
}

func TestQualsReachPlugin(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	cases := []struct {
		query string
		quals map[string][]string
		ids   []int64
	}{
		{"select id from test_item where id >= 3 and id < 6",
			map[string][]string{"id": {">= 3", "< 6"}}, []int64{3, 4, 5}},
		{"select id from test_item where kind = 'b'",
			map[string][]string{"kind": {"= b"}}, []int64{2, 4}},
		{"select id from test_item where id = '4'",
			map[string][]string{"id": {"= 4"}}, []int64{4}},
		{"select id from test_item where created >= '2024-02-01T00:00:00Z'",
			map[string][]string{"created": {">= 2024-02-01T00:00:00Z"}}, []int64{4, 5, 6}},
		// A bare date sorts before every value on that date.
		{"select id from test_item where created > '2024-01-02'",
			map[string][]string{"created": {">= 2024-01-02T00:00:00Z"}}, []int64{2, 3, 4, 5, 6}},
		{"select id from test_item where created <= '2024-01-02'",
			map[string][]string{"created": {"< 2024-01-02T00:00:00Z"}}, []int64{1}},
		// score is no key column, so no qual is sent.
		{"select id from test_item where score > 5",
			map[string][]string{}, []int64{5, 6}},
	}
	for _, tc := range cases {
		res := queryAll(t, e, tc.query+" order by id")
		got := rec.lastCall().quals
		sortQuals(got)
		sortQuals(tc.quals)
		if !reflect.DeepEqual(got, tc.quals) {
			t.Errorf("%s: quals = %v, want %v", tc.query, got, tc.quals)
		}
		if g := ids(t, res); !reflect.DeepEqual(g, tc.ids) {
			t.Errorf("%s: ids = %v, want %v", tc.query, g, tc.ids)
		}
	}
}

func sortQuals(m map[string][]string) {
	for _, v := range m {
		for i := 1; i < len(v); i++ {
			for j := i; j > 0 && v[j] < v[j-1]; j-- {
				v[j], v[j-1] = v[j-1], v[j]
			}
		}
	}
}

func TestNonExactQualRechecked(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	res := queryAll(t, e, "select id from test_item where name = 'beta' order by id")
	if got := rec.lastCall().quals["name"]; !reflect.DeepEqual(got, []string{"= beta"}) {
		t.Errorf("name quals = %v, want [= beta]", got)
	}
	if got := ids(t, res); !reflect.DeepEqual(got, []int64{2, 4}) {
		t.Errorf("ids = %v, want [2 4]: SQLite must re-check a qual the plugin ignores", got)
	}
}

func TestExactQualOmitted(t *testing.T) {
	// Declaring the ignored name qual exact shows SQLite really skips the
	// check: every row comes back.
	rec := newRecorder()
	e := openTestEngine(t, rec, func(table, column, op string) bool { return column == "name" })
	res := queryAll(t, e, "select id from test_item where name = 'beta'")
	if got := len(res.Rows); got != len(testItems) {
		t.Errorf("rows = %d, want %d when SQLite omits the check", got, len(testItems))
	}
}

func TestUnconvertibleValueCheckedLocally(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)

	res := queryAll(t, e, "select id from test_item where id > 2.5 order by id")
	if got := ids(t, res); !reflect.DeepEqual(got, []int64{3, 4, 5, 6}) {
		t.Errorf("id > 2.5: ids = %v, want [3 4 5 6]", got)
	}
	if got := rec.lastCall().quals; len(got) != 0 {
		t.Errorf("id > 2.5: quals = %v, want none", got)
	}

	res = queryAll(t, e, "select id from test_item where id = 2.5")
	if len(res.Rows) != 0 {
		t.Errorf("id = 2.5: rows = %v, want none", res.Rows)
	}

	calls := rec.callCount()
	res = queryAll(t, e, "select id from test_item where id = null")
	if len(res.Rows) != 0 {
		t.Errorf("id = null: rows = %v, want none", res.Rows)
	}
	if rec.callCount() != calls {
		t.Errorf("id = null called the plugin, want no call")
	}

	// Text never equals an integer column value under SQLite's rules.
	res = queryAll(t, e, "select id from test_item where id < 'abc' order by id")
	if got := ids(t, res); len(got) != len(testItems) {
		t.Errorf("id < 'abc': ids = %v, want all rows", got)
	}
}

func TestLimitPushdown(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	cases := []struct {
		query string
		limit int64 // -1: no limit reaches the plugin
		rows  int
	}{
		{"select id from test_item limit 3", 3, 3},
		{"select id from test_item where kind = 'a' limit 2", 2, 2},
		{"select id from test_item limit 2 offset 3", 5, 2},
		{"select id from test_item where id > 1 and kind = 'a' limit 1", 1, 1},
		// name is re-checked by SQLite, so the plugin must return all rows.
		{"select id from test_item where name = 'beta' limit 1", -1, 1},
		{"select id from test_item where score > 1 limit 1", -1, 1},
		{"select id from test_item order by name limit 2", -1, 2},
		{"select id from test_item where id > 2.5 limit 1", -1, 1},
		{"select count(*) from (select id from test_item limit 2)", 2, 1},
	}
	for _, tc := range cases {
		res := queryAll(t, e, tc.query)
		if len(res.Rows) != tc.rows {
			t.Errorf("%s: rows = %d, want %d", tc.query, len(res.Rows), tc.rows)
		}
		got := rec.lastCall().limit
		switch {
		case tc.limit < 0 && got != nil:
			t.Errorf("%s: plugin limit = %d, want none", tc.query, *got)
		case tc.limit >= 0 && got == nil:
			t.Errorf("%s: plugin limit = none, want %d", tc.query, tc.limit)
		case tc.limit >= 0 && *got != tc.limit:
			t.Errorf("%s: plugin limit = %d, want %d", tc.query, *got, tc.limit)
		}
	}
}

func TestPluginErrorFailsQuery(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	for _, query := range []string{
		"select * from test_failing",
		"select count(*) from test_failing",
		"select * from test_failing where rows_before = 0",
		"select * from test_failing where rows_before = 100",
	} {
		res, err := e.QueryAll(context.Background(), query)
		if err == nil {
			t.Errorf("%s: got %d rows and no error, want the plugin error", query, len(res.Rows))
			continue
		}
		if !strings.Contains(err.Error(), errBackend.Error()) {
			t.Errorf("%s: error %q does not contain %q", query, err, errBackend)
		}
	}
	// The engine stays usable after a failed query.
	res := queryAll(t, e, "select count(*) from test_item")
	if res.Rows[0][0] != int64(len(testItems)) {
		t.Errorf("count after failure = %v", res.Rows[0][0])
	}
}

// TestSDKFailureLogRead guards the workaround for the SDK losing a scan
// error: the SDK must still log each failure in the form parseFailure
// reads.
func TestSDKFailureLogRead(t *testing.T) {
	e := openTestEngine(t, newRecorder(), testExactQual)
	// The first row comes from test_item, so Query itself succeeds.
	rows, err := e.Query(context.Background(),
		"select id from test_item where id = 1 union all select n from test_failing")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	state := rows.state
	for rows.Next() {
	}
	rows.Close()
	if got := state.loggedFailure(); !strings.Contains(got, errBackend.Error()) {
		t.Errorf("failure read from the SDK log = %q, want it to contain %q", got, errBackend)
	}
}

func TestParseFailure(t *testing.T) {
	cases := []struct {
		line, message string
		ok            bool
	}{
		{"[WARN] executeForConnection conf returned error conf: boom, writing to CHAN\n",
			"conf: boom", true},
		{"[WARN] executeForConnection conf returned error a\nb, writing to CHAN", "a\nb", true},
		{"[WARN] executeForConnection conf returned error context canceled, writing to CHAN", "", false},
		{"[INFO] executeForConnection conf returned error x, writing to CHAN", "", false},
		{"[WARN] something else", "", false},
	}
	for _, tc := range cases {
		message, ok := parseFailure(tc.line)
		if ok != tc.ok || message != tc.message {
			t.Errorf("parseFailure(%q) = %q, %v; want %q, %v", tc.line, message, ok, tc.message, tc.ok)
		}
	}
}

func TestRequiredKeyColumn(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	if _, err := e.QueryAll(context.Background(), "select * from test_required"); err == nil {
		t.Error("query without the required kind succeeded, want an error")
	}
	// The planner puts test_required on the inner side of the join, where
	// kind has a value.
	res := queryAll(t, e, `select i.id, r.label from test_item i
		join test_required r on r.kind = i.kind where i.id <= 2 order by i.id`)
	want := [][]any{{int64(1), "kind a"}, {int64(2), "kind b"}}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("join rows = %v, want %v", res.Rows, want)
	}
}

func TestTypesAndNulls(t *testing.T) {
	e := openTestEngine(t, newRecorder(), testExactQual)
	res := queryAll(t, e, `select id, name, score, active, created, tags, note,
		typeof(score), typeof(active), sp_connection_name from test_item where id in (1, 3) order by id`)
	want := [][]any{
		{int64(1), "alpha", 1.5, int64(1), "2024-01-01T08:00:00Z", `{"team":"x"}`, "first",
			"real", "integer", "test"},
		{int64(3), "gamma", nil, int64(1), "2024-01-03T12:30:00Z", "null", nil,
			"null", "integer", "test"},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("rows =\n%v\nwant\n%v", res.Rows, want)
	}
	wantTypes := []string{TypeInteger, TypeText, TypeReal, TypeBoolean, TypeTimestamp, TypeJSON, TypeText}
	for i, typ := range wantTypes {
		if got := res.Columns[i].Type; got != typ {
			t.Errorf("column %s type = %q, want %q", res.Columns[i].Name, got, typ)
		}
	}
	star := queryAll(t, e, "select * from test_item where id = 1")
	if n := len(star.Columns); n != 9 {
		t.Errorf("select * returned %d columns, want 9 (hidden columns excluded)", n)
	}
}

func TestCursorCloseCancelsPlugin(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	// Warm up the SDK's lazily started goroutines.
	queryAll(t, e, "select n from test_endless limit 5")
	resetSlow(rec)
	time.Sleep(50 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	rows, err := e.Query(context.Background(), "select n from test_endless where n >= 0")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	for i := 0; i < 3 && rows.Next(); i++ {
	}
	rows.Close()
	select {
	case <-rec.slowDone:
	case <-time.After(10 * time.Second):
		t.Fatal("plugin context not cancelled after closing the rows")
	}
	waitForGoroutines(t, baseline)
}

func TestContextCancelStopsQuery(t *testing.T) {
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	queryAll(t, e, "select n from test_endless limit 5")
	resetSlow(rec)
	time.Sleep(50 * time.Millisecond)
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	rows, err := e.Query(ctx, "select n from test_endless where n >= 0")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	rows.Next()
	cancel()
	for i := 0; i < 2_000_000 && rows.Next(); i++ {
	}
	if err := rows.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() = %v, want context.Canceled", err)
	}
	rows.Close()
	waitForGoroutines(t, baseline)
	// The engine accepts the next query.
	queryAll(t, e, "select count(*) from test_item")
}

// resetSlow gives the recorder a fresh cancellation signal after the
// warm-up query, whose LIMIT ended the endless scan.
func resetSlow(rec *recorder) {
	rec.slowOnce.Do(func() { close(rec.slowDone) })
	rec.slowDone = make(chan struct{})
	rec.slowOnce = sync.Once{}
}

func waitForGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines = %d, baseline %d\n%s", runtime.NumGoroutine(), baseline, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConnectionConfig(t *testing.T) {
	const secret = "s3cr3t-value-never-shown"
	_, err := Open(context.Background(), Options{
		PluginFunc:       newTestPlugin(newRecorder()),
		PluginName:       "local/test",
		ConnectionConfig: "token = \"" + secret + "\"\nunknown_setting = 1\n",
	})
	if err == nil {
		t.Fatal("Open accepted an unknown setting")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q contains the token value", err)
	}
	if !strings.Contains(err.Error(), "unknown_setting") {
		t.Errorf("error %q does not name the unknown setting", err)
	}

	e, err := Open(context.Background(), Options{
		PluginFunc:       newTestPlugin(newRecorder()),
		PluginName:       "local/test",
		ConnectionConfig: "token = \"" + secret + "\"\n",
	})
	if err != nil {
		t.Fatalf("Open with a valid config: %v", err)
	}
	e.Close()
}

func TestCollateKeepsTextConditionInSQLite(t *testing.T) {
	// The plugin compares kind byte for byte, so 'A' under NOCASE must
	// not reach it: SQLite filters and finds the three rows of kind 'a'.
	rec := newRecorder()
	e := openTestEngine(t, rec, testExactQual)
	res := queryAll(t, e, "select id from test_item where kind = 'A' collate nocase order by id")
	if got := ids(t, res); !reflect.DeepEqual(got, []int64{1, 3, 6}) {
		t.Errorf("ids = %v, want [1 3 6]", got)
	}
	if got := rec.lastCall().quals["kind"]; len(got) != 0 {
		t.Errorf("kind quals sent to the plugin = %v, want none under COLLATE", got)
	}
	// Without COLLATE the condition reaches the plugin again.
	queryAll(t, e, "select id from test_item where kind = 'a'")
	if got := rec.lastCall().quals["kind"]; !reflect.DeepEqual(got, []string{"= a"}) {
		t.Errorf("kind quals = %v, want [= a]", got)
	}
}
