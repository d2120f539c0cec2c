package emulator

import (
	"bytes"
	"net/http"
	"strconv"
)

// bodyFault is a fault applied to the body of a successful response.
type bodyFault int

const (
	bodyFaultReset bodyFault = iota + 1
	bodyFaultTruncate
)

// bodyFaultWriter returns a writer that holds back the response of a
// request on route key when Faults.ResetMidBody or Faults.TruncateJSON
// still counts, or nil when neither applies. A counter is spent only on a
// 200 response, in finish, so that an error response does not use it up.
func (e *Emulator) bodyFaultWriter(key string, w http.ResponseWriter) *bufferedWriter {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &e.faults
	if !f.matches(key) || f.ResetMidBody == 0 && f.TruncateJSON == 0 {
		return nil
	}
	return &bufferedWriter{e: e, out: w, status: http.StatusOK}
}

// bufferedWriter holds a response until the handler returns.
type bufferedWriter struct {
	e      *Emulator
	out    http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.out.Header() }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }

// finish sends the held response, cut as the fault in force requires.
func (b *bufferedWriter) finish() {
	fault := b.spend()
	body := b.body.Bytes()
	half := body[:len(body)/2]
	switch fault {
	case bodyFaultReset:
		b.out.Header().Set("Content-Length", strconv.Itoa(len(body)))
		b.out.WriteHeader(b.status)
		_, _ = b.out.Write(half)
		_ = http.NewResponseController(b.out).Flush()
		// ErrAbortHandler makes net/http close the connection without
		// logging, so the client reads fewer bytes than announced.
		panic(http.ErrAbortHandler)
	case bodyFaultTruncate:
		body = half
	}
	b.out.Header().Set("Content-Length", strconv.Itoa(len(body)))
	b.out.WriteHeader(b.status)
	_, _ = b.out.Write(body)
}

// spend takes one count of the first body fault that still counts, for a
// 200 response only.
func (b *bufferedWriter) spend() bodyFault {
	if b.status != http.StatusOK {
		return 0
	}
	b.e.mu.Lock()
	defer b.e.mu.Unlock()
	f := &b.e.faults
	switch {
	case f.ResetMidBody > 0:
		f.ResetMidBody--
		return bodyFaultReset
	case f.TruncateJSON > 0:
		f.TruncateJSON--
		return bodyFaultTruncate
	}
	return 0
}

// pageSizeFault caps limit at Faults.MaxPageSize for route key.
func (e *Emulator) pageSizeFault(key string, limit int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f := e.faults; f.MaxPageSize > 0 && f.matches(key) {
		return min(limit, f.MaxPageSize)
	}
	return limit
}

// repeatCursorFault reports whether the page of a request on route key
// repeats its cursor, spending one count of Faults.RepeatCursor.
func (e *Emulator) repeatCursorFault(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := &e.faults
	if f.RepeatCursor > 0 && f.matches(key) {
		f.RepeatCursor--
		return true
	}
	return false
}
