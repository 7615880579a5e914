package memstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Sessions = (*Store)(nil)

// errIdleTimeout rejects a session that would expire as soon as touched.
var errIdleTimeout = errors.New("memstore: session idle timeout must be at least 1ms")

// sessionTable holds the MCP sessions, guarded by Store.mu. Expired sessions
// are removed when touched, and all of them by a sweep once the creations
// since the last sweep reach the table's size (at least minSweepWrites), so
// the cost stays amortised O(1) per creation.
type sessionTable struct {
	m       map[string]*store.Session
	creates int
}

// live returns the unexpired session id, removing it if it has expired.
// Called with s.mu held.
func (t *sessionTable) live(id string, now time.Time) (*store.Session, bool) {
	ss, ok := t.m[id]
	if !ok {
		return nil, false
	}
	if expired(ss.ExpiresAt(), now) {
		delete(t.m, id)
		return nil, false
	}
	return ss, true
}

func (t *sessionTable) sweep(now time.Time) {
	for id, ss := range t.m {
		if expired(ss.ExpiresAt(), now) {
			delete(t.m, id)
		}
	}
	t.creates = 0
}

func cloneSession(ss *store.Session) *store.Session {
	cp := *ss
	cp.State = slices.Clone(ss.State)
	return &cp
}

// compactState returns state compacted, as a JSON-backed store returns it;
// state that is not JSON is refused.
func compactState(state json.RawMessage) (json.RawMessage, error) {
	if len(state) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, state); err != nil {
		return nil, fmt.Errorf("memstore: session state is not JSON: %w", err)
	}
	return b.Bytes(), nil
}

// CreateSession implements [store.Sessions].
func (s *Store) CreateSession(_ context.Context, ss *store.Session) error {
	if ss.ID == "" {
		return errEmptyID
	}
	if ss.IdleTimeout < time.Millisecond {
		return errIdleTimeout
	}
	cp := cloneSession(ss)
	cp.Version = 1
	var err error
	if cp.State, err = compactState(ss.State); err != nil {
		return err
	}
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	t := &s.sess
	if _, ok := t.live(cp.ID, now); ok {
		return store.ErrExists
	}
	if expired(cp.ExpiresAt(), now) {
		return nil
	}
	if t.m == nil {
		t.m = make(map[string]*store.Session)
	}
	t.m[cp.ID] = cp
	if t.creates++; t.creates >= max(minSweepWrites, len(t.m)) {
		t.sweep(now)
	}
	return nil
}

// GetSession implements [store.Sessions].
func (s *Store) GetSession(_ context.Context, id string) (*store.Session, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ss, ok := s.sess.live(id, now)
	if !ok {
		return nil, store.ErrNotFound
	}
	return cloneSession(ss), nil
}

// TouchSession implements [store.Sessions].
func (s *Store) TouchSession(_ context.Context, id string) error {
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	ss, ok := s.sess.live(id, now)
	if !ok {
		return store.ErrNotFound
	}
	ss.LastSeen = now
	ss.IdleExpiresAt = now.Add(ss.IdleTimeout.Truncate(time.Millisecond))
	if ss.AbsoluteExpiresAt.Before(ss.IdleExpiresAt) {
		ss.IdleExpiresAt = ss.AbsoluteExpiresAt
	}
	return nil
}

// UpdateSessionState implements [store.Sessions].
func (s *Store) UpdateSessionState(_ context.Context, id string, version int64, state json.RawMessage) error {
	state, err := compactState(state)
	if err != nil {
		return err
	}
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	ss, ok := s.sess.live(id, now)
	if !ok {
		return store.ErrNotFound
	}
	if ss.Version != version {
		return store.ErrConflict
	}
	ss.State = state
	ss.Version++
	return nil
}

// DeleteSession implements [store.Sessions].
func (s *Store) DeleteSession(_ context.Context, id string) error {
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.sess.live(id, now); !ok {
		return store.ErrNotFound
	}
	delete(s.sess.m, id)
	return nil
}
