package pgtest

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// LoadRows copies every row of every table of schema from the engine into
// the tables CreateTablesFromSchema made, and returns the number of rows
// copied per table. Each table is read with one query, so a plugin that
// needs key columns to list a table cannot be loaded.
func LoadRows(ctx context.Context, engine *sqlengine.Engine, conn *pgx.Conn,
	schema Schema) (map[string]int64, error) {
	counts := map[string]int64{}
	for _, table := range schema.TableNames() {
		n, err := loadTable(ctx, engine, conn, schema, table)
		if err != nil {
			return counts, err
		}
		counts[table] = n
	}
	return counts, nil
}

func loadTable(ctx context.Context, engine *sqlengine.Engine, conn *pgx.Conn,
	schema Schema, table string) (int64, error) {
	cols := schema.Columns(table)
	names := make([]string, len(cols))
	quoted := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
		quoted[i] = quoteIdent(c.Name)
	}
	// Hidden columns such as sp_ctx are named, so select * would miss them.
	query := fmt.Sprintf("select %s from %s", strings.Join(quoted, ", "), quoteIdent(table))
	res, err := engine.QueryAll(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("reading table %s from the plugin failed: %w", table, err)
	}
	rows := make([][]any, len(res.Rows))
	for r, values := range res.Rows {
		row := make([]any, len(cols))
		for i, c := range cols {
			v, err := postgresValue(c.Type, values[i])
			if err != nil {
				return 0, fmt.Errorf("table %s, row %d, column %s: %w", table, r+1, c.Name, err)
			}
			row[i] = v
		}
		rows[r] = row
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromRows(rows))
	if err != nil {
		return n, fmt.Errorf("copying %d rows into table %s failed: %w", len(rows), table, err)
	}
	return n, nil
}

// postgresValue converts a value that sqlengine returns for a column of
// type t (see the sqlengine package comment) to one pgx encodes as the
// column's PostgreSQL type.
func postgresValue(t proto.ColumnType, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch t {
	case proto.ColumnType_BOOL:
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case bool:
			return x, nil
		}
	case proto.ColumnType_INT:
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case proto.ColumnType_DOUBLE:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case proto.ColumnType_TIMESTAMP:
		switch x := v.(type) {
		case string:
			ts, err := time.Parse(sqlengine.TimestampFormat, x)
			if err != nil {
				return nil, fmt.Errorf("invalid timestamp %q: expected the layout %s",
					x, sqlengine.TimestampFormat)
			}
			return ts, nil
		case time.Time:
			return x.UTC(), nil
		}
	case proto.ColumnType_IPADDR, proto.ColumnType_INET, proto.ColumnType_CIDR:
		if x, ok := v.(string); ok {
			return parsePrefix(x)
		}
	default:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	}
	return nil, fmt.Errorf("unexpected value of Go type %T for a %s column", v, t)
}

// parsePrefix reads an inet or cidr value: an address with or without a
// prefix length.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid network address %q: %w", s, err)
		}
		return p, nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid IP address %q: %w", s, err)
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}
