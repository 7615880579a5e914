package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
	jose "github.com/go-jose/go-jose/v4"
)

// ManagerOptions configure a [Manager].
type ManagerOptions struct {
	// Store keeps generated keys, shared by every instance. Required unless
	// SignKey is set.
	Store store.Keys
	// SignKey is an operator-managed private key (auth.local.signKey,
	// JWT_SIGNING_KEY). When set, it always signs and nothing is generated,
	// stored or rotated.
	SignKey *jose.JSONWebKey
	// VerifyKeys are published and accepted but never sign
	// (auth.local.verifyKeys): keys being rotated by hand.
	VerifyKeys []jose.JSONWebKey
	// Policy is the rotation schedule of generated keys.
	Policy Policy
	// Algorithm of generated keys; empty means ES256.
	Algorithm string
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives rotation events; nil discards them.
	Logger *slog.Logger
}

// Manager owns the signing keys: it signs with the key whose time has come,
// publishes every key that may verify a live token, and — for generated keys —
// advances the schedule in the shared store by compare-and-swap, so several
// instances rotate exactly once and agree on the keys. Safe for concurrent use.
type Manager struct {
	opts  ManagerOptions
	now   func() time.Time
	log   *slog.Logger
	mu    sync.Mutex // serialises Refresh and Rotate
	state atomic.Pointer[snapshot]
}

// snapshot is one immutable view of the keys.
type snapshot struct {
	version  int64
	keys     []store.SigningKey
	signers  []timedSigner // by activation time
	verifier *token.Verifier
	jwks     []byte
}

type timedSigner struct {
	from time.Time
	*token.Signer
}

// NewManager loads (and, for generated keys, creates or advances) the keys.
func NewManager(ctx context.Context, opts *ManagerOptions) (*Manager, error) {
	m := &Manager{opts: *opts, now: opts.Clock, log: opts.Logger}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.opts.Algorithm == "" {
		m.opts.Algorithm = token.ES256
	}
	if m.opts.SignKey == nil && m.opts.Store == nil {
		return nil, errors.New("keys: a store or a signing key is required")
	}
	if err := m.Refresh(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Signer returns the signer of the key that signs now. Switching keys needs no
// Refresh: the snapshot holds every scheduled key with its activation time.
func (m *Manager) Signer() *token.Signer {
	st := m.state.Load()
	now := m.now()
	cur := st.signers[0].Signer
	for _, s := range st.signers[1:] {
		if !s.from.After(now) {
			cur = s.Signer
		}
	}
	return cur
}

// Verifier returns a verifier for every published key.
func (m *Manager) Verifier() *token.Verifier { return m.state.Load().verifier }

// JWKS returns the published key set document (public parts only).
func (m *Manager) JWKS() []byte { return m.state.Load().jwks }

// KeyInfo describes one key for operators; it never holds private material.
type KeyInfo struct {
	ID         string    `json:"kid"`
	Algorithm  string    `json:"alg"`
	State      string    `json:"state"` // next, current, retired, verify-only, configured
	CreatedAt  time.Time `json:"created_at,omitzero"`
	ActivateAt time.Time `json:"activate_at,omitzero"`
	RetireAt   time.Time `json:"retire_at,omitzero"`
	RemoveAt   time.Time `json:"remove_at,omitzero"`
}

// List describes the keys as of now.
func (m *Manager) List() []KeyInfo {
	now := m.now()
	var out []KeyInfo
	if k := m.opts.SignKey; k != nil {
		out = append(out, KeyInfo{ID: k.KeyID, Algorithm: k.Algorithm, State: "configured"})
	}
	cur := m.Signer().KeyID()
	for _, k := range m.state.Load().keys {
		state := "retired"
		switch {
		case k.ID == cur:
			state = "current"
		case k.ActivateAt.After(now):
			state = "next"
		}
		out = append(out, KeyInfo{ID: k.ID, Algorithm: k.Algorithm, State: state, CreatedAt: k.CreatedAt,
			ActivateAt: k.ActivateAt, RetireAt: k.RetireAt, RemoveAt: k.RemoveAt})
	}
	for _, k := range m.opts.VerifyKeys {
		out = append(out, KeyInfo{ID: k.KeyID, Algorithm: k.Algorithm, State: "verify-only"})
	}
	return out
}

// Refresh reloads the shared key set, advances its schedule (storing the
// result by compare-and-swap; a lost race reloads and retries) and rebuilds
// the snapshot. Run it periodically — see [Manager.Run].
func (m *Manager) Refresh(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.update(ctx, func(keys []store.SigningKey, now time.Time) ([]store.SigningKey, bool, error) {
		return Plan(keys, now, m.opts.Policy, m.generate)
	})
}

// Rotate starts a rotation now (the next key signs after the pre-publication
// window) on the shared store. Operator-managed keys cannot be rotated here.
func (m *Manager) Rotate(ctx context.Context) error {
	if m.opts.SignKey != nil {
		return errors.New("keys: the signing key is configured (auth.local.signKey); rotate it by hand with verifyKeys")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.update(ctx, func(keys []store.SigningKey, now time.Time) ([]store.SigningKey, bool, error) {
		next, err := RotateNow(keys, now, m.opts.Policy, m.generate)
		return next, err == nil, err
	})
}

// Run refreshes every interval until ctx ends. Errors are logged; the last
// good keys keep serving.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Refresh(ctx); err != nil {
				m.log.Warn("signing keys: refresh failed; keeping the current keys", "err", err)
			}
		}
	}
}

// update applies change to the stored set with compare-and-swap and rebuilds
// the snapshot. Called with m.mu held.
func (m *Manager) update(ctx context.Context, change func([]store.SigningKey, time.Time) ([]store.SigningKey, bool, error)) error {
	if m.opts.SignKey != nil {
		if m.state.Load() == nil {
			return m.build(&store.KeySet{})
		}
		return nil
	}
	for range 5 {
		set, err := m.opts.Store.GetKeySet(ctx)
		if err != nil {
			return fmt.Errorf("keys: loading the key set: %w", err)
		}
		next, changed, err := change(set.Keys, m.now())
		if err != nil {
			return err
		}
		if changed {
			swapped, err := m.opts.Store.SwapKeySet(ctx, set.Version, next)
			if errors.Is(err, store.ErrConflict) {
				continue // another instance advanced the set first: reload
			} else if err != nil {
				return fmt.Errorf("keys: storing the key set: %w", err)
			}
			m.logChange(set.Keys, swapped.Keys)
			set = swapped
		}
		if st := m.state.Load(); st != nil && st.version == set.Version {
			return nil
		}
		return m.build(set)
	}
	return errors.New("keys: the key set kept changing under us; retry later")
}

func (m *Manager) logChange(before, after []store.SigningKey) {
	for _, k := range after {
		if !slices.ContainsFunc(before, func(b store.SigningKey) bool { return b.ID == k.ID }) {
			m.log.Info("signing keys: new key published", "kid", k.ID, "alg", k.Algorithm, "signs_from", k.ActivateAt)
		}
	}
	for _, k := range before {
		if !slices.ContainsFunc(after, func(a store.SigningKey) bool { return a.ID == k.ID }) {
			m.log.Info("signing keys: retired key removed", "kid", k.ID)
		}
	}
}

// build makes the snapshot for set.
func (m *Manager) build(set *store.KeySet) error {
	st := &snapshot{version: set.Version, keys: set.Keys}
	var public []jose.JSONWebKey
	if k := m.opts.SignKey; k != nil {
		s, err := token.NewSigner(*k, &token.SignerOptions{Now: m.now})
		if err != nil {
			return fmt.Errorf("keys: auth.local.signKey: %w", err)
		}
		st.signers = []timedSigner{{Signer: s}}
		public = append(public, s.PublicKey())
	}
	for _, k := range set.Keys {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(k.Private, &jwk); err != nil {
			return fmt.Errorf("keys: stored key %s: %w", k.ID, err)
		}
		s, err := token.NewSigner(jwk, &token.SignerOptions{Now: m.now})
		if err != nil {
			return fmt.Errorf("keys: stored key %s: %w", k.ID, err)
		}
		if m.opts.SignKey == nil {
			st.signers = append(st.signers, timedSigner{from: k.ActivateAt, Signer: s})
		}
		public = append(public, s.PublicKey())
	}
	for _, k := range m.opts.VerifyKeys {
		public = append(public, k.Public())
	}
	slices.SortStableFunc(st.signers, func(a, b timedSigner) int { return a.from.Compare(b.from) })
	if len(st.signers) == 0 {
		return errors.New("keys: no signing key")
	}
	var err error
	if st.verifier, err = token.NewVerifier(public...); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if st.jwks, err = json.Marshal(token.PublicJWKS(public...)); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	m.state.Store(st)
	return nil
}

// generate makes a new key for the stored set.
func (m *Manager) generate() (store.SigningKey, error) {
	k, err := Generate(m.opts.Algorithm, "")
	if err != nil {
		return store.SigningKey{}, err
	}
	raw, err := json.Marshal(k)
	if err != nil {
		return store.SigningKey{}, err
	}
	return store.SigningKey{ID: k.KeyID, Algorithm: k.Algorithm, Private: raw}, nil
}
