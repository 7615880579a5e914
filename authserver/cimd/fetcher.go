package cimd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/frontmcp-go/frontmcp/internal/httpcache"
	"github.com/frontmcp-go/frontmcp/store"
	"golang.org/x/net/publicsuffix"
)

// Defaults of Options.
const (
	// DefaultTimeout bounds one fetch: connection, TLS handshake, response.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxBytes is the largest document read: 5 KiB, the limit the
	// draft suggests for client metadata documents.
	DefaultMaxBytes = 5 << 10
	// DefaultCacheMin and DefaultCacheMax bound how long a document is
	// cached, whatever its caching headers say.
	DefaultCacheMin = time.Minute
	DefaultCacheMax = 24 * time.Hour
	// DefaultErrorTTL is how long a definite failure is remembered, and how
	// long a stale document is reused after a temporary failure.
	DefaultErrorTTL = 10 * time.Second
	// DefaultMaxEntries bounds the cache.
	DefaultMaxEntries = 1000
	// DefaultMaxConcurrent bounds the fetches in progress at once.
	DefaultMaxConcurrent = 16
	// DefaultMaxPerHost bounds the fetches in progress at once to one host.
	DefaultMaxPerHost = 2
	// DefaultMaxPerSite bounds the fetches in progress at once to one site
	// (registrable domain): half of DefaultMaxConcurrent.
	DefaultMaxPerSite = 8
	// DefaultSlotWait bounds the wait for a fetch slot.
	DefaultSlotWait = time.Second
)

// userAgent is sent with every fetch, so that client operators can tell
// these requests in their logs.
const userAgent = "frontmcp-cimd/1 (client metadata document fetcher)"

// Options configure a Fetcher. The zero value is valid: every host allowed,
// https only, public addresses only, and the defaults above.
type Options struct {
	// AllowedDomains restricts the hosts of client identifier URLs:
	// "example.com" allows that host, "*.example.com" every subdomain of
	// example.com (not example.com itself). Names compare case-insensitively.
	// Empty allows every host. A refused host is never fetched.
	AllowedDomains []string
	// AllowLoopbackHTTP accepts http client identifiers on localhost,
	// 127.0.0.1 and [::1], and lets the fetcher connect to loopback
	// addresses, for clients under development on the same machine. Never
	// in production.
	AllowLoopbackHTTP bool
	// AllowAddr, when set, admits addresses that the public-address rule
	// refuses. It exists for tests that serve documents on loopback; a
	// server leaves it nil.
	AllowAddr func(netip.Addr) bool
	// TLSConfig configures https connections; nil means the system roots.
	// It is cloned.
	TLSConfig *tls.Config
	// Timeout bounds each fetch, from the moment it has a slot. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxBytes is the largest document accepted. Zero means DefaultMaxBytes.
	MaxBytes int64
	// CacheMin and CacheMax bound how long a fetched document is used (see
	// Resolve); CacheMax also bounds the age of a stale copy used when a
	// re-fetch fails temporarily. Zero means DefaultCacheMin and
	// DefaultCacheMax.
	CacheMin, CacheMax time.Duration
	// ErrorTTL is how long a definite failure (a document error, or a fetch
	// error that is not ErrUnavailable) is remembered, so that a broken or
	// hostile URL is not fetched on every request; temporary failures are
	// not remembered. It is also how long a stale copy is reused after a
	// temporary failure before the next attempt. Zero means DefaultErrorTTL;
	// negative means not at all.
	ErrorTTL time.Duration
	// MaxEntries bounds the number of cached results; when full, expired
	// entries and then the ones closest to expiry are dropped. Zero means
	// DefaultMaxEntries.
	MaxEntries int
	// MaxConcurrent bounds the fetches in progress at once. Zero means
	// DefaultMaxConcurrent.
	MaxConcurrent int
	// MaxPerHost bounds the fetches in progress at once to one host, so
	// that a slow host named in many client_ids cannot take every slot.
	// Zero means DefaultMaxPerHost.
	MaxPerHost int
	// MaxPerSite bounds the fetches in progress at once to one site, so
	// that many slow hosts of one owner cannot take every slot either. A
	// site is a registrable domain by the Public Suffix List (all of
	// example.com's subdomains are one site; two github.io users are two),
	// an IPv4 address, or an IPv6 /64. Zero means DefaultMaxPerSite.
	MaxPerSite int
	// SlotWait bounds how long a fetch waits for a slot (of its host and of
	// MaxConcurrent) before failing with ErrUnavailable; Timeout starts
	// once it has one. Zero means DefaultSlotWait.
	SlotWait time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives one line per fetch; nil discards them.
	Logger *slog.Logger
}

// Fetcher resolves client identifier URLs to clients. It is safe for
// concurrent use.
type Fetcher struct {
	opts   Options
	client *http.Client
	log    *slog.Logger
	slots  chan struct{}

	mu      sync.Mutex
	cache   map[string]*entry
	flights map[string]*flight
	hosts   map[string]*hostSlots
}

// entry is a cached resolution: a client or an error, used until expires. A
// client's entry is kept after that until stale, the end of the time its
// copy may stand in for a document that cannot be fetched for the moment.
type entry struct {
	client  *store.Client
	err     error
	expires time.Time
	stale   time.Time
}

// keepUntil is when the entry is of no more use.
func (e *entry) keepUntil() time.Time {
	if e.client != nil && e.stale.After(e.expires) {
		return e.stale
	}
	return e.expires
}

// hostSlots limits the fetches to one host or one site; refs counts the
// fetches that hold or wait for one of its slots, and it is dropped at zero.
// Guarded by Fetcher.mu.
type hostSlots struct {
	ch   chan struct{}
	refs int
}

// flight is a fetch in progress; done is closed when res is set.
type flight struct {
	done chan struct{}
	res  entry
}

// New returns a Fetcher. It checks Options: bounds must be non-negative, and
// CacheMin must not exceed CacheMax.
func New(opts *Options) (*Fetcher, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout < 0 || o.MaxBytes < 0 || o.CacheMin < 0 || o.CacheMax < 0 || o.MaxEntries < 0 || o.MaxConcurrent < 0 ||
		o.MaxPerHost < 0 || o.MaxPerSite < 0 || o.SlotWait < 0 {
		return nil, errors.New("cimd: negative limit in Options")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.CacheMin == 0 {
		o.CacheMin = DefaultCacheMin
	}
	if o.CacheMax == 0 {
		o.CacheMax = DefaultCacheMax
	}
	if o.CacheMin > o.CacheMax {
		return nil, fmt.Errorf("cimd: CacheMin %v exceeds CacheMax %v", o.CacheMin, o.CacheMax)
	}
	if o.ErrorTTL == 0 {
		o.ErrorTTL = DefaultErrorTTL
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.MaxPerHost == 0 {
		o.MaxPerHost = DefaultMaxPerHost
	}
	if o.MaxPerSite == 0 {
		o.MaxPerSite = DefaultMaxPerSite
	}
	if o.SlotWait == 0 {
		o.SlotWait = DefaultSlotWait
	}
	for _, d := range o.AllowedDomains {
		if !ValidDomainPattern(d) {
			return nil, fmt.Errorf("cimd: AllowedDomains entry %q is not a host name (optionally *.-prefixed) or IP address", d)
		}
	}
	o.AllowedDomains = slices.Clone(o.AllowedDomains)
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Fetcher{
		opts:    o,
		log:     o.Logger,
		slots:   make(chan struct{}, o.MaxConcurrent),
		cache:   make(map[string]*entry),
		flights: make(map[string]*flight),
		hosts:   make(map[string]*hostSlots),
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.TLSConfig != nil {
		tlsConf = o.TLSConfig.Clone()
		if tlsConf.MinVersion < tls.VersionTLS12 {
			tlsConf.MinVersion = tls.VersionTLS12
		}
	}
	dialer := &net.Dialer{Timeout: o.Timeout, Control: f.control}
	f.client = &http.Client{
		Transport: &http.Transport{
			// No proxy: a proxy would connect on our behalf to an address
			// the dialer never sees.
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			TLSClientConfig:        tlsConf,
			TLSHandshakeTimeout:    o.Timeout,
			ResponseHeaderTimeout:  o.Timeout,
			MaxResponseHeaderBytes: 16 << 10,
			MaxIdleConns:           16,
			IdleConnTimeout:        30 * time.Second,
			ForceAttemptHTTP2:      true,
		},
		// The draft forbids following redirects: the 3xx response itself is
		// returned and refused.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       o.Timeout,
	}
	return f, nil
}

// Resolve returns the public client that clientID, a client identifier URL,
// identifies: it checks the URL ([ParseClientID]) and Options.AllowedDomains,
// then returns the cached client or fetches and checks the document
// ([Parse]).
//
// A document is cached for its max-age (Cache-Control, RFC 9111 §5.2.2.1,
// less Age), else until its Expires time (§5.3), clamped to [CacheMin,
// CacheMax]; no-store, no-cache, an invalid max-age and a response without
// either header are cached for CacheMin, which bounds how often one URL is
// fetched. Definite failures are cached for ErrorTTL; temporary ones
// (ErrUnavailable) are not. When a re-fetch fails temporarily, the last
// document fetched is used instead for ErrorTTL at a time, as long as it was
// fetched less than CacheMax ago (stale-if-error, RFC 5861 §4). Concurrent
// calls for one URL share one fetch, which is not cancelled when one caller
// gives up. At most MaxPerHost fetches run at once per host, MaxPerSite per
// site (registrable domain) and MaxConcurrent in all; a fetch that finds no
// slot within SlotWait fails with ErrUnavailable.
//
// Errors are *Error (ErrClientID, ErrNotAllowed, ErrFetch, ErrDocument;
// ErrUnavailable with ErrFetch for temporary failures), or ctx's error when
// ctx ends first. The returned client is the caller's.
func (f *Fetcher) Resolve(ctx context.Context, clientID string) (*store.Client, error) {
	u, err := ParseClientID(clientID, f.opts.AllowLoopbackHTTP)
	if err != nil {
		return nil, err
	}
	if !domainAllowed(u.Hostname(), f.opts.AllowedDomains) {
		return nil, newError(ErrNotAllowed, nil, "client_id is a URL on a host this server does not accept client metadata documents from")
	}
	f.mu.Lock()
	if e, ok := f.cache[clientID]; ok {
		now := f.opts.Clock()
		if now.Before(e.expires) {
			f.mu.Unlock()
			return e.result()
		}
		if !now.Before(e.keepUntil()) {
			delete(f.cache, clientID)
		}
	}
	fl, ok := f.flights[clientID]
	if !ok {
		fl = &flight{done: make(chan struct{})}
		f.flights[clientID] = fl
		go f.run(context.WithoutCancel(ctx), clientID, u, fl)
	}
	f.mu.Unlock()
	select {
	case <-fl.done:
		return fl.res.result()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// result returns a copy of the entry's client, or its error.
func (e *entry) result() (*store.Client, error) {
	if e.err != nil {
		return nil, e.err
	}
	c := *e.client
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	c.Scopes = slices.Clone(c.Scopes)
	if c.Metadata != nil {
		m := make(store.Claims, len(c.Metadata))
		for k, v := range c.Metadata {
			m[k] = v
		}
		c.Metadata = m
	}
	return &c, nil
}

// run performs the flight's fetch, caches its result and releases waiters.
func (f *Fetcher) run(ctx context.Context, clientID string, u *url.URL, fl *flight) {
	start := f.opts.Clock()
	client, ttl, err := f.fetch(ctx, clientID, u)
	now := f.opts.Clock()
	res := entry{client: client, err: err, expires: now.Add(ttl), stale: now.Add(f.opts.CacheMax)}
	temporary := errors.Is(err, ErrUnavailable)
	if err != nil {
		res = entry{err: err, expires: now.Add(f.opts.ErrorTTL)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err == nil:
		f.log.InfoContext(ctx, "client metadata document fetched", "client_id", clientID, "client_name", client.Name, "cache_for", ttl.String(), "took", now.Sub(start).String())
		f.store(clientID, &res, now)
	case temporary:
		old, ok := f.cache[clientID]
		if ok && old.client != nil && now.Before(old.stale) {
			// Stale-if-error: the last good copy stands in, and the next
			// attempt waits ErrorTTL.
			f.log.WarnContext(ctx, "client metadata document not retrieved; using the copy fetched before", "client_id", clientID,
				"error", err.Error(), "cause", errString(errors.Unwrap(err)), "copy_usable_for", old.stale.Sub(now).String())
			if f.opts.ErrorTTL > 0 {
				old.expires = now.Add(min(f.opts.ErrorTTL, old.stale.Sub(now)))
			}
			res = *old
			break
		}
		f.log.WarnContext(ctx, "client metadata document temporarily unavailable", "client_id", clientID, "error", err.Error(), "cause", errString(errors.Unwrap(err)))
	default:
		f.log.WarnContext(ctx, "client metadata document refused", "client_id", clientID, "error", err.Error(), "cause", errString(errors.Unwrap(err)))
		if f.opts.ErrorTTL > 0 {
			f.store(clientID, &res, now)
		} else {
			delete(f.cache, clientID)
		}
	}
	delete(f.flights, clientID)
	fl.res = res
	close(fl.done)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// store caches e under key, making room when the cache is full: entries of
// no more use go first, then those closest to expiry. f.mu is held.
func (f *Fetcher) store(key string, e *entry, now time.Time) {
	if _, ok := f.cache[key]; !ok && len(f.cache) >= f.opts.MaxEntries {
		for k, old := range f.cache {
			if !now.Before(old.keepUntil()) {
				delete(f.cache, k)
			}
		}
		for len(f.cache) >= f.opts.MaxEntries {
			var victim string
			var soonest time.Time
			for k, old := range f.cache {
				if victim == "" || old.expires.Before(soonest) {
					victim, soonest = k, old.expires
				}
			}
			delete(f.cache, victim)
		}
	}
	f.cache[key] = e
}

// hostOf is the key of the per-host fetch limit: the host name in lower
// case, or the IP address in its canonical form (an IPv4-mapped IPv6
// address as IPv4), so that one address spelled several ways is one host.
func hostOf(host string) string {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return strings.ToLower(host)
}

// siteOf is the key of the per-site fetch limit (Options.MaxPerSite): the
// registrable domain of host (eTLD+1 by the Public Suffix List, its private
// domains included), so that one owner's subdomains share it; an IPv4
// address, or the /64 of an IPv6 address (what one network is usually
// given); a name the list cannot place (a public suffix itself, localhost)
// is its own site.
func siteOf(host string) string {
	if a, err := netip.ParseAddr(host); err == nil {
		if a = a.Unmap(); a.Is6() {
			return netip.PrefixFrom(a, 64).Masked().String()
		}
		return a.String()
	}
	host = strings.ToLower(host)
	if site, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return site
	}
	return host
}

// limit is one of the limits a fetch must get a slot of.
type limit struct {
	key string // "host " or "site " and the key
	n   int    // its slots
}

// acquire takes a slot of each of limits, in order, and one of
// MaxConcurrent, waiting at most SlotWait in all, and returns the function
// that gives them back. Without every slot in time it fails with
// ErrUnavailable.
func (f *Fetcher) acquire(ctx context.Context, limits ...limit) (release func(), err error) {
	f.mu.Lock()
	held := make([]*hostSlots, len(limits))
	for i, l := range limits {
		hs := f.hosts[l.key]
		if hs == nil {
			hs = &hostSlots{ch: make(chan struct{}, l.n)}
			f.hosts[l.key] = hs
		}
		hs.refs++
		held[i] = hs
	}
	f.mu.Unlock()
	// The slots to take, in order: each limit's, then one of MaxConcurrent.
	chans := make([]chan struct{}, 0, len(held)+1)
	for _, hs := range held {
		chans = append(chans, hs.ch)
	}
	chans = append(chans, f.slots)
	taken := 0
	giveBack := func() {
		for _, ch := range chans[:taken] {
			<-ch
		}
		f.mu.Lock()
		for i, hs := range held {
			if hs.refs--; hs.refs == 0 {
				delete(f.hosts, limits[i].key)
			}
		}
		f.mu.Unlock()
	}
	timer := time.NewTimer(f.opts.SlotWait)
	defer timer.Stop()
	for _, ch := range chans {
		select {
		case ch <- struct{}{}:
			taken++
			continue
		case <-timer.C:
		case <-ctx.Done():
		}
		giveBack()
		return nil, temporaryError(nil, "the server is busy fetching other client metadata documents; try again later")
	}
	return giveBack, nil
}

// fetchLimits are the per-host and per-site limits of a fetch from host.
func (f *Fetcher) fetchLimits(host string) []limit {
	return []limit{{"host " + hostOf(host), f.opts.MaxPerHost}, {"site " + siteOf(host), f.opts.MaxPerSite}}
}

// fetch retrieves and checks the document at u and returns the client and
// how long to cache it. Timeout runs from the moment it has a slot.
func (f *Fetcher) fetch(ctx context.Context, clientID string, u *url.URL) (*store.Client, time.Duration, error) {
	release, err := f.acquire(ctx, f.fetchLimits(u.Hostname())...)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, newError(ErrFetch, err, "the client metadata document could not be requested")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, 0, fetchError(err, f.opts.Timeout)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, 0, newError(ErrFetch, nil, fmt.Sprintf("the client metadata document URL answered with a redirect (status %d), which is not followed: client_id must be the document's own URL", resp.StatusCode))
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return nil, 0, temporaryError(nil, fmt.Sprintf("the client metadata document URL answered status %d; try again later", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return nil, 0, newError(ErrFetch, nil, fmt.Sprintf("the client metadata document URL answered status %d; 200 is required", resp.StatusCode))
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !isJSONMediaType(mt) {
		return nil, 0, newError(ErrFetch, nil, "the client metadata document is not served as application/json")
	}
	tooLarge := newError(ErrFetch, nil, fmt.Sprintf("the client metadata document is larger than %d bytes", f.opts.MaxBytes))
	if resp.ContentLength > f.opts.MaxBytes {
		return nil, 0, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		return nil, 0, fetchError(err, f.opts.Timeout)
	}
	if int64(len(body)) > f.opts.MaxBytes {
		return nil, 0, tooLarge
	}
	doc, err := Parse(clientID, body)
	if err != nil {
		return nil, 0, err
	}
	return doc.Client(), f.lifetime(resp.Header, f.opts.Clock()), nil
}

// fetchError describes a transport failure. A forbidden address and a host
// name that does not exist are definite; anything else (timeouts, refused
// or reset connections, TLS failures, DNS servers not answering) may pass
// and is temporary.
func fetchError(err error, timeout time.Duration) *Error {
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return newError(ErrFetch, err, "the client_id host resolves to a loopback, private or otherwise non-public address, which this server does not fetch from")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return temporaryError(err, fmt.Sprintf("the client metadata document was not retrieved within %v; try again later", timeout))
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		if dnsErr.IsNotFound {
			return newError(ErrFetch, err, "the client_id host name does not resolve")
		}
		return temporaryError(err, "the client_id host name could not be resolved; try again later")
	}
	return temporaryError(err, "the client metadata document could not be retrieved (connection or TLS failure); try again later")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isJSONMediaType accepts application/json and media types with the +json
// structured syntax suffix (RFC 6839 §3.1), as the draft requires.
func isJSONMediaType(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// lifetime returns how long a document fetched at now with header h is used;
// see Resolve.
func (f *Fetcher) lifetime(h http.Header, now time.Time) time.Duration {
	d, ok := httpcache.MaxAge(h)
	if exp := h.Get("Expires"); !ok && exp != "" {
		// RFC 9111 §5.3: an invalid Expires means already expired. The
		// lifetime is Expires - Date (§4.2.1), with now for a missing Date.
		d = 0
		if t, err := http.ParseTime(exp); err == nil {
			date := now
			if dt, err := http.ParseTime(h.Get("Date")); err == nil {
				date = dt
			}
			d = t.Sub(date)
		}
	}
	return min(max(d, f.opts.CacheMin), f.opts.CacheMax)
}
