package federation

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/vault"
)

var testStart = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)

// refreshEnv is a broker over a memstore holding grant g1, with the stub
// provider idp.
type refreshEnv struct {
	ctx     context.Context
	clock   *testclock.Clock
	st      *memstore.Store
	idp     *stubIdP
	b       *Broker
	revoked []store.Revocation
}

// newRefreshEnv builds the broker with keyring ring (nil: testKey alone);
// wrap, when set, wraps the store's vault (fault injection).
func newRefreshEnv(t *testing.T, ring *vault.Keyring, wrap func(store.Vault) store.Vault) *refreshEnv {
	t.Helper()
	e := &refreshEnv{ctx: t.Context(), clock: testclock.New(testStart), idp: newStubIdP(t, true)}
	e.st = memstore.New(&memstore.Options{Clock: e.clock.Now})
	if err := e.st.CreateGrant(e.ctx, &store.Grant{ID: "g1", Subject: "u", ClientID: "c", CreatedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ring == nil {
		var err error
		if ring, err = vault.New(testKey, nil); err != nil {
			t.Fatal(err)
		}
	}
	var v store.Vault = e.st
	if wrap != nil {
		v = wrap(e.st)
	}
	b, err := NewBroker(&BrokerOptions{
		Provider: e.idp.provider(t, e.clock.Now, "", ""), Keyring: ring, Vault: v, Grants: e.st, Clock: e.clock.Now,
		Revoked: func(r store.Revocation) { e.revoked = append(e.revoked, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.b = b
	return e
}

// put stores tokens as g1's vault entry, sealed by b, and returns the
// envelope.
func (e *refreshEnv) put(t *testing.T, b *Broker, tok *Tokens) []byte {
	t.Helper()
	env, err := b.seal(PurposeTokens, tok, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutVault(e.ctx, "g1", env, e.clock.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	return env
}

// stored opens g1's vault entry.
func (e *refreshEnv) stored(t *testing.T) (*Tokens, []byte) {
	t.Helper()
	tok, env, err := e.b.load(e.ctx, "g1")
	if err != nil {
		t.Fatalf("reading g1's vault entry: %v", err)
	}
	return tok, env
}

// revokedGrant reports whether g1 is revoked.
func (e *refreshEnv) revokedGrant(t *testing.T) bool {
	t.Helper()
	g, err := e.st.GetGrant(e.ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	return !g.RevokedAt.IsZero()
}

// due is an upstream token set whose access token is due for a refresh:
// issued 9m30s ago for 10 minutes.
func due(clock *testclock.Clock) *Tokens {
	now := clock.Now()
	return &Tokens{AccessToken: "at0", RefreshToken: "rt0", Subject: "u", Obtained: now.Add(-570 * time.Second), Expiry: now.Add(30 * time.Second)}
}

func TestFresh(t *testing.T) {
	clock := testclock.New(testStart)
	b := newTestBroker(t, testKey, memstore.New(nil), clock) // skew 60s
	now := clock.Now()
	for _, tc := range []struct {
		name  string
		tok   Tokens
		fresh bool
	}{
		{"no expiry", Tokens{}, true},
		{"an hour left", Tokens{Obtained: now, Expiry: now.Add(time.Hour)}, true},
		{"within the skew", Tokens{Obtained: now.Add(-time.Hour), Expiry: now.Add(59 * time.Second)}, false},
		// A token just obtained is usable even when its whole life is
		// shorter than twice the skew: the margin is half its lifetime.
		{"just obtained, 60s lifetime", Tokens{Obtained: now, Expiry: now.Add(60 * time.Second)}, true},
		{"just obtained, 10s lifetime", Tokens{Obtained: now, Expiry: now.Add(10 * time.Second)}, true},
		{"60s lifetime, half gone", Tokens{Obtained: now.Add(-30 * time.Second), Expiry: now.Add(30 * time.Second)}, false},
		{"60s lifetime, a third gone", Tokens{Obtained: now.Add(-20 * time.Second), Expiry: now.Add(40 * time.Second)}, true},
		{"expired", Tokens{Obtained: now.Add(-time.Hour), Expiry: now.Add(-time.Second)}, false},
		// Entries stored without Obtained: the skew alone.
		{"unknown lifetime, 60s left", Tokens{Expiry: now.Add(60 * time.Second)}, false},
		{"unknown lifetime, 61s left", Tokens{Expiry: now.Add(61 * time.Second)}, true},
	} {
		if got := b.fresh(&tc.tok); got != tc.fresh {
			t.Errorf("%s: fresh = %t, want %t", tc.name, got, tc.fresh)
		}
	}
}

func TestTokenExpiry(t *testing.T) {
	clock := testclock.New(testStart)
	idp := newStubIdP(t, true)
	p := idp.provider(t, clock.Now, "", "")
	now := clock.Now()
	old := &Tokens{AccessToken: "at0", RefreshToken: "rt0", Subject: "u"}

	idp.answerJSON(t, map[string]any{"access_token": "a1", "token_type": "Bearer", "expires_in": 120, "refresh_token": "rt1"})
	nt, err := p.Refresh(t.Context(), old)
	if err != nil || !nt.Expiry.Equal(now.Add(120*time.Second)) || !nt.Obtained.Equal(now) || nt.RefreshToken != "rt1" {
		t.Fatalf("JSON expires_in: %+v, %v", nt, err)
	}
	// A form-encoded response: x/oauth2 reads expires_in into Expiry only.
	idp.answer(http.StatusOK, "application/x-www-form-urlencoded", "access_token=a2&token_type=bearer&expires_in=120")
	nt, err = p.Refresh(t.Context(), old)
	if err != nil || nt.Expiry.Before(now.Add(118*time.Second)) || nt.Expiry.After(now.Add(120*time.Second)) || nt.RefreshToken != "rt0" {
		t.Fatalf("form-encoded expires_in: %+v, %v; want an expiry of about 120s and the refresh token kept", nt, err)
	}
	// No expiry at all: a renewable token is taken to expire soon.
	idp.answerJSON(t, map[string]any{"access_token": "a3", "token_type": "Bearer"})
	nt, err = p.Refresh(t.Context(), old)
	if err != nil || !nt.Expiry.Equal(now.Add(DefaultTokenLifetime)) {
		t.Fatalf("no expires_in: %+v, %v; want expiry now + %v", nt, err, DefaultTokenLifetime)
	}
	// Not renewable: no expiry, used until the provider refuses it.
	if nt := p.tokens(&oauth2.Token{AccessToken: "a4"}, false); !nt.Expiry.IsZero() {
		t.Fatalf("a token without expiry or refresh token expires at %v", nt.Expiry)
	}
}

// TestResourceSent: the RFC 8707 resource goes with the code exchange and
// the refresh, not only the authorization request.
func TestResourceSent(t *testing.T) {
	clock := testclock.New(testStart)
	idp := newStubIdP(t, true)
	const resource = "https://api.example/"
	p := idp.provider(t, clock.Now, resource, "")
	if _, err := p.Exchange(t.Context(), "code-1", "verifier-1", "nonce"); !errors.Is(err, ErrTokenEndpoint) {
		t.Fatalf("Exchange against a refusing token endpoint: %v", err)
	}
	idp.answerJSON(t, map[string]any{"access_token": "a1", "token_type": "Bearer", "expires_in": 60})
	if _, err := p.Refresh(t.Context(), &Tokens{RefreshToken: "rt0"}); err != nil {
		t.Fatal(err)
	}
	forms := idp.requests()
	if len(forms) != 2 {
		t.Fatalf("%d token requests, want 2", len(forms))
	}
	if f := forms[0]; f.Get("grant_type") != "authorization_code" || f.Get("code") != "code-1" || f.Get("code_verifier") != "verifier-1" || f["resource"][0] != resource {
		t.Errorf("code exchange form %v", f)
	}
	if f := forms[1]; f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != "rt0" || len(f["resource"]) != 1 || f.Get("resource") != resource {
		t.Errorf("refresh form %v", f)
	}
	// Without a resource, none is sent.
	plain := idp.provider(t, clock.Now, "", "")
	if _, err := plain.Refresh(t.Context(), &Tokens{RefreshToken: "rt0"}); err != nil {
		t.Fatal(err)
	}
	if f := idp.requests()[2]; f.Has("resource") {
		t.Errorf("refresh form without a configured resource: %v", f)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	clock := testclock.New(testStart)
	idp := newStubIdP(t, true)
	p := idp.provider(t, clock.Now, "", "")
	const js = "application/json"
	for _, tc := range []struct {
		name         string
		status       int
		body         string
		want, reject error
	}{
		{"invalid_grant", 400, `{"error":"invalid_grant"}`, ErrRefused, ErrTokenEndpoint},
		{"503", 503, `overloaded`, ErrUnavailable, ErrRefused},
		{"502", 502, `bad gateway`, ErrUnavailable, ErrServerError},
		{"temporarily_unavailable", 400, `{"error":"temporarily_unavailable"}`, ErrUnavailable, ErrServerError},
		{"server_error", 500, `{"error":"server_error"}`, ErrServerError, ErrUnavailable},
		{"500", 500, `{}`, ErrServerError, ErrUnavailable},
		{"invalid_client", 401, `{"error":"invalid_client"}`, ErrTokenEndpoint, ErrUnavailable},
		{"not JSON", 200, `<html>`, ErrTokenEndpoint, ErrUnavailable},
	} {
		idp.answer(tc.status, js, tc.body)
		_, err := p.Refresh(t.Context(), &Tokens{RefreshToken: "rt0"})
		if !errors.Is(err, tc.want) || errors.Is(err, tc.reject) {
			t.Errorf("%s: %v, want %v and not %v", tc.name, err, tc.want, tc.reject)
		}
		if tc.want != ErrRefused && !errors.Is(err, ErrTokenEndpoint) {
			t.Errorf("%s: %v does not wrap ErrTokenEndpoint", tc.name, err)
		}
	}
	// Nothing listens: unavailable.
	p.conf.Endpoint.TokenURL = "http://127.0.0.1:1/token"
	if _, err := p.Refresh(t.Context(), &Tokens{RefreshToken: "rt0"}); !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrTokenEndpoint) {
		t.Errorf("unreachable token endpoint: %v, want ErrUnavailable", err)
	}
}

// TestDeniedErrorKinds: a provider's error response for the sign-in is a
// refusal, unless it says the provider is unavailable or failed.
func TestDeniedErrorKinds(t *testing.T) {
	for code, want := range map[string]error{
		"access_denied":           ErrDenied,
		"invalid_scope":           ErrDenied,
		"temporarily_unavailable": ErrUnavailable,
		"server_error":            ErrServerError,
	} {
		var err error = &DeniedError{Code: code}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v does not wrap %v", code, err, want)
		}
		if want != ErrDenied && errors.Is(err, ErrDenied) {
			t.Errorf("%s wraps ErrDenied", code)
		}
	}
}

// TestBrokerProviderDown: while the provider cannot be reached, a token
// that has not expired is still handed out; once it has, the caller gets
// the provider's error, and the grant stands.
func TestBrokerProviderDown(t *testing.T) {
	e := newRefreshEnv(t, nil, nil)
	e.put(t, e.b, due(e.clock))
	e.idp.answer(http.StatusServiceUnavailable, "text/plain", "down for maintenance")
	if at, err := e.b.AccessToken(e.ctx, "g1"); err != nil || at != "at0" {
		t.Fatalf("AccessToken while the provider is down, token valid: %q, %v", at, err)
	}
	e.clock.Advance(30 * time.Second)
	_, err := e.b.AccessToken(e.ctx, "g1")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrReauthorizationRequired) {
		t.Fatalf("AccessToken while the provider is down, token expired: %v, want ErrUnavailable", err)
	}
	if e.revokedGrant(t) {
		t.Fatal("an unreachable provider ended the grant")
	}
	// Back up: refreshed.
	e.idp.answerJSON(t, map[string]any{"access_token": "at1", "token_type": "Bearer", "expires_in": 600, "refresh_token": "rt1"})
	if at, err := e.b.AccessToken(e.ctx, "g1"); err != nil || at != "at1" {
		t.Fatalf("AccessToken once the provider is back: %q, %v", at, err)
	}
	if tok, _ := e.stored(t); tok.RefreshToken != "rt1" || tok.AccessToken != "at1" {
		t.Fatalf("stored tokens %+v", tok)
	}
}

// TestBrokerRefusedEndsGrant: a refused refresh revokes the grant (and
// tells this process), and later calls do not ask the provider again.
func TestBrokerRefusedEndsGrant(t *testing.T) {
	e := newRefreshEnv(t, nil, nil)
	e.put(t, e.b, due(e.clock))
	e.idp.answer(http.StatusBadRequest, "application/json", `{"error":"invalid_grant"}`)
	if _, err := e.b.AccessToken(e.ctx, "g1"); !errors.Is(err, ErrReauthorizationRequired) {
		t.Fatalf("AccessToken after a refused refresh: %v", err)
	}
	if !e.revokedGrant(t) {
		t.Fatal("the grant is not revoked")
	}
	if len(e.revoked) != 1 || e.revoked[0].Kind != store.RevokedGrant || e.revoked[0].ID != "g1" {
		t.Fatalf("revocations told to this process: %+v", e.revoked)
	}
	if _, err := e.st.GetVault(e.ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("vault entry after the revocation: %v", err)
	}
	if err := e.b.Check(e.ctx, "g1"); !errors.Is(err, ErrReauthorizationRequired) {
		t.Fatalf("Check after a refused refresh: %v", err)
	}
	if n := len(e.idp.requests()); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}
	if len(e.revoked) != 1 {
		t.Fatalf("the grant was revoked %d times", len(e.revoked))
	}
}

// TestBrokerRefusedMarkRevokes: an instance that reads the entry marked
// refused (the revocation has not been stored, say the store failed)
// answers re-authorization without asking the provider, and revokes.
func TestBrokerRefusedMarkRevokes(t *testing.T) {
	e := newRefreshEnv(t, nil, nil)
	tok := due(e.clock)
	tok.Refused = true
	e.put(t, e.b, tok)
	if _, err := e.b.AccessToken(e.ctx, "g1"); !errors.Is(err, ErrReauthorizationRequired) {
		t.Fatalf("AccessToken of a refused entry: %v", err)
	}
	if !e.revokedGrant(t) || len(e.idp.requests()) != 0 {
		t.Fatalf("revoked %t, %d token requests; want revoked and none", e.revokedGrant(t), len(e.idp.requests()))
	}
}

// TestBrokerNoEntryEndsGrant: a live grant without upstream tokens (created
// before remote mode, or its entry lost) is revoked.
func TestBrokerNoEntryEndsGrant(t *testing.T) {
	e := newRefreshEnv(t, nil, nil)
	if err := e.b.Check(e.ctx, "g1"); !errors.Is(err, ErrReauthorizationRequired) {
		t.Fatalf("Check without an entry: %v", err)
	}
	if !e.revokedGrant(t) {
		t.Fatal("the grant is not revoked")
	}
}

// failingVault fails the next fail UpdateVault calls before they reach the
// store (fault injection: a store that is briefly down), or with
// storedReplyLost, fails them after they were stored, as a reply lost on
// the way back would.
type failingVault struct {
	store.Vault
	fail            atomic.Int64
	storedReplyLost bool
	updates         atomic.Int64
}

var errStoreDown = errors.New("store down")

func (f *failingVault) UpdateVault(ctx context.Context, id string, old, env []byte) error {
	f.updates.Add(1)
	if f.fail.Add(-1) >= 0 {
		if f.storedReplyLost {
			if err := f.Vault.UpdateVault(ctx, id, old, env); err != nil {
				return err
			}
		}
		return errStoreDown
	}
	return f.Vault.UpdateVault(ctx, id, old, env)
}

// TestBrokerStoreFailsAfterRefresh: the provider has refreshed (and
// rotated) the tokens, and the store fails the write: it is tried again
// within the refresh, and the caller gets the new access token either way.
func TestBrokerStoreFailsAfterRefresh(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      int64
		replyLost bool
		stored    bool
	}{
		{"fails twice", 2, false, true},
		{"reply lost", 1, true, true},
		{"fails every time", writeAttempts, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fv *failingVault
			e := newRefreshEnv(t, nil, func(v store.Vault) store.Vault {
				fv = &failingVault{Vault: v, storedReplyLost: tc.replyLost}
				fv.fail.Store(tc.fail)
				return fv
			})
			e.put(t, e.b, due(e.clock))
			e.idp.answerJSON(t, map[string]any{"access_token": "at1", "token_type": "Bearer", "expires_in": 600, "refresh_token": "rt1"})
			if at, err := e.b.AccessToken(e.ctx, "g1"); err != nil || at != "at1" {
				t.Fatalf("AccessToken = %q, %v; want the new token", at, err)
			}
			tok, _ := e.stored(t)
			if stored := tok.RefreshToken == "rt1"; stored != tc.stored {
				t.Fatalf("stored refresh token %q after %d update attempts", tok.RefreshToken, fv.updates.Load())
			}
			if n := len(e.idp.requests()); n != 1 {
				t.Fatalf("%d token requests, want 1", n)
			}
		})
	}
}

// conflictVault writes another envelope into the entry just before the
// first UpdateVault reaches the store (fault injection: a writer whose
// lease lapsed).
type conflictVault struct {
	store.Vault
	other []byte
	once  atomic.Bool
}

func (c *conflictVault) UpdateVault(ctx context.Context, id string, old, env []byte) error {
	if c.once.CompareAndSwap(false, true) {
		if err := c.Vault.UpdateVault(ctx, id, old, c.other); err != nil {
			return err
		}
	}
	return c.Vault.UpdateVault(ctx, id, old, env)
}

// TestBrokerRefreshKeepsConcurrentWrite: a write that lands during the
// refresh is not overwritten, and the caller still gets the new token.
func TestBrokerRefreshKeepsConcurrentWrite(t *testing.T) {
	var cv *conflictVault
	e := newRefreshEnv(t, nil, func(v store.Vault) store.Vault { cv = &conflictVault{Vault: v}; return cv })
	e.put(t, e.b, due(e.clock))
	other, err := e.b.seal(PurposeTokens, &Tokens{AccessToken: "other-at", RefreshToken: "other-rt", Subject: "u", Obtained: e.clock.Now(), Expiry: e.clock.Now().Add(time.Hour)}, "g1")
	if err != nil {
		t.Fatal(err)
	}
	cv.other = other
	e.idp.answerJSON(t, map[string]any{"access_token": "at1", "token_type": "Bearer", "expires_in": 600, "refresh_token": "rt1"})
	if at, err := e.b.AccessToken(e.ctx, "g1"); err != nil || at != "at1" {
		t.Fatalf("AccessToken = %q, %v", at, err)
	}
	if _, env := e.stored(t); !bytes.Equal(env, other) {
		t.Fatal("the refresh overwrote a write made meanwhile")
	}
}

// TestBrokerResealOnRefresh: an entry sealed with a previous vault key is
// sealed with the current key when it is refreshed.
func TestBrokerResealOnRefresh(t *testing.T) {
	newKey, _ := vault.GenerateKey()
	ring, err := vault.New(newKey, []string{testKey})
	if err != nil {
		t.Fatal(err)
	}
	e := newRefreshEnv(t, ring, nil)
	oldB := newTestBroker(t, testKey, e.st, e.clock)
	e.put(t, oldB, due(e.clock))
	e.idp.answerJSON(t, map[string]any{"access_token": "at1", "token_type": "Bearer", "expires_in": 600})
	if at, err := e.b.AccessToken(e.ctx, "g1"); err != nil || at != "at1" {
		t.Fatalf("AccessToken = %q, %v", at, err)
	}
	if tok, env := e.stored(t); vault.EnvelopeKeyID(env) != ring.KeyID() || tok.AccessToken != "at1" || tok.RefreshToken != "rt0" {
		t.Fatalf("entry after the refresh: key %s, %+v; want key %s", vault.EnvelopeKeyID(env), tok, ring.KeyID())
	}
}

// hookVault runs afterGet once, between a GetVault and the caller's next
// step, and counts writes (fault injection: a concurrent writer).
type hookVault struct {
	store.Vault
	afterGet func()
	updates  atomic.Int64
}

func (h *hookVault) GetVault(ctx context.Context, id string) ([]byte, error) {
	env, err := h.Vault.GetVault(ctx, id)
	if f := h.afterGet; f != nil {
		h.afterGet = nil
		f()
	}
	return env, err
}

func (h *hookVault) UpdateVault(ctx context.Context, id string, old, env []byte) error {
	h.updates.Add(1)
	return h.Vault.UpdateVault(ctx, id, old, env)
}

// TestReadNeverLosesRefresh: a plain read of an entry sealed with a
// previous key, while the lease holder stores refreshed tokens, never
// writes the stale tokens back (the provider rotated the refresh token).
func TestReadNeverLosesRefresh(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(testStart)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	if err := st.CreateGrant(ctx, &store.Grant{ID: "g1", Subject: "u", ClientID: "c", CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	oldB := newTestBroker(t, testKey, st, clock)
	old, _ := oldB.seal(PurposeTokens, &Tokens{AccessToken: "at0", RefreshToken: "rt0", Subject: "u", Expiry: clock.Now().Add(time.Hour)}, "g1")
	if err := st.PutVault(ctx, "g1", old, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	newKey, _ := vault.GenerateKey()
	ring, _ := vault.New(newKey, []string{testKey})
	hv := &hookVault{Vault: st}
	reader, _ := NewBroker(&BrokerOptions{Provider: offlineProvider(true), Keyring: ring, Vault: hv, Clock: clock.Now})
	hv.afterGet = func() {
		e1, _ := reader.seal(PurposeTokens, &Tokens{AccessToken: "at1", RefreshToken: "rt1", Subject: "u", Expiry: clock.Now().Add(time.Hour)}, "g1")
		if err := st.UpdateVault(ctx, "g1", old, e1); err != nil {
			t.Error(err)
		}
	}
	if _, err := reader.AccessToken(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	got, _, err := reader.load(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if got.RefreshToken != "rt1" {
		t.Fatalf("vault holds refresh token %q after a concurrent refresh stored rt1", got.RefreshToken)
	}
}

// TestNoResealPingPong: during a rolling change of the vault key, instances
// whose current keys differ read the same entry without rewriting it.
func TestNoResealPingPong(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(testStart)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	if err := st.CreateGrant(ctx, &store.Grant{ID: "g1", Subject: "u", ClientID: "c", CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	k2, _ := vault.GenerateKey()
	ringA, _ := vault.New(k2, []string{testKey}) // restarted: the new key is current
	ringB, _ := vault.New(testKey, []string{k2}) // not restarted yet
	hv := &hookVault{Vault: st}
	a, _ := NewBroker(&BrokerOptions{Provider: offlineProvider(true), Keyring: ringA, Vault: hv, Clock: clock.Now})
	b, _ := NewBroker(&BrokerOptions{Provider: offlineProvider(true), Keyring: ringB, Vault: hv, Clock: clock.Now})
	e, _ := b.seal(PurposeTokens, &Tokens{AccessToken: "at0", RefreshToken: "rt0", Subject: "u", Expiry: clock.Now().Add(time.Hour)}, "g1")
	if err := st.PutVault(ctx, "g1", e, clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		for _, br := range []*Broker{a, b} {
			if at, err := br.AccessToken(ctx, "g1"); err != nil || at != "at0" {
				t.Fatalf("AccessToken = %q, %v", at, err)
			}
		}
	}
	if n := hv.updates.Load(); n != 0 {
		t.Fatalf("10 reads wrote the vault entry %d times", n)
	}
}

// TestAccessTokenTyp: a provider without ID tokens proves the login with
// its RFC 9068 access token, which must be typed at+jwt (RFC 9068 §4): an
// ID token or another JWT signed with the same keys is refused.
func TestAccessTokenTyp(t *testing.T) {
	clock := testclock.New(testStart)
	idp := newStubIdP(t, false)
	ring, _ := vault.New(testKey, nil)
	b, err := NewBroker(&BrokerOptions{Provider: idp.provider(t, clock.Now, "", ""), Keyring: ring, Vault: memstore.New(nil), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now().Unix()
	for typ, ok := range map[string]bool{"at+jwt": true, "application/AT+JWT": true, "JWT": false, "": false} {
		at := idp.sign(t, typ, map[string]any{"iss": idp.url, "sub": "user-1", "client_id": stubClientID, "exp": now + 600, "iat": now, "jti": "j"})
		idp.answerJSON(t, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 600})
		state := "request-1.state"
		_, login, err := b.Start("request-1", state)
		if err != nil {
			t.Fatal(err)
		}
		l, _, err := b.Finish(t.Context(), "request-1", login, url.Values{"state": {state}, "code": {"c"}})
		if ok && (err != nil || l.Subject != "user-1") {
			t.Errorf("typ %q: %v, want the login of user-1", typ, err)
		}
		if !ok && (!errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), "at+jwt")) {
			t.Errorf("typ %q: %v, want ErrIdentity naming at+jwt", typ, err)
		}
	}
}

// TestEmailSubject: with subjectClaim email, only an address the provider
// says it verified becomes the subject (OpenID Connect Core §5.7).
func TestEmailSubject(t *testing.T) {
	clock := testclock.New(testStart)
	idp := newStubIdP(t, true)
	ring, _ := vault.New(testKey, nil)
	now := clock.Now().Unix()
	for _, tc := range []struct {
		claim    string
		verified any // nil: absent
		ok       bool
	}{
		{"email", true, true},
		{"email", false, false},
		{"email", nil, false},
		{"email", "true", false},
		{"sub", false, true},
	} {
		b, err := NewBroker(&BrokerOptions{Provider: idp.provider(t, clock.Now, "", tc.claim), Keyring: ring, Vault: memstore.New(nil), Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		state := "request-1.state"
		authURL, login, err := b.Start("request-1", state)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(authURL)
		claims := map[string]any{"iss": idp.url, "sub": "user-1", "aud": stubClientID, "exp": now + 600, "iat": now,
			"nonce": u.Query().Get("nonce"), "email": "carol@example.com"}
		if tc.verified != nil {
			claims["email_verified"] = tc.verified
		}
		idp.answerJSON(t, map[string]any{"access_token": "opaque", "token_type": "Bearer", "expires_in": 600, "id_token": idp.sign(t, "JWT", claims)})
		l, _, err := b.Finish(t.Context(), "request-1", login, url.Values{"state": {state}, "code": {"c"}})
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s, email_verified %v: %v", tc.claim, tc.verified, err)
		case tc.ok && tc.claim == "email" && l.Subject != "carol@example.com":
			t.Errorf("subject %q", l.Subject)
		case !tc.ok && (!errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), "email_verified")):
			t.Errorf("%s, email_verified %v: %v, want ErrIdentity naming email_verified", tc.claim, tc.verified, err)
		}
	}
}

// FuzzJWTTyp: reading the typ header of arbitrary bytes never panics, and
// only an at+jwt type is taken for an access token.
func FuzzJWTTyp(f *testing.F) {
	f.Add("eyJ0eXAiOiJhdCtqd3QifQ.e30.sig")
	f.Add("eyJ0eXAiOjF9.e30.")
	f.Add("...")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		typ := jwtTyp(raw)
		if accessTokenTyp(typ) && !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), "at+jwt") {
			t.Fatalf("typ %q taken for at+jwt", typ)
		}
	})
}
