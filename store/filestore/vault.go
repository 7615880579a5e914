package filestore

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Vault = (*Store)(nil)

// The vault's record kinds: entries keyed by grant id, and the refresh leases.
// Both expire, so the sweeper removes them; init adds them to the kinds every
// file has (Open creates missing buckets in existing files).
var (
	vaultKind     = kind{"vault entry", []byte("vault"), []byte("vault_expiry"), nil}
	vaultLockKind = kind{"vault lease", []byte("vault_locks"), []byte("vault_locks_expiry"), nil}
)

func init() {
	allKinds = append(allKinds, vaultKind, vaultLockKind)
	expiring = append(expiring, vaultKind, vaultLockKind)
}

// vaultRecord is a stored vault entry: the envelope as the caller sealed it
// (package vault's envelopes are ASCII, kept as a JSON string).
type vaultRecord struct {
	Envelope  string    `json:"envelope"`
	ExpiresAt time.Time `json:"expires_at"`
}

// leaseRecord is a refresh lease; ExpiresAt is when it lapses.
type leaseRecord struct {
	Owner     string    `json:"owner"`
	ExpiresAt time.Time `json:"expires_at"`
}

// deleteVault removes a grant's vault entry inside a write transaction.
func deleteVault(tx *bolt.Tx, grantID string) error {
	rec, err := load[vaultRecord](tx, vaultKind, grantID)
	if err != nil || rec == nil {
		return err
	}
	return remove(tx, vaultKind, grantID, rec.ExpiresAt)
}

// PutVault implements [store.Vault].
func (s *Store) PutVault(ctx context.Context, grantID string, envelope []byte, expiresAt time.Time) error {
	if !utf8.Valid(envelope) {
		return fmt.Errorf("%w: vault entry %q: the envelope is not text", errInvalid, grantID)
	}
	enc, err := encode(vaultKind, grantID, &vaultRecord{Envelope: string(envelope), ExpiresAt: expiresAt})
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		old, err := load[vaultRecord](tx, vaultKind, grantID)
		if err != nil {
			return err
		}
		if expired(expiresAt, now) {
			if old == nil {
				return errNoChange
			}
			return remove(tx, vaultKind, grantID, old.ExpiresAt)
		}
		var oldExp time.Time
		if old != nil {
			oldExp = old.ExpiresAt
		}
		return put(tx, vaultKind, grantID, enc, expiresAt, oldExp, old != nil)
	})
}

// vaultState is what a read of a vault entry found.
type vaultState int

const (
	vaultLive    vaultState = iota
	vaultAbsent             // no entry, or it expired, or its grant is not live
	vaultRevoked            // the grant is revoked: the entry is to be removed
)

// readVault classifies the entry of grantID at now.
func readVault(tx *bolt.Tx, grantID string, now time.Time) (*vaultRecord, vaultState, error) {
	rec, err := load[vaultRecord](tx, vaultKind, grantID)
	if err != nil || rec == nil || expired(rec.ExpiresAt, now) {
		return nil, vaultAbsent, err
	}
	g, err := load[store.Grant](tx, grantKind, grantID)
	switch {
	case err != nil:
		return nil, vaultAbsent, err
	case g == nil || expired(g.ExpiresAt, now):
		return nil, vaultAbsent, nil
	case !g.RevokedAt.IsZero():
		return rec, vaultRevoked, nil
	}
	return rec, vaultLive, nil
}

// GetVault implements [store.Vault]. It reads in a shared transaction; only
// an entry of a revoked grant takes a write transaction, to remove it.
func (s *Store) GetVault(ctx context.Context, grantID string) ([]byte, error) {
	var (
		out   []byte
		state vaultState
	)
	err := s.view(ctx, func(tx *bolt.Tx, now time.Time) error {
		rec, st, err := readVault(tx, grantID, now)
		out, state = nil, st
		if rec != nil {
			out = []byte(rec.Envelope)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch state {
	case vaultLive:
		return out, nil
	case vaultRevoked:
		err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
			_, st, err := readVault(tx, grantID, now)
			if err != nil {
				return err
			}
			if st != vaultRevoked {
				return errNoChange
			}
			return deleteVault(tx, grantID)
		})
		if err != nil {
			return nil, err
		}
	}
	return nil, store.ErrNotFound
}

// UpdateVault implements [store.Vault]: the comparison and the write are
// one write transaction, so the swap holds across processes sharing the file.
func (s *Store) UpdateVault(ctx context.Context, grantID string, old, envelope []byte) error {
	if !utf8.Valid(envelope) {
		return fmt.Errorf("%w: vault entry %q: the envelope is not text", errInvalid, grantID)
	}
	var ruleErr error
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		ruleErr = nil
		rec, st, err := readVault(tx, grantID, now)
		if err != nil {
			return err
		}
		switch st {
		case vaultRevoked:
			ruleErr = store.ErrNotFound
			return deleteVault(tx, grantID)
		case vaultAbsent:
			ruleErr = store.ErrNotFound
			return errNoChange
		}
		if rec.Envelope != string(old) {
			ruleErr = store.ErrConflict
			return errNoChange
		}
		rec.Envelope = string(envelope)
		enc, err := encode(vaultKind, grantID, rec)
		if err != nil {
			return err
		}
		return put(tx, vaultKind, grantID, enc, rec.ExpiresAt, rec.ExpiresAt, true)
	})
	if err != nil {
		return err
	}
	return ruleErr
}

// DeleteVault implements [store.Vault].
func (s *Store) DeleteVault(ctx context.Context, grantID string) error {
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		if tx.Bucket(vaultKind.data).Get([]byte(grantID)) == nil {
			return errNoChange
		}
		return deleteVault(tx, grantID)
	})
}

// LockVault implements [store.Vault]: one write transaction, so the lease
// holds across processes sharing the file.
func (s *Store) LockVault(ctx context.Context, grantID, owner string, ttl time.Duration) (bool, error) {
	if owner == "" {
		return false, fmt.Errorf("%w: vault lease without an owner", errInvalid)
	}
	var got bool
	err := s.update(ctx, func(tx *bolt.Tx, now time.Time) error {
		got = false
		old, err := load[leaseRecord](tx, vaultLockKind, grantID)
		if err != nil {
			return err
		}
		if old != nil && !expired(old.ExpiresAt, now) && old.Owner != owner {
			return errNoChange
		}
		rec := &leaseRecord{Owner: owner, ExpiresAt: now.Add(ttl)}
		enc, err := encode(vaultLockKind, grantID, rec)
		if err != nil {
			return err
		}
		var oldExp time.Time
		if old != nil {
			oldExp = old.ExpiresAt
		}
		got = true
		return put(tx, vaultLockKind, grantID, enc, rec.ExpiresAt, oldExp, old != nil)
	})
	if err != nil {
		return false, err
	}
	return got, nil
}

// UnlockVault implements [store.Vault].
func (s *Store) UnlockVault(ctx context.Context, grantID, owner string) error {
	return s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		old, err := load[leaseRecord](tx, vaultLockKind, grantID)
		if err != nil {
			return err
		}
		if old == nil || old.Owner != owner {
			return errNoChange
		}
		return remove(tx, vaultLockKind, grantID, old.ExpiresAt)
	})
}
