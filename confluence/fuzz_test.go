package confluence

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// FuzzPriceTable parses a prices value as CONFLUENCE_PRICES carries it: HCL
// or JSON text. An accepted table validates and prices every edition it
// lists.
func FuzzPriceTable(f *testing.F) {
	for _, s := range []string{
		`[{ edition = "standard", cycle = "monthly", currency = "USD", ` +
			`bands = [{ up_to = 100, per_user = "6.40" }, { up_to = 0, per_user = "5.10" }] }]`,
		`[{"edition":"premium","cycle":"annual","currency":"EUR",` +
			`"tiers":[{"users":10,"price":"1000"},{"users":25,"price":"2000.50"}]}]`,
		`[{ edition = "standard", cycle = "monthly", currency = "USD", bands = [] }]`,
		`[{ edition = "standard", cycle = "monthly", currency = "USD", ` +
			`bands = [{ up_to = 1.5, per_user = 6.4 }] }]`,
		`[{ edition = "standard", cycle = "monthly", currency = "USD", ` +
			`bands = [{ up_to = 1e300, per_user = "1" }] }]`,
		`[{ edition = "standard", extra = 1 }]`, `[]`, `{}`, `"x"`, `[1, "a", null]`,
		`[{ edition = "standard", cycle = "monthly", currency = "USD", bands = null }]`,
		`[{ edition = var.x }]`, `[for x in [1] : x]`, `[`, ``, `${}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c := Config{Prices: cty.StringVal(text)}
		table, configured, err := c.PriceTable()
		if err != nil {
			if configured {
				t.Fatalf("error %v with configured true", err)
			}
			return
		}
		if !configured {
			t.Fatalf("a set prices value was reported as not configured")
		}
		if err := table.Validate(); err != nil {
			t.Fatalf("accepted table does not validate: %v", err)
		}
		for _, p := range table.Prices {
			_, _ = p.MonthlyCost(1000)
			_, _ = p.TierFor(1000)
		}
	})
}

// FuzzConfigValidate fills every setting from the input through the same
// merge the environment goes through, and checks that Validate never
// panics and that its message does not depend on the value of a password,
// API key or API token: only on whether one is set.
func FuzzConfigValidate(f *testing.F) {
	f.Add("admin@example.com", "pw", "JBSWY3DPEHPK3PXP", "", "", "", "https://id.atlassian.com",
		"s.atlassian.net,other", "1h")
	f.Add("", "", "", "key", "token", "", "http://127.0.0.1:1", "", "90")
	f.Add("x", "p", "!!", "", "", "a b;c", "ftp://x", " , ", "-5s")
	f.Add("a@b", "", "", "k", "", "", "http://example.com", "", "1e400")
	f.Fuzz(func(t *testing.T, email, password, secret, apiKey, apiToken, session, url,
		sites, ttl string) {
		env := map[string]string{
			"CONFLUENCE_EMAIL": email, "CONFLUENCE_PASSWORD": password,
			"CONFLUENCE_TOTP_SECRET": secret, "CONFLUENCE_API_KEY": apiKey,
			"CONFLUENCE_API_TOKEN": apiToken, "CONFLUENCE_SESSION_TOKEN": session,
			"CONFLUENCE_IDENTITY_URL": url, "CONFLUENCE_ADMIN_API_URL": url,
			"CONFLUENCE_SITES": sites, "CONFLUENCE_INVENTORY_CACHE_TTL": ttl,
			"CONFLUENCE_SESSION_CACHE_PATH": "/tmp/sessions",
		}
		lookup := func(name string) (string, bool) {
			v, ok := env[name]
			return v, ok && v != ""
		}
		c := Config{}.withEnv(lookup)
		err := c.Validate()
		_ = c.ClientOptions()

		masked := c
		for _, field := range []*string{&masked.Password, &masked.APIKey, &masked.APIToken} {
			// A blank value stays as it is, because some rules treat it as
			// set and others as empty.
			if strings.TrimSpace(*field) != "" {
				*field = "placeholder-value"
			}
		}
		maskedErr := masked.Validate()
		if (err == nil) != (maskedErr == nil) ||
			err != nil && err.Error() != maskedErr.Error() {
			t.Fatalf("the error depends on the value of a secret setting:\n%v\nvs\n%v",
				err, maskedErr)
		}
	})
}
