package keys

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/token"
	jose "github.com/go-jose/go-jose/v4"
)

var testPolicy = Policy{RotateEvery: 30 * 24 * time.Hour, PrePublish: 5 * time.Minute, TokenLifetime: 15 * time.Minute, MaxKeys: 3}

func sign(t *testing.T, m *Manager) string {
	t.Helper()
	now := time.Now()
	raw, err := m.Signer().Sign(&token.Claims{Issuer: "https://as", Subject: "u", Audience: []string{"https://rs/mcp"},
		ClientID: "c", ExpiresAt: now.Add(testPolicy.TokenLifetime)})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func verify(m *Manager, raw string) error {
	_, err := m.Verifier().Verify(raw, token.VerifyOptions{Issuer: "https://as", Audience: "https://rs/mcp", Now: time.Now()})
	return err
}

// Two instances on one store rotate under a fake clock: they agree on every
// key, a token keeps verifying on both until it expires, and a retired key's
// tokens are refused once the key is removed.
func TestManagerRotationAcrossInstances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := memstore.New(nil)
		a, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy})
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy})
		if err != nil {
			t.Fatal(err)
		}
		k1 := a.Signer().KeyID()
		if b.Signer().KeyID() != k1 {
			t.Fatalf("instances disagree on the first key: %s vs %s", k1, b.Signer().KeyID())
		}
		old := sign(t, a)

		// Just before the rotation is due, both refresh: exactly one next key.
		time.Sleep(testPolicy.RotateEvery - testPolicy.PrePublish)
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		set, _ := st.GetKeySet(ctx)
		if len(set.Keys) != 2 {
			t.Fatalf("after both refreshed: %d keys, want 2 (rotated exactly once)", len(set.Keys))
		}
		k2 := set.Keys[1].ID
		// Published before use: both still sign with k1 and already verify k2.
		if a.Signer().KeyID() != k1 || b.Signer().KeyID() != k1 {
			t.Fatal("the next key signs before its pre-publication window")
		}
		last := sign(t, b) // the last k1 token, valid for TokenLifetime

		time.Sleep(testPolicy.PrePublish)
		if a.Signer().KeyID() != k2 || b.Signer().KeyID() != k2 {
			t.Fatalf("at activation: %s / %s, want %s", a.Signer().KeyID(), b.Signer().KeyID(), k2)
		}
		if err := verify(a, last); err != nil {
			t.Fatalf("a k1 token within its lifetime is refused after the switch: %v", err)
		}
		fresh := sign(t, a)
		if err := verify(b, fresh); err != nil {
			t.Fatalf("instance b refuses instance a's k2 token: %v", err)
		}

		// After k1's tokens have expired, the next refresh removes k1.
		time.Sleep(testPolicy.TokenLifetime)
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		for _, info := range a.List() {
			if info.ID == k1 {
				t.Fatalf("k1 still listed after removal: %+v", info)
			}
		}
		if err := verify(a, old); !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("token of a removed key: %v, want ErrUnknownKey", err)
		}
	})
}

// A configured key signs; nothing is generated or stored.
func TestManagerConfiguredKey(t *testing.T) {
	ctx := context.Background()
	k, _ := Generate(token.EdDSA, "prod-key-1")
	extra, _ := Generate(token.ES256, "old-key")
	st := memstore.New(nil)
	m, err := NewManager(ctx, &ManagerOptions{Store: st, SignKey: &k, VerifyKeys: []jose.JSONWebKey{extra.Public()}, Policy: testPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if m.Signer().KeyID() != "prod-key-1" {
		t.Fatalf("signer %s", m.Signer().KeyID())
	}
	if set, _ := st.GetKeySet(ctx); set.Version != 0 {
		t.Fatalf("a configured key wrote to the store: %+v", set)
	}
	if err := m.Rotate(ctx); err == nil {
		t.Fatal("Rotate with a configured key succeeded")
	}
	jwks := string(m.JWKS())
	for _, kid := range []string{"prod-key-1", "old-key"} {
		if !strings.Contains(jwks, kid) {
			t.Fatalf("JWKS lacks %s: %s", kid, jwks)
		}
	}
	for _, member := range []string{`"d":`, `"p":`, `"q":`, `"dp":`, `"dq":`, `"qi":`} {
		if strings.Contains(jwks, member) {
			t.Fatalf("JWKS has private member %s", member)
		}
	}
}

// Two instances with their own handles on one file store (as two processes
// have) reach the rotation at the same moment: the compare-and-swap lets
// exactly one of them add the next key, and both then sign with it.
func TestManagerRotatesOnceOnSharedFileStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.db")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var managers []*Manager
	for range 2 {
		st, err := filestore.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		m, err := NewManager(ctx, &ManagerOptions{Store: st, Policy: testPolicy, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		managers = append(managers, m)
	}
	now = now.Add(testPolicy.RotateEvery - testPolicy.PrePublish)
	var wg sync.WaitGroup
	for _, m := range managers {
		wg.Go(func() {
			if err := m.Refresh(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, m := range managers {
		m.Refresh(ctx) // the loser of the race loads the winner's set
	}
	infos := managers[0].List()
	if len(infos) != 2 {
		t.Fatalf("keys after a simultaneous rotation: %+v; want current + one next", infos)
	}
	now = now.Add(testPolicy.PrePublish)
	if a, b := managers[0].Signer().KeyID(), managers[1].Signer().KeyID(); a != b || a != infos[1].ID {
		t.Fatalf("instances sign with %s and %s, want the new key %s", a, b, infos[1].ID)
	}
}
