package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func usersSearchRequest(e *Emulator, body map[string]any) request {
	return request{method: "POST", bearer: e.Info().APIKey, body: body,
		url: adminAPI(e, "/admin/v2/orgs/"+e.Org().ID+"/directories/-/users/search")}
}

func TestFaultTruncateJSON(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	e.SetFaults(Faults{TruncateJSON: 1})
	a := do(t, orgsRequest(e))
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200", a.status)
	}
	if json.Valid(a.body) {
		t.Errorf("truncated body is valid JSON: %s", a.body)
	}
	whole := do(t, orgsRequest(e))
	if !json.Valid(whole.body) {
		t.Errorf("body after the fault is spent is not valid JSON")
	}
	if len(a.body) != len(whole.body)/2 {
		t.Errorf("truncated length %d, want half of %d", len(a.body), len(whole.body))
	}
}

func TestFaultResetMidBody(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	e.SetFaults(Faults{ResetMidBody: 1})
	req, err := http.NewRequest(http.MethodGet, adminAPI(e, "/admin/v1/orgs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Info().APIKey)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("the headers did not arrive: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("read the whole body (%d bytes) without an error", len(body))
	}
	if len(body) == 0 || int64(len(body)) >= resp.ContentLength {
		t.Errorf("read %d of %d bytes, want a part", len(body), resp.ContentLength)
	}
	if a := do(t, orgsRequest(e)); a.status != 200 || !json.Valid(a.body) {
		t.Errorf("request after the fault is spent: status %d", a.status)
	}
}

func TestFaultBodyFaultsSkipErrors(t *testing.T) {
	e := startEmulator(t, Options{Users: 20})
	e.SetFaults(Faults{TruncateJSON: 1})
	bad := orgsRequest(e)
	bad.bearer = "wrong"
	if a := do(t, bad); a.status != http.StatusUnauthorized || !json.Valid(a.body) {
		t.Errorf("401 status %d body valid %v, want a whole 401", a.status, json.Valid(a.body))
	}
	if got := e.Faults().TruncateJSON; got != 1 {
		t.Errorf("TruncateJSON after a 401 = %d, want 1", got)
	}
}

func TestFaultMaxPageSize(t *testing.T) {
	e := startEmulator(t, Options{Users: 40})
	e.SetFaults(Faults{Route: RouteUsersSearch, MaxPageSize: 3})
	var page struct {
		Data  []json.RawMessage `json:"data"`
		Links struct {
			Next string `json:"next"`
		} `json:"links"`
	}
	do(t, usersSearchRequest(e, map[string]any{"limit": 10})).json(t, &page)
	if len(page.Data) != 3 || page.Links.Next == "" {
		t.Errorf("page of %d users, next %q: want 3 users and a next cursor",
			len(page.Data), page.Links.Next)
	}
}

func TestFaultRepeatCursor(t *testing.T) {
	e := startEmulator(t, Options{Users: 40})
	var first, second struct {
		Links struct {
			Next string `json:"next"`
		} `json:"links"`
	}
	e.SetFaults(Faults{Route: RouteUsersSearch, RepeatCursor: 1})
	do(t, usersSearchRequest(e, map[string]any{"limit": 5})).json(t, &first)
	if first.Links.Next == "" {
		t.Fatal("first page has no next cursor")
	}
	do(t, usersSearchRequest(e, map[string]any{"limit": 5,
		"cursor": first.Links.Next})).json(t, &second)
	if second.Links.Next != first.Links.Next {
		t.Errorf("second page's next cursor differs from the cursor it was requested with")
	}
	if got := e.Faults().RepeatCursor; got != 0 {
		t.Errorf("RepeatCursor after one repeat = %d, want 0", got)
	}
}

func TestFaultNewCountsValidate(t *testing.T) {
	for _, f := range []Faults{{ResetMidBody: -1}, {TruncateJSON: -1}, {RepeatCursor: -1},
		{MaxPageSize: -1}} {
		if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "invalid") {
			t.Errorf("%+v: error %v, want invalid", f, err)
		}
	}
	var f Faults
	if err := json.Unmarshal([]byte(`{"reset_mid_body":1,"truncate_json":2,"repeat_cursor":3,`+
		`"max_page_size":4}`), &f); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if f.ResetMidBody != 1 || f.TruncateJSON != 2 || f.RepeatCursor != 3 || f.MaxPageSize != 4 {
		t.Errorf("decoded %+v", f)
	}
}
