package atlassian

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateAccepts(t *testing.T) {
	cases := map[string]Options{
		"sign-in":       {Email: "a@example.com", Password: "p", TOTPSecret: testSecret},
		"session":       {SessionToken: "abc.def.ghi"},
		"api key":       {APIKey: "k"},
		"key and token": {APIKey: "k", Email: "a@example.com", APIToken: "t"},
		"loopback http": {APIKey: "k", AdminAPIURL: "http://127.0.0.1:8080",
			IdentityURL: "http://localhost:9000/id", AdminHubURL: "http://[::1]:8081"},
		"127/8":             {APIKey: "k", AdminAPIURL: "http://127.1.2.3:80"},
		"sites":             {APIKey: "k", Sites: []string{"one.atlassian.net"}, OrgID: "abc-123"},
		"cache":             {APIKey: "k", SessionCacheDir: filepath.Join(t.TempDir(), "x")},
		"session and token": {SessionToken: "abc", Email: "a@example.com", APIToken: "t"},
	}
	for name, o := range cases {
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name    string
		opts    Options
		setting string
		words   string
	}{
		{"nothing", Options{}, "email, password, totp_secret, session_token or api_key", "missing"},
		{"password without secret", Options{Email: "a@example.com", Password: "p"},
			"totp_secret", "missing"},
		{"secret without password", Options{Email: "a@example.com", TOTPSecret: testSecret},
			"password", "missing"},
		{"sign-in without email", Options{Password: "p", TOTPSecret: testSecret}, "email",
			"missing"},
		{"session and password", Options{SessionToken: "s", Email: "a@example.com",
			Password: "p", TOTPSecret: testSecret}, "session_token", "conflicts"},
		{"token without email", Options{APIKey: "k", APIToken: "t"}, "email", "missing"},
		{"token alone", Options{Email: "a@example.com", APIToken: "t"}, "api_key",
			"cannot list org users"},
		{"bad secret", Options{Email: "a@example.com", Password: "p", TOTPSecret: "!!"},
			"totp_secret", "base32"},
		{"http remote", Options{APIKey: "k", AdminAPIURL: "http://api.example.com"},
			"admin_api_url", "loopback"},
		{"relative url", Options{APIKey: "k", IdentityURL: "id.atlassian.com"}, "identity_url",
			"absolute"},
		{"ftp", Options{APIKey: "k", AdminHubURL: "ftp://admin.example.com"}, "admin_hub_url",
			"scheme"},
		{"url with user", Options{APIKey: "k", AdminHubURL: "https://u:p@admin.example.com"},
			"admin_hub_url", "user info"},
		{"bad org", Options{APIKey: "k", OrgID: "a/b"}, "org_id", "invalid"},
		{"empty site", Options{APIKey: "k", Sites: []string{" "}}, "sites", "empty"},
		{"relative cache", Options{APIKey: "k", SessionCacheDir: "cache"},
			"session_cache_path", "relative"},
		{"bad email", Options{APIKey: "k", Email: "nobody", APIToken: "t"}, "email",
			"not an e-mail"},
		{"cookie header pasted", Options{SessionToken: "cloud.session.token=a; b=c"},
			"session_token", "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if err == nil {
				t.Fatal("Validate accepted the options")
			}
			var found *ConfigError
			for _, e := range flatten(err) {
				var ce *ConfigError
				if errors.As(e, &ce) && ce.Setting == tc.setting {
					found = ce
				}
			}
			if found == nil {
				t.Fatalf("no error for setting %s in: %v", tc.setting, err)
			}
			if !strings.Contains(found.Error(), tc.words) {
				t.Errorf("error %q does not contain %q", found.Error(), tc.words)
			}
			if found.Fix == "" {
				t.Errorf("error %q gives no fix", found.Error())
			}
			if !strings.Contains(found.Error(), tc.setting) {
				t.Errorf("error %q does not name %s", found.Error(), tc.setting)
			}
			for _, secret := range []string{"pw-", "u:p@"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes a secret: %v", err)
				}
			}
		})
	}
}

// flatten returns the errors joined in err, or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestNewClientValidates(t *testing.T) {
	_, err := NewClient(Options{Email: "a@example.com", Password: "p"})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Setting != "totp_secret" {
		t.Fatalf("NewClient error = %v, want totp_secret ConfigError", err)
	}
}

func TestDefaultSessionCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/var/cache/test-user")
	got := DefaultSessionCacheDir()
	want := "/var/cache/test-user/steampipe-plugin-confluence/sessions"
	if got != want {
		t.Errorf("DefaultSessionCacheDir() = %q, want %q", got, want)
	}
}
