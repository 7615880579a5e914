package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]jose.JSONWebKey{}
)

// testKey returns a generated key for alg, shared across tests (RSA
// generation is slow).
func testKey(t testing.TB, alg string) jose.JSONWebKey {
	t.Helper()
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[alg]; ok {
		return k
	}
	k, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	keyCache[alg] = k
	return k
}

func TestGenerateKey(t *testing.T) {
	algs := []string{"", ES256, ES384, ES512, EdDSA, RS256, PS256}
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			var k jose.JSONWebKey
			if alg == RS256 || alg == PS256 {
				k = testKey(t, alg)
			} else {
				var err error
				if k, err = GenerateKey(alg); err != nil {
					t.Fatal(err)
				}
			}
			want := alg
			if want == "" {
				want = DefaultAlgorithm
			}
			if k.Algorithm != want || k.Use != "sig" || k.IsPublic() || !k.Valid() {
				t.Errorf("key alg=%q use=%q public=%v valid=%v", k.Algorithm, k.Use, k.IsPublic(), k.Valid())
			}
			tp, err := Thumbprint(k)
			if err != nil || k.KeyID != tp || len(tp) != 43 {
				t.Errorf("kid %q, thumbprint %q, %v", k.KeyID, tp, err)
			}
			pub := k.Public()
			if tpPub, _ := Thumbprint(pub); tpPub != tp {
				t.Errorf("public thumbprint %q differs from private %q", tpPub, tp)
			}
			if _, err := keyAlgorithms(pub.Key, k.Algorithm); err != nil {
				t.Errorf("generated key does not fit its algorithm: %v", err)
			}
		})
	}
	if _, err := GenerateKey("HS256"); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("GenerateKey(HS256) = %v, want ErrUnsupportedKey", err)
	}
	if _, err := GenerateKey("none"); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("GenerateKey(none) = %v, want ErrUnsupportedKey", err)
	}
}

// TestThumbprintRFC7638 checks the example of RFC 7638 §3.1.
func TestThumbprintRFC7638(t *testing.T) {
	const jwk = `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	var k jose.JSONWebKey
	if err := json.Unmarshal([]byte(jwk), &k); err != nil {
		t.Fatal(err)
	}
	tp, err := Thumbprint(k)
	if err != nil || tp != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Errorf("Thumbprint = %q, %v", tp, err)
	}
	if _, err := Thumbprint(jose.JSONWebKey{Key: []byte("secret")}); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("symmetric thumbprint: %v", err)
	}
}

func TestPublicJWKS(t *testing.T) {
	es, ed, rs := testKey(t, ES256), testKey(t, EdDSA), testKey(t, RS256)
	set := PublicJWKS(es, ed, rs, es.Public(), jose.JSONWebKey{Key: []byte("hmac-secret"), KeyID: "hs"})
	if len(set.Keys) != 4 {
		t.Fatalf("%d keys, want 4 (symmetric left out)", len(set.Keys))
	}
	for i, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() {
			t.Errorf("key %d (%s) is not a valid public key", i, k.KeyID)
		}
		if k.KeyID == "" || k.Algorithm == "" || k.Use != "sig" {
			t.Errorf("key %d lost kid/alg/use: %q %q %q", i, k.KeyID, k.Algorithm, k.Use)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`, `hmac`} {
		if strings.Contains(string(b), private) {
			t.Errorf("JWKS contains private member %s: %s", private, b)
		}
	}
	if es.IsPublic() {
		t.Error("PublicJWKS modified its argument")
	}
}

func TestKeyAlgorithms(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa2048 := testKey(t, RS256).Key.(*rsa.PrivateKey)
	tests := []struct {
		name   string
		key    any
		jwkAlg string
		want   string // comma-separated; "" = error
	}{
		{"P-256", &p256.PublicKey, "", "ES256"},
		{"P-384", &p384.PublicKey, "", "ES384"},
		{"P-256 with alg", &p256.PublicKey, "ES256", "ES256"},
		{"P-256 claims ES384", &p256.PublicKey, "ES384", ""},
		{"P-256 claims HS256", &p256.PublicKey, "HS256", ""},
		{"P-224", &p224.PublicKey, "", ""},
		{"Ed25519", edPub, "", "EdDSA"},
		{"Ed25519 claims ES256", edPub, "ES256", ""},
		{"short Ed25519", ed25519.PublicKey(edPub[:10]), "", ""},
		{"RSA", &rsa2048.PublicKey, "", "RS256,RS384,RS512,PS256,PS384,PS512"},
		{"RSA PS256 only", &rsa2048.PublicKey, "PS256", "PS256"},
		{"RSA claims ES256", &rsa2048.PublicKey, "ES256", ""},
		{"RSA 1024", &rsa1024.PublicKey, "", ""},
		{"HMAC", []byte("0123456789abcdef0123456789abcdef"), "", ""},
		{"nil", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			algs, err := keyAlgorithms(tt.key, tt.jwkAlg)
			if tt.want == "" {
				if !errors.Is(err, ErrUnsupportedKey) {
					t.Errorf("algs %v, err %v; want ErrUnsupportedKey", algs, err)
				}
				return
			}
			var got []string
			for _, a := range algs {
				got = append(got, string(a))
			}
			if err != nil || strings.Join(got, ",") != tt.want {
				t.Errorf("algs %v, err %v; want %s", got, err, tt.want)
			}
		})
	}
}
