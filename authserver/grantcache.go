package authserver

import (
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// grantCacheMax bounds the number of grants whose facts a server keeps
// (some 200 bytes each).
const grantCacheMax = 16384

// grantFacts are the parts of a grant that never change once it is created:
// all that a refresh_token request checks before it asks the store to rotate
// the token (the client it was issued to, the scope it may narrow, the
// resource it may name, the absolute end of the grant).
//
// The server keeps them from the grant's creation, or from the first read of
// the grant, until the grant ends, so a refresh costs one store operation
// (the rotation) instead of two: one Redis round trip, one file-store
// transaction. What does change — revocation, the current refresh hash, the
// refresh token's own expiry — is decided by the rotation itself, atomically
// in the store, so a stale cache cannot accept what the store would refuse: a
// grant revoked on another instance is refused by the rotation
// (store.Grants.RotateRefresh returns ErrNotFound, or ErrReused for a rotated
// token), and the entry is dropped then.
type grantFacts struct {
	ClientID  string
	Scopes    []string
	Resource  string
	ExpiresAt time.Time
}

type grantCache = boundedCache[*grantFacts]

func newGrantCache(now func() time.Time) *grantCache {
	return newBoundedCache[*grantFacts](now, grantCacheMax)
}

// rememberGrant keeps the facts of g until g ends, and returns them.
func (s *Server) rememberGrant(g *store.Grant) *grantFacts {
	f := &grantFacts{ClientID: g.ClientID, Scopes: g.Scopes, Resource: g.Resource, ExpiresAt: g.ExpiresAt}
	s.grantCache.put(g.ID, f, g.ExpiresAt)
	return f
}
