// Package store defines the persistence the authorization server needs, sized to
// atomic operations.
//
// Every method is one atomic step: consuming a code, rotating a refresh token,
// revoking a grant. Backends (memstore, filestore, and later redisstore) implement
// the same [Store] interface and all run the conformance suite in storetest, so the
// server behaves the same whatever it is stored in.
//
// Records never hold a raw token, code or secret: the caller passes hashes (see
// package token). Every record carries an expiry; a backend treats an expired
// record as absent (returning [ErrNotFound]) and removes it eventually. Backends
// read time from a clock given in their options ([Clock]), so tests control it.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	// ErrNotFound: the record does not exist, has expired, or was consumed.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a record with that key already exists.
	ErrExists = errors.New("store: already exists")
	// ErrReused: a one-time value (an authorization code or a rotated refresh
	// token) was presented a second time. Per RFC 9700 §2.2.2 and §4.14.2 the
	// caller must treat this as an attack: the store has already revoked the grant.
	ErrReused = errors.New("store: one-time value reused")
	// ErrMismatch: a refresh token hash matches neither the current nor a
	// previous token of its grant (a forged or corrupted token). Nothing changed.
	ErrMismatch = errors.New("store: refresh token does not match")
	// ErrUnavailable: the backend could not be reached or failed; the operation
	// may not have happened. Servers answer 503 temporarily_unavailable.
	ErrUnavailable = errors.New("store: unavailable")
)

// Clock returns the current time. A nil Clock means time.Now.
type Clock func() time.Time

// Now returns c(), or time.Now() when c is nil.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

// Store is everything the server persists.
type Store interface {
	Pending
	Codes
	Grants
	Clients
	Vault
	Revocations
	Sessions
	// Ping reports whether the backend is reachable (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the backend. It does not delete data.
	Close() error
}

// PendingAuthorization is an authorization request (RFC 6749 §4.1.1) waiting for
// the user to log in and consent. Kept 10 minutes.
type PendingAuthorization struct {
	ID                  string   `json:"id"`
	ClientID            string   `json:"client_id"`
	RedirectURI         string   `json:"redirect_uri"`
	State               string   `json:"state"`
	CodeChallenge       string   `json:"code_challenge"`
	CodeChallengeMethod string   `json:"code_challenge_method"`
	Resource            string   `json:"resource,omitempty"`
	Scopes              []string `json:"scopes,omitempty"`
	// CSRFHash is the hash of the anti-CSRF token the login and consent forms
	// must echo (token.Hash).
	CSRFHash  string    `json:"csrf_hash"`
	Subject   string    `json:"subject,omitempty"` // set once the user has logged in
	Claims    Claims    `json:"claims,omitempty"`
	AuthTime  time.Time `json:"auth_time,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Upstream is remote mode's sealed upstream state (package vault
	// envelope): the login in progress, then the upstream tokens.
	Upstream []byte `json:"upstream,omitempty"`
}

// Pending stores authorization requests between /authorize and the code.
type Pending interface {
	// SavePending creates or replaces the request with p.ID.
	SavePending(ctx context.Context, p *PendingAuthorization) error
	// GetPending returns the request, or ErrNotFound.
	GetPending(ctx context.Context, id string) (*PendingAuthorization, error)
	// ConsumePending returns the request and deletes it atomically; a second
	// call returns ErrNotFound. A request completes exactly once.
	ConsumePending(ctx context.Context, id string) (*PendingAuthorization, error)
}

// AuthCode is an issued authorization code (RFC 6749 §4.1.2), stored under the
// hash of the code. GrantID is chosen when the code is issued, so that a replayed
// code can revoke what its first redemption created (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
type AuthCode struct {
	Hash                string    `json:"hash"`
	GrantID             string    `json:"grant_id"`
	ClientID            string    `json:"client_id"`
	RedirectURI         string    `json:"redirect_uri"`
	CodeChallenge       string    `json:"code_challenge"`
	CodeChallengeMethod string    `json:"code_challenge_method"`
	Resource            string    `json:"resource,omitempty"`
	Scopes              []string  `json:"scopes,omitempty"`
	Subject             string    `json:"subject"`
	Claims              Claims    `json:"claims,omitempty"`
	AuthTime            time.Time `json:"auth_time,omitzero"`
	ExpiresAt           time.Time `json:"expires_at"`
	// Upstream is remote mode's sealed upstream tokens, moved into the
	// vault when the code is redeemed.
	Upstream []byte `json:"upstream,omitempty"`
}

// Codes stores authorization codes.
type Codes interface {
	// SaveCode stores c under c.Hash; ErrExists if that hash is present.
	SaveCode(ctx context.Context, c *AuthCode) error
	// ConsumeCode redeems a code atomically. The first call returns the code and
	// marks it used (the used marker lives until the code's expiry). Any later
	// call returns the code together with ErrReused, so the caller can revoke
	// c.GrantID. Unknown or expired codes return ErrNotFound.
	ConsumeCode(ctx context.Context, hash string) (*AuthCode, error)
}

// Claims are extra identity claims carried from login into tokens.
type Claims map[string]any

// Grant is what a user authorized a client to do: the family of one refresh
// token chain (RFC 9700 §4.14.2). Revoking the grant ends the family.
type Grant struct {
	ID          string   `json:"id"`
	ClientID    string   `json:"client_id"`
	Subject     string   `json:"subject"`
	Scopes      []string `json:"scopes,omitempty"`
	Resource    string   `json:"resource,omitempty"`
	Claims      Claims   `json:"claims,omitempty"`
	RefreshHash string   `json:"refresh_hash,omitempty"` // hash of the current refresh token; "" when none
	// PreviousHashes are hashes of rotated-out refresh tokens, kept to
	// detect reuse, oldest first. Stores keep them apart from the grant
	// record, so that reading or rotating a grant costs the same however
	// long its chain: CreateGrant stores the ones given (the last
	// MaxPreviousHashes), Grants.PreviousRefreshHashes reads them, and the
	// grants that GetGrant, ListGrants and RotateRefresh return leave this
	// empty.
	PreviousHashes   []string  `json:"previous_hashes,omitempty"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at,omitzero"`
	AuthTime         time.Time `json:"auth_time,omitzero"`
	CreatedAt        time.Time `json:"created_at"`
	// ExpiresAt is the absolute end of the grant; no refresh extends it.
	ExpiresAt time.Time `json:"expires_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	// RefreshReuseGrace is how long the refresh token replaced by a rotation
	// may be presented again as a retry (see [Grant.Rotate]); zero: never.
	// It is fixed when the grant is created.
	RefreshReuseGrace time.Duration `json:"refresh_reuse_grace,omitempty"`
	// GraceHash is the hash of the refresh token the last rotation replaced,
	// accepted as a retry until GraceUntil; "" when none.
	GraceHash  string    `json:"grace_hash,omitempty"`
	GraceUntil time.Time `json:"grace_until,omitzero"`
	// Retried is set only on the grant [Grants.RotateRefresh] returns, when
	// the presented hash was accepted as a retry within the reuse grace (see
	// [Grant.Rotate]); it is never stored.
	Retried bool `json:"-"`
}

// Active reports whether g can still be used at now.
func (g *Grant) Active(now time.Time) bool {
	return g.RevokedAt.IsZero() && now.Before(g.ExpiresAt)
}

// GrantFilter selects grants for listing; empty fields match everything.
type GrantFilter struct {
	Subject  string
	ClientID string
}

// Grants stores grants and their refresh tokens.
type Grants interface {
	// CreateGrant stores g; ErrExists if g.ID is taken (also when a revoked
	// grant with that ID is still remembered).
	CreateGrant(ctx context.Context, g *Grant) error
	// GetGrant returns the grant, revoked ones included, or ErrNotFound once it
	// has expired.
	GetGrant(ctx context.Context, id string) (*Grant, error)
	// RotateRefresh atomically replaces the grant's current refresh hash with
	// nextHash and returns the updated grant (without its PreviousHashes),
	// following the rules of [Grant.Rotate]: reuse of a previous hash revokes
	// the grant (ErrReused); a revoked or expired grant or refresh token is
	// ErrNotFound; an unknown hash is ErrMismatch and changes nothing. It
	// returns a nil grant on any error.
	RotateRefresh(ctx context.Context, grantID, presentedHash, nextHash string, nextExpiry time.Time) (*Grant, error)
	// PreviousRefreshHashes returns the hashes of the grant's rotated-out
	// refresh tokens that it remembers for reuse detection, oldest first (at
	// most MaxPreviousHashes; empty when none), for a grant revoked or not;
	// ErrNotFound once the grant has expired.
	PreviousRefreshHashes(ctx context.Context, id string) ([]string, error)
	// RevokeGrant marks the grant revoked (idempotent). ErrNotFound if unknown.
	RevokeGrant(ctx context.Context, id string) error
	// ListGrants returns active and revoked, unexpired grants matching f,
	// oldest first.
	ListGrants(ctx context.Context, f GrantFilter) ([]*Grant, error)
}

// Client is a registered OAuth client (RFC 7591 §2 metadata).
type Client struct {
	ID                      string    `json:"client_id"`
	SecretHash              string    `json:"secret_hash,omitempty"` // "" for public clients
	Name                    string    `json:"client_name,omitempty"`
	RedirectURIs            []string  `json:"redirect_uris"`
	GrantTypes              []string  `json:"grant_types,omitempty"`
	ResponseTypes           []string  `json:"response_types,omitempty"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	Scopes                  []string  `json:"scopes,omitempty"`
	Dynamic                 bool      `json:"dynamic,omitempty"` // registered through RFC 7591
	RegistrationTokenHash   string    `json:"registration_token_hash,omitempty"`
	Metadata                Claims    `json:"metadata,omitempty"` // other registered metadata, returned as-is
	CreatedAt               time.Time `json:"created_at"`
}

// Clients stores registered clients. Clients do not expire.
type Clients interface {
	// CreateClient stores c; ErrExists if c.ID is taken.
	CreateClient(ctx context.Context, c *Client) error
	GetClient(ctx context.Context, id string) (*Client, error)
	// DeleteClient removes the client; ErrNotFound if unknown.
	DeleteClient(ctx context.Context, id string) error
	// ListClients returns all clients ordered by ID.
	ListClients(ctx context.Context) ([]*Client, error)
}
