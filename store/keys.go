package store

import (
	"context"
	"errors"
	"time"
)

// ErrConflict: a compare-and-swap lost to a concurrent writer; reload and retry.
var ErrConflict = errors.New("store: concurrent update")

// SigningKey is a generated signing key of the embedded authorization server,
// with its schedule. Private holds the private JWK, sealed (encrypted) when the
// server has an encryption key configured.
type SigningKey struct {
	ID        string    `json:"kid"`
	Algorithm string    `json:"alg"`
	Private   []byte    `json:"private"`
	CreatedAt time.Time `json:"created_at"`
	// ActivateAt is when the key starts signing; before it, the key is only
	// published (so caches of the JWKS know it before the first token).
	ActivateAt time.Time `json:"activate_at"`
	// RetireAt is when a newer key took over signing (zero while current).
	RetireAt time.Time `json:"retire_at,omitzero"`
	// RemoveAt is when the key leaves the JWKS: after the longest-lived token
	// it signed has expired (zero while current).
	RemoveAt time.Time `json:"remove_at,omitzero"`
}

// KeySet is the versioned set of generated signing keys.
type KeySet struct {
	Version int64        `json:"version"`
	Keys    []SigningKey `json:"keys"`
}

// Keys stores the key set as one record changed by compare-and-swap, so that
// several instances on one store rotate exactly once.
type Keys interface {
	// GetKeySet returns the stored set, or an empty set with Version 0.
	GetKeySet(ctx context.Context) (*KeySet, error)
	// SwapKeySet replaces the set if its stored version is still expected and
	// returns the new set (Version expected+1). ErrConflict otherwise.
	SwapKeySet(ctx context.Context, expected int64, keys []SigningKey) (*KeySet, error)
}
