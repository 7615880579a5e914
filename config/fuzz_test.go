package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/frontmcp-go/frontmcp/keys"
)

// FuzzParse checks that Parse never panics on any input and that a config
// it accepts validates and renders.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"testdata/development.yaml", "testdata/public.yaml", "testdata/production.yaml", "testdata/checklist.yaml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"http: {port: ${PORT}, host: '::1', allowedHosts: [a, b]}\n",
		"info:\n  name: ${NAME:-x}$$y\n",
		"info:\n  name: ${SECRET}\n",
		"auth:\n  tokenStorage:\n    type: redis\n    config:\n      tls: {caFile: /ca}\n",
		"auth:\n  local:\n    signKey: {kty: oct, k: abc}\n    users:\n      - {username: u, passwordHash: $$2b$$x, claims: {a: [1, 2.5, true, ~]}}\n",
		"a: &a [x, x]\nb: &b [*a, *a]\n",
		"http:\n  <<: {port: 1}\n",
		"http:\n  host: ?0",
		"environment: production\nhttp:\n  publicUrl: https://x.example/\nauth:\n  mode: public\n",
		"auth:\n  refresh:\n    accessTokenTtl: 900\n    refreshTokenTtl: 7h\n",
		"auth:\n  scopes: [a, b]\n  toolScopes:\n    t1: [a]\n    'x.y': [a, b]\n  clients:\n    - {clientId: c, redirectUris: ['http://127.0.0.1/cb'], scopes: [b]}\n",
		"environment: production\nhttp: {publicUrl: 'https://x.example'}\nauth:\n  mode: orchestrated\n  dcrEnabled: true\n  consent: {enabled: false}\n",
		"auth:\n  mode: public\n  type: local\n",
		"auth:\n  local:\n    users:\n      - {username: u, passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo', claims: {sub: x}}\n",
	} {
		f.Add([]byte(s))
	}
	// A valid signing key, and a public one beside it for verification.
	k, err := keys.Generate("ES256", "")
	if err != nil {
		f.Fatal(err)
	}
	priv, err := json.Marshal(k)
	if err != nil {
		f.Fatal(err)
	}
	pub, err := json.Marshal(k.Public())
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("auth:\n  local:\n    signKey: '" + string(priv) + "'\n    verifyKeys: ['" + string(pub) + "']\n    keyRotationDays: 0\n    maxKeys: 2\n"))
	f.Add([]byte("auth:\n  local:\n    keyRotationDays: 30\n    maxKeys: 2\n"))
	secret := filepath.Join(f.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("from-file\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	env := map[string]string{"PORT": "8080", "NAME": "svc", "SECRET_FILE": secret, "EMPTY": ""}
	for k, v := range testdataEnv {
		env[k] = v
	}
	opts := envOpts(env)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml", opts)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a config with an error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("a loaded config fails Validate: %v", err)
		}
		if _, err := c.Redacted(); err != nil {
			t.Fatalf("Redacted: %v", err)
		}
		_ = c.MCPURL()
		_ = c.ListenAddr()
	})
}
