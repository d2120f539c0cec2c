package confluence

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/turbot/steampipe-plugin-sdk/v5/grpc/proto"
	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

// testTOTPSecret is the base32 example secret of RFC 6238 test tooling,
// not a real account's secret.
const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// clearConfigEnv unsets every CONFLUENCE_* variable for the test, so that
// the developer's own environment cannot change a result.
func clearConfigEnv(t *testing.T) {
	t.Helper()
	names := []string{sitesEnvVar}
	for _, v := range envVars {
		names = append(names, v.name)
	}
	for _, name := range names {
		t.Setenv(name, "") // restores the old value after the test
		if err := os.Unsetenv(name); err != nil {
			t.Fatalf("unset %s: %v", name, err)
		}
	}
}

// parseConnection sends body to a plugin server as the Steampipe CLI
// does and returns the connection the SDK stored, so that GetConfig reads
// exactly what a real .spc file produces.
func parseConnection(t *testing.T, body string) (*plugin.Connection, error) {
	t.Helper()
	var p *plugin.Plugin
	server := plugin.Server(&plugin.ServeOpts{
		PluginName: PluginName,
		PluginFunc: func(ctx context.Context) *plugin.Plugin {
			p = Plugin(ctx)
			return p
		},
	})
	res, err := server.SetAllConnectionConfigs(&proto.SetAllConnectionConfigsRequest{
		Configs: []*proto.ConnectionConfig{{
			Connection:      "confluence_test",
			Plugin:          "local/confluence",
			PluginShortName: "confluence",
			PluginInstance:  "local/confluence",
			Config:          body,
		}},
		MaxCacheSizeMb: -1,
	})
	if err != nil {
		return nil, err
	}
	if msg := res.FailedConnections["confluence_test"]; msg != "" {
		return nil, errors.New(msg)
	}
	data, ok := p.ConnectionMap["confluence_test"]
	if !ok {
		t.Fatalf("plugin stored no connection data for confluence_test")
	}
	return data.Connection, nil
}

func TestConfigParsedFromHCL(t *testing.T) {
	clearConfigEnv(t)
	cacheDir := t.TempDir()
	body := `
email              = "admin@example.com"
password           = "correct horse"
totp_secret        = "` + testTOTPSecret + `"
org_id             = "org-1"
sites              = ["one.atlassian.net", "https://two.atlassian.net"]
identity_url       = "http://127.0.0.1:8001"
admin_hub_url      = "http://127.0.0.1:8002"
admin_api_url      = "http://127.0.0.1:8003"
session_cache_path = "` + cacheDir + `"
`
	conn, err := parseConnection(t, body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if _, isValue := conn.Config.(Config); !isValue {
		t.Fatalf("SDK stored config as %T, want confluence.Config by value", conn.Config)
	}
	got, err := GetConfig(conn)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	want := Config{
		Email:            "admin@example.com",
		Password:         "correct horse",
		TOTPSecret:       testTOTPSecret,
		OrgID:            "org-1",
		Sites:            []string{"one.atlassian.net", "https://two.atlassian.net"},
		IdentityURL:      "http://127.0.0.1:8001",
		AdminHubURL:      "http://127.0.0.1:8002",
		AdminAPIURL:      "http://127.0.0.1:8003",
		SessionCachePath: cacheDir,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetConfig = %+v\nwant %+v", got, want)
	}
	opts := got.ClientOptions()
	if opts.SessionCacheDir != cacheDir {
		t.Errorf("SessionCacheDir = %q, want %q", opts.SessionCacheDir, cacheDir)
	}
	if !slices.Equal(opts.Sites, want.Sites) {
		t.Errorf("Sites = %q, want %q", opts.Sites, want.Sites)
	}
}

func TestConfigRequestLimitsFromHCL(t *testing.T) {
	clearConfigEnv(t)
	cases := []struct {
		name          string
		settings      string
		env           string
		org, site     int
		wantOrgString string
	}{
		{"unset means the client's default", "", "", 0, 0, ""},
		{"numbers", "org_requests_per_minute = 120\nsite_requests_per_minute = 900\n", "",
			120, 900, "120"},
		{"zero turns the limiters off",
			"org_requests_per_minute = 0\nsite_requests_per_minute = \"0\"\n", "",
			atlassian.NoLimit, atlassian.NoLimit, "0"},
		{"environment", "", "90", 90, 0, "90"},
		{"spc wins over environment", "org_requests_per_minute = 60\n", "90", 60, 0, "60"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("CONFLUENCE_ORG_REQUESTS_PER_MINUTE", tc.env)
			}
			conn, err := parseConnection(t, "api_key = \"k\"\n"+tc.settings)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, err := GetConfig(conn)
			if err != nil {
				t.Fatalf("GetConfig: %v", err)
			}
			if got.OrgRequestsPerMinute != tc.wantOrgString {
				t.Errorf("org_requests_per_minute = %q, want %q", got.OrgRequestsPerMinute,
					tc.wantOrgString)
			}
			opts := got.ClientOptions()
			if opts.OrgRequestsPerMinute != tc.org {
				t.Errorf("OrgRequestsPerMinute = %d, want %d", opts.OrgRequestsPerMinute, tc.org)
			}
			if opts.SiteRequestsPerMinute != tc.site {
				t.Errorf("SiteRequestsPerMinute = %d, want %d", opts.SiteRequestsPerMinute,
					tc.site)
			}
		})
	}
}

func TestConfigRequestLimitErrorNamesValue(t *testing.T) {
	clearConfigEnv(t)
	conn, err := parseConnection(t, "api_key = \"k\"\norg_requests_per_minute = -3\n")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	_, err = GetConfig(conn)
	if err == nil {
		t.Fatal("GetConfig accepted org_requests_per_minute = -3")
	}
	for _, want := range []string{"org_requests_per_minute", `"-3"`, "negative",
		"CONFLUENCE_ORG_REQUESTS_PER_MINUTE", "0 to turn the limiter off"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
}

func TestConfigAPIKeyRouteFromHCL(t *testing.T) {
	clearConfigEnv(t)
	body := `
api_key   = "org-api-key"
api_token = "user-api-token"
email     = "admin@example.com"
`
	conn, err := parseConnection(t, body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	got, err := GetConfig(conn)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	if got.APIKey != "org-api-key" || got.APIToken != "user-api-token" {
		t.Errorf("GetConfig = %+v, want the api_key and api_token of the block", got)
	}
	if got.Password != "" || got.TOTPSecret != "" {
		t.Errorf("GetConfig set sign-in settings the block does not have: %+v", got)
	}
}

func TestConfigUnknownArgumentRejected(t *testing.T) {
	clearConfigEnv(t)
	_, err := parseConnection(t, `emial = "admin@example.com"`)
	if err == nil {
		t.Fatalf("parse accepted a misspelt argument")
	}
	if !strings.Contains(err.Error(), "emial") {
		t.Errorf("error %q does not name the unknown argument", err)
	}
}

func TestConfigEmptyBlockUsesEnvironment(t *testing.T) {
	clearConfigEnv(t)
	t.Setenv("CONFLUENCE_API_KEY", "env-api-key")
	t.Setenv("CONFLUENCE_SITES", " one.atlassian.net, ,two.atlassian.net ,")
	conn, err := parseConnection(t, "")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	got, err := GetConfig(conn)
	if err != nil {
		t.Fatalf("GetConfig: %v", err)
	}
	if got.APIKey != "env-api-key" {
		t.Errorf("APIKey = %q, want the value of CONFLUENCE_API_KEY", got.APIKey)
	}
	wantSites := []string{"one.atlassian.net", "two.atlassian.net"}
	if !slices.Equal(got.Sites, wantSites) {
		t.Errorf("Sites = %q, want %q", got.Sites, wantSites)
	}
}

func TestConfigNilConnectionConfig(t *testing.T) {
	clearConfigEnv(t)
	t.Setenv("CONFLUENCE_API_KEY", "env-api-key")
	got, err := GetConfig(&plugin.Connection{Name: "c"})
	if err != nil {
		t.Fatalf("GetConfig with nil config: %v", err)
	}
	if got.APIKey != "env-api-key" {
		t.Errorf("APIKey = %q, want the environment value", got.APIKey)
	}
}

func TestConfigWrongTypeRejected(t *testing.T) {
	clearConfigEnv(t)
	_, err := GetConfig(&plugin.Connection{Name: "c", Config: &Config{APIKey: "k"}})
	if err == nil {
		t.Fatalf("GetConfig accepted a *Config, which the SDK never stores")
	}
}

func TestConfigSPCWinsOverEnvironment(t *testing.T) {
	clearConfigEnv(t)
	values := map[string]string{}
	for _, v := range envVars {
		values[v.name] = "env-" + v.name
	}
	values[sitesEnvVar] = "env-a,env-b"
	lookup := func(name string) (string, bool) {
		v, ok := values[name]
		return v, ok
	}

	fromEnv := Config{}.withEnv(lookup)
	for _, v := range envVars {
		c := fromEnv
		if got := *v.field(&c); got != "env-"+v.name {
			t.Errorf("%s: empty setting = %q, want the environment value", v.name, got)
		}
	}
	if !slices.Equal(fromEnv.Sites, []string{"env-a", "env-b"}) {
		t.Errorf("sites from environment = %q", fromEnv.Sites)
	}

	var spc Config
	for _, v := range envVars {
		*v.field(&spc) = "spc-" + v.name
	}
	spc.Sites = []string{"spc-site"}
	merged := spc.withEnv(lookup)
	for _, v := range envVars {
		c := merged
		if got := *v.field(&c); got != "spc-"+v.name {
			t.Errorf("%s: set setting = %q, want the .spc value", v.name, got)
		}
	}
	if !slices.Equal(merged.Sites, []string{"spc-site"}) {
		t.Errorf("sites = %q, want the .spc value", merged.Sites)
	}
}

func TestConfigEnvVarsCoverEverySetting(t *testing.T) {
	var tags []string
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		tag := strings.Split(typ.Field(i).Tag.Get("hcl"), ",")[0]
		tags = append(tags, tag)
	}
	var fromEnv []string
	for _, v := range envVars {
		fromEnv = append(fromEnv, strings.ToLower(strings.TrimPrefix(v.name, "CONFLUENCE_")))
	}
	fromEnv = append(fromEnv, strings.ToLower(strings.TrimPrefix(sitesEnvVar, "CONFLUENCE_")))
	fromEnv = append(fromEnv, strings.ToLower(strings.TrimPrefix(pricesEnvVar, "CONFLUENCE_")))
	slices.Sort(tags)
	slices.Sort(fromEnv)
	if !slices.Equal(tags, fromEnv) {
		t.Errorf("settings %q and environment variables %q do not match", tags, fromEnv)
	}
}

func TestConfigValidationNamesSetting(t *testing.T) {
	cases := []struct {
		name    string
		config  Config
		setting string
	}{
		{"no credentials", Config{}, "api_key"},
		{"password without secret",
			Config{Email: "a@example.com", Password: "p"}, "totp_secret"},
		{"secret without password",
			Config{Email: "a@example.com", TOTPSecret: testTOTPSecret}, "password"},
		{"sign-in without email",
			Config{Password: "p", TOTPSecret: testTOTPSecret}, "email"},
		{"api token without email",
			Config{APIKey: "k", APIToken: "t"}, "email"},
		{"api token without key",
			Config{Email: "a@example.com", APIToken: "t"}, "api_key"},
		{"email without at sign",
			Config{Email: "admin", APIKey: "k"}, "email"},
		{"session token and password",
			Config{Email: "a@example.com", Password: "p", TOTPSecret: testTOTPSecret,
				SessionToken: "tok"}, "session_token"},
		{"session token with spaces",
			Config{SessionToken: "a b"}, "session_token"},
		{"org id with slash",
			Config{APIKey: "k", OrgID: "a/b"}, "org_id"},
		{"blank site",
			Config{APIKey: "k", Sites: []string{"one.atlassian.net", " "}}, "sites"},
		{"identity url over plain http",
			Config{APIKey: "k", IdentityURL: "http://id.example.com"}, "identity_url"},
		{"admin hub url not absolute",
			Config{APIKey: "k", AdminHubURL: "admin.example.com"}, "admin_hub_url"},
		{"admin api url with query",
			Config{APIKey: "k", AdminAPIURL: "https://api.example.com/?x=1"}, "admin_api_url"},
		{"relative session cache path",
			Config{APIKey: "k", SessionCachePath: "sessions"}, "session_cache_path"},
		{"negative org request rate",
			Config{APIKey: "k", OrgRequestsPerMinute: "-1"}, "org_requests_per_minute"},
		{"fractional site request rate",
			Config{APIKey: "k", SiteRequestsPerMinute: "2.5"}, "site_requests_per_minute"},
		{"org request rate with unit",
			Config{APIKey: "k", OrgRequestsPerMinute: "180/min"}, "org_requests_per_minute"},
		{"site request rate out of range",
			Config{APIKey: "k", SiteRequestsPerMinute: "99999999999999999999"},
			"site_requests_per_minute"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.config.Validate()
			if err == nil {
				t.Fatalf("Validate accepted %+v", tc.config)
			}
			if !strings.Contains(err.Error(), tc.setting) {
				t.Errorf("error %q does not name %s", err, tc.setting)
			}
			var ce *atlassian.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error %q is not an *atlassian.ConfigError", err)
			}
		})
	}
}

func TestConfigBadTOTPSecretRejected(t *testing.T) {
	clearConfigEnv(t)
	secret := "NOT!BASE32-SECRET-1"
	body := `
email       = "admin@example.com"
password    = "hunter2-password"
totp_secret = "` + secret + `"
`
	conn, err := parseConnection(t, body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	_, err = GetConfig(conn)
	if err == nil {
		t.Fatalf("GetConfig accepted an invalid TOTP secret")
	}
	if !strings.Contains(err.Error(), "totp_secret") {
		t.Errorf("error %q does not name totp_secret", err)
	}
	for _, secretValue := range []string{secret, "hunter2-password"} {
		if strings.Contains(err.Error(), secretValue) {
			t.Errorf("error quotes a secret value: %q", err)
		}
	}
}

func TestConfigValidRoutesAccepted(t *testing.T) {
	cases := map[string]Config{
		"sign-in": {Email: "a@example.com", Password: "p", TOTPSecret: testTOTPSecret},
		"session": {SessionToken: "header.claims.signature"},
		"api key": {APIKey: "k", Email: "a@example.com", APIToken: "t"},
	}
	for name, c := range cases {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", name, err)
		}
	}
}

func TestClientOptionsExpandsHome(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skipf("no home directory: %v", err)
	}
	opts := Config{SessionCachePath: "~/sessions"}.ClientOptions()
	if want := filepath.Join(home, "sessions"); opts.SessionCacheDir != want {
		t.Errorf("SessionCacheDir = %q, want %q", opts.SessionCacheDir, want)
	}
}

// TestSampleSPCDocumentsEverySetting keeps config/confluence.spc in step
// with Config: every argument appears, commented, with its environment
// variable, and the file's body parses.
func TestSampleSPCDocumentsEverySetting(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "config", "confluence.spc"))
	if err != nil {
		t.Fatalf("read sample config: %v", err)
	}
	text := string(raw)
	argument := regexp.MustCompile(`(?m)^  # ([a-z_]+)\s*=`)
	var documented []string
	for _, m := range argument.FindAllStringSubmatch(text, -1) {
		documented = append(documented, m[1])
	}
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		tag := strings.Split(typ.Field(i).Tag.Get("hcl"), ",")[0]
		if !slices.Contains(documented, tag) {
			t.Errorf("sample config does not document %s", tag)
		}
		env := "CONFLUENCE_" + strings.ToUpper(tag)
		if !strings.Contains(text, env) {
			t.Errorf("sample config does not name %s", env)
		}
	}

	// The CLI strips the plugin argument before sending the body. The
	// connection block ends at the first closing brace on a line of its
	// own; the commented plugin block after it is not part of the body.
	end := strings.Index(text, "\n}\n")
	if end < 0 {
		t.Fatalf("sample config has no connection block ending in a line with }")
	}
	body := text[strings.Index(text, "{")+1 : end]
	body = strings.Replace(body, `plugin = "local/confluence"`, "", 1)
	clearConfigEnv(t)
	if _, err := parseConnection(t, body); err != nil {
		t.Errorf("sample config body does not parse: %v", err)
	}
}

func TestConfigSiteRequestLimitErrorSuggestsDefault(t *testing.T) {
	clearConfigEnv(t)
	_, err := requestsPerMinute("site_requests_per_minute", "99999999999999999999")
	if err == nil {
		t.Fatal("an out-of-range site rate was accepted")
	}
	for _, want := range []string{"too large", "such as 600", "CONFLUENCE_SITE_REQUESTS_PER_MINUTE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
