package keys

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/frontmcp-go/frontmcp/token"
	jose "github.com/go-jose/go-jose/v4"
)

// A generated key printed as JSON parses back (the JWT_SIGNING_KEY round
// trip), keeps its kid, and its public half carries no private member.
func TestGenerateRoundTrip(t *testing.T) {
	for _, alg := range []string{token.ES256, token.EdDSA, token.RS256, token.PS256} {
		t.Run(alg, func(t *testing.T) {
			k, err := Generate(alg, "")
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParsePrivate(raw)
			if err != nil {
				t.Fatalf("ParsePrivate(generated): %v\n%s", err, raw)
			}
			if back.KeyID != k.KeyID || back.Algorithm != alg {
				t.Errorf("kid/alg = %q/%q, want %q/%q", back.KeyID, back.Algorithm, k.KeyID, alg)
			}
			pub, err := Public(back)
			if err != nil {
				t.Fatal(err)
			}
			assertPublicOnly(t, pub)
		})
	}
	k, err := Generate("", "prod-key-1")
	if err != nil || k.KeyID != "prod-key-1" || k.Algorithm != token.ES256 {
		t.Fatalf("Generate default with kid: %v %q %q", err, k.KeyID, k.Algorithm)
	}
}

func assertPublicOnly(t *testing.T, v any) {
	t.Helper()
	raw, _ := json.Marshal(v)
	var m map[string]any
	json.Unmarshal(raw, &m)
	for _, member := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := m[member]; ok {
			t.Fatalf("public key has private member %q: %s", member, raw)
		}
	}
}

func TestParsePrivateRejects(t *testing.T) {
	ec, _ := Generate(token.ES256, "")
	ecJSON, _ := json.Marshal(ec)
	pubJSON, _ := json.Marshal(ec.Public())
	withAlg := func(alg string) string { return strings.Replace(string(ecJSON), `"alg":"ES256"`, `"alg":"`+alg+`"`, 1) }
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak, _ := json.Marshal(jose.JSONWebKey{Key: small})
	weakRSA := string(weak)
	tests := []struct{ name, in, want string }{
		{"not JSON", `nope`, "not a JSON object"},
		{"no kty", `{"d":"x"}`, `missing "kty"`},
		{"shared secret", `{"kty":"oct","k":"c2VjcmV0"}`, `"oct" is a shared secret`},
		{"unknown kty", `{"kty":"XYZ","d":"x"}`, `kty "XYZ" is not supported`},
		{"X25519", `{"kty":"OKP","crv":"X25519","d":"x","x":"y"}`, `curve "X25519"`},
		{"public key", string(pubJSON), "no private part"},
		{"unknown alg", withAlg("HS256"), `unknown alg "HS256"`},
		{"alg does not fit", withAlg("RS256"), "does not fit"},
		{"weak RSA", weakRSA, "too weak"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivate([]byte(tt.in))
			if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePrivate = %v, want ErrInvalidKey mentioning %q", err, tt.want)
			}
		})
	}
}

func FuzzParsePrivate(f *testing.F) {
	k, _ := Generate(token.ES256, "")
	raw, _ := json.Marshal(k)
	f.Add(raw)
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","d":"AA","x":"AA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivate(data)
		if err != nil {
			return
		}
		if _, err := token.NewSigner(k, nil); err != nil || k.KeyID == "" {
			t.Fatalf("accepted a key that cannot sign: %v", err)
		}
	})
}
