package store

import (
	"context"
	"time"
)

// Kinds of [Revocation].
const (
	// RevokedGrant: a grant was revoked (RFC 7009 §2.1 revocation of a
	// refresh token, refresh token reuse, a replayed code, an operator);
	// every access token carrying its id (claim "sid") is refused.
	RevokedGrant = "grant"
	// RevokedToken: one access token was revoked (RFC 7009 §2.1); the token
	// with that "jti" is refused.
	RevokedToken = "token"
)

// Revocation is one entry of the revocation log: what resource servers must
// refuse although its signature and expiry still hold.
type Revocation struct {
	// Kind is RevokedGrant or RevokedToken.
	Kind string
	// ID is the grant id or the access token's "jti".
	ID string
	// ExpiresAt is when the entry can be forgotten because no access token
	// it concerns can still be valid: the token's "exp", or for a grant the
	// grant's ExpiresAt, which no access token of the grant outlives (the
	// authorization server caps each token's exp at it). The grant's end is
	// used rather than the revocation time plus the access token lifetime
	// because it holds whatever lifetime issued the grant's tokens, a
	// lifetime configured differently before a restart included.
	ExpiresAt time.Time
	// Seq orders the log: each entry gets a larger Seq than every entry
	// appended before it. Set by the store.
	Seq int64
}

// Revocations is the revocation log that lets every server instance refuse
// revoked access tokens without a store read per request: each instance
// keeps the log's live entries in memory and polls for new ones
// (RevocationsSince with the last Seq it saw).
//
// Entries are appended by RevokeToken and, in the same atomic step as the
// revocation where the backend can (memstore, filestore), by every grant
// revocation: [Grants.RevokeGrant], the reuse detection of
// [Grants.RotateRefresh], and [Grants.CreateGrant] of a grant stored already
// revoked. A kind and id appear at most once among the live entries:
// revoking again appends nothing. Entries past their ExpiresAt are dropped.
type Revocations interface {
	// RevokeToken appends a RevokedToken entry for the access token jti,
	// kept until expiresAt (its "exp"). An expiry already past stores
	// nothing; revoking a token twice is not an error.
	RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error
	// TokenRevoked reports whether the access token jti has a live
	// RevokedToken entry.
	TokenRevoked(ctx context.Context, jti string) (bool, error)
	// RevocationsSince returns the live entries with Seq > after, in Seq
	// order, and the log's head: the largest Seq ever assigned (0 for an
	// empty log). Pass the head as after to the next call. A head smaller
	// than after means the log was reset (a new store): start again from 0.
	RevocationsSince(ctx context.Context, after int64) ([]Revocation, int64, error)
}
