package atlassian

import (
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters of Atlassian's authenticator enrollment (RFC 6238
// defaults): SHA-1, six digits, 30 second steps.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
)

// NormalizeTOTPSecret returns the base32 secret in upper case without
// spaces, dashes or padding. It accepts the secret as authenticator setup
// pages show it (groups separated by spaces or dashes, lower case, with or
// without '=' padding) and whole otpauth://totp/...?secret=... URIs.
// Errors name the totp_secret setting and never quote the secret.
func NormalizeTOTPSecret(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", totpSecretError("is empty")
	}
	if strings.HasPrefix(strings.ToLower(s), "otpauth:") {
		u, err := url.Parse(s)
		if err != nil {
			return "", totpSecretError("is an otpauth URI that cannot be parsed")
		}
		if !strings.EqualFold(u.Host, "totp") {
			return "", totpSecretError("is an otpauth URI for a counter-based (HOTP) " +
				"code, and only time-based (TOTP) codes are supported")
		}
		if alg := u.Query().Get("algorithm"); alg != "" && !strings.EqualFold(alg, "SHA1") {
			return "", totpSecretError("is an otpauth URI with an algorithm other than SHA1")
		}
		if d := u.Query().Get("digits"); d != "" && d != "6" {
			return "", totpSecretError("is an otpauth URI with a code length other than 6")
		}
		if p := u.Query().Get("period"); p != "" && p != "30" {
			return "", totpSecretError("is an otpauth URI with a period other than 30 seconds")
		}
		s = u.Query().Get("secret")
		if s == "" {
			return "", totpSecretError("is an otpauth URI without a secret parameter")
		}
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '-' || r == '=':
			continue
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	norm := b.String()
	if norm == "" {
		return "", totpSecretError("contains no base32 characters")
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(norm)
	// Go's unpadded decoder accepts lengths that no whole number of bytes
	// encodes to (1, 3 or 6 characters past a multiple of 8), which the
	// code generator then rejects: catch them here, before any sign-in.
	if n := len(norm) % 8; err != nil || n == 1 || n == 3 || n == 6 {
		return "", totpSecretError("is not valid base32 (letters A-Z and digits 2-7)")
	}
	if len(raw) < 10 {
		// RFC 4226 requires at least 128 bits and recommends 160; 80 bits
		// is the shortest secret authenticator apps still accept.
		return "", totpSecretError("is too short to be an authenticator secret")
	}
	if _, err := totp.GenerateCodeCustom(norm, time.Unix(0, 0), totp.ValidateOpts{
		Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	}); err != nil {
		return "", totpSecretError("cannot generate a code")
	}
	return norm, nil
}

func totpSecretError(problem string) error {
	return &ConfigError{
		Setting: "totp_secret",
		Problem: "the value " + problem,
		Fix: "paste the secret shown when the authenticator app was enrolled " +
			"(\"can't scan the code?\"), or the whole otpauth:// URI",
	}
}

// GenerateCode returns the six-digit TOTP code of secret for the 30 second
// step that contains t. secret may be in any form NormalizeTOTPSecret
// accepts. Codes keep their leading zeros.
func GenerateCode(secret string, t time.Time) (string, error) {
	norm, err := NormalizeTOTPSecret(secret)
	if err != nil {
		return "", err
	}
	code, err := totp.GenerateCodeCustom(norm, t, totp.ValidateOpts{
		Period:    totpPeriod,
		Digits:    totpDigits,
		Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", errors.Join(totpSecretError("cannot generate a code"), err)
	}
	return code, nil
}

// totpStep is the number of the 30 second step that contains t.
func totpStep(t time.Time) int64 {
	return t.Unix() / totpPeriod
}

// stepStart is the time at which step begins.
func stepStart(step int64) time.Time {
	return time.Unix(step*totpPeriod, 0)
}
