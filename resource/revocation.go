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

// DefaultMaxStaleness is how long, by default, a [LocalVerifier] goes on
// answering from the revocation set it read last while reading the log
// fails; after that it answers 503 until a read succeeds (see
// LocalVerifierOptions.MaxStaleness).
const DefaultMaxStaleness = 30 * time.Second

const (
	// pollTimeout bounds one read of the log by Run, so that a store that
	// hangs counts as failing.
	pollTimeout = 5 * time.Second
	// fullReadInterval is how often the whole log is read again while no
	// anchor entry can tell whether it was replaced (see poll).
	fullReadInterval = 5 * time.Minute
	// anchorMargin: an anchor entry this close to its expiry no longer
	// counts, since the store may drop it by its own clock.
	anchorMargin = time.Minute
	// maxRecent bounds the entries added by this process that wait in the
	// overlay of the set for the next read of the log: past it, an addition
	// merges them into the set at once.
	maxRecent = 256
)

// errRevocationsNotLoaded fails requests (503) until the revocation list has
// been read once: answering before would accept tokens revoked earlier.
var errRevocationsNotLoaded = fmt.Errorf("%w: resource: the revocation list has not been loaded from the store yet", store.ErrUnavailable)

// errRevocationsStale fails requests (503) once reading the log has failed
// for longer than LocalVerifierOptions.MaxStaleness: revocations made
// meanwhile by other instances or the operator would go unnoticed.
var errRevocationsStale = fmt.Errorf("%w: resource: the revocation list could not be read from the store for too long", store.ErrUnavailable)

// Verification states of a revocationSet.
const (
	revsNotLoaded int32 = iota // never read: refuse with 503
	revsCurrent                // read recently enough
	revsStale                  // reading has failed for longer than maxStale: refuse with 503
)

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
//
// The entries this process adds between two reads of the log (recent*) sit
// in small maps beside the large ones, which a version shares with the one
// before: an addition copies the small maps only, so its cost does not grow
// with the set. The next read of the log merges them in.
type revocationState struct {
	grants map[uint64]int64 // hash of a revoked grant id → when it may be forgotten
	tokens map[uint64]int64 // hash of a revoked access token jti → the same
	// recentGrants and recentTokens are the overlay: entries added since
	// the last merge. At most maxRecent in all.
	recentGrants map[uint64]int64
	recentTokens map[uint64]int64
	// baseNext is the earliest forget time in grants and tokens (or
	// earlier: it only ever brings a walk of them forward); 0 when there
	// is none. The overlay's entries are forgotten when it is merged.
	baseNext int64
}

var emptyRevocations = &revocationState{}

// revoked reports whether a token of grantID with jti is revoked. Two hashes
// and up to four map lookups; none while the set is empty.
func (st *revocationState) revoked(seed maphash.Seed, grantID, jti string) (grant, token bool) {
	if len(st.grants) > 0 || len(st.recentGrants) > 0 {
		h := maphash.String(seed, grantID)
		if _, ok := st.grants[h]; ok {
			return true, false
		}
		if _, ok := st.recentGrants[h]; ok {
			return true, false
		}
	}
	if (len(st.tokens) > 0 || len(st.recentTokens) > 0) && jti != "" {
		h := maphash.String(seed, jti)
		if _, ok := st.tokens[h]; ok {
			return false, true
		}
		if _, ok := st.recentTokens[h]; ok {
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
	maxStale time.Duration // negative: no bound
	now      func() time.Time
	log      *slog.Logger
	seed     maphash.Seed

	cur    atomic.Pointer[revocationState]
	status atomic.Int32 // revsNotLoaded, revsCurrent or revsStale

	mu       sync.Mutex       // serialises writers; guards the fields below
	cursor   int64            // the log's head at the last successful poll
	anchor   store.Revocation // the newest live entry read; zero Seq: none
	lastFull time.Time        // when the log was last read whole
	lastOK   time.Time        // when the log was last read
	failing  bool             // the last poll failed (logged once per outage)
}

func newRevocationSet(src store.Revocations, interval, leeway, maxStale time.Duration, now func() time.Time, log *slog.Logger) *revocationSet {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if maxStale == 0 {
		maxStale = DefaultMaxStaleness
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &revocationSet{src: src, interval: interval, leeway: leeway, maxStale: maxStale, now: now, log: log, seed: maphash.MakeSeed()}
	r.cur.Store(emptyRevocations)
	return r
}

// check refuses a principal whose grant or token is revoked.
func (r *revocationSet) check(grantID, jti string) error {
	if err := r.ready(); err != nil {
		return err
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

// ready reports whether check answers from a current set.
func (r *revocationSet) ready() error {
	switch r.status.Load() {
	case revsNotLoaded:
		return errRevocationsNotLoaded
	case revsStale:
		return errRevocationsStale
	}
	return nil
}

// add puts entries in the set at once: in the overlay while it has room,
// else merged into a new version of the whole set.
func (r *revocationSet) add(rs ...store.Revocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.cur.Load()
	if len(old.recentGrants)+len(old.recentTokens)+len(rs) > maxRecent {
		r.apply(rs)
		return
	}
	now := r.now().UnixNano()
	st := *old // shares the large maps, which no version changes
	st.recentGrants = maps.Clone(old.recentGrants)
	st.recentTokens = maps.Clone(old.recentTokens)
	added := false
	for _, e := range rs {
		m := &st.recentTokens
		if e.Kind == store.RevokedGrant {
			m = &st.recentGrants
		}
		if forget, ok := r.forgetTime(e, now); ok {
			if *m == nil {
				*m = make(map[uint64]int64)
			}
			put(*m, maphash.String(r.seed, e.ID), forget)
			added = true
		}
	}
	if added {
		r.cur.Store(&st)
	}
}

// forgetTime returns when entry e may be forgotten, and false for an entry
// that is not to be kept (expired already, no id, an unknown kind).
func (r *revocationSet) forgetTime(e store.Revocation, now int64) (int64, bool) {
	if e.ID == "" || (e.Kind != store.RevokedGrant && e.Kind != store.RevokedToken) {
		return 0, false
	}
	forget := e.ExpiresAt.Add(r.leeway).UnixNano()
	return forget, now < forget
}

// put records k in m until forget, keeping the later time of two.
func put(m map[uint64]int64, k uint64, forget int64) {
	if forget > m[k] {
		m[k] = forget
	}
}

// apply builds and publishes the next state: the current one with its
// overlay merged, without the entries that may be forgotten now, plus rs.
// The large maps are copied whole (a bulk copy) and only walked when an
// entry in them may be forgotten. Called with r.mu held.
func (r *revocationSet) apply(rs []store.Revocation) {
	now := r.now().UnixNano()
	old := r.cur.Load()
	forget := old.baseNext != 0 && now >= old.baseNext
	if len(rs) == 0 && len(old.recentGrants) == 0 && len(old.recentTokens) == 0 && !forget {
		return // nothing new, nothing to forget: keep the version
	}
	st := &revocationState{grants: maps.Clone(old.grants), tokens: maps.Clone(old.tokens), baseNext: old.baseNext}
	if st.grants == nil {
		st.grants = make(map[uint64]int64)
	}
	if st.tokens == nil {
		st.tokens = make(map[uint64]int64)
	}
	if forget {
		st.baseNext = 0
		for _, m := range []map[uint64]int64{st.grants, st.tokens} {
			for k, t := range m {
				if now >= t {
					delete(m, k)
				} else {
					st.baseNext = earliest(st.baseNext, t)
				}
			}
		}
	}
	for _, m := range []struct{ dst, src map[uint64]int64 }{
		{st.grants, old.recentGrants},
		{st.tokens, old.recentTokens},
	} {
		for k, t := range m.src {
			if now < t {
				put(m.dst, k, t)
				st.baseNext = earliest(st.baseNext, t)
			}
		}
	}
	for _, e := range rs {
		if t, ok := r.forgetTime(e, now); ok {
			m := st.tokens
			if e.Kind == store.RevokedGrant {
				m = st.grants
			}
			put(m, maphash.String(r.seed, e.ID), t)
			st.baseNext = earliest(st.baseNext, t)
		}
	}
	if len(st.grants) == 0 && len(st.tokens) == 0 {
		st = emptyRevocations
	}
	r.cur.Store(st)
}

// earliest returns the earlier of two forget times, 0 meaning none.
func earliest(a, b int64) int64 {
	if a == 0 || b < a {
		return b
	}
	return a
}

// sync reads the log's new entries once. On failure the set keeps what it
// has, for up to maxStale after the last successful read; the first failure
// of an outage is logged, so is the moment requests start to be refused,
// and so is the recovery.
func (r *revocationSet) sync(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.poll(ctx)
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		// Shutting down: not an outage. (A read that timed out is one.)
	case err != nil:
		if !r.failing {
			r.failing = true
			r.log.ErrorContext(ctx, "revocation list: reading the store's revocation log failed; revoked tokens are refused as of the last successful read until it succeeds again",
				"err", err, "retry_every", r.interval, "max_staleness", r.maxStale)
		}
		if r.status.Load() == revsCurrent && r.maxStale > 0 && r.now().Sub(r.lastOK) >= r.maxStale {
			r.status.Store(revsStale)
			r.log.ErrorContext(ctx, "revocation list: not read for longer than the maximum staleness; MCP requests are answered 503 until a read succeeds",
				"err", err, "last_read", r.lastOK, "max_staleness", r.maxStale)
		}
	case r.failing:
		r.failing = false
		r.log.InfoContext(ctx, "revocation list: reading the store's revocation log works again")
	}
	return err
}

// poll is sync without the logging. Called with r.mu held.
//
// Reading only the entries after the last head seen misses new ones when the
// log is replaced by one whose Seq numbers overlap (a Redis failover that
// lost the last appends, a file store restored from a backup): the new
// entries reuse Seq numbers already read. Two checks catch that. A head
// smaller than the last one means a replaced log. And each poll reads from
// the anchor, the newest live entry read so far, not after it: if that entry
// is no longer there under its Seq, the log was replaced. Without a live
// anchor (nothing read yet, or the newest entry expired), the log is read
// whole every fullReadInterval instead, and that read sets the next anchor.
// A replaced log is read whole; the entries already held stay until they
// expire, as the tokens they refuse do.
func (r *revocationSet) poll(ctx context.Context) error {
	now := r.now()
	if r.cursor == 0 || (r.anchor.Seq == 0 && now.Sub(r.lastFull) >= fullReadInterval) {
		return r.readAll(ctx, now)
	}
	anchored := r.anchor.Seq > 0 && now.Add(anchorMargin).Before(r.anchor.ExpiresAt)
	after := r.cursor
	if anchored {
		after = r.anchor.Seq - 1
	}
	entries, head, err := r.src.RevocationsSince(ctx, after)
	if err != nil {
		return err
	}
	replaced := head < r.cursor
	if anchored && !replaced {
		if len(entries) == 0 || !sameEntry(entries[0], r.anchor) {
			replaced = true
		} else {
			entries = entries[1:]
		}
	}
	if replaced {
		r.log.WarnContext(ctx, "revocation list: the store's revocation log was replaced (a failover or a restored store); reading it whole",
			"head", head, "last_head", r.cursor)
		return r.readAll(ctx, now)
	}
	if !anchored {
		// Entries read without an anchor do not show that the log is the
		// one read before: only the next full read sets an anchor again.
		r.anchor = store.Revocation{}
	}
	r.took(entries, head, now, anchored)
	return nil
}

// readAll reads the whole log. Called with r.mu held.
func (r *revocationSet) readAll(ctx context.Context, now time.Time) error {
	entries, head, err := r.src.RevocationsSince(ctx, 0)
	if err != nil {
		return err
	}
	r.anchor = store.Revocation{}
	r.lastFull = now
	r.took(entries, head, now, true)
	return nil
}

// took applies entries read at now, with the log's head; with anchor, the
// newest of them becomes the anchor. Called with r.mu held.
func (r *revocationSet) took(entries []store.Revocation, head int64, now time.Time, anchor bool) {
	r.apply(entries)
	if n := len(entries); anchor && n > 0 && entries[n-1].Seq > r.anchor.Seq {
		r.anchor = entries[n-1]
	}
	r.cursor = head
	r.lastOK = now
	r.status.Store(revsCurrent)
}

// sameEntry reports whether a and b are one entry of the log.
func sameEntry(a, b store.Revocation) bool {
	return a.Seq == b.Seq && a.Kind == b.Kind && a.ID == b.ID
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
			pctx, cancel := context.WithTimeout(ctx, pollTimeout)
			_ = r.sync(pctx) // logged by sync; the set keeps its last version
			cancel()
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
// read last stays in force, for up to MaxStaleness after the last successful
// read, then Verify fails with [store.ErrUnavailable] until a read succeeds.
// Run returns at once without a revocation log.
func (v *LocalVerifier) Run(ctx context.Context) {
	if v.revs == nil {
		return
	}
	v.revs.run(ctx)
}

// Ready reports whether Verify can answer: nil without a revocation log or
// once the log has been read, recently enough; else an error wrapping
// [store.ErrUnavailable] saying why not (never read, or the reads have
// failed for longer than MaxStaleness). A readiness probe reports it.
func (v *LocalVerifier) Ready() error {
	if v.revs == nil {
		return nil
	}
	return v.revs.ready()
}

// Revoked reports whether the grant grantID or the access token tokenID
// (its "jti"; empty for none) is in the revocation set held now: an
// in-memory lookup, without the checks of Verify. Whatever holds a request
// open past its start (an event stream, a long tool call) asks it to end
// the request once its credentials are revoked. False without a revocation
// log.
func (v *LocalVerifier) Revoked(grantID, tokenID string) bool {
	if v.revs == nil || grantID == "" && tokenID == "" {
		return false
	}
	grant, token := v.revs.cur.Load().revoked(v.revs.seed, grantID, tokenID)
	return grant || token
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
