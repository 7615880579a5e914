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
	"github.com/frontmcp-go/frontmcp/vault"
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
	// Vault encrypts the private part of generated keys at rest (purpose
	// [VaultPurpose], associated data the kid). Stored keys in plaintext (from
	// before a vault key was configured) are re-sealed with its current key,
	// and so, when the manager starts, are keys sealed with one of its
	// previous keys. nil stores new keys in plaintext and refuses sealed ones
	// ([ErrVaultKey]).
	Vault *vault.Keyring
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
	// starting is true during the first load, the only time keys sealed
	// with a previous vault key are re-sealed (see reseal).
	starting bool
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
	m.starting = true
	if err := m.Refresh(ctx); err != nil {
		return nil, err
	}
	m.starting = false
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

// VaultPurpose is the vault purpose under which generated private keys are
// sealed.
const VaultPurpose = "signing-key"

// ErrVaultKey reports a stored signing key that cannot be decrypted: it is
// sealed and no vault key is configured, or the vault key that sealed it is
// not configured, or it does not authenticate. Nothing is written to the
// store in that case.
var ErrVaultKey = errors.New("keys: stored signing key cannot be decrypted")

// KeyInfo describes one key for operators; it never holds private material.
type KeyInfo struct {
	ID        string `json:"kid"`
	Algorithm string `json:"alg"`
	State     string `json:"state"` // next, current, retired, verify-only, configured
	// VaultKeyID is the id of the vault key that encrypts the stored private
	// key; empty when it is stored in plaintext (or not stored).
	VaultKeyID string    `json:"vault_key_id,omitempty"`
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
		out = append(out, KeyInfo{ID: k.ID, Algorithm: k.Algorithm, State: state, VaultKeyID: vault.EnvelopeKeyID(k.Private),
			CreatedAt: k.CreatedAt, ActivateAt: k.ActivateAt, RetireAt: k.RetireAt, RemoveAt: k.RemoveAt})
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
		// Every stored key must decrypt before anything is written: a
		// missing or wrong vault key must not lead to keys generated over
		// (or schedules advanced past) keys this instance cannot read.
		current, resealed, err := m.reseal(set.Keys)
		if err != nil {
			return err
		}
		next, changed, err := change(current, m.now())
		if err != nil {
			return err
		}
		if changed || resealed > 0 {
			swapped, err := m.opts.Store.SwapKeySet(ctx, set.Version, next)
			if errors.Is(err, store.ErrConflict) {
				continue // another instance advanced the set first: reload
			} else if err != nil {
				return fmt.Errorf("keys: storing the key set: %w", err)
			}
			m.logChange(set.Keys, swapped.Keys)
			if resealed > 0 {
				m.log.Info("signing keys: stored private keys re-encrypted", "keys", resealed, "vault_key_id", m.opts.Vault.KeyID())
			}
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
		private, _, err := m.open(k)
		if err != nil {
			return err
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(private, &jwk); err != nil {
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
	if m.opts.Vault != nil {
		if raw, err = m.opts.Vault.Seal(VaultPurpose, raw, []byte(k.KeyID)); err != nil {
			return store.SigningKey{}, fmt.Errorf("keys: encrypting key %s: %w", k.KeyID, err)
		}
	}
	return store.SigningKey{ID: k.KeyID, Algorithm: k.Algorithm, Private: raw}, nil
}

// open returns the private JWK (JSON) of a stored key, decrypting it when it
// is sealed, and the id of the vault key that sealed it ("" for plaintext).
func (m *Manager) open(k store.SigningKey) (private []byte, sealedWith string, err error) {
	v := m.opts.Vault
	if !vault.IsSealed(k.Private) {
		return k.Private, "", nil
	}
	id := vault.EnvelopeKeyID(k.Private)
	if v == nil {
		return nil, id, fmt.Errorf("%w: signing key %s in the store is encrypted with vault key %s; set auth.vault.key / VAULT_KEY",
			ErrVaultKey, k.ID, id)
	}
	private, err = v.Open(VaultPurpose, k.Private, []byte(k.ID))
	switch {
	case errors.Is(err, vault.ErrMalformed):
		return nil, id, fmt.Errorf("%w: signing key %s in the store: the encrypted record is malformed", ErrVaultKey, k.ID)
	case errors.Is(err, vault.ErrUnknownKey):
		return nil, id, fmt.Errorf("%w: signing key %s in the store is encrypted with vault key %s, which is not configured (the current vault key is %s); set auth.vault.key / VAULT_KEY (or add it to auth.vault.previousKeys)",
			ErrVaultKey, k.ID, id, v.KeyID())
	case errors.Is(err, vault.ErrDecrypt):
		return nil, id, fmt.Errorf("%w: signing key %s in the store does not decrypt with vault key %s: the configured key is not the one that encrypted it, or the record was altered",
			ErrVaultKey, k.ID, id)
	case err != nil:
		return nil, id, fmt.Errorf("%w: signing key %s in the store: %v", ErrVaultKey, k.ID, err)
	}
	return private, id, nil
}

// reseal checks that every stored key decrypts and returns the keys with
// those in plaintext sealed with the current vault key (a copy; keys is not
// modified), and how many were re-sealed. Keys sealed with a previous vault
// key are re-sealed only while starting: during a rolling change of the vault
// key, running instances with the old key current (and the new one in
// previousKeys) would otherwise undo, at every refresh, what the restarted
// ones did.
func (m *Manager) reseal(keys []store.SigningKey) ([]store.SigningKey, int, error) {
	out := keys
	n := 0
	for i, k := range keys {
		private, sealedWith, err := m.open(k)
		if err != nil {
			return nil, 0, err
		}
		v := m.opts.Vault
		if v == nil || sealedWith == v.KeyID() || (sealedWith != "" && !m.starting) {
			continue
		}
		sealed, err := m.opts.Vault.Seal(VaultPurpose, private, []byte(k.ID))
		if err != nil {
			return nil, 0, fmt.Errorf("keys: encrypting key %s: %w", k.ID, err)
		}
		if n == 0 {
			out = slices.Clone(keys)
		}
		out[i].Private = sealed
		n++
	}
	return out, n, nil
}
