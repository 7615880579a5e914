package jwks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/frontmcp-go/frontmcp/token"
)

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withMember returns the JSON of key with one member added or replaced.
func withMember(t testing.TB, key jose.JSONWebKey, name string, value any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, key)), &m); err != nil {
		t.Fatal(err)
	}
	if value == nil {
		delete(m, name)
	} else {
		m[name] = value
	}
	return mustJSON(t, m)
}

// TestParse checks which keys of a JWK Set are used and which are left out.
func TestParse(t *testing.T) {
	gen := func(alg string) jose.JSONWebKey {
		k, err := token.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	es, ed, rs := gen(token.ES256), gen(token.EdDSA), gen(token.RS256)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224JSON := fmt.Sprintf(`{"kty":"EC","crv":"P-224","kid":"p224","x":%q,"y":%q}`,
		base64.RawURLEncoding.EncodeToString(p224.X.Bytes()), base64.RawURLEncoding.EncodeToString(p224.Y.Bytes()))
	pubES, pubED, pubRS := mustJSON(t, es.Public()), mustJSON(t, ed.Public()), mustJSON(t, rs.Public())
	tests := []struct {
		name     string
		set      string
		wantKIDs []string // usable
		skipped  []Skipped
		wantErr  bool
	}{
		{name: "three algorithms", set: `{"keys":[` + pubES + `,` + pubED + `,` + pubRS + `]}`,
			wantKIDs: []string{es.KeyID, ed.KeyID, rs.KeyID}},
		{name: "private key", set: `{"keys":[` + mustJSON(t, es) + `,` + pubED + `]}`, wantKIDs: []string{ed.KeyID},
			skipped: []Skipped{{es.KeyID, `holds private or symmetric key material ("d")`}}},
		{name: "symmetric key", set: `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},` + pubES + `]}`,
			wantKIDs: []string{es.KeyID}, skipped: []Skipped{{"h", `holds private or symmetric key material ("k")`}}},
		{name: "encryption key", set: `{"keys":[` + withMember(t, es.Public(), "use", "enc") + `,` + pubED + `]}`,
			wantKIDs: []string{ed.KeyID}, skipped: []Skipped{{es.KeyID, `"use" is not "sig"`}}},
		{name: "key_ops without verify", set: `{"keys":[` + withMember(t, es.Public(), "key_ops", []string{"encrypt"}) + `,` + pubED + `]}`,
			wantKIDs: []string{ed.KeyID}, skipped: []Skipped{{es.KeyID, `"key_ops" does not include "verify"`}}},
		{name: "key_ops with verify", set: `{"keys":[` + withMember(t, es.Public(), "key_ops", []string{"verify"}) + `]}`,
			wantKIDs: []string{es.KeyID}},
		{name: "no use member", set: `{"keys":[` + withMember(t, es.Public(), "use", nil) + `]}`, wantKIDs: []string{es.KeyID}},
		{name: "weak RSA", set: `{"keys":[` + mustJSON(t, jose.JSONWebKey{Key: &weak.PublicKey, KeyID: "weak"}) + `,` + pubES + `]}`,
			wantKIDs: []string{es.KeyID}, skipped: []Skipped{{"weak", `key "weak": token: unsupported key: RSA keys need at least 2048 bits`}}},
		{name: "P-224", set: `{"keys":[` + p224JSON + `,` + pubES + `]}`,
			wantKIDs: []string{es.KeyID}, skipped: []Skipped{{"p224", "unreadable"}}},
		{name: "alg that does not fit", set: `{"keys":[` + withMember(t, es.Public(), "alg", "HS256") + `,` + pubED + `]}`,
			wantKIDs: []string{ed.KeyID}, skipped: []Skipped{{es.KeyID, "does not fit"}}},
		{name: "duplicate kid", set: `{"keys":[` + pubES + `,` + withMember(t, ed.Public(), "kid", es.KeyID) + `,` + pubRS + `]}`,
			wantKIDs: []string{rs.KeyID}, skipped: []Skipped{{es.KeyID, "more than one"}, {es.KeyID, "more than one"}}},
		{name: "unknown kty", set: `{"keys":[{"kty":"XYZ","kid":"x"},` + pubES + `]}`,
			wantKIDs: []string{es.KeyID}, skipped: []Skipped{{"x", "unreadable"}}},
		{name: "not an object", set: `{"keys":[42,` + pubES + `]}`, wantKIDs: []string{es.KeyID}, skipped: []Skipped{{"", "not a JSON object"}}},
		{name: "kid not a string", set: `{"keys":[{"kty":"EC","kid":7}]}`, skipped: []Skipped{{"", `"kid" is not a string`}}, wantErr: true},
		{name: "no usable key", set: `{"keys":[` + mustJSON(t, es) + `]}`, skipped: []Skipped{{es.KeyID, "private"}}, wantErr: true},
		{name: "empty set", set: `{"keys":[]}`, wantErr: true},
		{name: "no keys member", set: `{"jwks":[]}`, wantErr: true},
		{name: "array", set: `[` + pubES + `]`, wantErr: true},
		{name: "garbage", set: `<html>`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, skipped, err := Parse([]byte(tt.set))
			if tt.wantErr {
				if !errors.Is(err, ErrNoKeys) {
					t.Errorf("Parse error %v, want ErrNoKeys", err)
				}
			} else if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, kid := range tt.wantKIDs {
				if !v.HasKey(kid) {
					t.Errorf("key %q not usable", kid)
				}
			}
			if len(skipped) != len(tt.skipped) {
				t.Fatalf("skipped %+v, want %+v", skipped, tt.skipped)
			}
			for i, want := range tt.skipped {
				if skipped[i].KeyID != want.KeyID || !strings.Contains(skipped[i].Reason, want.Reason) {
					t.Errorf("skipped[%d] = %+v, want kid %q and a reason containing %q", i, skipped[i], want.KeyID, want.Reason)
				}
			}
		})
	}
}

// TestStatic checks that an inline key set serves its keys and that one
// unusable key fails it at construction.
func TestStatic(t *testing.T) {
	k, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStatic([]byte(fmt.Sprintf(`{"keys":[%s]}`, mustJSON(t, k.Public()))))
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.Keys(t.Context())
	if err != nil || !v.HasKey(k.KeyID) {
		t.Fatalf("Keys = %v, %v", v, err)
	}
	if v2, err := st.Refresh(t.Context(), v); err != nil || v2 != v {
		t.Errorf("Refresh = %v, %v; want the same keys", v2, err)
	}
	_, err = NewStatic([]byte(fmt.Sprintf(`{"keys":[%s,%s]}`, mustJSON(t, k.Public()), mustJSON(t, k))))
	if diff := cmp.Diff(true, err != nil && strings.Contains(err.Error(), "private")); diff != "" {
		t.Errorf("NewStatic with a private key: %v", err)
	}
}

// FuzzParse feeds arbitrary key sets to Parse: it must not panic, and every
// key it keeps must be a public signature key.
func FuzzParse(f *testing.F) {
	k, err := token.GenerateKey(token.ES256)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(fmt.Sprintf(`{"keys":[%s]}`, mustJSON(f, k.Public()))))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"a"},{"kty":"EC","crv":"P-256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, skipped, err := Parse(data)
		if err != nil {
			if v != nil {
				t.Fatal("Parse returned keys and an error")
			}
			return
		}
		if v == nil {
			t.Fatalf("Parse returned neither keys nor an error (skipped %v)", skipped)
		}
	})
}
