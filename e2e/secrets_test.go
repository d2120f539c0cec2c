package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/confluence-finops/steampipe-plugin-confluence/internal/emulator"
)

// secretsOf lists the emulator's credentials and every TOTP code valid
// around now, which is when the tests sign in.
func secretsOf(info emulator.Info) []string {
	secrets := []string{info.Password, info.TOTPSecret, info.APIKey, info.APIToken}
	now := time.Now()
	for step := -4; step <= 4; step++ {
		code, err := totp.GenerateCode(info.TOTPSecret, now.Add(time.Duration(step)*30*time.Second))
		if err == nil {
			secrets = append(secrets, code)
		}
	}
	return secrets
}

// encodings returns the forms in which a secret could leak into text.
func encodings(secret string) []string {
	quoted, _ := json.Marshal(secret)
	return []string{
		secret,
		url.QueryEscape(secret),
		strings.Trim(string(quoted), `"`),
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
	}
}

// assertNoSecrets fails when text contains any secret in any encoding.
// Six-digit codes are matched as whole tokens, since a long log can hold
// the same six digits inside a timestamp or an id.
func assertNoSecrets(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if len(secret) == 6 && isDigits(secret) {
			if containsToken(text, secret) {
				t.Errorf("%s contains a TOTP code", what)
			}
			continue
		}
		for _, form := range encodings(secret) {
			if len(form) >= 6 && strings.Contains(text, form) {
				t.Errorf("%s contains a secret (%d characters)", what, len(secret))
				break
			}
		}
	}
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func containsToken(text, token string) bool {
	for i := strings.Index(text, token); i >= 0; {
		before := i == 0 || !isDigits(text[i-1:i])
		end := i + len(token)
		after := end == len(text) || !isDigits(text[end:end+1])
		if before && after {
			return true
		}
		next := strings.Index(text[i+1:], token)
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}
