package pgtest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/pgtest"
)

func TestServerUnixSocketOnly(t *testing.T) {
	server := pgtest.Start(t)
	conn := server.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := os.Stat(filepath.Join(server.Dir, ".s.PGSQL.5432")); err != nil {
		t.Errorf("socket not in the server directory: %v", err)
	}
	var listen, timezone, version string
	if err := conn.QueryRow(ctx, "show listen_addresses").Scan(&listen); err != nil {
		t.Fatalf("show listen_addresses failed: %v", err)
	}
	if listen != "" {
		t.Errorf("listen_addresses = %q, want empty (unix socket only)", listen)
	}
	if err := conn.QueryRow(ctx, "show timezone").Scan(&timezone); err != nil {
		t.Fatalf("show timezone failed: %v", err)
	}
	if timezone != "UTC" {
		t.Errorf("timezone = %q, want UTC", timezone)
	}
	if err := conn.QueryRow(ctx, "show server_version_num").Scan(&version); err != nil {
		t.Fatalf("show server_version_num failed: %v", err)
	}
	if len(version) < 2 || version[:2] != server.Version {
		t.Errorf("server_version_num = %s, want major version %s", version, server.Version)
	}
}

func TestServerStopsAndRemovesDir(t *testing.T) {
	var dir string
	t.Run("server", func(t *testing.T) {
		server := pgtest.Start(t)
		dir = server.Dir
		server.Connect(t)
	})
	if dir == "" {
		t.Skip("the server test was skipped")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("server directory %s still exists after the test (stat: %v)", dir, err)
	}
}
