package pgtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pgtest"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// emulatorNow is the data clock of every emulated org in these tests.
var emulatorNow = time.Date(2026, 5, 29, 12, 0, 0, 0, time.UTC)

// unthrottled replaces the plugin's default limiters, which pace a real
// org's API, so that reading the billing of a few dozen sites takes
// milliseconds rather than seconds.
var unthrottled = []*proto.RateLimiterDefinition{
	{Name: "confluence_admin_api", FillRate: 10000, BucketSize: 10000,
		Scope: []string{"connection"}, Where: "service = 'admin_api'"},
	{Name: "confluence_site_rest", FillRate: 10000, BucketSize: 10000,
		Scope: []string{"connection"}, Where: "service = 'site_rest'"},
}

// loaded is an emulated org read through the plugin into both databases.
type loaded struct {
	emu    *emulator.Emulator
	engine *sqlengine.Engine
	pg     *pgx.Conn
	schema pgtest.Schema
	counts map[string]int64
}

// loadOrg starts an emulator with a generated org of the given size, opens
// the embedded engine on it and copies every plugin table into a fresh
// PostgreSQL server.
func loadOrg(t *testing.T, users int, seed int64) *loaded {
	t.Helper()
	server := pgtest.Start(t)
	pg := server.Connect(t)

	emu, err := emulator.New(emulator.Options{Users: users, Seed: seed, Now: emulatorNow})
	if err != nil {
		t.Fatalf("creating the emulator failed: %v", err)
	}
	if err := emu.Start(); err != nil {
		t.Fatalf("starting the emulator failed: %v", err)
	}
	t.Cleanup(func() { emu.Close() })

	opts := sqlengine.Options{
		PluginFunc:     confluence.Plugin,
		PluginName:     "local/confluence",
		ConnectionName: "confluence",
		ConnectionConfig: emu.Info().Config +
			fmt.Sprintf("\nsession_cache_path = %q\n", t.TempDir()),
		ExactQual:    confluence.ExactQual,
		RateLimiters: unthrottled,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	engine, err := sqlengine.Open(ctx, opts)
	if err != nil {
		t.Fatalf("opening the engine failed: %v", err)
	}
	t.Cleanup(func() { engine.Close() })

	schema, err := pgtest.ReadSchema(opts)
	if err != nil {
		t.Fatalf("reading the schema failed: %v", err)
	}
	if err := pgtest.CreateTablesFromSchema(ctx, pg, schema); err != nil {
		t.Fatalf("creating the tables failed: %v", err)
	}
	counts, err := pgtest.LoadRows(ctx, engine, pg, schema)
	if err != nil {
		t.Fatalf("loading the rows failed: %v", err)
	}
	return &loaded{emu: emu, engine: engine, pg: pg, schema: schema, counts: counts}
}
