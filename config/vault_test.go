package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/frontmcp-go/frontmcp/vault"
)

func TestVaultConfig(t *testing.T) {
	cur, _ := vault.GenerateKey()
	old, _ := vault.GenerateKey()
	ring, err := vault.New(cur, []string{old})
	if err != nil {
		t.Fatal(err)
	}
	bad := "not a key!"

	tests := []struct {
		name     string
		yaml     string
		env      map[string]string
		wantPath string // "" means valid
		wantMsg  string
	}{
		{name: "key and previous keys", yaml: lines("auth:", "  vault:", "    key: "+cur, "    previousKeys: ['"+old+"']")},
		{name: "VAULT_KEY with previous keys in the file", yaml: lines("auth:", "  vault:", "    previousKeys: ['"+old+"']"),
			env: map[string]string{"VAULT_KEY": cur}},
		{name: "hex key", yaml: lines("auth:", "  vault:", "    key: "+strings.Repeat("ab", 32))},
		{name: "bad key", yaml: lines("auth:", "  vault:", "    key: "+bad),
			wantPath: "auth.vault.key", wantMsg: "not valid base64 or hex"},
		{name: "bad VAULT_KEY", yaml: lines("auth:", "  mode: orchestrated"), env: map[string]string{"VAULT_KEY": bad},
			wantPath: "auth.vault.key", wantMsg: "want 32 random bytes"},
		{name: "bad previous key", yaml: lines("auth:", "  vault:", "    key: "+cur, "    previousKeys: ['"+old+"', '"+bad+"']"),
			wantPath: "auth.vault.previousKeys[1]", wantMsg: "not valid base64 or hex"},
		{name: "empty previous key", yaml: lines("auth:", "  vault:", "    key: "+cur, "    previousKeys: ['']"),
			wantPath: "auth.vault.previousKeys[0]", wantMsg: "empty"},
		{name: "previous keys without a key", yaml: lines("auth:", "  vault:", "    previousKeys: ['"+old+"']"),
			wantPath: "auth.vault.key", wantMsg: "must be set (or VAULT_KEY) when previousKeys is set"},
		{name: "transparent mode", yaml: lines("auth:", "  mode: transparent", "  provider: https://idp.example", "  expectedAudience: https://api.example", "  vault:", "    key: "+cur),
			wantPath: "auth.vault", wantMsg: "is only used with mode orchestrated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "c.yaml", envOpts(tt.env))
			if tt.wantPath == "" {
				if err != nil {
					t.Fatal(err)
				}
				r, err := c.Auth.Vault.Keyring()
				if err != nil || r == nil {
					t.Fatalf("Keyring() = %v, %v", r, err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want Errors", err)
			}
			found := false
			for _, e := range errs {
				if e.Path == tt.wantPath && strings.Contains(e.Msg, tt.wantMsg) && errors.Is(e, ErrValue) {
					found = true
				}
			}
			if !found {
				t.Fatalf("errors %v lack %s: ...%s...", errs, tt.wantPath, tt.wantMsg)
			}
			if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), cur) {
				t.Fatalf("error echoes a key: %v", err)
			}
		})
	}

	// The keyring opens what the configured keys sealed; no key means none.
	c, err := Parse([]byte(lines("auth:", "  vault:", "    key: "+cur, "    previousKeys: ['"+old+"']")), "c.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Auth.Vault.Keyring()
	if err != nil || r.KeyID() != ring.KeyID() {
		t.Fatalf("Keyring() = %v, %v; want key id %s", r, err, ring.KeyID())
	}
	oldRing, _ := vault.New(old, nil)
	env, _ := oldRing.Seal("p", []byte("x"), nil)
	if _, err := r.Open("p", env, nil); err != nil {
		t.Fatalf("previous key does not open: %v", err)
	}
	if r, err := (&Vault{}).Keyring(); r != nil || err != nil {
		t.Fatalf("Keyring() without a key = %v, %v; want nil, nil", r, err)
	}

	// Redacted output never shows vault keys.
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), cur) || strings.Contains(string(out), old) {
		t.Fatalf("Redacted shows a vault key:\n%s", out)
	}
	if !strings.Contains(string(out), "vault:") {
		t.Fatalf("Redacted output lacks the vault section:\n%s", out)
	}
}
