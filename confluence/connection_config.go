package confluence

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/turbot/steampipe-plugin-sdk/v5/plugin"
	"github.com/zclconf/go-cty/cty"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/atlassian"
)

// Config is the connection block of confluence.spc. Every argument is
// optional in HCL because each can also come from an environment variable
// (see envVars), and GetConfig checks the merged result.
type Config struct {
	Email            string   `hcl:"email,optional"`
	Password         string   `hcl:"password,optional"`
	TOTPSecret       string   `hcl:"totp_secret,optional"`
	OrgID            string   `hcl:"org_id,optional"`
	Sites            []string `hcl:"sites,optional"`
	APIKey           string   `hcl:"api_key,optional"`
	APIToken         string   `hcl:"api_token,optional"`
	SessionToken     string   `hcl:"session_token,optional"`
	IdentityURL      string   `hcl:"identity_url,optional"`
	AdminHubURL      string   `hcl:"admin_hub_url,optional"`
	AdminAPIURL      string   `hcl:"admin_api_url,optional"`
	SessionCachePath string   `hcl:"session_cache_path,optional"`
	// InventoryCacheTTL is a string so that HCL accepts both a number of
	// seconds and a Go duration string; see CacheTTL.
	InventoryCacheTTL string `hcl:"inventory_cache_ttl,optional"`
	// Prices overrides the default price table; see PriceTable.
	Prices cty.Value `hcl:"prices,optional"`
	// OrgRequestsPerMinute and SiteRequestsPerMinute are strings for the
	// same reason as InventoryCacheTTL; see requestsPerMinute.
	OrgRequestsPerMinute  string `hcl:"org_requests_per_minute,optional"`
	SiteRequestsPerMinute string `hcl:"site_requests_per_minute,optional"`
}

// envVar binds one string setting to the environment variable that can
// set it when the .spc file leaves it empty.
type envVar struct {
	name  string
	field func(*Config) *string
}

// envVars lists the environment variable of every string setting.
// CONFLUENCE_SITES is handled apart because it is a list.
var envVars = []envVar{
	{"CONFLUENCE_EMAIL", func(c *Config) *string { return &c.Email }},
	{"CONFLUENCE_PASSWORD", func(c *Config) *string { return &c.Password }},
	{"CONFLUENCE_TOTP_SECRET", func(c *Config) *string { return &c.TOTPSecret }},
	{"CONFLUENCE_ORG_ID", func(c *Config) *string { return &c.OrgID }},
	{"CONFLUENCE_API_KEY", func(c *Config) *string { return &c.APIKey }},
	{"CONFLUENCE_API_TOKEN", func(c *Config) *string { return &c.APIToken }},
	{"CONFLUENCE_SESSION_TOKEN", func(c *Config) *string { return &c.SessionToken }},
	{"CONFLUENCE_IDENTITY_URL", func(c *Config) *string { return &c.IdentityURL }},
	{"CONFLUENCE_ADMIN_HUB_URL", func(c *Config) *string { return &c.AdminHubURL }},
	{"CONFLUENCE_ADMIN_API_URL", func(c *Config) *string { return &c.AdminAPIURL }},
	{"CONFLUENCE_SESSION_CACHE_PATH", func(c *Config) *string { return &c.SessionCachePath }},
	{"CONFLUENCE_INVENTORY_CACHE_TTL", func(c *Config) *string { return &c.InventoryCacheTTL }},
	{"CONFLUENCE_ORG_REQUESTS_PER_MINUTE", func(c *Config) *string { return &c.OrgRequestsPerMinute }},
	{"CONFLUENCE_SITE_REQUESTS_PER_MINUTE", func(c *Config) *string { return &c.SiteRequestsPerMinute }},
}

// sitesEnvVar holds a comma-separated list of site host names, URLs or
// cloud ids.
const sitesEnvVar = "CONFLUENCE_SITES"

// ConfigFromEnv returns the settings found in CONFLUENCE_* environment
// variables, for callers without a .spc file such as the command line tool.
func ConfigFromEnv() Config {
	return Config{}.withEnv(os.LookupEnv)
}

// WithEnv returns c with every empty setting filled from its CONFLUENCE_*
// environment variable, the merge GetConfig applies to a .spc block.
func (c Config) WithEnv() Config {
	return c.withEnv(os.LookupEnv)
}

// withEnv fills every empty setting from the environment, so that a value
// written in the .spc file always wins. lookup is os.LookupEnv outside tests.
func (c Config) withEnv(lookup func(string) (string, bool)) Config {
	for _, v := range envVars {
		field := v.field(&c)
		if strings.TrimSpace(*field) != "" {
			continue
		}
		if value, ok := lookup(v.name); ok {
			*field = value
		}
	}
	if len(c.Sites) == 0 {
		if value, ok := lookup(sitesEnvVar); ok {
			c.Sites = splitList(value)
		}
	}
	return c.withPricesEnv(lookup)
}

// splitList splits a comma-separated value, dropping blank entries.
func splitList(value string) []string {
	var out []string
	for _, part := range strings.Split(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// GetConfig returns the connection's settings merged with the environment
// and checked. It is the only reader of conn.Config: the SDK stores the
// parsed block by value, and a connection without a block has a nil Config.
// Errors name the setting at fault and the fix, and never quote a value.
func GetConfig(conn *plugin.Connection) (Config, error) {
	var spc Config
	if conn != nil && conn.Config != nil {
		c, ok := conn.Config.(Config)
		if !ok {
			return Config{}, fmt.Errorf("invalid connection config for connection %q: "+
				"the plugin received a %T instead of a confluence config (reinstall the plugin)",
				conn.Name, conn.Config)
		}
		spc = c
	}
	merged := spc.WithEnv()
	if err := merged.Validate(); err != nil {
		return Config{}, err
	}
	return merged, nil
}

// Validate checks the settings through the same rules the client applies,
// so that a bad .spc file fails with the name of the setting before any
// request is sent. Several problems are joined with errors.Join, each a
// *atlassian.ConfigError.
func (c Config) Validate() error {
	err := c.ClientOptions().Validate()
	if _, ttlErr := c.CacheTTL(); ttlErr != nil {
		err = errors.Join(err, ttlErr)
	}
	if _, _, priceErr := c.PriceTable(); priceErr != nil {
		err = errors.Join(err, priceErr)
	}
	if _, orgErr := requestsPerMinute("org_requests_per_minute", c.OrgRequestsPerMinute); orgErr != nil {
		err = errors.Join(err, orgErr)
	}
	if _, siteErr := requestsPerMinute("site_requests_per_minute", c.SiteRequestsPerMinute); siteErr != nil {
		err = errors.Join(err, siteErr)
	}
	return err
}

// requestsPerMinute returns a request limit setting as an
// atlassian.Options rate: 0 (the client's default) when empty,
// atlassian.NoLimit for "0", else the whole number given.
func requestsPerMinute(setting, value string) (int, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(value)
	problem := ""
	switch {
	case errors.Is(err, strconv.ErrRange):
		problem = "too large"
	case err != nil:
		problem = "not a whole number of requests a minute"
	case n < 0:
		problem = "negative"
	}
	if problem != "" {
		example := atlassian.DefaultOrgRequestsPerMinute
		if strings.HasPrefix(setting, "site") {
			example = atlassian.DefaultSiteRequestsPerMinute
		}
		return 0, &atlassian.ConfigError{Setting: setting,
			Problem: fmt.Sprintf("%q is %s", value, problem),
			Fix: fmt.Sprintf("set %s (or %s) to a number such as %d, or 0 to turn the "+
				"limiter off", setting, "CONFLUENCE_"+strings.ToUpper(setting), example)}
	}
	if n == 0 {
		return atlassian.NoLimit, nil
	}
	return n, nil
}

// DefaultInventoryCacheTTL is how long a connection keeps the inventory
// of sites and users a scan builds when inventory_cache_ttl is not set.
const DefaultInventoryCacheTTL = time.Hour

// CacheTTL returns inventory_cache_ttl as a duration: DefaultInventoryCacheTTL
// when empty, a whole number of seconds ("900"), or a Go duration string
// ("15m"). Zero turns the inventory cache off.
func (c Config) CacheTTL() (time.Duration, error) {
	value := strings.TrimSpace(c.InventoryCacheTTL)
	if value == "" {
		return DefaultInventoryCacheTTL, nil
	}
	ttl, err := parseTTL(value)
	if err != nil {
		return 0, &atlassian.ConfigError{Setting: "inventory_cache_ttl",
			Problem: fmt.Sprintf("invalid value %q: %v", value, err),
			Fix: "use a number of seconds (3600), a Go duration such as \"1h\" or \"15m\", " +
				"or 0 to turn the cache off"}
	}
	return ttl, nil
}

func parseTTL(value string) (time.Duration, error) {
	var ttl time.Duration
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds > math.MaxInt64/int64(time.Second) {
			return 0, errors.New("too large")
		}
		ttl = time.Duration(seconds) * time.Second
	} else {
		d, err := time.ParseDuration(value)
		if err != nil {
			return 0, errors.New("not a number of seconds or a duration")
		}
		ttl = d
	}
	if ttl < 0 {
		return 0, errors.New("negative")
	}
	return ttl, nil
}

// ClientOptions maps the settings onto the options of the Atlassian
// client. A session_cache_path starting with "~/" is resolved against the
// home directory, as Steampipe does for its own paths.
func (c Config) ClientOptions() atlassian.Options {
	orgLimit, _ := requestsPerMinute("org_requests_per_minute", c.OrgRequestsPerMinute)
	siteLimit, _ := requestsPerMinute("site_requests_per_minute", c.SiteRequestsPerMinute)
	return atlassian.Options{
		IdentityURL:     strings.TrimSpace(c.IdentityURL),
		AdminHubURL:     strings.TrimSpace(c.AdminHubURL),
		AdminAPIURL:     strings.TrimSpace(c.AdminAPIURL),
		Email:           strings.TrimSpace(c.Email),
		Password:        c.Password,
		TOTPSecret:      strings.TrimSpace(c.TOTPSecret),
		SessionToken:    strings.TrimSpace(c.SessionToken),
		APIKey:          strings.TrimSpace(c.APIKey),
		APIToken:        strings.TrimSpace(c.APIToken),
		OrgID:           strings.TrimSpace(c.OrgID),
		Sites:           trimList(c.Sites),
		SessionCacheDir: expandHome(strings.TrimSpace(c.SessionCachePath)),
		// Validate reports a bad limit; the client then gets the default.
		OrgRequestsPerMinute:  orgLimit,
		SiteRequestsPerMinute: siteLimit,
	}
}

// trimList trims every entry. Blank entries stay, so that Validate can
// report them instead of a typo silently widening the site list.
func trimList(values []string) []string {
	if values == nil {
		return nil
	}
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

// expandHome resolves a leading "~/" against the user's home directory.
// The path is returned unchanged when the home directory is unknown, and
// the client then reports it as it is.
func expandHome(path string) string {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return path
	}
	return filepath.Join(home, strings.TrimPrefix(path, "~"))
}
