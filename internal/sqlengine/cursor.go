package sqlengine

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/turbot/go-kit/helpers"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"google.golang.org/grpc/metadata"
	"modernc.org/sqlite/vtab"
)

// rowBuffer is how many rows the plugin may run ahead of SQLite.
const rowBuffer = 64

// stopWait bounds how long closing a cursor waits for a cancelled plugin
// call to return, so that a plugin ignoring its context cannot hang the
// program.
const stopWait = 30 * time.Second

// scan is one plugin Execute call running in its own goroutine.
type scan struct {
	ctx    context.Context
	cancel context.CancelFunc
	rows   chan *proto.ExecuteResponse
	done   chan struct{}
	// err is written before done is closed.
	err error
}

type cursor struct {
	table *table
	query *queryState
	scan  *scan

	values []driver.Value
	rowid  int64
	eof    bool
	// local holds omitted conditions the plugin could not receive, which
	// the cursor checks itself.
	local []localCheck
}

// Filter starts a plugin call for the plan BestIndex chose.
func (c *cursor) Filter(_ int, idxStr string, vals []vtab.Value) error {
	c.stop()
	c.eof = false
	c.rowid = 0
	c.local = nil
	c.values = nil
	c.query = c.table.engine.currentQuery()

	plan, err := decodePlan(idxStr)
	if err != nil {
		return err
	}
	quals, noRows, err := c.buildQuals(plan, vals)
	if err != nil || noRows {
		c.eof = true
		return err
	}
	limit := int64(-1)
	if plan.LimitArg >= 0 && len(c.local) == 0 {
		limit = limitValue(vals, plan.LimitArg, plan.OffsetArg)
		if limit == 0 {
			c.eof = true
			return nil
		}
	}
	c.start(plan.Columns, quals, limit)
	return c.advance()
}

// buildQuals converts the constraint values of the plan into quals. It
// reports noRows when no row can satisfy the conditions.
func (c *cursor) buildQuals(plan scanPlan, vals []vtab.Value) (map[string]*proto.Quals, bool, error) {
	quals := map[string]*proto.Quals{}
	for _, pq := range plan.Quals {
		if pq.Arg >= len(vals) {
			return nil, false, fmt.Errorf("internal error: missing value for condition on %s", pq.Column)
		}
		index, col := c.table.info.column(pq.Column)
		if col == nil {
			return nil, false, fmt.Errorf("internal error: column %s not found", pq.Column)
		}
		conv := convertQual(col, pq.Operator, vals[pq.Arg])
		if conv.noRows {
			return nil, true, nil
		}
		if conv.value != nil {
			if quals[col.name] == nil {
				quals[col.name] = &proto.Quals{}
			}
			quals[col.name].Quals = append(quals[col.name].Quals, &proto.Qual{
				FieldName: col.name,
				Operator:  &proto.Qual_StringValue{StringValue: conv.operator},
				Value:     conv.value,
			})
		}
		// A converted operator may not be one the plugin applies exactly.
		exact := conv.value != nil &&
			(conv.operator == pq.Operator ||
				c.table.engine.opts.ExactQual(c.table.info.name, col.name, conv.operator))
		if pq.Omit && !exact {
			c.local = append(c.local, localCheck{
				column:   index,
				affinity: affinityOf(col.typ),
				operator: pq.Operator,
				value:    copyValue(vals[pq.Arg]),
			})
		}
	}
	return quals, false, nil
}

func (ti *tableInfo) column(name string) (int, *columnInfo) {
	for i := range ti.columns {
		if ti.columns[i].name == name {
			return i, &ti.columns[i]
		}
	}
	return -1, nil
}

// limitValue returns LIMIT plus OFFSET, or -1 for no limit.
func limitValue(vals []vtab.Value, limitArg, offsetArg int) int64 {
	limit, ok := vals[limitArg].(int64)
	if !ok || limit < 0 {
		return -1
	}
	if offsetArg >= 0 {
		if offset, ok := vals[offsetArg].(int64); ok && offset > 0 {
			limit += offset
		}
	}
	return limit
}

func copyValue(v vtab.Value) vtab.Value {
	if b, ok := v.([]byte); ok {
		return append([]byte(nil), b...)
	}
	return v
}

// start runs the plugin's Execute in a goroutine that feeds c.scan.rows.
func (c *cursor) start(columns []string, quals map[string]*proto.Quals, limit int64) {
	e := c.table.engine
	parent := context.Background()
	if c.query != nil {
		parent = c.query.ctx
	}
	ctx, cancel := context.WithCancel(parent)
	s := &scan{
		ctx:    ctx,
		cancel: cancel,
		rows:   make(chan *proto.ExecuteResponse, rowBuffer),
		done:   make(chan struct{}),
	}
	connection := e.opts.ConnectionName
	data := &proto.ExecuteConnectionData{CacheEnabled: false}
	if limit >= 0 {
		data.Limit = &proto.NullableInt{Value: limit}
	}
	req := &proto.ExecuteRequest{
		Table:                 c.table.info.name,
		QueryContext:          proto.NewQueryContext(columns, quals, limit, nil),
		Connection:            connection,
		CallId:                fmt.Sprintf("sqlengine-%d", e.callSeq.Add(1)),
		ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{connection: data},
	}
	e.logger.Debug("plugin call", "table", req.Table, "call_id", req.CallId,
		"columns", columns, "quals", len(quals), "limit", limit)
	c.scan = s
	go func() {
		defer close(s.done)
		defer func() {
			if r := recover(); r != nil {
				s.err = fmt.Errorf("plugin call on table %s failed: %w", req.Table, helpers.ToError(r))
			}
		}()
		s.err = e.server.Execute(req, &executeStream{ctx: ctx, rows: s.rows})
	}()
}

// advance moves to the next row, waiting for the plugin.
func (c *cursor) advance() error {
	s := c.scan
	if s == nil {
		c.eof = true
		return nil
	}
	for {
		var resp *proto.ExecuteResponse
		select {
		case resp = <-s.rows:
		case <-s.done:
			// Rows sent before Execute returned are still buffered.
			select {
			case resp = <-s.rows:
			default:
				return c.finish()
			}
		case <-s.ctx.Done():
			return c.fail(s.ctx.Err())
		}
		if resp.GetRow() == nil {
			continue
		}
		c.setRow(resp.GetRow())
		if c.passesLocalChecks() {
			return nil
		}
	}
}

// finish handles the end of the plugin call.
func (c *cursor) finish() error {
	s := c.scan
	if s.err != nil {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return c.fail(ctxErr)
		}
		return c.fail(s.err)
	}
	if c.query != nil {
		if message := c.query.loggedFailure(); message != "" {
			return c.fail(errors.New(message))
		}
	}
	c.eof = true
	c.values = nil
	return nil
}

// fail records err for the query, because SQLite reports a failed xNext
// without its message, and returns it.
func (c *cursor) fail(err error) error {
	if c.query != nil {
		c.query.recordError(err)
	}
	c.eof = true
	c.values = nil
	return err
}

func (c *cursor) setRow(row *proto.Row) {
	cols := c.table.info.columns
	values := make([]driver.Value, len(cols))
	for i, col := range cols {
		values[i] = sqlValue(row.GetColumns()[col.name])
	}
	c.values = values
	c.rowid++
}

func (c *cursor) passesLocalChecks() bool {
	for _, check := range c.local {
		if !check.matches(c.values[check.column]) {
			return false
		}
	}
	return true
}

// stop cancels the running plugin call and waits for it to return.
func (c *cursor) stop() {
	s := c.scan
	if s == nil {
		return
	}
	c.scan = nil
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(stopWait):
		c.table.engine.logger.Warn("plugin call did not stop after cancellation",
			"table", c.table.info.name, "waited", stopWait.String())
	}
}

func (c *cursor) Next() error {
	return c.advance()
}

func (c *cursor) Eof() bool {
	return c.eof
}

func (c *cursor) Column(i int) (vtab.Value, error) {
	if i < 0 || i >= len(c.values) {
		return nil, nil
	}
	return c.values[i], nil
}

func (c *cursor) Rowid() (int64, error) {
	return c.rowid, nil
}

func (c *cursor) Close() error {
	c.stop()
	return nil
}

// sqlValue maps a plugin column value to an SQLite value.
func sqlValue(col *proto.Column) driver.Value {
	if col == nil {
		return nil
	}
	switch v := col.GetValue().(type) {
	case *proto.Column_NullValue:
		return nil
	case *proto.Column_BoolValue:
		if v.BoolValue {
			return int64(1)
		}
		return int64(0)
	case *proto.Column_IntValue:
		return v.IntValue
	case *proto.Column_DoubleValue:
		return v.DoubleValue
	case *proto.Column_StringValue:
		return v.StringValue
	case *proto.Column_JsonValue:
		return string(v.JsonValue)
	case *proto.Column_TimestampValue:
		if v.TimestampValue == nil {
			return nil
		}
		return v.TimestampValue.AsTime().UTC().Format(TimestampFormat)
	case *proto.Column_IpAddrValue:
		return v.IpAddrValue
	case *proto.Column_CidrRangeValue:
		return v.CidrRangeValue
	case *proto.Column_LtreeValue:
		return v.LtreeValue
	}
	return nil
}

// executeStream receives the rows of one Execute call. It implements
// proto.WrapperPlugin_ExecuteServer, so the SDK sends no end-of-rows
// marker: the call's return marks the end, and its error is not lost.
type executeStream struct {
	ctx  context.Context
	rows chan<- *proto.ExecuteResponse
}

var _ proto.WrapperPlugin_ExecuteServer = (*executeStream)(nil)

func (s *executeStream) Send(resp *proto.ExecuteResponse) error {
	if resp == nil {
		return nil
	}
	select {
	case s.rows <- resp:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

func (s *executeStream) Context() context.Context { return s.ctx }

func (s *executeStream) SetHeader(metadata.MD) error { return nil }

func (s *executeStream) SendHeader(metadata.MD) error { return nil }

func (s *executeStream) SetTrailer(metadata.MD) {}

func (s *executeStream) SendMsg(any) error { return nil }

func (s *executeStream) RecvMsg(any) error { return nil }
