package filestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Sessions = (*Store)(nil)

// sessionKind holds MCP sessions keyed by the hash of their id. The expiry
// index holds each session's current end (the earlier of its idle and
// absolute expiries), so the sweeper removes sessions that were not touched
// in time. init adds the kind to those every file has (Open creates the
// buckets in existing files).
var sessionKind = kind{"session", []byte("sessions"), []byte("sessions_expiry"), nil}

func init() {
	allKinds = append(allKinds, sessionKind)
	expiring = append(expiring, sessionKind)
}

// sessionRecord is a stored session; ExpiresAt is its current end, which the
// sweeper reads.
type sessionRecord struct {
	store.Session
	ExpiresAt time.Time `json:"expires_at"`
}

// errIdleTimeout rejects a session that would expire as soon as touched.
var errIdleTimeout = fmt.Errorf("%w: session idle timeout must be at least 1ms", errInvalid)

// encodeSession encodes ss as stored.
func encodeSession(ss *store.Session) ([]byte, error) {
	return encode(sessionKind, ss.ID, &sessionRecord{Session: *ss, ExpiresAt: ss.ExpiresAt()})
}

// liveSession loads session id for a write. An expired session is removed
// and reported through *gone, to be committed; an absent one is nil.
func liveSession(tx *bolt.Tx, id string, now time.Time, gone *bool) (*sessionRecord, error) {
	rec, err := load[sessionRecord](tx, sessionKind, id)
	if err != nil || rec == nil {
		return nil, err
	}
	if expired(rec.ExpiresAt, now) {
		*gone = true
		return nil, remove(tx, sessionKind, id, rec.ExpiresAt)
	}
	return rec, nil
}

// CreateSession implements [store.Sessions].
func (s *Store) CreateSession(ctx context.Context, ss *store.Session) error {
	if ss.IdleTimeout < time.Millisecond {
		return errIdleTimeout
	}
	cp := *ss
	cp.Version = 1
	enc, err := encodeSession(&cp)
	if err != nil {
		return err
	}
	exp := cp.ExpiresAt()
	return s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		old, err := load[expiryOnly](tx, sessionKind, cp.ID)
		if err != nil {
			return err
		}
		if old != nil && !expired(old.ExpiresAt, now) {
			return store.ErrExists
		}
		if old != nil {
			if err := remove(tx, sessionKind, cp.ID, old.ExpiresAt); err != nil {
				return err
			}
		}
		if expired(exp, now) {
			if old == nil {
				return errNoChange
			}
			return nil
		}
		return put(tx, sessionKind, cp.ID, enc, exp, time.Time{}, false)
	})
}

// GetSession implements [store.Sessions].
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	rec, err := getLive(s, ctx, sessionKind, id, func(r *sessionRecord) time.Time { return r.ExpiresAt })
	if err != nil {
		return nil, err
	}
	return &rec.Session, nil
}

// changeSession runs change on the live session id in a write transaction
// and stores the result; change returns errNoChange to leave it as it is.
// A missing or expired session is ErrNotFound (an expired one is removed).
func (s *Store) changeSession(ctx context.Context, id string, change func(rec *sessionRecord, now time.Time) error) error {
	var ruleErr error
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		ruleErr = nil
		var gone bool
		rec, err := liveSession(tx, id, now, &gone)
		if err != nil {
			return err
		}
		if rec == nil {
			ruleErr = store.ErrNotFound
			if gone {
				return nil // commit the removal
			}
			return errNoChange
		}
		oldExp := rec.ExpiresAt
		if err := change(rec, now); err != nil {
			ruleErr = err
			return errNoChange
		}
		rec.ExpiresAt = rec.Session.ExpiresAt()
		enc, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return put(tx, sessionKind, id, enc, rec.ExpiresAt, oldExp, true)
	})
	if err != nil {
		return err
	}
	return ruleErr
}

// TouchSession implements [store.Sessions]: one write transaction, which
// moves the session's entry in the expiry index.
func (s *Store) TouchSession(ctx context.Context, id string) error {
	return s.changeSession(ctx, id, func(rec *sessionRecord, now time.Time) error {
		rec.LastSeen = now
		rec.IdleExpiresAt = now.Add(rec.IdleTimeout.Truncate(time.Millisecond))
		if rec.AbsoluteExpiresAt.Before(rec.IdleExpiresAt) {
			rec.IdleExpiresAt = rec.AbsoluteExpiresAt
		}
		return nil
	})
}

// UpdateSessionState implements [store.Sessions] as a compare-and-swap in
// one write transaction, so it holds across processes sharing the file.
func (s *Store) UpdateSessionState(ctx context.Context, id string, version int64, state json.RawMessage) error {
	if len(state) > 0 && !json.Valid(state) {
		return fmt.Errorf("%w: session %q: state is not JSON", errInvalid, id)
	}
	return s.changeSession(ctx, id, func(rec *sessionRecord, _ time.Time) error {
		if rec.Version != version {
			return store.ErrConflict
		}
		rec.State = state
		rec.Version++
		return nil
	})
}

// DeleteSession implements [store.Sessions].
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	var ruleErr error
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		ruleErr = nil
		rec, err := load[sessionRecord](tx, sessionKind, id)
		if err != nil {
			return err
		}
		if rec == nil {
			ruleErr = store.ErrNotFound
			return errNoChange
		}
		if expired(rec.ExpiresAt, now) {
			ruleErr = store.ErrNotFound
		}
		return remove(tx, sessionKind, id, rec.ExpiresAt)
	})
	if err != nil {
		return err
	}
	return ruleErr
}
