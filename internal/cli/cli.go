// Package cli is the command line tool steampipe-plugin-confluence: it
// runs SQL against the plugin without Steampipe (query), serves the
// bundled Atlassian emulator (emulator), and prints a redacted transcript
// of every API call for comparison with docs/wire-format.md (doctor).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

// Exit codes of Main.
const (
	ExitOK            = 0
	ExitFailure       = 1
	ExitUsage         = 2
	ExitSignInFailure = 3
)

// programName is the binary's name in help text and messages.
const programName = "steampipe-plugin-confluence"

// logLevelEnv is the SDK's log level variable, which the plugin's logger
// reads when the engine starts it.
const logLevelEnv = "STEAMPIPE_LOG_LEVEL"

// usageError is a problem with the command line or the settings; Main
// exits with ExitUsage for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"query", "run SQL on the plugin's tables and print the last statement's result", runQuery},
		{"emulator", "serve a generated Atlassian organization on loopback", runEmulator},
		{"doctor", "call each API route once and print a redacted transcript", runDoctor},
		{"demo", "query a generated organization served by the bundled emulator", runDemo},
		{"recommend", "report savings: unused seats, tiers and plans", runRecommend},
		{"help", "show help for a command", nil},
	}
}

// Main runs the tool with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "--help", "-help":
		printUsage(stdout)
		return ExitOK
	case "help":
		return runHelp(rest, stdout, stderr)
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return exitCode(c.run(rest, stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "Error: unknown command %q\n\n", name)
	printUsage(stderr)
	return ExitUsage
}

func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		printUsage(stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return exitCode(c.run([]string{"--help"}, stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "Error: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return ExitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s COMMAND [FLAGS] [ARGS]\n\n", programName)
	fmt.Fprintf(w, "Without a command line, as a child of Steampipe, it serves the plugin.\n\n")
	fmt.Fprintf(w, "Commands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for the flags of a command.\n", programName)
}

// errHelpShown ends a command after its help text was printed.
var errHelpShown = errors.New("help shown")

// exitCode prints err and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return ExitOK
	}
	fmt.Fprintf(stderr, "Error: %s\n", err)
	var usage *usageError
	switch {
	case errors.As(err, &usage):
		return ExitUsage
	case isSignInError(err):
		return ExitSignInFailure
	}
	return ExitFailure
}

// signInErrors are the client's sign-in failures.
var signInErrors = []error{
	atlassian.ErrWrongPassword,
	atlassian.ErrCodeRejected,
	atlassian.ErrSSORedirect,
	atlassian.ErrBotCheck,
	atlassian.ErrAccountLocked,
	atlassian.ErrEmailCodeRequired,
	atlassian.ErrUnrecognisedAnswer,
	atlassian.ErrSessionExpired,
}

// isSignInError reports whether err is a sign-in failure. The message is
// compared too, because an error that crossed the plugin SDK may have lost
// its chain. "session expired" is too short to match by text.
func isSignInError(err error) bool {
	var signIn *atlassian.SignInError
	if errors.As(err, &signIn) || strings.Contains(err.Error(), "sign-in failed: ") {
		return true
	}
	for _, target := range signInErrors {
		if errors.Is(err, target) {
			return true
		}
		if target != atlassian.ErrSessionExpired && strings.Contains(err.Error(), target.Error()) {
			return true
		}
	}
	return false
}

// newFlagSet returns a flag set that reports errors as usage errors and
// prints help to stdout on --help.
func newFlagSet(name, synopsis, description string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error too, so help is
	// printed by parseFlags, only on --help.
	fs.Usage = func() {}
	helpTexts[fs] = func() {
		fmt.Fprintf(stdout, "Usage: %s %s %s\n\n%s\n\nFlags:\n", programName, name, synopsis, description)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// helpTexts holds the help printer of each flag set.
var helpTexts = map[*flag.FlagSet]func(){}

// parseFlags parses args, mapping --help to errHelpShown and any other
// problem to a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			helpTexts[fs]()
			delete(helpTexts, fs)
			return errHelpShown
		}
		return usagef("%s: %v (run '%s %s --help')", fs.Name(), err, programName, fs.Name())
	}
	return nil
}

// logLevels are the accepted --log-level values.
var logLevels = []string{"off", "error", "warn", "info", "debug", "trace"}

// addLogLevelFlag registers --log-level, whose default comes from
// STEAMPIPE_LOG_LEVEL when set.
func addLogLevelFlag(fs *flag.FlagSet) *string {
	def := "off"
	if v := strings.ToLower(strings.TrimSpace(os.Getenv(logLevelEnv))); v != "" {
		def = v
	}
	return fs.String("log-level", def,
		"`LEVEL` of log lines on standard error: "+strings.Join(logLevels, ", ")+
			" ("+logLevelEnv+" sets the default)")
}

// applyLogLevel checks level and passes it to the plugin SDK's logger.
func applyLogLevel(level string) error {
	level = strings.ToLower(strings.TrimSpace(level))
	for _, l := range logLevels {
		if l == level {
			return os.Setenv(logLevelEnv, level)
		}
	}
	return usagef("invalid --log-level %q: use one of %s", level, strings.Join(logLevels, ", "))
}
