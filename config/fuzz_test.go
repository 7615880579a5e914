package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics on any input and that a config
// it accepts validates and renders.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"testdata/development.yaml", "testdata/production.yaml", "testdata/checklist.yaml"} {
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
	} {
		f.Add([]byte(s))
	}
	secret := filepath.Join(f.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("from-file\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	opts := envOpts(map[string]string{"PORT": "8080", "NAME": "svc", "SECRET_FILE": secret, "EMPTY": ""})
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
