package federation

import (
	"bytes"
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
	// Grants is where a grant is revoked once its upstream tokens are gone,
	// or the provider refused to refresh them (or there is no refresh
	// token and the access token expired): the MCP client's tokens then
	// stop working and the client authorizes again, signing in at the
	// provider. Nil revokes nothing; the vault entry is only marked
	// refused.
	Grants store.Grants
	// Revoked, when set, is told of each grant revocation the broker has
	// stored, so that a resource server in the same process refuses the
	// grant's tokens at once (as authserver.Options.Revoked).
	Revoked func(store.Revocation)
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
}

// Broker runs remote mode's upstream side: it starts and finishes upstream
// logins for the authorization server, keeps the upstream tokens sealed
// (pending request, code, vault) and hands tools a fresh access token,
// refreshing it once per grant across all instances sharing the store. It
// ends (revokes) a grant whose upstream tokens are gone or refused, so
// access through this server ends when the provider ends it.
type Broker struct {
	p       *Provider
	keys    *vault.Keyring
	vault   store.Vault
	grants  store.Grants
	revoked func(store.Revocation)
	skew    time.Duration
	lease   time.Duration
	now     func() time.Time
	log     *slog.Logger

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
	return &Broker{p: o.Provider, keys: o.Keyring, vault: o.Vault, grants: o.Grants, revoked: o.Revoked,
		skew: o.Skew, lease: o.LeaseTTL, now: o.Clock, log: o.Logger, flights: make(map[string]*flight)}, nil
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

// fresh reports whether t's access token can be handed out without a
// refresh: it does not expire within the margin, which is the skew, or half
// the token's lifetime when that is shorter. So a token just obtained is
// always usable, and one the provider issues for less than twice the skew
// is used for half its life before it is refreshed (instead of being
// refreshed on every call). A token without an expiry is always fresh.
func (b *Broker) fresh(t *Tokens) bool {
	if t.Expiry.IsZero() {
		return true
	}
	margin := b.skew
	if !t.Obtained.IsZero() {
		margin = min(margin, max(t.Expiry.Sub(t.Obtained)/2, 0))
	}
	return b.now().Add(margin).Before(t.Expiry)
}

// valid reports whether t's access token has not expired.
func (b *Broker) valid(t *Tokens) bool {
	return t.Expiry.IsZero() || b.now().Before(t.Expiry)
}

// load reads and opens the grant's vault entry and returns it with the
// envelope it was read as (the expected value of a later UpdateVault). It
// never writes: an entry sealed with a previous vault key is sealed with
// the current key when its tokens are next refreshed, under the refresh
// lease. Rewriting it on a read could overwrite a refresh stored meanwhile,
// and during a rolling change of the vault key instances with different
// current keys would rewrite it back and forth.
func (b *Broker) load(ctx context.Context, grantID string) (*Tokens, []byte, error) {
	env, err := b.vault.GetVault(ctx, grantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w (no upstream tokens are stored for this grant)", ErrReauthorizationRequired)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("federation: reading the vault: %w", err)
	}
	t, err := b.open(PurposeTokens, env, grantID)
	if err != nil {
		b.log.ErrorContext(ctx, "vault entry cannot be opened", "grant_id", grantID, "vault_key", vault.EnvelopeKeyID(env), "err", err)
		return nil, nil, err
	}
	return t, env, nil
}

// errRefused is the error of a grant whose upstream refresh token the
// provider refused.
var errRefused = fmt.Errorf("%w (the identity provider refused to refresh them)", ErrReauthorizationRequired)

// AccessToken returns a usable upstream access token for grantID,
// refreshing it first when it is due (see fresh). Refreshes are
// single-flight: one per grant in this process, and one across instances
// through the store's lease, while the others wait for its result. While
// the provider cannot be reached or fails, a token that has not expired yet
// is returned.
//
// It returns an error wrapping [ErrReauthorizationRequired] when there are
// no upstream tokens for the grant or the provider refused the refresh
// token (or there is none and the access token expired); the grant is then
// revoked (see [BrokerOptions].Grants), so that the MCP client's tokens stop
// working and the client authorizes again. [ErrVaultKey] reports an entry
// sealed with a key that is not configured (the entry is left untouched,
// the grant too).
func (b *Broker) AccessToken(ctx context.Context, grantID string) (string, error) {
	if grantID == "" {
		return "", fmt.Errorf("%w (the request carries no grant)", ErrReauthorizationRequired)
	}
	t, _, err := b.load(ctx, grantID)
	if errors.Is(err, ErrReauthorizationRequired) {
		b.endGrant(ctx, grantID, "no upstream tokens are stored for the grant")
	}
	if err != nil {
		return "", err
	}
	if t.Refused {
		b.endGrant(ctx, grantID, "the identity provider refused to refresh the upstream tokens")
		return "", errRefused
	}
	// A token that cannot be renewed is used until it expires.
	if b.fresh(t) || (t.RefreshToken == "" && b.valid(t)) {
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

// Check tells whether the upstream tokens of grantID still stand, for the
// authorization server before it refreshes its own tokens of the grant: it
// does what AccessToken does (refreshing the upstream tokens when due) and
// returns its error. An error wrapping [ErrReauthorizationRequired] means
// the grant has ended (and was revoked); other errors (the provider or the
// store unreachable, [ErrVaultKey]) do not.
func (b *Broker) Check(ctx context.Context, grantID string) error {
	_, err := b.AccessToken(ctx, grantID)
	return err
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
		t, _, err := b.load(ctx, grantID)
		if err != nil {
			return "", err
		}
		if t.Refused {
			return "", errRefused
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
	t, env, err := b.load(ctx, grantID)
	if err != nil {
		return "", err
	}
	if t.Refused {
		return "", errRefused
	}
	if b.fresh(t) || (t.RefreshToken == "" && b.valid(t)) {
		return t.AccessToken, nil
	}
	nt, err := b.p.Refresh(ctx, t)
	if errors.Is(err, ErrRefused) {
		b.log.WarnContext(ctx, "upstream refresh refused: re-authorization required", "grant_id", grantID, "err", err)
		// Remember the refusal (for the instances that read the entry
		// before the revocation reaches them), then end the grant, which
		// removes the entry.
		t.Refused = true
		if renv, serr := b.seal(PurposeTokens, t, grantID); serr == nil {
			if uerr := b.vault.UpdateVault(ctx, grantID, env, renv); uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
				b.log.WarnContext(ctx, "recording the refused refresh failed", "grant_id", grantID, "err", uerr)
			}
		}
		b.endGrant(ctx, grantID, "the identity provider refused to refresh the upstream tokens")
		return "", errRefused
	}
	if err != nil {
		if b.valid(t) && !errors.Is(err, ErrIdentity) {
			b.log.WarnContext(ctx, "upstream refresh failed; the upstream access token has not expired and is used meanwhile",
				"grant_id", grantID, "expiry", t.Expiry, "err", err)
			return t.AccessToken, nil
		}
		b.log.ErrorContext(ctx, "upstream refresh failed", "grant_id", grantID, "err", err)
		return "", err
	}
	nenv, err := b.seal(PurposeTokens, nt, grantID)
	if err != nil {
		b.log.ErrorContext(ctx, "sealing refreshed upstream tokens failed; they are not stored", "grant_id", grantID, "err", err)
		return nt.AccessToken, nil
	}
	if err := b.storeRefreshed(ctx, grantID, env, nenv); errors.Is(err, ErrReauthorizationRequired) {
		return "", err
	}
	b.log.InfoContext(ctx, "upstream tokens refreshed", "grant_id", grantID, "upstream_at_fp", logging.Fingerprint(nt.AccessToken),
		"rotated", nt.RefreshToken != t.RefreshToken, "expiry", nt.Expiry, "vault_key", b.keys.KeyID())
	return nt.AccessToken, nil
}

// Writing refreshed tokens: attempts, and the pause before the second one
// (doubling for each further one).
const (
	writeAttempts   = 3
	writeRetryPause = 50 * time.Millisecond
)

// storeRefreshed replaces the entry read as old with the refreshed entry
// nenv (compare-and-swap), trying again when the store fails: the provider
// may have rotated the refresh token, and losing the new one means the user
// signs in again at the next refresh. The new access token is good whatever
// happens here, so only a grant revoked meanwhile (an error wrapping
// ErrReauthorizationRequired) stops the caller from using it; other
// failures are logged and returned.
func (b *Broker) storeRefreshed(ctx context.Context, grantID string, old, nenv []byte) error {
	pause := writeRetryPause
	var err error
retry:
	for attempt := 1; ; attempt++ {
		err = b.vault.UpdateVault(ctx, grantID, old, nenv)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("%w (the grant was revoked)", ErrReauthorizationRequired)
		case errors.Is(err, store.ErrConflict):
			// An earlier attempt may have been stored with its reply
			// lost; otherwise another writer changed the entry (a lease
			// that lapsed during a slow refresh) and its write is kept.
			if cur, gerr := b.vault.GetVault(ctx, grantID); gerr == nil && bytes.Equal(cur, nenv) {
				return nil
			}
			b.log.WarnContext(ctx, "the vault entry changed while its upstream tokens were refreshed; the other write is kept", "grant_id", grantID)
			return err
		}
		if attempt == writeAttempts {
			break retry
		}
		b.log.WarnContext(ctx, "storing refreshed upstream tokens failed; trying again", "grant_id", grantID, "attempt", attempt, "err", err)
		timer := time.NewTimer(pause)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			break retry
		}
		pause *= 2
	}
	b.log.ErrorContext(ctx, "storing refreshed upstream tokens failed; the new upstream access token is used, and the next upstream refresh may require the user to sign in again",
		"grant_id", grantID, "err", err)
	return err
}

// endGrant revokes grantID, whose upstream tokens are gone or refused, so
// that the MCP client's tokens stop working (401 at the MCP endpoint,
// invalid_grant at the token endpoint) and the client runs the
// authorization flow again, which signs the user in at the provider anew:
// access ends when the provider ends it. The store records the revocation
// in its log (every instance learns it within its sync interval), and
// BrokerOptions.Revoked tells this process at once.
func (b *Broker) endGrant(ctx context.Context, grantID, reason string) {
	if b.grants == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	g, err := b.grants.GetGrant(ctx, grantID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			b.log.ErrorContext(ctx, "reading the grant to revoke failed", "grant_id", grantID, "err", err)
		}
		return
	}
	if !g.RevokedAt.IsZero() {
		return
	}
	if err := b.grants.RevokeGrant(ctx, grantID); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			b.log.ErrorContext(ctx, "revoking the grant failed; its tokens work until the next attempt", "grant_id", grantID, "err", err)
		}
		return
	}
	b.log.WarnContext(ctx, "grant revoked: the user must sign in at the identity provider again", "event", "revocation",
		"grant_id", grantID, "client_id", g.ClientID, "sub", g.Subject, "reason", reason)
	if b.revoked != nil {
		b.revoked(store.Revocation{Kind: store.RevokedGrant, ID: grantID, ExpiresAt: g.ExpiresAt})
	}
}
