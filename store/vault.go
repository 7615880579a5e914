package store

import (
	"context"
	"time"
)

// Vault keeps, per grant, the upstream identity provider's tokens of
// orchestrated/remote mode: the access, refresh and ID tokens that tools use
// to call upstream APIs on the user's behalf. The store only ever sees an
// envelope sealed by package vault (AES-256-GCM); it never decrypts it.
//
// An entry is keyed by the grant id, so it survives the rotation of the
// grant's refresh tokens, and lives as long as the grant. It is bound to its
// grant: once the grant is revoked (by [Grants.RevokeGrant], by the reuse
// detection of [Grants.RotateRefresh]) or gone, GetVault and UpdateVault
// report [ErrNotFound]. RevokeGrant removes the entry at once; other
// revocations leave it to the next read, and expiry to the backend.
//
// Refreshing the upstream tokens must happen once per grant even with many
// server instances (a refresh token presented twice is reuse at most
// providers), so the interface has a lease: the instance that gets
// LockVault refreshes, the others wait for the new entry.
type Vault interface {
	// PutVault stores envelope (a package vault envelope: ASCII text)
	// under grantID until expiresAt, replacing any entry. The grant need
	// not exist yet.
	PutVault(ctx context.Context, grantID string, envelope []byte, expiresAt time.Time) error
	// GetVault returns the grant's envelope. It returns ErrNotFound when
	// there is none or it has expired, when the grant is revoked (removing
	// the entry), and when the grant is expired or unknown.
	GetVault(ctx context.Context, grantID string) ([]byte, error)
	// UpdateVault replaces the envelope of an entry GetVault would return
	// with envelope, keeping its expiry, if the entry still holds old
	// (compare-and-swap: a writer that read the entry before another one
	// changed it cannot overwrite that change). It returns ErrConflict,
	// changing nothing, when the entry holds another envelope, and
	// ErrNotFound when there is no such entry: an entry removed by a
	// revocation is never written back.
	UpdateVault(ctx context.Context, grantID string, old, envelope []byte) error
	// DeleteVault removes the entry; a missing entry is not an error.
	DeleteVault(ctx context.Context, grantID string) error
	// LockVault takes the grant's refresh lease for owner (a random value
	// per attempt) for ttl, unless another owner holds an unexpired lease.
	// It reports whether owner now holds it.
	LockVault(ctx context.Context, grantID, owner string, ttl time.Duration) (bool, error)
	// UnlockVault releases the lease if owner still holds it; otherwise it
	// changes nothing and is not an error.
	UnlockVault(ctx context.Context, grantID, owner string) error
}
