package resource

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Verified is the outcome of verifying a token, in the form a
// [CachedVerifier] may reuse for later requests carrying the same token.
type Verified struct {
	// Principal is who the token stands for. A cached principal is shared
	// by every request with the same token: treat it as read-only.
	Principal *Principal
	// Recheck, when not nil, runs on every use of the outcome, the first
	// included: the checks whose answer can change while the token stays
	// the same, such as whether its grant is still active (revocation) or
	// its signing key still published. An error wrapping [ErrInvalidToken]
	// refuses the request; any other error fails it with 503.
	Recheck func(ctx context.Context) error
}

// CacheableVerifier is a [Verifier] whose work splits into a part that
// depends only on the token and the time (signature, claims), which a
// [CachedVerifier] keeps, and per-request checks ([Verified.Recheck]), which
// it runs every time. [LocalVerifier] and [TransparentVerifier] implement it.
type CacheableVerifier interface {
	Verifier
	VerifyCacheable(ctx context.Context, raw string) (*Verified, error)
}

// VerifyCacheable is Verify without the per-request checks, which become
// the Recheck of the outcome: the revocation check (when
// LocalVerifierOptions.Revocations is set), so that a [CachedVerifier] in
// front of a LocalVerifier still refuses a token as soon as it or its grant
// is revoked; and a check that the key that signed the token is still among
// the authorization server's keys. Both are in-memory lookups.
func (v *LocalVerifier) VerifyCacheable(ctx context.Context, raw string) (*Verified, error) {
	signedBy := v.keys.Verifier()
	p, jti, err := v.verifyClaims(raw, signedBy)
	if err != nil {
		return nil, err
	}
	kid := headerKeyID(raw)
	return &Verified{
		Principal: p,
		Recheck: func(ctx context.Context) error {
			if cur := v.keys.Verifier(); cur != signedBy && !signedBy.SameKey(cur, kid) {
				return invalidToken("the key that signed the access token is no longer published", nil)
			}
			if v.revs == nil {
				return nil
			}
			return v.revs.check(p.GrantID, jti)
		},
	}, nil
}

// headerKeyID returns the "kid" of a verified compact JWS's protected header.
func headerKeyID(raw string) string {
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return ""
	}
	var h struct {
		KeyID string `json:"kid"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.KeyID
}

// Defaults of [CacheOptions].
const (
	// DefaultCacheEntries bounds the number of cached tokens by default.
	DefaultCacheEntries = 10000
	// DefaultCacheTTL is the longest a verified token is reused by default.
	DefaultCacheTTL = 5 * time.Minute
)

// cacheShards is the number of independently locked parts of the cache
// (a power of two), so that concurrent requests rarely contend.
const cacheShards = 32

// evictSample is how many entries an insertion into a full shard looks at
// to find expired ones before evicting one at random.
const evictSample = 8

// CacheOptions configure a [CachedVerifier]. The zero value (or nil) means
// the defaults.
type CacheOptions struct {
	// MaxEntries bounds the number of cached tokens; when a part of the
	// cache is full, an expired entry or else a random one is evicted.
	// Default [DefaultCacheEntries].
	MaxEntries int
	// TTL is the longest a verified token is reused before it is verified
	// again, however late its exp. Default [DefaultCacheTTL].
	TTL time.Duration
	// Clock returns the current time; nil means time.Now. Give it the clock
	// of the inner verifier.
	Clock func() time.Time
}

// CachedVerifier puts a bounded cache of verified tokens in front of another
// [Verifier], so that a client sending the same access token with every
// request pays for one signature check, not one per request.
//
// Entries are keyed by the SHA-256 of the token (the token itself is not
// kept) and hold the principal until the token's exp or TTL, whichever is
// sooner; expiry is checked on every hit, so a cached token is never accepted
// past exp. Refused tokens are not cached. When the inner verifier is a
// [CacheableVerifier], its per-request checks (Recheck) run on every hit, so
// revoking a grant or withdrawing a signing key takes effect at once; any
// other Verifier is cached whole, which is only correct for verifiers whose
// answer depends on nothing but the token and the time. It is safe for
// concurrent use.
type CachedVerifier struct {
	inner     Verifier
	cacheable CacheableVerifier // inner, when it is one
	ttl       time.Duration
	perShard  int
	now       func() time.Time
	shards    [cacheShards]cacheShard

	hits, misses, evictions atomic.Uint64
}

type cacheShard struct {
	mu      sync.RWMutex
	entries map[[sha256.Size]byte]*cacheEntry
}

type cacheEntry struct {
	verified *Verified
	expires  time.Time
}

// NewCachedVerifier returns inner behind a cache configured by opts.
func NewCachedVerifier(inner Verifier, opts *CacheOptions) (*CachedVerifier, error) {
	if inner == nil {
		return nil, errors.New("resource: NewCachedVerifier: nil inner Verifier")
	}
	var o CacheOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxEntries < 0 || o.TTL < 0 {
		return nil, errors.New("resource: CacheOptions has a negative MaxEntries or TTL")
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultCacheEntries
	}
	if o.TTL == 0 {
		o.TTL = DefaultCacheTTL
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	c := &CachedVerifier{
		inner:    inner,
		ttl:      o.TTL,
		perShard: max(1, (o.MaxEntries+cacheShards-1)/cacheShards),
		now:      o.Clock,
	}
	c.cacheable, _ = inner.(CacheableVerifier)
	for i := range c.shards {
		c.shards[i].entries = make(map[[sha256.Size]byte]*cacheEntry)
	}
	return c, nil
}

// Verify returns the principal of raw from the cache, after running its
// Recheck, or verifies raw with the inner verifier and caches the outcome.
func (c *CachedVerifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	// Hash the token's bytes in place: converting it to a []byte would
	// copy it on every request. Sum256 only reads its input.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
	sh := &c.shards[key[0]&(cacheShards-1)]
	now := c.now()

	sh.mu.RLock()
	e := sh.entries[key]
	sh.mu.RUnlock()
	if e != nil {
		if now.Before(e.expires) {
			c.hits.Add(1)
			return c.use(ctx, e.verified)
		}
		sh.mu.Lock()
		if sh.entries[key] == e {
			delete(sh.entries, key)
		}
		sh.mu.Unlock()
	}
	c.misses.Add(1)

	var vd *Verified
	if c.cacheable != nil {
		var err error
		if vd, err = c.cacheable.VerifyCacheable(ctx, raw); err != nil {
			return nil, err
		}
	} else {
		p, err := c.inner.Verify(ctx, raw)
		if err != nil {
			return nil, err
		}
		vd = &Verified{Principal: p}
	}
	if vd == nil || vd.Principal == nil {
		return nil, invalidToken("the access token is invalid", nil)
	}
	p, err := c.use(ctx, vd)
	if err != nil {
		return nil, err
	}
	expires := now.Add(c.ttl)
	if exp := vd.Principal.ExpiresAt; !exp.IsZero() && exp.Before(expires) {
		expires = exp
	}
	if now.Before(expires) {
		c.insert(sh, key, &cacheEntry{verified: vd, expires: expires}, now)
	}
	return p, nil
}

// use runs the per-request checks of vd.
func (c *CachedVerifier) use(ctx context.Context, vd *Verified) (*Principal, error) {
	if vd.Recheck != nil {
		if err := vd.Recheck(ctx); err != nil {
			return nil, err
		}
	}
	return vd.Principal, nil
}

// insert adds e to sh, first making room when sh is full: expired entries
// among a sample are dropped, and if none was, one sampled entry is evicted.
// Go's randomised map iteration makes the sample random.
func (c *CachedVerifier) insert(sh *cacheShard, key [sha256.Size]byte, e *cacheEntry, now time.Time) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, present := sh.entries[key]; !present && len(sh.entries) >= c.perShard {
		n, freed := 0, false
		var victim [sha256.Size]byte
		for k, old := range sh.entries {
			if !now.Before(old.expires) {
				delete(sh.entries, k)
				freed = true
			} else if n == 0 {
				victim = k
			}
			if n++; n >= evictSample {
				break
			}
		}
		if !freed {
			delete(sh.entries, victim)
		}
		c.evictions.Add(1)
	}
	sh.entries[key] = e
}

// CacheStats are the counters of a [CachedVerifier].
type CacheStats struct {
	// Hits counts requests answered from the cache (Recheck still ran).
	Hits uint64
	// Misses counts requests verified by the inner verifier.
	Misses uint64
	// Evictions counts insertions into a full part of the cache.
	Evictions uint64
	// Entries is the number of tokens cached now (expired ones included
	// until they are dropped).
	Entries int
}

// Stats returns the cache's counters.
func (c *CachedVerifier) Stats() CacheStats {
	s := CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load()}
	for i := range c.shards {
		c.shards[i].mu.RLock()
		s.Entries += len(c.shards[i].entries)
		c.shards[i].mu.RUnlock()
	}
	return s
}
