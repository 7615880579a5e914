package frontmcp_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/vault"
)

// A production server with generated signing keys on a file store warns when
// no vault key is set; with one, the stored keys are sealed, the vault key id
// is logged, and a restart with another vault key is refused with the store
// unchanged.
func TestServerVaultKey(t *testing.T) {
	db := filepath.Join(t.TempDir(), "store.db")
	prod := func(vaultKey string) *config.Config {
		cfg := config.Default(config.Production)
		cfg.Auth.Mode = config.ModeOrchestrated
		cfg.HTTP.PublicURL = "https://mcp.example.com"
		cfg.Auth.TokenStorage.File.Path = db
		cfg.Auth.Local.Users = []config.User{{Username: "u", PasswordHash: "$2a$10$XiLohFzlMifl1batVHsHIu/dA5UwqFd/XRDCDrhioewtniQzdGwKW"}}
		cfg.Auth.Vault.Key = vaultKey
		return cfg
	}
	start := func(cfg *config.Config) (string, error) {
		var logs bytes.Buffer
		srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err == nil {
			srv.Close()
		}
		return logs.String(), err
	}
	storedKeys := func() []byte {
		st, err := filestore.Open(db, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		set, err := st.GetKeySet(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		for _, k := range set.Keys {
			b = append(append(b, k.Private...), '\n')
		}
		return b
	}

	logs, err := start(prod(""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "stored in plaintext") || !strings.Contains(logs, "VAULT_KEY") {
		t.Fatalf("no plaintext warning in production without a vault key:\n%s", logs)
	}

	key, _ := vault.GenerateKey()
	ring, _ := vault.New(key, nil)
	logs, err = start(prod(key))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs, "stored in plaintext") || !strings.Contains(logs, "vault_key_id="+ring.KeyID()) || strings.Contains(logs, key) {
		t.Fatalf("startup logs with a vault key:\n%s", logs)
	}
	sealed := storedKeys()
	if !vault.IsSealed(sealed) || bytes.Contains(sealed, []byte(`"d"`)) {
		t.Fatalf("stored key not sealed: %q", sealed)
	}

	other, _ := vault.GenerateKey()
	if _, err := start(prod(other)); err == nil || !strings.Contains(err.Error(), "encrypted with vault key "+ring.KeyID()) {
		t.Fatalf("start with another vault key: %v", err)
	}
	if !bytes.Equal(sealed, storedKeys()) {
		t.Fatal("a refused start changed the stored keys")
	}
}
