package frontmcp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/federation"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// discoveryTimeout bounds the discovery of the upstream provider at startup.
const discoveryTimeout = 15 * time.Second

// setupRemote prepares orchestrated/remote mode: it discovers the upstream
// identity provider, builds the broker that keeps the provider's tokens in
// the vault, and makes them reachable from tool handlers (UpstreamToken). It
// returns the authorization server's Federation, or nil outside remote mode.
// revoked is told of the grants the broker revokes (their upstream tokens
// gone or refused), for this process's verifier.
func (s *Server) setupRemote(revoked func(store.Revocation)) (authserver.Federation, error) {
	cfg := s.cfg
	if !cfg.UsesRemote() {
		return nil, nil
	}
	ring, err := cfg.Auth.Vault.Keyring()
	if err != nil {
		return nil, err
	}
	if ring == nil {
		return nil, config.Errors{{Path: "auth.vault.key", Err: config.ErrValue,
			Msg: "must be set (or VAULT_KEY) for type remote: the identity provider's tokens are stored encrypted with it"}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), discoveryTimeout)
	defer cancel()
	r := &cfg.Auth.Remote
	p, err := federation.NewProvider(ctx, &federation.Options{
		Issuer:                cfg.Auth.Provider,
		ClientID:              r.ClientID,
		ClientSecret:          r.ClientSecret,
		RedirectURL:           cfg.UpstreamCallbackURL(),
		Scopes:                r.Scopes,
		AuthorizationEndpoint: r.AuthorizationEndpoint,
		TokenEndpoint:         r.TokenEndpoint,
		Resource:              cfg.Auth.ExpectedAudience,
		SubjectClaim:          r.SubjectClaim,
		CopyClaims:            r.CopyClaims,
		Clock:                 s.now,
	})
	if err != nil {
		return nil, fmt.Errorf("auth.provider: %w", err)
	}
	skew := time.Duration(cfg.Auth.Refresh.SkewSeconds) * time.Second
	if skew == 0 {
		skew = -1 // configured 0: refresh only once expired
	}
	b, err := federation.NewBroker(&federation.BrokerOptions{
		Provider: p,
		Keyring:  ring,
		Vault:    s.store,
		Grants:   s.store,
		Revoked:  revoked,
		Skew:     skew,
		Clock:    s.now,
		Logger:   s.log,
	})
	if err != nil {
		return nil, err
	}
	s.upstream = b
	s.mcp.AddReceivingMiddleware(s.upstreamMiddleware)
	kind := "OpenID Connect"
	if !p.OpenID() {
		kind = "OAuth 2.0 (RFC 8414; identity from RFC 9068 access tokens)"
	}
	s.log.Info("remote mode: users sign in at the identity provider; register this redirect URI there",
		"provider", cfg.Auth.Provider, "discovery", p.Metadata().Source, "protocol", kind,
		"redirect_uri", cfg.UpstreamCallbackURL(), "vault_key_id", ring.KeyID())
	return &federationAdapter{b}, nil
}

// Upstream returns the upstream identity provider of remote mode (its
// metadata names endpoints such as userinfo, and its HTTP client), or nil in
// other modes.
func (s *Server) Upstream() *federation.Provider {
	if s.upstream == nil {
		return nil
	}
	return s.upstream.Provider()
}

// federationAdapter presents a federation.Broker as the authorization
// server's Federation.
type federationAdapter struct{ b *federation.Broker }

func (f *federationAdapter) Start(_ context.Context, requestID, state string) (string, []byte, error) {
	return f.b.Start(requestID, state)
}

func (f *federationAdapter) CheckState(requestID string, login []byte, state string) error {
	return f.b.CheckState(requestID, login, state)
}

func (f *federationAdapter) Finish(ctx context.Context, requestID string, login []byte, q url.Values) (*authserver.Identity, []byte, error) {
	l, sealed, err := f.b.Finish(ctx, requestID, login, q)
	if err != nil {
		switch {
		case errors.Is(err, federation.ErrUnavailable):
			err = fmt.Errorf("%w: %w", authserver.ErrUpstreamUnavailable, err)
		case errors.Is(err, federation.ErrServerError):
			err = fmt.Errorf("%w: %w", authserver.ErrUpstreamServerError, err)
		case errors.Is(err, federation.ErrDenied):
			err = fmt.Errorf("%w: %w", authserver.ErrUpstreamDenied, err)
		}
		return nil, nil, err
	}
	return &authserver.Identity{Subject: l.Subject, Claims: l.Claims}, sealed, nil
}

func (f *federationAdapter) CheckGrant(ctx context.Context, grantID string) error {
	err := f.b.Check(ctx, grantID)
	if errors.Is(err, federation.ErrReauthorizationRequired) {
		err = fmt.Errorf("%w: %w", authserver.ErrUpstreamEnded, err)
	}
	return err
}

func (f *federationAdapter) Rebind(requestID, grantID string, sealed []byte) ([]byte, error) {
	return f.b.Rebind(requestID, grantID, sealed)
}

// upstreamMiddleware gives every MCP request handler's context what
// UpstreamToken needs: the broker and the request (whose principal names
// the grant).
func (s *Server) upstreamMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		return next(context.WithValue(ctx, upstreamKey{}, &upstreamCall{b: s.upstream, req: req}), method, req)
	}
}
