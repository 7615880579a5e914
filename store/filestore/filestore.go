// Package filestore is an embedded, durable [store.Store] in one file, built on
// bbolt.
//
// It is for deployments on one host that must survive a restart without
// running Redis: a revoked grant or a used authorization code stays revoked or
// used. Several processes may use the file at once — a server and the
// operator commands run beside it, or two servers — taking turns: a process
// keeps the file open, locked exclusively (flock(2)), while it uses it and
// no other process asks for it, and lets it go as soon as one does. Each
// write commits with fsync, so it is durable; the writes of concurrent
// operations commit together, sharing one fsync (group commit). Every
// operation of the store contract is one bbolt transaction, so it is atomic
// across processes too.
//
// # Locking
//
// A process that wants the file passes a turnstile first: an exclusive
// lock on a second file (path + ".lock", mode 0600, kept), held until it
// has the store file's lock. The process holding the file checks, at the
// start of every operation, whether the turnstile is held (it takes the
// lock shared for an instant) and, if so, lets the file go once its
// operations in flight are done. A process that has gone quiet notices
// within 100 ms, then checks every 2 ms and lets the file go as soon as
// another process waits, and after a second without an operation in any
// case. So another process waits for at most the operations in flight, or
// about 100 ms when the holder has just gone quiet. Operations that had to wait for the file run
// on it without that check, so every process makes progress on each turn.
// The check also makes sure that the file is still the one opened: a
// removed or replaced file is opened anew, never written behind the new
// one's back. A reader finding the file held shared by another process
// (a process that may only read the file does so) reads under a shared
// lock of its own.
//
// A file lock belongs to an open file description, so two handles of one
// process conflict like two processes; the Stores of one process on one
// file therefore share its handle, and the file locks are contended only
// by other processes. An operation waits for other processes at most
// [Options.Timeout] before it fails with [ErrLocked]. Systems without
// flock(2) leave the locking to bbolt, without the turnstile: there a
// process waits until the one holding the file has been idle.
//
// # Layout
//
// One bucket per record kind holding JSON values keyed by ID (or code
// hash), plus, for records that expire, an index bucket keyed by expiry time
// and ID. Expired records are treated as absent, removed when a write touches
// them, and swept in batches from the index by a goroutine that Close stops.
// A grant's rotated-out refresh hashes live apart from its record, in a
// bucket of their own inside "grants_prev" (see previous.go), so a rotation
// writes a few keys however long the chain. A meta bucket holds the schema
// version, which [Open] sets (migrating older files) and checks and every
// transaction checks again, as another process may have replaced the file.
package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/frontmcp-go/frontmcp/store"
)

// Defaults for [Options].
const (
	DefaultTimeout       = 5 * time.Second
	DefaultSweepInterval = time.Minute
)

// sweepBatch is the most expired records one sweep transaction removes, which
// bounds how long a sweep holds the write lock.
const sweepBatch = 1000

// schemaVersion is stored in the meta bucket; other versions are refused,
// except version 1 (grants holding their previous hashes), which Open
// migrates.
const schemaVersion = "2"

// ErrLocked reports that an operation (or [Open]) waited [Options.Timeout] for
// the store file's lock while another process held it. Errors wrapping it
// also wrap [store.ErrUnavailable].
var ErrLocked = errors.New("filestore: store file is locked by another process")

// errClosed is returned by every operation after Close.
var errClosed = fmt.Errorf("%w: filestore: store is closed", store.ErrUnavailable)

// errInvalid marks a record the caller got wrong (empty key, claims that are
// not JSON); such errors are returned as-is, never as ErrUnavailable.
var errInvalid = errors.New("filestore: invalid record")

// errNoChange rolls back a transaction that has nothing to write, saving the
// commit's fsync; update turns it into success.
var errNoChange = errors.New("filestore: no change")

// Options configures a Store. A nil *Options means all defaults.
type Options struct {
	// Clock is the only source of time for expiry; nil means time.Now.
	Clock store.Clock
	// Timeout is how long an operation, and Open, waits for the file lock
	// while other processes hold it; zero means DefaultTimeout. Waiting
	// longer fails with an error wrapping ErrLocked.
	Timeout time.Duration
	// SweepInterval is how often expired records are removed; zero means
	// DefaultSweepInterval, negative disables the periodic sweep (records are
	// then removed only when touched or by [Store.Sweep]).
	SweepInterval time.Duration
}

// Store is a bbolt-backed [store.Store]. It is safe for concurrent use, and
// other Stores, in this process or others, may use the same file at once.
type Store struct {
	path    string    // cleaned absolute path
	locks   *fileLock // this process's locks of path
	clock   store.Clock
	timeout time.Duration
	// contended, when set (by tests), is called when an operation first finds
	// the file locked by another process.
	contended func()

	mu     sync.RWMutex // read-held by operations, write-held by Close
	closed bool

	stopSweep context.CancelFunc
	done      chan struct{} // closed when the sweeper exits; nil without one
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// kind names the buckets of one record kind.
type kind struct {
	name  string
	data  []byte
	index []byte // expiry index; nil for records that do not expire
	// drop, when set, removes what belongs to a record of the kind
	// outside its bucket, whenever the record is removed.
	drop func(tx *bolt.Tx, id []byte) error
}

var (
	pendingKind = kind{"pending authorization", []byte("pending"), []byte("pending_expiry"), nil}
	codeKind    = kind{"authorization code", []byte("codes"), []byte("codes_expiry"), nil}
	grantKind   = kind{"grant", []byte("grants"), []byte("grants_expiry"), dropPrevious}
	clientKind  = kind{"client", []byte("clients"), nil, nil}
	metaBucket  = []byte("meta")
	versionKey  = []byte("version")
	expiring    = []kind{pendingKind, codeKind, grantKind}
	allKinds    = []kind{pendingKind, codeKind, grantKind, clientKind}
)

// codeRecord is a stored code and its used marker.
type codeRecord struct {
	store.AuthCode
	UsedAt time.Time `json:"used_at,omitzero"`
}

// expiryOnly decodes the expiry of any expiring record.
type expiryOnly struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// Open opens the store file at path, creating it and its lock file (mode
// 0600) and their directory (mode 0700) if needed, and checks its schema
// version, migrating a file of an older one. The file is shared with other
// processes as the package doc describes.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: filestore: %s: %w", store.ErrUnavailable, path, err)
	}
	dir := filepath.Dir(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: filestore: create directory: %w", store.ErrUnavailable, err)
	}
	// Resolve the directory so that two spellings of one file share the
	// in-process lock, and a later chdir does not matter.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		abs = filepath.Join(real, filepath.Base(abs))
	}
	locks, err := acquireFileLock(abs)
	if err != nil {
		return nil, err
	}
	s := &Store{path: abs, locks: locks, clock: o.Clock, timeout: o.Timeout}
	err = s.withDB(context.Background(), true, true, func(db *bolt.DB) error {
		return db.Update(initBuckets)
	})
	if err != nil && !errors.Is(err, errNoChange) {
		releaseFileLock(s.path, s.locks)
		if !errors.Is(err, store.ErrUnavailable) {
			err = fmt.Errorf("%w: filestore: %s: %w", store.ErrUnavailable, s.path, err)
		}
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopSweep = cancel
	if o.SweepInterval > 0 {
		s.done = make(chan struct{})
		go s.sweepLoop(ctx, o.SweepInterval)
	}
	return s, nil
}

// checkSchema fails unless tx is a store of this schema version.
func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		return errors.New("not a store file: no meta bucket")
	}
	if v := meta.Get(versionKey); string(v) != schemaVersion {
		return fmt.Errorf("unsupported schema version %q (want %s)", v, schemaVersion)
	}
	return nil
}

// initBuckets creates what a new file lacks and migrates a file of schema
// version 1. It returns errNoChange, rolling back without an fsync, when the
// file is complete.
func initBuckets(tx *bolt.Tx) error {
	complete := true
	if meta := tx.Bucket(metaBucket); meta == nil {
		complete = false
	} else if v := meta.Get(versionKey); v == nil {
		complete = false
	} else if string(v) == "1" {
		if err := migrateV1(tx); err != nil {
			return err
		}
		complete = false
	} else if string(v) != schemaVersion {
		return fmt.Errorf("unsupported schema version %q (want %s)", v, schemaVersion)
	}
	for _, k := range allKinds {
		complete = complete && tx.Bucket(k.data) != nil && (k.index == nil || tx.Bucket(k.index) != nil)
	}
	complete = complete && tx.Bucket(prevBucket) != nil
	if complete {
		return errNoChange
	}
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	if meta.Get(versionKey) == nil {
		if err := meta.Put(versionKey, []byte(schemaVersion)); err != nil {
			return err
		}
	}
	for _, k := range allKinds {
		if _, err := tx.CreateBucketIfNotExists(k.data); err != nil {
			return err
		}
		if k.index != nil {
			if _, err := tx.CreateBucketIfNotExists(k.index); err != nil {
				return err
			}
		}
	}
	_, err = tx.CreateBucketIfNotExists(prevBucket)
	return err
}

func (s *Store) sweepLoop(ctx context.Context, interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A failure here (the disk, a lock held too long) also fails
			// other operations and Ping, which is where it is reported.
			_, _ = s.sweep(ctx)
		}
	}
}

// Close stops the sweeper, waits for operations in flight and makes every
// later operation fail with [store.ErrUnavailable]. It does not delete data;
// closing twice is allowed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopSweep()
		if s.done != nil {
			<-s.done
		}
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		releaseFileLock(s.path, s.locks)
	})
	return nil
}

// Ping implements [store.Store]: it opens the file for reading and checks its
// schema, so it fails once the store is closed, when the file is gone, or
// when other processes keep it locked longer than Options.Timeout.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, func(*bolt.Tx, time.Time) error { return nil })
}

// wrap returns rule and caller errors, and errors that already report the
// store unavailable, as they are; it reports every other error (bbolt, I/O,
// undecodable data) as [store.ErrUnavailable].
func wrap(err error) error {
	switch {
	case err == nil, errors.Is(err, errNoChange):
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists),
		errors.Is(err, store.ErrReused), errors.Is(err, store.ErrMismatch),
		errors.Is(err, errInvalid), errors.Is(err, store.ErrUnavailable):
		return err
	}
	return fmt.Errorf("%w: filestore: %w", store.ErrUnavailable, err)
}

// withDB runs fn on the store file, exclusive (write) or for reading (see
// acquire). create lets Open create a missing file.
func (s *Store) withDB(ctx context.Context, write, create bool, fn func(*bolt.DB) error) error {
	return s.withUse(ctx, write, create, func(u use) error { return fn(u.db) })
}

// withUse runs fn with the store file acquired for it.
func (s *Store) withUse(ctx context.Context, write, create bool, fn func(use) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errClosed
	}
	u, err := s.acquire(ctx, write, create)
	if err != nil {
		return err
	}
	defer u.done()
	return fn(u)
}

// update runs fn in one read-write transaction, giving it the time read
// once the transaction holds the write lock; the transaction may carry the
// writes of concurrent operations too (see committer), so fn may run more
// than once and must reset what it reports at its start. An error from fn
// rolls its changes back; a rule error that must be committed along with a
// change (revocation on reuse, removal of an expired record) is set in a
// variable of the caller while fn returns nil.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx, now time.Time) error) error {
	return wrap(s.withUse(ctx, true, false, func(u use) error {
		run := func(tx *bolt.Tx) error {
			if err := checkSchema(tx); err != nil {
				return err
			}
			return fn(tx, s.clock.Now())
		}
		if u.shared != nil {
			return u.shared.commits.update(u.db, run)
		}
		return u.db.Update(run)
	}))
}

// view runs fn in a read-only transaction.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx, now time.Time) error) error {
	return wrap(s.withDB(ctx, false, false, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			if err := checkSchema(tx); err != nil {
				return err
			}
			return fn(tx, s.clock.Now())
		})
	}))
}

// expired reports whether a record expiring at exp is gone at now. It agrees
// with [store.Grant.Active]: a record is valid strictly before its expiry.
func expired(exp, now time.Time) bool { return !now.Before(exp) }

// expiryKey is an index key: the expiry as sortable seconds (sign bit
// flipped) and nanoseconds, then the record's key.
func expiryKey(t time.Time, id string) []byte {
	k := make([]byte, 12+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(k[8:], uint32(t.Nanosecond()))
	copy(k[12:], id)
	return k
}

// parseExpiryKey reverses expiryKey.
func parseExpiryKey(k []byte) (time.Time, []byte, bool) {
	if len(k) < 12 {
		return time.Time{}, nil, false
	}
	sec := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	nsec := int64(binary.BigEndian.Uint32(k[8:]))
	return time.Unix(sec, nsec), k[12:], true
}

// load decodes the record id of kind k into a new T; nil when absent.
func load[T any](tx *bolt.Tx, k kind, id string) (*T, error) {
	b := tx.Bucket(k.data).Get([]byte(id))
	if b == nil {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", k.name, id, err)
	}
	return v, nil
}

// put writes an encoded record and its index entry, replacing the index entry
// of the record it overwrites (oldExp, when hadOld).
func put(tx *bolt.Tx, k kind, id string, enc []byte, exp time.Time, oldExp time.Time, hadOld bool) error {
	if err := tx.Bucket(k.data).Put([]byte(id), enc); err != nil {
		return err
	}
	if k.index == nil {
		return nil
	}
	idx := tx.Bucket(k.index)
	if hadOld && !oldExp.Equal(exp) {
		if err := idx.Delete(expiryKey(oldExp, id)); err != nil {
			return err
		}
	}
	return idx.Put(expiryKey(exp, id), nil)
}

// remove deletes a record and its index entry.
func remove(tx *bolt.Tx, k kind, id string, exp time.Time) error {
	if err := tx.Bucket(k.data).Delete([]byte(id)); err != nil {
		return err
	}
	if k.drop != nil {
		if err := k.drop(tx, []byte(id)); err != nil {
			return err
		}
	}
	if k.index == nil {
		return nil
	}
	return tx.Bucket(k.index).Delete(expiryKey(exp, id))
}

// encode marshals a record the caller gave.
func encode(k kind, id string, v any) ([]byte, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: %s with an empty key", errInvalid, k.name)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %w", errInvalid, k.name, id, err)
	}
	return b, nil
}

// Sweep removes expired records now and returns how many it removed. The
// store also sweeps by itself every SweepInterval. Each batch is one write
// transaction of its own, so a sweep holds the file lock no longer than that.
func (s *Store) Sweep() (int, error) {
	return s.sweep(context.Background())
}

// sweep is Sweep; ctx bounds its waits for the file lock.
func (s *Store) sweep(ctx context.Context) (int, error) {
	total := 0
	for _, k := range expiring {
		for {
			n, more, err := s.sweepBatch(ctx, k)
			total += n
			if err != nil {
				return total, err
			}
			if !more {
				break
			}
		}
	}
	return total, nil
}

// sweepBatch removes up to sweepBatch expired records of kind k and reports
// whether more may remain. It checks in a read transaction first, so an idle
// sweep never writes.
func (s *Store) sweepBatch(ctx context.Context, k kind) (removed int, more bool, err error) {
	due := func(tx *bolt.Tx, now time.Time) [][]byte {
		var keys [][]byte
		c := tx.Bucket(k.index).Cursor()
		for key, _ := c.First(); key != nil && len(keys) < sweepBatch; key, _ = c.Next() {
			exp, _, ok := parseExpiryKey(key)
			if ok && !expired(exp, now) {
				break
			}
			keys = append(keys, bytes.Clone(key))
		}
		return keys
	}
	var found bool
	if err := s.view(ctx, func(tx *bolt.Tx, now time.Time) error {
		found = len(due(tx, now)) > 0
		return nil
	}); err != nil || !found {
		return 0, false, err
	}
	err = s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		removed = 0
		keys := due(tx, now)
		more = len(keys) == sweepBatch
		data, idx := tx.Bucket(k.data), tx.Bucket(k.index)
		for _, key := range keys {
			if err := idx.Delete(key); err != nil {
				return err
			}
			_, id, ok := parseExpiryKey(key)
			if !ok {
				continue
			}
			// Check the record itself, so a stale index entry can never
			// remove a live record.
			raw := data.Get(id)
			if raw == nil {
				continue
			}
			var rec expiryOnly
			if err := json.Unmarshal(raw, &rec); err != nil {
				return fmt.Errorf("decode %s %q: %w", k.name, id, err)
			}
			if !expired(rec.ExpiresAt, now) {
				continue
			}
			if err := data.Delete(id); err != nil {
				return err
			}
			if k.drop != nil {
				if err := k.drop(tx, id); err != nil {
					return err
				}
			}
			removed++
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return removed, more, nil
}

// SavePending implements [store.Pending].
func (s *Store) SavePending(ctx context.Context, p *store.PendingAuthorization) error {
	enc, err := encode(pendingKind, p.ID, p)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		old, err := load[expiryOnly](tx, pendingKind, p.ID)
		if err != nil {
			return err
		}
		var oldExp time.Time
		if old != nil {
			oldExp = old.ExpiresAt
		}
		return put(tx, pendingKind, p.ID, enc, p.ExpiresAt, oldExp, old != nil)
	})
}

// GetPending implements [store.Pending].
func (s *Store) GetPending(ctx context.Context, id string) (*store.PendingAuthorization, error) {
	return getLive(s, ctx, pendingKind, id, func(p *store.PendingAuthorization) time.Time { return p.ExpiresAt })
}

// ConsumePending implements [store.Pending].
func (s *Store) ConsumePending(ctx context.Context, id string) (*store.PendingAuthorization, error) {
	var out *store.PendingAuthorization
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		out = nil
		p, err := load[store.PendingAuthorization](tx, pendingKind, id)
		if err != nil {
			return err
		}
		if p == nil {
			return store.ErrNotFound
		}
		if err := remove(tx, pendingKind, id, p.ExpiresAt); err != nil {
			return err
		}
		if !expired(p.ExpiresAt, now) {
			out = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, store.ErrNotFound
	}
	return out, nil
}

// SaveCode implements [store.Codes].
func (s *Store) SaveCode(ctx context.Context, c *store.AuthCode) error {
	enc, err := encode(codeKind, c.Hash, codeRecord{AuthCode: *c})
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		old, err := load[expiryOnly](tx, codeKind, c.Hash)
		if err != nil {
			return err
		}
		if old != nil && !expired(old.ExpiresAt, now) {
			return store.ErrExists
		}
		var oldExp time.Time
		if old != nil {
			oldExp = old.ExpiresAt
		}
		return put(tx, codeKind, c.Hash, enc, c.ExpiresAt, oldExp, old != nil)
	})
}

// ConsumeCode implements [store.Codes].
func (s *Store) ConsumeCode(ctx context.Context, hash string) (*store.AuthCode, error) {
	var (
		out     *store.AuthCode
		ruleErr error
	)
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		out, ruleErr = nil, nil
		rec, err := load[codeRecord](tx, codeKind, hash)
		if err != nil {
			return err
		}
		switch {
		case rec == nil:
			return store.ErrNotFound
		case expired(rec.ExpiresAt, now):
			ruleErr = store.ErrNotFound
			return remove(tx, codeKind, hash, rec.ExpiresAt)
		case !rec.UsedAt.IsZero():
			out = &rec.AuthCode
			return store.ErrReused
		}
		rec.UsedAt = now
		enc, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		out = &rec.AuthCode
		return tx.Bucket(codeKind.data).Put([]byte(hash), enc)
	})
	if errors.Is(err, store.ErrReused) {
		return out, err
	}
	if err != nil {
		return nil, err
	}
	if ruleErr != nil {
		return nil, ruleErr
	}
	return out, nil
}

// CreateGrant implements [store.Grants].
func (s *Store) CreateGrant(ctx context.Context, g *store.Grant) error {
	rec := &grantRecord{Grant: *g}
	rec.PreviousHashes = nil
	enc, err := encode(grantKind, g.ID, rec)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		old, err := load[expiryOnly](tx, grantKind, g.ID)
		if err != nil {
			return err
		}
		if old != nil && !expired(old.ExpiresAt, now) {
			return store.ErrExists
		}
		var oldExp time.Time
		if old != nil {
			oldExp = old.ExpiresAt
		}
		if err := logGrant(tx, g, now); err != nil {
			return err
		}
		// What an expired grant of that id left is gone with it.
		if err := dropPrevious(tx, []byte(g.ID)); err != nil {
			return err
		}
		if len(g.PreviousHashes) == 0 {
			return put(tx, grantKind, g.ID, enc, g.ExpiresAt, oldExp, old != nil)
		}
		rec.PrevSeq = 0
		for _, h := range g.PreviousHashes {
			if err := addPrevious(tx, rec, h); err != nil {
				return err
			}
		}
		withPrev, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return put(tx, grantKind, g.ID, withPrev, g.ExpiresAt, oldExp, old != nil)
	})
}

// GetGrant implements [store.Grants].
func (s *Store) GetGrant(ctx context.Context, id string) (*store.Grant, error) {
	return getLive(s, ctx, grantKind, id, func(g *store.Grant) time.Time { return g.ExpiresAt })
}

// PreviousRefreshHashes implements [store.Grants].
func (s *Store) PreviousRefreshHashes(ctx context.Context, id string) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx *bolt.Tx, now time.Time) error {
		out = nil
		g, err := load[expiryOnly](tx, grantKind, id)
		if err != nil {
			return err
		}
		if g == nil || expired(g.ExpiresAt, now) {
			return store.ErrNotFound
		}
		out = listPrevious(previousOf(tx, id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// getLive reads one record of kind in a read transaction; a missing or
// expired record is store.ErrNotFound.
func getLive[T any](s *Store, ctx context.Context, k kind, id string, expiresAt func(*T) time.Time) (*T, error) {
	var out *T
	err := s.view(ctx, func(tx *bolt.Tx, now time.Time) error {
		v, err := load[T](tx, k, id)
		if err != nil {
			return err
		}
		if v == nil || expired(expiresAt(v), now) {
			return store.ErrNotFound
		}
		out = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// liveGrant loads grant id for a write. An expired grant is removed and
// reported through *gone, to be committed; an absent one is ErrNotFound.
func liveGrant(tx *bolt.Tx, id string, now time.Time, gone *bool) (*grantRecord, error) {
	g, err := load[grantRecord](tx, grantKind, id)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, store.ErrNotFound
	}
	if expired(g.ExpiresAt, now) {
		*gone = true
		return nil, remove(tx, grantKind, id, g.ExpiresAt)
	}
	return g, nil
}

// putGrant rewrites a grant whose expiry (and so index entry) is unchanged.
func putGrant(tx *bolt.Tx, g *grantRecord) error {
	enc, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return tx.Bucket(grantKind.data).Put([]byte(g.ID), enc)
}

// RotateRefresh implements [store.Grants]: refresh token rotation with reuse
// detection (RFC 9700 §4.14.2, RFC 6749 §6).
func (s *Store) RotateRefresh(ctx context.Context, grantID, presentedHash, nextHash string, nextExpiry time.Time) (*store.Grant, error) {
	var (
		out     *store.Grant
		ruleErr error
	)
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		out, ruleErr = nil, nil
		var gone bool
		g, err := liveGrant(tx, grantID, now, &gone)
		if err != nil || gone {
			ruleErr = store.ErrNotFound
			return err
		}
		prev := previousOf(tx, grantID)
		retired, changed, err := g.RotateWith(func(h string) bool { return isPrevious(prev, h) },
			presentedHash, nextHash, nextExpiry, now)
		if !changed {
			return err
		}
		// A rotation, or a revocation for reuse that must be committed
		// together with the ErrReused it reports.
		ruleErr = err
		out = &g.Grant
		if retired != "" {
			if err := addPrevious(tx, g, retired); err != nil {
				return err
			}
		}
		if err := logGrant(tx, &g.Grant, now); err != nil {
			return err
		}
		return putGrant(tx, g)
	})
	if err != nil {
		return nil, err
	}
	if ruleErr != nil {
		return nil, ruleErr
	}
	return out, nil
}

// RevokeGrant implements [store.Grants].
func (s *Store) RevokeGrant(ctx context.Context, id string) error {
	var ruleErr error
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		ruleErr = nil
		var gone bool
		g, err := liveGrant(tx, id, now, &gone)
		if err != nil || gone {
			ruleErr = store.ErrNotFound
			return err
		}
		if !g.RevokedAt.IsZero() {
			return errNoChange
		}
		g.RevokedAt = now
		if err := logGrant(tx, &g.Grant, now); err != nil {
			return err
		}
		if err := deleteVault(tx, id); err != nil {
			return err
		}
		return putGrant(tx, g)
	})
	if err != nil {
		return err
	}
	return ruleErr
}

// ListGrants implements [store.Grants]. Grants created at the same instant
// are ordered by ID.
func (s *Store) ListGrants(ctx context.Context, f store.GrantFilter) ([]*store.Grant, error) {
	var out []*store.Grant
	err := s.view(ctx, func(tx *bolt.Tx, now time.Time) error {
		out = nil
		return tx.Bucket(grantKind.data).ForEach(func(k, v []byte) error {
			g := new(store.Grant)
			if err := json.Unmarshal(v, g); err != nil {
				return fmt.Errorf("decode grant %q: %w", k, err)
			}
			if expired(g.ExpiresAt, now) ||
				(f.Subject != "" && g.Subject != f.Subject) ||
				(f.ClientID != "" && g.ClientID != f.ClientID) {
				return nil
			}
			out = append(out, g)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *store.Grant) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// CreateClient implements [store.Clients].
func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	enc, err := encode(clientKind, c.ID, c)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		b := tx.Bucket(clientKind.data)
		if b.Get([]byte(c.ID)) != nil {
			return store.ErrExists
		}
		return b.Put([]byte(c.ID), enc)
	})
}

// GetClient implements [store.Clients].
func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	var out *store.Client
	err := s.view(ctx, func(tx *bolt.Tx, _ time.Time) error {
		c, err := load[store.Client](tx, clientKind, id)
		if err != nil {
			return err
		}
		if c == nil {
			return store.ErrNotFound
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteClient implements [store.Clients].
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		b := tx.Bucket(clientKind.data)
		if b.Get([]byte(id)) == nil {
			return store.ErrNotFound
		}
		return b.Delete([]byte(id))
	})
}

// ListClients implements [store.Clients]. bbolt keeps keys in byte order,
// which is the order of the IDs.
func (s *Store) ListClients(ctx context.Context) ([]*store.Client, error) {
	var out []*store.Client
	err := s.view(ctx, func(tx *bolt.Tx, _ time.Time) error {
		out = []*store.Client{}
		return tx.Bucket(clientKind.data).ForEach(func(k, v []byte) error {
			c := new(store.Client)
			if err := json.Unmarshal(v, c); err != nil {
				return fmt.Errorf("decode client %q: %w", k, err)
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
