package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// PathRevoke is the revocation endpoint (RFC 7009 §2), relative to the issuer.
const PathRevoke = "/oauth/revoke"

// retryAfterSeconds is the Retry-After of a 503 from the revocation and
// introspection endpoints (RFC 7009 §2.2.1).
const retryAfterSeconds = "5"

// tokenKind is what a presented token is, told by its shape.
type tokenKind int

const (
	kindUnknown tokenKind = iota
	kindAccess            // a JWS compact serialization: our RFC 9068 access tokens
	kindRefresh           // "<grantID>.<secret>" (token.NewRefreshToken)
)

// classifyToken tells the two token formats of this server apart by their
// shape alone: a refresh token has one '.', a JWT two. Anything else is
// unknown. It neither verifies nor looks anything up.
func classifyToken(raw string) tokenKind {
	if _, _, ok := token.SplitRefreshToken(raw); ok {
		return kindRefresh
	}
	if strings.Count(raw, ".") == 2 && len(raw) <= maxTokenBody {
		return kindAccess
	}
	return kindUnknown
}

// handleRevoke is the token revocation endpoint (RFC 7009 §2).
//
// The client authenticates as at the token endpoint (RFC 7009 §2.1): a
// confidential client with its secret, a public client by its client_id. The
// "token" parameter is required; token_type_hint is accepted and not needed,
// since the two token formats differ in shape (unknown hint values are
// ignored, as hints are only hints, RFC 7009 §2.1).
//
//   - A refresh token revokes its whole grant: the refresh token and every
//     access token issued under it (RFC 7009 §2.1, "SHOULD also invalidate
//     all access tokens based on the same authorization grant"). A
//     rotated-out refresh token of the grant counts too.
//   - An access token (a JWT this server signed, not expired) is revoked
//     alone, until its exp; its grant and refresh token stay valid.
//
// Revocation is recorded in the store's revocation log, which every
// instance's resource server reads (within its poll interval) and this
// process's at once (Options.Revoked).
//
// The answer is 200 with an empty body whenever the client authenticated,
// also for an unknown, malformed, expired or already revoked token (RFC 7009
// §2.2) and for a token issued to another client, which is left untouched
// and logged as a security event. RFC 7009 §2.1 asks that this last request
// be "refused and the client informed of the error"; this server answers
// 200 on purpose: since invalid tokens must get 200 (§2.2), an error would
// only ever come for a live token of another client, and would tell whoever
// holds a stolen refresh token that it is valid without using it, which
// reuse detection would see (introspection hides refresh tokens of other
// clients for the same reason). Errors are JSON: invalid_request, invalid_client (401), and
// temporarily_unavailable (503, with Retry-After) when the store fails. Every
// response carries Cache-Control: no-store.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if !acceptPOST(w, r, "revocation", true) {
		return
	}
	if e := s.revoke(r); e != nil {
		s.writeEndpointError(w, r, e, false)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// writeEndpointError writes an error of the revocation or introspection
// endpoint: a Basic challenge with invalid_client when the client tried the
// Authorization header, or always when basic is set (RFC 6749 §5.2), and
// Retry-After with 503.
func (s *Server) writeEndpointError(w http.ResponseWriter, r *http.Request, e *grant.Error, basic bool) {
	if e.Code == grant.CodeInvalidClient && (basic || len(r.Header.Values("Authorization")) > 0) {
		w.Header().Set("WWW-Authenticate", basicChallenge)
	}
	if e.Code == grant.CodeTemporarilyUnavailable {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeOAuthError(w, e)
}

// parseTokenParam reads and authenticates a revocation or introspection
// request and returns its client and "token" parameter.
func (s *Server) parseTokenParam(r *http.Request) (*store.Client, string, *grant.Error) {
	form, e := grant.ParseTokenRequest(r, maxTokenBody)
	if e != nil {
		return nil, "", e
	}
	creds, e := grant.ParseClientCredentials(r, form)
	if e != nil {
		return nil, "", e
	}
	client, e := s.authenticateClient(r.Context(), creds)
	if e != nil {
		return nil, "", e
	}
	raw := form.Get("token")
	if raw == "" {
		return nil, "", grant.Errorf(grant.CodeInvalidRequest, "token is required")
	}
	return client, raw, nil
}

// revoke runs one revocation request.
func (s *Server) revoke(r *http.Request) *grant.Error {
	client, raw, e := s.parseTokenParam(r)
	if e != nil {
		return e
	}
	ctx := r.Context()
	switch classifyToken(raw) {
	case kindRefresh:
		return s.revokeRefresh(ctx, client, raw)
	case kindAccess:
		return s.revokeAccess(ctx, client, raw)
	}
	return nil
}

// revokeRefresh revokes the grant of a refresh token the client holds.
func (s *Server) revokeRefresh(ctx context.Context, client *store.Client, raw string) *grant.Error {
	grantID, secret, _ := token.SplitRefreshToken(raw)
	g, err := s.opts.Store.GetGrant(ctx, grantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return s.storeError(ctx, "get grant", err)
	}
	if !token.Equal(g.ClientID, client.ID) {
		s.log.WarnContext(ctx, "revocation of another client's refresh token ignored", "event", "security", "client_id", client.ID, "grant_id", g.ID)
		return nil
	}
	if !g.RevokedAt.IsZero() {
		return nil // already revoked
	}
	switch ok, e := s.refreshTokenOf(ctx, g, token.Hash(secret)); {
	case e != nil:
		return e
	case !ok:
		return nil // not a token of this grant
	}
	switch err := s.opts.Store.RevokeGrant(ctx, g.ID); {
	case errors.Is(err, store.ErrNotFound):
		return nil // expired meanwhile
	case err != nil:
		return s.storeError(ctx, "revoke grant", err)
	}
	s.log.InfoContext(ctx, "grant revoked by its client (RFC 7009)", "event", "revocation", "client_id", client.ID, "grant_id", g.ID)
	s.revoked(store.Revocation{Kind: store.RevokedGrant, ID: g.ID, ExpiresAt: g.ExpiresAt})
	return nil
}

// refreshTokenOf reports whether a refresh token whose secret hashes to h
// was issued for g: its current one (compared in constant time) or one that
// was rotated out, which the store keeps apart from the grant
// (Grants.PreviousRefreshHashes) and is read only when h is not the current
// one.
func (s *Server) refreshTokenOf(ctx context.Context, g *store.Grant, h string) (bool, *grant.Error) {
	if g.RefreshHash != "" && token.Equal(g.RefreshHash, h) {
		return true, nil
	}
	prev, err := s.opts.Store.PreviousRefreshHashes(ctx, g.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil // expired meanwhile
	case err != nil:
		return false, s.storeError(ctx, "get previous refresh hashes", err)
	}
	// The previous hashes are hashes of random secrets: a plain search
	// tells nothing about any secret (see store.Grant.Rotate).
	return slices.Contains(prev, h), nil
}

// revokeAccess revokes one access token the client holds.
func (s *Server) revokeAccess(ctx context.Context, client *store.Client, raw string) *grant.Error {
	c, ok := s.verifyAccessToken(ctx, raw)
	if !ok {
		return nil // not ours, or expired: nothing to revoke
	}
	if !token.Equal(c.ClientID, client.ID) {
		s.log.WarnContext(ctx, "revocation of another client's access token ignored", "event", "security", "client_id", client.ID, "token_client_id", c.ClientID)
		return nil
	}
	if c.ID == "" {
		return nil // without a jti it cannot be named; tokens of this server have one
	}
	if err := s.opts.Store.RevokeToken(ctx, c.ID, c.ExpiresAt); err != nil {
		return s.storeError(ctx, "revoke token", err)
	}
	grantID, _ := c.Extra[token.ClaimGrantID].(string)
	s.log.InfoContext(ctx, "access token revoked by its client (RFC 7009)", "event", "revocation", "client_id", client.ID, "grant_id", grantID, "jti", c.ID)
	s.revoked(store.Revocation{Kind: store.RevokedToken, ID: c.ID, ExpiresAt: c.ExpiresAt})
	return nil
}

// revocationMetadata is the metadata of the revocation and introspection
// endpoints.
func (s *Server) revocationMetadata() revocationMetadata {
	return revocationMetadata{
		RevocationEndpoint:                        s.endpoint(PathRevoke),
		RevocationEndpointAuthMethodsSupported:    []string{"none", "client_secret_basic", "client_secret_post"},
		IntrospectionEndpoint:                     s.endpoint(PathIntrospect),
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
	}
}

// revoked passes a stored revocation to Options.Revoked, and forgets a
// revoked grant's cached facts.
func (s *Server) revoked(r store.Revocation) {
	if r.Kind == store.RevokedGrant {
		s.grantCache.forget(r.ID)
	}
	if s.opts.Revoked != nil {
		s.opts.Revoked(r)
	}
}

// verifyAccessToken checks that raw is an access token this server signed
// for its resource and that it has not expired, and returns its claims.
// Failures are logged at debug level without the token.
func (s *Server) verifyAccessToken(ctx context.Context, raw string) (*token.Claims, bool) {
	v, err := s.accessTokenVerifier()
	if err != nil {
		s.log.ErrorContext(ctx, "building the access token verifier failed", "err", err)
		return nil, false
	}
	c, err := v.Verify(raw, token.VerifyOptions{Issuer: s.opts.Issuer, Audience: s.opts.Resource, Now: s.now()})
	if err != nil {
		s.log.DebugContext(ctx, "presented access token not accepted", "err", err)
		return nil, false
	}
	return c, true
}

// accessTokenVerifier returns a verifier of the keys this server's tokens
// may be signed with: the key source's own when it has one (package keys'
// Manager), else one built from the published JWKS.
func (s *Server) accessTokenVerifier() (*token.Verifier, error) {
	if kv, ok := s.keys.(interface{ Verifier() *token.Verifier }); ok {
		if v := kv.Verifier(); v != nil {
			return v, nil
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(s.keys.JWKS(), &set); err != nil {
		return nil, fmt.Errorf("authserver: decoding the JWKS: %w", err)
	}
	return token.NewVerifier(set.Keys...)
}
