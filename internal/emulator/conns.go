package emulator

import (
	"net"
	"net/http"
	"sync"
)

// connTracker remembers the connections that have not sent a request yet.
// http.Server.Shutdown waits up to 5 s for such a connection before it
// counts as idle. HTTP clients open them often, because a transport that
// dials for a queued request keeps the new connection even when an older
// one served that request first.
type connTracker struct {
	mu    sync.Mutex
	fresh map[net.Conn]struct{}
}

// track is an http.Server.ConnState hook.
func (t *connTracker) track(c net.Conn, state http.ConnState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if state == http.StateNew {
		if t.fresh == nil {
			t.fresh = make(map[net.Conn]struct{})
		}
		t.fresh[c] = struct{}{}
		return
	}
	delete(t.fresh, c)
}

// closeFresh closes every connection that has not sent a request, since no
// response can be in progress on it.
func (t *connTracker) closeFresh() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.fresh {
		_ = c.Close()
		delete(t.fresh, c)
	}
}
