package memstore

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Revocations = (*Store)(nil)

// minCompact is the least number of appends between two compactions of the
// revocation log.
const minCompact = 64

// revocationLog is the store's revocation log, guarded by Store.mu. Entries
// are in Seq order; expired ones are skipped when read and dropped by a
// compaction once the appends since the last one reach the log's length, so
// the cost stays amortised O(1) per append.
type revocationLog struct {
	seq     int64
	entries []store.Revocation
	live    map[revKey]time.Time // expiry of the newest entry per kind and id
	appends int
}

type revKey struct{ kind, id string }

// add appends an entry unless one for kind and id is still live or exp has
// passed. Called with s.mu held.
func (l *revocationLog) add(kind, id string, exp, now time.Time) {
	if expired(exp, now) {
		return
	}
	k := revKey{kind, id}
	if old, ok := l.live[k]; ok && !expired(old, now) {
		return
	}
	if l.live == nil {
		l.live = make(map[revKey]time.Time)
	}
	l.seq++
	l.entries = append(l.entries, store.Revocation{Kind: kind, ID: id, ExpiresAt: exp, Seq: l.seq})
	l.live[k] = exp
	if l.appends++; l.appends >= max(minCompact, len(l.entries)/2) {
		l.compact(now)
	}
}

// compact drops expired entries. Called with s.mu held.
func (l *revocationLog) compact(now time.Time) {
	kept := l.entries[:0]
	for _, e := range l.entries {
		if !expired(e.ExpiresAt, now) {
			kept = append(kept, e)
		}
	}
	clear(l.entries[len(kept):])
	l.entries = kept
	for k, exp := range l.live {
		if expired(exp, now) {
			delete(l.live, k)
		}
	}
	l.appends = 0
}

// logGrant appends a RevokedGrant entry for g if g is revoked, living until
// the grant's end. Every write that can leave a grant revoked calls it in the
// same critical section, so the log and the grant change together. Called
// with s.mu held.
func (s *Store) logGrant(g *store.Grant, now time.Time) {
	if !g.RevokedAt.IsZero() {
		s.revs.add(store.RevokedGrant, g.ID, g.ExpiresAt, now)
	}
}

// RevokeToken implements [store.Revocations].
func (s *Store) RevokeToken(_ context.Context, jti string, expiresAt time.Time) error {
	if jti == "" {
		return errors.New("memstore: RevokeToken: empty jti")
	}
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.revs.add(store.RevokedToken, jti, expiresAt, now)
	return nil
}

// TokenRevoked implements [store.Revocations].
func (s *Store) TokenRevoked(_ context.Context, jti string) (bool, error) {
	now, err := s.lock()
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	exp, ok := s.revs.live[revKey{store.RevokedToken, jti}]
	return ok && !expired(exp, now), nil
}

// RevocationsSince implements [store.Revocations].
func (s *Store) RevocationsSince(_ context.Context, after int64) ([]store.Revocation, int64, error) {
	now, err := s.lock()
	if err != nil {
		return nil, 0, err
	}
	defer s.mu.Unlock()
	l := &s.revs
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].Seq > after })
	var out []store.Revocation
	for _, e := range l.entries[i:] {
		if !expired(e.ExpiresAt, now) {
			out = append(out, e)
		}
	}
	return out, l.seq, nil
}
