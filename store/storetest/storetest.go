// Package storetest is the conformance suite every [store.Store] backend runs.
//
// The contract lives in the doc comments of package store; this suite checks
// each of its sentences against a real backend (round trips, expiry, one-time
// codes, refresh-token rotation and reuse detection per RFC 9700 §4.14.2
// with its retry grace, listing order, copy semantics and concurrent use), so
// that memory, file and Redis stores behave the same. A backend's test calls
// [Run] with a function that opens a fresh, empty store reading time from the
// given clock.
package storetest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/frontmcp-go/frontmcp/store"
)

// Workers is the number of goroutines the concurrency tests race against one
// record.
const Workers = 16

// start is the fake clock's initial time: whole milliseconds, so that a backend
// storing millisecond precision still hits every expiry boundary exactly.
var start = time.Date(2031, time.March, 14, 15, 9, 26, 535_000_000, time.UTC)

// cmpOpts compares records the way a JSON-backed store returns them: times to
// the millisecond (location and monotonic reading are not preserved by JSON),
// nil and empty slices and maps alike.
var cmpOpts = cmp.Options{
	cmpopts.EquateApproxTime(time.Millisecond),
	cmpopts.EquateEmpty(),
}

// Run runs the conformance suite. For every subtest it calls open to get a new,
// empty store whose only source of time is clock; the suite advances clock to
// expire records. The suite closes each store once when its subtest ends, so
// open must not close it, and must not share data between calls.
func Run(t *testing.T, open func(t *testing.T, clock store.Clock) store.Store) {
	t.Run("Pending", func(t *testing.T) { testPending(t, open) })
	t.Run("Codes", func(t *testing.T) { testCodes(t, open) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, open) })
	t.Run("RotateRefresh", func(t *testing.T) { testRotate(t, open) })
	t.Run("RetryGrace", func(t *testing.T) { testRetryGrace(t, open) })
	t.Run("Clients", func(t *testing.T) { testClients(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Copies", func(t *testing.T) { testCopies(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, open) })
	t.Run("PingClose", func(t *testing.T) { testPingClose(t, open) })
	t.Run("Vault", func(t *testing.T) { testVault(t, open) })
}

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is one subtest's store, clock and context.
type harness struct {
	t      *testing.T
	s      store.Store
	clock  *fakeClock
	ctx    context.Context
	closed bool
}

func setup(t *testing.T, open func(t *testing.T, clock store.Clock) store.Store) *harness {
	t.Helper()
	h := &harness{t: t, clock: &fakeClock{now: start}, ctx: t.Context()}
	h.s = open(t, h.clock.Now)
	t.Cleanup(func() {
		if h.closed {
			return
		}
		if err := h.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// sampleClaims returns JSON-shaped claims (what every backend returns after a
// round trip): strings, bools, float64 numbers, nested arrays and objects.
func sampleClaims() store.Claims {
	return store.Claims{
		"email":          "ada@example.com",
		"email_verified": true,
		"age":            float64(36),
		"groups":         []any{"admins", "engineers"},
		"address":        map[string]any{"country": "GB", "lines": []any{"12 St James's Square"}},
		"roles":          []any{map[string]any{"name": "owner", "projects": []any{"apollo"}}},
		"nothing":        nil,
	}
}

func (h *harness) pending(id string) *store.PendingAuthorization {
	now := h.clock.Now()
	return &store.PendingAuthorization{
		ID:                  id,
		ClientID:            "client-1",
		RedirectURI:         "https://app.example/callback",
		State:               "state-" + id,
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Resource:            "https://mcp.example/mcp",
		Scopes:              []string{"tools:read", "tools:write"},
		Subject:             "user-1",
		Claims:              sampleClaims(),
		AuthTime:            now.Add(-time.Minute),
		CreatedAt:           now,
		ExpiresAt:           now.Add(10 * time.Minute),
	}
}

func (h *harness) code(hash, grantID string) *store.AuthCode {
	now := h.clock.Now()
	return &store.AuthCode{
		Hash:                hash,
		GrantID:             grantID,
		ClientID:            "client-1",
		RedirectURI:         "https://app.example/callback",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Resource:            "https://mcp.example/mcp",
		Scopes:              []string{"tools:read"},
		Subject:             "user-1",
		Claims:              sampleClaims(),
		AuthTime:            now.Add(-time.Minute),
		ExpiresAt:           now.Add(time.Minute),
	}
}

func (h *harness) grant(id, subject, clientID, refreshHash string) *store.Grant {
	now := h.clock.Now()
	return &store.Grant{
		ID:               id,
		ClientID:         clientID,
		Subject:          subject,
		Scopes:           []string{"tools:read", "tools:write"},
		Resource:         "https://mcp.example/mcp",
		Claims:           sampleClaims(),
		RefreshHash:      refreshHash,
		RefreshExpiresAt: now.Add(24 * time.Hour),
		AuthTime:         now.Add(-time.Minute),
		CreatedAt:        now,
		ExpiresAt:        now.Add(30 * 24 * time.Hour),
	}
}

func (h *harness) client(id string) *store.Client {
	return &store.Client{
		ID:                      id,
		SecretHash:              "secret-hash-" + id,
		Name:                    "Client " + id,
		RedirectURIs:            []string{"https://app.example/callback", "http://127.0.0.1/callback"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: "client_secret_basic",
		Scopes:                  []string{"tools:read"},
		Dynamic:                 true,
		RegistrationTokenHash:   "registration-hash-" + id,
		Metadata:                store.Claims{"logo_uri": "https://app.example/logo.png", "contacts": []any{"ops@app.example"}},
		CreatedAt:               h.clock.Now(),
	}
}

// must fails the test when err is not nil.
func (h *harness) must(op string, err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: unexpected error %v", op, err)
	}
}

// wantErr fails the test when err does not wrap target.
func (h *harness) wantErr(op string, err, target error) {
	h.t.Helper()
	if !errors.Is(err, target) {
		h.t.Fatalf("%s: error = %v, want %v", op, err, target)
	}
}

// wantEqual fails the test when got and want differ.
func (h *harness) wantEqual(op string, got, want any) {
	h.t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		h.t.Fatalf("%s mismatch (-want +got):\n%s", op, diff)
	}
}

// getGrant returns the grant as stored: GetGrant's result, which must leave
// PreviousHashes empty, with the hashes PreviousRefreshHashes returns.
func (h *harness) getGrant(id string) *store.Grant {
	h.t.Helper()
	g, err := h.s.GetGrant(h.ctx, id)
	h.must("GetGrant "+id, err)
	if len(g.PreviousHashes) > 0 {
		h.t.Fatalf("GetGrant %s returned PreviousHashes %q, want them left out", id, g.PreviousHashes)
	}
	g.PreviousHashes, err = h.s.PreviousRefreshHashes(h.ctx, id)
	h.must("PreviousRefreshHashes "+id, err)
	return g
}

// withoutPrevious returns a copy of g without PreviousHashes: a grant as
// GetGrant, ListGrants and RotateRefresh return it.
func withoutPrevious(g *store.Grant) *store.Grant {
	cp := *g
	cp.PreviousHashes = nil
	return &cp
}

func testPending(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		h := setup(t, open)
		p := h.pending("p1")
		h.must("SavePending", h.s.SavePending(h.ctx, p))
		got, err := h.s.GetPending(h.ctx, "p1")
		h.must("GetPending", err)
		h.wantEqual("GetPending", got, p)
		// Reading does not consume.
		got, err = h.s.GetPending(h.ctx, "p1")
		h.must("GetPending again", err)
		h.wantEqual("GetPending again", got, p)
	})
	t.Run("MinimalRecord", func(t *testing.T) {
		h := setup(t, open)
		p := &store.PendingAuthorization{ID: "p1", ClientID: "c", CreatedAt: h.clock.Now(), ExpiresAt: h.clock.Now().Add(time.Minute)}
		h.must("SavePending", h.s.SavePending(h.ctx, p))
		got, err := h.s.GetPending(h.ctx, "p1")
		h.must("GetPending", err)
		h.wantEqual("GetPending", got, p)
	})
	t.Run("SaveReplaces", func(t *testing.T) {
		h := setup(t, open)
		p := h.pending("p1")
		p.ExpiresAt = h.clock.Now().Add(20 * time.Minute)
		h.must("SavePending", h.s.SavePending(h.ctx, p))
		// The user logs in: the request is saved again with a subject and a
		// shorter expiry.
		q := h.pending("p1")
		q.Subject = "user-2"
		q.Claims = store.Claims{"email": "grace@example.com"}
		q.ExpiresAt = h.clock.Now().Add(5 * time.Minute)
		h.must("SavePending replace", h.s.SavePending(h.ctx, q))
		got, err := h.s.GetPending(h.ctx, "p1")
		h.must("GetPending", err)
		h.wantEqual("GetPending", got, q)
		h.clock.Set(q.ExpiresAt)
		_, err = h.s.GetPending(h.ctx, "p1")
		h.wantErr("GetPending after the replacement's expiry", err, store.ErrNotFound)
	})
	t.Run("SaveReplacesWithLongerExpiry", func(t *testing.T) {
		h := setup(t, open)
		p := h.pending("p1")
		h.must("SavePending", h.s.SavePending(h.ctx, p))
		q := h.pending("p1")
		q.ExpiresAt = p.ExpiresAt.Add(10 * time.Minute)
		h.must("SavePending replace", h.s.SavePending(h.ctx, q))
		h.clock.Set(p.ExpiresAt)
		got, err := h.s.GetPending(h.ctx, "p1")
		h.must("GetPending after the first expiry", err)
		h.wantEqual("GetPending", got, q)
	})
	t.Run("Unknown", func(t *testing.T) {
		h := setup(t, open)
		_, err := h.s.GetPending(h.ctx, "nope")
		h.wantErr("GetPending", err, store.ErrNotFound)
		_, err = h.s.ConsumePending(h.ctx, "nope")
		h.wantErr("ConsumePending", err, store.ErrNotFound)
	})
	t.Run("Expiry", func(t *testing.T) {
		h := setup(t, open)
		p := h.pending("p1")
		h.must("SavePending", h.s.SavePending(h.ctx, p))
		h.clock.Set(p.ExpiresAt.Add(-time.Second))
		_, err := h.s.GetPending(h.ctx, "p1")
		h.must("GetPending just before expiry", err)
		h.clock.Set(p.ExpiresAt)
		_, err = h.s.GetPending(h.ctx, "p1")
		h.wantErr("GetPending at expiry", err, store.ErrNotFound)
		_, err = h.s.ConsumePending(h.ctx, "p1")
		h.wantErr("ConsumePending at expiry", err, store.ErrNotFound)
	})
	t.Run("ConsumeOnce", func(t *testing.T) {
		h := setup(t, open)
		p := h.pending("p1")
		h.must("SavePending", h.s.SavePending(h.ctx, p))
		got, err := h.s.ConsumePending(h.ctx, "p1")
		h.must("ConsumePending", err)
		h.wantEqual("ConsumePending", got, p)
		_, err = h.s.ConsumePending(h.ctx, "p1")
		h.wantErr("second ConsumePending", err, store.ErrNotFound)
		_, err = h.s.GetPending(h.ctx, "p1")
		h.wantErr("GetPending after consume", err, store.ErrNotFound)
	})
	t.Run("SaveAfterConsume", func(t *testing.T) {
		h := setup(t, open)
		h.must("SavePending", h.s.SavePending(h.ctx, h.pending("p1")))
		_, err := h.s.ConsumePending(h.ctx, "p1")
		h.must("ConsumePending", err)
		p := h.pending("p1")
		h.must("SavePending again", h.s.SavePending(h.ctx, p))
		got, err := h.s.GetPending(h.ctx, "p1")
		h.must("GetPending", err)
		h.wantEqual("GetPending", got, p)
	})
	t.Run("Independent", func(t *testing.T) {
		h := setup(t, open)
		a, b := h.pending("a"), h.pending("b")
		b.ExpiresAt = a.ExpiresAt.Add(time.Minute)
		h.must("SavePending a", h.s.SavePending(h.ctx, a))
		h.must("SavePending b", h.s.SavePending(h.ctx, b))
		_, err := h.s.ConsumePending(h.ctx, "a")
		h.must("ConsumePending a", err)
		got, err := h.s.GetPending(h.ctx, "b")
		h.must("GetPending b", err)
		h.wantEqual("GetPending b", got, b)
		h.clock.Set(a.ExpiresAt)
		got, err = h.s.GetPending(h.ctx, "b")
		h.must("GetPending b after a's expiry", err)
		h.wantEqual("GetPending b after a's expiry", got, b)
	})
}

func testCodes(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		h := setup(t, open)
		c := h.code("hash-1", "grant-1")
		h.must("SaveCode", h.s.SaveCode(h.ctx, c))
		got, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.must("ConsumeCode", err)
		h.wantEqual("ConsumeCode", got, c)
	})
	t.Run("SaveExists", func(t *testing.T) {
		h := setup(t, open)
		c := h.code("hash-1", "grant-1")
		h.must("SaveCode", h.s.SaveCode(h.ctx, c))
		other := h.code("hash-1", "grant-2")
		h.wantErr("SaveCode duplicate", h.s.SaveCode(h.ctx, other), store.ErrExists)
		got, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.must("ConsumeCode", err)
		h.wantEqual("ConsumeCode keeps the first code", got, c)
		// The used marker keeps the hash taken until the code expires.
		h.wantErr("SaveCode over a used code", h.s.SaveCode(h.ctx, other), store.ErrExists)
	})
	t.Run("ConsumeTwiceIsReuse", func(t *testing.T) {
		h := setup(t, open)
		c := h.code("hash-1", "grant-1")
		h.must("SaveCode", h.s.SaveCode(h.ctx, c))
		_, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.must("ConsumeCode", err)
		for i := range 2 {
			h.clock.Advance(time.Second)
			got, err := h.s.ConsumeCode(h.ctx, "hash-1")
			h.wantErr("ConsumeCode replay", err, store.ErrReused)
			if got == nil {
				t.Fatalf("replay %d: ConsumeCode returned no code with ErrReused", i)
			}
			h.wantEqual("ConsumeCode replay returns the code", got, c)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		h := setup(t, open)
		_, err := h.s.ConsumeCode(h.ctx, "nope")
		h.wantErr("ConsumeCode", err, store.ErrNotFound)
	})
	t.Run("Expiry", func(t *testing.T) {
		h := setup(t, open)
		c := h.code("hash-1", "grant-1")
		h.must("SaveCode", h.s.SaveCode(h.ctx, c))
		h.clock.Set(c.ExpiresAt)
		_, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.wantErr("ConsumeCode at expiry", err, store.ErrNotFound)
	})
	t.Run("ConsumeJustBeforeExpiry", func(t *testing.T) {
		h := setup(t, open)
		c := h.code("hash-1", "grant-1")
		h.must("SaveCode", h.s.SaveCode(h.ctx, c))
		h.clock.Set(c.ExpiresAt.Add(-time.Second))
		got, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.must("ConsumeCode", err)
		h.wantEqual("ConsumeCode", got, c)
	})
	t.Run("UsedMarkerLivesUntilExpiry", func(t *testing.T) {
		h := setup(t, open)
		c := h.code("hash-1", "grant-1")
		h.must("SaveCode", h.s.SaveCode(h.ctx, c))
		_, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.must("ConsumeCode", err)
		h.clock.Set(c.ExpiresAt.Add(-time.Second))
		_, err = h.s.ConsumeCode(h.ctx, "hash-1")
		h.wantErr("ConsumeCode before expiry", err, store.ErrReused)
		h.clock.Set(c.ExpiresAt)
		_, err = h.s.ConsumeCode(h.ctx, "hash-1")
		h.wantErr("ConsumeCode after expiry", err, store.ErrNotFound)
		// An expired code is absent, so its hash can be stored again.
		fresh := h.code("hash-1", "grant-2")
		h.must("SaveCode after expiry", h.s.SaveCode(h.ctx, fresh))
		got, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.must("ConsumeCode fresh", err)
		h.wantEqual("ConsumeCode fresh", got, fresh)
	})
	t.Run("Independent", func(t *testing.T) {
		h := setup(t, open)
		a, b := h.code("hash-a", "grant-a"), h.code("hash-b", "grant-b")
		h.must("SaveCode a", h.s.SaveCode(h.ctx, a))
		h.must("SaveCode b", h.s.SaveCode(h.ctx, b))
		_, err := h.s.ConsumeCode(h.ctx, "hash-a")
		h.must("ConsumeCode a", err)
		got, err := h.s.ConsumeCode(h.ctx, "hash-b")
		h.must("ConsumeCode b", err)
		h.wantEqual("ConsumeCode b", got, b)
	})
}

func testGrants(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "refresh-0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.wantEqual("GetGrant", h.getGrant("g1"), g)
	})
	t.Run("WithoutRefreshToken", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "")
		g.RefreshExpiresAt = time.Time{}
		g.Claims = nil
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.wantEqual("GetGrant", h.getGrant("g1"), g)
	})
	t.Run("CreateExists", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "refresh-0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		other := h.grant("g1", "user-2", "client-2", "refresh-x")
		h.wantErr("CreateGrant duplicate", h.s.CreateGrant(h.ctx, other), store.ErrExists)
		h.wantEqual("GetGrant keeps the first grant", h.getGrant("g1"), g)
	})
	t.Run("CreateExistsWhileRevoked", func(t *testing.T) {
		h := setup(t, open)
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, h.grant("g1", "user-1", "client-1", "refresh-0")))
		h.must("RevokeGrant", h.s.RevokeGrant(h.ctx, "g1"))
		h.wantErr("CreateGrant over a revoked grant", h.s.CreateGrant(h.ctx, h.grant("g1", "user-1", "client-1", "refresh-1")), store.ErrExists)
		if h.getGrant("g1").RevokedAt.IsZero() {
			t.Fatal("the revoked grant was replaced")
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		h := setup(t, open)
		_, err := h.s.GetGrant(h.ctx, "nope")
		h.wantErr("GetGrant", err, store.ErrNotFound)
		h.wantErr("RevokeGrant", h.s.RevokeGrant(h.ctx, "nope"), store.ErrNotFound)
	})
	t.Run("Expiry", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "refresh-0")
		g.ExpiresAt = h.clock.Now().Add(time.Hour)
		g.RefreshExpiresAt = g.ExpiresAt
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.clock.Set(g.ExpiresAt.Add(-time.Second))
		h.wantEqual("GetGrant before expiry", h.getGrant("g1"), g)
		h.clock.Set(g.ExpiresAt)
		_, err := h.s.GetGrant(h.ctx, "g1")
		h.wantErr("GetGrant at expiry", err, store.ErrNotFound)
		h.wantErr("RevokeGrant at expiry", h.s.RevokeGrant(h.ctx, "g1"), store.ErrNotFound)
		list, err := h.s.ListGrants(h.ctx, store.GrantFilter{})
		h.must("ListGrants", err)
		h.wantEqual("ListGrants after expiry", list, []*store.Grant{})
		// An expired grant is absent, so its ID can be used again.
		fresh := h.grant("g1", "user-2", "client-2", "refresh-9")
		h.must("CreateGrant after expiry", h.s.CreateGrant(h.ctx, fresh))
		h.wantEqual("GetGrant fresh", h.getGrant("g1"), fresh)
	})
	t.Run("RevokedGrantExpires", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "refresh-0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("RevokeGrant", h.s.RevokeGrant(h.ctx, "g1"))
		h.clock.Set(g.ExpiresAt)
		_, err := h.s.GetGrant(h.ctx, "g1")
		h.wantErr("GetGrant of a revoked grant after expiry", err, store.ErrNotFound)
	})
	t.Run("Revoke", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "refresh-0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.clock.Advance(time.Minute)
		revokedAt := h.clock.Now()
		h.must("RevokeGrant", h.s.RevokeGrant(h.ctx, "g1"))
		want := *g
		want.RevokedAt = revokedAt
		got := h.getGrant("g1")
		h.wantEqual("GetGrant after revoke", got, &want)
		if got.Active(h.clock.Now()) {
			t.Fatal("revoked grant is Active")
		}
		// Idempotent: a second revocation succeeds and keeps the first time.
		h.clock.Advance(time.Minute)
		h.must("RevokeGrant again", h.s.RevokeGrant(h.ctx, "g1"))
		h.wantEqual("GetGrant after second revoke", h.getGrant("g1"), &want)
	})
	t.Run("RevokeOnlyThatGrant", func(t *testing.T) {
		h := setup(t, open)
		a := h.grant("a", "user-1", "client-1", "refresh-a")
		b := h.grant("b", "user-1", "client-1", "refresh-b")
		h.must("CreateGrant a", h.s.CreateGrant(h.ctx, a))
		h.must("CreateGrant b", h.s.CreateGrant(h.ctx, b))
		h.must("RevokeGrant a", h.s.RevokeGrant(h.ctx, "a"))
		h.wantEqual("GetGrant b", h.getGrant("b"), b)
	})
	t.Run("List", func(t *testing.T) {
		h := setup(t, open)
		now := h.clock.Now()
		mk := func(id, subject, clientID string, age time.Duration) *store.Grant {
			g := h.grant(id, subject, clientID, "refresh-"+id)
			g.CreatedAt = now.Add(-age)
			return g
		}
		// Inserted out of age order; IDs out of age order too.
		c := mk("g-c", "bob", "client-1", 1*time.Minute)
		a := mk("g-a", "alice", "client-2", 2*time.Minute)
		b := mk("g-b", "alice", "client-1", 3*time.Minute)
		d := mk("g-d", "alice", "client-1", 4*time.Minute)
		d.ExpiresAt = now.Add(time.Minute)
		for _, g := range []*store.Grant{c, a, d, b} {
			h.must("CreateGrant "+g.ID, h.s.CreateGrant(h.ctx, g))
		}
		h.must("RevokeGrant g-c", h.s.RevokeGrant(h.ctx, "g-c"))
		revoked := *c
		revoked.RevokedAt = now
		h.clock.Set(d.ExpiresAt) // d has expired: not listed.
		tests := []struct {
			name   string
			filter store.GrantFilter
			want   []*store.Grant
		}{
			{"All", store.GrantFilter{}, []*store.Grant{b, a, &revoked}},
			{"Subject", store.GrantFilter{Subject: "alice"}, []*store.Grant{b, a}},
			{"Client", store.GrantFilter{ClientID: "client-1"}, []*store.Grant{b, &revoked}},
			{"SubjectAndClient", store.GrantFilter{Subject: "alice", ClientID: "client-1"}, []*store.Grant{b}},
			{"SubjectAndOtherClient", store.GrantFilter{Subject: "bob", ClientID: "client-2"}, nil},
			{"NoMatch", store.GrantFilter{Subject: "nobody"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := h.s.ListGrants(h.ctx, tt.filter)
				if err != nil {
					t.Fatalf("ListGrants: %v", err)
				}
				if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
					t.Errorf("ListGrants(%+v) mismatch (-want +got):\n%s", tt.filter, diff)
				}
			})
		}
	})
	t.Run("ListEmpty", func(t *testing.T) {
		h := setup(t, open)
		got, err := h.s.ListGrants(h.ctx, store.GrantFilter{})
		h.must("ListGrants", err)
		h.wantEqual("ListGrants", got, []*store.Grant{})
	})
}

func testRotate(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	// created returns a harness holding grant g1 with refresh hash "r0".
	created := func(t *testing.T) (*harness, *store.Grant) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		return h, g
	}
	t.Run("Success", func(t *testing.T) {
		h, g := created(t)
		h.clock.Advance(time.Hour)
		next := h.clock.Now().Add(24 * time.Hour)
		got, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", next)
		h.must("RotateRefresh", err)
		want := *g
		want.RefreshHash = "r1"
		want.PreviousHashes = []string{"r0"}
		want.RefreshExpiresAt = next
		h.wantEqual("RotateRefresh result", got, withoutPrevious(&want))
		h.wantEqual("GetGrant after rotation", h.getGrant("g1"), &want)

		// The chain continues from the new hash; previous hashes accumulate.
		h.clock.Advance(time.Hour)
		next = h.clock.Now().Add(24 * time.Hour)
		got, err = h.s.RotateRefresh(h.ctx, "g1", "r1", "r2", next)
		h.must("second RotateRefresh", err)
		want.RefreshHash = "r2"
		want.PreviousHashes = []string{"r0", "r1"}
		want.RefreshExpiresAt = next
		h.wantEqual("second RotateRefresh result", got, withoutPrevious(&want))
		h.wantEqual("GetGrant after second rotation", h.getGrant("g1"), &want)
	})
	t.Run("NoRotation", func(t *testing.T) {
		h, g := created(t)
		h.clock.Advance(time.Hour)
		next := h.clock.Now().Add(24 * time.Hour)
		got, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r0", next)
		h.must("RotateRefresh without rotation", err)
		want := *g
		want.RefreshExpiresAt = next
		h.wantEqual("RotateRefresh result", got, &want)
		h.wantEqual("GetGrant", h.getGrant("g1"), &want)
		// The same token keeps working: it did not become a previous hash.
		h.clock.Advance(time.Hour)
		next = h.clock.Now().Add(24 * time.Hour)
		got, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "r0", next)
		h.must("second RotateRefresh without rotation", err)
		want.RefreshExpiresAt = next
		h.wantEqual("second RotateRefresh result", got, withoutPrevious(&want))
	})
	t.Run("ExpiryCappedAtGrant", func(t *testing.T) {
		h, g := created(t)
		got, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", g.ExpiresAt.Add(time.Hour))
		h.must("RotateRefresh", err)
		if !got.RefreshExpiresAt.Equal(g.ExpiresAt) {
			t.Fatalf("RefreshExpiresAt = %v, want the grant's ExpiresAt %v", got.RefreshExpiresAt, g.ExpiresAt)
		}
		if stored := h.getGrant("g1"); !stored.RefreshExpiresAt.Equal(g.ExpiresAt) {
			t.Fatalf("stored RefreshExpiresAt = %v, want %v", stored.RefreshExpiresAt, g.ExpiresAt)
		}
	})
	t.Run("ReuseRevokes", func(t *testing.T) {
		h, g := created(t)
		next := h.clock.Now().Add(24 * time.Hour)
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", next)
		h.must("RotateRefresh", err)
		h.clock.Advance(time.Minute)
		reusedAt := h.clock.Now()
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "r-attacker", next)
		h.wantErr("RotateRefresh with a rotated-out hash", err, store.ErrReused)
		want := *g
		want.RefreshHash = "r1"
		want.PreviousHashes = []string{"r0"}
		want.RefreshExpiresAt = next
		want.RevokedAt = reusedAt
		h.wantEqual("GetGrant after reuse", h.getGrant("g1"), &want)
		// The family has ended: the current token no longer works.
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r1", "r2", next)
		h.wantErr("RotateRefresh with the current hash after reuse", err, store.ErrNotFound)
		// A further replay is still reported as reuse; the revocation time stays.
		h.clock.Advance(time.Minute)
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "r3", next)
		h.wantErr("RotateRefresh replay after revocation", err, store.ErrReused)
		h.wantEqual("GetGrant after second reuse", h.getGrant("g1"), &want)
	})
	t.Run("ReuseOfOlderHash", func(t *testing.T) {
		h, _ := created(t)
		next := h.clock.Now().Add(24 * time.Hour)
		for _, step := range [][2]string{{"r0", "r1"}, {"r1", "r2"}, {"r2", "r3"}} {
			_, err := h.s.RotateRefresh(h.ctx, "g1", step[0], step[1], next)
			h.must("RotateRefresh "+step[0], err)
		}
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r1", "r4", next)
		h.wantErr("RotateRefresh with an older hash", err, store.ErrReused)
		if h.getGrant("g1").RevokedAt.IsZero() {
			t.Fatal("grant not revoked after reuse")
		}
	})
	t.Run("Mismatch", func(t *testing.T) {
		h, g := created(t)
		h.clock.Advance(time.Minute)
		_, err := h.s.RotateRefresh(h.ctx, "g1", "forged", "r1", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh with an unknown hash", err, store.ErrMismatch)
		h.wantEqual("GetGrant after mismatch", h.getGrant("g1"), g)
		_, err = h.s.RotateRefresh(h.ctx, "g1", "", "r1", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh with an empty hash", err, store.ErrMismatch)
		h.wantEqual("GetGrant after empty hash", h.getGrant("g1"), g)
		// The real token still works.
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", h.clock.Now().Add(time.Hour))
		h.must("RotateRefresh after mismatch", err)
	})
	t.Run("UnknownGrant", func(t *testing.T) {
		h := setup(t, open)
		_, err := h.s.RotateRefresh(h.ctx, "nope", "r0", "r1", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh", err, store.ErrNotFound)
	})
	t.Run("Revoked", func(t *testing.T) {
		h, g := created(t)
		h.must("RevokeGrant", h.s.RevokeGrant(h.ctx, "g1"))
		want := h.getGrant("g1")
		for _, presented := range []string{"r0", "forged"} {
			_, err := h.s.RotateRefresh(h.ctx, "g1", presented, "r1", h.clock.Now().Add(time.Hour))
			h.wantErr("RotateRefresh on a revoked grant with "+presented, err, store.ErrNotFound)
		}
		h.wantEqual("GetGrant", h.getGrant("g1"), want)
		if want.RefreshHash != g.RefreshHash {
			t.Fatalf("revocation changed the refresh hash to %q", want.RefreshHash)
		}
	})
	t.Run("RefreshExpired", func(t *testing.T) {
		h, g := created(t)
		h.clock.Set(g.RefreshExpiresAt.Add(-time.Second))
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r0", g.RefreshExpiresAt)
		h.must("RotateRefresh just before refresh expiry", err)
		h.clock.Set(g.RefreshExpiresAt)
		for _, presented := range []string{"r0", "forged"} {
			_, err = h.s.RotateRefresh(h.ctx, "g1", presented, "r1", h.clock.Now().Add(time.Hour))
			h.wantErr("RotateRefresh at refresh expiry with "+presented, err, store.ErrNotFound)
		}
		// The grant itself is untouched.
		want := *g
		h.wantEqual("GetGrant", h.getGrant("g1"), &want)
	})
	t.Run("GrantExpired", func(t *testing.T) {
		h, g := created(t)
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", g.ExpiresAt)
		h.must("RotateRefresh", err)
		h.clock.Set(g.ExpiresAt)
		for _, presented := range []string{"r1", "r0", "forged"} {
			_, err = h.s.RotateRefresh(h.ctx, "g1", presented, "r2", g.ExpiresAt.Add(time.Hour))
			h.wantErr("RotateRefresh at grant expiry with "+presented, err, store.ErrNotFound)
		}
	})
	t.Run("NoRefreshToken", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		for _, presented := range []string{"", "r0"} {
			_, err := h.s.RotateRefresh(h.ctx, "g1", presented, "r1", h.clock.Now().Add(time.Hour))
			h.wantErr("RotateRefresh on a grant without refresh token, presented "+presented, err, store.ErrNotFound)
		}
		h.wantEqual("GetGrant", h.getGrant("g1"), g)
	})
	t.Run("PreviousHashesBounded", func(t *testing.T) {
		// A full set of remembered hashes: each rotation forgets the
		// oldest. A forgotten hash is refused without revoking; a
		// remembered one is still reuse.
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		for i := range store.MaxPreviousHashes {
			g.PreviousHashes = append(g.PreviousHashes, "p"+strconv.Itoa(i))
		}
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.wantEqual("GetGrant", h.getGrant("g1"), g)
		next := h.clock.Now().Add(time.Hour)
		for _, step := range [][2]string{{"r0", "r1"}, {"r1", "r2"}} {
			_, err := h.s.RotateRefresh(h.ctx, "g1", step[0], step[1], next)
			h.must("RotateRefresh "+step[0], err)
		}
		want := slices.Concat(g.PreviousHashes[2:], []string{"r0", "r1"})
		prev, err := h.s.PreviousRefreshHashes(h.ctx, "g1")
		h.must("PreviousRefreshHashes", err)
		h.wantEqual("PreviousRefreshHashes after two rotations", prev, want)
		for _, forgotten := range []string{"p0", "p1"} {
			_, err = h.s.RotateRefresh(h.ctx, "g1", forgotten, "x", next)
			h.wantErr("RotateRefresh with forgotten "+forgotten, err, store.ErrMismatch)
		}
		if !h.getGrant("g1").RevokedAt.IsZero() {
			t.Fatal("a forgotten hash revoked the grant")
		}
		_, err = h.s.RotateRefresh(h.ctx, "g1", "p2", "x", next)
		h.wantErr("RotateRefresh with the oldest remembered hash", err, store.ErrReused)
		if h.getGrant("g1").RevokedAt.IsZero() {
			t.Fatal("reuse of a remembered hash did not revoke the grant")
		}
	})
	t.Run("CreateKeepsLastPrevious", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		for i := range store.MaxPreviousHashes + 3 {
			g.PreviousHashes = append(g.PreviousHashes, "p"+strconv.Itoa(i))
		}
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		prev, err := h.s.PreviousRefreshHashes(h.ctx, "g1")
		h.must("PreviousRefreshHashes", err)
		h.wantEqual("PreviousRefreshHashes", prev, g.PreviousHashes[3:])
	})
	t.Run("PreviousRefreshHashes", func(t *testing.T) {
		h, g := created(t)
		prev, err := h.s.PreviousRefreshHashes(h.ctx, "g1")
		h.must("PreviousRefreshHashes before a rotation", err)
		h.wantEqual("PreviousRefreshHashes before a rotation", prev, []string{})
		_, err = h.s.PreviousRefreshHashes(h.ctx, "nope")
		h.wantErr("PreviousRefreshHashes of an unknown grant", err, store.ErrNotFound)
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", g.ExpiresAt)
		h.must("RotateRefresh", err)
		h.must("RevokeGrant", h.s.RevokeGrant(h.ctx, "g1"))
		prev, err = h.s.PreviousRefreshHashes(h.ctx, "g1")
		h.must("PreviousRefreshHashes of a revoked grant", err)
		h.wantEqual("PreviousRefreshHashes of a revoked grant", prev, []string{"r0"})
		h.clock.Set(g.ExpiresAt)
		_, err = h.s.PreviousRefreshHashes(h.ctx, "g1")
		h.wantErr("PreviousRefreshHashes at grant expiry", err, store.ErrNotFound)
	})
	t.Run("RecreatedForgetsPrevious", func(t *testing.T) {
		// A grant created anew under the id of an expired one starts
		// without the old one's rotated-out hashes.
		h, g := created(t)
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", g.ExpiresAt)
		h.must("RotateRefresh", err)
		h.clock.Set(g.ExpiresAt)
		fresh := h.grant("g1", "user-1", "client-1", "s0")
		h.must("CreateGrant anew", h.s.CreateGrant(h.ctx, fresh))
		h.wantEqual("GetGrant of the new grant", h.getGrant("g1"), fresh)
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "s1", fresh.ExpiresAt)
		h.wantErr("RotateRefresh with a hash of the expired grant", err, store.ErrMismatch)
	})
}

func testClients(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		h := setup(t, open)
		c := h.client("client-1")
		h.must("CreateClient", h.s.CreateClient(h.ctx, c))
		got, err := h.s.GetClient(h.ctx, "client-1")
		h.must("GetClient", err)
		h.wantEqual("GetClient", got, c)
	})
	t.Run("PublicClient", func(t *testing.T) {
		h := setup(t, open)
		c := &store.Client{ID: "public", RedirectURIs: []string{"http://127.0.0.1/cb"}, TokenEndpointAuthMethod: "none", CreatedAt: h.clock.Now()}
		h.must("CreateClient", h.s.CreateClient(h.ctx, c))
		got, err := h.s.GetClient(h.ctx, "public")
		h.must("GetClient", err)
		h.wantEqual("GetClient", got, c)
	})
	t.Run("CreateExists", func(t *testing.T) {
		h := setup(t, open)
		c := h.client("client-1")
		h.must("CreateClient", h.s.CreateClient(h.ctx, c))
		other := h.client("client-1")
		other.Name = "impostor"
		h.wantErr("CreateClient duplicate", h.s.CreateClient(h.ctx, other), store.ErrExists)
		got, err := h.s.GetClient(h.ctx, "client-1")
		h.must("GetClient", err)
		h.wantEqual("GetClient keeps the first client", got, c)
	})
	t.Run("Unknown", func(t *testing.T) {
		h := setup(t, open)
		_, err := h.s.GetClient(h.ctx, "nope")
		h.wantErr("GetClient", err, store.ErrNotFound)
		h.wantErr("DeleteClient", h.s.DeleteClient(h.ctx, "nope"), store.ErrNotFound)
	})
	t.Run("Delete", func(t *testing.T) {
		h := setup(t, open)
		h.must("CreateClient a", h.s.CreateClient(h.ctx, h.client("a")))
		b := h.client("b")
		h.must("CreateClient b", h.s.CreateClient(h.ctx, b))
		h.must("DeleteClient a", h.s.DeleteClient(h.ctx, "a"))
		_, err := h.s.GetClient(h.ctx, "a")
		h.wantErr("GetClient after delete", err, store.ErrNotFound)
		h.wantErr("DeleteClient twice", h.s.DeleteClient(h.ctx, "a"), store.ErrNotFound)
		got, err := h.s.GetClient(h.ctx, "b")
		h.must("GetClient b", err)
		h.wantEqual("GetClient b", got, b)
		// The ID is free again.
		a := h.client("a")
		a.Name = "second life"
		h.must("CreateClient a again", h.s.CreateClient(h.ctx, a))
		got, err = h.s.GetClient(h.ctx, "a")
		h.must("GetClient a again", err)
		h.wantEqual("GetClient a again", got, a)
	})
	t.Run("ListOrderedByID", func(t *testing.T) {
		h := setup(t, open)
		var want []*store.Client
		for _, id := range []string{"client-2", "client-10", "Client-3", "client-1"} {
			c := h.client(id)
			h.must("CreateClient "+id, h.s.CreateClient(h.ctx, c))
			want = append(want, c)
		}
		got, err := h.s.ListClients(h.ctx)
		h.must("ListClients", err)
		// Byte order of the ID: "Client-3" < "client-1" < "client-10" < "client-2".
		want = []*store.Client{want[2], want[3], want[1], want[0]}
		h.wantEqual("ListClients", got, want)
	})
	t.Run("ListEmpty", func(t *testing.T) {
		h := setup(t, open)
		got, err := h.s.ListClients(h.ctx)
		h.must("ListClients", err)
		h.wantEqual("ListClients", got, []*store.Client{})
	})
	t.Run("DoNotExpire", func(t *testing.T) {
		h := setup(t, open)
		c := h.client("client-1")
		h.must("CreateClient", h.s.CreateClient(h.ctx, c))
		h.clock.Advance(100 * 365 * 24 * time.Hour)
		got, err := h.s.GetClient(h.ctx, "client-1")
		h.must("GetClient a century later", err)
		h.wantEqual("GetClient", got, c)
		list, err := h.s.ListClients(h.ctx)
		h.must("ListClients", err)
		h.wantEqual("ListClients", list, []*store.Client{c})
	})
}

// mutateClaims changes c in place at the top level and inside nested values.
func mutateClaims(c store.Claims) {
	c["email"] = "mallory@example.com"
	if groups, ok := c["groups"].([]any); ok && len(groups) > 0 {
		groups[0] = "mallory"
	}
	if addr, ok := c["address"].(map[string]any); ok {
		addr["country"] = "XX"
		if lines, ok := addr["lines"].([]any); ok && len(lines) > 0 {
			lines[0] = "nowhere"
		}
	}
	if roles, ok := c["roles"].([]any); ok && len(roles) > 0 {
		if role, ok := roles[0].(map[string]any); ok {
			role["name"] = "mallory"
			role["projects"].([]any)[0] = "heist"
		}
	}
	c["injected"] = true
}

func testCopies(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("Pending", func(t *testing.T) {
		h := setup(t, open)
		p := h.pending("p1")
		h.must("SavePending", h.s.SavePending(h.ctx, p))
		p.Scopes[0] = "mutated"
		mutateClaims(p.Claims)
		want := h.pending("p1")
		got, err := h.s.GetPending(h.ctx, "p1")
		h.must("GetPending", err)
		h.wantEqual("GetPending after mutating the saved record", got, want)
		got.Scopes[0] = "mutated"
		mutateClaims(got.Claims)
		got, err = h.s.ConsumePending(h.ctx, "p1")
		h.must("ConsumePending", err)
		h.wantEqual("ConsumePending after mutating a returned record", got, want)
	})
	t.Run("Code", func(t *testing.T) {
		h := setup(t, open)
		c := h.code("hash-1", "grant-1")
		h.must("SaveCode", h.s.SaveCode(h.ctx, c))
		c.Scopes[0] = "mutated"
		c.GrantID = "mutated"
		mutateClaims(c.Claims)
		want := h.code("hash-1", "grant-1")
		got, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.must("ConsumeCode", err)
		h.wantEqual("ConsumeCode after mutating the saved record", got, want)
		got.Scopes[0] = "mutated"
		got.GrantID = "mutated"
		mutateClaims(got.Claims)
		got, err = h.s.ConsumeCode(h.ctx, "hash-1")
		h.wantErr("ConsumeCode replay", err, store.ErrReused)
		h.wantEqual("ConsumeCode replay after mutating a returned record", got, want)
	})
	t.Run("Grant", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		g.Scopes[0] = "mutated"
		g.RefreshHash = "mutated"
		mutateClaims(g.Claims)
		want := h.grant("g1", "user-1", "client-1", "r0")
		got := h.getGrant("g1")
		h.wantEqual("GetGrant after mutating the saved record", got, want)
		got.Scopes[0] = "mutated"
		mutateClaims(got.Claims)
		h.wantEqual("GetGrant after mutating a returned record", h.getGrant("g1"), want)

		rotated, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", want.RefreshExpiresAt)
		h.must("RotateRefresh", err)
		want.RefreshHash = "r1"
		want.PreviousHashes = []string{"r0"}
		if len(rotated.PreviousHashes) > 0 {
			t.Fatalf("RotateRefresh returned PreviousHashes %q, want them left out", rotated.PreviousHashes)
		}
		rotated.Scopes[0] = "mutated"
		mutateClaims(rotated.Claims)
		h.wantEqual("GetGrant after mutating a rotated record", h.getGrant("g1"), want)

		list, err := h.s.ListGrants(h.ctx, store.GrantFilter{})
		h.must("ListGrants", err)
		if len(list) != 1 {
			t.Fatalf("ListGrants returned %d grants, want 1", len(list))
		}
		if len(list[0].PreviousHashes) > 0 {
			t.Fatalf("ListGrants returned PreviousHashes %q, want them left out", list[0].PreviousHashes)
		}
		list[0].Scopes[0] = "mutated"
		mutateClaims(list[0].Claims)
		h.wantEqual("GetGrant after mutating a listed record", h.getGrant("g1"), want)
	})
	t.Run("Client", func(t *testing.T) {
		h := setup(t, open)
		c := h.client("client-1")
		h.must("CreateClient", h.s.CreateClient(h.ctx, c))
		c.RedirectURIs[0] = "https://evil.example/cb"
		c.GrantTypes[0] = "implicit"
		mutateClaims(c.Metadata)
		c.Metadata["contacts"].([]any)[0] = "mallory@evil.example"
		want := h.client("client-1")
		got, err := h.s.GetClient(h.ctx, "client-1")
		h.must("GetClient", err)
		h.wantEqual("GetClient after mutating the saved record", got, want)
		got.RedirectURIs[0] = "https://evil.example/cb"
		got.Metadata["contacts"].([]any)[0] = "mallory@evil.example"
		got, err = h.s.GetClient(h.ctx, "client-1")
		h.must("GetClient", err)
		h.wantEqual("GetClient after mutating a returned record", got, want)
		list, err := h.s.ListClients(h.ctx)
		h.must("ListClients", err)
		list[0].RedirectURIs[0] = "https://evil.example/cb"
		list[0].Metadata["contacts"].([]any)[0] = "mallory@evil.example"
		got, err = h.s.GetClient(h.ctx, "client-1")
		h.must("GetClient", err)
		h.wantEqual("GetClient after mutating a listed record", got, want)
	})
}

// race runs fn(i) on Workers goroutines released at once and returns their
// errors, indexed by i.
func race(fn func(i int) error) []error {
	errs := make([]error, Workers)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range Workers {
		wg.Go(func() {
			<-gate
			errs[i] = fn(i)
		})
	}
	close(gate)
	wg.Wait()
	return errs
}

// winner checks that exactly one error is nil and every other wraps loser; it
// returns the index of the nil one.
func winner(t *testing.T, errs []error, loser error) int {
	t.Helper()
	win := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if win >= 0 {
				t.Fatalf("workers %d and %d both succeeded", win, i)
			}
			win = i
		case !errors.Is(err, loser):
			t.Fatalf("worker %d: error = %v, want %v", i, err, loser)
		}
	}
	if win < 0 {
		t.Fatal("no worker succeeded")
	}
	return win
}

func testConcurrency(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("ConsumePending", func(t *testing.T) {
		h := setup(t, open)
		p := h.pending("p1")
		h.must("SavePending", h.s.SavePending(h.ctx, p))
		got := make([]*store.PendingAuthorization, Workers)
		errs := race(func(i int) error {
			var err error
			got[i], err = h.s.ConsumePending(h.ctx, "p1")
			return err
		})
		win := winner(t, errs, store.ErrNotFound)
		h.wantEqual("winning ConsumePending", got[win], p)
	})
	t.Run("ConsumeCode", func(t *testing.T) {
		h := setup(t, open)
		c := h.code("hash-1", "grant-1")
		h.must("SaveCode", h.s.SaveCode(h.ctx, c))
		got := make([]*store.AuthCode, Workers)
		errs := race(func(i int) error {
			var err error
			got[i], err = h.s.ConsumeCode(h.ctx, "hash-1")
			return err
		})
		winner(t, errs, store.ErrReused)
		for i, code := range got {
			if code == nil || code.GrantID != "grant-1" {
				t.Fatalf("worker %d: ConsumeCode returned %+v, want the code of grant-1", i, code)
			}
		}
	})
	t.Run("RotateRefresh", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		next := h.clock.Now().Add(time.Hour)
		got := make([]*store.Grant, Workers)
		errs := race(func(i int) error {
			var err error
			got[i], err = h.s.RotateRefresh(h.ctx, "g1", "r0", "next-"+string(rune('a'+i)), next)
			return err
		})
		// Once the winner rotated, "r0" is a previous hash: every other use
		// is reuse, which revokes the grant (RFC 9700 §4.14.2).
		win := winner(t, errs, store.ErrReused)
		wantHash := "next-" + string(rune('a'+win))
		if got[win].RefreshHash != wantHash {
			t.Fatalf("winner's grant RefreshHash = %q, want %q", got[win].RefreshHash, wantHash)
		}
		final := h.getGrant("g1")
		if final.RevokedAt.IsZero() {
			t.Fatal("grant not revoked after concurrent reuse")
		}
		if final.RefreshHash != wantHash {
			t.Fatalf("stored RefreshHash = %q, want the winner's %q", final.RefreshHash, wantHash)
		}
		h.wantEqual("stored PreviousHashes", final.PreviousHashes, []string{"r0"})
	})
	t.Run("SaveCode", func(t *testing.T) {
		h := setup(t, open)
		errs := race(func(i int) error {
			return h.s.SaveCode(h.ctx, h.code("hash-1", "grant-"+string(rune('a'+i))))
		})
		win := winner(t, errs, store.ErrExists)
		got, err := h.s.ConsumeCode(h.ctx, "hash-1")
		h.must("ConsumeCode", err)
		if want := "grant-" + string(rune('a'+win)); got.GrantID != want {
			t.Fatalf("stored code GrantID = %q, want the winner's %q", got.GrantID, want)
		}
	})
	t.Run("CreateGrant", func(t *testing.T) {
		h := setup(t, open)
		errs := race(func(i int) error {
			return h.s.CreateGrant(h.ctx, h.grant("g1", "user-1", "client-1", "r-"+string(rune('a'+i))))
		})
		win := winner(t, errs, store.ErrExists)
		if got, want := h.getGrant("g1").RefreshHash, "r-"+string(rune('a'+win)); got != want {
			t.Fatalf("stored grant RefreshHash = %q, want the winner's %q", got, want)
		}
	})
	t.Run("CreateClient", func(t *testing.T) {
		h := setup(t, open)
		errs := race(func(i int) error {
			c := h.client("client-1")
			c.Name = "worker-" + string(rune('a'+i))
			return h.s.CreateClient(h.ctx, c)
		})
		win := winner(t, errs, store.ErrExists)
		got, err := h.s.GetClient(h.ctx, "client-1")
		h.must("GetClient", err)
		if want := "worker-" + string(rune('a'+win)); got.Name != want {
			t.Fatalf("stored client Name = %q, want the winner's %q", got.Name, want)
		}
	})
	t.Run("RevokeGrant", func(t *testing.T) {
		h := setup(t, open)
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, h.grant("g1", "user-1", "client-1", "r0")))
		errs := race(func(int) error { return h.s.RevokeGrant(h.ctx, "g1") })
		for i, err := range errs {
			if err != nil {
				t.Fatalf("worker %d: RevokeGrant: %v", i, err)
			}
		}
		if h.getGrant("g1").RevokedAt.IsZero() {
			t.Fatal("grant not revoked")
		}
	})
	t.Run("MixedKeys", func(t *testing.T) {
		// Independent records written concurrently are all kept.
		h := setup(t, open)
		errs := race(func(i int) error {
			id := string(rune('a' + i))
			if err := h.s.SavePending(h.ctx, h.pending("p-"+id)); err != nil {
				return err
			}
			if err := h.s.SaveCode(h.ctx, h.code("hash-"+id, "grant-"+id)); err != nil {
				return err
			}
			if err := h.s.CreateGrant(h.ctx, h.grant("g-"+id, "user-1", "client-1", "r-"+id)); err != nil {
				return err
			}
			return h.s.CreateClient(h.ctx, h.client("client-"+id))
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("worker %d: %v", i, err)
			}
		}
		grants, err := h.s.ListGrants(h.ctx, store.GrantFilter{})
		h.must("ListGrants", err)
		clients, err := h.s.ListClients(h.ctx)
		h.must("ListClients", err)
		if len(grants) != Workers || len(clients) != Workers {
			t.Fatalf("listed %d grants and %d clients, want %d of each", len(grants), len(clients), Workers)
		}
		for i := range Workers {
			id := string(rune('a' + i))
			_, err := h.s.ConsumePending(h.ctx, "p-"+id)
			h.must("ConsumePending p-"+id, err)
			_, err = h.s.ConsumeCode(h.ctx, "hash-"+id)
			h.must("ConsumeCode hash-"+id, err)
		}
	})
}

func testPingClose(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	h := setup(t, open)
	h.must("Ping", h.s.Ping(h.ctx))
	h.closed = true
	h.must("Close", h.s.Close())
	h.wantErr("Ping after Close", h.s.Ping(h.ctx), store.ErrUnavailable)
}
