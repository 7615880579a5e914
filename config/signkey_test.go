package config

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/frontmcp-go/frontmcp/keys"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// genKey returns a new private signing key for alg and its JWK JSON, as
// "frontmcp keys generate" prints it.
func genKey(t *testing.T, alg string) (jose.JSONWebKey, string) {
	t.Helper()
	k, err := keys.Generate(alg, "")
	if err != nil {
		t.Fatal(err)
	}
	return k, marshalJWK(t, k)
}

func marshalJWK(t *testing.T, k jose.JSONWebKey) string {
	t.Helper()
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// publicJWK returns the JSON of the public half of k.
func publicJWK(t *testing.T, k jose.JSONWebKey) string {
	t.Helper()
	return marshalJWK(t, k.Public())
}

// rsa1024 returns the JSON of a private RSA key of 1024 bits, below the
// minimum.
func rsa1024(t *testing.T) string {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return marshalJWK(t, jose.JSONWebKey{Key: rk, Algorithm: "RS256"})
}

// jwkMembers decodes a JWK's members.
func jwkMembers(t *testing.T, raw string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// withMember returns the JWK raw with member name set to value.
func withMember(t *testing.T, raw, name string, value any) string {
	t.Helper()
	m := jwkMembers(t, raw)
	m[name] = value
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// yamlMapping writes a JWK as the lines of a YAML block mapping at indent.
// JSON strings are YAML double-quoted scalars.
func yamlMapping(t *testing.T, raw, indent string) []string {
	t.Helper()
	m := jwkMembers(t, raw)
	var out []string
	for _, name := range slices.Sorted(maps.Keys(m)) {
		v, err := json.Marshal(m[name])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, indent+name+": "+string(v))
	}
	return out
}

// privateValues returns the values of the private members of a JWK, or of
// the JWKs inside a JSON value (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
func privateValues(t *testing.T, raw string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for name, m := range v {
				if s, ok := m.(string); ok && privateJWKMembers[name] {
					out = append(out, s)
				}
				walk(m)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	if len(out) == 0 {
		t.Fatalf("JSON without private JWK members: %s", raw)
	}
	return out
}

// writeSecret writes a secret file ending in a newline, as Docker and
// Kubernetes mount them.
func writeSecret(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// assertNoPrivate fails when text contains a private member of a JWK.
func assertNoPrivate(t *testing.T, what, text string, jwks ...string) {
	t.Helper()
	for _, raw := range jwks {
		for _, v := range privateValues(t, raw) {
			if strings.Contains(text, v) {
				t.Errorf("%s contains private key material %q:\n%s", what, v, text)
			}
		}
	}
}

// A signing key is accepted as a JSON string, a YAML mapping,
// JWT_SIGNING_KEY and JWT_SIGNING_KEY_FILE, for each key type, and loads as
// the same key; the redacted configuration shows its fingerprint only.
func TestSignKeyAccepted(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		k, raw := genKey(t, alg)
		orchestrated := []string{"auth:", "  mode: orchestrated"}
		inFile := append(slices.Clone(orchestrated), "  local:", "    signKey:")
		forms := []struct {
			name       string
			yaml       string
			env        map[string]string
			wantSource string
		}{
			{"JSON string", lines(append(orchestrated, "  local:", "    signKey: '"+raw+"'")...), nil, ""},
			{"YAML mapping", lines(append(inFile, yamlMapping(t, raw, "      ")...)...), nil, ""},
			{"JWT_SIGNING_KEY", lines(orchestrated...), map[string]string{"JWT_SIGNING_KEY": raw}, "env JWT_SIGNING_KEY"},
			{"JWT_SIGNING_KEY_FILE", lines(orchestrated...), map[string]string{"JWT_SIGNING_KEY_FILE": writeSecret(t, raw)}, "env JWT_SIGNING_KEY_FILE"},
		}
		for _, f := range forms {
			t.Run(alg+"/"+f.name, func(t *testing.T) {
				c, err := Parse([]byte(f.yaml), "c.yaml", envOpts(f.env))
				if err != nil {
					t.Fatal(err)
				}
				got, err := keys.ParsePrivate(c.Auth.Local.SignKey)
				if err != nil {
					t.Fatalf("ParsePrivate(loaded signKey): %v", err)
				}
				same, ok := got.Key.(interface{ Equal(crypto.PrivateKey) bool })
				if !ok || !same.Equal(k.Key) {
					t.Errorf("loaded key %T differs from the generated one", got.Key)
				}
				if got.KeyID != k.KeyID || got.Algorithm != alg {
					t.Errorf("kid/alg = %q/%q, want %q/%q", got.KeyID, got.Algorithm, k.KeyID, alg)
				}
				if src := c.Sources()["auth.local.signKey"]; src != f.wantSource {
					t.Errorf("source = %q, want %q", src, f.wantSource)
				}
				out, err := c.Redacted()
				if err != nil {
					t.Fatal(err)
				}
				assertNoPrivate(t, "Redacted output", string(out), raw)
				if want := "signKey: '" + fingerprint(string(c.Auth.Local.SignKey)) + "'"; !strings.Contains(string(out), want) {
					t.Errorf("Redacted output lacks %q:\n%s", want, out)
				}
			})
		}
	}
}

// Each unusable signing key is refused naming auth.local.signKey, the
// problem and the line, whether it comes from the file or from
// JWT_SIGNING_KEY, and no private member reaches the error text.
func TestSignKeyRefused(t *testing.T) {
	ec, ecRaw := genKey(t, "ES256")
	_, edRaw := genKey(t, "EdDSA")
	tests := []struct {
		name string
		key  string
		msg  string
		kind error
	}{
		{"not JSON", "not-json", `expected a JSON object such as a JWK ({"kty": ...})`, ErrType},
		{"JSON array", `[` + ecRaw + `]`, `expected a JSON object such as a JWK ({"kty": ...})`, ErrType},
		{"kty oct", `{"kty":"oct","k":"c2VjcmV0"}`,
			`kty "oct" is a shared secret; access tokens are signed with asymmetric keys (EC, OKP or RSA)`, ErrValue},
		{"kty missing", withMember(t, ecRaw, "kty", ""), `missing "kty"`, ErrValue},
		{"OKP curve other than Ed25519", withMember(t, edRaw, "crv", "X25519"),
			`OKP curve "X25519" is not supported (use Ed25519)`, ErrValue},
		{"public key only", publicJWK(t, ec), `the JWK has no private part ("d"): this is a public key`, ErrValue},
		{"unknown alg", withMember(t, ecRaw, "alg", "ES257"),
			`unknown alg "ES257" (supported: [ES256 ES384 ES512 EdDSA RS256 RS384 RS512 PS256 PS384 PS512])`, ErrValue},
		{"RSA alg on an EC key", withMember(t, ecRaw, "alg", "RS256"),
			`token: unsupported key: algorithm "RS256" does not fit the key type`, ErrValue},
		{"EC alg of another curve", withMember(t, ecRaw, "alg", "ES384"),
			`token: unsupported key: algorithm "ES384" does not fit the key type`, ErrValue},
		{"RSA of 1024 bits", rsa1024(t), "RSA key of 1024 bits is too weak (at least 2048)", ErrValue},
	}
	for _, tt := range tests {
		// The file sets the key at line 3; a key from JWT_SIGNING_KEY is
		// reported at the auth section (line 1), or, when it is not a JSON
		// object, with the variable's name.
		fileYAML := lines("auth:", "  local:", "    signKey: '"+tt.key+"'")
		envWant := &Error{Path: "auth.local.signKey", Line: 1, Msg: tt.msg, Err: tt.kind}
		if tt.kind == ErrType {
			envWant.Line, envWant.Msg = 0, tt.msg+" (from JWT_SIGNING_KEY)"
		}
		for _, v := range []struct {
			name string
			yaml string
			env  map[string]string
			want *Error
		}{
			{"file", fileYAML, nil, &Error{Path: "auth.local.signKey", Line: 3, Msg: tt.msg, Err: tt.kind}},
			{"JWT_SIGNING_KEY", lines("auth:", "  mode: orchestrated"), map[string]string{"JWT_SIGNING_KEY": tt.key}, envWant},
		} {
			t.Run(tt.name+"/"+v.name, func(t *testing.T) {
				c, err := Parse([]byte(v.yaml), "c.yaml", envOpts(v.env))
				if c != nil {
					t.Fatal("Parse returned a config with an error")
				}
				if diff := diffErrors(Errors{v.want}, asErrors(t, err)); diff != "" {
					t.Errorf("errors mismatch (-want +got):\n%s", diff)
				}
				if !errors.Is(err, tt.kind) {
					t.Errorf("errors.Is(err, %v) = false", tt.kind)
				}
				if strings.Contains(tt.key, `"d"`) {
					assertNoPrivate(t, "error", err.Error(), tt.key)
				}
			})
		}
	}
}

func TestVerifyKeys(t *testing.T) {
	ec, _ := genKey(t, "ES256")
	ed, edRaw := genKey(t, "EdDSA")
	rs, _ := genKey(t, "RS256")
	_, signRaw := genKey(t, "ES256")
	ecPub, rsPub := publicJWK(t, ec), publicJWK(t, rs)

	t.Run("public and private keys accepted", func(t *testing.T) {
		yaml := lines(append([]string{
			"auth:",
			"  local:",
			"    signKey: '" + signRaw + "'",
			"    verifyKeys:",
			"      - '" + ecPub + "'",
			"      - '" + edRaw + "'",
			"      -",
		}, yamlMapping(t, rsPub, "        ")...)...)
		c, err := Parse([]byte(yaml), "c.yaml", envOpts(nil))
		if err != nil {
			t.Fatal(err)
		}
		var kids []string
		for _, raw := range c.Auth.Local.VerifyKeys {
			pub, err := keys.ParseVerify(raw)
			if err != nil {
				t.Fatalf("ParseVerify(%s): %v", raw, err)
			}
			if !pub.IsPublic() {
				t.Errorf("ParseVerify returned a private key")
			}
			kids = append(kids, pub.KeyID)
		}
		if diff := cmp.Diff([]string{ec.KeyID, ed.KeyID, rs.KeyID}, kids); diff != "" {
			t.Errorf("verify key ids mismatch (-want +got):\n%s", diff)
		}
		if _, err := keys.ParsePrivate(c.Auth.Local.SignKey); err != nil {
			t.Errorf("signKey next to verifyKeys: %v", err)
		}
		out, err := c.Redacted()
		if err != nil {
			t.Fatal(err)
		}
		assertNoPrivate(t, "Redacted output", string(out), signRaw, edRaw)
		for _, public := range []string{jwkMembers(t, ecPub)["x"].(string), jwkMembers(t, rsPub)["n"].(string)} {
			if !strings.Contains(string(out), public) {
				t.Errorf("Redacted output lacks the public member %q", public)
			}
		}
	})

	refused := lines(
		"auth:",                                  // 1
		"  local:",                               // 2
		"    verifyKeys:",                        // 3
		"      - '"+ecPub+"'",                    // 4
		"      - {use: sig}",                     // 5
		`      - '{"kty":"oct","k":"c2VjcmV0"}'`, // 6
		"      - {kty: EC}",                      // 7
		"      - '"+rsa1024(t)+"'",               // 8
		"      - not-json",                       // 9
	)
	_, err := Parse([]byte(refused), "c.yaml", envOpts(nil))
	want := Errors{
		{Path: "auth.local.verifyKeys[1]", Line: 5, Msg: "go-jose/go-jose: missing json web key type", Err: ErrValue},
		{Path: "auth.local.verifyKeys[2]", Line: 6, Msg: "not a usable public key", Err: ErrValue},
		{Path: "auth.local.verifyKeys[3]", Line: 7, Msg: "go-jose/go-jose: unsupported key type, format, curve, or RSA modulus size", Err: ErrValue},
		{Path: "auth.local.verifyKeys[4]", Line: 8, Msg: `key "": token: unsupported key: RSA keys need at least 2048 bits`, Err: ErrValue},
		{Path: "auth.local.verifyKeys[5]", Line: 9, Msg: `expected a JSON object such as a JWK ({"kty": ...})`, Err: ErrType},
	}
	if diff := diffErrors(want, asErrors(t, err)); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

// Rotation applies to generated keys only, and publishes the next key
// beside the current one, so it needs room for two.
func TestKeyRotationSettings(t *testing.T) {
	_, raw := genKey(t, "ES256")
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want func(*Local) // applied to the defaults when the config loads
		errs Errors
	}{
		{name: "rotation of generated keys", yaml: lines("auth:", "  local:", "    keyRotationDays: 30", "    maxKeys: 2"),
			want: func(l *Local) { l.KeyRotationDays, l.MaxKeys = 30, 2 }},
		{name: "defaults written out", yaml: lines("auth:", "  local:", "    keyRotationDays: 0", "    maxKeys: 3"),
			want: func(*Local) {}},
		{name: "one key without rotation", yaml: lines("auth:", "  local:", "    maxKeys: 1"),
			want: func(l *Local) { l.MaxKeys = 1 }},
		{name: "signKey without rotation", yaml: lines("auth:", "  local:", "    signKey: '"+raw+"'", "    maxKeys: 5"),
			want: func(l *Local) { l.SignKey, l.MaxKeys = json.RawMessage(raw), 5 }},
		{name: "rotation with signKey", yaml: lines("auth:", "  local:", "    signKey: '"+raw+"'", "    keyRotationDays: 30"),
			errs: Errors{{Path: "auth.local.keyRotationDays", Line: 4, Err: ErrValue,
				Msg: "rotates generated keys only; with signKey, rotate by hand: put the old key in verifyKeys and a new signKey"}}},
		{name: "rotation with JWT_SIGNING_KEY", yaml: lines("auth:", "  local:", "    keyRotationDays: 7"),
			env: map[string]string{"JWT_SIGNING_KEY": raw},
			errs: Errors{{Path: "auth.local.keyRotationDays", Line: 3, Err: ErrValue,
				Msg: "rotates generated keys only; with signKey, rotate by hand: put the old key in verifyKeys and a new signKey"}}},
		{name: "one key with rotation", yaml: lines("auth:", "  local:", "    keyRotationDays: 30", "    maxKeys: 1"),
			errs: Errors{{Path: "auth.local.maxKeys", Line: 4, Err: ErrValue,
				Msg: "must be at least 2 with keyRotationDays: a rotation publishes the next key beside the current one"}}},
		{name: "no keys", yaml: lines("auth:", "  local:", "    maxKeys: 0"),
			errs: Errors{{Path: "auth.local.maxKeys", Line: 3, Err: ErrValue, Msg: "must be at least 1"}}},
		{name: "negative rotation", yaml: lines("auth:", "  local:", "    keyRotationDays: -1"),
			errs: Errors{{Path: "auth.local.keyRotationDays", Line: 3, Err: ErrValue, Msg: "must not be negative (0 turns rotation off)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "c.yaml", envOpts(tt.env))
			if diff := diffErrors(tt.errs, asErrors(t, err)); diff != "" {
				t.Fatalf("errors mismatch (-want +got):\n%s", diff)
			}
			if tt.errs != nil {
				return
			}
			want := Default(Development).Auth.Local
			tt.want(&want)
			if diff := cmp.Diff(want, c.Auth.Local); diff != "" {
				t.Errorf("auth.local mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// No private member of any configured key reaches the redacted output:
// signKey shows as a fingerprint, verifyKeys with their private members
// replaced.
func TestRedactedHidesSigningKeys(t *testing.T) {
	_, signRaw := genKey(t, "RS256")
	_, ecRaw := genKey(t, "ES256")
	_, rsRaw := genKey(t, "PS256")
	yaml := lines(append([]string{
		"auth:",
		"  local:",
		"    signKey: '" + signRaw + "'",
		"    verifyKeys:",
		"      - '" + ecRaw + "'",
		"      -",
	}, yamlMapping(t, rsRaw, "        ")...)...)
	c, err := Parse([]byte(yaml), "c.yaml", envOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	assertNoPrivate(t, "Redacted output", string(out), signRaw, ecRaw, rsRaw)
	for _, want := range []string{
		fingerprint(string(c.Auth.Local.SignKey)),
		fingerprint(jwkMembers(t, ecRaw)["d"].(string)),
		fingerprint(jwkMembers(t, rsRaw)["d"].(string)),
		jwkMembers(t, ecRaw)["x"].(string),
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Redacted output lacks %q:\n%s", want, out)
		}
	}
}
