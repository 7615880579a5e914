package resource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/resource/jwks"
	"github.com/frontmcp-go/frontmcp/token"
)

// KeySource supplies the signing keys of an external identity provider to a
// [TransparentVerifier]. *jwks.Set (fetched and cached) and *jwks.Static
// (configured inline) implement it.
type KeySource interface {
	// Keys returns the keys to verify a token with. An error means no
	// usable keys: verification fails closed.
	Keys(ctx context.Context) (*token.Verifier, error)
	// Refresh is called when a token names a key id that seen lacks. It
	// returns newer keys if there are any, fetching them when its rate
	// limit allows, and seen itself otherwise.
	Refresh(ctx context.Context, seen *token.Verifier) (*token.Verifier, error)
}

var (
	_ KeySource = (*jwks.Set)(nil)
	_ KeySource = (*jwks.Static)(nil)
)

// TransparentVerifierOptions configure a [TransparentVerifier]. Fields
// marked required must be set.
type TransparentVerifierOptions struct {
	// Keys supplies the identity provider's signing keys. Required.
	Keys KeySource
	// Issuer is the identity provider's issuer URL; each token's "iss" must
	// equal it or one of AdditionalIssuers, exactly. Required.
	Issuer string
	// AdditionalIssuers are further accepted "iss" values.
	AdditionalIssuers []string
	// Audience must be among each token's "aud" (config
	// auth.expectedAudience). Required: a resource server that does not
	// check the audience accepts tokens the provider issued for any other
	// service (RFC 9068 §4, RFC 8707 §1).
	Audience string
	// RequireTyp requires the "typ" header at+jwt (RFC 9068 §2.1, §4) and
	// with it the RFC 9068 §2.2 claims. When false, tokens typed at+jwt,
	// JWT or not typed are accepted, as many providers issue them, and a
	// JWT explicitly typed for another purpose (such as an ID token typed
	// id_token+jwt) is still refused (RFC 8725 §3.11).
	RequireTyp bool
	// Leeway is the allowed clock skew for exp, nbf and iat. Zero means
	// none.
	Leeway time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// TransparentVerifier verifies the JWT access tokens of an external identity
// provider (transparent mode), by the rules of RFC 9068 §4 and RFC 8725:
//
//   - the signature, by the key the "kid" header names in the provider's
//     current key set, with an asymmetric algorithm that fits that key
//     ("none" and HMAC are refused, as are RSA keys under 2048 bits); key
//     material named or embedded in the token ("jku", "x5u", "jwk", "x5c")
//     is never used;
//   - a token naming a key id the cached set lacks makes the [KeySource]
//     fetch the set once more (rate-limited), so a provider's new key is
//     accepted without a restart;
//   - "iss" exactly, "aud" containing the expected audience, "exp" and "nbf"
//     with leeway, "sub" present, "typ" as RequireTyp says.
//
// The principal has Subject = sub, ClientID = client_id (or azp), Scopes =
// scope (or scp, as a string or an array), ExpiresAt = exp and Claims = the
// token's other claims. It is safe for concurrent use, and it implements
// [CacheableVerifier]: a cached outcome is used only while the key that
// signed the token is still published.
type TransparentVerifier struct {
	keys KeySource
	want token.VerifyOptions
	now  func() time.Time
}

// NewTransparentVerifier checks opts and returns a TransparentVerifier.
func NewTransparentVerifier(opts *TransparentVerifierOptions) (*TransparentVerifier, error) {
	switch {
	case opts == nil:
		return nil, errors.New("resource: nil TransparentVerifierOptions")
	case opts.Keys == nil:
		return nil, errors.New("resource: TransparentVerifierOptions.Keys is required")
	case opts.Issuer == "":
		return nil, errors.New("resource: TransparentVerifierOptions.Issuer is required")
	case opts.Audience == "":
		return nil, errors.New("resource: TransparentVerifierOptions.Audience is required: without it tokens issued for other services are accepted")
	case opts.Leeway < 0:
		return nil, errors.New("resource: TransparentVerifierOptions.Leeway is negative")
	case slices.Contains(opts.AdditionalIssuers, ""):
		return nil, errors.New("resource: TransparentVerifierOptions.AdditionalIssuers has an empty issuer")
	}
	v := &TransparentVerifier{
		keys: opts.Keys,
		want: token.VerifyOptions{
			Issuer:            opts.Issuer,
			AdditionalIssuers: slices.Clone(opts.AdditionalIssuers),
			Audience:          opts.Audience,
			Leeway:            opts.Leeway,
		},
		now: opts.Clock,
	}
	if opts.RequireTyp {
		v.want.RequireTyp = token.TypAccessToken
	} else {
		v.want.AcceptTyp = []string{token.TypAccessToken, "JWT", ""}
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// Verify checks raw and returns its principal. A refused token yields a
// [*TokenError]; when no usable keys can be had (the provider has been
// unreachable past the stale limit) the error wraps jwks.ErrUnavailable and
// the middleware answers 503.
func (v *TransparentVerifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	vd, err := v.VerifyCacheable(ctx, raw)
	if err != nil {
		return nil, err
	}
	return vd.Principal, nil
}

// VerifyCacheable is Verify for a [CachedVerifier]: its Recheck refuses the
// cached outcome once the provider no longer publishes the key that signed
// the token, and fails closed when the provider's keys are unavailable.
func (v *TransparentVerifier) VerifyCacheable(ctx context.Context, raw string) (*Verified, error) {
	keys, err := v.keys.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("resource: identity provider keys: %w", err)
	}
	want := v.want
	want.Now = v.now()
	c, kid, err := keys.VerifyKeyID(raw, want)
	if errors.Is(err, token.ErrUnknownKey) {
		// The provider may have started signing with a new key.
		newer, rerr := v.keys.Refresh(ctx, keys)
		if rerr != nil {
			return nil, fmt.Errorf("resource: identity provider keys: %w", rerr)
		}
		if newer != keys {
			keys = newer
			c, kid, err = keys.VerifyKeyID(raw, want)
		}
	}
	if err != nil {
		return nil, invalidToken(describeExternal(err), err)
	}
	p, err := externalPrincipal(c)
	if err != nil {
		return nil, err
	}
	signedBy := keys
	return &Verified{
		Principal: p,
		Recheck: func(ctx context.Context) error {
			cur, err := v.keys.Keys(ctx)
			if err != nil {
				return fmt.Errorf("resource: identity provider keys: %w", err)
			}
			if cur != signedBy && !signedBy.SameKey(cur, kid) {
				return invalidToken("the key that signed the access token is no longer published", nil)
			}
			return nil
		},
	}, nil
}

// describeExternal is describe for tokens of an external provider.
func describeExternal(err error) string {
	switch {
	case errors.Is(err, token.ErrIssuer):
		return "the access token was not issued by the expected identity provider"
	case errors.Is(err, token.ErrType):
		return "the token is not an access token (its typ header names another kind of JWT)"
	}
	return describe(err)
}

// externalPrincipal maps verified claims to a principal.
func externalPrincipal(c *token.Claims) (*Principal, error) {
	if c.Subject == "" {
		return nil, invalidToken("the access token has no subject", nil)
	}
	p := &Principal{Subject: c.Subject, ClientID: c.ClientID, ExpiresAt: c.ExpiresAt}
	if p.ClientID == "" {
		// OpenID Connect's authorized party; Keycloak, Auth0 and Entra
		// put the client there.
		p.ClientID, _ = c.Extra["azp"].(string)
	}
	scope := c.Scope
	if scope == "" {
		// Okta and Entra: "scp", a string or an array of strings.
		switch s := c.Extra["scp"].(type) {
		case string:
			scope = s
		case []any:
			for _, e := range s {
				str, ok := e.(string)
				if !ok {
					return nil, invalidToken("the access token has a malformed scp claim", nil)
				}
				scope += " " + str
			}
		case nil:
		default:
			return nil, invalidToken("the access token has a malformed scp claim", nil)
		}
	}
	scopes, err := grant.ParseScope(scope)
	if err != nil {
		return nil, invalidToken("the access token has a malformed scope", err)
	}
	p.Scopes = scopes
	if len(c.Extra) > 0 {
		p.Claims = maps.Clone(c.Extra)
	}
	return p, nil
}

// RequireScopes returns next protected so that every request needs a token
// holding all of scopes (config auth.transparent.requiredScopes). Wrap the
// result with [Middleware.Wrap], which sets the principal it checks:
//
//	h, err := mw.RequireScopes(streamable, "mcp:access")
//	handler := mw.Wrap(h)
//
// A token lacking a scope gets 403 with error="insufficient_scope" and a
// scope parameter naming the granted scopes plus the missing ones (RFC 6750
// §3.1, MCP step-up authorization); a request without a token (possible only
// with AllowAnonymous) gets 401 naming the scopes to request. It fails if a
// scope is not a valid scope token or, when ScopesSupported is set, not one
// of them.
func (m *Middleware) RequireScopes(next http.Handler, scopes ...string) (http.Handler, error) {
	required, err := checkScopes(scopes)
	if err != nil {
		return nil, fmt.Errorf("resource: RequireScopes: %w", err)
	}
	if len(m.supported) > 0 {
		for _, s := range required {
			if !slices.Contains(m.supported, s) {
				return nil, fmt.Errorf("resource: RequireScopes: scope %q is not one of the supported scopes", s)
			}
		}
	}
	if len(required) == 0 {
		return next, nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			m.refuse(w, r, http.StatusUnauthorized, "", "", grant.FormatScope(required), nil)
			return
		}
		var missing []string
		for _, s := range required {
			if !slices.Contains(p.Scopes, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			m.refuse(w, r, http.StatusForbidden, grant.CodeInsufficientScope,
				"the access token lacks scopes this server requires", stepUpScope(p.Scopes, missing),
				[]slog.Attr{slog.String("sub", p.Subject), slog.String("client_id", p.ClientID)})
			return
		}
		next.ServeHTTP(w, r)
	}), nil
}
