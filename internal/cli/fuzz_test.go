package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzPassword is written into every fuzzed .spc file. No error about the
// file may quote it, whatever the rest of the file contains.
const fuzzPassword = "Zq9pw-Secret-Wk4"

// FuzzLoadSpc parses a .spc file whose connection block holds a password
// line and the fuzzed text. Parsing never panics, errors never quote the
// password, and an accepted block validates without panicking.
func FuzzLoadSpc(f *testing.F) {
	for _, s := range []string{
		`email = "admin@example.com"` + "\n" + `totp_secret = "JBSWY3DPEHPK3PXP"`,
		`sites = ["a.atlassian.net", "b"]` + "\n" + `inventory_cache_ttl = 90`,
		`prices = [{ edition = "standard", cycle = "monthly", currency = "USD", ` +
			`bands = [{ up_to = 0, per_user = "6.40" }] }]`,
		`options "connection" { cache = true }`,
		`password2 = "x" "y"`, `email = `, `email = "unterminated`, `sites = [`,
		`email = var.x`, `email = 1`, `totp_secret = "!!"`, `}` + "\n" + `connection "x" {`,
		`plugin = "other"`, `unknown = "v"`, `email = "${password}"`, "\x00\xff",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(dir, "fuzz.spc")
		src := "connection \"confluence\" {\n  plugin = \"confluence\"\n" +
			"  password = \"" + fuzzPassword + "\"\n" + text + "\n}\n"
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		settings, err := loadSpc(path, "")
		if err != nil {
			if !strings.Contains(text, fuzzPassword) &&
				strings.Contains(err.Error(), fuzzPassword) {
				t.Fatalf("error quotes the password: %v", err)
			}
			return
		}
		if verr := settings.Config.Validate(); verr != nil &&
			!strings.Contains(text, fuzzPassword) &&
			strings.Contains(verr.Error(), fuzzPassword) {
			t.Fatalf("validation error quotes the password: %v", verr)
		}
	})
}
