package resource

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// LocalVerifierOptions configure a [LocalVerifier]. Fields marked required must be set.
type LocalVerifierOptions struct {
	// Verifier holds the authorization server's public keys. Required unless
	// Keys is set.
	Verifier *token.Verifier
	// Keys supplies the current verifier when the keys rotate (package keys'
	// Manager); it is asked on every Verify, so a new key counts at once.
	Keys interface{ Verifier() *token.Verifier }
	// Issuer must equal each token's "iss" (the authorization server's
	// issuer URL). Required.
	Issuer string
	// Resource must be among each token's "aud" (the canonical MCP URL).
	// Required.
	Resource string
	// Leeway is the allowed clock skew for exp, nbf and iat. Zero means none.
	Leeway time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Revocations, when set, is the store's revocation log: a token whose
	// grant (claim "sid") or whose own "jti" is in it is refused, so
	// revoking a grant (RFC 7009 revocation of its refresh token, a reused
	// refresh token, a replayed code, the operator command) or one access
	// token stops it before it expires. Tokens without a grant id are then
	// refused too. The verifier keeps the log's live entries in memory, so
	// the check is a map lookup, not a store read: call SyncRevocations once
	// before serving and Run to follow the log. Nil skips the check.
	Revocations store.Revocations
	// PollInterval is how often Run reads new entries of the log; zero means
	// [DefaultPollInterval].
	PollInterval time.Duration
	// MaxStaleness bounds how long Verify goes on answering from the set
	// read last while reading the log fails: past it, counted from the last
	// successful read, every token is answered with an error wrapping
	// [store.ErrUnavailable] (503) and Ready reports an error, until a read
	// succeeds. Revocations made meanwhile by other instances or the
	// operator would otherwise go unnoticed for as long as the outage
	// lasts. Zero means [DefaultMaxStaleness]; negative means no bound.
	MaxStaleness time.Duration
	// Logger receives the failures of reading the log; nil discards them.
	Logger *slog.Logger
}

// LocalVerifier verifies the access tokens of the embedded authorization
// server (orchestrated/local mode): JWTs in the RFC 9068 profile, typed
// at+jwt, signed by one of its keys, for this resource. Use its Verify method
// as Options.Verifier. It is safe for concurrent use.
type LocalVerifier struct {
	keys     interface{ Verifier() *token.Verifier }
	issuer   string
	resource string
	leeway   time.Duration
	now      func() time.Time
	revs     *revocationSet // nil: no revocation check
}

// NewLocalVerifier checks opts and returns a LocalVerifier.
func NewLocalVerifier(opts *LocalVerifierOptions) (*LocalVerifier, error) {
	switch {
	case opts == nil:
		return nil, errors.New("resource: nil LocalVerifierOptions")
	case opts.Verifier == nil && opts.Keys == nil:
		return nil, errors.New("resource: LocalVerifierOptions.Verifier or Keys is required")
	case opts.Issuer == "":
		return nil, errors.New("resource: LocalVerifierOptions.Issuer is required")
	case opts.Resource == "":
		return nil, errors.New("resource: LocalVerifierOptions.Resource is required")
	case opts.Leeway < 0:
		return nil, errors.New("resource: LocalVerifierOptions.Leeway is negative")
	case opts.PollInterval < 0:
		return nil, errors.New("resource: LocalVerifierOptions.PollInterval is negative")
	}
	v := &LocalVerifier{
		keys:     opts.Keys,
		issuer:   opts.Issuer,
		resource: opts.Resource,
		leeway:   opts.Leeway,
		now:      opts.Clock,
	}
	if v.now == nil {
		v.now = time.Now
	}
	if opts.Revocations != nil {
		v.revs = newRevocationSet(opts.Revocations, opts.PollInterval, opts.Leeway, opts.MaxStaleness, v.now, opts.Logger)
	}
	if v.keys == nil {
		v.keys = fixedVerifier{opts.Verifier}
	}
	return v, nil
}

// Verify checks raw (RFC 9068 §4) and returns its principal: Subject = sub,
// ClientID = client_id, Scopes = scope, ExpiresAt = exp, GrantID = sid,
// TokenID = jti, Claims = the other non-registered claims. A token without a
// subject is refused, and with a revocation log, a revoked one. Refusals wrap
// [ErrInvalidToken] in a [*TokenError]; before the log was first read, and
// once reading it has failed for longer than MaxStaleness, the error wraps
// [store.ErrUnavailable] (the middleware answers 503).
func (v *LocalVerifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	p, jti, err := v.verifyClaims(raw, v.keys.Verifier())
	if err != nil {
		return nil, err
	}
	if v.revs != nil {
		if err := v.revs.check(p.GrantID, jti); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// verifyClaims checks raw's signature with keys and its claims at the
// current time, and returns its principal and "jti".
func (v *LocalVerifier) verifyClaims(raw string, keys *token.Verifier) (*Principal, string, error) {
	c, err := keys.Verify(raw, token.VerifyOptions{
		Issuer:   v.issuer,
		Audience: v.resource,
		Now:      v.now(),
		Leeway:   v.leeway,
	})
	if err != nil {
		return nil, "", invalidToken(describe(err), err)
	}
	if c.Subject == "" {
		return nil, "", invalidToken("the access token has no subject", nil)
	}
	scopes, err := grant.ParseScope(c.Scope)
	if err != nil {
		return nil, "", invalidToken("the access token has a malformed scope", err)
	}
	p := &Principal{
		Subject:   c.Subject,
		ClientID:  c.ClientID,
		Scopes:    scopes,
		ExpiresAt: c.ExpiresAt,
		TokenID:   c.ID,
	}
	if sid, present := c.Extra[token.ClaimGrantID]; present {
		s, ok := sid.(string)
		if !ok || s == "" {
			return nil, "", invalidToken("the access token has a malformed grant id", nil)
		}
		p.GrantID = s
	}
	if len(c.Extra) > 0 {
		p.Claims = maps.Clone(c.Extra)
		delete(p.Claims, token.ClaimGrantID)
		if len(p.Claims) == 0 {
			p.Claims = nil
		}
	}
	return p, c.ID, nil
}

// describe turns a token verification error into a description for the
// client. It names the failed check, never the token or its claims.
func describe(err error) string {
	switch {
	case errors.Is(err, token.ErrExpired):
		return "the access token has expired"
	case errors.Is(err, token.ErrNotYetValid):
		return "the access token is not valid yet"
	case errors.Is(err, token.ErrAudience):
		return "the access token was not issued for this resource"
	case errors.Is(err, token.ErrIssuer):
		return "the access token was not issued by this server's authorization server"
	case errors.Is(err, token.ErrType):
		return "the token is not an access token (typ at+jwt)"
	case errors.Is(err, token.ErrSignature), errors.Is(err, token.ErrUnknownKey), errors.Is(err, token.ErrAlgorithm):
		return "the access token signature is not valid"
	case errors.Is(err, token.ErrMissingClaim):
		return "the access token lacks a required claim"
	case errors.Is(err, token.ErrMalformed):
		return "the access token is malformed"
	default:
		return "the access token is invalid"
	}
}

// fixedVerifier is a key source that never changes.
type fixedVerifier struct{ v *token.Verifier }

func (f fixedVerifier) Verifier() *token.Verifier { return f.v }
