package token

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != SecretLen || !isB64URL(s) {
			t.Fatalf("secret %q: want %d base64url characters", s, SecretLen)
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != 32 {
			t.Fatalf("secret %q does not decode to 32 bytes: %v", s, err)
		}
		if seen[s] {
			t.Fatalf("secret %q repeated", s)
		}
		seen[s] = true
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID(), NewID()
	if len(a) != 22 || !ValidGrantID(a) || a == b {
		t.Errorf("NewID() = %q, %q", a, b)
	}
	// One ID in 64 would start with '-' if nothing prevented it: in 5 000
	// the chance of seeing none by luck is below 1e-34.
	for range 5000 {
		if id := NewID(); id[0] == '-' {
			t.Fatalf("NewID() = %q starts with '-' (reads as a command-line flag)", id)
		}
	}
}

func TestHash(t *testing.T) {
	tests := []struct{ in, want string }{
		// FIPS 180-2 test vectors.
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		if got := Hash(tt.in); got != tt.want {
			t.Errorf("Hash(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if !CheckSecret("abc", Hash("abc")) || CheckSecret("abd", Hash("abc")) || CheckSecret("abc", "") {
		t.Error("CheckSecret disagrees with Hash")
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"", "a", false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRefreshToken(t *testing.T) {
	id := NewID()
	raw, hash := NewRefreshToken(id)
	gotID, secret, ok := SplitRefreshToken(raw)
	if !ok || gotID != id {
		t.Fatalf("SplitRefreshToken(%q) = %q, %q, %v", raw, gotID, secret, ok)
	}
	if Hash(secret) != hash || strings.Contains(hash, secret) {
		t.Errorf("hash %q is not the hash of the secret part", hash)
	}
	raw2, hash2 := NewRefreshToken(id)
	if raw2 == raw || hash2 == hash {
		t.Error("two refresh tokens for one grant are equal")
	}
}

func TestSplitRefreshTokenRejects(t *testing.T) {
	secret := strings.Repeat("A", SecretLen)
	tests := []string{
		"",
		".",
		secret,
		"." + secret,
		"grant.",
		"grant." + secret[:42],
		"grant." + secret + "A",
		"grant." + secret[:42] + "=",
		"grant." + secret[:42] + "+",
		"gr.ant." + secret,
		"grant:1." + secret,
		"grant id." + secret,
		strings.Repeat("g", 129) + "." + secret,
	}
	for _, raw := range tests {
		if id, s, ok := SplitRefreshToken(raw); ok || id != "" || s != "" {
			t.Errorf("SplitRefreshToken(%q) = %q, %q, %v; want rejection", raw, id, s, ok)
		}
	}
	if _, _, ok := SplitRefreshToken(strings.Repeat("g", 128) + "." + secret); !ok {
		t.Error("128-character grant ID rejected")
	}
}

func TestNewRefreshTokenPanicsOnBadGrantID(t *testing.T) {
	for _, id := range []string{"", "a.b", "a b", strings.Repeat("x", 129)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewRefreshToken(%q) did not panic", id)
				}
			}()
			NewRefreshToken(id)
		}()
	}
}

func BenchmarkHash(b *testing.B) {
	s, _ := NewSecret()
	b.ReportAllocs()
	for b.Loop() {
		Hash(s)
	}
}

func FuzzSplitRefreshToken(f *testing.F) {
	raw, _ := NewRefreshToken("grant-1")
	f.Add(raw)
	f.Add("a.b")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		id, secret, ok := SplitRefreshToken(raw)
		if !ok {
			if id != "" || secret != "" {
				t.Fatal("parts returned for a rejected token")
			}
			return
		}
		if id+"."+secret != raw || !ValidGrantID(id) || len(secret) != SecretLen || strings.Contains(secret, ".") {
			t.Fatalf("SplitRefreshToken(%q) = %q, %q", raw, id, secret)
		}
	})
}
