package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
	"github.com/frontmcp-go/frontmcp/store/storetest"
)

// runID keeps keys of different test runs apart on a shared server.
var runID = func() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

var prefixSeq atomic.Int64

// uniquePrefix gives each store its own, empty keyspace.
func uniquePrefix() string {
	return fmt.Sprintf("test:%s:%d:", runID, prefixSeq.Add(1))
}

// backends are the Redis setups every conformance test runs against.
var backends = []struct {
	name string
	opts func(t testing.TB) *Options
}{
	{"Single", singleOpts},
	{"Cluster", clusterOpts},
	{"TLS", tlsOpts},
}

func singleOpts(t testing.TB) *Options {
	t.Helper()
	addr, err := env.Single()
	if err != nil {
		t.Fatal(err)
	}
	return &Options{Addr: addr}
}

func clusterOpts(t testing.TB) *Options {
	t.Helper()
	addrs, err := env.Cluster()
	if err != nil {
		t.Fatal(err)
	}
	return &Options{ClusterAddrs: addrs}
}

func tlsOpts(t testing.TB) *Options {
	t.Helper()
	s, err := env.TLS()
	if err != nil {
		t.Fatal(err)
	}
	return &Options{Addr: s.Addr, TLS: &TLSOptions{CAFile: s.CAFile}}
}

// open returns a store on a fresh prefix of o's server, reading time from
// clock. Its keys are deleted when the test ends; the caller closes it.
func open(t testing.TB, o *Options, clock store.Clock) *Store {
	t.Helper()
	cp := *o
	cp.KeyPrefix = uniquePrefix()
	cp.Clock = clock
	ctx, cancel := context.WithTimeout(context.Background(), DefaultStartupTimeout)
	defer cancel()
	s, err := New(ctx, &cp)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { deleteKeys(t, &cp) })
	return s
}

// deleteKeys removes every key under o.KeyPrefix.
func deleteKeys(t testing.TB, o *Options) {
	t.Helper()
	rdb, _, err := o.client()
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	s := &Store{rdb: rdb}
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.eachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, o.KeyPrefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	})
	if err != nil {
		t.Errorf("cleanup of %s*: %v", o.KeyPrefix, err)
	}
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			base := b.opts(t)
			storetest.Run(t, func(t *testing.T, clock store.Clock) store.Store {
				return open(t, base, clock)
			})
			storetest.RunKeys(t, func(t *testing.T) store.Keys {
				return open(t, base, nil)
			})
		})
	}
}

// testClock is a settable clock safe for concurrent use.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *testClock {
	return &testClock{now: time.Date(2031, time.March, 14, 15, 9, 26, 535_897_932, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sentinel returns the store sentinel err wraps, or err itself.
func sentinel(err error) error {
	for _, s := range []error{store.ErrNotFound, store.ErrExists, store.ErrReused, store.ErrMismatch, store.ErrUnavailable} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func cloneGrant(g *store.Grant) *store.Grant {
	cp := *g
	cp.PreviousHashes = slices.Clone(g.PreviousHashes)
	cp.Scopes = slices.Clone(g.Scopes)
	return &cp
}

// withoutPrevious is g as GetGrant and RotateRefresh return it.
func withoutPrevious(g *store.Grant) *store.Grant {
	cp := cloneGrant(g)
	cp.PreviousHashes = nil
	return cp
}

// TestRotateMatchesGoRule checks the Lua port of the rotation rule against
// store.Grant.Rotate itself: a seeded random walk of rotations with current,
// previous, forged and empty hashes, tokens in and past their retry grace,
// unchanged next hashes, expiries before, at and after the grant's end,
// revocations and clock jumps, comparing every outcome and every stored grant,
// nanoseconds included.
func TestRotateMatchesGoRule(t *testing.T) {
	clock := newClock()
	s := open(t, singleOpts(t), clock.Now)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	rng := mathrand.New(mathrand.NewPCG(6, 9700))
	jitter := func(max time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(max))) }

	var model *store.Grant
	grants := 0
	newGrant := func() {
		grants++
		now := clock.Now()
		model = &store.Grant{
			ID: fmt.Sprintf("g%d", grants), ClientID: "client", Subject: "user", Scopes: []string{"a"},
			RefreshHash: "h0", CreatedAt: now,
			RefreshExpiresAt: now.Add(jitter(48 * time.Hour)),
			ExpiresAt:        now.Add(time.Hour + jitter(72*time.Hour)),
		}
		if grants%2 == 0 { // with a retry grace, sometimes above the cap
			model.RefreshReuseGrace = time.Duration(1 + rng.Int64N(int64(2*store.MaxRefreshReuseGrace)))
		}
		if err := s.CreateGrant(ctx, model); err != nil {
			t.Fatalf("CreateGrant: %v", err)
		}
	}
	newGrant()
	outcomes := map[error]int{}
	retries := 0 // successful rotations from a token in grace
	for step := range 4000 {
		now := clock.Now()
		presented := model.RefreshHash
		switch r := rng.IntN(20); {
		case r < 2 && len(model.PreviousHashes) > 0:
			presented = model.PreviousHashes[rng.IntN(len(model.PreviousHashes))]
		case r == 2:
			presented = "forged-" + strconv.Itoa(step)
		case r == 3:
			presented = ""
		case r < 7 && model.GraceHash != "":
			presented = model.GraceHash
		}
		next := "h" + strconv.Itoa(step+1)
		if rng.IntN(10) == 0 {
			next = presented
		}
		var nextExpiry time.Time
		switch r := rng.IntN(10); {
		case r == 0: // zero: the grant's end
		case r == 1:
			nextExpiry = now.Add(-jitter(time.Hour))
		case r == 2:
			nextExpiry = model.ExpiresAt
		default:
			nextExpiry = now.Add(jitter(40 * 24 * time.Hour))
		}

		graceHash := presented != "" && presented == model.GraceHash && presented != model.RefreshHash
		want := cloneGrant(model)
		var wantErr error
		if !now.Before(want.ExpiresAt) {
			wantErr = store.ErrNotFound // the caller's check that Rotate leaves out
		} else {
			_, wantErr = want.Rotate(presented, next, nextExpiry, now)
		}
		got, err := s.RotateRefresh(ctx, model.ID, presented, next, nextExpiry)
		if sentinel(err) != wantErr {
			t.Fatalf("step %d: RotateRefresh(%q, %q, %v) error = %v, want %v", step, presented, next, nextExpiry, err, wantErr)
		}
		outcomes[wantErr]++
		if wantErr == nil && graceHash {
			retries++
		}
		if wantErr == nil {
			if diff := cmp.Diff(withoutPrevious(want), got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("step %d: RotateRefresh result (-want +got):\n%s", step, diff)
			}
		} else if got != nil {
			t.Fatalf("step %d: RotateRefresh returned a grant with %v", step, err)
		}
		model = want
		model.Retried = false // reported, never stored
		if now.Before(model.ExpiresAt) {
			stored, err := s.GetGrant(ctx, model.ID)
			if err != nil {
				t.Fatalf("step %d: GetGrant: %v", step, err)
			}
			if stored.PreviousHashes, err = s.PreviousRefreshHashes(ctx, model.ID); err != nil {
				t.Fatalf("step %d: PreviousRefreshHashes: %v", step, err)
			}
			if diff := cmp.Diff(model, stored, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("step %d: stored grant (-model +stored):\n%s", step, diff)
			}
		}
		if rng.IntN(200) == 0 {
			alive := now.Before(model.ExpiresAt)
			var wantErr error
			if !alive {
				wantErr = store.ErrNotFound
			}
			if err := s.RevokeGrant(ctx, model.ID); sentinel(err) != wantErr {
				t.Fatalf("step %d: RevokeGrant error = %v, want %v", step, err, wantErr)
			}
			if alive && model.RevokedAt.IsZero() {
				model.RevokedAt = now
			}
		}
		if rng.IntN(2) == 0 { // often within a grace
			clock.Advance(jitter(2 * store.MaxRefreshReuseGrace))
		} else {
			clock.Advance(jitter(2 * time.Hour))
		}
		if !model.RevokedAt.IsZero() || !clock.Now().Before(model.ExpiresAt) {
			if rng.IntN(4) == 0 { // sometimes keep probing the dead grant
				newGrant()
			}
		}
	}
	for _, e := range []error{nil, store.ErrReused, store.ErrNotFound, store.ErrMismatch} {
		if outcomes[e] < 20 {
			t.Errorf("the walk produced outcome %v only %d times; it does not exercise the rule", e, outcomes[e])
		}
	}
	if retries < 20 {
		t.Errorf("the walk produced %d retries within a grace; it does not exercise the grace", retries)
	}
}

// TestPreviousHashesTrimmed rotates past store.MaxPreviousHashes: the oldest
// hashes are forgotten (presenting one is a mismatch, not reuse), the kept
// ones still count as reuse.
func TestPreviousHashesTrimmed(t *testing.T) {
	clock := newClock()
	s := open(t, singleOpts(t), clock.Now)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	now := clock.Now()
	g := &store.Grant{ID: "g", RefreshHash: "h0", RefreshExpiresAt: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	const rotations = store.MaxPreviousHashes + 6
	for i := range rotations {
		if _, err := g.Rotate("h"+strconv.Itoa(i), "h"+strconv.Itoa(i+1), now.Add(time.Hour), now); err != nil {
			t.Fatalf("model rotation %d: %v", i, err)
		}
		if _, err := s.RotateRefresh(ctx, "g", "h"+strconv.Itoa(i), "h"+strconv.Itoa(i+1), now.Add(time.Hour)); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
	}
	stored, err := s.GetGrant(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if stored.PreviousHashes, err = s.PreviousRefreshHashes(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(g, stored); diff != "" {
		t.Fatalf("stored grant differs from the Go rule's (-want +got):\n%s", diff)
	}
	if n := len(stored.PreviousHashes); n != store.MaxPreviousHashes || stored.PreviousHashes[0] != "h6" {
		t.Fatalf("kept %d previous hashes starting at %q, want %d starting at h6", n, stored.PreviousHashes[0], store.MaxPreviousHashes)
	}
	if _, err := s.RotateRefresh(ctx, "g", "h5", "x", time.Time{}); !errors.Is(err, store.ErrMismatch) {
		t.Fatalf("forgotten hash: error = %v, want ErrMismatch", err)
	}
	if _, err := s.RotateRefresh(ctx, "g", "h6", "x", time.Time{}); !errors.Is(err, store.ErrReused) {
		t.Fatalf("oldest kept hash: error = %v, want ErrReused", err)
	}
}

// TestKeyLayout checks the documented key names, their TTLs and the escaping
// of braces in ids.
func TestKeyLayout(t *testing.T) {
	clock := newClock()
	o := singleOpts(t)
	s := open(t, o, clock.Now)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	now := clock.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SavePending(ctx, &store.PendingAuthorization{ID: "p1", ExpiresAt: now.Add(10 * time.Minute)}))
	must(s.SaveCode(ctx, &store.AuthCode{Hash: "codehash", GrantID: "g1", ExpiresAt: now.Add(time.Minute)}))
	must(s.CreateGrant(ctx, &store.Grant{ID: "g1", Subject: "alice", ClientID: "c1", RefreshHash: "r0", ExpiresAt: now.Add(30 * 24 * time.Hour)}))
	_, err := s.RotateRefresh(ctx, "g1", "r0", "r1", time.Time{})
	must(err)
	must(s.CreateClient(ctx, &store.Client{ID: "c1"}))
	must(s.CreateClient(ctx, &store.Client{ID: "odd}{id%"}))

	admin := redis.NewClient(&redis.Options{Addr: o.Addr})
	defer admin.Close()
	p := s.keys.prefix
	keys, err := admin.Keys(ctx, p+"*").Result()
	must(err)
	for i := range keys {
		keys[i] = strings.TrimPrefix(keys[i], p)
	}
	slices.Sort(keys)
	want := []string{
		"code:{codehash}",
		"grant-prev:{g1}",
		"grant:{g1}",
		"grants:all",
		"grants:client:c1",
		"grants:subject:alice",
		"pending:{p1}",
		"{clients}:client:c1",
		"{clients}:client:odd%7D%7Bid%25",
		"{clients}:index",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Fatalf("keys (-want +got):\n%s", diff)
	}
	ttls := []struct {
		key      string
		min, max time.Duration
	}{
		{"pending:{p1}", 10*time.Minute - 5*time.Second, 10 * time.Minute},
		{"code:{codehash}", 55 * time.Second, time.Minute},
		{"grant:{g1}", 30*24*time.Hour - time.Minute, 30 * 24 * time.Hour},
		{"grant-prev:{g1}", 30*24*time.Hour - time.Minute, 30 * 24 * time.Hour},
		{"grants:all", 30*24*time.Hour - time.Minute, 30 * 24 * time.Hour},
		{"{clients}:client:c1", -1, -1}, // no expiry
	}
	for _, tt := range ttls {
		d, err := admin.PTTL(ctx, p+tt.key).Result()
		must(err)
		if tt.min == -1 {
			if d != -1 {
				t.Errorf("PTTL %s = %v, want no expiry", tt.key, d)
			}
			continue
		}
		if d < tt.min || d > tt.max {
			t.Errorf("PTTL %s = %v, want between %v and %v", tt.key, d, tt.min, tt.max)
		}
	}
	// Stored values hold hashes only and the grant's fields as documented.
	fields, err := admin.HKeys(ctx, p+"grant:{g1}").Result()
	must(err)
	slices.Sort(fields)
	if diff := cmp.Diff([]string{"d", "pn", "rh", "rv", "rx", "x"}, fields); diff != "" {
		t.Errorf("grant hash fields (-want +got):\n%s", diff)
	}
	prev, err := admin.ZRangeWithScores(ctx, p+"grant-prev:{g1}", 0, -1).Result()
	must(err)
	if diff := cmp.Diff([]redis.Z{{Score: 1, Member: "r0"}}, prev); diff != "" {
		t.Errorf("previous hashes (-want +got):\n%s", diff)
	}
}

// TestHashTags checks on the cluster that the keys one script touches share
// a slot, and that an id with braces cannot move a record out of its slot.
func TestHashTags(t *testing.T) {
	addrs, err := env.Cluster()
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer c.Close()
	ctx := t.Context()
	slot := func(key string) int64 {
		t.Helper()
		n, err := c.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	k := keys{prefix: DefaultKeyPrefix}
	for _, id := range []string{"c1", "}x", "{y}", "a}b", ""} {
		if a, b := slot(k.client(id)), slot(k.clientIndex()); a != b {
			t.Errorf("client %q in slot %d, index in %d", id, a, b)
		}
		// A record kind keyed by the same id shares the grant's slot.
		if a, b := slot(k.grant(id)), slot(k.tagged("vault", id)); a != b {
			t.Errorf("grant:{%s} in slot %d, vault:{%s} in %d", id, a, id, b)
		}
		if a, b := slot(k.grant(id)), slot(k.grantPrev(id)); a != b {
			t.Errorf("grant:{%s} in slot %d, grant-prev:{%s} in %d", id, a, id, b)
		}
	}
	// Records spread: a hundred grants use more than one slot.
	seen := map[int64]bool{}
	for i := range 100 {
		seen[slot(k.grant(strconv.Itoa(i)))] = true
	}
	if len(seen) < 50 {
		t.Errorf("100 grants fall in %d slots", len(seen))
	}
}

// TestAlreadyExpired: a record saved at or after its expiry is absent.
func TestAlreadyExpired(t *testing.T) {
	clock := newClock()
	s := open(t, singleOpts(t), clock.Now)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	now := clock.Now()
	if err := s.SavePending(ctx, &store.PendingAuthorization{ID: "p", ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePending(ctx, &store.PendingAuthorization{ID: "p", ExpiresAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPending(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPending after saving an expired replacement: %v, want ErrNotFound", err)
	}
	if err := s.SaveCode(ctx, &store.AuthCode{Hash: "c", ExpiresAt: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeCode(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeCode of an expired code: %v, want ErrNotFound", err)
	}
	if err := s.CreateGrant(ctx, &store.Grant{ID: "g", ExpiresAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetGrant(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetGrant of an expired grant: %v, want ErrNotFound", err)
	}
	if list, err := s.ListGrants(ctx, store.GrantFilter{}); err != nil || len(list) != 0 {
		t.Errorf("ListGrants = %v, %v; want none", list, err)
	}
}

func TestRejects(t *testing.T) {
	s := open(t, singleOpts(t), nil)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	future := time.Now().Add(time.Hour)
	notJSON := store.Claims{"f": func() {}}
	tests := []struct {
		name string
		op   func() error
	}{
		{"EmptyPendingID", func() error { return s.SavePending(ctx, &store.PendingAuthorization{ExpiresAt: future}) }},
		{"EmptyCodeHash", func() error { return s.SaveCode(ctx, &store.AuthCode{ExpiresAt: future}) }},
		{"EmptyGrantID", func() error { return s.CreateGrant(ctx, &store.Grant{ExpiresAt: future}) }},
		{"EmptyClientID", func() error { return s.CreateClient(ctx, &store.Client{}) }},
		{"PendingClaims", func() error {
			return s.SavePending(ctx, &store.PendingAuthorization{ID: "p", Claims: notJSON, ExpiresAt: future})
		}},
		{"CodeClaims", func() error { return s.SaveCode(ctx, &store.AuthCode{Hash: "c", Claims: notJSON, ExpiresAt: future}) }},
		{"GrantClaims", func() error { return s.CreateGrant(ctx, &store.Grant{ID: "g", Claims: notJSON, ExpiresAt: future}) }},
		{"ClientMetadata", func() error { return s.CreateClient(ctx, &store.Client{ID: "c", Metadata: notJSON}) }},
		{"GrantTimeOutOfRange", func() error {
			return s.CreateGrant(ctx, &store.Grant{ID: "g", ExpiresAt: time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC)})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error = %v, want ErrInvalid", err)
			}
			if errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("error %v wraps ErrUnavailable; the caller is at fault, not Redis", err)
			}
		})
	}
	if _, err := s.GetPending(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPending after a rejected save = %v, want ErrNotFound", err)
	}
}

func TestClosed(t *testing.T) {
	s := open(t, singleOpts(t), nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := t.Context()
	for name, op := range outageOps(s, "g", "c", "p") {
		if err := op(ctx); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
}

// outageOps is one call of every store method, on the given ids.
func outageOps(s *Store, grantID, codeHash, pendingID string) map[string]func(context.Context) error {
	exp := time.Now().Add(time.Hour)
	return map[string]func(context.Context) error{
		"Ping": s.Ping,
		"SavePending": func(ctx context.Context) error {
			return s.SavePending(ctx, &store.PendingAuthorization{ID: pendingID, ExpiresAt: exp})
		},
		"GetPending":     func(ctx context.Context) error { _, err := s.GetPending(ctx, pendingID); return err },
		"ConsumePending": func(ctx context.Context) error { _, err := s.ConsumePending(ctx, pendingID); return err },
		"SaveCode": func(ctx context.Context) error {
			return s.SaveCode(ctx, &store.AuthCode{Hash: codeHash + "-new", ExpiresAt: exp})
		},
		"ConsumeCode": func(ctx context.Context) error { _, err := s.ConsumeCode(ctx, codeHash); return err },
		"CreateGrant": func(ctx context.Context) error {
			return s.CreateGrant(ctx, &store.Grant{ID: grantID + "-new", ExpiresAt: exp})
		},
		"GetGrant": func(ctx context.Context) error { _, err := s.GetGrant(ctx, grantID); return err },
		"RotateRefresh": func(ctx context.Context) error {
			_, err := s.RotateRefresh(ctx, grantID, "r0", "r1", exp)
			return err
		},
		"RevokeGrant":  func(ctx context.Context) error { return s.RevokeGrant(ctx, grantID) },
		"ListGrants":   func(ctx context.Context) error { _, err := s.ListGrants(ctx, store.GrantFilter{}); return err },
		"CreateClient": func(ctx context.Context) error { return s.CreateClient(ctx, &store.Client{ID: "new"}) },
		"GetClient":    func(ctx context.Context) error { _, err := s.GetClient(ctx, "c"); return err },
		"DeleteClient": func(ctx context.Context) error { return s.DeleteClient(ctx, "c") },
		"ListClients":  func(ctx context.Context) error { _, err := s.ListClients(ctx); return err },
	}
}

// TestOutage stops a private server under a live Store: every operation
// fails with ErrUnavailable (never not-found, reused or mismatch) within the
// configured timeouts, Ping says so, and once the server is back the same
// Store works again by itself. Then the same with a server that hangs
// (SIGSTOP) instead of refusing connections.
func TestOutage(t *testing.T) {
	srv, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	const timeout = 250 * time.Millisecond
	// An operation is one dial, one write and one read at most.
	const limit = 3*timeout + time.Second
	o := &Options{Addr: srv.Addr, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout}
	s := open(t, o, nil)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()

	seed := func(grantID, codeHash string) {
		t.Helper()
		exp := time.Now().Add(time.Hour)
		if err := s.CreateGrant(ctx, &store.Grant{ID: grantID, RefreshHash: "r0", ExpiresAt: exp}); err != nil {
			t.Fatalf("CreateGrant: %v", err)
		}
		if err := s.SaveCode(ctx, &store.AuthCode{Hash: codeHash, GrantID: grantID, ExpiresAt: exp}); err != nil {
			t.Fatalf("SaveCode: %v", err)
		}
	}
	down := func(phase, grantID, codeHash string) {
		t.Helper()
		for name, op := range outageOps(s, grantID, codeHash, "p") {
			start := time.Now()
			err := op(ctx)
			took := time.Since(start)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s: %s error = %v, want ErrUnavailable", phase, name, err)
			}
			for _, wrong := range []error{store.ErrNotFound, store.ErrReused, store.ErrMismatch, store.ErrExists} {
				if errors.Is(err, wrong) {
					t.Errorf("%s: %s error %v wraps %v", phase, name, err, wrong)
				}
			}
			if took > limit {
				t.Errorf("%s: %s took %v, want at most %v", phase, name, took, limit)
			}
		}
	}
	up := func(phase string) {
		t.Helper()
		waitReady(t, s)
		id := "after-" + phase
		seed(id, "code-"+id)
		if _, err := s.RotateRefresh(ctx, id, "r0", "r1", time.Time{}); err != nil {
			t.Fatalf("%s: RotateRefresh: %v", phase, err)
		}
		if _, err := s.ConsumeCode(ctx, "code-"+id); err != nil {
			t.Fatalf("%s: ConsumeCode: %v", phase, err)
		}
	}

	seed("g1", "c1")
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	down("killed", "g1", "c1")
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	up("restart")
	// The test server keeps nothing across a restart: the old grant is gone,
	// which is reported as such once Redis answers again.
	if _, err := s.GetGrant(ctx, "g1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetGrant of a grant lost with the restart: %v, want ErrNotFound", err)
	}

	seed("g2", "c2")
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	down("paused", "g2", "c2")
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	up("resume")
}

// waitReady polls Ping until the server answers again (the client redials by
// itself; its dial circuit breaker probes once a second).
func waitReady(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := s.Ping(t.Context())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis did not come back: %v", err)
		}
		<-tick.C
	}
}

// TestNewFailsClosed: New refuses an unreachable Redis, naming the address
// and the cause, within the dial timeout.
func TestNewFailsClosed(t *testing.T) {
	srv, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr
	if err := srv.Close(); err != nil { // now nothing listens there
		t.Fatal(err)
	}
	tlsSrv, err := env.TLS()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts *Options
		want []string
	}{
		{"Single", &Options{Addr: addr}, []string{addr, "connection refused"}},
		{"URL", &Options{URL: "redis://:hunter2@" + addr + "/0"}, []string{addr, "connection refused"}},
		{"Cluster", &Options{ClusterAddrs: []string{addr}}, []string{"cluster " + addr, "connection refused"}},
		{"Sentinel", &Options{MasterName: "mymaster", SentinelAddrs: []string{addr}}, []string{"sentinels " + addr, `master "mymaster"`}},
		{"TLSUnknownCA", &Options{Addr: tlsSrv.Addr, TLS: &TLSOptions{}}, []string{tlsSrv.Addr, "certificate"}},
		{"TLSWrongName", &Options{Addr: tlsSrv.Addr, TLS: &TLSOptions{CAFile: tlsSrv.CAFile, ServerName: "redis.example.com"}}, []string{tlsSrv.Addr, "redis.example.com"}},
		{"PlainToTLS", &Options{Addr: tlsSrv.Addr}, []string{tlsSrv.Addr}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.DialTimeout = time.Second
			tt.opts.ReadTimeout = time.Second
			start := time.Now()
			s, err := New(t.Context(), tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("error %v does not wrap ErrUnavailable", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("New took %v", took)
			}
		})
	}
}

func TestInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
	}{
		{"AddrAndURL", &Options{Addr: "a:1", URL: "redis://b:2"}},
		{"AddrAndCluster", &Options{Addr: "a:1", ClusterAddrs: []string{"b:2"}}},
		{"SentinelWithoutMaster", &Options{SentinelAddrs: []string{"a:1"}}},
		{"MasterWithoutSentinels", &Options{MasterName: "m"}},
		{"ClusterDB", &Options{ClusterAddrs: []string{"a:1"}, DB: 1}},
		{"PrefixWithBrace", &Options{KeyPrefix: "app{1}:"}},
		{"BadURL", &Options{URL: "http://user:hunter2@h:1"}},
		{"BadURLPort", &Options{URL: "redis://user:hunter2@h:port"}},
		{"MissingCAFile", &Options{TLS: &TLSOptions{CAFile: "/nonexistent/ca.pem"}}},
		{"CertWithoutKey", &Options{TLS: &TLSOptions{CertFile: "/c.pem"}}},
		{"NegativeTimeout", &Options{ReadTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(t.Context(), tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, ErrInvalid) || errors.Is(err, store.ErrUnavailable) {
				t.Errorf("error = %v, want ErrInvalid only", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestURL: a redis:// URL selects the database; rediss:// with a CA file
// verifies the server.
func TestURL(t *testing.T) {
	addr, err := env.Single()
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, &Options{URL: "redis://" + addr + "/3"}, nil)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	if err := s.CreateClient(ctx, &store.Client{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	db3 := redis.NewClient(&redis.Options{Addr: addr, DB: 3})
	defer db3.Close()
	if n, err := db3.Exists(ctx, s.keys.client("c")).Result(); err != nil || n != 1 {
		t.Fatalf("client key in database 3: %d, %v", n, err)
	}
	if err := s.DeleteClient(ctx, "c"); err != nil {
		t.Fatal(err)
	}

	tlsSrv, err := env.TLS()
	if err != nil {
		t.Fatal(err)
	}
	st := open(t, &Options{URL: "rediss://" + tlsSrv.Addr, TLS: &TLSOptions{CAFile: tlsSrv.CAFile}}, nil)
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMutualTLS: a server that demands client certificates accepts the store
// with certFile and keyFile and refuses it without.
func TestMutualTLS(t *testing.T) {
	certs, err := redistest.NewCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := redistest.Start(&redistest.Options{TLS: certs, RequireClientCert: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	without := &Options{Addr: srv.Addr, TLS: &TLSOptions{CAFile: certs.CAFile}}
	if s, err := New(t.Context(), without); err == nil {
		s.Close()
		t.Fatal("New without a client certificate succeeded")
	} else if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	with := &Options{Addr: srv.Addr, TLS: &TLSOptions{CAFile: certs.CAFile, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}}
	s := open(t, with, nil)
	defer s.Close()
	if err := s.CreateClient(t.Context(), &store.Client{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	// Skipping verification works outside production (config refuses it there).
	insecure := &Options{Addr: srv.Addr, TLS: &TLSOptions{InsecureSkipVerify: true, CertFile: certs.ClientCert, KeyFile: certs.ClientKey}}
	si := open(t, insecure, nil)
	defer si.Close()
	if err := si.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestOneRoundTrip counts the commands Redis runs for ConsumeCode and
// RotateRefresh (INFO commandstats on a private server): one EVALSHA each.
func TestOneRoundTrip(t *testing.T) {
	srv, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s := open(t, &Options{Addr: srv.Addr}, nil)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	const n = 10
	for i := range n + 1 {
		id := strconv.Itoa(i)
		if err := s.SaveCode(ctx, &store.AuthCode{Hash: "c" + id, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateGrant(ctx, &store.Grant{ID: "g" + id, RefreshHash: "r0", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	// Warm up: the first run of each script loads it.
	if _, err := s.ConsumeCode(ctx, "c0"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateRefresh(ctx, "g0", "r0", "r1", exp); err != nil {
		t.Fatal(err)
	}
	admin := srv.Client()
	defer admin.Close()
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		id := strconv.Itoa(i)
		if _, err := s.ConsumeCode(ctx, "c"+id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RotateRefresh(ctx, "g"+id, "r0", "r1", exp); err != nil {
			t.Fatal(err)
		}
	}
	info, err := admin.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for line := range strings.SplitSeq(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		name = strings.TrimPrefix(name, "cmdstat_")
		if name == "info" || strings.HasPrefix(name, "config") {
			continue // the admin client's own
		}
		v, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		calls[name], _ = strconv.Atoi(v)
	}
	// Commands run inside a script are counted too: each script reads the
	// record with one HMGET and writes it with one HSET; a rotation also
	// looks the presented hash up among the previous ones (ZSCORE) and adds
	// the retired one (ZADD), giving the grant's first previous-hash set
	// the grant's TTL (PTTL of both keys, PEXPIRE).
	want := map[string]int{"evalsha": 2 * n, "hmget": 2 * n, "hset": 2 * n,
		"zscore": n, "zadd": n, "pttl": 2 * n, "pexpire": n}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Fatalf("commands for %d ConsumeCode and %d RotateRefresh (-want +got):\n%s", n, n, diff)
	}
}

func FuzzTimeCodec(f *testing.F) {
	f.Add(int64(0), int64(0), int64(1), int64(0))
	f.Add(int64(1_900_000_000), int64(999_999_999), int64(1_900_000_000), int64(999_999_998))
	f.Add(int64(-62135596800), int64(1), int64(253402300799), int64(0))
	f.Fuzz(func(t *testing.T, s1, n1, s2, n2 int64) {
		a, b := time.Unix(s1, n1), time.Unix(s2, n2)
		ea, erra := encodeTime(a)
		eb, errb := encodeTime(b)
		if erra != nil || errb != nil {
			return // out of the stored range
		}
		for _, tc := range []struct {
			t time.Time
			e string
		}{{a, ea}, {b, eb}} {
			got, err := decodeTime(tc.e)
			if err != nil {
				t.Fatalf("decodeTime(%q): %v", tc.e, err)
			}
			if !got.Equal(tc.t) && !tc.t.IsZero() {
				t.Fatalf("round trip of %v gave %v", tc.t, got)
			}
		}
		if a.IsZero() || b.IsZero() {
			return
		}
		if (ea < eb) != a.Before(b) || (ea == eb) != a.Equal(b) {
			t.Fatalf("order: %v vs %v encoded %q vs %q", a, b, ea, eb)
		}
	})
}

func FuzzDecodeTime(f *testing.F) {
	f.Add("")
	f.Add("063855142166535897932")
	f.Add("99999999999999999999x")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := decodeTime(s)
		if err != nil {
			return
		}
		again, err := encodeTime(tm)
		if err != nil || again != s {
			t.Fatalf("decodeTime(%q) = %v, which encodes to %q, %v", s, tm, again, err)
		}
	})
}

func benchStore(b *testing.B) *Store {
	s := open(b, singleOpts(b), nil)
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkConsumeCode(b *testing.B) { storetest.BenchConsumeCode(b, benchStore(b)) }

func BenchmarkRotateRefresh(b *testing.B) { storetest.BenchRotateRefresh(b, benchStore(b)) }

func BenchmarkRotateRefreshFull(b *testing.B) { storetest.BenchRotateRefreshFull(b, benchStore(b)) }

func BenchmarkGetGrantFull(b *testing.B) { storetest.BenchGetGrantFull(b, benchStore(b)) }

func BenchmarkRotateRefreshParallel(b *testing.B) {
	storetest.BenchRotateRefreshParallel(b, benchStore(b))
}

// aclRules are the permissions docs/deployment.md gives a dedicated Redis
// user; a cluster also needs aclClusterRules.
const (
	aclRules        = "+@read +@write +@scripting +@connection +info"
	aclClusterRules = "+cluster|slots +cluster|shards +cluster|nodes +command"
)

// TestACLUser runs the conformance suite as a Redis user limited to the
// test prefixes and the documented command categories, on a single server
// and on the cluster (ACLs are per node, so the user is set on each).
func TestACLUser(t *testing.T) {
	srv, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	clusterAddrs, err := env.Cluster()
	if err != nil {
		t.Fatal(err)
	}
	user := "frontmcp-" + runID
	setUser := func(t *testing.T, addr, rules string) {
		t.Helper()
		admin := redis.NewClient(&redis.Options{Addr: addr})
		defer admin.Close()
		args := []any{"acl", "setuser", user, "on", ">s3cret", "resetkeys", "~test:*", "resetchannels", "-@all"}
		for _, r := range strings.Fields(rules) {
			args = append(args, r)
		}
		if err := admin.Do(t.Context(), args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("Single", func(t *testing.T) {
		setUser(t, srv.Addr, aclRules)
		o := &Options{Addr: srv.Addr, Username: user, Password: "s3cret"}
		storetest.Run(t, func(t *testing.T, clock store.Clock) store.Store {
			return open(t, o, clock)
		})
		// The user cannot reach keys outside its prefix.
		s, err := New(t.Context(), &Options{Addr: srv.Addr, Username: user, Password: "s3cret", KeyPrefix: "other:"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.CreateClient(t.Context(), &store.Client{ID: "c"}); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("CreateClient outside the user's keys: %v, want ErrUnavailable", err)
		}
	})
	t.Run("Cluster", func(t *testing.T) {
		for _, a := range clusterAddrs {
			setUser(t, a, aclRules+" "+aclClusterRules)
		}
		o := &Options{ClusterAddrs: clusterAddrs, Username: user, Password: "s3cret"}
		storetest.Run(t, func(t *testing.T, clock store.Clock) store.Store {
			return open(t, o, clock)
		})
	})
}

// TestLegacyPreviousHashes reads and rotates a grant stored by an earlier
// version, whose rotated-out hashes are a JSON array in the grant hash (ph):
// they count as previous hashes, and the first rotation moves them into the
// grant's sorted set.
func TestLegacyPreviousHashes(t *testing.T) {
	clock := newClock()
	o := singleOpts(t)
	s := open(t, o, clock.Now)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	now := clock.Now()
	g := &store.Grant{ID: "g", ClientID: "c", Subject: "u", RefreshHash: "r2", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	f, err := encodeGrant(g)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(&redis.Options{Addr: o.Addr})
	defer admin.Close()
	key := s.keys.grant("g")
	if err := admin.HSet(ctx, key, "d", f.d, "x", f.x, "rh", f.rh, "ph", `["r0","r1"]`, "rx", f.rx, "rv", f.rv).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.PExpire(ctx, key, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	prev, err := s.PreviousRefreshHashes(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"r0", "r1"}, prev); diff != "" {
		t.Fatalf("previous hashes of a legacy grant (-want +got):\n%s", diff)
	}
	if _, err := s.RotateRefresh(ctx, "g", "r2", "r3", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if ph, err := admin.HExists(ctx, key, "ph").Result(); err != nil || ph {
		t.Fatalf("ph after a rotation: exists %v, %v; want it moved", ph, err)
	}
	if prev, err = s.PreviousRefreshHashes(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"r0", "r1", "r2"}, prev); diff != "" {
		t.Fatalf("previous hashes after the rotation (-want +got):\n%s", diff)
	}
	if d := admin.PTTL(ctx, s.keys.grantPrev("g")).Val(); d <= 0 || d > time.Hour {
		t.Fatalf("TTL of the moved hashes %v, want the grant's", d)
	}
	if _, err := s.RotateRefresh(ctx, "g", "r0", "x", time.Time{}); !errors.Is(err, store.ErrReused) {
		t.Fatalf("RotateRefresh with a moved hash = %v, want ErrReused", err)
	}
}
