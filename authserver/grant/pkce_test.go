package grant

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestValidateCodeChallenge(t *testing.T) {
	tests := []struct {
		name      string
		challenge string
		method    string
		code      string
		mentions  string
	}{
		{"rfc example", rfcChallenge, "S256", "", ""},
		{"missing challenge", "", "S256", CodeInvalidRequest, "code_challenge is required"},
		{"missing challenge and method", "", "", CodeInvalidRequest, "code_challenge is required"},
		{"missing method", rfcChallenge, "", CodeInvalidRequest, "code_challenge_method is required"},
		{"plain", rfcVerifier, "plain", CodeInvalidRequest, "plain is not allowed"},
		{"lowercase s256", rfcChallenge, "s256", CodeInvalidRequest, "not supported"},
		{"S512", rfcChallenge, "S512", CodeInvalidRequest, "not supported"},
		{"too short", rfcChallenge[:42], "S256", CodeInvalidRequest, "43 to 128"},
		{"too long", strings.Repeat("a", 129), "S256", CodeInvalidRequest, "43 to 128"},
		{"valid syntax but not 43", strings.Repeat("a", 44), "S256", CodeInvalidRequest, "exactly 43"},
		{"128 chars", strings.Repeat("a", 128), "S256", CodeInvalidRequest, "exactly 43"},
		{"padding", rfcChallenge[:42] + "=", "S256", CodeInvalidRequest, "43 to 128"},
		{"standard base64 plus", "+" + rfcChallenge[1:], "S256", CodeInvalidRequest, "43 to 128"},
		{"standard base64 slash", "/" + rfcChallenge[1:], "S256", CodeInvalidRequest, "43 to 128"},
		{"space", " " + rfcChallenge[1:], "S256", CodeInvalidRequest, "43 to 128"},
		{"unreserved but not base64url (~)", "~" + rfcChallenge[1:], "S256", CodeInvalidRequest, "not a base64url"},
		{"unreserved but not base64url (.)", rfcChallenge[:42] + ".", "S256", CodeInvalidRequest, "not a base64url"},
		{"non-canonical last char", rfcChallenge[:42] + "N", "S256", CodeInvalidRequest, "not a base64url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateCodeChallenge(tt.challenge, tt.method)
			wantCode(t, err, tt.code)
			if tt.mentions != "" && !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("error %q does not mention %q", err, tt.mentions)
			}
		})
	}
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestVerifyPKCE(t *testing.T) {
	long := strings.Repeat("A1-._~", 22)[:128]
	tests := []struct {
		name      string
		verifier  string
		challenge string
		want      bool
	}{
		{"rfc example", rfcVerifier, rfcChallenge, true},
		{"128-char verifier", long, s256(long), true},
		{"43-char verifier", long[:43], s256(long[:43]), true},
		{"wrong verifier", rfcVerifier[:42] + "Y", rfcChallenge, false},
		{"plain comparison refused", rfcVerifier, rfcVerifier, false},
		{"verifier too short", long[:42], s256(long[:42]), false},
		{"verifier too long", long + "a", s256(long + "a"), false},
		{"verifier bad char", rfcVerifier[:42] + "+", s256(rfcVerifier[:42] + "+"), false},
		{"verifier space", rfcVerifier[:42] + " ", s256(rfcVerifier[:42] + " "), false},
		{"empty verifier", "", s256(""), false},
		{"empty challenge", rfcVerifier, "", false},
		{"challenge with padding", rfcVerifier, rfcChallenge + "=", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyPKCE(tt.verifier, tt.challenge); got != tt.want {
				t.Errorf("VerifyPKCE(%q, %q) = %v, want %v", tt.verifier, tt.challenge, got, tt.want)
			}
		})
	}
}

func TestChallengeOfVerifierIsValid(t *testing.T) {
	for _, v := range []string{rfcVerifier, strings.Repeat("~", 43), strings.Repeat("z", 128)} {
		if err := ValidateCodeChallenge(s256(v), MethodS256); err != nil {
			t.Errorf("challenge of %q rejected: %v", v, err)
		}
	}
}

func BenchmarkVerifyPKCE(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !VerifyPKCE(rfcVerifier, rfcChallenge) {
			b.Fatal("mismatch")
		}
	}
}

func FuzzValidateCodeChallenge(f *testing.F) {
	f.Add(rfcChallenge, "S256", rfcVerifier)
	f.Add(rfcVerifier, "plain", rfcVerifier)
	f.Add("", "", "")
	f.Add(strings.Repeat("~", 50), "S256", strings.Repeat("~", 50))
	f.Fuzz(func(t *testing.T, challenge, method, verifier string) {
		err := ValidateCodeChallenge(challenge, method)
		if err != nil {
			wantCode(t, err, CodeInvalidRequest)
		} else {
			if method != MethodS256 || len(challenge) != 43 {
				t.Fatalf("accepted challenge %q method %q", challenge, method)
			}
			raw, derr := base64.RawURLEncoding.Strict().DecodeString(challenge)
			if derr != nil || len(raw) != 32 {
				t.Fatalf("accepted non-S256 challenge %q", challenge)
			}
		}
		ok := VerifyPKCE(verifier, challenge)
		if ok != (ValidCodeVerifier(verifier) && s256(verifier) == challenge) {
			t.Fatalf("VerifyPKCE(%q, %q) = %v disagrees with the definition", verifier, challenge, ok)
		}
		if ok {
			if err := ValidateCodeChallenge(challenge, MethodS256); err != nil {
				t.Fatalf("verifier matches a challenge that ValidateCodeChallenge rejects: %v", err)
			}
		}
		if ValidCodeVerifier(verifier) && !VerifyPKCE(verifier, s256(verifier)) {
			t.Fatalf("valid verifier %q does not match its own challenge", verifier)
		}
	})
}
