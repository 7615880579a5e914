package resource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/token"
)

// switchableLog is fault injection: a revocation log whose reads can be
// made to fail (a store outage) or redirected to another store (a store
// that was reset).
type switchableLog struct {
	mu    sync.Mutex
	log   store.Revocations
	down  bool
	reads int
}

func (s *switchableLog) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	return s.current().RevokeToken(ctx, jti, exp)
}

func (s *switchableLog) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	return s.current().TokenRevoked(ctx, jti)
}

func (s *switchableLog) RevocationsSince(ctx context.Context, after int64) ([]store.Revocation, int64, error) {
	s.mu.Lock()
	s.reads++
	down, log := s.down, s.log
	s.mu.Unlock()
	if down {
		return nil, 0, store.ErrUnavailable
	}
	return log.RevocationsSince(ctx, after)
}

func (s *switchableLog) current() store.Revocations {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log
}

func (s *switchableLog) set(down bool, log store.Revocations) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	if log != nil {
		s.log = log
	}
}

// newRevocationVerifier returns a LocalVerifier of e's keys reading the
// revocation log src, logging to buf.
func newRevocationVerifier(t *testing.T, e *env, src store.Revocations, buf *bytes.Buffer) *LocalVerifier {
	t.Helper()
	opts := &LocalVerifierOptions{
		Verifier: mustVerifier(t, e), Issuer: testIssuer, Resource: testResource,
		Clock: e.clock.Now, Leeway: testLeeway, Revocations: src,
	}
	if buf != nil {
		opts.Logger = slog.New(slog.NewTextHandler(buf, nil))
	}
	v, err := NewLocalVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantRefused(t *testing.T, err error, desc string) {
	t.Helper()
	var te *TokenError
	if !errors.As(err, &te) || !errors.Is(err, ErrInvalidToken) || te.Description != desc {
		t.Fatalf("err = %v, want a TokenError %q", err, desc)
	}
}

// TestRevocationsNotLoaded: until the log has been read once, every token
// is answered with 503 (store unavailable), never accepted: accepting would
// let tokens revoked before the start through.
func TestRevocationsNotLoaded(t *testing.T) {
	e := newEnv(t, nil)
	src := &switchableLog{log: e.store, down: true}
	v := newRevocationVerifier(t, e, src, nil)
	raw := e.token("alice", "mcp:read")
	for _, verify := range []Verifier{v, newCached(t, v, e, nil)} {
		_, err := verify.Verify(t.Context(), raw)
		if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
			t.Fatalf("before the first read: %v, want store.ErrUnavailable", err)
		}
	}
	if err := v.SyncRevocations(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("SyncRevocations with the store down: %v", err)
	}
	src.set(false, nil)
	if err := v.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), raw); err != nil {
		t.Fatalf("after the first read: %v", err)
	}
}

// TestRevocationsRevokedToken: a revoked access token (its jti) is refused,
// another token of the same grant is not.
func TestRevocationsRevokedToken(t *testing.T) {
	e := newEnv(t, nil)
	c := e.claims("alice", "mcp:read")
	raw := e.sign(c)
	c2 := *c
	c2.ID = ""
	sibling := e.sign(&c2)
	ctx := t.Context()
	if err := e.store.RevokeToken(ctx, c.ID, c.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	if _, err := e.local.Verify(ctx, raw); err != nil {
		t.Fatalf("before the log is read again: %v (the poll, not a store read, brings revocations)", err)
	}
	if err := e.local.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := e.local.Verify(ctx, raw)
	wantRefused(t, err, "the access token was revoked")
	if _, err := e.local.Verify(ctx, sibling); err != nil {
		t.Fatalf("another token of the grant: %v", err)
	}
}

// TestRevocationsAddedLocally: AddRevocations takes effect at once, also for
// a token already in the verified-token cache.
func TestRevocationsAddedLocally(t *testing.T) {
	e := newEnv(t, nil)
	c := e.claims("alice", "mcp:read")
	raw := e.sign(c)
	cached := newCached(t, e.local, e, nil)
	ctx := t.Context()
	for range 2 {
		if _, err := cached.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
	}
	grantID := c.Extra[token.ClaimGrantID].(string)
	e.local.AddRevocations(store.Revocation{Kind: store.RevokedGrant, ID: grantID, ExpiresAt: c.ExpiresAt.Add(time.Hour)})
	_, err := cached.Verify(ctx, raw)
	wantRefused(t, err, "the authorization behind the access token was revoked")
	if st := cached.Stats(); st.Hits != 2 || st.Misses != 1 {
		t.Errorf("cache stats %+v: the refusal must come from a hit", st)
	}
	// The next read of the (empty) log keeps the local entry.
	if err := e.local.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = e.local.Verify(ctx, raw)
	wantRefused(t, err, "the authorization behind the access token was revoked")
}

// TestRevocationsNoGrantID: with a revocation log, a token without a grant
// id cannot be revoked by grant and is refused.
func TestRevocationsNoGrantID(t *testing.T) {
	e := newEnv(t, nil)
	c := e.claims("alice", "mcp:read")
	c.Extra = nil
	_, err := e.local.Verify(t.Context(), e.sign(c))
	wantRefused(t, err, "the access token is not bound to a grant")
}

// TestRevocationsOutage: while the store cannot be read, the set read last
// stays in force; the outage is logged once and the recovery once.
func TestRevocationsOutage(t *testing.T) {
	e := newEnv(t, nil)
	var logs bytes.Buffer
	src := &switchableLog{log: e.store}
	v := newRevocationVerifier(t, e, src, &logs)
	ctx := t.Context()
	revoked, valid := e.claims("alice", "mcp:read"), e.token("bob", "mcp:read")
	revokedRaw := e.sign(revoked)
	if err := e.store.RevokeGrant(ctx, revoked.Extra[token.ClaimGrantID].(string)); err != nil {
		t.Fatal(err)
	}
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	src.set(true, nil)
	for range 3 {
		if err := v.SyncRevocations(ctx); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("SyncRevocations with the store down: %v", err)
		}
	}
	_, err := v.Verify(ctx, revokedRaw)
	wantRefused(t, err, "the authorization behind the access token was revoked")
	if _, err := v.Verify(ctx, valid); err != nil {
		t.Fatalf("a valid token during the outage: %v", err)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d error logs for one outage, want 1:\n%s", n, logs.String())
	}
	src.set(false, nil)
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "works again"); n != 1 {
		t.Errorf("%d recovery logs, want 1:\n%s", n, logs.String())
	}
}

// TestRevocationsForgotten: entries are dropped once no token they refuse
// can pass the expiry check (their expiry plus the leeway), so the set does
// not grow for ever.
func TestRevocationsForgotten(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	c := e.claims("alice", "mcp:read")
	raw := e.sign(c)
	if err := e.store.RevokeToken(ctx, c.ID, c.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	if err := e.local.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.local.revs.cur.Load().tokens); n != 1 {
		t.Fatalf("%d revoked tokens held, want 1", n)
	}
	// Within the leeway the token would pass the expiry check, so its entry
	// must still refuse it.
	e.clock.Set(c.ExpiresAt.Add(testLeeway - time.Second))
	if err := e.local.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := e.local.Verify(ctx, raw)
	wantRefused(t, err, "the access token was revoked")
	e.clock.Set(c.ExpiresAt.Add(testLeeway))
	if err := e.local.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.local.revs.cur.Load(); st != emptyRevocations {
		t.Fatalf("after the expiry and leeway the set holds %d grants and %d tokens", len(st.grants), len(st.tokens))
	}
	if _, err := e.local.Verify(ctx, raw); !errors.Is(err, token.ErrExpired) {
		t.Fatalf("the token after its entry was dropped: %v, want expired", err)
	}
}

// TestRevocationsLogReset: when the log's head goes back (a new, empty store
// took the old one's place), the verifier reads the new log from its start
// and keeps what it held.
func TestRevocationsLogReset(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	src := &switchableLog{log: e.store}
	v := newRevocationVerifier(t, e, src, nil)
	exp := e.clock.Now().Add(time.Hour)
	for _, jti := range []string{"old-1", "old-2", "old-3"} {
		if err := e.store.RevokeToken(ctx, jti, exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := memstore.New(&memstore.Options{Clock: e.clock.Now})
	if err := fresh.RevokeToken(ctx, "new-1", exp); err != nil {
		t.Fatal(err)
	}
	src.set(false, fresh)
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	held := v.revs.cur.Load().tokens
	for _, jti := range []string{"old-1", "old-2", "old-3", "new-1"} {
		if _, ok := held[maphash.String(v.revs.seed, jti)]; !ok {
			t.Errorf("%s not held after the reset", jti)
		}
	}
}

// TestRevocationsRun: Run reads the log every PollInterval, so a revocation
// stored by another instance takes effect within one interval.
func TestRevocationsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			e.local.Run(ctx)
			close(done)
		}()
		c := e.claims("alice", "mcp:read")
		raw := e.sign(c)
		if err := e.store.RevokeGrant(ctx, c.Extra[token.ClaimGrantID].(string)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.local.Verify(ctx, raw); err != nil {
			t.Fatalf("before the next poll: %v", err)
		}
		time.Sleep(DefaultPollInterval)
		synctest.Wait()
		_, err := e.local.Verify(ctx, raw)
		wantRefused(t, err, "the authorization behind the access token was revoked")
		cancel()
		<-done
	})
}

// TestRevocationsConcurrent checks lookups against concurrent writers (run
// with -race): lookups never lock, writers publish new versions.
func TestRevocationsConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	raw := e.token("alice", "mcp:read")
	ctx := t.Context()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := e.local.Verify(ctx, raw); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	exp := e.clock.Now().Add(time.Hour)
	for i := range 200 {
		id := token.NewID()
		if i%2 == 0 {
			e.local.AddRevocations(store.Revocation{Kind: store.RevokedGrant, ID: id, ExpiresAt: exp})
		} else if err := e.store.RevokeToken(ctx, id, exp); err != nil {
			t.Fatal(err)
		} else if err := e.local.SyncRevocations(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	st := e.local.revs.cur.Load()
	if len(st.grants) != 100 || len(st.tokens) != 100 {
		t.Errorf("held %d grants and %d tokens, want 100 each", len(st.grants), len(st.tokens))
	}
}

func TestNewLocalVerifierNegativePollInterval(t *testing.T) {
	e := newEnv(t, nil)
	_, err := NewLocalVerifier(&LocalVerifierOptions{Verifier: mustVerifier(t, e), Issuer: testIssuer,
		Resource: testResource, Revocations: e.store, PollInterval: -time.Second})
	if err == nil {
		t.Fatal("a negative PollInterval was accepted")
	}
}

func TestRevocationMethodsWithoutLog(t *testing.T) {
	e := newEnv(t, nil)
	v, err := NewLocalVerifier(&LocalVerifierOptions{Verifier: mustVerifier(t, e), Issuer: testIssuer, Resource: testResource, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.SyncRevocations(t.Context()); err == nil {
		t.Error("SyncRevocations without a log succeeded")
	}
	v.AddRevocations(store.Revocation{Kind: store.RevokedGrant, ID: "g", ExpiresAt: e.clock.Now().Add(time.Hour)})
	v.Run(t.Context()) // returns at once
	c := e.claims("alice", "mcp:read")
	c.Extra = nil
	if _, err := v.Verify(t.Context(), e.sign(c)); err != nil {
		t.Fatalf("without a log, a token without a grant id: %v", err)
	}
}

// revokeTokens appends a RevokedToken entry for each jti to st, live until
// exp.
func revokeTokens(t *testing.T, st store.Revocations, exp time.Time, jtis ...string) {
	t.Helper()
	for _, jti := range jtis {
		if err := st.RevokeToken(t.Context(), jti, exp); err != nil {
			t.Fatal(err)
		}
	}
}

// wantHeld checks that v's set holds (or not) the revoked tokens jtis.
func wantHeld(t *testing.T, v *LocalVerifier, held bool, jtis ...string) {
	t.Helper()
	for _, jti := range jtis {
		if got := v.Revoked("", jti); got != held {
			t.Errorf("token %s revoked = %v, want %v", jti, got, held)
		}
	}
}

// TestRevocationsLogReplaced: a log replaced by one whose Seq numbers overlap
// the one read so far (a Redis failover that lost the last appends, a file
// store restored from a backup) is noticed although its head did not go
// back: the newest entry read is no longer there under its Seq. The new log
// is read whole, and the entries held stay.
func TestRevocationsLogReplaced(t *testing.T) {
	for _, c := range []struct {
		name string
		new  []string // entries of the new log; the old one has three
	}{
		{"SameHead", []string{"new-1", "new-2", "new-3"}},
		{"LargerHead", []string{"new-1", "new-2", "new-3", "new-4"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			var logs bytes.Buffer
			src := &switchableLog{log: e.store}
			v := newRevocationVerifier(t, e, src, &logs)
			exp := e.clock.Now().Add(time.Hour)
			revokeTokens(t, e.store, exp, "old-1", "old-2", "old-3")
			if err := v.SyncRevocations(t.Context()); err != nil {
				t.Fatal(err)
			}
			replacement := memstore.New(&memstore.Options{Clock: e.clock.Now})
			revokeTokens(t, replacement, exp, c.new...)
			src.set(false, replacement)
			if err := v.SyncRevocations(t.Context()); err != nil {
				t.Fatal(err)
			}
			wantHeld(t, v, true, append([]string{"old-1", "old-2", "old-3"}, c.new...)...)
			if !strings.Contains(logs.String(), "was replaced") {
				t.Errorf("the replacement was not logged:\n%s", logs.String())
			}
			// From then on the new log is followed as usual.
			revokeTokens(t, replacement, exp, "new-5")
			if err := v.SyncRevocations(t.Context()); err != nil {
				t.Fatal(err)
			}
			wantHeld(t, v, true, "new-5")
			if n := strings.Count(logs.String(), "was replaced"); n != 1 {
				t.Errorf("%d replacements logged, want 1:\n%s", n, logs.String())
			}
		})
	}
}

// TestRevocationsFullRead: without a live entry to check the log against
// (the newest one read expired), a replaced log is noticed by reading the
// log whole every few minutes.
func TestRevocationsFullRead(t *testing.T) {
	e := newEnv(t, nil)
	src := &switchableLog{log: e.store}
	v := newRevocationVerifier(t, e, src, nil)
	ctx := t.Context()
	revokeTokens(t, e.store, e.clock.Now().Add(2*time.Minute), "old-1")
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(3 * time.Minute) // old-1 expired
	replacement := memstore.New(&memstore.Options{Clock: e.clock.Now})
	exp := e.clock.Now().Add(time.Hour)
	revokeTokens(t, replacement, exp, "new-1", "new-2")
	src.set(false, replacement)
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	// The head (2) is past the old one (1): only new-2 looks new.
	wantHeld(t, v, true, "new-2")
	wantHeld(t, v, false, "new-1")
	e.clock.Advance(fullReadInterval)
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	wantHeld(t, v, true, "new-1", "new-2")
}

// TestRevocationsPollReads: a poll with a live anchor reads the anchor and
// what follows it, not the whole log.
func TestRevocationsPollReads(t *testing.T) {
	e := newEnv(t, nil)
	var got []int
	src := &countingLog{Revocations: e.store, counts: &got}
	v := newRevocationVerifier(t, e, src, nil)
	exp := e.clock.Now().Add(time.Hour)
	revokeTokens(t, e.store, exp, "a", "b", "c")
	for range 2 {
		if err := v.SyncRevocations(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	revokeTokens(t, e.store, exp, "d")
	if err := v.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The whole log, then the anchor (c), then the anchor and d.
	if want := []int{3, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("entries read per poll %v, want %v", got, want)
	}
	wantHeld(t, v, true, "a", "b", "c", "d")
}

// countingLog records how many entries each read of the log returns.
type countingLog struct {
	store.Revocations
	counts *[]int
}

func (c *countingLog) RevocationsSince(ctx context.Context, after int64) ([]store.Revocation, int64, error) {
	rs, head, err := c.Revocations.RevocationsSince(ctx, after)
	*c.counts = append(*c.counts, len(rs))
	return rs, head, err
}

// TestRevocationsMaxStaleness: while the log cannot be read, the set read
// last stays in force up to MaxStaleness after the last successful read;
// then every token is answered 503 and Ready fails, until a read succeeds.
func TestRevocationsMaxStaleness(t *testing.T) {
	e := newEnv(t, nil)
	var logs bytes.Buffer
	src := &switchableLog{log: e.store}
	v := newRevocationVerifier(t, e, src, &logs)
	ctx := t.Context()
	raw := e.token("alice", "mcp:read")
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	src.set(true, nil)
	e.clock.Advance(DefaultMaxStaleness - time.Second)
	if err := v.SyncRevocations(ctx); err == nil {
		t.Fatal("SyncRevocations with the store down succeeded")
	}
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatalf("within the maximum staleness: %v", err)
	}
	if err := v.Ready(); err != nil {
		t.Fatalf("Ready within the maximum staleness: %v", err)
	}
	e.clock.Advance(time.Second)
	if err := v.SyncRevocations(ctx); err == nil {
		t.Fatal("SyncRevocations with the store down succeeded")
	}
	cached := newCached(t, v, e, nil)
	for _, verify := range []Verifier{v, cached} {
		if _, err := verify.Verify(ctx, raw); !errors.Is(err, store.ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
			t.Fatalf("past the maximum staleness: %v, want store.ErrUnavailable", err)
		}
	}
	if err := v.Ready(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready past the maximum staleness: %v", err)
	}
	if n := strings.Count(logs.String(), "maximum staleness"); n != 1 {
		t.Errorf("%d staleness logs, want 1:\n%s", n, logs.String())
	}
	src.set(false, nil)
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cached.Verify(ctx, raw); err != nil {
		t.Fatalf("after the store came back: %v", err)
	}
	if err := v.Ready(); err != nil {
		t.Fatalf("Ready after the store came back: %v", err)
	}
}

// TestRevocationsNoMaxStaleness: a negative MaxStaleness keeps the set in
// force however long the outage; Ready fails only before the first read.
func TestRevocationsNoMaxStaleness(t *testing.T) {
	e := newEnv(t, nil)
	src := &switchableLog{log: e.store, down: true}
	v, err := NewLocalVerifier(&LocalVerifierOptions{
		Verifier: mustVerifier(t, e), Issuer: testIssuer, Resource: testResource,
		Clock: e.clock.Now, Revocations: src, MaxStaleness: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Ready(); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready before the first read: %v", err)
	}
	src.set(false, nil)
	if err := v.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	src.set(true, nil)
	e.clock.Advance(24 * time.Hour)
	if err := v.SyncRevocations(t.Context()); err == nil {
		t.Fatal("SyncRevocations with the store down succeeded")
	}
	if err := v.Ready(); err != nil {
		t.Fatalf("Ready without a maximum staleness: %v", err)
	}
	if _, err := v.Verify(t.Context(), e.token("alice", "mcp:read")); err != nil {
		t.Fatalf("without a maximum staleness: %v", err)
	}
}

// TestRevocationsOverlay: entries added by this process go to the overlay,
// refuse at once, and are merged into the set by the next read of the log
// or when the overlay is full; a merge forgets the expired ones.
func TestRevocationsOverlay(t *testing.T) {
	e := newEnv(t, nil)
	v := e.local
	ctx := t.Context()
	short, long := e.clock.Now().Add(time.Minute), e.clock.Now().Add(time.Hour)
	v.AddRevocations(store.Revocation{Kind: store.RevokedGrant, ID: "g1", ExpiresAt: long},
		store.Revocation{Kind: store.RevokedToken, ID: "t1", ExpiresAt: short},
		store.Revocation{Kind: store.RevokedToken, ID: "", ExpiresAt: long},
		store.Revocation{Kind: "other", ID: "x", ExpiresAt: long},
		store.Revocation{Kind: store.RevokedToken, ID: "expired", ExpiresAt: e.clock.Now().Add(-time.Hour)})
	st := v.revs.cur.Load()
	if len(st.grants) != 0 || len(st.tokens) != 0 || len(st.recentGrants) != 1 || len(st.recentTokens) != 1 {
		t.Fatalf("after one addition: %d+%d grants, %d+%d tokens; want the two kept entries in the overlay",
			len(st.grants), len(st.recentGrants), len(st.tokens), len(st.recentTokens))
	}
	if !v.Revoked("g1", "") || !v.Revoked("", "t1") || v.Revoked("g2", "t2") {
		t.Fatal("lookups in the overlay")
	}
	e.clock.Advance(time.Minute + testLeeway) // t1 may be forgotten
	if err := v.SyncRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	st = v.revs.cur.Load()
	if len(st.grants) != 1 || len(st.tokens) != 0 || len(st.recentGrants)+len(st.recentTokens) != 0 {
		t.Fatalf("after a read of the log: %d+%d grants, %d+%d tokens; want g1 merged, t1 forgotten",
			len(st.grants), len(st.recentGrants), len(st.tokens), len(st.recentTokens))
	}
	if !v.Revoked("g1", "") || v.Revoked("", "t1") {
		t.Fatal("lookups after the merge")
	}
	for i := range maxRecent + 1 {
		v.AddRevocations(store.Revocation{Kind: store.RevokedToken, ID: fmt.Sprint("t", i), ExpiresAt: long})
	}
	st = v.revs.cur.Load()
	if n := len(st.recentGrants) + len(st.recentTokens); n > maxRecent || len(st.tokens) < maxRecent {
		t.Fatalf("%d entries in the overlay, %d tokens in the set: a full overlay must be merged", n, len(st.tokens))
	}
	for i := range maxRecent + 1 {
		if !v.Revoked("", fmt.Sprint("t", i)) {
			t.Fatalf("t%d not revoked", i)
		}
	}
}
