package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/vault"
)

// runMainEnv runs the frontmcp binary with extra environment variables.
func runMainEnv(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := child(t, "main", args...)
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// vault generate-key prints only a key that the vault accepts, a new one
// each time, and its id on stderr.
func TestVaultGenerateKey(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		code, stdout, stderr := runMain(t, "vault", "generate-key")
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		key := strings.TrimSuffix(stdout, "\n")
		if strings.Contains(key, "\n") {
			t.Fatalf("stdout is not one line: %q", stdout)
		}
		ring, err := vault.New(key, nil)
		if err != nil {
			t.Fatalf("printed key rejected: %v", err)
		}
		if !strings.Contains(stderr, ring.KeyID()) {
			t.Fatalf("stderr %q does not name key id %s", stderr, ring.KeyID())
		}
		if seen[key] {
			t.Fatal("generate-key printed the same key twice")
		}
		seen[key] = true
	}
	for _, args := range [][]string{{"vault"}, {"vault", "rotate"}, {"vault", "generate-key", "extra"}} {
		if code, _, stderr := runMain(t, args...); code != cli.ExitUsage || !strings.Contains(stderr, "usage: frontmcp vault") {
			t.Errorf("%v: exit %d, stderr %q; want usage", args, code, stderr)
		}
	}
}

// keys rotate and list open the configured store with the vault key from
// VAULT_KEY: keys are stored sealed, listed with the vault key id, refused
// (with the store untouched) without the right key, and re-sealed after a
// vault key rotation through auth.vault.previousKeys.
func TestKeysWithVaultKey(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "store.db")
	cfg := writeFile(t, "auth:\n  tokenStorage: {type: file, config: {path: "+db+"}}\n")
	oldKey, _ := vault.GenerateKey()
	oldRing, _ := vault.New(oldKey, nil)

	code, stdout, stderr := runMainEnv(t, []string{"VAULT_KEY=" + oldKey}, "keys", "rotate", "--config", cfg)
	if code != cli.ExitOK {
		t.Fatalf("keys rotate: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "VAULT KEY") || strings.Count(stdout, oldRing.KeyID()) != 2 {
		t.Fatalf("keys rotate output does not show both keys encrypted with %s:\n%s", oldRing.KeyID(), stdout)
	}
	sealed := storedKeys(t, db)
	for _, k := range sealed.Keys {
		if vault.EnvelopeKeyID(k.Private) != oldRing.KeyID() {
			t.Fatalf("key %s stored as %q, want sealed with %s", k.ID, k.Private, oldRing.KeyID())
		}
	}

	otherKey, _ := vault.GenerateKey()
	for _, env := range [][]string{nil, {"VAULT_KEY=" + otherKey}} {
		code, _, stderr := runMainEnv(t, env, "keys", "list", "--config", cfg)
		if code != cli.ExitFailure || !strings.Contains(stderr, "encrypted with vault key "+oldRing.KeyID()) || !strings.Contains(stderr, "VAULT_KEY") {
			t.Fatalf("keys list with env %v: exit %d, stderr %q; want a failure naming vault key %s", env, code, stderr, oldRing.KeyID())
		}
		if strings.Contains(stderr, oldKey) || strings.Contains(stderr, otherKey) {
			t.Fatal("error output contains a vault key")
		}
	}
	if after := storedKeys(t, db); after.Version != sealed.Version {
		t.Fatalf("a refused start changed the store: version %d -> %d", sealed.Version, after.Version)
	}

	// Vault key rotation: the new key from VAULT_KEY, the old one in previousKeys.
	newKey, _ := vault.GenerateKey()
	newRing, _ := vault.New(newKey, nil)
	rotated := writeFile(t, "auth:\n  tokenStorage: {type: file, config: {path: "+db+"}}\n  vault:\n    previousKeys: ['"+oldKey+"']\n")
	code, stdout, stderr = runMainEnv(t, []string{"VAULT_KEY=" + newKey}, "keys", "list", "--config", rotated)
	if code != cli.ExitOK || strings.Count(stdout, newRing.KeyID()) != 2 {
		t.Fatalf("keys list after vault key rotation: exit %d, stderr %s\n%s", code, stderr, stdout)
	}
	for _, k := range storedKeys(t, db).Keys {
		if vault.EnvelopeKeyID(k.Private) != newRing.KeyID() {
			t.Fatalf("key %s not re-sealed with the new vault key", k.ID)
		}
	}
}

func storedKeys(t *testing.T, path string) *store.KeySet {
	t.Helper()
	st, err := filestore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	set, err := st.GetKeySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return set
}
