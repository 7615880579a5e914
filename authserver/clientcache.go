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
// read per request on top of the grant's (one round trip less with Redis).
//
// Only the refresh_token grant uses it, and only to accept: a request that
// the cached client would refuse is authenticated again against the store,
// and so is the client of a refresh that fails, so that its answer is the
// one a fresh read gives (invalid_client for a client deleted meanwhile).
// Staleness cannot extend what a deleted client can do: deleting a client
// (RFC 7592 §2.3 on this server, which also drops it from this cache, or
// `frontmcp clients remove` anywhere) revokes all its grants, and every
// refresh reads its grant from the store, so the refresh fails all the same;
// only between the deletion and the revocation of its grants (or when that
// revocation fails) can a refresh succeed, for at most clientCacheTTL.
// Authorization codes, revocation and introspection always read the client
// from the store. It is safe for concurrent use.
type clientCache struct {
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]clientCacheEntry
}

type clientCacheEntry struct {
	client *store.Client // shared: read-only
	until  time.Time
}

func newClientCache(now func() time.Time) *clientCache {
	return &clientCache{now: now, entries: make(map[string]clientCacheEntry)}
}

// get returns the cached client id, or nil.
func (cc *clientCache) get(id string) *store.Client {
	cc.mu.RLock()
	e, ok := cc.entries[id]
	cc.mu.RUnlock()
	if !ok || !cc.now().Before(e.until) {
		return nil
	}
	return e.client
}

// put caches c. When the cache is full, expired entries are dropped, and if
// none was, an arbitrary one.
func (cc *clientCache) put(c *store.Client) {
	now := cc.now()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if _, present := cc.entries[c.ID]; !present && len(cc.entries) >= clientCacheMax {
		for id, e := range cc.entries {
			if !now.Before(e.until) {
				delete(cc.entries, id)
			}
		}
		if len(cc.entries) >= clientCacheMax {
			for id := range cc.entries {
				delete(cc.entries, id)
				break
			}
		}
	}
	cc.entries[c.ID] = clientCacheEntry{client: c, until: now.Add(clientCacheTTL)}
}

// forget drops id from the cache.
func (cc *clientCache) forget(id string) {
	cc.mu.Lock()
	delete(cc.entries, id)
	cc.mu.Unlock()
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
	if c := s.clientCache.get(creds.ID); c != nil && credentialsMatch(c, creds) && clientAllowsGrant(c, grantTypeRefreshToken) {
		return c, true, nil
	}
	if c, e = s.authenticateClient(ctx, creds); e == nil {
		s.clientCache.put(c)
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
	s.clientCache.put(c)
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
