package token

import (
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The benchmarks put this package next to go-jose doing the same work, so the
// overhead can be read directly:
//
//	token       this package (claims encoding/decoding and checks included)
//	go-jose     jose.Signer.Sign + CompactSerialize of the same payload bytes /
//	            jose.ParseSignedCompact + Verify with the key (no claims work)
//	go-jose-jwt the go-jose/jwt package: ParseSigned + Claims + Validate, the
//	            usual way to verify a JWT with go-jose

func benchClaims() *Claims {
	c := testClaims()
	c.IssuedAt = t0
	c.ID = "01234567890123456789ab"
	return c
}

func benchSign(b *testing.B, alg string) {
	key := testKey(b, alg)
	s := newTestSigner(b, alg)
	c := benchClaims()
	b.Run("token", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cc := *c
			if _, err := s.Sign(&cc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-jose", func(b *testing.B) {
		payload, err := c.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: key.Key, KeyID: key.KeyID}},
			(&jose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			obj, err := js.Sign(payload)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := obj.CompactSerialize(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchVerify(b *testing.B, alg string) {
	key := testKey(b, alg)
	public := key.Public()
	s := newTestSigner(b, alg)
	raw, err := s.Sign(benchClaims())
	if err != nil {
		b.Fatal(err)
	}
	opts := testOptions()
	algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
	b.Run("token", func(b *testing.B) {
		// A realistic set: the current key and two others.
		set := []jose.JSONWebKey{public}
		for _, other := range []string{ES256, EdDSA, RS256} {
			if other != alg {
				set = append(set, pub(testKey(b, other)))
			}
		}
		v := newTestVerifier(b, set...)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(raw, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-jose", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(raw, algs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(public.Key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-jose-jwt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tok, err := jwt.ParseSigned(raw, algs)
			if err != nil {
				b.Fatal(err)
			}
			var c jwt.Claims
			var extra struct {
				ClientID string `json:"client_id"`
				Scope    string `json:"scope"`
			}
			if err := tok.Claims(public.Key, &c, &extra); err != nil {
				b.Fatal(err)
			}
			if err := c.ValidateWithLeeway(jwt.Expected{Issuer: testIssuer, AnyAudience: jwt.Audience{testAudience}, Time: opts.Now}, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSignES256(b *testing.B)   { benchSign(b, ES256) }
func BenchmarkSignEdDSA(b *testing.B)   { benchSign(b, EdDSA) }
func BenchmarkSignRS256(b *testing.B)   { benchSign(b, RS256) }
func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, ES256) }
func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, EdDSA) }
func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, RS256) }

// BenchmarkVerifyReject measures the cost of refusing garbage and foreign
// tokens, which must stay far below a signature check.
func BenchmarkVerifyReject(b *testing.B) {
	v := newTestVerifier(b, pub(testKey(b, ES256)))
	foreign, err := newTestSigner(b, EdDSA).Sign(benchClaims())
	if err != nil {
		b.Fatal(err)
	}
	for name, raw := range map[string]string{
		"garbage":     strings.Repeat("x", 600),
		"unknown-kid": foreign,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(raw, testOptions()); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	es, ed := testKey(f, ES256), testKey(f, EdDSA)
	v := newTestVerifier(f, pub(es), pub(ed))
	valid := map[string]bool{}
	for _, alg := range []string{ES256, EdDSA} {
		raw, err := newTestSigner(f, alg).Sign(benchClaims())
		if err != nil {
			f.Fatal(err)
		}
		valid[raw] = true
		f.Add(raw)
		p := strings.Split(raw, ".")
		f.Add(p[0] + "." + p[1] + ".")
		f.Add(p[0] + ".." + p[2])
		f.Add(p[0] + "." + p[1] + "." + p[2][:len(p[2])-2])
	}
	payload := claimsJSON(f, testClaims())
	f.Add(craft(f, es.Key, jose.ES256, map[string]any{"kid": es.KeyID, "typ": "at+jwt", "crit": []string{"x"}, "x": 1}, payload, false))
	f.Add(craft(f, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, map[string]any{"kid": es.KeyID, "typ": "at+jwt"}, payload, false))
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Add("")
	f.Add("...")
	sentinels := []error{ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrType, ErrIssuer,
		ErrAudience, ErrExpired, ErrNotYetValid, ErrMissingClaim}
	f.Fuzz(func(t *testing.T, raw string) {
		opts := testOptions()
		c, err := v.Verify(raw, opts)
		if err == nil {
			if !valid[raw] {
				t.Fatalf("Verify accepted a token that was never signed: %q", raw)
			}
			if c == nil || c.Issuer != testIssuer || !c.HasAudience(testAudience) {
				t.Fatalf("accepted claims %+v", c)
			}
			return
		}
		if c != nil {
			t.Fatal("claims returned with an error")
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v wraps no sentinel", err)
	})
}
