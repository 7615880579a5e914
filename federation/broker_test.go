package federation

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/frontmcp-go/frontmcp/vault"
)

const testKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// offlineProvider is a Provider configured directly, without discovery:
// enough for the broker's sealing, state and vault logic, which never
// reaches the provider in these tests. The flows against real providers run
// in the package frontmcp tests (a frontmcp upstream) and e2e/node
// (oidc-provider).
func offlineProvider(openID bool) *Provider {
	m := &Metadata{Issuer: "https://idp.example", AuthorizationEndpoint: "https://idp.example/authorize", TokenEndpoint: "https://idp.example/token"}
	if openID {
		m.IDTokenSigningAlgValuesSupported = []string{"RS256"}
	}
	return &Provider{
		opts: Options{Issuer: m.Issuer, ClientID: "frontmcp", SubjectClaim: "sub", Clock: time.Now},
		meta: m, openID: openID,
		conf: &oauth2.Config{ClientID: "frontmcp", RedirectURL: "https://mcp.example/oauth/upstream/callback",
			Scopes: requestScopes(nil, openID), Endpoint: oauth2.Endpoint{AuthURL: m.AuthorizationEndpoint, TokenURL: m.TokenEndpoint}},
	}
}

func newTestBroker(t testing.TB, key string, st store.Vault, clock *testclock.Clock) *Broker {
	t.Helper()
	ring, err := vault.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBroker(&BrokerOptions{Provider: offlineProvider(true), Keyring: ring, Vault: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStartAndCheckState(t *testing.T) {
	clock := testclock.New(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newTestBroker(t, testKey, memstore.New(nil), clock)
	requestID := token.NewID()
	state, _ := token.NewRefreshToken(requestID)
	authURL, login, err := b.Start(requestID, state)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "idp.example" || q.Get("response_type") != "code" || q.Get("state") != state || q.Get("client_id") != "frontmcp" ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("nonce")) < 32 ||
		q.Get("scope") != "openid offline_access" || q.Get("prompt") != "consent" || q.Get("redirect_uri") != "https://mcp.example/oauth/upstream/callback" {
		t.Fatalf("authorization URL %s", authURL)
	}
	// The login state is sealed: neither the nonce nor the state is in it.
	if !vault.IsSealed(login) || bytes.Contains(login, []byte(q.Get("nonce"))) || bytes.Contains(login, []byte(state)) {
		t.Fatalf("login state is not sealed: %s", login)
	}
	if err := b.CheckState(requestID, login, state); err != nil {
		t.Fatalf("CheckState(genuine) = %v", err)
	}
	other, _ := token.NewRefreshToken(requestID)
	tampered := bytes.Clone(login)
	tampered[len(tampered)-2] ^= 1
	for name, check := range map[string]func() error{
		"another state":   func() error { return b.CheckState(requestID, login, other) },
		"empty state":     func() error { return b.CheckState(requestID, login, "") },
		"another request": func() error { return b.CheckState(token.NewID(), login, state) },
		"tampered login":  func() error { return b.CheckState(requestID, tampered, state) },
		"no login":        func() error { return b.CheckState(requestID, nil, state) },
	} {
		if err := check(); !errors.Is(err, ErrState) {
			t.Errorf("%s: %v, want ErrState", name, err)
		}
	}
	// Finish checks the state first, then iss, then the provider's error.
	ctx := t.Context()
	if _, _, err := b.Finish(ctx, requestID, login, url.Values{"state": {other}, "error": {"access_denied"}}); !errors.Is(err, ErrState) {
		t.Errorf("Finish with another state: %v, want ErrState", err)
	}
	if _, _, err := b.Finish(ctx, requestID, login, url.Values{"state": {state}, "iss": {"https://evil.example"}, "code": {"x"}}); !errors.Is(err, ErrIdentity) {
		t.Errorf("Finish with another iss: %v, want ErrIdentity", err)
	}
	_, _, err = b.Finish(ctx, requestID, login, url.Values{"state": {state}, "iss": {"https://idp.example"}, "error": {"access_denied"}, "error_description": {"no"}})
	var denied *DeniedError
	if !errors.As(err, &denied) || denied.Code != "access_denied" || !errors.Is(err, ErrDenied) {
		t.Errorf("Finish with an error response: %v, want a DeniedError", err)
	}
	if _, _, err := b.Finish(ctx, requestID, login, url.Values{"state": {state}}); !errors.Is(err, ErrTokenEndpoint) {
		t.Errorf("Finish without code: %v, want ErrTokenEndpoint", err)
	}
}

func TestVaultEntries(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	b := newTestBroker(t, testKey, st, clock)
	if err := st.CreateGrant(ctx, &store.Grant{ID: "g1", Subject: "u", ClientID: "c", CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tokens := &Tokens{AccessToken: "upstream-at", RefreshToken: "upstream-rt", Subject: "u", Expiry: clock.Now().Add(time.Hour)}
	pending, err := b.seal(PurposePending, tokens, "request-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Rebind("request-2", "g1", pending); !errors.Is(err, ErrVaultKey) {
		t.Fatalf("Rebind of another request's tokens: %v, want an error", err)
	}
	sealed, err := b.Rebind("request-1", "g1", pending)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("upstream-at")) {
		t.Fatal("rebound tokens are not sealed")
	}

	// No entry: re-authorization.
	if _, err := b.AccessToken(ctx, "g1"); !errors.Is(err, ErrReauthorizationRequired) {
		t.Fatalf("AccessToken without an entry: %v", err)
	}
	if err := b.Store(ctx, "g1", sealed, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if at, err := b.AccessToken(ctx, "g1"); err != nil || at != "upstream-at" {
		t.Fatalf("AccessToken = %q, %v", at, err)
	}
	// An entry moved to another grant does not open.
	if err := st.CreateGrant(ctx, &store.Grant{ID: "g2", Subject: "u", ClientID: "c", CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutVault(ctx, "g2", sealed, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AccessToken(ctx, "g2"); !errors.Is(err, ErrVaultKey) {
		t.Fatalf("AccessToken of a moved entry: %v, want ErrVaultKey", err)
	}

	// Another key: a clear error naming both keys; the entry is untouched.
	otherKey, _ := vault.GenerateKey()
	other := newTestBroker(t, otherKey, st, clock)
	_, err = other.AccessToken(ctx, "g1")
	if !errors.Is(err, ErrVaultKey) || !strings.Contains(err.Error(), vault.EnvelopeKeyID(sealed)) {
		t.Fatalf("AccessToken with another key: %v", err)
	}
	if got, _ := st.GetVault(ctx, "g1"); !bytes.Equal(got, sealed) {
		t.Fatal("a failed open changed the entry")
	}

	// Key rotation: with the old key as a previous key, the entry opens;
	// a read leaves it as it is (it is sealed again with the new key when
	// its tokens are refreshed, under the refresh lease).
	ring, err := vault.New(otherKey, []string{testKey})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewBroker(&BrokerOptions{Provider: offlineProvider(true), Keyring: ring, Vault: st, Grants: st, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if at, err := rotated.AccessToken(ctx, "g1"); err != nil || at != "upstream-at" {
		t.Fatalf("AccessToken after rotation = %q, %v", at, err)
	}
	if got, _ := st.GetVault(ctx, "g1"); !bytes.Equal(got, sealed) {
		t.Fatalf("a read rewrote the entry (now sealed with key %s)", vault.EnvelopeKeyID(got))
	}

	// Without a refresh token the access token is used until it expires;
	// then re-authorization is required, nothing is sent, and the grant
	// is revoked.
	noRefresh, _ := rotated.seal(PurposeTokens, &Tokens{AccessToken: "a", Subject: "u", Expiry: clock.Now().Add(30 * time.Second)}, "g1")
	if err := st.UpdateVault(ctx, "g1", sealed, noRefresh); err != nil {
		t.Fatal(err)
	}
	if at, err := rotated.AccessToken(ctx, "g1"); err != nil || at != "a" {
		t.Fatalf("AccessToken without a refresh token, not expired = %q, %v", at, err)
	}
	clock.Advance(30 * time.Second)
	if _, err := rotated.AccessToken(ctx, "g1"); !errors.Is(err, ErrReauthorizationRequired) {
		t.Fatalf("AccessToken without a refresh token: %v", err)
	}
	if g, err := st.GetGrant(ctx, "g1"); err != nil || g.RevokedAt.IsZero() {
		t.Fatalf("grant after re-authorization became required: %+v, %v; want it revoked", g, err)
	}
}

// FuzzCheckState: arbitrary login records and states never panic and are
// never accepted.
func FuzzCheckState(f *testing.F) {
	clock := testclock.New(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	b := newTestBroker(f, testKey, memstore.New(nil), clock)
	_, login, err := b.Start("request-1", "request-1.state")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(login, "request-1.state")
	f.Add([]byte("fmv1.0123456789abcdef.AAAA"), "x.y")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, login []byte, state string) {
		if err := b.CheckState("request-2", login, state); err == nil {
			t.Fatalf("CheckState accepted a login of another request: %q, %q", login, state)
		}
	})
}
