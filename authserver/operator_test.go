package authserver

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/go-cmp/cmp"
)

func TestCreateClient(t *testing.T) {
	ctx := t.Context()
	st := memstore.New(nil)
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	opts := &CreateClientOptions{
		Scopes:   []string{"mcp:tools", "mcp:admin"},
		Reserved: func(id string) bool { return id == "configured" },
		Clock:    func() time.Time { return created },
	}

	c, secret, err := CreateClient(ctx, st, &ClientSpec{Name: "Bot", RedirectURIs: []string{"https://bot.example.com/cb", "https://bot.example.com/cb"},
		Confidential: true, Scopes: []string{"mcp:tools"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ID) != 22 || secret == "" {
		t.Fatalf("generated client_id %q, secret set %v; want a 22-character ID and a secret", c.ID, secret != "")
	}
	stored, err := st.GetClient(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := &store.Client{ID: c.ID, SecretHash: token.Hash(secret), Name: "Bot", RedirectURIs: []string{"https://bot.example.com/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		TokenEndpointAuthMethod: "client_secret_basic", Scopes: []string{"mcp:tools"}, CreatedAt: created}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored client (-want +got):\n%s", diff)
	}

	pub, secret, err := CreateClient(ctx, st, &ClientSpec{ID: "desk", RedirectURIs: []string{"http://127.0.0.1/cb"}}, opts)
	if err != nil || secret != "" || pub.ID != "desk" || pub.SecretHash != "" || pub.TokenEndpointAuthMethod != "none" {
		t.Fatalf("public client: %+v, secret set %v, %v", pub, secret != "", err)
	}

	for _, tc := range []struct {
		name string
		spec ClientSpec
		want error
	}{
		{"taken", ClientSpec{ID: "desk", RedirectURIs: []string{"http://127.0.0.1/cb"}}, store.ErrExists},
		{"reserved", ClientSpec{ID: "configured", RedirectURIs: []string{"http://127.0.0.1/cb"}}, store.ErrExists},
		{"no redirect", ClientSpec{ID: "x"}, grant.Errorf(grant.CodeInvalidRedirectURI, "")},
		{"http elsewhere", ClientSpec{RedirectURIs: []string{"http://app.example.com/cb"}}, grant.Errorf(grant.CodeInvalidRedirectURI, "")},
		{"unknown scope", ClientSpec{RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"root"}}, grant.Errorf(grant.CodeInvalidClientMetadata, "")},
		{"space in ID", ClientSpec{ID: "a b", RedirectURIs: []string{"http://127.0.0.1/cb"}}, grant.Errorf(grant.CodeInvalidClientMetadata, "")},
		{"long ID", ClientSpec{ID: string(make([]byte, 129)), RedirectURIs: []string{"http://127.0.0.1/cb"}}, grant.Errorf(grant.CodeInvalidClientMetadata, "")},
		// URL-shaped ids would be resolved as metadata document URLs and
		// never looked up in the store.
		{"https URL ID", ClientSpec{ID: "https://app.example.com/client.json", RedirectURIs: []string{"http://127.0.0.1/cb"}}, grant.Errorf(grant.CodeInvalidClientMetadata, "")},
		{"http URL ID", ClientSpec{ID: "http://localhost/c", RedirectURIs: []string{"http://127.0.0.1/cb"}}, grant.Errorf(grant.CodeInvalidClientMetadata, "")},
		{"other scheme ID", ClientSpec{ID: "HTTPS://APP.EXAMPLE.COM/c", RedirectURIs: []string{"http://127.0.0.1/cb"}}, grant.Errorf(grant.CodeInvalidClientMetadata, "")},
	} {
		c, secret, err := CreateClient(ctx, st, &tc.spec, opts)
		if !errors.Is(err, tc.want) || c != nil || secret != "" {
			t.Errorf("%s: %v, %v; want %v", tc.name, c, err, tc.want)
		}
	}
	all, err := st.ListClients(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("store holds %d clients (%v), want the 2 accepted ones", len(all), err)
	}
}

// An operator-chosen client_id is checked by validClientID; it must never
// accept what it cannot print back safely.
func FuzzValidClientID(f *testing.F) {
	for _, s := range []string{"desk-app", "a b", "", "ä", "x\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !validClientID(id) {
			return
		}
		if len(id) == 0 || len(id) > maxClientID {
			t.Fatalf("accepted %q of length %d", id, len(id))
		}
		for _, r := range id {
			if r <= ' ' || r >= 0x7f {
				t.Fatalf("accepted %q with %q", id, r)
			}
		}
	})
}

// The refusal of a URL-shaped id says why.
func TestCreateClientURLIDMessage(t *testing.T) {
	_, _, err := CreateClient(t.Context(), memstore.New(nil), &ClientSpec{ID: "https://app.example.com/c.json", RedirectURIs: []string{"http://127.0.0.1/cb"}}, nil)
	if e, ok := errors.AsType[*grant.Error](err); !ok || !strings.Contains(e.Description, "form of a URL") {
		t.Errorf("err = %v; want invalid_client_metadata saying the id has the form of a URL", err)
	}
}

// opGrant stores an active grant of client for the operator tests.
func opGrant(t *testing.T, st store.Grants, id, client string, now time.Time) *store.Grant {
	t.Helper()
	g := &store.Grant{ID: id, ClientID: client, Subject: "alice", Scopes: []string{"mcp:tools"},
		RefreshHash: token.Hash("refresh-" + id), RefreshExpiresAt: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	if err := st.CreateGrant(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	return g
}

// DeleteClient deletes the client, revokes its grants (and only its),
// reports each revocation, and writes them to the revocation log.
func TestDeleteClient(t *testing.T) {
	ctx := t.Context()
	now := time.Now().UTC()
	st := memstore.New(nil)
	c, _, err := CreateClient(ctx, st, &ClientSpec{ID: "bot", RedirectURIs: []string{"http://127.0.0.1/cb"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g1, g2 := opGrant(t, st, "g1", c.ID, now), opGrant(t, st, "g2", c.ID, now)
	other := opGrant(t, st, "g3", "someone-else", now)
	var notified []store.Revocation
	revoked, err := DeleteClient(ctx, st, c.ID, &DeleteClientOptions{Revoked: func(r store.Revocation) { notified = append(notified, r) }})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(revoked)
	if diff := cmp.Diff([]string{"g1", "g2"}, revoked); diff != "" {
		t.Errorf("revoked (-want +got):\n%s", diff)
	}
	want := []store.Revocation{
		{Kind: store.RevokedGrant, ID: g1.ID, ExpiresAt: g1.ExpiresAt},
		{Kind: store.RevokedGrant, ID: g2.ID, ExpiresAt: g2.ExpiresAt},
	}
	slices.SortFunc(notified, func(a, b store.Revocation) int { return strings.Compare(a.ID, b.ID) })
	if diff := cmp.Diff(want, notified); diff != "" {
		t.Errorf("Revoked hook (-want +got):\n%s", diff)
	}
	if _, err := st.GetClient(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetClient after DeleteClient: %v; want ErrNotFound", err)
	}
	for _, id := range []string{g1.ID, g2.ID} {
		if g, err := st.GetGrant(ctx, id); err != nil || g.RevokedAt.IsZero() {
			t.Errorf("grant %s: %+v, %v; want revoked", id, g, err)
		}
	}
	if g, err := st.GetGrant(ctx, other.ID); err != nil || !g.RevokedAt.IsZero() {
		t.Errorf("another client's grant: %+v, %v; want untouched", g, err)
	}
	log, _, err := st.RevocationsSince(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	for _, r := range log {
		logged = append(logged, r.ID)
	}
	slices.Sort(logged)
	if !slices.Contains(logged, "g1") || !slices.Contains(logged, "g2") || slices.Contains(logged, "g3") {
		t.Errorf("revocation log %v; want g1 and g2 only", logged)
	}

	// Again: the client is gone (ErrNotFound), and a grant the id still
	// holds (left by a token request that raced the deletion) is revoked.
	late := opGrant(t, st, "g4", c.ID, now)
	revoked, err = DeleteClient(ctx, st, c.ID, nil)
	if !errors.Is(err, store.ErrNotFound) || !slices.Equal(revoked, []string{late.ID}) {
		t.Errorf("second DeleteClient: %v, %v; want ErrNotFound having revoked %s", revoked, err, late.ID)
	}
}

// raceStore injects a fault for the deletion race: a grant created for the
// client right as it is deleted, as a code exchange that authenticated the
// client just before would create it. (Fault injection around a real
// memstore; nothing else is replaced.)
type raceStore struct {
	*memstore.Store
	t    *testing.T
	late *store.Grant
}

func (r *raceStore) DeleteClient(ctx context.Context, id string) error {
	if err := r.Store.DeleteClient(ctx, id); err != nil {
		return err
	}
	r.late = opGrant(r.t, r.Store, "late", id, time.Now().UTC())
	return nil
}

// The second pass after the deletion revokes a grant created meanwhile.
func TestDeleteClientRace(t *testing.T) {
	ctx := t.Context()
	st := &raceStore{Store: memstore.New(nil), t: t}
	if _, _, err := CreateClient(ctx, st, &ClientSpec{ID: "bot", RedirectURIs: []string{"http://127.0.0.1/cb"}}, nil); err != nil {
		t.Fatal(err)
	}
	opGrant(t, st, "early", "bot", time.Now().UTC())
	revoked, err := DeleteClient(ctx, st, "bot", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(revoked, []string{"early", "late"}) {
		t.Errorf("revoked %v; want [early late]", revoked)
	}
	if g, err := st.GetGrant(ctx, "late"); err != nil || g.RevokedAt.IsZero() {
		t.Errorf("grant created during the deletion: %+v, %v; want revoked", g, err)
	}
}

// A store failure is returned with the revocations made so far.
func TestDeleteClientStoreFailure(t *testing.T) {
	ctx := t.Context()
	st := memstore.New(nil)
	if _, _, err := CreateClient(ctx, st, &ClientSpec{ID: "bot", RedirectURIs: []string{"http://127.0.0.1/cb"}}, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := DeleteClient(ctx, st, "bot", nil); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteClient on a closed store: %v; want a store error", err)
	}
}
