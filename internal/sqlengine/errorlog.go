package sqlengine

import (
	"context"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// The SDK's Execute (v5.14.1) can lose a scan's error: its result loop
// selects between the error channel and the end-of-rows marker, and when
// both are ready it may take the marker first and return nil. The error
// value is gone then, but the SDK has already logged it through the
// standard log package, whose output Execute points at the plugin's
// logger. failureLogger wraps that logger to read those lines, so a
// failed scan is never taken for a complete one.
//
// NOTE: this depends on the wording of one SDK log line; the tests fail
// if an SDK upgrade changes it.
const (
	failurePrefix = "[WARN] executeForConnection "
	failureMiddle = " returned error "
	failureSuffix = ", writing to CHAN"
)

// failureLogger is an hclog.Logger whose standard writers report scan
// failures to onFailure.
type failureLogger struct {
	hclog.Logger
	onFailure func(message string)
}

func (l *failureLogger) Named(name string) hclog.Logger {
	return &failureLogger{Logger: l.Logger.Named(name), onFailure: l.onFailure}
}

func (l *failureLogger) ResetNamed(name string) hclog.Logger {
	return &failureLogger{Logger: l.Logger.ResetNamed(name), onFailure: l.onFailure}
}

func (l *failureLogger) With(args ...any) hclog.Logger {
	return &failureLogger{Logger: l.Logger.With(args...), onFailure: l.onFailure}
}

func (l *failureLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return &failureWatcher{next: l.Logger.StandardWriter(opts), onFailure: l.onFailure}
}

type failureWatcher struct {
	next      io.Writer
	onFailure func(message string)
}

func (w *failureWatcher) Write(p []byte) (int, error) {
	if message, ok := parseFailure(string(p)); ok {
		w.onFailure(message)
	}
	return w.next.Write(p)
}

// parseFailure extracts the error message from the SDK's log line
// "[WARN] executeForConnection <connection> returned error <message>,
// writing to CHAN".
func parseFailure(line string) (string, bool) {
	line = strings.TrimRight(line, "\n")
	if !strings.HasPrefix(line, failurePrefix) || !strings.HasSuffix(line, failureSuffix) {
		return "", false
	}
	rest := strings.TrimSuffix(strings.TrimPrefix(line, failurePrefix), failureSuffix)
	i := strings.Index(rest, failureMiddle)
	if i < 0 {
		return "", false
	}
	message := rest[i+len(failureMiddle):]
	// Cancelled calls are the engine's own doing, not failures.
	if strings.Contains(message, context.Canceled.Error()) {
		return "", false
	}
	return message, true
}
