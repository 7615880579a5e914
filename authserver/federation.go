package authserver

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// PathUpstreamCallback is where the upstream identity provider sends the
// browser back in remote mode: the redirect URI operators register at the
// provider, relative to the issuer.
const PathUpstreamCallback = "/oauth/upstream/callback"

// Errors a Federation wraps so that the authorization server answers the
// MCP client with the matching error code (RFC 6749 §4.1.2.1, §5.2).
var (
	// ErrUpstreamDenied is wrapped by a Finish error when the provider
	// answered with an error (the user declined, or the provider refused
	// the request), as opposed to a failed or unverifiable login. The
	// client gets access_denied.
	ErrUpstreamDenied = errors.New("authserver: the identity provider denied the sign-in")
	// ErrUpstreamUnavailable is wrapped by a Finish error when the
	// provider could not be reached or answered temporarily_unavailable.
	// The client gets temporarily_unavailable.
	ErrUpstreamUnavailable = errors.New("authserver: the identity provider is unavailable")
	// ErrUpstreamServerError is wrapped by a Finish error when the provider
	// failed (server_error, HTTP 5xx). The client gets server_error.
	ErrUpstreamServerError = errors.New("authserver: the identity provider failed")
	// ErrUpstreamEnded is wrapped by a CheckGrant error when the grant's
	// upstream tokens are gone or the provider refused to refresh them:
	// the grant is over, and the client must authorize again.
	ErrUpstreamEnded = errors.New("authserver: the identity provider's sign-in of this grant has ended")
)

// Federation hands the login step of orchestrated mode to an upstream
// identity provider (type remote). In place of the login page, /authorize
// sends the browser to the provider; the provider returns it to
// PathUpstreamCallback, and the request continues exactly as after a local
// login: consent, then this server's own code and tokens. The provider's
// tokens travel sealed with the pending request and the code and are put in
// the store's vault under the grant when the code is redeemed.
//
// Package federation's Broker does the work; package frontmcp adapts it.
type Federation interface {
	// Start begins the upstream login of pending request requestID. state
	// is the "state" the provider must return. It returns the provider's
	// authorization URL and the sealed login state to keep with the
	// request.
	Start(ctx context.Context, requestID, state string) (authURL string, login []byte, err error)
	// CheckState reports an error unless state belongs to the sealed login
	// of requestID. It changes nothing.
	CheckState(requestID string, login []byte, state string) error
	// Finish completes the login from the callback's query parameters. It
	// returns the user and the provider's tokens sealed for requestID. An
	// error response of the provider wraps ErrUpstreamDenied.
	Finish(ctx context.Context, requestID string, login []byte, callback url.Values) (*Identity, []byte, error)
	// Rebind moves tokens sealed for requestID to grantID, for the code
	// and the vault.
	Rebind(requestID, grantID string, sealed []byte) ([]byte, error)
	// CheckGrant is called before this server refreshes its own tokens of
	// grantID: an error wrapping ErrUpstreamEnded ends the grant (the
	// provider refused its tokens, or they are gone). The Federation may
	// refresh the upstream tokens first when they have expired. Other
	// errors (the provider unreachable) do not end the grant.
	CheckGrant(ctx context.Context, grantID string) error
}

// beginUpstream starts the upstream login of the new pending request p
// (not yet saved) and returns the provider's authorization URL. p.Upstream
// receives the sealed login state. The state sent to the provider is
// "<request id>.<secret>": the callback finds the request by its id and
// the secret proves the callback belongs to it.
func (s *Server) beginUpstream(ctx context.Context, p *store.PendingAuthorization) (string, *grant.Error) {
	state, _ := token.NewRefreshToken(p.ID)
	authURL, login, err := s.opts.Federation.Start(ctx, p.ID, state)
	if err != nil {
		s.log.ErrorContext(ctx, "starting the upstream login failed", "client_id", p.ClientID, "err", err)
		return "", grant.Errorf(grant.CodeServerError, "internal error")
	}
	p.Upstream = login
	return authURL, nil
}

// redirectUpstream sends the browser to the provider's authorization URL.
func (s *Server) redirectUpstream(w http.ResponseWriter, authURL string) {
	setPageHeaders(w.Header(), redirectCSP)
	w.Header().Set("Location", authURL)
	w.WriteHeader(http.StatusSeeOther)
}

// handleUpstreamLogin replaces the login page in remote mode, where users
// sign in at the provider: GET /oauth/login?request=ID (where the consent
// page sends a browser that has not signed in) changes nothing. A request
// already signed in continues to consent; otherwise the page says to start
// again from the application, which sends the browser to the provider.
// Starting a new upstream login here would make a GET change state, and
// would replace the login state of a sign-in whose callback is on its way.
func (s *Server) handleUpstreamLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeErrorPage(w, r, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest, "Sign-in happens at the identity provider."))
		return
	}
	p, _, _, ok := s.pendingFor(w, r, r.URL.Query().Get(paramRequest), nil)
	if !ok {
		return
	}
	if p.Subject != "" {
		s.redirectLocal(w, PathConsent, url.Values{paramRequest: {p.ID}})
		return
	}
	s.writeErrorPage(w, r, 0, errUpstreamPending)
}

// errUpstreamPending is shown when a browser asks for the login page of a
// request whose sign-in at the provider has not completed.
var errUpstreamPending = grant.Errorf(grant.CodeInvalidRequest, "The sign-in at the identity provider has not completed. Return to the application and start again.")

// handleUpstreamCallback is the redirect URI of this server at the
// provider (RFC 6749 §4.1.2). It checks, before changing anything, that
// this browser started the pending request named in state (the binding
// cookie) and that state is the one sent for it; then it consumes the
// request's login state (a callback completes once), and lets the
// Federation redeem the code and verify the identity. A provider error or
// a failed login answers the MCP client with its state and iss (RFC 6749
// §4.1.2.1, RFC 9207): temporarily_unavailable when the provider could not
// be reached or said so, server_error when it failed, access_denied
// otherwise (see upstreamError); a success continues as a local login does:
// consent, or the code at once.
func (s *Server) handleUpstreamCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		s.writeErrorPage(w, r, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest, "method not allowed"))
		return
	}
	q := r.URL.Query()
	for name, vs := range q {
		if len(vs) > 1 {
			s.writeErrorPage(w, r, 0, grant.Errorf(grant.CodeInvalidRequest, "The identity provider's response repeats parameter %s.", name))
			return
		}
	}
	state := q.Get("state")
	id, _, ok := token.SplitRefreshToken(state)
	if !ok {
		s.log.InfoContext(ctx, "upstream callback without a valid state", "event", "security")
		s.writeErrorPage(w, r, 0, errUpstreamState)
		return
	}
	p, _, _, ok := s.pendingFor(w, r, id, nil)
	if !ok {
		return
	}
	if p.Subject != "" || len(p.Upstream) == 0 {
		s.writeErrorPage(w, r, 0, errPendingGone)
		return
	}
	if err := s.opts.Federation.CheckState(p.ID, p.Upstream, state); err != nil {
		s.log.WarnContext(ctx, "upstream callback state does not match its request", "event", "security", "client_id", p.ClientID, "request", logging.Fingerprint(p.ID))
		s.writeErrorPage(w, r, 0, errUpstreamState)
		return
	}
	c, err := s.opts.Store.ConsumePending(ctx, p.ID)
	if err != nil {
		s.pendingGone(w, r, err)
		return
	}
	if !token.Equal(c.CSRFHash, p.CSRFHash) || !token.Equal(string(c.Upstream), string(p.Upstream)) || !s.now().Before(c.ExpiresAt) {
		s.writeErrorPage(w, r, 0, errPendingGone)
		return
	}
	ident, sealed, err := s.opts.Federation.Finish(ctx, c.ID, c.Upstream, q)
	if err != nil {
		s.dropAuthzEntry(w, r, c.ID)
		s.redirectError(w, c.RedirectURI, c.State, s.upstreamError(ctx, c, err))
		return
	}
	if ident == nil || ident.Subject == "" {
		s.dropAuthzEntry(w, r, c.ID)
		s.log.ErrorContext(ctx, "federation returned an identity without a subject", "client_id", c.ClientID)
		s.redirectError(w, c.RedirectURI, c.State, grant.Errorf(grant.CodeAccessDenied, "the sign-in at the identity provider failed"))
		return
	}
	s.log.InfoContext(ctx, "login succeeded", "client_id", c.ClientID, "sub", ident.Subject, "request", logging.Fingerprint(c.ID), "via", "upstream")
	c.Subject, c.Claims, c.AuthTime, c.Upstream = ident.Subject, store.Claims(ident.Claims), s.now(), sealed
	if err := s.opts.Store.SavePending(ctx, c); err != nil {
		s.writeErrorPage(w, r, 0, s.storeError(ctx, "save pending authorization", err))
		return
	}
	if s.opts.Consent && !s.consentRemembered(ctx, c.Subject, c) {
		s.redirectLocal(w, PathConsent, url.Values{paramRequest: {c.ID}})
		return
	}
	s.complete(w, r, c, nil)
}

// upstreamError logs a failed upstream login and returns the error for the
// MCP client (RFC 6749 §4.1.2.1): temporarily_unavailable and server_error
// for the provider's outages and failures, which a retry may overcome, and
// access_denied for a refusal or a login that could not be verified.
func (s *Server) upstreamError(ctx context.Context, c *store.PendingAuthorization, err error) *grant.Error {
	attrs := []any{"client_id", c.ClientID, "request", logging.Fingerprint(c.ID), "err", err}
	switch {
	case errors.Is(err, ErrUpstreamUnavailable):
		s.log.WarnContext(ctx, "upstream login failed: the identity provider is unavailable", attrs...)
		return grant.Errorf(grant.CodeTemporarilyUnavailable, "the identity provider is unavailable; try again later")
	case errors.Is(err, ErrUpstreamServerError):
		s.log.WarnContext(ctx, "upstream login failed: the identity provider failed", attrs...)
		return grant.Errorf(grant.CodeServerError, "the identity provider failed; try again later")
	case errors.Is(err, ErrUpstreamDenied):
		s.log.InfoContext(ctx, "upstream login denied", attrs...)
		return grant.Errorf(grant.CodeAccessDenied, "the identity provider denied the sign-in")
	}
	s.log.WarnContext(ctx, "upstream login failed", append([]any{"event", "security"}, attrs...)...)
	return grant.Errorf(grant.CodeAccessDenied, "the sign-in at the identity provider failed")
}

// errUpstreamState is shown for a callback that cannot be tied to a sign-in
// this browser started.
var errUpstreamState = grant.Errorf(grant.CodeInvalidRequest, "The identity provider's response does not belong to a sign-in started in this browser. Return to the application and start again.")

// rebindUpstream moves the upstream tokens of completed request c into the
// new code. In remote mode a code is never issued without them.
func (s *Server) rebindUpstream(ctx context.Context, c *store.PendingAuthorization, code *store.AuthCode) *grant.Error {
	if s.opts.Federation == nil {
		return nil
	}
	if len(c.Upstream) == 0 {
		s.log.ErrorContext(ctx, "completing a request without upstream tokens", "client_id", c.ClientID)
		return grant.Errorf(grant.CodeServerError, "internal error")
	}
	sealed, err := s.opts.Federation.Rebind(c.ID, code.GrantID, c.Upstream)
	if err != nil {
		s.log.ErrorContext(ctx, "sealing upstream tokens for the code failed", "client_id", c.ClientID, "err", err)
		return grant.Errorf(grant.CodeServerError, "internal error")
	}
	code.Upstream = sealed
	return nil
}

// storeUpstream puts the upstream tokens of a redeemed code into the vault
// under its grant, before the grant is created: an access token of the
// grant always finds them.
func (s *Server) storeUpstream(ctx context.Context, code *store.AuthCode, g *store.Grant) *grant.Error {
	if len(code.Upstream) == 0 {
		return nil
	}
	if err := s.opts.Store.PutVault(ctx, g.ID, code.Upstream, g.ExpiresAt); err != nil {
		return s.storeError(ctx, "put vault entry", err)
	}
	return nil
}

// checkUpstream, in remote mode, is asked before the refresh_token grant
// issues tokens for g (see Federation.CheckGrant): when the grant's upstream
// tokens are gone or the provider refused them, the grant is revoked and
// the client gets invalid_grant (RFC 6749 §5.2), so that it runs the
// authorization flow again and the user signs in at the provider anew.
// Access through this server thus ends at the latest one access token
// lifetime after the provider ends the user's access. Other failures (the
// provider unreachable) are logged and do not stop the refresh.
func (s *Server) checkUpstream(ctx context.Context, g *store.Grant) *grant.Error {
	if s.opts.Federation == nil {
		return nil
	}
	err := s.opts.Federation.CheckGrant(ctx, g.ID)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, ErrUpstreamEnded):
		s.log.WarnContext(ctx, "checking the upstream tokens of a grant failed; refreshing anyway", "client_id", g.ClientID, "grant_id", g.ID, "err", err)
		return nil
	}
	// The Federation has usually revoked the grant already.
	if cur, gerr := s.opts.Store.GetGrant(ctx, g.ID); gerr != nil || cur.RevokedAt.IsZero() {
		if rerr := s.opts.Store.RevokeGrant(ctx, g.ID); rerr != nil && !errors.Is(rerr, store.ErrNotFound) {
			s.log.ErrorContext(ctx, "revoking a grant whose upstream sign-in ended failed", "client_id", g.ClientID, "grant_id", g.ID, "err", rerr)
		} else if rerr == nil {
			s.revoked(store.Revocation{Kind: store.RevokedGrant, ID: g.ID, ExpiresAt: g.ExpiresAt})
		}
	}
	s.log.InfoContext(ctx, "refresh refused: the sign-in at the identity provider has ended", "event", "revocation", "client_id", g.ClientID, "grant_id", g.ID, "err", err)
	return grant.Errorf(grant.CodeInvalidGrant, "the sign-in at the identity provider has ended; authorize again")
}

// dropUpstream removes the vault entry storeUpstream wrote for a grant that
// was not created after all.
func (s *Server) dropUpstream(ctx context.Context, code *store.AuthCode, grantID string) {
	if len(code.Upstream) == 0 {
		return
	}
	if err := s.opts.Store.DeleteVault(ctx, grantID); err != nil {
		s.log.WarnContext(ctx, "removing the vault entry of a grant not issued failed", "grant_id", grantID, "err", err)
	}
}
