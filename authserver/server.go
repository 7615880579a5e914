// Package authserver is the embedded OAuth 2.1 authorization server of
// orchestrated/local mode: discovery (RFC 8414), the authorization endpoint
// with its login and consent pages, the token endpoint, dynamic client
// registration (RFC 7591) with its client configuration endpoint (RFC 7592)
// and the JWKS of its signing keys.
//
// It exists so that an MCP client can connect to a frontmcp server with no
// other infrastructure: discover the authorization server from the protected
// resource metadata, register, log a user in with PKCE and obtain short-lived,
// audience-bound access tokens that it refreshes with rotation, following the
// MCP authorization specification (2025-06-18, 2025-11-25), OAuth 2.1 and RFC 9700.
//
// The pure rules (PKCE, redirect matching, scopes, request parsing) live in
// package grant; token formats in package token; persistence in package store.
// This package is the HTTP layer that applies them, and renders every OAuth
// error in one place.
package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/go-jose/go-jose/v4"
)

// Endpoint paths, relative to the issuer.
const (
	PathAuthorize   = "/oauth/authorize"
	PathLogin       = "/oauth/login"
	PathConsent     = "/oauth/consent"
	PathToken       = "/oauth/token"
	PathRegister    = "/oauth/register"
	PathJWKS        = "/.well-known/jwks.json"
	PathASMetadata  = "/.well-known/oauth-authorization-server"
	PathOIDCMetdata = "/.well-known/openid-configuration"
)

// Lifetimes fixed by the specification or the production checklist.
const (
	// PendingTTL is how long an authorization request waits for login and consent.
	PendingTTL = 10 * time.Minute
	// CodeTTL is the lifetime of an authorization code (checklist: 60 s;
	// RFC 6749 §4.1.2 recommends at most 10 minutes).
	CodeTTL = 60 * time.Second
)

// Identity is an authenticated user.
type Identity struct {
	// Subject is the stable user identifier that becomes the token's "sub".
	Subject string
	// Claims are extra claims copied into access tokens (never "sub", "iss",
	// "aud" or other registered claims).
	Claims map[string]any
}

// ErrBadCredentials is returned by an Authenticator for an unknown user or a
// wrong password; the login page shows one generic message for both.
var ErrBadCredentials = errors.New("authserver: invalid username or password")

// Authenticator checks a username and password typed on the login page.
// It returns ErrBadCredentials when they do not match; any other error is a
// server failure.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (*Identity, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, username, password string) (*Identity, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, username, password string) (*Identity, error) {
	return f(ctx, username, password)
}

// Options configure an authorization server. Fields marked required must be set.
type Options struct {
	// Issuer is the public base URL, byte for byte the "issuer" of the
	// metadata (RFC 8414 §2, §3.3) and the "iss" of tokens and authorization
	// responses (RFC 9207). Required.
	Issuer string
	// Resource is the canonical URL of the protected MCP endpoint (RFC 8707
	// §2): the only accepted "resource" and the "aud" of every access token.
	// Required.
	Resource string
	// Store persists pending requests, codes, grants and dynamic clients. Required.
	Store store.Store
	// Keys supplies the signing key and the JWKS; it may change them at any
	// time (key rotation). Required unless Signer is set.
	Keys KeySource
	// Signer signs access tokens when Keys is nil: a fixed key.
	Signer *token.Signer
	// PublicKeys are published in the JWKS when Keys is nil: the signer's key
	// and any other keys tokens may still be verified with. Nil means the
	// signer's key only.
	PublicKeys []jose.JSONWebKey
	// Authenticator checks logins. Required unless Federation is set.
	Authenticator Authenticator
	// Federation, when set, logs users in at an upstream identity
	// provider instead of the login page (orchestrated/remote mode; see
	// federation.go).
	Federation Federation
	// Clients are pre-registered clients (from configuration). They are
	// looked up before dynamically registered ones and cannot be replaced by
	// registration. SecretHash holds token.Hash of the secret.
	Clients []*store.Client
	// Scopes are the scopes this server offers (RFC 8414 scopes_supported).
	// Requests for other scopes get invalid_scope.
	Scopes []string
	// Consent shows the consent page after login, unless the user already
	// holds an active grant for the client covering the request (see
	// consent.go).
	Consent bool
	// ClientMetadata resolves URL client ids (Client ID Metadata Documents;
	// package cimd's Fetcher). Nil: a URL client id is looked up in the
	// registry like any other, and is unknown.
	ClientMetadata ClientResolver
	// RegistrationEnabled serves dynamic client registration (RFC 7591)
	// and the client configuration endpoint (RFC 7592).
	RegistrationEnabled bool
	// Registration restricts dynamic client registration; the zero value
	// restricts nothing.
	Registration RegistrationPolicy
	// AccessTokenTTL is the access-token lifetime. Required (> 0).
	AccessTokenTTL time.Duration
	// RefreshEnabled issues refresh tokens.
	RefreshEnabled bool
	// RefreshTokenTTL is the lifetime of each refresh token. Required when
	// RefreshEnabled.
	RefreshTokenTTL time.Duration
	// RotateRefreshTokens replaces the refresh token on every use. Public
	// clients are always rotated (OAuth 2.1 §4.3.1).
	RotateRefreshTokens bool
	// RefreshReuseGrace lets the refresh token replaced by a rotation be
	// presented again for this long as a retry after a lost reply (see
	// store.Grant.Rotate); zero means every reuse revokes the grant (RFC 9700
	// §4.14.2). Capped at store.MaxRefreshReuseGrace. It is recorded in each
	// grant when the grant is created.
	RefreshReuseGrace time.Duration
	// GrantLifetime is the absolute lifetime of a grant: no refresh extends
	// access past it. Required (> 0).
	GrantLifetime time.Duration
	// ServerName is shown on the login and consent pages.
	ServerName string
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Revoked, when set, is told of each revocation this server has stored
	// (the revocation endpoint, refresh token reuse, a replayed code), so
	// that a resource server in the same process refuses the tokens at once
	// instead of at its next read of the store's revocation log (see
	// revoke.go).
	Revoked func(store.Revocation)
}

// KeySource supplies the key that signs now and the published key set
// (package keys' Manager is one, with rotation).
type KeySource interface {
	Signer() *token.Signer
	JWKS() []byte
}

// fixedKeySource is a KeySource of one signer and a fixed JWKS.
type fixedKeySource struct {
	signer *token.Signer
	jwks   []byte
}

func (f *fixedKeySource) Signer() *token.Signer { return f.signer }
func (f *fixedKeySource) JWKS() []byte          { return f.jwks }

func fixedKeys(signer *token.Signer, public []jose.JSONWebKey) (*fixedKeySource, error) {
	if public == nil {
		public = []jose.JSONWebKey{signer.PublicKey()}
	}
	jwks, err := json.Marshal(token.PublicJWKS(public...))
	if err != nil {
		return nil, fmt.Errorf("authserver: JWKS: %w", err)
	}
	return &fixedKeySource{signer: signer, jwks: jwks}, nil
}

// Server is the authorization server. Mount it with Register.
type Server struct {
	opts    Options
	clients map[string]*store.Client // pre-registered, by ID
	keys    KeySource
	log     *slog.Logger
	secure  bool // issuer is https: Secure, __Host- cookies
	pages   *pages
	reg     *registrationPolicy
	// clientCache keeps registered clients for refresh_token requests
	// (clientcache.go).
	clientCache *clientCache
	// grantCache keeps what refreshes check of each grant (grantcache.go).
	grantCache *grantCache
}

// New checks opts and builds the server.
func New(opts *Options) (*Server, error) {
	if opts == nil {
		return nil, errors.New("authserver: nil Options")
	}
	o := *opts
	switch {
	case o.Issuer == "":
		return nil, errors.New("authserver: Issuer is required")
	case o.Resource == "":
		return nil, errors.New("authserver: Resource is required")
	case o.Store == nil:
		return nil, errors.New("authserver: Store is required")
	case o.Keys == nil && o.Signer == nil:
		return nil, errors.New("authserver: Keys or Signer is required")
	case o.Authenticator == nil && o.Federation == nil:
		return nil, errors.New("authserver: Authenticator or Federation is required")
	case o.AccessTokenTTL <= 0:
		return nil, errors.New("authserver: AccessTokenTTL must be positive")
	case o.GrantLifetime <= 0:
		return nil, errors.New("authserver: GrantLifetime must be positive")
	case o.RefreshEnabled && o.RefreshTokenTTL <= 0:
		return nil, errors.New("authserver: RefreshTokenTTL must be positive when refresh is enabled")
	}
	iss, err := url.Parse(o.Issuer)
	if err != nil || (iss.Scheme != "https" && iss.Scheme != "http") || iss.Host == "" || iss.RawQuery != "" || iss.Fragment != "" {
		return nil, fmt.Errorf("authserver: Issuer %q must be an absolute http(s) URL without query or fragment (RFC 8414 §2)", o.Issuer)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: o, log: o.Logger, secure: iss.Scheme == "https", clients: make(map[string]*store.Client, len(o.Clients))}
	s.clientCache = newClientCache(o.Clock)
	s.grantCache = newGrantCache(o.Clock)
	for _, c := range o.Clients {
		if c.ID == "" {
			return nil, errors.New("authserver: a pre-registered client has no ID")
		}
		if _, dup := s.clients[c.ID]; dup {
			return nil, fmt.Errorf("authserver: client %q registered twice", c.ID)
		}
		s.clients[c.ID] = c
	}
	if s.keys = o.Keys; s.keys == nil {
		if s.keys, err = fixedKeys(o.Signer, o.PublicKeys); err != nil {
			return nil, err
		}
	}
	if s.reg, err = newRegistrationPolicy(o.Registration); err != nil {
		return nil, err
	}
	if s.pages, err = newPages(o.ServerName); err != nil {
		return nil, err
	}
	return s, nil
}

// Register mounts every endpoint on mux (paths relative to the issuer; the
// issuer must be the server's root).
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc(PathASMetadata, s.handleMetadata)
	mux.HandleFunc(PathOIDCMetdata, s.handleMetadata)
	mux.HandleFunc(PathJWKS, s.handleJWKS)
	mux.HandleFunc(PathAuthorize, s.handleAuthorize)
	if s.opts.Federation != nil {
		mux.HandleFunc(PathLogin, s.handleUpstreamLogin)
		mux.HandleFunc(PathUpstreamCallback, s.handleUpstreamCallback)
	} else {
		mux.HandleFunc(PathLogin, s.handleLogin)
	}
	mux.HandleFunc(PathConsent, s.handleConsent)
	mux.HandleFunc(PathToken, s.handleToken)
	mux.HandleFunc(PathRevoke, s.handleRevoke)
	mux.HandleFunc(PathIntrospect, s.handleIntrospect)
	if s.opts.RegistrationEnabled {
		mux.HandleFunc(PathRegister, s.handleRegister)
		mux.HandleFunc(PathRegister+"/{client_id}", s.handleClientConfiguration)
	}
}

func (s *Server) now() time.Time { return s.opts.Clock() }

// endpoint returns the absolute URL of a path on this server.
func (s *Server) endpoint(path string) string {
	return strings.TrimRight(s.opts.Issuer, "/") + path
}

// lookupClient returns a pre-registered client, else the client of a URL
// client id's metadata document (when ClientMetadata is set; failures are
// *clientMetadataError), else a registered one. Unknown clients are
// store.ErrNotFound.
func (s *Server) lookupClient(ctx context.Context, id string) (*store.Client, error) {
	if c, ok := s.clients[id]; ok {
		return c, nil
	}
	if id == "" {
		return nil, store.ErrNotFound
	}
	if s.isMetadataClient(id) {
		return s.resolveMetadataClient(ctx, id)
	}
	return s.opts.Store.GetClient(ctx, id)
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeOAuthError renders an OAuth error response (RFC 6749 §5.2, RFC 7591
// §3.2.2) with the status grant.Error.HTTPStatus gives. Token-endpoint
// callers set Cache-Control: no-store and any WWW-Authenticate before.
func writeOAuthError(w http.ResponseWriter, e *grant.Error) {
	writeJSON(w, e.HTTPStatus(), e)
}

// storeError maps a store failure to an OAuth error: unavailability becomes
// temporarily_unavailable (503), anything else server_error. It logs err.
func (s *Server) storeError(ctx context.Context, op string, err error) *grant.Error {
	s.log.ErrorContext(ctx, "store operation failed", "op", op, "err", err)
	if errors.Is(err, store.ErrUnavailable) {
		return grant.Errorf(grant.CodeTemporarilyUnavailable, "the authorization server's storage is unavailable; retry later")
	}
	return grant.Errorf(grant.CodeServerError, "internal error")
}
