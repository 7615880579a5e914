package authserver

import (
	"context"
	"sync"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// Bounds of the registered-client cache of refresh_token requests.
const (
	// clientCacheTTL is the longest a client read from the store is reused
	// for refresh_token requests.
	clientCacheTTL = 5 * time.Second
	// clientCacheMax bounds the number of cached clients.
	clientCacheMax = 4096
)

// clientCache keeps registered clients read from the store for a few
// seconds, so that a client refreshing its tokens does not cost a store
// read per request (one round trip less with Redis).
//
// Only the refresh_token grant uses it, and only to accept: a request that
// the cached client would refuse is authenticated again against the store,
// and so is the client of a refresh that fails, so that its answer is the
// one a fresh read gives (invalid_client for a client deleted meanwhile).
// Staleness cannot extend what a deleted client can do: deleting a client
// (RFC 7592 §2.3 on this server, which also drops it from this cache, or
// `frontmcp clients remove` anywhere) revokes all its grants, and every
// refresh rotates its token in the store, which refuses a revoked grant, so
// the refresh fails all the same; only between the deletion and the
// revocation of its grants (or when that revocation fails) can a refresh
// succeed, for at most clientCacheTTL. Authorization codes, revocation and
// introspection always read the client from the store. It is safe for
// concurrent use.
type clientCache = boundedCache[*store.Client]

func newClientCache(now func() time.Time) *clientCache {
	return newBoundedCache[*store.Client](now, clientCacheMax)
}

// boundedCache maps IDs to read-only values, each until its own deadline,
// holding at most max of them. It is safe for concurrent use.
type boundedCache[V any] struct {
	now func() time.Time
	max int

	mu      sync.RWMutex
	entries map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v     V // shared: read-only
	until time.Time
}

func newBoundedCache[V any](now func() time.Time, max int) *boundedCache[V] {
	return &boundedCache[V]{now: now, max: max, entries: make(map[string]cacheEntry[V])}
}

// get returns the value cached under id, or the zero value and false.
func (bc *boundedCache[V]) get(id string) (V, bool) {
	bc.mu.RLock()
	e, ok := bc.entries[id]
	bc.mu.RUnlock()
	if !ok || !bc.now().Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// evictionSample is how many entries a put into a full cache looks at.
const evictionSample = 8

// put caches v under id until until. When the cache is full it looks at a
// few entries (Go's map iteration starts at a random place, so they are a
// random sample) and drops the expired ones among them, or, if none is, the
// first one: constant work per put however large the cache.
func (bc *boundedCache[V]) put(id string, v V, until time.Time) {
	now := bc.now()
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if _, present := bc.entries[id]; !present && len(bc.entries) >= bc.max {
		var first string
		seen, dropped := 0, false
		for k, e := range bc.entries {
			if seen == 0 {
				first = k
			}
			if !now.Before(e.until) {
				delete(bc.entries, k)
				dropped = true
			}
			if seen++; seen == evictionSample {
				break
			}
		}
		if !dropped {
			delete(bc.entries, first)
		}
	}
	bc.entries[id] = cacheEntry[V]{v: v, until: until}
}

// forget drops id from the cache.
func (bc *boundedCache[V]) forget(id string) {
	bc.mu.Lock()
	delete(bc.entries, id)
	bc.mu.Unlock()
}

// putClient caches c for clientCacheTTL.
func (s *Server) putClient(c *store.Client) {
	s.clientCache.put(c.ID, c, s.opts.Clock().Add(clientCacheTTL))
}

// authenticateRefreshClient is authenticateClient for a refresh_token
// request: a registered client read from the store less than
// clientCacheTTL ago is reused when it accepts the credentials (see
// clientCache), and cached reports that. Anything else, refusals included,
// goes through authenticateClient, so the answer and its logs are those of
// a fresh read.
func (s *Server) authenticateRefreshClient(ctx context.Context, creds grant.ClientCredentials) (c *store.Client, cached bool, e *grant.Error) {
	_, preRegistered := s.clients[creds.ID]
	if preRegistered || creds.ID == "" || s.isMetadataClient(creds.ID) {
		c, e = s.authenticateClient(ctx, creds)
		return c, false, e
	}
	if c, ok := s.clientCache.get(creds.ID); ok && credentialsMatch(c, creds) && clientAllowsGrant(c, grantTypeRefreshToken) {
		return c, true, nil
	}
	if c, e = s.authenticateClient(ctx, creds); e == nil {
		s.putClient(c)
	}
	return c, false, e
}

// refusedRefresh is the answer to a refresh_token request that failed with
// e after its client was taken from the cache: the client is read from the
// store again, and an authentication failure there (a client deleted
// meanwhile) is the answer, as it would have been without the cache.
func (s *Server) refusedRefresh(ctx context.Context, creds grant.ClientCredentials, e *grant.Error) *grant.Error {
	s.clientCache.forget(creds.ID)
	c, ae := s.authenticateClient(ctx, creds)
	if ae != nil {
		return ae
	}
	s.putClient(c)
	return e
}

// credentialsMatch reports whether authenticateClient accepts creds for c,
// without logging.
func credentialsMatch(c *store.Client, creds grant.ClientCredentials) bool {
	want := clientAuthMethod(c)
	if isPublicClient(c) {
		return want == grant.AuthNone && creds.Method == grant.AuthNone
	}
	ok := token.CheckSecret(creds.Secret, c.SecretHash)
	return ok && creds.Method == want
}
