package resource

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// DefaultPollInterval is how often a [LocalVerifier] reads new entries of the
// store's revocation log by default: a revocation made by another instance
// or by the operator command takes effect here within about this long.
const DefaultPollInterval = time.Second

// errRevocationsNotLoaded fails requests (503) until the revocation list has
// been read once: answering before would accept tokens revoked earlier.
var errRevocationsNotLoaded = fmt.Errorf("%w: resource: the revocation list has not been loaded from the store yet", store.ErrUnavailable)

// revocationState is one immutable version of the revocation set. Readers
// load it through an atomic pointer and never lock; writers build a new one.
//
// Ids are kept as 64-bit hashes (maphash, seeded per process) and times as
// Unix nanoseconds, so the maps hold no pointers: the garbage collector does
// not scan them, however many entries there are (with strings, tens of
// thousands of entries made every collection of a busy server slower). Two
// ids with the same hash would make a valid token look revoked, never a
// revoked one valid; the ids are random 128-bit values chosen by the
// authorization server, so that has a probability of about n/2^64 per token.
type revocationState struct {
	grants map[uint64]int64 // hash of a revoked grant id → when it may be forgotten
	tokens map[uint64]int64 // hash of a revoked access token jti → the same
	next   int64            // the earliest forget time; 0 when empty
}

var emptyRevocations = &revocationState{}

// revoked reports whether a token of grantID with jti is revoked. Two hashes
// and map lookups at most; none while the set is empty.
func (st *revocationState) revoked(seed maphash.Seed, grantID, jti string) (grant, token bool) {
	if len(st.grants) > 0 {
		if _, ok := st.grants[maphash.String(seed, grantID)]; ok {
			return true, false
		}
	}
	if len(st.tokens) > 0 && jti != "" {
		if _, ok := st.tokens[maphash.String(seed, jti)]; ok {
			return false, true
		}
	}
	return false, false
}

// revocationSet mirrors the live entries of a store's revocation log in
// memory. It is fed by polling the log (sync, run) and, at once, by the
// revocations this process makes itself (add). An entry is kept until its
// ExpiresAt plus the verifier's leeway, when no token it concerns can pass
// the expiry check any more.
type revocationSet struct {
	src      store.Revocations
	interval time.Duration
	leeway   time.Duration
	now      func() time.Time
	log      *slog.Logger
	seed     maphash.Seed

	cur    atomic.Pointer[revocationState]
	loaded atomic.Bool

	mu      sync.Mutex // serialises writers
	cursor  int64      // the log's head at the last successful poll
	failing bool       // the last poll failed (logged once per outage)
}

func newRevocationSet(src store.Revocations, interval, leeway time.Duration, now func() time.Time, log *slog.Logger) *revocationSet {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &revocationSet{src: src, interval: interval, leeway: leeway, now: now, log: log, seed: maphash.MakeSeed()}
	r.cur.Store(emptyRevocations)
	return r
}

// check refuses a principal whose grant or token is revoked.
func (r *revocationSet) check(grantID, jti string) error {
	if !r.loaded.Load() {
		return errRevocationsNotLoaded
	}
	if grantID == "" {
		return invalidToken("the access token is not bound to a grant", nil)
	}
	switch grant, token := r.cur.Load().revoked(r.seed, grantID, jti); {
	case grant:
		return invalidToken("the authorization behind the access token was revoked", nil)
	case token:
		return invalidToken("the access token was revoked", nil)
	}
	return nil
}

// add puts entries in the set at once.
func (r *revocationSet) add(rs ...store.Revocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.apply(rs)
}

// apply builds and publishes the next state: the current one without the
// entries that may be forgotten now, plus rs. Called with r.mu held.
func (r *revocationSet) apply(rs []store.Revocation) {
	now := r.now().UnixNano()
	old := r.cur.Load()
	if len(rs) == 0 && (old.next == 0 || now < old.next) {
		return // nothing new, nothing to forget: keep the version
	}
	st := &revocationState{
		grants: maps.Clone(old.grants),
		tokens: maps.Clone(old.tokens),
	}
	if st.grants == nil {
		st.grants = make(map[uint64]int64)
	}
	if st.tokens == nil {
		st.tokens = make(map[uint64]int64)
	}
	for _, e := range rs {
		forget := e.ExpiresAt.Add(r.leeway).UnixNano()
		if now >= forget || e.ID == "" {
			continue
		}
		m := st.tokens
		if e.Kind == store.RevokedGrant {
			m = st.grants
		} else if e.Kind != store.RevokedToken {
			continue
		}
		if k := maphash.String(r.seed, e.ID); forget > m[k] {
			m[k] = forget
		}
	}
	for _, m := range []map[uint64]int64{st.grants, st.tokens} {
		for k, forget := range m {
			if now >= forget {
				delete(m, k)
			} else if st.next == 0 || forget < st.next {
				st.next = forget
			}
		}
	}
	if len(st.grants) == 0 && len(st.tokens) == 0 {
		st = emptyRevocations
	}
	r.cur.Store(st)
}

// sync reads the log's new entries once. On failure the set keeps what it
// has; the first failure of an outage is logged, and so is the recovery.
func (r *revocationSet) sync(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.poll(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down: not an outage.
	case err != nil && !r.failing:
		r.failing = true
		r.log.ErrorContext(ctx, "revocation list: reading the store's revocation log failed; revoked tokens are refused as of the last successful read until it succeeds again",
			"err", err, "retry_every", r.interval)
	case err == nil && r.failing:
		r.failing = false
		r.log.InfoContext(ctx, "revocation list: reading the store's revocation log works again")
	}
	return err
}

// poll is sync without the logging. Called with r.mu held.
func (r *revocationSet) poll(ctx context.Context) error {
	entries, head, err := r.src.RevocationsSince(ctx, r.cursor)
	if err != nil {
		return err
	}
	if head < r.cursor {
		// The log was reset (a new store): read it whole. Entries already
		// held stay until they expire, as the tokens they refuse do.
		if entries, head, err = r.src.RevocationsSince(ctx, 0); err != nil {
			return err
		}
	}
	r.apply(entries)
	r.cursor = head
	r.loaded.Store(true)
	return nil
}

// run polls every interval until ctx ends.
func (r *revocationSet) run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.sync(ctx) // logged by sync; the set keeps its last version
		}
	}
}

// errNoRevocations is returned by the revocation methods of a verifier built
// without LocalVerifierOptions.Revocations.
var errNoRevocations = errors.New("resource: the LocalVerifier has no revocation log (LocalVerifierOptions.Revocations)")

// SyncRevocations reads the new entries of the store's revocation log now.
// Until a first read succeeds, Verify answers every token with an error
// wrapping [store.ErrUnavailable] (503), so call it once before serving.
func (v *LocalVerifier) SyncRevocations(ctx context.Context) error {
	if v.revs == nil {
		return errNoRevocations
	}
	return v.revs.sync(ctx)
}

// Run reads the store's revocation log every PollInterval until ctx ends,
// so that revocations made by other instances sharing the store, and by the
// operator commands, take effect here within about that long. A failed read
// is logged once per outage and retried at the next tick; meanwhile the set
// read last stays in force. Run returns at once without a revocation log.
func (v *LocalVerifier) Run(ctx context.Context) {
	if v.revs == nil {
		return
	}
	v.revs.run(ctx)
}

// AddRevocations makes the verifier refuse the tokens rs revoke at once,
// without waiting for the next read of the log: an authorization server in
// the same process calls it for the revocations it has just stored. The
// entries must also be in the store (other instances learn them there).
func (v *LocalVerifier) AddRevocations(rs ...store.Revocation) {
	if v.revs != nil {
		v.revs.add(rs...)
	}
}
