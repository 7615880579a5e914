package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/vault"
	"github.com/google/go-cmp/cmp"
)

func newRing(t *testing.T, current string, previous ...string) *vault.Keyring {
	t.Helper()
	r, err := vault.New(current, previous)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func vaultKey(t *testing.T) string {
	t.Helper()
	k, err := vault.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fileStore opens the file store at path, closed when the test ends (or by
// the returned func, to simulate a restart).
func fileStore(t *testing.T, path string) (*filestore.Store, func()) {
	t.Helper()
	st, err := filestore.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeFn := func() {
		if !closed {
			closed = true
			st.Close()
		}
	}
	t.Cleanup(closeFn)
	return st, closeFn
}

func keySet(t *testing.T, st store.Keys) *store.KeySet {
	t.Helper()
	set, err := st.GetKeySet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// assertSealed checks that every stored private key is an envelope of the
// vault key keyID and that no private JWK member is in the record.
func assertSealed(t *testing.T, set *store.KeySet, keyID string) {
	t.Helper()
	if len(set.Keys) == 0 {
		t.Fatal("no stored keys")
	}
	for _, k := range set.Keys {
		var jwk map[string]any
		if json.Unmarshal(k.Private, &jwk) == nil || bytes.Contains(k.Private, []byte(`"d"`)) {
			t.Fatalf("key %s stored as a JWK: %q", k.ID, k.Private)
		}
		if !vault.IsSealed(k.Private) {
			t.Fatalf("key %s stored in plaintext: %q", k.ID, k.Private)
		}
		if got := vault.EnvelopeKeyID(k.Private); got != keyID {
			t.Fatalf("key %s sealed with vault key %s, want %s", k.ID, got, keyID)
		}
	}
}

// A generated key is stored sealed; after a restart with the same vault key
// the same key signs and earlier tokens still verify.
func TestManagerVaultSealsGeneratedKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	ring := newRing(t, vaultKey(t))

	st, restart := fileStore(t, path)
	m, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: ring})
	if err != nil {
		t.Fatal(err)
	}
	assertSealed(t, keySet(t, st), ring.KeyID())
	infos := m.List()
	if len(infos) != 1 || infos[0].VaultKeyID != ring.KeyID() {
		t.Fatalf("List = %+v, want one key encrypted with vault key %s", infos, ring.KeyID())
	}
	kid := m.Signer().KeyID()
	tok := sign(t, m)
	// A rotation seals the new key too.
	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	before := keySet(t, st)
	assertSealed(t, before, ring.KeyID())
	restart()

	st2, _ := fileStore(t, path)
	m2, err := NewManager(ctx, &ManagerOptions{Store: st2, Policy: testPolicy, Vault: ring})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Signer().KeyID() != kid {
		t.Fatalf("after restart key %s signs, want %s", m2.Signer().KeyID(), kid)
	}
	if err := verify(m2, tok); err != nil {
		t.Fatalf("token from before the restart: %v", err)
	}
	if after := keySet(t, st2); after.Version != before.Version {
		t.Fatalf("a restart with the same vault key rewrote the key set: version %d -> %d", before.Version, after.Version)
	}
}

// A store whose keys were sealed with another vault key (or with one while
// none is configured now) refuses to start with an error naming the kid and
// the vault key, and nothing in the store changes: no key is generated over
// it, even when a rotation is due.
func TestManagerVaultWrongKeyLeavesStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	ring := newRing(t, vaultKey(t))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	st, _ := fileStore(t, path)
	m, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: ring, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	kid := m.Signer().KeyID()
	before := keySet(t, st)
	// A rotation (and, later, the old key's removal) is due: a manager that
	// wrote anyway would change the set.
	now = now.Add(2 * testPolicy.RotateEvery)

	other := newRing(t, vaultKey(t))
	tests := []struct {
		name  string
		ring  *vault.Keyring
		wants []string
	}{
		{"no vault key", nil, []string{"signing key " + kid, "encrypted with vault key " + ring.KeyID(), "VAULT_KEY"}},
		{"another vault key", other, []string{"signing key " + kid, "vault key " + ring.KeyID(), "not configured", "previousKeys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: tt.ring, Clock: clock})
			if !errors.Is(err, ErrVaultKey) {
				t.Fatalf("NewManager error = %v, want ErrVaultKey", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if diff := cmp.Diff(before, keySet(t, st)); diff != "" {
				t.Fatalf("the store changed (-before +after):\n%s", diff)
			}
		})
	}

	// A running instance whose refresh meets a key it cannot read keeps
	// serving its last good keys and writes nothing.
	t.Run("refresh", func(t *testing.T) {
		if err := m.Refresh(ctx); err != nil {
			t.Fatal(err) // m has the right key: the planned rotation happens
		}
		advanced := keySet(t, st)
		if advanced.Version == before.Version {
			t.Fatal("the due rotation did not happen")
		}
		// Move the first key's envelope onto the second record: the
		// associated data (the kid) no longer matches.
		moved := append([]store.SigningKey(nil), advanced.Keys...)
		moved[len(moved)-1].Private = moved[0].Private
		tampered, err := st.SwapKeySet(ctx, advanced.Version, moved)
		if err != nil {
			t.Fatal(err)
		}
		err = m.Refresh(ctx)
		if !errors.Is(err, ErrVaultKey) || !strings.Contains(err.Error(), "does not decrypt") {
			t.Fatalf("refresh over a moved envelope: %v, want ErrVaultKey (does not decrypt)", err)
		}
		if diff := cmp.Diff(tampered, keySet(t, st)); diff != "" {
			t.Fatalf("the store changed (-before +after):\n%s", diff)
		}
		if m.Signer() == nil {
			t.Fatal("no signer after a failed refresh")
		}
	})
}

// Keys stored in plaintext (before a vault key was configured) are re-sealed
// in place on the first start with a vault key, under the same kid.
func TestManagerVaultResealsPlaintext(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	st, _ := fileStore(t, path)
	plain, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy})
	if err != nil {
		t.Fatal(err)
	}
	legacy := keySet(t, st)
	if vault.IsSealed(legacy.Keys[0].Private) || !bytes.Contains(legacy.Keys[0].Private, []byte(`"d"`)) {
		t.Fatalf("without a vault key the private key should be a plaintext JWK: %q", legacy.Keys[0].Private)
	}
	if plain.List()[0].VaultKeyID != "" {
		t.Fatalf("plaintext key listed as encrypted: %+v", plain.List()[0])
	}
	tok := sign(t, plain)

	ring := newRing(t, vaultKey(t))
	m, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: ring})
	if err != nil {
		t.Fatal(err)
	}
	sealed := keySet(t, st)
	assertSealed(t, sealed, ring.KeyID())
	if sealed.Version != legacy.Version+1 || sealed.Keys[0].ID != legacy.Keys[0].ID {
		t.Fatalf("re-seal: version %d -> %d, kid %s -> %s; want one swap keeping the kid",
			legacy.Version, sealed.Version, legacy.Keys[0].ID, sealed.Keys[0].ID)
	}
	if err := verify(m, tok); err != nil {
		t.Fatalf("token signed before the re-seal: %v", err)
	}
	// The instance still running without a vault key now meets a sealed key.
	if err := plain.Refresh(ctx); !errors.Is(err, ErrVaultKey) {
		t.Fatalf("refresh without a vault key over sealed keys: %v, want ErrVaultKey", err)
	}
}

// Rotating the vault key: with the old key in previous keys, stored keys open
// and are re-sealed with the new key; afterwards the old key is not needed.
func TestManagerVaultKeyRotation(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	st, _ := fileStore(t, path)
	oldKey, newKey := vaultKey(t), vaultKey(t)
	oldRing := newRing(t, oldKey)
	m1, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: oldRing})
	if err != nil {
		t.Fatal(err)
	}
	if err := m1.Rotate(ctx); err != nil { // two keys to re-seal
		t.Fatal(err)
	}
	assertSealed(t, keySet(t, st), oldRing.KeyID())
	tok := sign(t, m1)

	rotated := newRing(t, newKey, oldKey)
	m2, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: rotated})
	if err != nil {
		t.Fatal(err)
	}
	resealed := keySet(t, st)
	assertSealed(t, resealed, rotated.KeyID())
	if err := verify(m2, tok); err != nil {
		t.Fatal(err)
	}

	// Once re-sealed, the new key alone opens them; the old key alone does not.
	m3, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: newRing(t, newKey)})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(m3, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: oldRing}); !errors.Is(err, ErrVaultKey) {
		t.Fatalf("old vault key alone after rotation: %v, want ErrVaultKey", err)
	}
	if diff := cmp.Diff(resealed, keySet(t, st)); diff != "" {
		t.Fatalf("the store changed after the re-seal (-want +got):\n%s", diff)
	}
}

// During a rolling change of the vault key, an instance still running with
// the old key current (the new one in previousKeys) reads the keys the
// restarted instances re-sealed and does not seal them back.
func TestManagerVaultRollingKeyChange(t *testing.T) {
	ctx := context.Background()
	st, _ := fileStore(t, filepath.Join(t.TempDir(), "store.db"))
	oldKey, newKey := vaultKey(t), vaultKey(t)
	running, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: newRing(t, oldKey, newKey)})
	if err != nil {
		t.Fatal(err)
	}
	restarted, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Vault: newRing(t, newKey, oldKey)})
	if err != nil {
		t.Fatal(err)
	}
	want := keySet(t, st)
	assertSealed(t, want, restarted.opts.Vault.KeyID())
	for range 2 {
		if err := running.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := restarted.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(want, keySet(t, st)); diff != "" {
		t.Fatalf("refreshes rewrote the keys (-want +got):\n%s", diff)
	}
	if err := verify(running, sign(t, restarted)); err != nil {
		t.Fatal(err)
	}
}
