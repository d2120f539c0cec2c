package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	sdkgrpc "github.com/turbot/steampipe-plugin-sdk/v5/grpc"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/shared"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

const pluginName = "steampipe-plugin-confluence"

// syncBuffer collects the plugin's log output from go-plugin's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// launchPlugin starts the compiled binary as the Steampipe CLI does: with
// the SDK's handshake cookie, over go-plugin gRPC, logging at trace level.
func launchPlugin(t *testing.T, logs io.Writer) *sdkgrpc.PluginClient {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Env = append(cmd.Environ(), "STEAMPIPE_LOG_LEVEL=TRACE")
	logger := hclog.New(&hclog.LoggerOptions{
		Name:   "plugin",
		Level:  hclog.Trace,
		Output: logs,
	})
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  shared.Handshake,
		Plugins:          map[string]goplugin.Plugin{pluginName: &shared.WrapperPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           logger,
		StartTimeout:     time.Minute,
	})
	t.Cleanup(client.Kill)
	pc, err := sdkgrpc.NewPluginClient(client, pluginName)
	if err != nil {
		t.Fatalf("start plugin over gRPC: %v", err)
	}
	return pc
}

func startEmulator(t *testing.T, users int) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.New(emulator.Options{
		Users: users,
		Seed:  7,
		Now:   time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatalf("create emulator: %v", err)
	}
	if err := emu.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// executeAll runs one scan over gRPC and returns its rows, failing on any
// stream error so that a failed scan cannot pass as a short one.
func executeAll(t *testing.T, pc *sdkgrpc.PluginClient, conn, table string, columns []string) []*proto.Row {
	t.Helper()
	qc := proto.NewQueryContext(columns, map[string]*proto.Quals{}, -1, nil)
	req := &proto.ExecuteRequest{
		Table:        table,
		QueryContext: qc,
		Connection:   conn,
		CallId:       "e2e-" + table,
		ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{
			conn: {CacheEnabled: false},
		},
	}
	stream, _, cancel, err := pc.Execute(req)
	if err != nil {
		t.Fatalf("execute %s: %v", table, err)
	}
	defer cancel()
	var rows []*proto.Row
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("receive rows of %s: %v", table, err)
		}
		if resp.Row != nil {
			rows = append(rows, resp.Row)
		}
	}
}

func TestGRPCPluginCountsConfluenceUsers(t *testing.T) {
	emu := startEmulator(t, 400)
	info := emu.Info()
	var logs syncBuffer
	pc := launchPlugin(t, &logs)

	config := info.Config + "\nsession_cache_path = \"" + t.TempDir() + "\"\n"
	_, err := pc.Stub.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs: []*proto.ConnectionConfig{{
			Connection:      "confluence",
			Plugin:          "local/confluence",
			PluginShortName: "confluence",
			Config:          config,
			PluginInstance:  "local/confluence",
		}},
		MaxCacheSizeMb: 64,
	})
	if err != nil {
		t.Fatalf("set connection config: %v", err)
	}
	schema, err := pc.GetSchema("confluence")
	if err != nil {
		t.Fatalf("get schema: %v", err)
	}
	if _, ok := schema.Schema["confluence_user"]; !ok {
		t.Fatalf("schema has no confluence_user table")
	}

	for i := 0; i < 3; i++ {
		rows := executeAll(t, pc, "confluence", "confluence_user", []string{"account_id", "status"})
		if len(rows) != info.ConfluenceUsers {
			t.Fatalf("scan %d: got %d rows, want %d", i+1, len(rows), info.ConfluenceUsers)
		}
	}
	if got := emu.Counts().SignIns; got != 1 {
		t.Errorf("sign-ins after three scans = %d, want 1", got)
	}
	assertNoSecrets(t, "plugin log", logs.String(), secretsOf(info))
	if !strings.Contains(logs.String(), "TRACE") && !strings.Contains(logs.String(), "[TRACE]") {
		t.Errorf("plugin log has no trace lines, so the secret check proved nothing")
	}
}

func TestGRPCPluginRejectsBadConfig(t *testing.T) {
	var logs syncBuffer
	pc := launchPlugin(t, &logs)
	secret := "JBSWY3DPEHPK3PXP-not!base32"
	_, err := pc.Stub.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs: []*proto.ConnectionConfig{{
			Connection:      "confluence",
			Plugin:          "local/confluence",
			PluginShortName: "confluence",
			Config: "email = \"admin@example.com\"\npassword = \"hunter2-password\"\n" +
				"totp_secret = \"" + secret + "\"\nsession_cache_path = \"" + t.TempDir() + "\"\n",
		}},
	})
	if err == nil {
		// The config is read when the first table is used.
		pc.GetSchema("confluence")
		qc := proto.NewQueryContext([]string{"account_id"}, map[string]*proto.Quals{}, -1, nil)
		stream, _, cancel, execErr := pc.Execute(&proto.ExecuteRequest{
			Table: "confluence_user", QueryContext: qc, Connection: "confluence", CallId: "bad",
			ExecuteConnectionData: map[string]*proto.ExecuteConnectionData{"confluence": {}},
		})
		if execErr == nil {
			defer cancel()
			for {
				_, execErr = stream.Recv()
				if execErr != nil {
					break
				}
			}
		}
		if errors.Is(execErr, io.EOF) || execErr == nil {
			t.Fatalf("scan with an invalid TOTP secret succeeded")
		}
		err = execErr
	}
	if !strings.Contains(err.Error(), "totp_secret") {
		t.Errorf("error %q does not name the totp_secret setting", err)
	}
	assertNoSecrets(t, "error", err.Error(), []string{secret, "hunter2-password"})
	assertNoSecrets(t, "plugin log", logs.String(), []string{secret, "hunter2-password"})
}

var _ = context.Background
