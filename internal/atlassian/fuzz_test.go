package atlassian

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	base32Canonical = regexp.MustCompile(`^[A-Z2-7]+$`)
	sixDigits       = regexp.MustCompile(`^[0-9]{6}$`)
)

func FuzzNormalizeTOTPSecret(f *testing.F) {
	for _, s := range []string{
		testSecret,
		"jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp",
		"JBSW-Y3DP-EHPK-3PXP",
		"JBSWY3DPEHPK3PXP====",
		"otpauth://totp/Atlassian:admin@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Atlassian",
		"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30",
		"otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
		"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=8",
		"otpauth://totp/%zz",
		"", "   ", "====", "!!", "JBSWY3D", "JBSWY3DPEHPK3PXPA", "0189",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		norm, err := NormalizeTOTPSecret(s)
		if err != nil {
			if norm != "" {
				t.Fatalf("error %v with a non-empty result", err)
			}
			return
		}
		if !base32Canonical.MatchString(norm) {
			t.Fatalf("accepted secret is not canonical base32 (length %d)", len(norm))
		}
		again, err := NormalizeTOTPSecret(norm)
		if err != nil || again != norm {
			t.Fatalf("normalising an accepted secret again changed it (err %v)", err)
		}
		for _, at := range []time.Time{time.Unix(0, 0), time.Unix(1700000000, 0)} {
			code, err := GenerateCode(norm, at)
			if err != nil {
				t.Fatalf("accepted secret cannot generate a code: %v", err)
			}
			if !sixDigits.MatchString(code) {
				t.Fatalf("code %q is not six digits", code)
			}
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{
		`"2024-05-01T10:20:30Z"`, `"2024-05-01T10:20:30.123456789Z"`,
		`"2024-05-01T10:20:30+0000"`, `"2024-05-01T10:20:30.5+02:00"`,
		`"2024-05-01T10:20Z"`, `"2024-05-01T10:20+0100"`, `"2024-05-01"`,
		`1714558830000`, `"1714558830000"`, `1.71455883e12`, `-1000`,
		`null`, `""`, `0`, `"0"`, ` `, `"2024-13-01"`, `"x"`, `{}`, `[1]`, `1e400`,
		`9223372036854775807`, `"\u0032024-05-01"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := ParseTimestamp(raw)
		if err != nil {
			if got != nil {
				t.Fatalf("error %v with a time", err)
			}
			return
		}
		if got == nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("time %v is not in UTC", got)
		}
		if y := got.Year(); y < 1 || y > 9999 {
			return
		}
		// Every accepted time in the four-digit years reads back to itself.
		text, _ := json.Marshal(got.Format(time.RFC3339Nano))
		back, err := ParseTimestamp(text)
		if err != nil || back == nil || !back.Equal(*got) {
			t.Fatalf("%s does not read back as %v (got %v, err %v)", text, got, back, err)
		}
	})
}

func FuzzCursorFromNextURL(f *testing.F) {
	for _, s := range []string{
		"https://api.atlassian.com/admin/v1/orgs/o/users?cursor=abc",
		"https://api.atlassian.com/admin/v1/orgs?cursor=a%20b&x=1",
		"/relative?cursor=c", "?cursor=", "https://h/p", "%zz", "http://[::1", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		c, err := cursorFromNextURL(next)
		if err == nil && next != "" && c == "" {
			t.Fatalf("accepted a next link without a cursor")
		}
		if err != nil && c != "" {
			t.Fatalf("error %v with cursor %q", err, c)
		}
	})
}

func FuzzConfluenceNextQuery(f *testing.F) {
	const want = "/wiki/rest/api/group"
	for _, s := range []string{
		"/wiki/rest/api/group?start=50&limit=50", "/rest/api/group?start=50",
		"https://evil.example/wiki/rest/api/group?start=1", "//evil.example/wiki/rest/api/group",
		"/wiki/rest/api/search/user?start=1", "/wiki/rest/api/../api/group", "%zz", "",
		"rest/api/group?start=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		q, err := confluenceNextQuery(next, want)
		if err != nil {
			return
		}
		if next != "" && q == nil {
			t.Fatalf("accepted %q with no query", next)
		}
		if strings.Contains(next, "://") && !strings.HasPrefix(next, "/") &&
			!strings.Contains(next, "?") {
			t.Fatalf("accepted the absolute URL %q", next)
		}
	})
}

// FuzzPageTracker feeds a sequence of next-page tokens, one a line, and
// checks that the tracker stops at the first repeated token.
func FuzzPageTracker(f *testing.F) {
	f.Add("a\nb\nc\n")
	f.Add("a\nb\na\n")
	f.Add("\n")
	f.Add("x\nx")
	f.Fuzz(func(t *testing.T, tokens string) {
		var p pageTracker
		seen := map[string]bool{}
		for _, tok := range strings.Split(tokens, "\n") {
			more, err := p.next(tok)
			switch {
			case tok == "":
				if more || err != nil {
					t.Fatalf("an empty token continued the list (err %v)", err)
				}
				return
			case seen[tok]:
				if more || err != ErrRepeatedCursor {
					t.Fatalf("repeated token %q: more %v, err %v", tok, more, err)
				}
				return
			case !more || err != nil:
				t.Fatalf("new token %q ended the list (err %v)", tok, err)
			}
			seen[tok] = true
		}
	})
}

// FuzzErrorCode checks that a code taken from an error response is a short
// identifier, so that no free text of a body reaches an error message.
func FuzzErrorCode(f *testing.F) {
	for _, s := range []string{
		`{"errorCode":"RATE_LIMITED"}`, `{"code":429}`, `{"code":"E1"}`,
		`{"errors":[{"code":"invalid-cursor"}]}`, `{"errorCode":"has spaces"}`, `[]`, `x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code := errorCode(body)
		if code != "" && (len(code) > 64 || !validID(code)) {
			t.Fatalf("error code %q is not a short identifier", code)
		}
	})
}

func FuzzSessionExpiry(f *testing.F) {
	created := time.Unix(1700000000, 0)
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDM2MDB9.sig")
	f.Add("a.b.c")
	f.Add("opaque-token")
	f.Add("..")
	f.Fuzz(func(t *testing.T, token string) {
		exp := sessionExpiry(token, created)
		if exp.IsZero() {
			t.Fatalf("zero expiry")
		}
	})
}

// decoderBodies are response bodies of the shapes every endpoint sends,
// plus broken variants.
var decoderBodies = []string{
	`{"data":[{"id":"o1","attributes":{"name":"Org"}}],"links":{"next":null}}`,
	`{"data":[{"directoryId":"d1","name":"D"}],"links":{}}`,
	`{"data":[{"id":"w1","attributes":{"name":"s","typeKey":"confluence",` +
		`"hostUrl":"s.atlassian.net","status":"online","sandbox":{"isSandbox":false},` +
		`"capacity":"100","usage":12}}],"links":{"next":"https://h/x?cursor=c2"}}`,
	`{"data":[{"id":"g1","name":"g","counts":{"users":"3"}}]}`,
	`{"data":[{"accountId":"a1","status":"active","emailVerified":"true",` +
		`"platformRoles":["r",{"id":"x"},{"role":"y"},null],` +
		`"addedToOrg":"2024-01-01","deactivatedOn":null,` +
		`"productAccess":[{"key":"confluence","id":"ari","lastActiveTimestamp":1714558830000}],` +
		`"groups":[{"id":"g","name":"n"}]}],"links":{"next":"https://h/x?cursor=c"}}`,
	`{"data":{"product_access":[{"id":"x","key":"confluence","last_active":"2024-01-01",` +
		`"last_active_timestamp":"2024-01-01T00:00:00Z"}],"added_to_org":"2023-01-01"}}`,
	`{"cloudId":"c1","edition":"standard","baseUrl":"https://s","siteTitle":"t"}`,
	`{"results":[{"user":{"accountId":"a","displayName":"d"}}],"totalSize":1,` +
		`"_links":{"next":"/wiki/rest/api/search/user?start=1"}}`,
	`{"results":[{"id":"g","name":"n"}],"_links":{"next":"/rest/api/group?start=50"}}`,
	`{"data":[{"accountId":"a","platformRoles":[1]}]}`,
	`{"data":[{"accountId":"a","addedToOrg":true}]}`,
	`{"data":[{"id":"w","attributes":{"sandbox":{"enabled":{"value":"x"}}}}]}`,
	`{"data":`, `[]`, `null`, `"x"`, ``, `{"data":[null]}`, `{"results":null}`,
}

// FuzzEndpointDecoders sends the same arbitrary body, as JSON with status
// 200, to every client call, so that each decoder and the conversion after
// it see it. No call may panic or hang, and errors are the expected outcome.
func FuzzEndpointDecoders(f *testing.F) {
	for _, b := range decoderBodies {
		f.Add([]byte(b))
	}
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	noSleep := func(context.Context, time.Duration) error { return nil }
	keyed, err := NewClient(Options{AdminAPIURL: srv.URL, AdminHubURL: srv.URL,
		IdentityURL: srv.URL, APIKey: testAPIKey, Email: testEmail, APIToken: testAPIToken,
		OrgID: testOrgID, SessionCacheDir: f.TempDir(), RequestTimeout: 5 * time.Second,
		OrgRequestsPerMinute: NoLimit, SiteRequestsPerMinute: NoLimit})
	if err != nil {
		f.Fatal(err)
	}
	session, err := NewClient(Options{AdminAPIURL: srv.URL, AdminHubURL: srv.URL,
		IdentityURL: srv.URL, SessionToken: "session-value", OrgID: testOrgID,
		SessionCacheDir: f.TempDir(), RequestTimeout: 5 * time.Second,
		OrgRequestsPerMinute: NoLimit, SiteRequestsPerMinute: NoLimit})
	if err != nil {
		f.Fatal(err)
	}
	keyed.sleep, session.sleep = noSleep, noSleep

	f.Fuzz(func(t *testing.T, b []byte) {
		// The fuzzing engine runs one input at a time in each worker
		// process, so the shared body is not written concurrently.
		body = b
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, c := range []*Client{keyed, session} {
			_, _ = c.Orgs(ctx)
			_, _ = c.Directories(ctx, testOrgID)
			_, _ = c.Workspaces(ctx, testOrgID)
			_, _ = c.ConfluenceSites(ctx, testOrgID)
			_ = c.SearchUsers(ctx, testOrgID, UserSearch{
				Expand: []string{"productAccess", "groups", "platformRoles"}},
				func(User) bool { return true })
			_, _ = c.LastActiveDates(ctx, testOrgID, "a1")
			_ = c.SearchGroups(ctx, testOrgID, func(DirectoryGroup) bool { return true })
			_, _ = c.TenantInfo(ctx, srv.URL)
			_, _ = c.SystemInfo(ctx, srv.URL)
			_ = c.LicensedUsers(ctx, srv.URL, func(SiteUser) bool { return true })
			_ = c.SiteGroups(ctx, srv.URL, func(Group) bool { return true })
			_ = c.GroupMembers(ctx, srv.URL, "g1", func(SiteUser) bool { return true })
			_, _ = c.ConfluenceBilling(ctx, testOrgID, "c1")
		}
		if ctx.Err() != nil {
			t.Fatalf("the calls did not finish within 20 s")
		}
	})
}
