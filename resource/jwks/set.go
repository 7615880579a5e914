package jwks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontmcp-go/frontmcp/token"
)

// Defaults of [Options].
const (
	// DefaultMinRefresh is the default minimum interval between successful
	// fetches, also when a token names an unknown key id.
	DefaultMinRefresh = time.Minute
	// DefaultMaxAge is the default longest time a fetched key set is used
	// before it is fetched again.
	DefaultMaxAge = time.Hour
	// DefaultStale is the default time a key set past its lifetime is still
	// used while the provider cannot be reached.
	DefaultStale = 24 * time.Hour
	// DefaultTimeout bounds each HTTP exchange by default.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBytes is the default cap on a metadata or key set body.
	DefaultMaxBytes = 512 << 10
	// DefaultRetryMin is the default first delay after a failed fetch.
	DefaultRetryMin = time.Second
	// DefaultRetryMax is the default longest delay between failed fetches.
	DefaultRetryMax = 5 * time.Minute
)

// maxRedirects bounds the same-host redirects a fetch follows.
const maxRedirects = 3

// Errors. Returned errors wrap one of these; test with errors.Is.
var (
	// ErrUnavailable: no usable keys. None could be fetched yet, or the
	// last good keys are older than their lifetime plus the stale limit,
	// and fetching failed or is backing off. Verification must fail closed.
	ErrUnavailable = errors.New("jwks: no usable keys")
	// ErrFetch: a metadata document or key set could not be fetched or used.
	ErrFetch = errors.New("jwks: fetch failed")
	// ErrDiscovery: no metadata document named the issuer and a jwks_uri.
	ErrDiscovery = errors.New("jwks: discovery failed")
	// ErrNoKeys: a key set held no usable signature verification key.
	ErrNoKeys = errors.New("jwks: no usable keys in key set")
)

// Options configure a [Set]. A field left zero takes the default named in
// its comment.
type Options struct {
	// Issuer is the provider's issuer URL. When JWKSURI is empty, the key
	// set's URL is discovered from the provider's metadata, which must name
	// this exact issuer. One of Issuer and JWKSURI is required.
	Issuer string
	// JWKSURI is the key set's URL; it skips discovery.
	JWKSURI string
	// MinRefresh is the minimum time between successful fetches: the rate
	// limit of refetches for unknown key ids, and the shortest lifetime of a
	// fetched set. Default [DefaultMinRefresh].
	MinRefresh time.Duration
	// MaxAge is the longest a fetched set is used before it is fetched
	// again, whatever its Cache-Control says. A response without max-age
	// lives this long. Default [DefaultMaxAge].
	MaxAge time.Duration
	// Stale is how long a set past its lifetime is still used while
	// fetching fails; after that, verification fails closed. Zero means
	// [DefaultStale]; a negative value means no stale use at all.
	Stale time.Duration
	// Timeout bounds each HTTP exchange. Default [DefaultTimeout].
	Timeout time.Duration
	// MaxBytes caps the size of a metadata document or key set. Default
	// [DefaultMaxBytes].
	MaxBytes int64
	// RetryMin and RetryMax bound the delay after a failed fetch, which
	// doubles with each consecutive failure (with jitter: each delay is
	// between half and all of the nominal one). Defaults [DefaultRetryMin]
	// and [DefaultRetryMax].
	RetryMin, RetryMax time.Duration
	// RequireHTTPS refuses http URLs: the issuer, the configured or
	// discovered jwks_uri, and redirects. Production sets it.
	RequireHTTPS bool
	// Transport makes the HTTP requests. Nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Clock returns the current time. Nil means time.Now.
	Clock func() time.Time
	// Logger receives one line per fetch (a warning when it fails) and per
	// key left out. Nil discards.
	Logger *slog.Logger
}

// Set is the cached key set of one identity provider. Its methods are safe
// for concurrent use.
//
// [Set.Keys] is the hot path: one atomic load and a time comparison while
// the cached set is within its lifetime. When the lifetime has passed, the
// first request to notice fetches the set again (bounded by Timeout) while
// concurrent requests keep using the cached keys; when no usable keys are
// cached, requests wait for the one fetch in flight.
type Set struct {
	issuer       string
	configured   string // Options.JWKSURI
	minRefresh   time.Duration
	maxAge       time.Duration
	stale        time.Duration
	timeout      time.Duration
	maxBytes     int64
	retryMin     time.Duration
	retryMax     time.Duration
	requireHTTPS bool
	client       *http.Client
	now          func() time.Time
	log          *slog.Logger

	cur atomic.Pointer[keys]

	mu        sync.Mutex
	flight    *flight   // the fetch in progress, if any
	nextFetch time.Time // no fetch starts before this (rate limit, backoff)
	failures  int       // consecutive failed fetches
	lastErr   error     // the last fetch error, for ErrUnavailable
	jwksURI   string    // discovered or configured; only the flight touches it

	stats counters
}

// keys is one fetched key set and its lifetime.
type keys struct {
	v       *token.Verifier
	expires time.Time // fetch again from here on
	usable  time.Time // fail closed from here on (expires + stale)
}

// flight is one fetch; done is closed when it has ended.
type flight struct {
	done chan struct{}
	err  error
}

// New checks opts and returns a Set. It does not fetch: the first call to
// [Set.Keys] does.
func New(opts *Options) (*Set, error) {
	if opts == nil {
		return nil, errors.New("jwks: nil Options")
	}
	s := &Set{
		issuer:       opts.Issuer,
		configured:   opts.JWKSURI,
		minRefresh:   orDefault(opts.MinRefresh, DefaultMinRefresh),
		maxAge:       orDefault(opts.MaxAge, DefaultMaxAge),
		stale:        orDefault(opts.Stale, DefaultStale),
		timeout:      orDefault(opts.Timeout, DefaultTimeout),
		maxBytes:     opts.MaxBytes,
		retryMin:     orDefault(opts.RetryMin, DefaultRetryMin),
		retryMax:     orDefault(opts.RetryMax, DefaultRetryMax),
		requireHTTPS: opts.RequireHTTPS,
		now:          opts.Clock,
		log:          opts.Logger,
		jwksURI:      opts.JWKSURI,
	}
	switch {
	case opts.Issuer == "" && opts.JWKSURI == "":
		return nil, errors.New("jwks: Options.Issuer or Options.JWKSURI is required")
	case opts.MinRefresh < 0 || opts.MaxAge < 0 || opts.Timeout < 0 || opts.MaxBytes < 0 || opts.RetryMin < 0 || opts.RetryMax < 0:
		return nil, errors.New("jwks: negative duration or size in Options")
	case s.minRefresh > s.maxAge:
		return nil, fmt.Errorf("jwks: Options.MinRefresh %v exceeds MaxAge %v", s.minRefresh, s.maxAge)
	case s.retryMin > s.retryMax:
		return nil, fmt.Errorf("jwks: Options.RetryMin %v exceeds RetryMax %v", s.retryMin, s.retryMax)
	}
	if opts.Stale < 0 {
		s.stale = 0
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxBytes
	}
	if opts.Issuer != "" {
		if err := s.checkURL(opts.Issuer); err != nil {
			return nil, fmt.Errorf("jwks: Options.Issuer: %w", err)
		}
	}
	if opts.JWKSURI != "" {
		if err := s.checkURL(opts.JWKSURI); err != nil {
			return nil, fmt.Errorf("jwks: Options.JWKSURI: %w", err)
		}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	transport := opts.Transport
	if transport == nil {
		transport = http.DefaultTransport
	}
	s.client = &http.Client{Transport: transport, CheckRedirect: s.checkRedirect}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// checkURL accepts an absolute http(s) URL without user information or
// fragment, and only https when RequireHTTPS is set.
func (s *Set) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute http(s) URL without user information or fragment", raw)
	}
	if s.requireHTTPS && u.Scheme != "https" {
		return fmt.Errorf("%q: https is required", raw)
	}
	return nil
}

// checkRedirect follows at most maxRedirects redirects, to the same host
// only, never from https to http, and only to https when RequireHTTPS.
func (s *Set) checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) > maxRedirects:
		return fmt.Errorf("more than %d redirects", maxRedirects)
	case req.URL.Host != first.Host:
		return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
	case first.Scheme == "https" && req.URL.Scheme != "https":
		return errors.New("redirect from https to http refused")
	case s.requireHTTPS && req.URL.Scheme != "https":
		return errors.New("redirect to http refused: https is required")
	}
	return nil
}

// Keys returns the keys to verify tokens with. While the cached set is
// within its lifetime this costs an atomic load. Otherwise it fetches the set
// again (or waits for the fetch in flight when no usable keys are cached);
// when that fails it returns the cached keys while they are within the stale
// limit, and an error wrapping [ErrUnavailable] after it.
func (s *Set) Keys(ctx context.Context) (*token.Verifier, error) {
	if k := s.cur.Load(); k != nil && s.now().Before(k.expires) {
		return k.v, nil
	}
	return s.get(ctx, nil, false)
}

// Refresh is called after a token named a key id that seen (keys from
// [Set.Keys] or Refresh) lacks. It returns newer keys when another caller has
// fetched them since; otherwise it fetches the set again, unless the rate
// limit (MinRefresh after a successful fetch, backoff after a failed one)
// forbids it, in which case it returns seen. Concurrent callers share one
// fetch. The error wraps [ErrUnavailable] when no usable keys remain.
func (s *Set) Refresh(ctx context.Context, seen *token.Verifier) (*token.Verifier, error) {
	return s.get(ctx, seen, true)
}

// get is the slow path of Keys (refresh false) and Refresh (refresh true).
func (s *Set) get(ctx context.Context, seen *token.Verifier, refresh bool) (*token.Verifier, error) {
	now := s.now()
	s.mu.Lock()
	k := s.cur.Load()
	if refresh && k != nil && k.v != seen && now.Before(k.usable) {
		s.mu.Unlock()
		return k.v, nil // fetched since the caller looked
	}
	usable := k != nil && now.Before(k.usable)
	if !refresh && k != nil && now.Before(k.expires) {
		s.mu.Unlock()
		return k.v, nil // another caller fetched while this one waited for mu
	}
	f := s.flight
	switch {
	case f == nil && now.Before(s.nextFetch):
		// Rate limit or backoff: no fetch now.
		lastErr := s.lastErr
		s.mu.Unlock()
		if refresh {
			s.count(cRateLimited)
		}
		if usable {
			if !now.Before(k.expires) {
				s.count(cStaleServed)
			}
			return k.v, nil
		}
		return nil, s.unavailable(lastErr)
	case f == nil:
		f = &flight{done: make(chan struct{})}
		s.flight = f
		s.mu.Unlock()
		if refresh {
			s.count(cUnknownKeyFetches)
		}
		s.run(ctx, f)
	default:
		s.mu.Unlock()
		if usable && !refresh {
			// Refresh due and already in flight: keep using the
			// cached keys rather than queue behind it.
			return k.v, nil
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if k := s.cur.Load(); k != nil && s.now().Before(k.usable) {
		if f.err != nil {
			s.count(cStaleServed)
		}
		return k.v, nil
	}
	return nil, s.unavailable(f.err)
}

func (s *Set) unavailable(cause error) error {
	s.count(cUnavailable)
	if cause == nil {
		return ErrUnavailable
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, cause)
}

// run performs the fetch of flight f and records its outcome. The fetch is
// detached from the cancellation of the request that started it, since other
// requests may be waiting for it; Timeout bounds it.
func (s *Set) run(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	v, ttl, err := s.fetch(ctx)
	now := s.now()
	s.mu.Lock()
	if err != nil {
		s.failures++
		delay := s.backoff(s.failures)
		s.nextFetch = now.Add(delay)
		s.lastErr = err
		s.count(cFailures)
		k := s.cur.Load()
		stale := k != nil && now.Before(k.usable)
		attrs := []slog.Attr{
			slog.String("issuer", s.issuer), slog.String("jwks_uri", s.jwksURI),
			slog.String("err", err.Error()), slog.Int("consecutive_failures", s.failures),
			slog.Duration("retry_in", delay), slog.Bool("using_cached_keys", stale),
		}
		if stale {
			attrs = append(attrs, slog.Time("cached_keys_usable_until", k.usable))
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "jwks fetch failed", attrs...)
	} else {
		s.failures = 0
		s.lastErr = nil
		s.nextFetch = now.Add(s.minRefresh)
		s.cur.Store(&keys{v: v, expires: now.Add(ttl), usable: now.Add(ttl + s.stale)})
		s.count(cFetches)
		s.log.LogAttrs(ctx, slog.LevelInfo, "jwks fetched",
			slog.String("issuer", s.issuer), slog.String("jwks_uri", s.jwksURI), slog.Duration("ttl", ttl))
	}
	f.err = err
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// backoff returns the delay after the n-th consecutive failure: RetryMin
// doubled n-1 times, capped at RetryMax, then jittered into [d/2, d] so
// that many instances do not retry in step.
func (s *Set) backoff(n int) time.Duration {
	d := s.retryMin
	for i := 1; i < n && d < s.retryMax; i++ {
		d *= 2
	}
	d = min(d, s.retryMax)
	half := d / 2
	return half + rand.N(d-half+1)
}

// Stats returns the counters of s.
func (s *Set) Stats() Stats { return s.stats.snapshot() }

// Issuer returns Options.Issuer.
func (s *Set) Issuer() string { return s.issuer }
