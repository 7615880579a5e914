package federation

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/frontmcp-go/frontmcp/vault"
)

// Vault purposes: each kind of sealed record has its own subkey, and its
// associated data binds it to its record.
const (
	// PurposeLogin seals a login in progress (state hash, nonce, PKCE
	// verifier); aad is the pending request id.
	PurposeLogin = "upstream-login"
	// PurposePending seals the tokens of a finished login until this
	// server's code is issued; aad is the pending request id.
	PurposePending = "upstream-pending"
	// PurposeTokens seals the tokens of a grant, in the code and in the
	// vault; aad is the grant id.
	PurposeTokens = "upstream-tokens"
)

// Defaults for [BrokerOptions].
const (
	DefaultSkew     = 60 * time.Second
	DefaultLeaseTTL = 30 * time.Second
)

// Waiting for another instance's refresh: the first re-read comes soon, then
// the interval doubles up to the maximum.
const (
	leaseWaitMin = 20 * time.Millisecond
	leaseWaitMax = 500 * time.Millisecond
)

// BrokerOptions configure a [Broker]. Fields marked required must be set.
type BrokerOptions struct {
	// Provider is the upstream identity provider. Required.
	Provider *Provider
	// Keyring seals everything upstream before it is stored. Required.
	Keyring *vault.Keyring
	// Vault stores the sealed tokens per grant. Required.
	Vault store.Vault
	// Skew refreshes an upstream access token this long before it expires
	// (auth.refresh.skewSeconds). Zero means DefaultSkew; negative, none.
	Skew time.Duration
	// LeaseTTL bounds how long one instance holds a grant's refresh lease;
	// it must exceed the longest refresh request. Zero means
	// DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
}

// Broker runs remote mode's upstream side: it starts and finishes upstream
// logins for the authorization server, keeps the upstream tokens sealed
// (pending request, code, vault) and hands tools a fresh access token,
// refreshing it once per grant across all instances sharing the store.
type Broker struct {
	p     *Provider
	keys  *vault.Keyring
	vault store.Vault
	skew  time.Duration
	lease time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	flights map[string]*flight // refreshes in progress in this process, by grant
}

// flight is one refresh in progress; waiters read token and err after done.
type flight struct {
	done  chan struct{}
	token string
	err   error
}

// NewBroker checks opts and returns the broker.
func NewBroker(opts *BrokerOptions) (*Broker, error) {
	if opts == nil {
		return nil, errors.New("federation: nil BrokerOptions")
	}
	o := *opts
	switch {
	case o.Provider == nil:
		return nil, errors.New("federation: Provider is required")
	case o.Keyring == nil:
		return nil, errors.New("federation: Keyring is required")
	case o.Vault == nil:
		return nil, errors.New("federation: Vault is required")
	}
	if o.Skew == 0 {
		o.Skew = DefaultSkew
	}
	if o.Skew < 0 {
		o.Skew = 0
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Broker{p: o.Provider, keys: o.Keyring, vault: o.Vault, skew: o.Skew, lease: o.LeaseTTL,
		now: o.Clock, log: o.Logger, flights: make(map[string]*flight)}, nil
}

// Provider returns the upstream provider.
func (b *Broker) Provider() *Provider { return b.p }

// loginState is a login in progress, sealed into the pending request.
type loginState struct {
	StateHash string `json:"state_hash"`
	Nonce     string `json:"nonce"`
	Verifier  string `json:"verifier"`
}

// Start begins the upstream login of pending request requestID. state is
// the value the provider returns to the callback; only its hash is kept.
// It returns the provider's authorization URL and the sealed login state,
// which the caller keeps with the request and passes to Finish.
func (b *Broker) Start(requestID, state string) (authURL string, login []byte, err error) {
	ls := loginState{StateHash: token.Hash(state), Nonce: rand.Text() + rand.Text(), Verifier: oauth2.GenerateVerifier()}
	pt, err := json.Marshal(&ls)
	if err != nil {
		return "", nil, err
	}
	sealed, err := b.keys.Seal(PurposeLogin, pt, []byte(requestID))
	if err != nil {
		return "", nil, fmt.Errorf("federation: sealing the login state: %w", err)
	}
	return b.p.AuthCodeURL(state, ls.Nonce, ls.Verifier), sealed, nil
}

// openLogin opens the sealed login state of requestID and checks that state
// belongs to it (constant-time hash comparison).
func (b *Broker) openLogin(requestID string, login []byte, state string) (*loginState, error) {
	pt, err := b.keys.Open(PurposeLogin, login, []byte(requestID))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	var ls loginState
	if err := json.Unmarshal(pt, &ls); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	if state == "" || !token.CheckSecret(state, ls.StateHash) {
		return nil, ErrState
	}
	return &ls, nil
}

// CheckState reports whether state belongs to the login sealed in login
// for requestID; the error wraps [ErrState] otherwise. It changes nothing.
func (b *Broker) CheckState(requestID string, login []byte, state string) error {
	_, err := b.openLogin(requestID, login, state)
	return err
}

// Finish completes the login from the provider's redirect to the callback
// (its query parameters q): an error response becomes a [DeniedError]; the
// state must match; "iss", when present or promised by the provider's
// metadata, must be the provider (RFC 9207 §2.4); the code is redeemed and
// the identity proven (see [Provider.Exchange]). It returns the login and
// its tokens sealed for requestID (PurposePending), to be moved to the
// grant with [Broker.Rebind].
func (b *Broker) Finish(ctx context.Context, requestID string, login []byte, q url.Values) (*Login, []byte, error) {
	ls, err := b.openLogin(requestID, login, q.Get("state"))
	if err != nil {
		return nil, nil, err
	}
	if iss, ok := q["iss"]; (ok || b.p.meta.AuthorizationResponseIssParameterSupported) && (len(iss) != 1 || iss[0] != b.p.meta.Issuer) {
		return nil, nil, fmt.Errorf("%w: the authorization response's iss %q is not the provider (RFC 9207)", ErrIdentity, q.Get("iss"))
	}
	if code := q.Get("error"); code != "" {
		return nil, nil, &DeniedError{Code: code, Description: q.Get("error_description")}
	}
	code := q.Get("code")
	if code == "" {
		return nil, nil, fmt.Errorf("%w: the callback has neither code nor error", ErrTokenEndpoint)
	}
	l, err := b.p.Exchange(ctx, code, ls.Verifier, ls.Nonce)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := b.seal(PurposePending, l.Tokens, requestID)
	if err != nil {
		return nil, nil, err
	}
	b.log.InfoContext(ctx, "upstream login verified", "sub", l.Subject, "upstream_at_fp", logging.Fingerprint(l.Tokens.AccessToken),
		"refresh_token", l.Tokens.RefreshToken != "", "expiry", l.Tokens.Expiry)
	return l, sealed, nil
}

// Rebind moves tokens sealed for pending request requestID (by Finish) to
// grant grantID (PurposeTokens), as stored in the code and the vault.
func (b *Broker) Rebind(requestID, grantID string, sealed []byte) ([]byte, error) {
	t, err := b.open(PurposePending, sealed, requestID)
	if err != nil {
		return nil, err
	}
	return b.seal(PurposeTokens, t, grantID)
}

func (b *Broker) seal(purpose string, t *Tokens, aad string) ([]byte, error) {
	pt, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	env, err := b.keys.Seal(purpose, pt, []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("federation: sealing upstream tokens: %w", err)
	}
	return env, nil
}

func (b *Broker) open(purpose string, env []byte, aad string) (*Tokens, error) {
	pt, err := b.keys.Open(purpose, env, []byte(aad))
	if err != nil {
		if ke, ok := errors.AsType[*vault.UnknownKeyError](err); ok {
			return nil, fmt.Errorf("%w: it was sealed with vault key %s, which is neither auth.vault.key (key %s) nor one of auth.vault.previousKeys; configure that key (for example as a previous key) to read it",
				ErrVaultKey, ke.KeyID, b.keys.KeyID())
		}
		return nil, fmt.Errorf("%w: %w", ErrVaultKey, err)
	}
	var t Tokens
	if err := json.Unmarshal(pt, &t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrVaultKey, err)
	}
	return &t, nil
}

// Store puts tokens sealed for grantID (by Rebind) into the vault until
// expiresAt, the grant's end.
func (b *Broker) Store(ctx context.Context, grantID string, sealed []byte, expiresAt time.Time) error {
	return b.vault.PutVault(ctx, grantID, sealed, expiresAt)
}

// fresh reports whether t's access token is usable for longer than the skew.
func (b *Broker) fresh(t *Tokens) bool {
	return t.Expiry.IsZero() || b.now().Add(b.skew).Before(t.Expiry)
}

// load reads and opens the grant's vault entry. An entry sealed with a
// previous vault key is sealed again with the current one.
func (b *Broker) load(ctx context.Context, grantID string) (*Tokens, error) {
	env, err := b.vault.GetVault(ctx, grantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w (no upstream tokens are stored for this grant)", ErrReauthorizationRequired)
	}
	if err != nil {
		return nil, fmt.Errorf("federation: reading the vault: %w", err)
	}
	t, err := b.open(PurposeTokens, env, grantID)
	if err != nil {
		b.log.ErrorContext(ctx, "vault entry cannot be opened", "grant_id", grantID, "vault_key", vault.EnvelopeKeyID(env), "err", err)
		return nil, err
	}
	if id := vault.EnvelopeKeyID(env); id != b.keys.KeyID() {
		if again, err := b.seal(PurposeTokens, t, grantID); err == nil {
			if err := b.vault.UpdateVault(ctx, grantID, again); err == nil {
				b.log.InfoContext(ctx, "vault entry sealed again with the current key", "grant_id", grantID, "from_key", id, "to_key", b.keys.KeyID())
			}
		}
	}
	if t.Refused {
		return nil, fmt.Errorf("%w (the identity provider refused to refresh them)", ErrReauthorizationRequired)
	}
	return t, nil
}

// AccessToken returns a usable upstream access token for grantID,
// refreshing it first when it expires within the skew. Refreshes are
// single-flight: one per grant in this process, and one across instances
// through the store's lease, while the others wait for its result.
//
// It returns an error wrapping [ErrReauthorizationRequired] when there are
// no upstream tokens for the grant or the provider refused the refresh
// token, and [ErrVaultKey] when the entry was sealed with a key that is not
// configured (the entry is left untouched).
func (b *Broker) AccessToken(ctx context.Context, grantID string) (string, error) {
	if grantID == "" {
		return "", fmt.Errorf("%w (the request carries no grant)", ErrReauthorizationRequired)
	}
	t, err := b.load(ctx, grantID)
	if err != nil {
		return "", err
	}
	if b.fresh(t) {
		return t.AccessToken, nil
	}
	b.mu.Lock()
	f, running := b.flights[grantID]
	if !running {
		f = &flight{done: make(chan struct{})}
		b.flights[grantID] = f
	}
	b.mu.Unlock()
	if !running {
		// The refresh outlives a caller that gives up: the others wait
		// for it, and a provider's rotated refresh token must be stored.
		// It may first wait out the lease of an instance that died.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*b.lease)
		go func() {
			defer cancel()
			f.token, f.err = b.refresh(fctx, grantID)
			b.mu.Lock()
			delete(b.flights, grantID)
			b.mu.Unlock()
			close(f.done)
		}()
	}
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// refresh refreshes the grant's upstream tokens under the store's lease, or
// waits for the instance holding it.
func (b *Broker) refresh(ctx context.Context, grantID string) (string, error) {
	owner := rand.Text()
	wait := leaseWaitMin
	for {
		ok, err := b.vault.LockVault(ctx, grantID, owner, b.lease)
		if err != nil {
			return "", fmt.Errorf("federation: taking the refresh lease: %w", err)
		}
		if ok {
			break
		}
		// Another instance is refreshing: use its result once stored.
		t, err := b.load(ctx, grantID)
		if err != nil {
			return "", err
		}
		if b.fresh(t) {
			return t.AccessToken, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return "", fmt.Errorf("federation: waiting for another instance's refresh: %w", ctx.Err())
		}
		wait = min(2*wait, leaseWaitMax)
	}
	defer func() {
		if err := b.vault.UnlockVault(context.WithoutCancel(ctx), grantID, owner); err != nil {
			b.log.WarnContext(ctx, "releasing the refresh lease failed; it lapses by itself", "grant_id", grantID, "err", err)
		}
	}()
	// Re-read under the lease: the previous holder may have refreshed.
	t, err := b.load(ctx, grantID)
	if err != nil {
		return "", err
	}
	if b.fresh(t) {
		return t.AccessToken, nil
	}
	nt, err := b.p.Refresh(ctx, t)
	if errors.Is(err, ErrRefused) {
		b.log.WarnContext(ctx, "upstream refresh refused: re-authorization required", "grant_id", grantID, "err", err)
		t.Refused = true
		if env, serr := b.seal(PurposeTokens, t, grantID); serr == nil {
			if uerr := b.vault.UpdateVault(ctx, grantID, env); uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
				b.log.WarnContext(ctx, "recording the refused refresh failed", "grant_id", grantID, "err", uerr)
			}
		}
		return "", fmt.Errorf("%w (the identity provider refused to refresh them)", ErrReauthorizationRequired)
	}
	if err != nil {
		b.log.ErrorContext(ctx, "upstream refresh failed", "grant_id", grantID, "err", err)
		return "", err
	}
	env, err := b.seal(PurposeTokens, nt, grantID)
	if err != nil {
		return "", err
	}
	if err := b.vault.UpdateVault(ctx, grantID, env); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// The grant was revoked while the refresh ran.
			return "", fmt.Errorf("%w (the grant was revoked)", ErrReauthorizationRequired)
		}
		b.log.ErrorContext(ctx, "storing refreshed upstream tokens failed", "grant_id", grantID, "err", err)
		return "", fmt.Errorf("federation: storing refreshed upstream tokens: %w", err)
	}
	b.log.InfoContext(ctx, "upstream tokens refreshed", "grant_id", grantID, "upstream_at_fp", logging.Fingerprint(nt.AccessToken),
		"rotated", nt.RefreshToken != t.RefreshToken, "expiry", nt.Expiry)
	return nt.AccessToken, nil
}
