package resource

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/frontmcp-go/frontmcp/token"
)

// countingVerifier is a CacheableVerifier around a real LocalVerifier that
// counts full verifications and rechecks.
type countingVerifier struct {
	*LocalVerifier
	verifies, rechecks atomic.Int64
}

func (c *countingVerifier) VerifyCacheable(ctx context.Context, raw string) (*Verified, error) {
	c.verifies.Add(1)
	vd, err := c.LocalVerifier.VerifyCacheable(ctx, raw)
	if err != nil {
		return nil, err
	}
	inner := vd.Recheck
	vd.Recheck = func(ctx context.Context) error {
		c.rechecks.Add(1)
		return inner(ctx)
	}
	return vd, nil
}

func newCached(t testing.TB, inner Verifier, e *env, opts *CacheOptions) *CachedVerifier {
	t.Helper()
	if opts == nil {
		opts = &CacheOptions{}
	}
	if opts.Clock == nil {
		opts.Clock = e.clock.Now
	}
	c, err := NewCachedVerifier(inner, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCachedVerifierHits: a token is verified once, then answered from the
// cache with its grant rechecked on every request.
func TestCachedVerifierHits(t *testing.T) {
	e := newEnv(t, nil)
	inner := &countingVerifier{LocalVerifier: e.local}
	c := newCached(t, inner, e, nil)
	raw := e.token("alice", "mcp:read")
	ctx := t.Context()
	var first *Principal
	for i := range 5 {
		p, err := c.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p
		} else if p != first {
			t.Error("a hit returned another principal")
		}
	}
	if got := [2]int64{inner.verifies.Load(), inner.rechecks.Load()}; got != [2]int64{1, 5} {
		t.Errorf("verifies, rechecks = %v, want [1 5]", got)
	}
	if diff := cmp.Diff(CacheStats{Hits: 4, Misses: 1, Entries: 1}, c.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if want, _ := e.local.Verify(ctx, raw); !cmp.Equal(want, first) {
		t.Errorf("cached principal differs from the inner verifier's: %v", cmp.Diff(want, first))
	}
}

// TestCachedVerifierRevocation: revoking the grant behind a cached token
// refuses it on the next request, although the token is in the cache.
func TestCachedVerifierRevocation(t *testing.T) {
	e := newEnv(t, nil)
	c := newCached(t, e.local, e, nil)
	claims := e.claims("alice", "mcp:read")
	raw := e.sign(claims)
	ctx := t.Context()
	if _, err := c.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	e.revokeGrant(claims.Extra[token.ClaimGrantID].(string))
	_, err := c.Verify(ctx, raw)
	var te *TokenError
	if !errors.As(err, &te) || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("after revocation: %v, want a *TokenError", err)
	}
	if st := c.Stats(); st.Hits != 2 {
		t.Errorf("Hits = %d, want 2 (the refusal came from a hit)", st.Hits)
	}
}

// TestCachedVerifierExpiry: an entry is used until the token's exp or the
// TTL, whichever comes first; after that the inner verifier decides again.
func TestCachedVerifierExpiry(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()

	// exp (5 m) before TTL (10 m): a hit at 4m59s, then the inner verifier
	// within the leeway, then refusal after it. Nothing is cached past exp.
	c := newCached(t, e.local, e, &CacheOptions{TTL: 10 * time.Minute})
	raw := e.token("alice", "mcp:read")
	start := e.clock.Now()
	steps := []struct {
		at       time.Duration
		ok       bool
		wantHits uint64
	}{
		{0, true, 0},
		{testTTL - time.Second, true, 1},
		{testTTL, true, 1},                // past exp, within the leeway: verified again
		{testTTL + testLeeway/2, true, 1}, // and not cached
		{testTTL + testLeeway, false, 1},  // past exp + leeway
		{testTTL + 2*testLeeway, false, 1},
	}
	for _, st := range steps {
		e.clock.Set(start.Add(st.at))
		_, err := c.Verify(ctx, raw)
		if (err == nil) != st.ok {
			t.Errorf("at %v: err = %v, want ok=%v", st.at, err, st.ok)
		}
		if got := c.Stats().Hits; got != st.wantHits {
			t.Errorf("at %v: Hits = %d, want %d", st.at, got, st.wantHits)
		}
	}

	// TTL (1 m) before exp: verified again after a minute.
	e.clock.Set(start)
	inner := &countingVerifier{LocalVerifier: e.local}
	c = newCached(t, inner, e, &CacheOptions{TTL: time.Minute})
	raw = e.token("alice", "mcp:read")
	for _, at := range []time.Duration{0, 59 * time.Second, time.Minute, 90 * time.Second} {
		e.clock.Set(start.Add(at))
		if _, err := c.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	if got := inner.verifies.Load(); got != 2 {
		t.Errorf("%d full verifications with TTL 1m over 90s, want 2", got)
	}
}

// TestCachedVerifierBounded: the cache never holds more than about
// MaxEntries tokens, evicting as it fills, and still answers correctly.
func TestCachedVerifierBounded(t *testing.T) {
	e := newEnv(t, nil)
	const maxEntries = 64
	c := newCached(t, e.local, e, &CacheOptions{MaxEntries: maxEntries})
	ctx := t.Context()
	var toks []string
	for range 5 * maxEntries {
		raw := e.token("alice", "mcp:read")
		toks = append(toks, raw)
		if _, err := c.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	// Each of the 32 shards holds at most ceil(64/32) = 2 entries.
	if st.Entries > cacheShards*2 || st.Evictions == 0 {
		t.Errorf("Stats = %+v, want at most %d entries and evictions", st, cacheShards*2)
	}
	for _, raw := range toks {
		if _, err := c.Verify(ctx, raw); err != nil {
			t.Fatalf("an evicted token is refused: %v", err)
		}
	}
}

// TestCachedVerifierEvictsExpiredFirst: inserting into a full part of the
// cache drops expired entries before live ones.
func TestCachedVerifierEvictsExpiredFirst(t *testing.T) {
	e := newEnv(t, nil)
	c := newCached(t, e.local, e, &CacheOptions{MaxEntries: 1, TTL: time.Minute})
	ctx := t.Context()
	// Fill every shard (one entry each), let them all expire, insert more.
	for c.Stats().Entries < cacheShards {
		if _, err := c.Verify(ctx, e.token("alice", "mcp:read")); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(2 * time.Minute)
	raw := e.token("alice", "mcp:read")
	if _, err := c.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Entries != cacheShards || st.Hits != 1 {
		t.Errorf("Stats = %+v, want %d entries and the new token hit", st, cacheShards)
	}
}

// TestCachedVerifierRefusalsNotCached: refused tokens reach the inner
// verifier every time; a verifier that is not cacheable is cached whole.
func TestCachedVerifierRefusalsNotCached(t *testing.T) {
	e := newEnv(t, nil)
	var calls atomic.Int64
	inner := VerifierFunc(func(ctx context.Context, raw string) (*Principal, error) {
		calls.Add(1)
		if raw == "bad" {
			return nil, invalidToken("bad", nil)
		}
		return &Principal{Subject: raw, ExpiresAt: e.clock.Now().Add(time.Hour)}, nil
	})
	c := newCached(t, inner, e, nil)
	ctx := t.Context()
	for range 3 {
		if _, err := c.Verify(ctx, "bad"); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("Verify(bad) = %v", err)
		}
		p, err := c.Verify(ctx, "good")
		if err != nil || p.Subject != "good" {
			t.Fatalf("Verify(good) = %v, %v", p, err)
		}
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("inner called %d times, want 4 (3 refusals, 1 success)", got)
	}
	// A verifier returning no principal without an error is refused.
	nilP := newCached(t, VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, nil }), e, nil)
	if _, err := nilP.Verify(ctx, "x"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("nil principal: %v, want ErrInvalidToken", err)
	}
}

// TestCachedVerifierConcurrent exercises the cache from many goroutines
// (run with -race).
func TestCachedVerifierConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	c := newCached(t, e.local, e, &CacheOptions{MaxEntries: 8})
	toks := make([]string, 32)
	for i := range toks {
		toks[i] = e.token(fmt.Sprintf("user-%d", i), "mcp:read")
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				raw := toks[(g+i)%len(toks)]
				p, err := c.Verify(context.Background(), raw)
				if err != nil {
					t.Error(err)
					return
				}
				if want := fmt.Sprintf("user-%d", (g+i)%len(toks)); p.Subject != want {
					t.Errorf("subject %q, want %q", p.Subject, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Hits+st.Misses != 16*200 {
		t.Errorf("Stats = %+v, want %d lookups", st, 16*200)
	}
}

func TestNewCachedVerifier(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := NewCachedVerifier(nil, nil); err == nil {
		t.Error("nil inner accepted")
	}
	if _, err := NewCachedVerifier(e.local, &CacheOptions{MaxEntries: -1}); err == nil {
		t.Error("negative MaxEntries accepted")
	}
	if _, err := NewCachedVerifier(e.local, &CacheOptions{TTL: -1}); err == nil {
		t.Error("negative TTL accepted")
	}
	c, err := NewCachedVerifier(e.local, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ttl != DefaultCacheTTL || c.perShard*cacheShards < DefaultCacheEntries {
		t.Errorf("defaults: ttl %v, capacity %d", c.ttl, c.perShard*cacheShards)
	}
}

// keySwitch is a LocalVerifier key source whose keys can be replaced, as the
// key manager's are after a rotation.
type keySwitch struct {
	v atomic.Pointer[token.Verifier]
}

func (k *keySwitch) Verifier() *token.Verifier { return k.v.Load() }

// TestCachedVerifierLocalKeyWithdrawn: a cached local token stays valid
// while its key is published (also across a key set change that keeps it)
// and is refused once the authorization server drops its key.
func TestCachedVerifierLocalKeyWithdrawn(t *testing.T) {
	e := newEnv(t, nil)
	other, err := token.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	ks := &keySwitch{}
	set := func(keys ...jose.JSONWebKey) {
		v, err := token.NewVerifier(keys...)
		if err != nil {
			t.Fatal(err)
		}
		ks.v.Store(v)
	}
	set(e.signer.PublicKey())
	lv, err := NewLocalVerifier(&LocalVerifierOptions{Keys: ks, Issuer: testIssuer, Resource: testResource, Clock: e.clock.Now, Revocations: e.store})
	if err != nil {
		t.Fatal(err)
	}
	if err := lv.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := newCached(t, lv, e, nil)
	raw := e.token("alice", "mcp:read")
	ctx := t.Context()
	steps := []struct {
		name string
		keys []jose.JSONWebKey
		ok   bool
	}{
		{"published", nil, true},
		{"a rotation adds a key", []jose.JSONWebKey{e.signer.PublicKey(), other.Public()}, true},
		{"the key is dropped", []jose.JSONWebKey{other.Public()}, false},
	}
	for _, st := range steps {
		if st.keys != nil {
			set(st.keys...)
		}
		_, err := c.Verify(ctx, raw)
		if st.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", st.name, err, st.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v is not ErrInvalidToken", st.name, err)
		}
	}
	if st := c.Stats(); st.Misses != 1 {
		t.Errorf("Misses = %d, want 1 (every later answer came from the cache)", st.Misses)
	}
}
