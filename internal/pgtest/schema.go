package pgtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// deprecatedContextColumn is the SDK's old name of sp_ctx, which every
// table schema still lists; neither Steampipe nor sqlengine shows it.
const deprecatedContextColumn = "_ctx"

// Schema maps a table name to the plugin's schema of that table.
type Schema map[string]*proto.TableSchema

// TableNames returns the schema's table names in sorted order.
func (s Schema) TableNames() []string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Columns returns the columns of a table that CreateTablesFromSchema
// creates and LoadRows fills, in the plugin's order.
func (s Schema) Columns(table string) []*proto.ColumnDefinition {
	var cols []*proto.ColumnDefinition
	for _, c := range s[table].GetColumns() {
		if c.Name != deprecatedContextColumn {
			cols = append(cols, c)
		}
	}
	return cols
}

// ReadSchema starts the plugin of opts through the SDK's plugin server, as
// sqlengine.Open does, and returns its table schemas. Only PluginFunc,
// PluginName, ConnectionName and ConnectionConfig are used.
func ReadSchema(opts sqlengine.Options) (schema Schema, err error) {
	if opts.PluginFunc == nil || opts.PluginName == "" {
		return nil, errors.New("pgtest: missing PluginFunc or PluginName in options")
	}
	defer func() {
		// The SDK panics on some invalid plugin definitions.
		if r := recover(); r != nil {
			err = fmt.Errorf("plugin %s failed to start: %v", opts.PluginName, r)
		}
	}()
	short := opts.PluginName[strings.LastIndex(opts.PluginName, "/")+1:]
	if i := strings.Index(short, "@"); i >= 0 {
		short = short[:i]
	}
	connection := opts.ConnectionName
	if connection == "" {
		connection = short
	}
	server := plugin.Server(&plugin.ServeOpts{
		PluginName: opts.PluginName,
		PluginFunc: opts.PluginFunc,
	})
	res, err := server.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs: []*proto.ConnectionConfig{{
			Connection:      connection,
			Plugin:          opts.PluginName,
			PluginShortName: short,
			Config:          opts.ConnectionConfig,
		}},
		MaxCacheSizeMb: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("invalid connection config for connection %q: %w", connection, err)
	}
	if msg, failed := res.GetFailedConnections()[connection]; failed {
		return nil, fmt.Errorf("invalid connection config for connection %q: %s", connection, msg)
	}
	resp, err := server.GetSchema(&proto.GetSchemaRequest{Connection: connection})
	if err != nil {
		return nil, fmt.Errorf("plugin %s: reading the schema failed: %w", opts.PluginName, err)
	}
	return Schema(resp.GetSchema().GetSchema()), nil
}

// PostgresType returns the PostgreSQL type that Steampipe's foreign data
// wrapper gives a column of type t.
func PostgresType(t proto.ColumnType) (string, error) {
	switch t {
	case proto.ColumnType_BOOL:
		return "boolean", nil
	case proto.ColumnType_INT:
		return "bigint", nil
	case proto.ColumnType_DOUBLE:
		return "double precision", nil
	case proto.ColumnType_STRING, proto.ColumnType_LTREE:
		return "text", nil
	case proto.ColumnType_JSON:
		return "jsonb", nil
	case proto.ColumnType_TIMESTAMP:
		return "timestamptz", nil
	case proto.ColumnType_IPADDR, proto.ColumnType_INET:
		return "inet", nil
	case proto.ColumnType_CIDR:
		return "cidr", nil
	}
	return "", fmt.Errorf("unsupported column type %s: no PostgreSQL type is mapped to it", t)
}

// CreateTableStatement returns the create table statement of one table.
func (s Schema) CreateTableStatement(table string) (string, error) {
	if _, ok := s[table]; !ok {
		return "", fmt.Errorf("table %q not found in the plugin's schema", table)
	}
	var defs []string
	for _, c := range s.Columns(table) {
		typ, err := PostgresType(c.Type)
		if err != nil {
			return "", fmt.Errorf("column %s.%s: %w", table, c.Name, err)
		}
		defs = append(defs, quoteIdent(c.Name)+" "+typ)
	}
	return fmt.Sprintf("create table %s (\n  %s\n)", quoteIdent(table),
		strings.Join(defs, ",\n  ")), nil
}

// CreateTablesFromSchema creates one table per table of schema, in one
// transaction.
func CreateTablesFromSchema(ctx context.Context, conn *pgx.Conn, schema Schema) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("starting a transaction failed: %w", err)
	}
	defer tx.Rollback(ctx)
	for _, name := range schema.TableNames() {
		stmt, err := schema.CreateTableStatement(name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("creating table %s failed: %w", name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing the tables failed: %w", err)
	}
	return nil
}

func quoteIdent(name string) string {
	return pgx.Identifier{name}.Sanitize()
}
