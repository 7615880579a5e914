package authserver

import (
	"errors"
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
