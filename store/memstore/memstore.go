// Package memstore is an in-process [store.Store] for development and tests.
//
// It keeps every record in maps behind one mutex, so each operation is trivially
// atomic; data is lost when the process exits, which is why production
// configurations refuse it. Records are deep-copied on the way in and out, and
// claims are normalised through JSON on the way in, so callers see exactly what
// a JSON-backed store (filestore, redisstore) would return. Expired records are
// treated as absent, removed when touched, and swept in full after a number of
// writes proportional to the store's size, so memory stays bounded without a
// background goroutine.
package memstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// minSweepWrites is the least number of writes between two full sweeps.
const minSweepWrites = 1024

// errClosed is returned by every operation after Close.
var errClosed = fmt.Errorf("%w: memstore: closed", store.ErrUnavailable)

// errEmptyID rejects records without a key.
var errEmptyID = errors.New("memstore: empty id")

// Options configures a Store. A nil *Options means all defaults.
type Options struct {
	// Clock is the only source of time; nil means time.Now.
	Clock store.Clock
}

// Store is an in-memory [store.Store]. It is safe for concurrent use.
type Store struct {
	clock store.Clock

	mu      sync.Mutex
	closed  bool
	writes  int // writes since the last full sweep
	sweepAt int // writes that trigger the next full sweep
	pending map[string]*store.PendingAuthorization
	codes   map[string]*codeEntry
	grants  map[string]*store.Grant // without their PreviousHashes
	prev    map[string]*hashRing    // rotated-out refresh hashes by grant id
	clients map[string]*store.Client
	keys    store.KeySet
	revs    revocationLog // see revocations.go
	vault   vaultState    // see vault.go
	sess    sessionTable  // see sessions.go
}

// codeEntry is a stored code and its used marker.
type codeEntry struct {
	code *store.AuthCode
	used bool
}

var _ store.Store = (*Store)(nil)

// New returns an empty Store.
func New(opts *Options) *Store {
	s := &Store{
		pending: make(map[string]*store.PendingAuthorization),
		codes:   make(map[string]*codeEntry),
		grants:  make(map[string]*store.Grant),
		prev:    make(map[string]*hashRing),
		clients: make(map[string]*store.Client),
		sweepAt: minSweepWrites,
	}
	if opts != nil {
		s.clock = opts.Clock
	}
	return s
}

// expired reports whether a record expiring at exp is gone at now. It agrees
// with [store.Grant.Active]: a record is valid strictly before its expiry.
func expired(exp, now time.Time) bool { return !now.Before(exp) }

// lock takes the mutex and returns the current time, or errClosed.
func (s *Store) lock() (time.Time, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return time.Time{}, errClosed
	}
	return s.clock.Now(), nil
}

// wrote counts a write and sweeps once the count reaches the number of
// records left by the previous sweep (at least minSweepWrites). That keeps a
// sweep's cost amortised O(1) per write, and expired records at most about as
// many as live ones. Called with s.mu held.
func (s *Store) wrote(now time.Time) {
	s.writes++
	if s.writes >= s.sweepAt {
		s.sweep(now)
	}
}

func (s *Store) size() int {
	return len(s.pending) + len(s.codes) + len(s.grants) + len(s.clients)
}

// Sweep removes every expired record now and returns how many it removed.
// The store also sweeps by itself; Sweep exists for operators and tests.
func (s *Store) Sweep() int {
	now, err := s.lock()
	if err != nil {
		return 0
	}
	defer s.mu.Unlock()
	return s.sweep(now)
}

func (s *Store) sweep(now time.Time) int {
	n := 0
	for id, p := range s.pending {
		if expired(p.ExpiresAt, now) {
			delete(s.pending, id)
			n++
		}
	}
	for hash, e := range s.codes {
		if expired(e.code.ExpiresAt, now) {
			delete(s.codes, hash)
			n++
		}
	}
	for id, g := range s.grants {
		if expired(g.ExpiresAt, now) {
			s.dropGrant(id)
			n++
		}
	}
	s.writes = 0
	s.sweepAt = max(minSweepWrites, s.size())
	return n
}

// SavePending implements [store.Pending].
func (s *Store) SavePending(_ context.Context, p *store.PendingAuthorization) error {
	if p.ID == "" {
		return errEmptyID
	}
	cp, err := clonePending(p, true)
	if err != nil {
		return err
	}
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.pending[cp.ID] = cp
	s.wrote(now)
	return nil
}

// GetPending implements [store.Pending].
func (s *Store) GetPending(_ context.Context, id string) (*store.PendingAuthorization, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	p, ok := s.pending[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	if expired(p.ExpiresAt, now) {
		delete(s.pending, id)
		return nil, store.ErrNotFound
	}
	return outbound(clonePending(p, false)), nil
}

// ConsumePending implements [store.Pending].
func (s *Store) ConsumePending(_ context.Context, id string) (*store.PendingAuthorization, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	p, ok := s.pending[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	delete(s.pending, id)
	if expired(p.ExpiresAt, now) {
		return nil, store.ErrNotFound
	}
	// The record left the map, so it can be handed out without a copy.
	return p, nil
}

// SaveCode implements [store.Codes].
func (s *Store) SaveCode(_ context.Context, c *store.AuthCode) error {
	if c.Hash == "" {
		return errEmptyID
	}
	cp, err := cloneCode(c, true)
	if err != nil {
		return err
	}
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e, ok := s.codes[cp.Hash]; ok && !expired(e.code.ExpiresAt, now) {
		return store.ErrExists
	}
	s.codes[cp.Hash] = &codeEntry{code: cp}
	s.wrote(now)
	return nil
}

// ConsumeCode implements [store.Codes].
func (s *Store) ConsumeCode(_ context.Context, hash string) (*store.AuthCode, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.codes[hash]
	if !ok {
		return nil, store.ErrNotFound
	}
	if expired(e.code.ExpiresAt, now) {
		delete(s.codes, hash)
		return nil, store.ErrNotFound
	}
	if e.used {
		return outbound(cloneCode(e.code, false)), store.ErrReused
	}
	e.used = true
	return outbound(cloneCode(e.code, false)), nil
}

// CreateGrant implements [store.Grants].
func (s *Store) CreateGrant(_ context.Context, g *store.Grant) error {
	if g.ID == "" {
		return errEmptyID
	}
	cp, err := cloneGrant(g, true)
	if err != nil {
		return err
	}
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if old, ok := s.grants[cp.ID]; ok && !expired(old.ExpiresAt, now) {
		return store.ErrExists
	}
	s.dropGrant(cp.ID)
	s.grants[cp.ID] = cp
	if len(g.PreviousHashes) > 0 {
		r := new(hashRing)
		for _, h := range g.PreviousHashes {
			r.add(h)
		}
		s.prev[cp.ID] = r
	}
	s.logGrant(cp, now)
	s.wrote(now)
	return nil
}

// liveGrant returns the unexpired grant id, removing it if it has expired.
// Called with s.mu held.
func (s *Store) liveGrant(id string, now time.Time) (*store.Grant, bool) {
	g, ok := s.grants[id]
	if !ok {
		return nil, false
	}
	if expired(g.ExpiresAt, now) {
		s.dropGrant(id)
		return nil, false
	}
	return g, true
}

// dropGrant forgets grant id and its rotated-out hashes. Called with s.mu
// held.
func (s *Store) dropGrant(id string) {
	delete(s.grants, id)
	delete(s.prev, id)
}

// GetGrant implements [store.Grants].
func (s *Store) GetGrant(_ context.Context, id string) (*store.Grant, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	g, ok := s.liveGrant(id, now)
	if !ok {
		return nil, store.ErrNotFound
	}
	return outbound(cloneGrant(g, false)), nil
}

// RotateRefresh implements [store.Grants]: refresh token rotation with reuse
// detection (RFC 9700 §4.14.2, RFC 6749 §6).
func (s *Store) RotateRefresh(_ context.Context, grantID, presentedHash, nextHash string, nextExpiry time.Time) (*store.Grant, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	g, ok := s.liveGrant(grantID, now)
	if !ok {
		return nil, store.ErrNotFound
	}
	// RotateWith changes g in place only to rotate or to revoke; both are
	// meant to be stored.
	r := s.prev[grantID]
	retired, _, err := g.RotateWith(r.contains, presentedHash, nextHash, nextExpiry, now)
	if err != nil {
		s.logGrant(g, now)
		return nil, err
	}
	if retired != "" {
		if r == nil {
			r = new(hashRing)
			s.prev[grantID] = r
		}
		r.add(retired)
	}
	out := outbound(cloneGrant(g, false))
	g.Retried = false // on the returned copy only
	return out, nil
}

// PreviousRefreshHashes implements [store.Grants].
func (s *Store) PreviousRefreshHashes(_ context.Context, id string) ([]string, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if _, ok := s.liveGrant(id, now); !ok {
		return nil, store.ErrNotFound
	}
	return s.prev[id].list(), nil
}

// hashRing holds the rotated-out refresh hashes of one grant: the last
// store.MaxPreviousHashes in the order they were added, and a set of them
// for the reuse check, so that neither a rotation nor a check costs more
// for a long chain. A nil *hashRing is empty.
type hashRing struct {
	order []string // a ring: the oldest is order[head] once it is full
	head  int
	set   map[string]struct{}
}

// contains reports whether h is remembered. A map lookup compares hashes of
// random secrets, which tells nothing about a secret (see store.Grant.Rotate).
func (r *hashRing) contains(h string) bool {
	if r == nil {
		return false
	}
	_, ok := r.set[h]
	return ok
}

// add remembers h, forgetting the oldest hash beyond
// store.MaxPreviousHashes. A hash already remembered keeps its place.
func (r *hashRing) add(h string) {
	if r.set == nil {
		r.set = make(map[string]struct{})
	}
	if _, ok := r.set[h]; ok {
		return
	}
	r.set[h] = struct{}{}
	if len(r.order) < store.MaxPreviousHashes {
		r.order = append(r.order, h)
		return
	}
	delete(r.set, r.order[r.head])
	r.order[r.head] = h
	r.head = (r.head + 1) % len(r.order)
}

// list returns the remembered hashes, oldest first.
func (r *hashRing) list() []string {
	if r == nil {
		return []string{}
	}
	out := make([]string, 0, len(r.order))
	out = append(out, r.order[r.head:]...)
	return append(out, r.order[:r.head]...)
}

// RevokeGrant implements [store.Grants].
func (s *Store) RevokeGrant(_ context.Context, id string) error {
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	g, ok := s.liveGrant(id, now)
	if !ok {
		return store.ErrNotFound
	}
	if g.RevokedAt.IsZero() {
		g.RevokedAt = now
	}
	s.logGrant(g, now)
	s.dropVault(id)
	return nil
}

// ListGrants implements [store.Grants]. Grants created at the same instant
// are ordered by ID.
func (s *Store) ListGrants(_ context.Context, f store.GrantFilter) ([]*store.Grant, error) {
	now, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []*store.Grant
	for _, g := range s.grants {
		if expired(g.ExpiresAt, now) ||
			(f.Subject != "" && g.Subject != f.Subject) ||
			(f.ClientID != "" && g.ClientID != f.ClientID) {
			continue
		}
		out = append(out, outbound(cloneGrant(g, false)))
	}
	sortGrants(out)
	return out, nil
}

// sortGrants orders grants oldest first, then by ID, as ListGrants returns them.
func sortGrants(gs []*store.Grant) {
	slices.SortFunc(gs, func(a, b *store.Grant) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// CreateClient implements [store.Clients].
func (s *Store) CreateClient(_ context.Context, c *store.Client) error {
	if c.ID == "" {
		return errEmptyID
	}
	cp, err := cloneClient(c, true)
	if err != nil {
		return err
	}
	now, err := s.lock()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.clients[cp.ID]; ok {
		return store.ErrExists
	}
	s.clients[cp.ID] = cp
	s.wrote(now)
	return nil
}

// GetClient implements [store.Clients].
func (s *Store) GetClient(_ context.Context, id string) (*store.Client, error) {
	if _, err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return outbound(cloneClient(c, false)), nil
}

// DeleteClient implements [store.Clients].
func (s *Store) DeleteClient(_ context.Context, id string) error {
	if _, err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.clients[id]; !ok {
		return store.ErrNotFound
	}
	delete(s.clients, id)
	return nil
}

// ListClients implements [store.Clients].
func (s *Store) ListClients(_ context.Context) ([]*store.Client, error) {
	if _, err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]*store.Client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, outbound(cloneClient(c, false)))
	}
	slices.SortFunc(out, func(a, b *store.Client) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Ping implements [store.Store]; it fails only after Close.
func (s *Store) Ping(context.Context) error {
	if _, err := s.lock(); err != nil {
		return err
	}
	s.mu.Unlock()
	return nil
}

// Close implements [store.Store]. Later calls fail with [store.ErrUnavailable];
// closing twice is allowed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Copies. On the way in (normalise true) claims go through JSON so they hold
// only JSON types; on the way out they are deep-copied, which cannot fail.

// outbound returns the copy of a record on its way out (normalise false,
// which never fails).
func outbound[T any](cp *T, _ error) *T { return cp }

func clonePending(p *store.PendingAuthorization, normalise bool) (*store.PendingAuthorization, error) {
	cp := *p
	cp.Scopes = slices.Clone(p.Scopes)
	var err error
	cp.Claims, err = cloneClaims(p.Claims, normalise)
	return &cp, err
}

func cloneCode(c *store.AuthCode, normalise bool) (*store.AuthCode, error) {
	cp := *c
	cp.Scopes = slices.Clone(c.Scopes)
	var err error
	cp.Claims, err = cloneClaims(c.Claims, normalise)
	return &cp, err
}

func cloneGrant(g *store.Grant, normalise bool) (*store.Grant, error) {
	cp := *g
	cp.Scopes = slices.Clone(g.Scopes)
	cp.PreviousHashes = nil // kept in s.prev
	var err error
	cp.Claims, err = cloneClaims(g.Claims, normalise)
	return &cp, err
}

func cloneClient(c *store.Client, normalise bool) (*store.Client, error) {
	cp := *c
	cp.RedirectURIs = slices.Clone(c.RedirectURIs)
	cp.GrantTypes = slices.Clone(c.GrantTypes)
	cp.ResponseTypes = slices.Clone(c.ResponseTypes)
	cp.Scopes = slices.Clone(c.Scopes)
	var err error
	cp.Metadata, err = cloneClaims(c.Metadata, normalise)
	return &cp, err
}

// cloneClaims copies c. With normalise it round-trips c through JSON, so
// numbers become float64, slices []any and objects map[string]any, exactly as
// a JSON-backed store returns them.
func cloneClaims(c store.Claims, normalise bool) (store.Claims, error) {
	if c == nil {
		return nil, nil
	}
	if normalise {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("memstore: claims are not JSON: %w", err)
		}
		var out store.Claims
		if err := json.Unmarshal(b, &out); err != nil {
			return nil, fmt.Errorf("memstore: claims are not JSON: %w", err)
		}
		return out, nil
	}
	out := make(store.Claims, len(c))
	for k, v := range c {
		out[k] = deepCopy(v)
	}
	return out, nil
}

// deepCopy copies the JSON value v (maps and slices recursively; strings,
// numbers, bools and nil are immutable).
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}
