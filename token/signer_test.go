package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestSignMatchesGoJose: for every algorithm, a token verifies with plain
// go-jose and the public key, carries the claims' encoding as its payload,
// and has exactly the protected header go-jose writes for the same key.
func TestSignMatchesGoJose(t *testing.T) {
	for _, alg := range []string{ES256, ES384, ES512, EdDSA, RS256, RS384, RS512, PS256, PS384, PS512} {
		t.Run(alg, func(t *testing.T) {
			var key jose.JSONWebKey
			switch alg {
			case RS384, RS512, PS256, PS384, PS512:
				key = testKey(t, RS256) // one RSA key serves every RSA algorithm
				key.Algorithm = alg
			default:
				key = testKey(t, alg)
			}
			s, err := NewSigner(key, &SignerOptions{Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			c := testClaims()
			c.Extra = map[string]any{"sid": "grant-1", "auth_time": int64(1_799_999_000)}
			raw, err := s.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify(s.PublicKey().Key)
			if err != nil {
				t.Fatalf("go-jose does not verify the token: %v", err)
			}
			want, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(payload, want) {
				t.Errorf("payload %s, want %s", payload, want)
			}

			ref := craft(t, jose.JSONWebKey{Key: key.Key, KeyID: s.KeyID()}, jose.SignatureAlgorithm(alg),
				map[string]any{"typ": TypAccessToken}, want, false)
			gotHeader, _, _ := strings.Cut(raw, ".")
			wantHeader, _, _ := strings.Cut(ref, ".")
			if gotHeader != wantHeader {
				t.Errorf("protected header %s, go-jose writes %s", gotHeader, wantHeader)
			}
			if len(raw) != len(ref) {
				t.Errorf("token length %d, go-jose's %d", len(raw), len(ref))
			}
		})
	}
}

// TestEcdsaRawSignatureRejects: a signature that is not one ASN.1 sequence
// of two integers that fit the curve is an error, not a token.
func TestEcdsaRawSignatureRejects(t *testing.T) {
	for name, der := range map[string][]byte{
		"empty":          {},
		"not a sequence": {0x02, 0x01, 0x01},
		"one integer":    {0x30, 0x03, 0x02, 0x01, 0x01},
		"trailing bytes": {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00},
		"too long":       append([]byte{0x30, 0x25, 0x02, 0x21, 0x01}, append(bytes.Repeat([]byte{1}, 32), 0x02, 0x01, 0x01)...),
	} {
		if _, err := ecdsaRawSignature(der, 32); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	got, err := ecdsaRawSignature([]byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07}, 4)
	if err != nil || !bytes.Equal(got, []byte{0, 0, 0, 5, 0, 0, 0, 7}) {
		t.Errorf("ecdsaRawSignature = %x, %v; want 0000000500000007", got, err)
	}
}

// referenceClaimsJSON is the claims encoding done with encoding/json: the
// registered claims as a struct with omitempty, then the Extra map spliced
// in. MarshalJSON must produce the same bytes.
func referenceClaimsJSON(c *Claims) ([]byte, error) {
	type wire struct {
		Iss      string          `json:"iss,omitempty"`
		Sub      string          `json:"sub,omitempty"`
		Aud      json.RawMessage `json:"aud,omitempty"`
		Exp      int64           `json:"exp,omitempty"`
		Iat      int64           `json:"iat,omitempty"`
		Nbf      int64           `json:"nbf,omitempty"`
		Jti      string          `json:"jti,omitempty"`
		ClientID string          `json:"client_id,omitempty"`
		Scope    string          `json:"scope,omitempty"`
	}
	w := wire{Iss: c.Issuer, Sub: c.Subject, Jti: c.ID, ClientID: c.ClientID, Scope: c.Scope}
	var err error
	switch len(c.Audience) {
	case 0:
	case 1:
		w.Aud, err = json.Marshal(c.Audience[0])
	default:
		w.Aud, err = json.Marshal(c.Audience)
	}
	if err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		t    time.Time
		dst  *int64
	}{{"exp", c.ExpiresAt, &w.Exp}, {"iat", c.IssuedAt, &w.Iat}, {"nbf", c.NotBefore, &w.Nbf}} {
		if *d.dst, err = numericDate(d.name, d.t); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(&w)
	if err != nil || len(c.Extra) == 0 {
		return b, err
	}
	for k := range c.Extra {
		if registered[k] {
			return nil, fmt.Errorf("%w: %q", ErrReservedClaim, k)
		}
	}
	extra, err := json.Marshal(c.Extra)
	if err != nil {
		return nil, err
	}
	out := b[:len(b)-1]
	if len(out) > 1 {
		out = append(out, ',')
	}
	return append(out, extra[1:]...), nil
}

func TestClaimsMarshalMatchesEncodingJSON(t *testing.T) {
	for _, c := range []Claims{
		{},
		*testClaims(),
		{Issuer: "https://as.example.com", Subject: "alice", Audience: []string{"https://rs.example.com/mcp"}, ExpiresAt: t1, IssuedAt: t0,
			ID: "01234567890123456789ab", ClientID: "c-1", Scope: "mcp:read mcp:write",
			Extra: map[string]any{"sid": "grant", "auth_time": int64(1_799_000_000), "email": "a@b.example", "roles": []any{"admin", "ops"},
				"n": 1.5, "big": 1e21, "ok": true, "nil": nil, "i": -7, "obj": map[string]any{"b": 1, "a": "<&>"}}},
		{Subject: "é\u2028<script>&\"\\\x01\xff", Audience: []string{"", "a\tb"}, Scope: " "},
		{Audience: []string{""}},
		{Extra: map[string]any{"<k>": "v", "é": "\xff", "": ""}},
	} {
		got, gerr := c.MarshalJSON()
		want, werr := referenceClaimsJSON(&c)
		if (gerr != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Errorf("MarshalJSON(%+v) = %s, %v; encoding/json: %s, %v", c, got, gerr, want, werr)
		}
	}
}

// FuzzClaimsMarshal: the hand-written encoding equals encoding/json's for
// any claims, and decodes back to them.
func FuzzClaimsMarshal(f *testing.F) {
	f.Add("https://as", "alice", "https://rs", "", int64(1_800_000_000), "c-1", "read write", "email", "a@b", 1.5)
	f.Add("\x00<>&", "é\u2028", "", "b", int64(0), "", "", "sub", "\xff", math.Inf(1))
	f.Fuzz(func(t *testing.T, iss, sub, aud1, aud2 string, exp int64, client, scope, extraKey, extraStr string, extraNum float64) {
		c := Claims{Issuer: iss, Subject: sub, ClientID: client, Scope: scope, ID: aud2}
		if aud1 != "" {
			c.Audience = append(c.Audience, aud1)
		}
		if aud2 != "" {
			c.Audience = append(c.Audience, aud2)
		}
		if exp != 0 && exp > -1e12 && exp <= maxNumericDate {
			c.ExpiresAt = time.Unix(exp, 0)
		}
		if extraKey != "" {
			c.Extra = map[string]any{extraKey: extraStr, extraKey + "n": extraNum, extraKey + "l": []any{extraStr, exp}}
		}
		got, gerr := c.MarshalJSON()
		want, werr := referenceClaimsJSON(&c)
		if (gerr != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("MarshalJSON = %s, %v; encoding/json: %s, %v", got, gerr, want, werr)
		}
		if gerr != nil {
			return
		}
		var back Claims
		if err := back.UnmarshalJSON(got); err != nil {
			t.Fatalf("UnmarshalJSON(%s): %v", got, err)
		}
	})
}
