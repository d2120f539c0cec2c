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
	"unicode"

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
		"Runs the SQL statements (SQLite dialect, separated by semicolons) against the\n"+
			"plugin's tables and prints the result of the last one, for example\n"+
			"  "+programName+" query \"select count(*) from confluence_user\"\n"+
			"An argument that starts with a -- comment is read as the SQL, not as a flag.", stdout)
	output := fs.String("output", "table", "output `FORMAT`: table, csv or json")
	cfg := addConfigFlags(fs)
	logLevel := addLogLevelFlag(fs)
	if err := parseFlags(fs, endFlagsAtSQL(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("query takes exactly one SQL argument, got %d (quote the SQL)", fs.NArg())
	}
	if !hasStatement(fs.Arg(0)) {
		return usagef("invalid SQL argument: it contains no statement, only blanks or " +
			"comments (a -- comment runs to the end of its line)")
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

// boolFlag is the flag package's interface of flag values that take no
// argument.
type boolFlag interface {
	IsBoolFlag() bool
}

// endFlagsAtSQL inserts a "--" terminator before the first argument in
// flag position that starts with "--" and contains whitespace, unless it
// is "--name=value" with a defined flag name. No flag name contains
// whitespace, so that argument is SQL that starts with a comment, which
// the flag package would reject as an undefined flag. Other args are
// returned unchanged.
func endFlagsAtSQL(fs *flag.FlagSet, args []string) []string {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" || len(arg) < 2 || arg[0] != '-' {
			return args
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(arg[1:], "-"), "=")
		f := fs.Lookup(name)
		comment := strings.ContainsFunc(name, unicode.IsSpace) ||
			f == nil && strings.ContainsFunc(arg, unicode.IsSpace)
		if strings.HasPrefix(arg, "--") && comment {
			terminated := append([]string{}, args[:i]...)
			terminated = append(terminated, "--")
			return append(terminated, args[i:]...)
		}
		if f == nil {
			return args
		}
		if b, ok := f.Value.(boolFlag); ok && b.IsBoolFlag() {
			continue
		}
		if !hasValue {
			// The next argument is this flag's value.
			i++
		}
	}
	return args
}

// hasStatement reports whether sql contains anything besides whitespace,
// semicolons and comments. Quoted strings and identifiers count as
// statement text, so a "--" inside them starts no comment.
func hasStatement(sql string) bool {
	for i := 0; i < len(sql); i++ {
		switch c := sql[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == ';':
		case strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				return false
			}
			i += end
		case strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return false
			}
			i += end + 3
		default:
			return true
		}
	}
	return false
}
