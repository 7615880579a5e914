package authserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// maxTokenBody caps the body of a token request.
const maxTokenBody = grant.DefaultMaxTokenBody

// reservedClaims are claim names an identity's extra claims may not set:
// the registered claims of RFC 7519 §4.1 and RFC 9068 §2.2 and the claims this
// server sets itself. They are dropped, never overwritten.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true,
	"jti": true, "client_id": true, "scope": true, "auth_time": true, "cnf": true,
	token.ClaimGrantID: true,
}

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// appendJSON appends r as encoding/json encodes it (the struct tags above),
// without reflection: every successful token request ends here.
func (r *tokenResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"access_token":`...)
	b = token.AppendJSONString(b, r.AccessToken)
	b = append(b, `,"token_type":`...)
	b = token.AppendJSONString(b, r.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, r.ExpiresIn, 10)
	if r.Scope != "" {
		b = append(b, `,"scope":`...)
		b = token.AppendJSONString(b, r.Scope)
	}
	if r.RefreshToken != "" {
		b = append(b, `,"refresh_token":`...)
		b = token.AppendJSONString(b, r.RefreshToken)
	}
	return append(b, '}')
}

// writeTokenResponse writes a successful token response, as writeJSON
// would write it.
func writeTokenResponse(w http.ResponseWriter, r *tokenResponse) {
	body := r.appendJSON(make([]byte, 0, 96+len(r.AccessToken)+len(r.Scope)+len(r.RefreshToken)))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// handleToken is the token endpoint (RFC 6749 §3.2, OAuth 2.1 §3.2): the
// authorization_code grant (§4.1.3) and the refresh_token grant (§6, with the
// rotation and reuse detection of OAuth 2.1 §4.3.1 and RFC 9700 §4.14.2).
//
// Every response, errors included, carries Cache-Control: no-store and
// Pragma: no-cache (RFC 6749 §5.1) and is JSON. Browser clients may call it
// cross-origin; it never reads cookies.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if !acceptPOST(w, r, "token", true) {
		return
	}
	resp, e := s.token(r)
	if e != nil {
		// RFC 6749 §5.2: a client that tried the Authorization header gets
		// 401 with a challenge for its scheme.
		if e.Code == grant.CodeInvalidClient && len(r.Header.Values("Authorization")) > 0 {
			w.Header().Set("WWW-Authenticate", basicChallenge)
		}
		writeOAuthError(w, e)
		return
	}
	writeTokenResponse(w, resp)
}

// token runs one token request and returns the response or the error.
func (s *Server) token(r *http.Request) (*tokenResponse, *grant.Error) {
	ctx := r.Context()
	form, e := grant.ParseTokenRequest(r, maxTokenBody)
	if e != nil {
		return nil, e
	}
	creds, e := grant.ParseClientCredentials(r, form)
	if e != nil {
		return nil, e
	}
	gt := form.Get("grant_type")
	var (
		client *store.Client
		cached bool // client came from the cache (clientcache.go)
	)
	if gt == grantTypeRefreshToken && s.opts.RefreshEnabled {
		client, cached, e = s.authenticateRefreshClient(ctx, creds)
	} else {
		client, e = s.authenticateClient(ctx, creds)
	}
	if e != nil {
		return nil, e
	}
	switch {
	case gt == "":
		return nil, grant.Errorf(grant.CodeInvalidRequest, "grant_type is required")
	case gt != grantTypeAuthorizationCode && (gt != grantTypeRefreshToken || !s.opts.RefreshEnabled):
		return nil, grant.Errorf(grant.CodeUnsupportedGrantType, "grant_type %s is not supported", gt)
	case !clientAllowsGrant(client, gt):
		return nil, grant.Errorf(grant.CodeUnauthorizedClient, "client %s may not use grant_type %s", client.ID, gt)
	}
	// Token times are whole seconds (NumericDate, RFC 7519 §2), so that
	// expires_in equals exp - iat exactly.
	now := s.now().Truncate(time.Second)
	if gt == grantTypeAuthorizationCode {
		return s.redeemCode(ctx, client, form.Get, now)
	}
	resp, e := s.refresh(ctx, client, form.Get, now)
	if e != nil && cached {
		return nil, s.refusedRefresh(ctx, creds, e)
	}
	return resp, e
}

// redeemCode is the authorization_code grant (RFC 6749 §4.1.3, OAuth 2.1
// §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2).
//
// The code is consumed before it is checked, so a code presented with a wrong
// verifier or redirect_uri cannot be tried again. A code presented a second
// time is an attack (RFC 6749 §4.1.2, RFC 9700 §4.14.2): the grant of its first
// redemption is revoked, which ends its refresh token and access tokens.
func (s *Server) redeemCode(ctx context.Context, client *store.Client, param func(string) string, now time.Time) (*tokenResponse, *grant.Error) {
	raw, redirectURI, verifier := param("code"), param("redirect_uri"), param("code_verifier")
	switch {
	case raw == "":
		return nil, grant.Errorf(grant.CodeInvalidRequest, "code is required")
	case redirectURI == "":
		return nil, grant.Errorf(grant.CodeInvalidRequest, "redirect_uri is required")
	case verifier == "":
		return nil, grant.Errorf(grant.CodeInvalidRequest, "code_verifier is required (PKCE, RFC 7636)")
	}
	code, err := s.opts.Store.ConsumeCode(ctx, token.Hash(raw))
	switch {
	case errors.Is(err, store.ErrReused):
		s.revokeReplayedCode(ctx, code, now)
		return nil, grant.Errorf(grant.CodeInvalidGrant, "authorization code was already used")
	case errors.Is(err, store.ErrNotFound):
		return nil, grant.Errorf(grant.CodeInvalidGrant, "authorization code is invalid or expired")
	case err != nil:
		return nil, s.storeError(ctx, "consume code", err)
	}
	if !now.Before(code.ExpiresAt) {
		return nil, grant.Errorf(grant.CodeInvalidGrant, "authorization code is invalid or expired")
	}
	if !token.Equal(code.ClientID, client.ID) {
		s.log.WarnContext(ctx, "authorization code presented by another client", "event", "security", "client_id", client.ID, "code_client_id", code.ClientID)
		return nil, grant.Errorf(grant.CodeInvalidGrant, "authorization code was issued to another client")
	}
	if redirectURI != code.RedirectURI {
		return nil, grant.Errorf(grant.CodeInvalidGrant, "redirect_uri does not match the authorization request")
	}
	if code.CodeChallengeMethod != grant.MethodS256 || !grant.VerifyPKCE(verifier, code.CodeChallenge) {
		return nil, grant.Errorf(grant.CodeInvalidGrant, "code_verifier does not match the code_challenge")
	}
	resource := code.Resource
	if resource == "" {
		resource = s.opts.Resource
	}
	if rs := param("resource"); rs != "" && !grant.ResourceMatches(resource, rs) {
		return nil, grant.Errorf(grant.CodeInvalidTarget, "resource does not match the authorization request")
	}

	g := &store.Grant{
		ID:        code.GrantID,
		ClientID:  client.ID,
		Subject:   code.Subject,
		Scopes:    code.Scopes,
		Resource:  resource,
		Claims:    code.Claims,
		AuthTime:  code.AuthTime,
		CreatedAt: now,
		ExpiresAt: now.Add(s.opts.GrantLifetime),
	}
	var refresh string
	if s.opts.RefreshEnabled && clientAllowsGrant(client, grantTypeRefreshToken) {
		if !token.ValidGrantID(g.ID) {
			s.log.ErrorContext(ctx, "authorization code has an invalid grant id", "client_id", client.ID)
			return nil, grant.Errorf(grant.CodeServerError, "internal error")
		}
		refresh, g.RefreshHash = token.NewRefreshToken(g.ID)
		g.RefreshExpiresAt = minTime(now.Add(s.opts.RefreshTokenTTL), g.ExpiresAt)
		g.RefreshReuseGrace = s.opts.RefreshReuseGrace
	}
	if e := s.storeUpstream(ctx, code, g); e != nil {
		return nil, e
	}
	if err := s.opts.Store.CreateGrant(ctx, g); err != nil {
		if errors.Is(err, store.ErrExists) {
			// A replay of this code was seen between the consumption and
			// now, and left a revoked grant under this ID.
			s.dropUpstream(ctx, code, g.ID)
			s.log.WarnContext(ctx, "grant of a replayed authorization code not issued", "event", "security", "client_id", client.ID, "grant_id", g.ID)
			return nil, grant.Errorf(grant.CodeInvalidGrant, "authorization code was already used")
		}
		s.dropUpstream(ctx, code, g.ID)
		return nil, s.storeError(ctx, "create grant", err)
	}
	s.rememberGrant(g)
	resp, e := s.issueAccessToken(ctx, g, g.Scopes, now)
	if e != nil {
		return nil, e
	}
	resp.RefreshToken = refresh
	return resp, nil
}

// revokeReplayedCode handles the second redemption of a code: it revokes the
// grant the first redemption created. If that grant does not exist (yet), a
// revoked grant is stored under its ID, so that a first redemption still in
// flight cannot create it.
func (s *Server) revokeReplayedCode(ctx context.Context, code *store.AuthCode, now time.Time) {
	if code == nil || code.GrantID == "" {
		return
	}
	s.log.WarnContext(ctx, "authorization code replayed: revoking its grant", "event", "security", "client_id", code.ClientID, "grant_id", code.GrantID)
	err := s.opts.Store.RevokeGrant(ctx, code.GrantID)
	if errors.Is(err, store.ErrNotFound) {
		err = s.opts.Store.CreateGrant(ctx, &store.Grant{
			ID: code.GrantID, ClientID: code.ClientID, Subject: code.Subject,
			Resource: code.Resource, CreatedAt: now, RevokedAt: now,
			ExpiresAt: now.Add(s.opts.GrantLifetime),
		})
		if errors.Is(err, store.ErrExists) {
			// Created by the first redemption meanwhile: revoke that one.
			err = s.opts.Store.RevokeGrant(ctx, code.GrantID)
		}
	}
	if err != nil {
		s.log.ErrorContext(ctx, "revoking the grant of a replayed code failed", "event", "security", "client_id", code.ClientID, "grant_id", code.GrantID, "err", err)
		return
	}
	// The grant ends by now + GrantLifetime at the latest (see revoke.go).
	s.revoked(store.Revocation{Kind: store.RevokedGrant, ID: code.GrantID, ExpiresAt: now.Add(s.opts.GrantLifetime)})
}

// refresh is the refresh_token grant (RFC 6749 §6, OAuth 2.1 §4.3).
//
// The refresh token is "<grantID>.<secret>". Public clients always receive a
// new refresh token (OAuth 2.1 §4.3.1); confidential clients do when
// Options.RotateRefreshTokens is set. The store swaps the token atomically,
// so of concurrent uses of one token exactly one succeeds, and presenting a
// rotated-out token revokes the whole grant (RFC 9700 §4.14.2) — except, with
// Options.RefreshReuseGrace, the token the last rotation replaced, which is
// rotated again as a retry (see store.Grant.Rotate). What the request is
// checked against before the rotation never changes in a grant, so it comes
// from grantcache.go when this server knows the grant, and the rotation is
// the request's one store operation.
func (s *Server) refresh(ctx context.Context, client *store.Client, param func(string) string, now time.Time) (*tokenResponse, *grant.Error) {
	raw := param("refresh_token")
	if raw == "" {
		return nil, grant.Errorf(grant.CodeInvalidRequest, "refresh_token is required")
	}
	grantID, secret, ok := token.SplitRefreshToken(raw)
	if !ok {
		return nil, grant.Errorf(grant.CodeInvalidGrant, "refresh token is invalid")
	}
	g, e := s.refreshGrantFacts(ctx, grantID)
	if e != nil {
		return nil, e
	}
	if !token.Equal(g.ClientID, client.ID) {
		s.log.WarnContext(ctx, "refresh token presented by another client", "event", "security", "client_id", client.ID, "grant_id", grantID)
		return nil, grant.Errorf(grant.CodeInvalidGrant, "refresh token was issued to another client")
	}
	if !now.Before(g.ExpiresAt) {
		return nil, grant.Errorf(grant.CodeInvalidGrant, "refresh token is invalid or expired")
	}
	// RFC 6749 §6: the scope may narrow, never widen. The grant keeps its
	// scope; only this access token is narrowed.
	scopes := g.Scopes
	if sc := param("scope"); sc != "" {
		req, err := grant.ParseScope(sc)
		if err != nil {
			return nil, asOAuthError(err, grant.CodeInvalidScope)
		}
		if !grant.ScopeSubset(req, g.Scopes) {
			return nil, grant.Errorf(grant.CodeInvalidScope, "requested scope exceeds the scope originally granted")
		}
		if req != nil {
			scopes = req
		}
	}
	// The audience stays the grant's even when resource is omitted
	// (RFC 8707 §2.2; golang.org/x/oauth2 does not resend it).
	if rs := param("resource"); rs != "" && !grant.ResourceMatches(g.Resource, rs) {
		return nil, grant.Errorf(grant.CodeInvalidTarget, "resource does not match the grant")
	}

	presented := token.Hash(secret)
	next, nextHash := raw, presented
	if isPublicClient(client) || s.opts.RotateRefreshTokens {
		next, nextHash = token.NewRefreshToken(grantID)
	}
	ng, err := s.opts.Store.RotateRefresh(ctx, grantID, presented, nextHash, minTime(now.Add(s.opts.RefreshTokenTTL), g.ExpiresAt))
	if err != nil {
		// Refused: the next request reads the grant again.
		s.grantCache.forget(grantID)
	}
	switch {
	case errors.Is(err, store.ErrReused):
		s.log.WarnContext(ctx, "rotated refresh token reused: grant revoked", "event", "security", "client_id", client.ID, "grant_id", grantID)
		s.revoked(store.Revocation{Kind: store.RevokedGrant, ID: grantID, ExpiresAt: g.ExpiresAt})
		return nil, grant.Errorf(grant.CodeInvalidGrant, "refresh token was already used")
	case errors.Is(err, store.ErrMismatch), errors.Is(err, store.ErrNotFound):
		return nil, grant.Errorf(grant.CodeInvalidGrant, "refresh token is invalid or expired")
	case err != nil:
		return nil, s.storeError(ctx, "rotate refresh token", err)
	}
	if ng.Retried {
		// Accepted as the token the last rotation replaced, within its
		// grace: the client retries after losing the reply.
		s.log.InfoContext(ctx, "refresh token retried within its reuse grace", "event", "security", "client_id", client.ID, "grant_id", grantID)
	}
	// Remote mode: the grant lasts only as long as the provider's sign-in.
	if e := s.checkUpstream(ctx, ng); e != nil {
		s.grantCache.forget(grantID) // the provider may have ended it
		return nil, e
	}
	resp, e := s.issueAccessToken(ctx, ng, scopes, now)
	if e != nil {
		return nil, e
	}
	resp.RefreshToken = next
	return resp, nil
}

// refreshGrantFacts returns what a refresh of grant id checks before the
// rotation: the cached facts (grantcache.go), or those of the grant read from
// the store, which must exist and not be revoked.
func (s *Server) refreshGrantFacts(ctx context.Context, id string) (*grantFacts, *grant.Error) {
	if f, ok := s.grantCache.get(id); ok {
		return f, nil
	}
	g, err := s.opts.Store.GetGrant(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, grant.Errorf(grant.CodeInvalidGrant, "refresh token is invalid or expired")
	case err != nil:
		return nil, s.storeError(ctx, "get grant", err)
	case !g.RevokedAt.IsZero():
		return nil, grant.Errorf(grant.CodeInvalidGrant, "refresh token is invalid or expired")
	}
	return s.rememberGrant(g), nil
}

// issueAccessToken signs an RFC 9068 access token for g with scopes, valid
// AccessTokenTTL from now but never past the grant's absolute end.
func (s *Server) issueAccessToken(ctx context.Context, g *store.Grant, scopes []string, now time.Time) (*tokenResponse, *grant.Error) {
	exp := minTime(now.Add(s.opts.AccessTokenTTL), g.ExpiresAt).Truncate(time.Second)
	if !exp.After(now) {
		return nil, grant.Errorf(grant.CodeInvalidGrant, "the grant has expired")
	}
	extra := make(map[string]any, len(g.Claims)+2)
	for k, v := range g.Claims {
		if !reservedClaims[k] {
			extra[k] = v
		}
	}
	extra[token.ClaimGrantID] = g.ID
	if !g.AuthTime.IsZero() && g.AuthTime.Unix() > 0 {
		extra["auth_time"] = g.AuthTime.Unix() // RFC 9068 §2.2.1
	}
	scope := grant.FormatScope(scopes)
	at, err := s.keys.Signer().Sign(&token.Claims{
		Issuer:    s.opts.Issuer,
		Subject:   g.Subject,
		Audience:  []string{g.Resource},
		ExpiresAt: exp,
		IssuedAt:  now,
		ClientID:  g.ClientID,
		Scope:     scope,
		Extra:     extra,
	})
	if err != nil {
		s.log.ErrorContext(ctx, "signing an access token failed", "client_id", g.ClientID, "grant_id", g.ID, "err", err)
		return nil, grant.Errorf(grant.CodeServerError, "internal error")
	}
	return &tokenResponse{
		AccessToken: at,
		TokenType:   "Bearer",
		ExpiresIn:   int64(exp.Sub(now) / time.Second),
		Scope:       scope,
	}, nil
}

// asOAuthError returns err as an *grant.Error, or a new one with code.
func asOAuthError(err error, code string) *grant.Error {
	if e, ok := errors.AsType[*grant.Error](err); ok {
		return e
	}
	return grant.Errorf(code, "%v", err)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
