package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

func runEmulator(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("emulator", "[FLAGS]",
		"Serves a generated Atlassian organization (identity host, admin hub, Admin API and\n"+
			"Confluence sites) until interrupted. The first line on standard output is a JSON\n"+
			"object with the URLs, the generated credentials and the \"config\" body of a\n"+
			"connection block that signs in to it.", stdout)
	addr := fs.String("addr", "127.0.0.1:0",
		"`HOST:PORT` of the control URL (the \"url\" field); port 0 means a free port, "+
			"and the other emulated hosts always take free ports on HOST")
	allowNonLoopback := fs.Bool("allow-non-loopback", false,
		"allow an --addr that is not a loopback address")
	users := fs.Int("users", 2000, fmt.Sprintf("number of accounts in the org (%d to %d)",
		emulator.MinUsers, emulator.MaxUsers))
	seed := fs.Int64("seed", 1, "seed of the generated org; the same seed and --now give the same org")
	now := fs.String("now", "", "data clock as RFC 3339 time or YYYY-MM-DD date (default: current time)")
	rateLimit := fs.Int("rate-limit", 0, "requests a minute the org's admin hub and Admin API "+
		"routes accept together before answering 429 (token bucket); 0 means no limit")
	rateBurst := fs.Int("rate-burst", 0, "requests that --rate-limit lets pass at once after "+
		"a pause (the bucket size); 0 means one minute's requests")
	logLevel := addLogLevelFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("emulator takes no arguments, got %q", strings.Join(fs.Args(), " "))
	}
	if err := applyLogLevel(*logLevel); err != nil {
		return err
	}
	host, port, err := emulatorAddr(*addr)
	if err != nil {
		return err
	}
	clock, err := parseNow(*now)
	if err != nil {
		return err
	}
	if *users < emulator.MinUsers || *users > emulator.MaxUsers {
		return usagef("invalid --users %d: use %d to %d", *users, emulator.MinUsers, emulator.MaxUsers)
	}

	if *rateLimit < 0 {
		return usagef("invalid --rate-limit %d: use 0 (no limit) or a number of requests a minute",
			*rateLimit)
	}
	if *rateBurst < 0 || *rateBurst > 0 && *rateLimit == 0 {
		return usagef("invalid --rate-burst %d: use a positive number together with --rate-limit",
			*rateBurst)
	}

	opts := emulator.Options{
		Users:            *users,
		Seed:             *seed,
		Now:              clock,
		Host:             host,
		Port:             port,
		AllowNonLoopback: *allowNonLoopback,
	}
	opts.RateLimitPerMinute = *rateLimit
	opts.RateLimitBurst = *rateBurst
	// The access log holds method, path and status only.
	if level := os.Getenv(logLevelEnv); level == "info" || level == "debug" || level == "trace" {
		opts.Logger = stderr
	}
	emu, err := emulator.New(opts)
	if err != nil {
		return usagef("%v", err)
	}
	if err := emu.Start(); err != nil {
		return err
	}
	defer emu.Close()

	// Listen for the stop signal before the first line goes out: a caller
	// may send it as soon as it has read that line.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)

	line, err := json.Marshal(emu.Info())
	if err != nil {
		return fmt.Errorf("failed to encode the emulator info: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "emulator serving on %s; stop with Ctrl-C\n", emu.Info().URL)

	<-signals
	return nil
}

// emulatorAddr splits --addr into a host and the control host's port.
// A bare host means a free port.
func emulatorAddr(addr string) (string, int, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", 0, usagef("invalid --addr: empty; use HOST:PORT such as 127.0.0.1:8080")
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		// No port given.
		return strings.Trim(addr, "[]"), 0, nil
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, usagef("invalid --addr %q: the port must be a number from 0 to 65535", addr)
	}
	return host, port, nil
}

func parseNow(value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", value); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("invalid --now %q: use an RFC 3339 time such as "+
		"2024-05-01T12:00:00Z or a date such as 2024-05-01", value)
}
