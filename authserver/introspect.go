package authserver

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// PathIntrospect is the introspection endpoint (RFC 7662 §2), relative to the
// issuer.
const PathIntrospect = "/oauth/introspect"

// introspection is an introspection response (RFC 7662 §2.2). An inactive
// token is {"active": false} and nothing else.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	NotBefore int64  `json:"nbf,omitempty"`
	Audience  string `json:"aud,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	JWTID     string `json:"jti,omitempty"`
	// GrantID is the grant the token belongs to (the access token's "sid").
	GrantID string `json:"sid,omitempty"`
}

var inactive = &introspection{}

// handleIntrospect is the token introspection endpoint (RFC 7662 §2).
//
// Only authenticated confidential clients may call it (client_secret_basic
// or client_secret_post; RFC 7662 §2.1 requires authorization, §4 guards
// against token scanning): a resource server is registered as such a
// client. A public client, or a caller without valid credentials, gets 401
// invalid_client with a Basic challenge.
//
// The answer is {"active": false} for every token that is not usable now —
// unknown, malformed, expired, revoked (itself or through its grant),
// rotated out, or issued by another server — without saying which. An
// active access token is described by its claims (token_type "Bearer",
// scope, client_id, sub, exp, iat, nbf, aud, iss, jti, sid). An active refresh
// token gets scope, client_id, sub, exp (the refresh token's expiry), aud,
// iss and sid, and no token_type (RFC 6749 §5.1 types are access token
// types).
//
// What a client may see (RFC 7662 §4 leaves it to the server): access tokens
// are described to any confidential client, since a resource server
// introspects the tokens of other clients and an access token's claims are
// readable by whoever holds it anyway; a refresh token is described only to
// the client it was issued to, and is inactive for everyone else, so a
// stolen refresh token cannot be checked without being used (which reuse
// detection watches). Revocation of an access token is looked up in the
// store (the grant and the token's entry in the revocation log), so the
// answer does not wait for any poll interval. Responses carry Cache-Control:
// no-store; a store failure is 503 temporarily_unavailable.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	if !acceptPOST(w, r, "introspection", false) {
		return
	}
	resp, e := s.introspect(r)
	if e != nil {
		s.writeEndpointError(w, r, e, true)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// introspect runs one introspection request.
func (s *Server) introspect(r *http.Request) (*introspection, *grant.Error) {
	client, raw, e := s.parseTokenParam(r)
	if e != nil {
		return nil, e
	}
	ctx := r.Context()
	if isPublicClient(client) {
		s.log.InfoContext(ctx, "introspection refused to a public client", "client_id", client.ID)
		return nil, grant.Errorf(grant.CodeInvalidClient, "introspection requires an authenticated confidential client")
	}
	now := s.now()
	switch classifyToken(raw) {
	case kindRefresh:
		return s.introspectRefresh(ctx, client, raw, now)
	case kindAccess:
		return s.introspectAccess(ctx, raw, now)
	}
	return inactive, nil
}

// introspectAccess describes an access token: signed by this server for its
// resource, unexpired, its grant active and the token itself not revoked.
func (s *Server) introspectAccess(ctx context.Context, raw string, now time.Time) (*introspection, *grant.Error) {
	c, ok := s.verifyAccessToken(ctx, raw)
	if !ok {
		return inactive, nil
	}
	grantID, _ := c.Extra[token.ClaimGrantID].(string)
	if grantID == "" || c.ID == "" {
		return inactive, nil // not revocable, so not vouched for
	}
	g, err := s.opts.Store.GetGrant(ctx, grantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return inactive, nil
	case err != nil:
		return nil, s.storeError(ctx, "get grant", err)
	}
	if !g.Active(now) {
		return inactive, nil
	}
	switch revoked, err := s.opts.Store.TokenRevoked(ctx, c.ID); {
	case err != nil:
		return nil, s.storeError(ctx, "token revoked", err)
	case revoked:
		return inactive, nil
	}
	out := &introspection{
		Active:    true,
		Scope:     c.Scope,
		ClientID:  c.ClientID,
		Subject:   c.Subject,
		TokenType: "Bearer",
		ExpiresAt: c.ExpiresAt.Unix(),
		Issuer:    c.Issuer,
		JWTID:     c.ID,
		GrantID:   grantID,
		Audience:  s.opts.Resource,
	}
	if !c.IssuedAt.IsZero() {
		out.IssuedAt = c.IssuedAt.Unix()
	}
	if !c.NotBefore.IsZero() {
		out.NotBefore = c.NotBefore.Unix()
	}
	return out, nil
}

// introspectRefresh describes a refresh token to the client it was issued
// to: the current token of an active grant, unexpired.
func (s *Server) introspectRefresh(ctx context.Context, client *store.Client, raw string, now time.Time) (*introspection, *grant.Error) {
	grantID, secret, _ := token.SplitRefreshToken(raw)
	g, err := s.opts.Store.GetGrant(ctx, grantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return inactive, nil
	case err != nil:
		return nil, s.storeError(ctx, "get grant", err)
	}
	current := g.RefreshHash != "" && token.Equal(g.RefreshHash, token.Hash(secret))
	if !token.Equal(g.ClientID, client.ID) {
		if current {
			s.log.WarnContext(ctx, "introspection of another client's refresh token answered inactive", "event", "security", "client_id", client.ID, "grant_id", g.ID)
		}
		return inactive, nil
	}
	exp := g.RefreshExpiresAt
	if exp.IsZero() {
		exp = g.ExpiresAt
	}
	if !current || !g.Active(now) || !now.Before(exp) {
		return inactive, nil
	}
	return &introspection{
		Active:    true,
		Scope:     grant.FormatScope(g.Scopes),
		ClientID:  g.ClientID,
		Subject:   g.Subject,
		ExpiresAt: exp.Unix(),
		Audience:  g.Resource,
		Issuer:    s.opts.Issuer,
		GrantID:   g.ID,
	}, nil
}
