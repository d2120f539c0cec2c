package pgtest_test

import (
	"strings"
	"testing"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pgtest"
)

func TestCreateTableStatementTypes(t *testing.T) {
	schema := pgtest.Schema{"t": {Columns: []*proto.ColumnDefinition{
		{Name: "ok", Type: proto.ColumnType_BOOL},
		{Name: "n", Type: proto.ColumnType_INT},
		{Name: "x", Type: proto.ColumnType_DOUBLE},
		{Name: "name", Type: proto.ColumnType_STRING},
		{Name: "tags", Type: proto.ColumnType_JSON},
		{Name: "at", Type: proto.ColumnType_TIMESTAMP},
		{Name: "ip", Type: proto.ColumnType_IPADDR},
		{Name: "addr", Type: proto.ColumnType_INET},
		{Name: "net", Type: proto.ColumnType_CIDR},
		{Name: "path", Type: proto.ColumnType_LTREE},
		{Name: "Mixed Case", Type: proto.ColumnType_STRING},
		{Name: "_ctx", Type: proto.ColumnType_JSON},
	}}}
	got, err := schema.CreateTableStatement("t")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`create table "t" (`,
		`  "ok" boolean,`,
		`  "n" bigint,`,
		`  "x" double precision,`,
		`  "name" text,`,
		`  "tags" jsonb,`,
		`  "at" timestamptz,`,
		`  "ip" inet,`,
		`  "addr" inet,`,
		`  "net" cidr,`,
		`  "path" text,`,
		`  "Mixed Case" text`,
		`)`,
	}, "\n")
	if got != want {
		t.Errorf("statement:\n%s\nwant:\n%s", got, want)
	}
}

func TestCreateTableStatementErrors(t *testing.T) {
	schema := pgtest.Schema{"t": {Columns: []*proto.ColumnDefinition{
		{Name: "odd", Type: proto.ColumnType_UNKNOWN},
	}}}
	_, err := schema.CreateTableStatement("t")
	if err == nil || !strings.Contains(err.Error(), "t.odd") {
		t.Errorf("unknown column type: err = %v, want an error naming t.odd", err)
	}
	_, err = schema.CreateTableStatement("missing")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing table: err = %v, want a not found error", err)
	}
}
