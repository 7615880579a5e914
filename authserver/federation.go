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

// ErrUpstreamDenied is wrapped by a Federation's Finish error when the
// provider answered with an error (the user declined, or the provider
// refused the request), as opposed to a failed or unverifiable login.
var ErrUpstreamDenied = errors.New("authserver: the identity provider denied the sign-in")

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

// handleUpstreamLogin replaces the login page in remote mode: GET
// /oauth/login?request=ID (where the consent page sends a browser that has
// not signed in) starts a new upstream login for the pending request.
func (s *Server) handleUpstreamLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeErrorPage(w, r, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest, "Sign-in happens at the identity provider."))
		return
	}
	ctx := r.Context()
	p, _, _, ok := s.pendingFor(w, r, r.URL.Query().Get(paramRequest), nil)
	if !ok {
		return
	}
	if p.Subject != "" {
		s.redirectLocal(w, PathConsent, url.Values{paramRequest: {p.ID}})
		return
	}
	authURL, e := s.beginUpstream(ctx, p)
	if e == nil {
		if err := s.opts.Store.SavePending(ctx, p); err != nil {
			e = s.storeError(ctx, "save pending authorization", err)
		}
	}
	if e != nil {
		s.writeErrorPage(w, r, 0, e)
		return
	}
	s.redirectUpstream(w, authURL)
}

// handleUpstreamCallback is the redirect URI of this server at the
// provider (RFC 6749 §4.1.2). It checks, before changing anything, that
// this browser started the pending request named in state (the binding
// cookie) and that state is the one sent for it; then it consumes the
// request's login state (a callback completes once), and lets the
// Federation redeem the code and verify the identity. A provider error or
// a failed login answers access_denied to the MCP client, with its state
// and iss (RFC 6749 §4.1.2.1, RFC 9207); a success continues as a local
// login does: consent, or the code at once.
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
		desc := "the sign-in at the identity provider failed"
		if errors.Is(err, ErrUpstreamDenied) {
			desc = "the identity provider denied the sign-in"
			s.log.InfoContext(ctx, "upstream login denied", "client_id", c.ClientID, "request", logging.Fingerprint(c.ID), "err", err)
		} else {
			s.log.WarnContext(ctx, "upstream login failed", "event", "security", "client_id", c.ClientID, "request", logging.Fingerprint(c.ID), "err", err)
		}
		s.redirectError(w, c.RedirectURI, c.State, grant.Errorf(grant.CodeAccessDenied, "%s", desc))
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
