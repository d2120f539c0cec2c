package sqlengine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	sdkgrpc "github.com/turbot/steampipe-plugin-sdk/v5/grpc"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"modernc.org/sqlite"
)

// Options configures Open.
type Options struct {
	// PluginFunc builds the plugin, as passed to plugin.Serve.
	PluginFunc plugin.PluginFunc
	// PluginName names the plugin in the connection config, for example
	// "local/confluence".
	PluginName string
	// ConnectionName names the single connection; empty means PluginName
	// without any path or registry prefix.
	ConnectionName string
	// ConnectionConfig is the HCL body of the connection block, without
	// the plugin attribute. Empty means no settings.
	ConnectionConfig string
	// ExactQual reports whether the plugin applies a condition on a key
	// column exactly as SQL would, so SQLite may skip re-checking it. Nil
	// means no condition is exact.
	ExactQual func(table, column, operator string) bool
	// RateLimiters are passed to the plugin's SetRateLimiters, as the
	// Steampipe CLI passes the limiter blocks of a plugin block: each
	// replaces the plugin's limiter of the same name or adds one. Nil
	// keeps the plugin's own limiters.
	RateLimiters []*proto.RateLimiterDefinition
	// Logger receives the engine's own log lines; nil discards them. The
	// plugin logs through the SDK's logger instead (see Open).
	Logger hclog.Logger
}

// Engine is a plugin started in-process with an SQLite database whose
// virtual tables read from it. Queries run one at a time: a query waits
// until the Rows of the previous one are closed.
type Engine struct {
	opts       Options
	logger     hclog.Logger
	server     *sdkgrpc.PluginServer
	tables     map[string]*tableInfo
	tableNames []string

	db   *sql.DB
	conn *sql.Conn

	// gate holds one token while a query runs.
	gate chan struct{}

	mu     sync.Mutex
	active *queryState
	closed bool

	// keepTextConditions is set while a statement that uses COLLATE is
	// prepared. The vtab API does not expose a condition's collation, and
	// the plugin compares text byte for byte, so a condition under NOCASE
	// or RTRIM must stay with SQLite.
	keepTextConditions atomic.Bool

	callSeq atomic.Int64
}

// queryState follows one running query: its context, which plugin calls
// honour, and the first plugin error, which replaces SQLite's generic
// message for a failed virtual table call.
type queryState struct {
	ctx context.Context

	mu  sync.Mutex
	err error
	// logged is a scan failure read from the SDK's log (see failureLogger).
	logged string
}

func (q *queryState) recordError(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err == nil {
		q.err = err
	}
}

func (q *queryState) recordLoggedFailure(message string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.logged == "" {
		q.logged = message
	}
}

func (q *queryState) loggedFailure() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.logged
}

func (q *queryState) pluginError() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

// moduleName is the SQLite module every plugin table is created with. The
// module is registered on a driver private to each engine, so engines in
// one process do not share it.
const moduleName = "steampipe_plugin"

// Open starts the plugin and builds the SQL schema.
//
// The plugin runs through the SDK's plugin.Server, as under Steampipe but
// without a gRPC socket. plugin.Server sends the standard log package to
// the SDK's logger, which writes to standard error at the level of the
// STEAMPIPE_LOG_LEVEL environment variable (default warn), so set that
// variable before calling Open to change the plugin's log level.
func Open(ctx context.Context, opts Options) (e *Engine, err error) {
	if opts.PluginFunc == nil {
		return nil, errors.New("sqlengine: missing PluginFunc in options")
	}
	if opts.PluginName == "" {
		return nil, errors.New("sqlengine: missing PluginName in options")
	}
	if opts.ConnectionName == "" {
		opts.ConnectionName = shortPluginName(opts.PluginName)
	}
	if opts.ExactQual == nil {
		opts.ExactQual = func(string, string, string) bool { return false }
	}
	logger := opts.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}

	e = &Engine{
		opts:   opts,
		logger: logger,
		tables: map[string]*tableInfo{},
		gate:   make(chan struct{}, 1),
	}
	if err := e.startPlugin(); err != nil {
		return nil, err
	}
	if err := e.openDatabase(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// startPlugin builds the plugin server, sets the connection config and
// reads the schema.
func (e *Engine) startPlugin() (err error) {
	defer func() {
		// The SDK panics on some invalid plugin definitions.
		if r := recover(); r != nil {
			err = fmt.Errorf("plugin %s failed to start: %v", e.opts.PluginName, r)
		}
	}()
	var p *plugin.Plugin
	e.server = plugin.Server(&plugin.ServeOpts{
		PluginName: e.opts.PluginName,
		PluginFunc: func(ctx context.Context) *plugin.Plugin {
			p = e.opts.PluginFunc(ctx)
			return p
		},
	})
	if p == nil || p.Logger == nil {
		return fmt.Errorf("plugin %s failed to start: PluginFunc returned no plugin", e.opts.PluginName)
	}
	p.Logger = &failureLogger{Logger: p.Logger, onFailure: e.recordLoggedFailure}

	connection := e.opts.ConnectionName
	res, err := e.server.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs: []*proto.ConnectionConfig{{
			Connection:      connection,
			Plugin:          e.opts.PluginName,
			PluginShortName: shortPluginName(e.opts.PluginName),
			Config:          e.opts.ConnectionConfig,
		}},
		// -1 leaves the query cache to SetCacheOptions below.
		MaxCacheSizeMb: -1,
	})
	if err != nil {
		return fmt.Errorf("invalid connection config for connection %q: %w", connection, err)
	}
	if msg, failed := res.GetFailedConnections()[connection]; failed {
		return fmt.Errorf("invalid connection config for connection %q: %s", connection, msg)
	}

	if len(e.opts.RateLimiters) > 0 {
		_, err = e.server.SetRateLimiters(&proto.SetRateLimitersRequest{
			Definitions: e.opts.RateLimiters})
		if err != nil {
			return fmt.Errorf("invalid rate limiter for plugin %s: %w", e.opts.PluginName, err)
		}
	}

	// The SDK dereferences its query cache on every Execute, so one must
	// exist. It is created disabled: every query reads fresh data, and the
	// smallest size keeps its preallocated buffers small.
	_, err = e.server.SetCacheOptions(&proto.SetCacheOptionsRequest{Enabled: false, MaxSizeMb: 1})
	if err != nil {
		return fmt.Errorf("plugin %s: setting cache options failed: %w", e.opts.PluginName, err)
	}

	schema, err := e.server.GetSchema(&proto.GetSchemaRequest{Connection: connection})
	if err != nil {
		return fmt.Errorf("plugin %s: reading the schema failed: %w", e.opts.PluginName, err)
	}
	for name, table := range schema.GetSchema().GetSchema() {
		e.tables[name] = newTableInfo(name, table)
		e.tableNames = append(e.tableNames, name)
	}
	sort.Strings(e.tableNames)
	return nil
}

// openDatabase opens the private SQLite database and creates the virtual
// tables on its only connection.
func (e *Engine) openDatabase(ctx context.Context) error {
	drv := &sqlite.Driver{}
	if err := drv.RegisterModule(moduleName, &module{engine: e}); err != nil {
		return fmt.Errorf("registering the SQLite module failed: %w", err)
	}
	e.db = sql.OpenDB(connector{drv: drv})
	// The virtual tables live in this in-memory database, which exists only
	// as long as its one connection: e.conn is held for the engine's life.
	e.db.SetMaxOpenConns(1)
	conn, err := e.db.Conn(ctx)
	if err != nil {
		e.db.Close()
		return fmt.Errorf("opening the SQLite database failed: %w", err)
	}
	e.conn = conn
	for _, name := range e.tableNames {
		stmt := fmt.Sprintf("CREATE VIRTUAL TABLE %s USING %s", quoteIdent(name), moduleName)
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			e.conn.Close()
			e.db.Close()
			return fmt.Errorf("creating table %s failed: %w", name, err)
		}
	}
	return nil
}

// Tables returns the plugin's table names in sorted order.
func (e *Engine) Tables() []string {
	return append([]string(nil), e.tableNames...)
}

// Query runs one SQL statement. The caller must close the returned Rows
// before the next query can start.
func (e *Engine) Query(ctx context.Context, query string, args ...any) (*Rows, error) {
	select {
	case e.gate <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		<-e.gate
		return nil, errors.New("sqlengine: query on a closed engine")
	}
	state := &queryState{ctx: ctx}
	e.active = state
	e.mu.Unlock()

	e.keepTextConditions.Store(strings.Contains(strings.ToLower(query), "collate"))
	rows, err := e.conn.QueryContext(ctx, query, args...)
	if err != nil {
		e.release(state)
		return nil, preferPluginError(state, err)
	}
	result := &Rows{rows: rows, state: state, engine: e}
	types, err := rows.ColumnTypes()
	if err != nil {
		result.Close()
		return nil, err
	}
	for _, t := range types {
		result.columns = append(result.columns, Column{Name: t.Name(), Type: t.DatabaseTypeName()})
	}
	return result, nil
}

// QueryAll runs one SQL statement and reads every row.
func (e *Engine) QueryAll(ctx context.Context, query string, args ...any) (*Result, error) {
	rows, err := e.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	res := &Result{Columns: rows.Columns(), Rows: [][]any{}}
	for rows.Next() {
		values, err := rows.Values()
		if err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, values)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

func (e *Engine) release(state *queryState) {
	e.mu.Lock()
	if e.active == state {
		e.active = nil
	}
	e.mu.Unlock()
	<-e.gate
}

func (e *Engine) recordLoggedFailure(message string) {
	if q := e.currentQuery(); q != nil {
		q.recordLoggedFailure(message)
	}
}

// currentQuery returns the running query, or nil outside Query (for
// example while the tables are created).
func (e *Engine) currentQuery() *queryState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.active
}

// Close closes the database. Rows still open are closed with it.
//
// NOTE: the plugin itself cannot be stopped: the SDK's query cache, even
// disabled, keeps one cleanup goroutine until the process ends.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	err := e.conn.Close()
	if dbErr := e.db.Close(); err == nil {
		err = dbErr
	}
	return err
}

func preferPluginError(state *queryState, err error) error {
	if pluginErr := state.pluginError(); pluginErr != nil {
		return pluginErr
	}
	return err
}

// Column describes one result column.
type Column struct {
	Name string
	// Type is the declared type of a plugin table column (one of the Type
	// constants), or empty for an expression.
	Type string
}

// Declared SQLite types of plugin columns. Each has the affinity SQLite
// derives from its name: BOOLEAN numeric, INTEGER integer, REAL real, and
// the others text.
const (
	TypeBoolean   = "BOOLEAN"
	TypeInteger   = "INTEGER"
	TypeReal      = "REAL"
	TypeText      = "TEXT"
	TypeJSON      = "JSON TEXT"
	TypeTimestamp = "TIMESTAMP TEXT"
)

// TimestampFormat is the layout of TIMESTAMP column values, always UTC.
const TimestampFormat = "2006-01-02T15:04:05Z"

// Result is a fully read query result. Values are int64, float64,
// string, []byte or nil.
type Result struct {
	Columns []Column
	Rows    [][]any
}

// Rows is the cursor of a running query. When the plugin fails, Err
// returns the plugin's error rather than SQLite's generic message.
type Rows struct {
	rows    *sql.Rows
	state   *queryState
	engine  *Engine
	columns []Column
	once    sync.Once
	closed  bool
	err     error
}

// Columns returns the result columns.
func (r *Rows) Columns() []Column {
	return append([]Column(nil), r.columns...)
}

// Next advances to the next row. It returns false at the end or on an
// error, and then closes the rows.
func (r *Rows) Next() bool {
	if r.rows.Next() {
		return true
	}
	r.Close()
	return false
}

// Scan copies the current row into dest, as database/sql does.
func (r *Rows) Scan(dest ...any) error {
	return r.rows.Scan(dest...)
}

// Values returns the current row.
func (r *Rows) Values() ([]any, error) {
	values := make([]any, len(r.columns))
	ptrs := make([]any, len(values))
	for i := range values {
		ptrs[i] = &values[i]
	}
	if err := r.rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	return values, nil
}

// Err returns the error that ended the iteration, if any.
func (r *Rows) Err() error {
	if r.closed {
		return r.err
	}
	if err := r.rows.Err(); err != nil {
		return preferPluginError(r.state, err)
	}
	return nil
}

// Close ends the query: the plugin calls still running are cancelled and
// waited for. Close may be called more than once.
func (r *Rows) Close() error {
	r.once.Do(func() {
		closeErr := r.rows.Close()
		err := r.rows.Err()
		if err == nil {
			err = closeErr
		}
		if err != nil {
			err = preferPluginError(r.state, err)
		}
		r.err = err
		r.closed = true
		r.engine.release(r.state)
	})
	return nil
}

// connector opens connections on one private driver, so the engine's
// module never reaches connections of other databases in the process.
type connector struct {
	drv *sqlite.Driver
}

func (c connector) Connect(context.Context) (driver.Conn, error) {
	return c.drv.Open(":memory:")
}

func (c connector) Driver() driver.Driver { return c.drv }

// shortPluginName turns "local/confluence" or "hub/org/confluence@latest"
// into "confluence".
func shortPluginName(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.Index(name, "@"); i >= 0 {
		name = name[:i]
	}
	return name
}

func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
