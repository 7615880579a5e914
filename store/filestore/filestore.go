// Package filestore is an embedded, durable [store.Store] in one file, built on
// bbolt.
//
// It is for single-instance deployments that must survive a restart without
// running Redis: a revoked grant or a used authorization code stays revoked or
// used. Every operation of the store contract runs in one bbolt read-write
// transaction, which bbolt serialises and commits with fsync, so each is atomic
// and durable. Only one process can open the file at a time (bbolt takes an
// exclusive file lock); [Open] reports [ErrLocked] when another holds it.
//
// Layout: one bucket per record kind holding JSON values keyed by ID (or code
// hash), plus, for records that expire, an index bucket keyed by expiry time
// and ID. Expired records are treated as absent, removed when a write touches
// them, and swept in batches from the index by a goroutine that Close stops.
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
	DefaultTimeout       = time.Second
	DefaultSweepInterval = time.Minute
)

// sweepBatch is the most expired records one sweep transaction removes, which
// bounds how long a sweep holds the write lock.
const sweepBatch = 1000

// schemaVersion is stored in the meta bucket; Open refuses other versions.
const schemaVersion = "1"

// ErrLocked reports that another process (or another Store in this process)
// has the store file open. Errors wrapping it also wrap [store.ErrUnavailable].
var ErrLocked = errors.New("filestore: store file is locked by another process")

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
	// Timeout is how long Open waits for the file lock; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// SweepInterval is how often expired records are removed; zero means
	// DefaultSweepInterval, negative disables the periodic sweep (records are
	// then removed only when touched or by [Store.Sweep]).
	SweepInterval time.Duration
}

// Store is a bbolt-backed [store.Store]. It is safe for concurrent use.
type Store struct {
	db    *bolt.DB
	clock store.Clock

	stop      chan struct{}
	done      chan struct{} // closed when the sweeper exits; nil without one
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// kind names the buckets of one record kind.
type kind struct {
	name  string
	data  []byte
	index []byte // expiry index; nil for records that do not expire
}

var (
	pendingKind = kind{"pending authorization", []byte("pending"), []byte("pending_expiry")}
	codeKind    = kind{"authorization code", []byte("codes"), []byte("codes_expiry")}
	grantKind   = kind{"grant", []byte("grants"), []byte("grants_expiry")}
	clientKind  = kind{"client", []byte("clients"), nil}
	metaBucket  = []byte("meta")
	versionKey  = []byte("version")
	expiring    = []kind{pendingKind, codeKind, grantKind}
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

// lockedError is the error Open returns when the file lock is held.
type lockedError struct {
	path string
	wait time.Duration
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("filestore: store file %s is locked by another process (waited %s)", e.path, e.wait)
}

func (e *lockedError) Is(target error) bool {
	return target == ErrLocked || target == store.ErrUnavailable
}

// Open opens the store file at path, creating it (mode 0600) and its parent
// directory (mode 0700) if needed.
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
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: filestore: create directory: %w", store.ErrUnavailable, err)
	}
	bo := *bolt.DefaultOptions
	bo.Timeout = o.Timeout
	db, err := bolt.Open(path, 0o600, &bo)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, &lockedError{path: path, wait: o.Timeout}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: filestore: open %s: %w", store.ErrUnavailable, path, err)
	}
	if err := db.Update(initBuckets); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: filestore: %s: %w", store.ErrUnavailable, path, err)
	}
	s := &Store{db: db, clock: o.Clock, stop: make(chan struct{})}
	if o.SweepInterval > 0 {
		s.done = make(chan struct{})
		go s.sweepLoop(o.SweepInterval)
	}
	return s, nil
}

func initBuckets(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	switch v := meta.Get(versionKey); {
	case v == nil:
		if err := meta.Put(versionKey, []byte(schemaVersion)); err != nil {
			return err
		}
	case string(v) != schemaVersion:
		return fmt.Errorf("unsupported schema version %q (want %s)", v, schemaVersion)
	}
	for _, k := range []kind{pendingKind, codeKind, grantKind, clientKind} {
		if _, err := tx.CreateBucketIfNotExists(k.data); err != nil {
			return err
		}
		if k.index != nil {
			if _, err := tx.CreateBucketIfNotExists(k.index); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) sweepLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// A failure here (the disk, a closed DB) also fails every other
			// operation and Ping, which is where it is reported.
			_, _ = s.Sweep()
		}
	}
}

// Close stops the sweeper and closes the file. It does not delete data;
// closing twice is allowed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		if s.done != nil {
			<-s.done
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("%w: filestore: close: %w", store.ErrUnavailable, err)
		}
	})
	return s.closeErr
}

// Ping implements [store.Store]: it fails once the store is closed.
func (s *Store) Ping(context.Context) error {
	return wrap(s.db.View(func(*bolt.Tx) error { return nil }))
}

// wrap returns rule and caller errors as they are and reports every other
// error (bbolt, I/O, undecodable data) as [store.ErrUnavailable].
func wrap(err error) error {
	switch {
	case err == nil, errors.Is(err, errNoChange):
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists),
		errors.Is(err, store.ErrReused), errors.Is(err, store.ErrMismatch),
		errors.Is(err, errInvalid):
		return err
	}
	return fmt.Errorf("%w: filestore: %w", store.ErrUnavailable, err)
}

// update runs fn in one read-write transaction, giving it the time read once
// the transaction holds the write lock. An error from fn rolls everything
// back; a rule error that must be committed along with a change (revocation
// on reuse, removal of an expired record) is set in a variable of the
// caller while fn returns nil.
func (s *Store) update(fn func(tx *bolt.Tx, now time.Time) error) error {
	return wrap(s.db.Update(func(tx *bolt.Tx) error {
		return fn(tx, s.clock.Now())
	}))
}

// view runs fn in a read-only transaction.
func (s *Store) view(fn func(tx *bolt.Tx, now time.Time) error) error {
	return wrap(s.db.View(func(tx *bolt.Tx) error {
		return fn(tx, s.clock.Now())
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
// store also sweeps by itself every SweepInterval.
func (s *Store) Sweep() (int, error) {
	total := 0
	for _, k := range expiring {
		for {
			n, more, err := s.sweepBatch(k)
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
func (s *Store) sweepBatch(k kind) (removed int, more bool, err error) {
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
	if err := s.view(func(tx *bolt.Tx, now time.Time) error {
		found = len(due(tx, now)) > 0
		return nil
	}); err != nil || !found {
		return 0, false, err
	}
	err = s.update(func(tx *bolt.Tx, now time.Time) error {
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
func (s *Store) SavePending(_ context.Context, p *store.PendingAuthorization) error {
	enc, err := encode(pendingKind, p.ID, p)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx, _ time.Time) error {
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
func (s *Store) GetPending(_ context.Context, id string) (*store.PendingAuthorization, error) {
	var out *store.PendingAuthorization
	err := s.view(func(tx *bolt.Tx, now time.Time) error {
		p, err := load[store.PendingAuthorization](tx, pendingKind, id)
		if err != nil {
			return err
		}
		if p == nil || expired(p.ExpiresAt, now) {
			return store.ErrNotFound
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ConsumePending implements [store.Pending].
func (s *Store) ConsumePending(_ context.Context, id string) (*store.PendingAuthorization, error) {
	var out *store.PendingAuthorization
	err := s.update(func(tx *bolt.Tx, now time.Time) error {
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
func (s *Store) SaveCode(_ context.Context, c *store.AuthCode) error {
	enc, err := encode(codeKind, c.Hash, codeRecord{AuthCode: *c})
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx, now time.Time) error {
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
func (s *Store) ConsumeCode(_ context.Context, hash string) (*store.AuthCode, error) {
	var (
		out     *store.AuthCode
		ruleErr error
	)
	err := s.update(func(tx *bolt.Tx, now time.Time) error {
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
func (s *Store) CreateGrant(_ context.Context, g *store.Grant) error {
	enc, err := encode(grantKind, g.ID, g)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx, now time.Time) error {
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
		return put(tx, grantKind, g.ID, enc, g.ExpiresAt, oldExp, old != nil)
	})
}

// GetGrant implements [store.Grants].
func (s *Store) GetGrant(_ context.Context, id string) (*store.Grant, error) {
	var out *store.Grant
	err := s.view(func(tx *bolt.Tx, now time.Time) error {
		g, err := load[store.Grant](tx, grantKind, id)
		if err != nil {
			return err
		}
		if g == nil || expired(g.ExpiresAt, now) {
			return store.ErrNotFound
		}
		out = g
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// liveGrant loads grant id for a write. An expired grant is removed and
// reported through *gone, to be committed; an absent one is ErrNotFound.
func liveGrant(tx *bolt.Tx, id string, now time.Time, gone *bool) (*store.Grant, error) {
	g, err := load[store.Grant](tx, grantKind, id)
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
func putGrant(tx *bolt.Tx, g *store.Grant) error {
	enc, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return tx.Bucket(grantKind.data).Put([]byte(g.ID), enc)
}

// RotateRefresh implements [store.Grants]: refresh token rotation with reuse
// detection (RFC 9700 §4.14.2, RFC 6749 §6).
func (s *Store) RotateRefresh(_ context.Context, grantID, presentedHash, nextHash string, nextExpiry time.Time) (*store.Grant, error) {
	var (
		out     *store.Grant
		ruleErr error
	)
	err := s.update(func(tx *bolt.Tx, now time.Time) error {
		out, ruleErr = nil, nil
		var gone bool
		g, err := liveGrant(tx, grantID, now, &gone)
		if err != nil || gone {
			ruleErr = store.ErrNotFound
			return err
		}
		changed, err := g.Rotate(presentedHash, nextHash, nextExpiry, now)
		if !changed {
			return err
		}
		// A rotation, or a revocation for reuse that must be committed
		// together with the ErrReused it reports.
		ruleErr = err
		out = g
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
func (s *Store) RevokeGrant(_ context.Context, id string) error {
	var ruleErr error
	err := s.update(func(tx *bolt.Tx, now time.Time) error {
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
		return putGrant(tx, g)
	})
	if err != nil {
		return err
	}
	return ruleErr
}

// ListGrants implements [store.Grants]. Grants created at the same instant
// are ordered by ID.
func (s *Store) ListGrants(_ context.Context, f store.GrantFilter) ([]*store.Grant, error) {
	var out []*store.Grant
	err := s.view(func(tx *bolt.Tx, now time.Time) error {
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
func (s *Store) CreateClient(_ context.Context, c *store.Client) error {
	enc, err := encode(clientKind, c.ID, c)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx, _ time.Time) error {
		b := tx.Bucket(clientKind.data)
		if b.Get([]byte(c.ID)) != nil {
			return store.ErrExists
		}
		return b.Put([]byte(c.ID), enc)
	})
}

// GetClient implements [store.Clients].
func (s *Store) GetClient(_ context.Context, id string) (*store.Client, error) {
	var out *store.Client
	err := s.view(func(tx *bolt.Tx, _ time.Time) error {
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
func (s *Store) DeleteClient(_ context.Context, id string) error {
	return s.update(func(tx *bolt.Tx, _ time.Time) error {
		b := tx.Bucket(clientKind.data)
		if b.Get([]byte(id)) == nil {
			return store.ErrNotFound
		}
		return b.Delete([]byte(id))
	})
}

// ListClients implements [store.Clients]. bbolt keeps keys in byte order,
// which is the order of the IDs.
func (s *Store) ListClients(_ context.Context) ([]*store.Client, error) {
	var out []*store.Client
	err := s.view(func(tx *bolt.Tx, _ time.Time) error {
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
