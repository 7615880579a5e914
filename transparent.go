package frontmcp

import (
	"fmt"
	"net/http"

	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/resource"
	"github.com/frontmcp-go/frontmcp/resource/jwks"
)

// setupTransparent builds transparent mode: the server is a pure OAuth
// resource server for an external identity provider. It serves no /oauth/*
// endpoints; it verifies the provider's JWT access tokens against the
// provider's published keys (discovered from auth.provider, or
// auth.transparent.jwksUri, or the inline auth.transparent.jwks), requires
// auth.expectedAudience in "aud", and lists the provider in the protected
// resource metadata's authorization_servers (RFC 9728 §2), so that MCP
// clients obtain their tokens there. It returns next protected by the bearer
// middleware, with auth.transparent.requiredScopes demanded of every request.
func (s *Server) setupTransparent(mux *http.ServeMux, next http.Handler) (http.Handler, error) {
	a := &s.cfg.Auth
	t := &a.Transparent
	var keys resource.KeySource
	if len(t.JWKS) > 0 {
		st, err := jwks.NewStatic(t.JWKS)
		if err != nil {
			return nil, config.Errors{{Path: "auth.transparent.jwks", Err: config.ErrValue, Msg: err.Error()}}
		}
		keys = st
	} else {
		stale := t.JWKSCacheTTL.Stale
		if stale == 0 {
			stale = -1 // configured as none (the configuration's default is 24h)
		}
		set, err := jwks.New(&jwks.Options{
			Issuer:       a.Provider,
			JWKSURI:      t.JWKSURI,
			MinRefresh:   t.JWKSCacheTTL.Min,
			MaxAge:       t.JWKSCacheTTL.Max,
			Stale:        stale,
			RequireHTTPS: s.cfg.Environment == config.Production,
			Clock:        s.now,
			Logger:       s.log.With("component", "jwks"),
		})
		if err != nil {
			return nil, fmt.Errorf("auth.transparent: %w", err)
		}
		keys = set
	}
	// The issuers whose tokens are accepted, the provider first; without a
	// provider (keys configured directly) the first additional issuer.
	issuers := t.AdditionalIssuers
	if a.Provider != "" {
		issuers = append([]string{a.Provider}, issuers...)
	}
	if len(issuers) == 0 {
		return nil, config.Errors{{Path: "auth.provider", Err: config.ErrValue,
			Msg: "must be set, or auth.transparent.additionalIssuers, to name the issuer of accepted tokens"}}
	}
	tv, err := resource.NewTransparentVerifier(&resource.TransparentVerifierOptions{
		Keys:              keys,
		Issuer:            issuers[0],
		AdditionalIssuers: issuers[1:],
		Audience:          a.ExpectedAudience,
		RequireTyp:        t.RequireTyp,
		Leeway:            t.ClockLeeway,
		Clock:             s.now,
	})
	if err != nil {
		return nil, err
	}
	cached, err := resource.NewCachedVerifier(tv, &resource.CacheOptions{Clock: s.now})
	if err != nil {
		return nil, err
	}
	if err := s.setupResource(mux, issuers, cached); err != nil {
		return nil, err
	}
	h, err := s.bearer.RequireScopes(next, t.RequiredScopes...)
	if err != nil {
		return nil, config.Errors{{Path: "auth.transparent.requiredScopes", Err: config.ErrValue, Msg: err.Error()}}
	}
	return s.bearer.Wrap(h), nil
}
