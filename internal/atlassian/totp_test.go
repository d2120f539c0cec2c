package atlassian

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNormalizeTOTPSecretForms(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	want, err := GenerateCode("JBSWY3DPEHPK3PXP", at)
	if err != nil {
		t.Fatal(err)
	}
	forms := []string{
		"JBSWY3DPEHPK3PXP",
		"jbswy3dpehpk3pxp",
		"JBSW Y3DP EHPK 3PXP",
		"jbsw-y3dp-ehpk-3pxp",
		"  JBSWY3DPEHPK3PXP\n",
		"JBSWY3DP\nEHPK3PXP",
		"JBSWY3DP\r\nEHPK3PXP",
		"JBSWY3DPEHPK3PXP======",
		"otpauth://totp/Atlassian:admin@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Atlassian",
		"otpauth://totp/Atlassian?secret=jbsw%20y3dp%20ehpk%203pxp&algorithm=SHA1&digits=6&period=30",
	}
	for _, form := range forms {
		norm, err := NormalizeTOTPSecret(form)
		if err != nil {
			t.Errorf("NormalizeTOTPSecret(%q): %v", form, err)
			continue
		}
		if norm != "JBSWY3DPEHPK3PXP" {
			t.Errorf("NormalizeTOTPSecret(%q) = %q", form, norm)
		}
		code, err := GenerateCode(form, at)
		if err != nil {
			t.Errorf("GenerateCode(%q): %v", form, err)
			continue
		}
		if code != want {
			t.Errorf("GenerateCode(%q) = %s, want %s", form, code, want)
		}
	}
}

// TestGenerateCodeRFC6238 checks the RFC 6238 appendix B SHA-1 vectors
// (the secret is ASCII "12345678901234567890"), cut to six digits.
func TestGenerateCodeRFC6238(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	cases := []struct {
		unix int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
	}
	for _, tc := range cases {
		got, err := GenerateCode(secret, time.Unix(tc.unix, 0))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("code at %d = %s, want %s", tc.unix, got, tc.want)
		}
	}
}

func TestGenerateCodeKeepsLeadingZeros(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	found := false
	for i := 0; i < 5000 && !found; i++ {
		code, err := GenerateCode(testSecret, start.Add(time.Duration(i)*30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != 6 {
			t.Fatalf("code %q has length %d, want 6", code, len(code))
		}
		found = strings.HasPrefix(code, "0")
	}
	if !found {
		t.Fatal("no code with a leading zero in 5000 steps")
	}
}

func TestNormalizeTOTPSecretErrors(t *testing.T) {
	cases := []string{
		"",
		"not base32 at all!",
		"JBSWY3DP", // 5 bytes: too short
		"otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1",
		"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=8",
		"otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256",
		"otpauth://totp/x?issuer=Atlassian",
		"JBSWY3DPEHPK3PX1",
		"JBSWY3DPEHPK3PXPA", // 17 characters: no whole number of bytes
		"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPA",
	}
	for _, in := range cases {
		_, err := NormalizeTOTPSecret(in)
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("NormalizeTOTPSecret(%q) error = %v, want a ConfigError", in, err)
			continue
		}
		if ce.Setting != "totp_secret" || ce.Fix == "" {
			t.Errorf("error for %q = %+v, want setting totp_secret and a fix", in, ce)
		}
		if in != "" && strings.Contains(err.Error(), in) {
			t.Errorf("error quotes the secret: %v", err)
		}
		if strings.Contains(err.Error(), "JBSWY3DP") {
			t.Errorf("error quotes part of the secret: %v", err)
		}
	}
}
