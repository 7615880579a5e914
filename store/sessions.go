package store

import (
	"context"
	"encoding/json"
	"time"
)

// Session is an MCP session of the Streamable HTTP transport (the
// Mcp-Session-Id header, MCP specification 2025-11-25, "Session Management"),
// kept in the store so that any server instance can continue it and every
// instance sees when it ends.
//
// A session lives until the first of two expiries: IdleExpiresAt, which
// [Sessions.TouchSession] moves forward as the client keeps using the
// session, and AbsoluteExpiresAt, which nothing moves.
type Session struct {
	// ID is the hash of the session id the client sends (token.Hash), never
	// the id itself: a copy of the store does not hand out session ids.
	ID string `json:"id"`
	// Subject and ClientID are the principal the session is bound to: a
	// request on the session must come from the same subject through the
	// same client. Empty for sessions of anonymous principals.
	Subject  string `json:"subject,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// State is the MCP session state (initialize parameters, log level …),
	// opaque to the store.
	State json.RawMessage `json:"state,omitempty"`
	// Version counts the writes of State: CreateSession stores 1, each
	// UpdateSessionState adds one.
	Version int64 `json:"version"`
	// IdleTimeout is how far TouchSession moves IdleExpiresAt past the
	// time of the touch. Kept to the millisecond; it must be positive.
	IdleTimeout time.Duration `json:"idle_timeout"`
	CreatedAt   time.Time     `json:"created_at"`
	// LastSeen is the time of the last touch (CreatedAt before any).
	LastSeen time.Time `json:"last_seen"`
	// IdleExpiresAt is LastSeen plus IdleTimeout, but never after
	// AbsoluteExpiresAt.
	IdleExpiresAt     time.Time `json:"idle_expires_at"`
	AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
}

// ExpiresAt is when the session ends unless touched: the earlier of
// IdleExpiresAt and AbsoluteExpiresAt. A session is valid strictly before it.
func (s *Session) ExpiresAt() time.Time {
	if s.AbsoluteExpiresAt.Before(s.IdleExpiresAt) {
		return s.AbsoluteExpiresAt
	}
	return s.IdleExpiresAt
}

// Sessions stores MCP sessions. A session past its ExpiresAt is absent for
// every method (ErrNotFound) and is removed eventually.
type Sessions interface {
	// CreateSession stores s with Version 1 (whatever s.Version says);
	// ErrExists if an unexpired session has s.ID. A session created
	// already expired is not stored.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session, or ErrNotFound.
	GetSession(ctx context.Context, id string) (*Session, error)
	// TouchSession records use of the session now: LastSeen becomes now and
	// IdleExpiresAt the earlier of now + IdleTimeout and AbsoluteExpiresAt.
	// ErrNotFound if the session is absent or expired. It changes neither
	// State nor Version.
	TouchSession(ctx context.Context, id string) error
	// UpdateSessionState replaces State if the stored Version is still
	// version, and makes Version version+1; ErrConflict when another write
	// came first (reload and retry), ErrNotFound if the session is absent or
	// expired. It does not touch the session.
	UpdateSessionState(ctx context.Context, id string, version int64, state json.RawMessage) error
	// DeleteSession removes the session; ErrNotFound if it is absent or
	// expired.
	DeleteSession(ctx context.Context, id string) error
}
