package memstore

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Vault = (*Store)(nil)

// vaultState holds the vault entries and refresh leases; guarded by Store.mu.
// Entries are checked against their grant when read and removed with it;
// expired entries and leases are swept when the maps have doubled since the
// last sweep, so memory stays bounded.
type vaultState struct {
	entries map[string]*vaultEntry
	locks   map[string]vaultLease
	sweepAt int
}

type vaultEntry struct {
	envelope  []byte
	expiresAt time.Time
}

type vaultLease struct {
	owner string
	until time.Time
}

// init creates the maps on first use. Called with s.mu held.
func (v *vaultState) init() {
	if v.entries == nil {
		v.entries = make(map[string]*vaultEntry)
		v.locks = make(map[string]vaultLease)
		v.sweepAt = minSweepWrites
	}
}

// sweepVault removes expired entries and leases once the maps have grown to
// sweepAt. Called with s.mu held.
func (s *Store) sweepVault(now time.Time) {
	v := &s.vault
	if len(v.entries)+len(v.locks) < v.sweepAt {
		return
	}
	for id, e := range v.entries {
		if expired(e.expiresAt, now) {
			delete(v.entries, id)
		}
	}
	for id, l := range v.locks {
		if expired(l.until, now) {
			delete(v.locks, id)
		}
	}
	v.sweepAt = max(minSweepWrites, 2*(len(v.entries)+len(v.locks)))
}

// dropVault removes a grant's vault entry (its grant was revoked). Called
// with s.mu held.
func (s *Store) dropVault(grantID string) {
	delete(s.vault.entries, grantID)
}

// PutVault implements [store.Vault].
func (s *Store) PutVault(_ context.Context, grantID string, envelope []byte, expiresAt time.Time) error {
	if grantID == "" {
		return errEmptyID
	}
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.vault.init()
	if expired(expiresAt, now) {
		delete(s.vault.entries, grantID)
		return nil
	}
	s.vault.entries[grantID] = &vaultEntry{envelope: slices.Clone(envelope), expiresAt: expiresAt}
	s.sweepVault(now)
	return nil
}

// liveVault returns the entry of an active grant. Entries that expired or
// whose grant is revoked are removed; an entry whose grant does not exist
// (yet) is left alone. Called with s.mu held.
func (s *Store) liveVault(grantID string, now time.Time) (*vaultEntry, bool) {
	e, ok := s.vault.entries[grantID]
	if !ok {
		return nil, false
	}
	g, live := s.liveGrant(grantID, now)
	if expired(e.expiresAt, now) || (live && !g.RevokedAt.IsZero()) {
		delete(s.vault.entries, grantID)
		return nil, false
	}
	return e, live
}

// GetVault implements [store.Vault].
func (s *Store) GetVault(_ context.Context, grantID string) ([]byte, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.liveVault(grantID, now)
	if !ok {
		return nil, store.ErrNotFound
	}
	return slices.Clone(e.envelope), nil
}

// UpdateVault implements [store.Vault].
func (s *Store) UpdateVault(_ context.Context, grantID string, old, envelope []byte) error {
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.liveVault(grantID, now)
	if !ok {
		return store.ErrNotFound
	}
	if !bytes.Equal(e.envelope, old) {
		return store.ErrConflict
	}
	e.envelope = slices.Clone(envelope)
	return nil
}

// DeleteVault implements [store.Vault].
func (s *Store) DeleteVault(_ context.Context, grantID string) error {
	if _, err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.vault.entries, grantID)
	return nil
}

// LockVault implements [store.Vault].
func (s *Store) LockVault(_ context.Context, grantID, owner string, ttl time.Duration) (bool, error) {
	if grantID == "" || owner == "" {
		return false, errEmptyID
	}
	now, err := s.lock()
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	s.vault.init()
	if l, ok := s.vault.locks[grantID]; ok && !expired(l.until, now) && l.owner != owner {
		return false, nil
	}
	s.vault.locks[grantID] = vaultLease{owner: owner, until: now.Add(ttl)}
	s.sweepVault(now)
	return true, nil
}

// UnlockVault implements [store.Vault].
func (s *Store) UnlockVault(_ context.Context, grantID, owner string) error {
	if _, err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if l, ok := s.vault.locks[grantID]; ok && l.owner == owner {
		delete(s.vault.locks, grantID)
	}
	return nil
}
