package report_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds of every wait on the browser.
const (
	startTimeout = 30 * time.Second
	callTimeout  = 20 * time.Second
	loadTimeout  = 20 * time.Second
)

// chromiumPath returns the browser the tests drive. Outside CI a missing
// browser skips the test; with CI=true it fails it, because .ci/run
// installs Chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: .ci/run installs it with 'apt-get install -y chromium'")
	}
	t.Skip("chromium not found: install it with 'apt-get install -y chromium' " +
		"to run the browser test (with CI=true this test fails instead)")
	return ""
}

// startChromium starts headless Chromium with an empty profile and no
// background traffic, and returns its DevTools websocket URL. t.Cleanup
// stops it.
func startChromium(t *testing.T) string {
	t.Helper()
	args := []string{"--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--mute-audio",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--user-data-dir=" + t.TempDir(), "about:blank"}
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root.
		args = append([]string{"--no-sandbox"}, args...)
	}
	cmd := exec.Command(chromiumPath(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium failed: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		// Chromium's helper processes share its process group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("chromium (pid %d) did not exit within 10s of SIGKILL", cmd.Process.Pid)
		}
	})
	found := make(chan string, 1)
	var tail []string
	var tailMu sync.Mutex
	go func() {
		defer close(done)
		scanner := bufio.NewScanner(stderr)
		for scanner.Scan() {
			line := scanner.Text()
			if rest, ok := strings.CutPrefix(line, "DevTools listening on "); ok {
				select {
				case found <- strings.TrimSpace(rest):
				default:
				}
				continue
			}
			tailMu.Lock()
			if tail = append(tail, line); len(tail) > 20 {
				tail = tail[1:]
			}
			tailMu.Unlock()
		}
		_ = cmd.Wait()
	}()
	select {
	case u := <-found:
		return u
	case <-done:
	case <-time.After(startTimeout):
	}
	tailMu.Lock()
	defer tailMu.Unlock()
	t.Fatalf("chromium printed no DevTools URL within %s; last stderr lines:\n%s",
		startTimeout, strings.Join(tail, "\n"))
	return ""
}

// cdpClient sends DevTools protocol commands over one browser websocket,
// on the flat session of one page target.
type cdpClient struct {
	ws      *wsConn
	session string

	mu       sync.Mutex
	nextID   int64
	pending  map[int64]chan cdpMessage
	problems []string // console errors and uncaught exceptions
	loads    chan struct{}
	readErr  error
}

type cdpMessage struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// connectPage connects to the browser, opens a page target and enables
// the domains whose events the test reads.
func connectPage(t *testing.T, wsURL string) *cdpClient {
	t.Helper()
	ws, err := dialWebsocket(wsURL, callTimeout)
	if err != nil {
		t.Fatalf("connecting to DevTools at %s failed: %v", wsURL, err)
	}
	c := &cdpClient{ws: ws, pending: map[int64]chan cdpMessage{}, loads: make(chan struct{}, 8)}
	t.Cleanup(func() { ws.Close() })
	go c.readLoop()

	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := c.call("", "Target.createTarget", map[string]any{"url": "about:blank"},
		&target); err != nil {
		t.Fatal(err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := c.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID,
		"flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	c.session = attached.SessionID
	for _, domain := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		if err := c.call(c.session, domain, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *cdpClient) readLoop() {
	for {
		data, err := c.ws.ReadMessage(time.Now().Add(10 * time.Minute))
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		var m cdpMessage
		if err := json.Unmarshal(data, &m); err != nil {
			continue
		}
		if m.ID != 0 {
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		c.event(m)
	}
}

// event records the events the test asserts on.
func (c *cdpClient) event(m cdpMessage) {
	var problem string
	switch m.Method {
	case "Page.loadEventFired":
		select {
		case c.loads <- struct{}{}:
		default:
		}
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		if json.Unmarshal(m.Params, &p) == nil && (p.Type == "error" || p.Type == "assert") {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value, a.Description))
			}
			problem = "console." + p.Type + ": " + strings.Join(parts, " ")
		}
	case "Runtime.exceptionThrown":
		var p struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(m.Params, &p)
		problem = "exception: " + p.Details.Text + " " + p.Details.Exception.Description
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level, Text, URL string
			} `json:"entry"`
		}
		if json.Unmarshal(m.Params, &p) == nil && p.Entry.Level == "error" {
			problem = "log error: " + p.Entry.Text + " " + p.Entry.URL
		}
	}
	if problem != "" {
		c.mu.Lock()
		c.problems = append(c.problems, problem)
		c.mu.Unlock()
	}
}

// call sends one command and waits at most callTimeout for its result,
// which it decodes into result when result is not nil.
func (c *cdpClient) call(session, method string, params any, result any) error {
	c.mu.Lock()
	if c.readErr != nil {
		err := c.readErr
		c.mu.Unlock()
		return fmt.Errorf("%s: DevTools connection closed: %w", method, err)
	}
	c.nextID++
	id := c.nextID
	ch := make(chan cdpMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()

	request := map[string]any{"id": id, "method": method}
	if params != nil {
		request["params"] = params
	}
	if session != "" {
		request["sessionId"] = session
	}
	body, err := json.Marshal(request)
	if err != nil {
		return err
	}
	if err := c.ws.WriteText(body, callTimeout); err != nil {
		return fmt.Errorf("%s: sending failed: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: DevTools connection closed", method)
		}
		if m.Error != nil {
			return fmt.Errorf("%s failed: %s (code %d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-time.After(callTimeout):
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("%s timed out after %s", method, callTimeout)
	}
}

// navigate loads url in the page and waits for its load event.
func (c *cdpClient) navigate(url string) error {
	for len(c.loads) > 0 {
		<-c.loads
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := c.call(c.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("navigating to %s failed: %s", url, nav.ErrorText)
	}
	select {
	case <-c.loads:
		return nil
	case <-time.After(loadTimeout):
		return fmt.Errorf("%s did not fire its load event within %s", url, loadTimeout)
	}
}

// evaluate runs a JavaScript expression in the page and decodes its value.
func (c *cdpClient) evaluate(expression string, value any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := c.call(c.session, "Runtime.evaluate", map[string]any{"expression": expression,
		"returnByValue": true, "awaitPromise": true}, &res)
	if err != nil {
		return err
	}
	if res.Exception != nil {
		return fmt.Errorf("evaluating %q failed: %s", expression, res.Exception.Text)
	}
	if len(res.Result.Value) == 0 {
		return errors.New("evaluate returned no value for " + expression)
	}
	return json.Unmarshal(res.Result.Value, value)
}

// setWidth emulates a viewport of width CSS pixels.
func (c *cdpClient) setWidth(width, height int) error {
	return c.call(c.session, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}, nil)
}

func (c *cdpClient) takeProblems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.problems
	c.problems = nil
	return p
}
