package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"

	"github.com/confluence-finops/steampipe-plugin-confluence/confluence"
	"github.com/confluence-finops/steampipe-plugin-confluence/internal/sqlengine"
)

// configFlags are the settings flags shared by query and doctor.
type configFlags struct {
	file       *string
	connection *string
}

func addConfigFlags(fs *flag.FlagSet) configFlags {
	return configFlags{
		file: fs.String("config", "",
			"Steampipe .spc `FILE` with a confluence connection block (default: CONFLUENCE_* variables)"),
		connection: fs.String("connection", "",
			"`NAME` of the connection block to use when FILE has several"),
	}
}

// settings is the checked configuration of one run.
type settings struct {
	connection string
	// body is the HCL connection body for the plugin; empty means the
	// plugin reads the environment only.
	body   string
	config confluence.Config
	// limiters are the file's limiter blocks for this plugin.
	limiters []*proto.RateLimiterDefinition
}

// load reads and checks the settings before anything touches the network.
func (f configFlags) load() (*settings, error) {
	s := &settings{connection: "confluence", config: confluence.ConfigFromEnv()}
	if *f.file == "" {
		if *f.connection != "" {
			return nil, usagef("--connection needs --config")
		}
	} else {
		spc, err := loadSpc(*f.file, *f.connection)
		if err != nil {
			return nil, err
		}
		s.connection = spc.Name
		s.body = spc.Body
		s.limiters = spc.Limiters
		s.config = spc.Config.WithEnv()
	}
	if err := s.config.Validate(); err != nil {
		return nil, &usageError{msg: "invalid settings: " + err.Error()}
	}
	return s, nil
}

// outputFormats are the accepted --output values.
var outputFormats = []string{"table", "csv", "json"}

func checkOutput(format string) error {
	for _, f := range outputFormats {
		if f == format {
			return nil
		}
	}
	return usagef("invalid --output %q: use one of %s", format, strings.Join(outputFormats, ", "))
}

func runQuery(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("query", "[FLAGS] SQL",
		"Runs SQL (SQLite dialect) against the plugin's tables and prints the result of\n"+
			"the last statement, for example\n"+
			"  "+programName+" query \"select count(*) from confluence_user\"", stdout)
	output := fs.String("output", "table", "output `FORMAT`: table, csv or json")
	cfg := addConfigFlags(fs)
	logLevel := addLogLevelFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("query takes exactly one SQL argument, got %d (quote the statement)", fs.NArg())
	}
	if err := checkOutput(*output); err != nil {
		return err
	}
	if err := applyLogLevel(*logLevel); err != nil {
		return err
	}
	s, err := cfg.load()
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	engine, err := sqlengine.Open(ctx, sqlengine.Options{
		PluginFunc:       confluence.Plugin,
		PluginName:       "local/confluence",
		ConnectionName:   s.connection,
		ConnectionConfig: s.body,
		ExactQual:        confluence.ExactQual,
		RateLimiters:     s.limiters,
	})
	if err != nil {
		return err
	}
	defer engine.Close()
	result, err := engine.QueryAll(ctx, fs.Arg(0))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("query cancelled")
		}
		return err
	}
	return writeResult(stdout, *output, result)
}
