package pgtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

func TestLoadRowsEmulatorOrg(t *testing.T) {
	org := loadOrg(t, 300, 41)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, table := range org.schema.TableNames() {
		t.Run(table, func(t *testing.T) {
			var pgCount int64
			err := org.pg.QueryRow(ctx, "select count(*) from "+pgx.Identifier{table}.Sanitize()).
				Scan(&pgCount)
			if err != nil {
				t.Fatalf("counting rows in PostgreSQL failed: %v", err)
			}
			res, err := org.engine.QueryAll(ctx, "select count(*) from "+table)
			if err != nil {
				t.Fatalf("counting rows in the engine failed: %v", err)
			}
			engineCount := res.Rows[0][0].(int64)
			if engineCount == 0 {
				t.Errorf("the engine returned no rows: the org must fill every table")
			}
			if pgCount != engineCount {
				t.Errorf("PostgreSQL has %d rows, the engine %d", pgCount, engineCount)
			}
			if org.counts[table] != engineCount {
				t.Errorf("LoadRows reported %d rows, the engine has %d", org.counts[table], engineCount)
			}
		})
	}
}

// TestLoadRowsValuesRoundTrip compares every value of every table, so a
// lost time zone, a truncated number or rewritten JSON fails.
func TestLoadRowsValuesRoundTrip(t *testing.T) {
	org := loadOrg(t, 120, 5)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, table := range org.schema.TableNames() {
		t.Run(table, func(t *testing.T) {
			cols := org.schema.Columns(table)
			names := make([]string, len(cols))
			for i, c := range cols {
				names[i] = pgx.Identifier{c.Name}.Sanitize()
			}
			query := fmt.Sprintf("select %s from %s", strings.Join(names, ", "),
				pgx.Identifier{table}.Sanitize())

			res, err := org.engine.QueryAll(ctx, query)
			if err != nil {
				t.Fatalf("engine query failed: %v", err)
			}
			var fromEngine []string
			for _, row := range res.Rows {
				fromEngine = append(fromEngine, canonicalRow(t, cols, row))
			}

			rows, err := org.pg.Query(ctx, query)
			if err != nil {
				t.Fatalf("PostgreSQL query failed: %v", err)
			}
			var fromPostgres []string
			for rows.Next() {
				values, err := rows.Values()
				if err != nil {
					t.Fatalf("reading a PostgreSQL row failed: %v", err)
				}
				fromPostgres = append(fromPostgres, canonicalRow(t, cols, values))
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("reading PostgreSQL rows failed: %v", err)
			}

			sort.Strings(fromEngine)
			sort.Strings(fromPostgres)
			if len(fromEngine) != len(fromPostgres) {
				t.Fatalf("engine has %d rows, PostgreSQL %d", len(fromEngine), len(fromPostgres))
			}
			for i := range fromEngine {
				if fromEngine[i] != fromPostgres[i] {
					t.Fatalf("row %d differs:\nengine:     %s\npostgresql: %s",
						i, fromEngine[i], fromPostgres[i])
				}
			}
		})
	}
}

// canonicalRow renders a row from either database in one form: booleans
// as true/false, timestamps in sqlengine's layout, JSON re-encoded with
// sorted keys.
func canonicalRow(t *testing.T, cols []*proto.ColumnDefinition, values []any) string {
	t.Helper()
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = cols[i].Name + "=" + canonicalValue(t, cols[i].Type, v)
	}
	return strings.Join(parts, " | ")
}

func canonicalValue(t *testing.T, typ proto.ColumnType, v any) string {
	t.Helper()
	if v == nil {
		return "NULL"
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch typ {
	case proto.ColumnType_BOOL:
		switch x := v.(type) {
		case int64:
			return strconv.FormatBool(x != 0)
		case bool:
			return strconv.FormatBool(x)
		}
	case proto.ColumnType_INT:
		if x, ok := v.(int64); ok {
			return strconv.FormatInt(x, 10)
		}
	case proto.ColumnType_DOUBLE:
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64)
		case int64:
			return strconv.FormatFloat(float64(x), 'g', -1, 64)
		}
	case proto.ColumnType_TIMESTAMP:
		switch x := v.(type) {
		case string:
			return x
		case time.Time:
			return x.UTC().Format(sqlengine.TimestampFormat)
		}
	case proto.ColumnType_JSON:
		var decoded any
		switch x := v.(type) {
		case string:
			if err := json.Unmarshal([]byte(x), &decoded); err != nil {
				t.Fatalf("invalid JSON from the engine: %v", err)
			}
		default:
			decoded = x
		}
		out, err := json.Marshal(decoded)
		if err != nil {
			t.Fatalf("encoding JSON failed: %v", err)
		}
		return string(out)
	case proto.ColumnType_INET, proto.ColumnType_IPADDR, proto.ColumnType_CIDR:
		if x, ok := v.(netip.Prefix); ok {
			return x.String()
		}
	default:
		if x, ok := v.(string); ok {
			return strconv.Quote(x)
		}
	}
	t.Fatalf("unexpected value %v of Go type %T for a %s column", v, v, typ)
	return ""
}

func TestReadSchemaMatchesEngine(t *testing.T) {
	org := loadOrg(t, 20, 3)
	got := org.schema.TableNames()
	want := org.engine.Tables()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("schema tables %v, engine tables %v", got, want)
	}
	for _, table := range got {
		for _, c := range org.schema.Columns(table) {
			if c.Name == "_ctx" {
				t.Errorf("table %s: the deprecated _ctx column is listed", table)
			}
		}
	}
	if _, ok := org.schema["confluence_user"]; !ok {
		t.Errorf("confluence_user not in the schema")
	}
	var pgTables int
	err := org.pg.QueryRow(context.Background(),
		"select count(*) from information_schema.tables where table_schema = 'public'").
		Scan(&pgTables)
	if err != nil {
		t.Fatal(err)
	}
	if pgTables != len(got) {
		t.Errorf("PostgreSQL has %d tables, the schema %d", pgTables, len(got))
	}
}
