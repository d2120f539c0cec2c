package atlassian

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHTTPSProxyHonoured runs a client in a child test process whose
// HTTPS_PROXY points to a loopback listener, because net/http reads the
// proxy variables once per process. The listener refuses the CONNECT, so
// nothing leaves the machine.
func TestHTTPSProxyHonoured(t *testing.T) {
	if os.Getenv("ATLASSIAN_PROXY_CHILD") == "1" {
		c, err := NewClient(Options{APIKey: testAPIKey, AdminAPIURL: "https://api.example.test",
			RequestTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c.sleep = func(context.Context, time.Duration) error { return context.Canceled }
		if _, err := c.Directories(context.Background(), "o"); err == nil {
			t.Fatal("request through the refusing proxy succeeded")
		}
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 8)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			req, err := http.ReadRequest(bufio.NewReader(conn))
			if err == nil {
				got <- req.Method + " " + req.Host + " " + req.Header.Get("Authorization")
			}
			_, _ = conn.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
			conn.Close()
		}
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHTTPSProxyHonoured$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ATLASSIAN_PROXY_CHILD=1",
		"HTTPS_PROXY=http://"+ln.Addr().String(), "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test failed: %v\n%s", err, out)
	}
	select {
	case line := <-got:
		if !strings.HasPrefix(line, "CONNECT api.example.test:443") {
			t.Errorf("proxy received %q, want a CONNECT to api.example.test:443", line)
		}
		if strings.Contains(line, testAPIKey) {
			t.Errorf("the API key was sent to the proxy in the clear")
		}
	default:
		t.Fatal("the proxy received no request")
	}
}
