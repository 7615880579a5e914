package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

const (
	testIssuer   = "https://as.example.com"
	testAudience = "https://mcp.example.com/mcp"
)

func testClaims() *Claims {
	return &Claims{
		Issuer:    testIssuer,
		Subject:   "user-1",
		Audience:  []string{testAudience},
		ExpiresAt: t0.Add(time.Hour),
		ClientID:  "client-1",
		Scope:     "read write",
	}
}

func testOptions() VerifyOptions {
	return VerifyOptions{Issuer: testIssuer, Audience: testAudience, Now: t0.Add(time.Minute)}
}

func newTestSigner(t testing.TB, alg string) *Signer {
	t.Helper()
	s, err := NewSigner(testKey(t, alg), &SignerOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestVerifier(t testing.TB, keys ...jose.JSONWebKey) *Verifier {
	t.Helper()
	v, err := NewVerifier(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// craft signs payload with key under alg, with the given extra protected
// headers (kid, typ, jku, crit, ...); embed puts the public key in "jwk".
func craft(t testing.TB, key any, alg jose.SignatureAlgorithm, headers map[string]any, payload []byte, embed bool) string {
	t.Helper()
	opts := &jose.SignerOptions{EmbedJWK: embed}
	for k, v := range headers {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func claimsJSON(t testing.TB, c *Claims) []byte {
	t.Helper()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = t0
	}
	if c.ID == "" {
		c.ID = "jti-1"
	}
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestSignVerifyAllAlgorithms(t *testing.T) {
	for _, alg := range []string{ES256, ES384, ES512, EdDSA, RS256, PS256} {
		t.Run(alg, func(t *testing.T) {
			s := newTestSigner(t, alg)
			if s.Algorithm() != alg || s.KeyID() != testKey(t, alg).KeyID {
				t.Errorf("signer alg %q kid %q", s.Algorithm(), s.KeyID())
			}
			c := testClaims()
			c.Extra = map[string]any{"email": "u@example.com"}
			raw, err := s.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			h := jws.Signatures[0].Header
			if h.Algorithm != alg || h.KeyID != s.KeyID() || h.ExtraHeaders["typ"] != "at+jwt" || h.JSONWebKey != nil {
				t.Errorf("header alg=%q kid=%q extra=%v jwk=%v", h.Algorithm, h.KeyID, h.ExtraHeaders, h.JSONWebKey)
			}
			// Verify with the signer's public key, and with a set of several keys.
			set := []jose.JSONWebKey{s.PublicKey()}
			for _, other := range []string{ES256, EdDSA, RS256} {
				if other != alg {
					set = append(set, pub(testKey(t, other)))
				}
			}
			for _, v := range []*Verifier{newTestVerifier(t, s.PublicKey()), newTestVerifier(t, set...)} {
				got, err := v.Verify(raw, testOptions())
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(c, got); diff != "" {
					t.Errorf("claims (-signed +verified):\n%s", diff)
				}
			}
		})
	}
}

func TestVerifierKeysFromDifferentSets(t *testing.T) {
	// A verifier built from another set than the signer's rejects: same
	// kid, different key (ErrSignature); different kid (ErrUnknownKey).
	s := newTestSigner(t, ES256)
	raw, err := s.Sign(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	sameKID := other.Public()
	sameKID.KeyID = s.KeyID()
	if _, err := newTestVerifier(t, sameKID).Verify(raw, testOptions()); !errors.Is(err, ErrSignature) {
		t.Errorf("same kid, other key: %v", err)
	}
	if _, err := newTestVerifier(t, other.Public(), testKey(t, EdDSA)).Verify(raw, testOptions()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown kid: %v", err)
	}
	// A single-key set does not stand in for a token whose kid differs.
	if _, err := newTestVerifier(t, other.Public()).Verify(raw, testOptions()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("single key, other kid: %v", err)
	}
}

func TestNewSigner(t *testing.T) {
	es := testKey(t, ES256)
	rs := testKey(t, RS256)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	withAlg := func(k jose.JSONWebKey, alg string) jose.JSONWebKey { k.Algorithm = alg; return k }
	noKID := es
	noKID.KeyID = ""
	noAlg := rs
	noAlg.Algorithm = ""
	tests := []struct {
		name    string
		key     jose.JSONWebKey
		wantAlg string
		wantKID string
		fail    bool
	}{
		{"es256", es, ES256, es.KeyID, false},
		{"no kid uses thumbprint", noKID, ES256, es.KeyID, false},
		{"rsa default RS256", noAlg, RS256, rs.KeyID, false},
		{"rsa PS256", withAlg(rs, PS256), PS256, rs.KeyID, false},
		{"raw ecdsa key", jose.JSONWebKey{Key: es.Key}, ES256, es.KeyID, false},
		{"public key", es.Public(), "", "", true},
		{"alg mismatch", withAlg(es, RS256), "", "", true},
		{"HS256 alg", withAlg(es, "HS256"), "", "", true},
		{"rsa 1024", jose.JSONWebKey{Key: small}, "", "", true},
		{"P-224", jose.JSONWebKey{Key: p224}, "", "", true},
		{"hmac", jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef")}, "", "", true},
		{"nil", jose.JSONWebKey{}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.key, nil)
			if tt.fail {
				if !errors.Is(err, ErrUnsupportedKey) {
					t.Errorf("NewSigner = %v, want ErrUnsupportedKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Algorithm() != tt.wantAlg || s.KeyID() != tt.wantKID {
				t.Errorf("alg %q kid %q, want %q %q", s.Algorithm(), s.KeyID(), tt.wantAlg, tt.wantKID)
			}
			pub := s.PublicKey()
			if !pub.IsPublic() || pub.KeyID != tt.wantKID || pub.Algorithm != tt.wantAlg || pub.Use != "sig" {
				t.Errorf("PublicKey() = %+v", pub)
			}
		})
	}
}

func TestSignRequiresClaims(t *testing.T) {
	s := newTestSigner(t, ES256)
	tests := []struct {
		name   string
		modify func(*Claims)
		want   error
	}{
		{"no iss", func(c *Claims) { c.Issuer = "" }, ErrMissingClaim},
		{"no sub", func(c *Claims) { c.Subject = "" }, ErrMissingClaim},
		{"no aud", func(c *Claims) { c.Audience = nil }, ErrMissingClaim},
		{"no exp", func(c *Claims) { c.ExpiresAt = time.Time{} }, ErrMissingClaim},
		{"no client_id", func(c *Claims) { c.ClientID = "" }, ErrMissingClaim},
		{"exp before iat", func(c *Claims) { c.ExpiresAt = t0.Add(-time.Second) }, nil},
		{"exp equals iat", func(c *Claims) { c.ExpiresAt = t0 }, nil},
		{"reserved extra", func(c *Claims) { c.Extra = map[string]any{"iss": "evil"} }, ErrReservedClaim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClaims()
			tt.modify(c)
			raw, err := s.Sign(c)
			if err == nil || raw != "" {
				t.Fatalf("Sign = %q, %v; want error", raw, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignFillsIDAndIssuedAt(t *testing.T) {
	s := newTestSigner(t, ES256)
	a, b := testClaims(), testClaims()
	if _, err := s.Sign(a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(b); err != nil {
		t.Fatal(err)
	}
	if !a.IssuedAt.Equal(t0) || a.ID == "" || a.ID == b.ID {
		t.Errorf("iat %v jti %q / %q", a.IssuedAt, a.ID, b.ID)
	}
	c := testClaims()
	c.ID, c.IssuedAt = "my-jti", t0.Add(time.Second)
	if _, err := s.Sign(c); err != nil {
		t.Fatal(err)
	}
	if c.ID != "my-jti" || !c.IssuedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("caller's jti/iat replaced: %q %v", c.ID, c.IssuedAt)
	}
}

func TestVerifyClaimRules(t *testing.T) {
	s := newTestSigner(t, ES256)
	v := newTestVerifier(t, s.PublicKey())
	tests := []struct {
		name   string
		claims func(*Claims)
		opts   func(*VerifyOptions)
		want   error // nil = accepted
	}{
		{"valid", nil, nil, nil},
		{"audience among several", func(c *Claims) { c.Audience = []string{"https://other", testAudience} }, nil, nil},
		{"wrong audience", func(c *Claims) { c.Audience = []string{"https://other.example.com/mcp"} }, nil, ErrAudience},
		{"audience differs by slash", func(c *Claims) { c.Audience = []string{testAudience + "/"} }, nil, ErrAudience},
		{"wrong issuer", func(c *Claims) { c.Issuer = "https://evil.example.com" }, nil, ErrIssuer},
		{"issuer differs by slash", func(c *Claims) { c.Issuer = testIssuer + "/" }, nil, ErrIssuer},
		{"expired", nil, func(o *VerifyOptions) { o.Now = t0.Add(2 * time.Hour) }, ErrExpired},
		{"expired exactly at exp", nil, func(o *VerifyOptions) { o.Now = t0.Add(time.Hour) }, ErrExpired},
		{"one second before exp", nil, func(o *VerifyOptions) { o.Now = t0.Add(time.Hour - time.Second) }, nil},
		{"expired within leeway", nil, func(o *VerifyOptions) { o.Now = t0.Add(time.Hour + 30*time.Second); o.Leeway = time.Minute }, nil},
		{"expired beyond leeway", nil, func(o *VerifyOptions) { o.Now = t0.Add(time.Hour + 61*time.Second); o.Leeway = time.Minute }, ErrExpired},
		{"negative leeway is zero", nil, func(o *VerifyOptions) { o.Now = t0.Add(time.Hour); o.Leeway = -time.Hour }, ErrExpired},
		{"nbf in future", func(c *Claims) { c.NotBefore = t0.Add(10 * time.Minute) }, nil, ErrNotYetValid},
		{"nbf within leeway", func(c *Claims) { c.NotBefore = t0.Add(2 * time.Minute) }, func(o *VerifyOptions) { o.Leeway = time.Minute }, nil},
		{"nbf reached", func(c *Claims) { c.NotBefore = t0.Add(time.Minute) }, nil, nil},
		{"iat in future", func(c *Claims) { c.IssuedAt = t0.Add(5 * time.Minute) }, nil, ErrNotYetValid},
		{"iat in future within leeway", func(c *Claims) { c.IssuedAt = t0.Add(90 * time.Second) }, func(o *VerifyOptions) { o.Leeway = time.Minute }, nil},
		{"zero Now uses the clock", nil, func(o *VerifyOptions) { o.Now = time.Time{} }, ErrNotYetValid}, // t0 is in 2027
		{"empty issuer option", nil, func(o *VerifyOptions) { o.Issuer = "" }, ErrIssuer},
		{"empty audience option", nil, func(o *VerifyOptions) { o.Audience = "" }, ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClaims()
			if tt.claims != nil {
				tt.claims(c)
			}
			raw, err := s.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			o := testOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			got, err := v.Verify(raw, o)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if diff := cmp.Diff(c, got); diff != "" {
					t.Errorf("claims (-signed +verified):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.want) || got != nil {
				t.Errorf("Verify = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestVerifyRequiredClaims(t *testing.T) {
	key := testKey(t, ES256)
	v := newTestVerifier(t, key.Public())
	full := map[string]any{"iss": testIssuer, "sub": "u", "aud": testAudience, "exp": t0.Add(time.Hour).Unix(),
		"iat": t0.Unix(), "jti": "j", "client_id": "c"}
	for _, missing := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id"} {
		t.Run(missing, func(t *testing.T) {
			m := map[string]any{}
			for k, val := range full {
				if k != missing {
					m[k] = val
				}
			}
			payload, _ := json.Marshal(m)
			raw := craft(t, key, jose.ES256, map[string]any{"kid": key.KeyID, "typ": "at+jwt"}, payload, false)
			if _, err := v.Verify(raw, testOptions()); !errors.Is(err, ErrMissingClaim) {
				t.Errorf("without %s: %v, want ErrMissingClaim", missing, err)
			}
			// Without explicit typing only iss, aud and exp are required.
			opts := testOptions()
			opts.SkipTyp = true
			_, err := v.Verify(raw, opts)
			switch missing {
			case "iss", "aud", "exp":
				if !errors.Is(err, ErrMissingClaim) {
					t.Errorf("SkipTyp without %s: %v, want ErrMissingClaim", missing, err)
				}
			default:
				if err != nil {
					t.Errorf("SkipTyp without %s: %v", missing, err)
				}
			}
		})
	}
}

func TestVerifyTyp(t *testing.T) {
	key := testKey(t, ES256)
	v := newTestVerifier(t, key.Public())
	payload := claimsJSON(t, testClaims())
	tests := []struct {
		typ        any // nil = no typ header
		requireTyp string
		skip       bool
		ok         bool
	}{
		{"at+jwt", "", false, true},
		{"application/at+jwt", "", false, true},
		{"AT+JWT", "", false, true},
		{"Application/At+Jwt", "", false, true},
		{"at+jwt", "application/at+jwt", false, true},
		{"JWT", "", false, false},
		{"jwt", "", false, false},
		{"application/jwt", "", false, false},
		{"at+jwt; charset=x", "", false, false},
		{"text/at+jwt", "", false, false},
		{"application/application/at+jwt", "", false, false},
		{"", "", false, false},
		{nil, "", false, false},
		{42, "", false, false},
		{"JWT", "JWT", false, true},
		{"application/jwt", "JWT", false, true},
		{"at+jwt", "JWT", false, false},
		{nil, "", true, true},
		{"JWT", "", true, true},
	}
	for _, tt := range tests {
		hdr := map[string]any{"kid": key.KeyID}
		if tt.typ != nil {
			hdr["typ"] = tt.typ
		}
		raw := craft(t, key, jose.ES256, hdr, payload, false)
		o := testOptions()
		o.RequireTyp, o.SkipTyp = tt.requireTyp, tt.skip
		_, err := v.Verify(raw, o)
		if tt.ok && err != nil {
			t.Errorf("typ %v require %q skip %v: %v", tt.typ, tt.requireTyp, tt.skip, err)
		}
		if !tt.ok && !errors.Is(err, ErrType) {
			t.Errorf("typ %v require %q skip %v: %v, want ErrType", tt.typ, tt.requireTyp, tt.skip, err)
		}
	}
}

func TestVerifyAttacks(t *testing.T) {
	es := testKey(t, ES256)
	ed := testKey(t, EdDSA)
	rs := testKey(t, RS256)
	v := newTestVerifier(t, es.Public(), ed.Public())
	payload := claimsJSON(t, testClaims())
	good := craft(t, es, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, payload, false)
	if _, err := v.Verify(good, testOptions()); err != nil {
		t.Fatalf("baseline token rejected: %v", err)
	}
	parts := strings.Split(good, ".")
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	esPubJSON, _ := json.Marshal(es.Public()) // the classic HMAC-key-confusion secret
	hdr := func(h map[string]any) string { b, _ := json.Marshal(h); return base64.RawURLEncoding.EncodeToString(b) }
	otherPayload := claimsJSON(t, func() *Claims { c := testClaims(); c.Subject = "admin"; return c }())

	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"alg none", hdr(map[string]any{"alg": "none", "kid": es.KeyID, "typ": "at+jwt"}) + "." + parts[1] + ".", ErrMalformed},
		{"alg none with signature", hdr(map[string]any{"alg": "none", "kid": es.KeyID, "typ": "at+jwt"}) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"HS256 keyed with the public key", craft(t, esPubJSON, jose.HS256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, payload, false), ErrAlgorithm},
		{"RS256 under an EC kid", craft(t, rs.Key, jose.RS256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, payload, false), ErrAlgorithm},
		{"EdDSA header under an EC kid", craft(t, ed.Key, jose.EdDSA, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, payload, false), ErrAlgorithm},
		{"ES384 header on P-256 key", hdr(map[string]any{"alg": "ES384", "kid": es.KeyID, "typ": "at+jwt"}) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"embedded attacker jwk, our kid", craft(t, attacker, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, payload, true), ErrSignature},
		{"embedded attacker jwk, no kid", craft(t, attacker, jose.ES256, map[string]any{"typ": "at+jwt"}, payload, true), ErrUnknownKey},
		{"jku to attacker keys", craft(t, attacker, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt", "jku": "https://evil.example.com/jwks"}, payload, false), ErrSignature},
		{"x5u to attacker cert", craft(t, attacker, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt", "x5u": "https://evil.example.com/cert"}, payload, false), ErrSignature},
		{"attacker key, unknown kid", craft(t, attacker, jose.ES256, map[string]any{"kid": "evil", "typ": "at+jwt"}, payload, false), ErrUnknownKey},
		{"crit header", craft(t, es, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt", "crit": []string{"exp"}, "exp": 1}, payload, false), ErrMalformed},
		{"b64 header", craft(t, es, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt", "b64": true}, payload, false), ErrMalformed},
		{"payload swapped", parts[0] + "." + base64.RawURLEncoding.EncodeToString(otherPayload) + "." + parts[2], ErrSignature},
		{"header swapped (kid of other key)", hdr(map[string]any{"alg": "ES256", "kid": ed.KeyID, "typ": "at+jwt"}) + "." + parts[1] + "." + parts[2], ErrAlgorithm},
		{"header re-encoded", b64(`{"alg":"ES256", "kid":"`+es.KeyID+`","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2], ErrSignature},
		{"signature truncated", parts[0] + "." + parts[1] + "." + parts[2][:40], ErrSignature},
		{"signature of zeros", parts[0] + "." + parts[1] + "." + b64(string(make([]byte, 64))), ErrSignature},
		{"signature empty", parts[0] + "." + parts[1] + ".", ErrMalformed},
		{"payload empty", parts[0] + ".." + parts[2], ErrMalformed},
		{"two segments", parts[0] + "." + parts[1], ErrMalformed},
		{"four segments", good + "." + parts[2], ErrMalformed},
		{"JWE shape", parts[0] + ".." + parts[1] + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"padding", good + "=", ErrMalformed},
		{"trailing newline", good + "\n", ErrMalformed},
		{"embedded newline", parts[0] + "\n." + parts[1] + "." + parts[2], ErrMalformed},
		{"leading space", " " + good, ErrMalformed},
		{"standard base64 alphabet", parts[0] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[1]) + "+/." + parts[2], ErrMalformed},
		{"non-canonical last char", parts[0] + "." + parts[1] + "." + parts[2][:85] + string(parts[2][85]+1), ErrMalformed},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, ErrMalformed},
		{"too long", parts[0] + "." + strings.Repeat("A", MaxTokenLen) + "." + parts[2], ErrMalformed},
		{"empty", "", ErrMalformed},
		{"dots only", "..", ErrMalformed},
		{"header not JSON", b64("not json") + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"header JSON array", b64(`["ES256"]`) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"signed payload not JSON", craft(t, es, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, []byte("hello"), false), ErrMalformed},
		{"signed payload array", craft(t, es, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, []byte(`[1]`), false), ErrMalformed},
		{"signed payload null", craft(t, es, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, []byte(`null`), false), ErrMalformed},
		{"signed aud number", craft(t, es, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, []byte(`{"iss":"`+testIssuer+`","aud":1,"exp":1900000000}`), false), ErrMalformed},
		{"signed exp string", craft(t, es, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, []byte(`{"iss":"`+testIssuer+`","aud":"`+testAudience+`","exp":"1900000000"}`), false), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(tt.raw, testOptions())
			if !errors.Is(err, tt.want) || got != nil {
				t.Errorf("Verify = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestNewVerifier(t *testing.T) {
	es, ed, rs := testKey(t, ES256), testKey(t, EdDSA), testKey(t, RS256)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	enc := rs.Public()
	enc.Use, enc.KeyID, enc.Algorithm = "enc", "enc-key", "RSA-OAEP"
	noKID := es.Public()
	noKID.KeyID = ""
	tests := []struct {
		name string
		keys []jose.JSONWebKey
		ok   bool
	}{
		{"public keys", []jose.JSONWebKey{es.Public(), ed.Public(), rs.Public()}, true},
		{"private keys", []jose.JSONWebKey{es, ed}, true},
		{"enc key skipped", []jose.JSONWebKey{es.Public(), enc}, true},
		{"key without kid", []jose.JSONWebKey{noKID}, true},
		{"empty", nil, false},
		{"only enc keys", []jose.JSONWebKey{enc}, false},
		{"duplicate kid", []jose.JSONWebKey{es.Public(), es.Public()}, false},
		{"two keys without kid", []jose.JSONWebKey{noKID, func() jose.JSONWebKey { k := ed.Public(); k.KeyID = ""; return k }()}, false},
		{"hmac", []jose.JSONWebKey{{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "h"}}, false},
		{"rsa 1024", []jose.JSONWebKey{{Key: &small.PublicKey, KeyID: "small"}}, false},
		{"alg does not fit key", []jose.JSONWebKey{func() jose.JSONWebKey { k := es.Public(); k.Algorithm = "RS256"; return k }()}, false},
		{"nil key", []jose.JSONWebKey{{KeyID: "x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.keys...)
			if tt.ok != (err == nil) {
				t.Fatalf("NewVerifier = %v, %v; ok want %v", v, err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, ErrUnsupportedKey) {
				t.Errorf("error %v does not wrap ErrUnsupportedKey", err)
			}
		})
	}
}

func TestVerifyKeySelection(t *testing.T) {
	es, rs := testKey(t, ES256), testKey(t, RS256)
	payload := claimsJSON(t, testClaims())
	typ := map[string]any{"typ": "at+jwt"}
	withKID := func(kid string) map[string]any { return map[string]any{"typ": "at+jwt", "kid": kid} }
	rsRS256Only := rs.Public()
	rsRS256Only.Algorithm = RS256
	rsAny := rs.Public()
	rsAny.Algorithm = ""
	noKID := es.Public()
	noKID.KeyID = ""
	tests := []struct {
		name string
		keys []jose.JSONWebKey
		raw  string
		want error
	}{
		{"no kid, single key", []jose.JSONWebKey{es.Public()}, craft(t, es.Key, jose.ES256, typ, payload, false), nil},
		{"no kid, key without kid", []jose.JSONWebKey{noKID}, craft(t, es.Key, jose.ES256, typ, payload, false), nil},
		{"no kid, two keys", []jose.JSONWebKey{es.Public(), rs.Public()}, craft(t, es.Key, jose.ES256, typ, payload, false), ErrUnknownKey},
		{"kid, key without kid", []jose.JSONWebKey{noKID}, craft(t, es.Key, jose.ES256, withKID(es.KeyID), payload, false), ErrUnknownKey},
		{"RSA key without alg takes PS256", []jose.JSONWebKey{rsAny}, craft(t, rs.Key, jose.PS256, withKID(rs.KeyID), payload, false), nil},
		{"RSA key without alg takes RS512", []jose.JSONWebKey{rsAny}, craft(t, rs.Key, jose.RS512, withKID(rs.KeyID), payload, false), nil},
		{"RSA key with alg RS256 refuses PS256", []jose.JSONWebKey{rsRS256Only, es.Public()}, craft(t, rs.Key, jose.PS256, withKID(rs.KeyID), payload, false), ErrAlgorithm},
		{"RSA key with alg RS256 takes RS256", []jose.JSONWebKey{rsRS256Only}, craft(t, rs.Key, jose.RS256, withKID(rs.KeyID), payload, false), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestVerifier(t, tt.keys...).Verify(tt.raw, testOptions())
			if (tt.want == nil && err != nil) || !errors.Is(err, tt.want) {
				t.Errorf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckCompact(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{"AAAA.AAAA.AAAA", true},
		{"AA.AAA.AAAA", true},
		{"AQ.AQE.AAAA", true},
		{"AB.AAA.AAAA", false}, // 2-char segment with non-zero low bits
		{"AA.AAB.AAAA", false}, // 3-char segment with non-zero low bits
		{"A.AAA.AAAA", false},  // length 1 mod 4
		{"AAAAA.AAA.AAAA", false},
		{"AA.AA", false},
		{"AA.AA.AA.AA", false},
		{"AA..AA", false},
		{"AA.A=.AA", false},
		{"AA.A+.AA", false},
	}
	for _, tt := range tests {
		err := checkCompact(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("checkCompact(%q) = %v, want ok=%v", tt.raw, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("checkCompact(%q) = %v, not ErrMalformed", tt.raw, err)
		}
	}
}

func pub(k jose.JSONWebKey) jose.JSONWebKey { return k.Public() }

func TestConcurrentSignVerify(t *testing.T) {
	s := newTestSigner(t, ES256)
	v := newTestVerifier(t, s.PublicKey())
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				var raw string
				if raw, err = s.Sign(testClaims()); err != nil {
					break
				}
				if _, err = v.Verify(raw, testOptions()); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
