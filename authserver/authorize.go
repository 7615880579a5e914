package authserver

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// The browser binds itself to its pending authorization requests with a
// cookie. Its value lists up to maxAuthzEntries "<requestID>.<csrf>" pairs,
// newest first, separated by "~", so a few sign-ins may run in parallel tabs.
// The store keeps only token.Hash(csrf); the login and consent forms echo the
// csrf value, and both copies must match the stored hash (double-submit
// cookie bound to server state).
const (
	// authzCookieSecure is the cookie name on an https issuer. The __Host-
	// prefix (RFC 6265bis §4.1.3.2) pins it to this host, path / and Secure,
	// so sibling subdomains cannot set or overwrite it.
	authzCookieSecure = "__Host-frontmcp-authz"
	// authzCookiePlain is the name on a plain-http issuer (development),
	// where a __Host- cookie cannot be set.
	authzCookiePlain = "frontmcp-authz"
	maxAuthzEntries  = 4
	maxAuthzCookie   = 1024
)

// maxFormBody caps the body of the authorization, login and consent forms.
const maxFormBody = 16 << 10

// Form and query parameter names of the login and consent pages.
const (
	paramRequest  = "request"
	paramCSRF     = "csrf"
	paramUsername = "username"
	paramPassword = "password"
	paramConsent  = "consent"
	paramFailed   = "failed"
)

// responseTypeCode is the only response type (OAuth 2.1 §4.1.1).
const responseTypeCode = "code"

// authzEntry is one pending request this browser started.
type authzEntry struct{ id, csrf string }

// authorizeRequest is a validated authorization request (RFC 6749 §4.1.1).
type authorizeRequest struct {
	client      *store.Client
	redirectURI string // where responses go: as presented, or the only registered URI
	state       string
	challenge   string
	method      string
	scopes      []string
}

// handleAuthorize is the authorization endpoint (RFC 6749 §3.1, §4.1.1;
// OAuth 2.1 §4.1.1). GET is required by RFC 6749 §3.1; POST with a form body
// is also accepted.
//
// Errors are reported as RFC 6749 §4.1.2.1 requires: while the client and the
// redirect URI are not established (unknown client_id, missing or unregistered
// redirect_uri, repeated parameters), the user sees an error page and nothing
// is redirected; after that, errors are redirected to the client with error,
// error_description, state (when given) and iss (RFC 9207 §2).
//
// A valid request is stored as a pending authorization for PendingTTL, the
// browser gets the cookie that binds it, and the login page is shown.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var q url.Values
	switch r.Method {
	case http.MethodGet:
		q = r.URL.Query()
	case http.MethodPost:
		form, e := parseFormBody(w, r)
		if e != nil {
			s.writeErrorPage(w, r, 0, e)
			return
		}
		q = form
	default:
		w.Header().Set("Allow", "GET, POST")
		s.writeErrorPage(w, r, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest, "the authorization endpoint accepts GET and POST only"))
		return
	}
	req, pageErr, redirErr := s.validateAuthorize(ctx, q)
	if pageErr != nil {
		s.log.InfoContext(ctx, "authorization request rejected", "client_id", q.Get("client_id"), "error", pageErr.Code, "error_description", pageErr.Description)
		s.writeErrorPage(w, r, 0, pageErr)
		return
	}
	if redirErr != nil {
		s.log.InfoContext(ctx, "authorization request rejected", "client_id", req.client.ID, "error", redirErr.Code, "error_description", redirErr.Description)
		s.redirectError(w, req.redirectURI, req.state, redirErr)
		return
	}

	csrf, err := token.NewSecret()
	if err != nil {
		s.log.ErrorContext(ctx, "generating a CSRF token failed", "err", err)
		s.redirectError(w, req.redirectURI, req.state, grant.Errorf(grant.CodeServerError, "internal error"))
		return
	}
	now := s.now()
	p := &store.PendingAuthorization{
		ID:                  token.NewID(),
		ClientID:            req.client.ID,
		RedirectURI:         req.redirectURI,
		State:               req.state,
		CodeChallenge:       req.challenge,
		CodeChallengeMethod: req.method,
		Resource:            s.opts.Resource,
		Scopes:              req.scopes,
		CSRFHash:            token.Hash(csrf),
		CreatedAt:           now,
		ExpiresAt:           now.Add(PendingTTL),
	}
	var upstreamURL string // remote mode: the provider's login replaces ours
	if s.opts.Federation != nil {
		var e *grant.Error
		if upstreamURL, e = s.beginUpstream(ctx, p); e != nil {
			s.redirectError(w, req.redirectURI, req.state, e)
			return
		}
	}
	if err := s.opts.Store.SavePending(ctx, p); err != nil {
		s.redirectError(w, req.redirectURI, req.state, s.storeError(ctx, "save pending authorization", err))
		return
	}
	s.log.InfoContext(ctx, "authorization request accepted", "client_id", p.ClientID, "request", logging.Fingerprint(p.ID), "scope", grant.FormatScope(p.Scopes))
	entries := append([]authzEntry{{p.ID, csrf}}, s.authzEntries(r)...)
	s.setAuthzCookie(w, entries)
	if upstreamURL != "" {
		s.redirectUpstream(w, upstreamURL)
		return
	}
	s.renderLogin(w, r, p, req.client, csrf, false)
}

// validateAuthorize checks an authorization request in the order of RFC 6749
// §4.1.2.1. A pageErr is shown to the user; a redirErr goes to
// req.redirectURI (req.client, req.redirectURI and req.state are set).
func (s *Server) validateAuthorize(ctx context.Context, q url.Values) (req *authorizeRequest, pageErr, redirErr *grant.Error) {
	// RFC 6749 §3.1: parameters must not be repeated. A repeated client_id
	// or redirect_uri cannot be trusted, so none of them is redirected.
	// resource may repeat (RFC 8707 §2) and is checked below.
	for name, vs := range q {
		if len(vs) > 1 && name != "resource" {
			return nil, grant.Errorf(grant.CodeInvalidRequest, "parameter %s is repeated", name), nil
		}
	}
	// RFC 6749 §3.1: a parameter without a value is treated as omitted;
	// q.Get returns "" for both.
	clientID := q.Get("client_id")
	if clientID == "" {
		return nil, grant.Errorf(grant.CodeInvalidRequest, "client_id is required"), nil
	}
	client, err := s.lookupClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, grant.Errorf(grant.CodeInvalidRequest, "client_id %s is not registered with this server", clientID), nil
	}
	// A URL client whose metadata document cannot be used has no redirect
	// URI that can be trusted: the error is shown, never redirected.
	if e, ok := metadataClientError(err, grant.CodeInvalidRequest); ok {
		return nil, e, nil
	}
	if err != nil {
		return nil, s.storeError(ctx, "get client", err), nil
	}
	req = &authorizeRequest{client: client, state: q.Get("state")}

	// OAuth 2.1 §4.1.1 / RFC 6749 §3.1.2.3: redirect_uri may be omitted
	// only when the client registered exactly one; otherwise it must match a
	// registered URI exactly (RFC 8252 §7.3 loopback port excepted).
	presented := q.Get("redirect_uri")
	switch {
	case presented == "" && len(client.RedirectURIs) == 1:
		req.redirectURI = client.RedirectURIs[0]
	case presented == "":
		return nil, grant.Errorf(grant.CodeInvalidRequest, "redirect_uri is required"), nil
	default:
		if _, ok := grant.MatchRedirectURI(client.RedirectURIs, presented); !ok {
			return nil, grant.Errorf(grant.CodeInvalidRequest, "redirect_uri is not registered for client %s", clientID), nil
		}
		req.redirectURI = presented
	}

	// From here on, errors are redirected to the client.
	switch rt := q.Get("response_type"); {
	case rt == "":
		return req, nil, grant.Errorf(grant.CodeInvalidRequest, "response_type is required")
	case rt != responseTypeCode:
		return req, nil, grant.Errorf(grant.CodeUnsupportedResponseType, "response_type %s is not supported; use code", rt)
	}
	if !clientAllowsGrant(client, grantTypeAuthorizationCode) ||
		(len(client.ResponseTypes) > 0 && !slices.Contains(client.ResponseTypes, responseTypeCode)) {
		return req, nil, grant.Errorf(grant.CodeUnauthorizedClient, "client %s is not registered for the authorization code grant", clientID)
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return req, nil, grant.Errorf(grant.CodeInvalidRequest, "response_mode %s is not supported; use query", rm)
	}
	// Request objects (RFC 9101) are not supported; ignoring one would
	// silently drop what it asks for (OpenID Connect Core §3.1.2.6 codes).
	if q.Get("request") != "" {
		return req, nil, grant.Errorf("request_not_supported", "request objects are not supported")
	}
	if q.Get("request_uri") != "" {
		return req, nil, grant.Errorf("request_uri_not_supported", "request_uri is not supported")
	}
	// OAuth 2.1 §7.5.1 lets PKCE replace state for CSRF protection; this
	// server requires both (production checklist, RFC 9700 §2.1).
	if req.state == "" {
		return req, nil, grant.Errorf(grant.CodeInvalidRequest, "state is required")
	}
	req.challenge, req.method = q.Get("code_challenge"), q.Get("code_challenge_method")
	if err := grant.ValidateCodeChallenge(req.challenge, req.method); err != nil {
		return req, nil, asOAuthError(err, grant.CodeInvalidRequest)
	}

	// RFC 6749 §3.3: requested scopes must be known to the server and, when
	// the client registered a scope, within it. An omitted scope means the
	// client's registered scopes, else every scope the server offers; the
	// consent page lists what is granted.
	scopes, err := grant.ParseScope(q.Get("scope"))
	if err != nil {
		return req, nil, asOAuthError(err, grant.CodeInvalidScope)
	}
	if err := grant.ValidateScopes(scopes, s.opts.Scopes); err != nil {
		return req, nil, asOAuthError(err, grant.CodeInvalidScope)
	}
	if len(client.Scopes) > 0 {
		if err := grant.ValidateScopes(scopes, client.Scopes); err != nil {
			return req, nil, asOAuthError(err, grant.CodeInvalidScope)
		}
	}
	switch {
	case scopes != nil:
		req.scopes = scopes
	case len(client.Scopes) > 0:
		req.scopes = slices.DeleteFunc(slices.Clone(client.Scopes), func(sc string) bool { return !slices.Contains(s.opts.Scopes, sc) })
	default:
		req.scopes = slices.Clone(s.opts.Scopes)
	}

	// RFC 8707 §2: the only resource is ours. It may be omitted (the token
	// is bound to Options.Resource anyway) or repeated with that value.
	canonical := s.canonicalResource()
	for _, rs := range q["resource"] {
		if rs != "" && !grant.ResourceMatches(canonical, rs) {
			return req, nil, grant.Errorf(grant.CodeInvalidTarget, "resource %s is not served by this authorization server", rs)
		}
	}
	return req, nil, nil
}

// canonicalResource is the canonical form of Options.Resource for comparing
// presented resource indicators.
func (s *Server) canonicalResource() string {
	c, err := grant.CanonicalResource(s.opts.Resource)
	if err != nil {
		return s.opts.Resource
	}
	return c
}

// handleLogin serves the login page.
//
// GET /oauth/login?request=ID re-renders the form of a pending request (after
// a failed attempt, with failed=1). POST checks the browser binding and CSRF
// token, then the username and password: a failure answers 303 back to the
// GET form with one generic message, whether the user exists or not; a
// success continues with consent (303 to the consent page) or, when consent
// is off or remembered (consent.go), completes the request.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		p, entry, client, ok := s.pendingFor(w, r, q.Get(paramRequest), nil)
		if !ok {
			return
		}
		s.renderLogin(w, r, p, client, entry.csrf, q.Get(paramFailed) == "1")
	case http.MethodPost:
		form, e := parsePageForm(w, r)
		if e != nil {
			s.writeErrorPage(w, r, 0, e)
			return
		}
		csrf := form.Get(paramCSRF)
		p, _, _, ok := s.pendingFor(w, r, form.Get(paramRequest), &csrf)
		if !ok {
			return
		}
		ident, err := s.authenticate(ctx, form.Get(paramUsername), form.Get(paramPassword))
		if errors.Is(err, ErrBadCredentials) {
			s.log.InfoContext(ctx, "login failed", "client_id", p.ClientID, "request", logging.Fingerprint(p.ID))
			s.redirectLocal(w, PathLogin, url.Values{paramRequest: {p.ID}, paramFailed: {"1"}})
			return
		}
		if err != nil {
			s.log.ErrorContext(ctx, "authenticator failed", "client_id", p.ClientID, "err", err)
			s.writeErrorPage(w, r, http.StatusInternalServerError, grant.Errorf(grant.CodeServerError, "The sign-in service failed. Try again later."))
			return
		}
		s.log.InfoContext(ctx, "login succeeded", "client_id", p.ClientID, "sub", ident.Subject, "request", logging.Fingerprint(p.ID))
		if s.opts.Consent && !s.consentRemembered(ctx, ident.Subject, p) {
			p.Subject, p.Claims, p.AuthTime = ident.Subject, store.Claims(ident.Claims), s.now()
			if err := s.opts.Store.SavePending(ctx, p); err != nil {
				s.writeErrorPage(w, r, 0, s.storeError(ctx, "save pending authorization", err))
				return
			}
			s.redirectLocal(w, PathConsent, url.Values{paramRequest: {p.ID}})
			return
		}
		s.complete(w, r, p, ident)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		s.writeErrorPage(w, r, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest, "method not allowed"))
	}
}

// authenticate calls the Authenticator. Empty fields fail like wrong ones.
// A successful identity must name a subject.
func (s *Server) authenticate(ctx context.Context, username, password string) (*Identity, error) {
	if username == "" || password == "" {
		return nil, ErrBadCredentials
	}
	ident, err := s.opts.Authenticator.Authenticate(ctx, username, password)
	if err != nil {
		return nil, err
	}
	if ident == nil || ident.Subject == "" {
		return nil, errors.New("authserver: authenticator returned an identity without a subject")
	}
	return ident, nil
}

// handleConsent serves the consent page (GET /oauth/consent?request=ID) and
// takes the decision (POST with consent=approve or consent=deny). It is only
// reachable after login. Deny answers access_denied to the client (RFC 6749
// §4.1.2.1); approve issues the code.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id := r.URL.Query().Get(paramRequest)
		p, entry, client, ok := s.pendingFor(w, r, id, nil)
		if !ok {
			return
		}
		if p.Subject == "" {
			s.redirectLocal(w, PathLogin, url.Values{paramRequest: {p.ID}})
			return
		}
		data := consentPage{
			pageCommon:   s.pages.common(),
			Action:       s.localPath(PathConsent),
			RequestID:    p.ID,
			CSRF:         entry.csrf,
			ClientName:   clientDisplayName(client),
			ClientID:     client.ID,
			RedirectHost: redirectHost(p.RedirectURI),
			Subject:      p.Subject,
			Resource:     p.Resource,
			Scopes:       p.Scopes,
			Unverified:   client.Dynamic,
			IdentifiedBy: s.metadataHost(client),
		}
		if err := s.pages.render(w, http.StatusOK, s.pages.consent, data.Nonce, s.formAction(p.RedirectURI), data); err != nil {
			s.log.ErrorContext(ctx, "rendering the consent page failed", "err", err)
		}
	case http.MethodPost:
		form, e := parsePageForm(w, r)
		if e != nil {
			s.writeErrorPage(w, r, 0, e)
			return
		}
		csrf := form.Get(paramCSRF)
		p, _, _, ok := s.pendingFor(w, r, form.Get(paramRequest), &csrf)
		if !ok {
			return
		}
		if p.Subject == "" {
			s.writeErrorPage(w, r, 0, grant.Errorf(grant.CodeInvalidRequest, "Sign in before approving this request."))
			return
		}
		switch form.Get(paramConsent) {
		case "approve":
			s.complete(w, r, p, nil)
		case "deny":
			c, err := s.opts.Store.ConsumePending(ctx, p.ID)
			if err != nil {
				s.pendingGone(w, r, err)
				return
			}
			s.log.InfoContext(ctx, "consent denied", "client_id", c.ClientID, "sub", c.Subject)
			s.dropAuthzEntry(w, r, c.ID)
			s.redirectError(w, c.RedirectURI, c.State, grant.Errorf(grant.CodeAccessDenied, "the user denied the request"))
		default:
			s.writeErrorPage(w, r, 0, grant.Errorf(grant.CodeInvalidRequest, "Choose Allow or Deny."))
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		s.writeErrorPage(w, r, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest, "method not allowed"))
	}
}

// complete finishes pending request p: it consumes the pending record
// (atomically, so a double submission completes once), issues the
// authorization code and redirects the browser to the client with code,
// state and iss (RFC 6749 §4.1.2, RFC 9207 §2). ident is the user who just
// logged in when consent is off; otherwise the subject stored at login is
// used.
func (s *Server) complete(w http.ResponseWriter, r *http.Request, p *store.PendingAuthorization, ident *Identity) {
	ctx := r.Context()
	c, err := s.opts.Store.ConsumePending(ctx, p.ID)
	if err != nil {
		s.pendingGone(w, r, err)
		return
	}
	now := s.now()
	if !token.Equal(c.CSRFHash, p.CSRFHash) || !now.Before(c.ExpiresAt) {
		s.writeErrorPage(w, r, 0, errPendingGone)
		return
	}
	if ident != nil {
		c.Subject, c.Claims, c.AuthTime = ident.Subject, store.Claims(ident.Claims), now
	}
	if c.Subject == "" {
		s.writeErrorPage(w, r, 0, grant.Errorf(grant.CodeInvalidRequest, "Sign in before approving this request."))
		return
	}
	s.dropAuthzEntry(w, r, c.ID)
	raw, err := token.NewSecret()
	if err != nil {
		s.log.ErrorContext(ctx, "generating an authorization code failed", "err", err)
		s.redirectError(w, c.RedirectURI, c.State, grant.Errorf(grant.CodeServerError, "internal error"))
		return
	}
	code := &store.AuthCode{
		Hash:                token.Hash(raw),
		GrantID:             token.NewID(),
		ClientID:            c.ClientID,
		RedirectURI:         c.RedirectURI,
		CodeChallenge:       c.CodeChallenge,
		CodeChallengeMethod: c.CodeChallengeMethod,
		Resource:            c.Resource,
		Scopes:              c.Scopes,
		Subject:             c.Subject,
		Claims:              c.Claims,
		AuthTime:            c.AuthTime,
		ExpiresAt:           now.Add(CodeTTL),
	}
	if e := s.rebindUpstream(ctx, c, code); e != nil {
		s.redirectError(w, c.RedirectURI, c.State, e)
		return
	}
	if err := s.opts.Store.SaveCode(ctx, code); err != nil {
		s.redirectError(w, c.RedirectURI, c.State, s.storeError(ctx, "save authorization code", err))
		return
	}
	s.log.InfoContext(ctx, "authorization code issued", "client_id", c.ClientID, "sub", c.Subject, "grant_id", code.GrantID, "code_fp", logging.Fingerprint(raw))
	s.redirectResponse(w, c.RedirectURI, url.Values{"code": {raw}, "state": {c.State}})
}

// errPendingGone is shown when a pending request no longer exists.
var errPendingGone = grant.Errorf(grant.CodeInvalidRequest, "This sign-in request has expired or was already completed. Return to the application and start again.")

// pendingGone renders the error page for a failed load or consume of a
// pending request.
func (s *Server) pendingGone(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.writeErrorPage(w, r, 0, errPendingGone)
		return
	}
	s.writeErrorPage(w, r, 0, s.storeError(r.Context(), "pending authorization", err))
}

// pendingFor loads the pending request id for the login and consent pages
// and checks that this browser started it: the binding cookie must hold an
// entry for id whose CSRF value hashes to the stored CSRFHash, and, for a form
// submission (formCSRF non-nil), the form's csrf field must equal it. It also
// loads the request's client. On any failure it writes the error page (400,
// or 5xx for store failures), changes nothing, and reports false.
func (s *Server) pendingFor(w http.ResponseWriter, r *http.Request, id string, formCSRF *string) (*store.PendingAuthorization, authzEntry, *store.Client, bool) {
	ctx := r.Context()
	if !token.ValidGrantID(id) {
		s.writeErrorPage(w, r, 0, grant.Errorf(grant.CodeInvalidRequest, "The sign-in request is missing or malformed. Return to the application and start again."))
		return nil, authzEntry{}, nil, false
	}
	var entry authzEntry
	for _, e := range s.authzEntries(r) {
		if e.id == id {
			entry = e
			break
		}
	}
	if entry.id == "" {
		s.log.InfoContext(ctx, "pending authorization without its browser cookie", "request", logging.Fingerprint(id))
		s.writeErrorPage(w, r, 0, grant.Errorf(grant.CodeInvalidRequest, "This sign-in request was not started in this browser, or its cookie was blocked. Return to the application and start again."))
		return nil, authzEntry{}, nil, false
	}
	p, err := s.opts.Store.GetPending(ctx, id)
	if err != nil {
		s.pendingGone(w, r, err)
		return nil, authzEntry{}, nil, false
	}
	if !s.now().Before(p.ExpiresAt) {
		s.writeErrorPage(w, r, 0, errPendingGone)
		return nil, authzEntry{}, nil, false
	}
	if !token.CheckSecret(entry.csrf, p.CSRFHash) || (formCSRF != nil && !token.Equal(*formCSRF, entry.csrf)) {
		s.log.WarnContext(ctx, "CSRF check failed on a pending authorization", "event", "security", "client_id", p.ClientID, "request", logging.Fingerprint(id))
		s.writeErrorPage(w, r, 0, grant.Errorf(grant.CodeInvalidRequest, "The form has expired or was not submitted from this server's page. Return to the application and start again."))
		return nil, authzEntry{}, nil, false
	}
	client, err := s.lookupClient(ctx, p.ClientID)
	if err != nil {
		if e, ok := metadataClientError(err, grant.CodeInvalidRequest); ok {
			s.writeErrorPage(w, r, 0, e)
		} else if errors.Is(err, store.ErrNotFound) {
			s.writeErrorPage(w, r, 0, grant.Errorf(grant.CodeInvalidRequest, "The application is no longer registered with this server."))
		} else {
			s.writeErrorPage(w, r, 0, s.storeError(ctx, "get client", err))
		}
		return nil, authzEntry{}, nil, false
	}
	return p, entry, client, true
}

// renderLogin writes the login form of p.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, p *store.PendingAuthorization, client *store.Client, csrf string, failed bool) {
	data := loginPage{
		pageCommon:   s.pages.common(),
		Action:       s.localPath(PathLogin),
		RequestID:    p.ID,
		CSRF:         csrf,
		ClientName:   clientDisplayName(client),
		RedirectHost: redirectHost(p.RedirectURI),
		Failed:       failed,
	}
	if err := s.pages.render(w, http.StatusOK, s.pages.login, data.Nonce, s.formAction(p.RedirectURI), data); err != nil {
		s.log.ErrorContext(r.Context(), "rendering the login page failed", "err", err)
	}
}

// clientDisplayName is the client's registered name, else its ID.
func clientDisplayName(c *store.Client) string {
	if n := displayName(c.Name); n != "" {
		return n
	}
	return displayName(c.ID)
}

// formAction lists the CSP form-action sources of a page whose form may end
// in a redirect to redirectURI: this server and the redirect URI's origin.
func (s *Server) formAction(redirectURI string) []string {
	fa := []string{"'self'"}
	if src := cspSource(redirectURI); src != "" {
		fa = append(fa, src)
	}
	return fa
}

// localPath returns the path of an endpoint as the browser sees it: the
// issuer's path prefix (when the server is published below a path) plus p.
// Pages link and redirect with paths, not absolute URLs, so the browser stays
// on the host it used and keeps its cookie.
func (s *Server) localPath(p string) string {
	u, err := url.Parse(s.opts.Issuer)
	if err != nil {
		return p
	}
	return strings.TrimRight(u.EscapedPath(), "/") + p
}

// redirectLocal answers 303 See Other to a page of this server. 303 makes
// the browser follow with GET after a form POST (RFC 9110 §15.4.4), so the
// form body (with the password) is never resubmitted, as it would be with 307.
func (s *Server) redirectLocal(w http.ResponseWriter, path string, q url.Values) {
	setPageHeaders(w.Header(), redirectCSP)
	w.Header().Set("Location", s.localPath(path)+"?"+q.Encode())
	w.WriteHeader(http.StatusSeeOther)
}

// redirectError redirects an authorization error response to the client
// (RFC 6749 §4.1.2.1): error, error_description, state when the request had
// one, and iss.
func (s *Server) redirectError(w http.ResponseWriter, redirectURI, state string, e *grant.Error) {
	q := url.Values{"error": {e.Code}}
	if e.Description != "" {
		q.Set("error_description", e.Description)
	}
	if e.URI != "" {
		q.Set("error_uri", e.URI)
	}
	if state != "" {
		q.Set("state", state)
	}
	s.redirectResponse(w, redirectURI, q)
}

// redirectResponse sends an authorization response to the client's redirect
// URI with q plus iss (RFC 9207 §2), as 303 See Other. The redirect URI's own
// query is kept byte for byte and the parameters are appended (RFC 6749
// §3.1.2).
func (s *Server) redirectResponse(w http.ResponseWriter, redirectURI string, q url.Values) {
	q.Set("iss", s.opts.Issuer)
	setPageHeaders(w.Header(), redirectCSP)
	w.Header().Set("Location", appendQuery(redirectURI, q.Encode()))
	w.WriteHeader(http.StatusSeeOther)
}

// appendQuery appends the encoded query enc to uri, which has no fragment.
func appendQuery(uri, enc string) string {
	switch i := strings.IndexByte(uri, '?'); {
	case i < 0:
		return uri + "?" + enc
	case i == len(uri)-1 || strings.HasSuffix(uri, "&"):
		return uri + enc
	default:
		return uri + "&" + enc
	}
}

// parseFormBody reads an application/x-www-form-urlencoded body of at most
// maxFormBody bytes. Query parameters are not merged in. Repeated parameters
// are kept: validateAuthorize and singleValued decide about them.
func parseFormBody(w http.ResponseWriter, r *http.Request) (url.Values, *grant.Error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, grant.Errorf(grant.CodeInvalidRequest, "the form must be sent as application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return nil, grant.Errorf(grant.CodeInvalidRequest, "the form body is malformed or too large")
	}
	return r.PostForm, nil
}

// parsePageForm reads the body of a login or consent form, in which no
// field may repeat.
func parsePageForm(w http.ResponseWriter, r *http.Request) (url.Values, *grant.Error) {
	form, e := parseFormBody(w, r)
	if e != nil {
		return nil, e
	}
	for name, vs := range form {
		if len(vs) > 1 {
			return nil, grant.Errorf(grant.CodeInvalidRequest, "form field %s is repeated", name)
		}
	}
	return form, nil
}

// authzCookieName is the binding cookie's name for this issuer.
func (s *Server) authzCookieName() string {
	if s.secure {
		return authzCookieSecure
	}
	return authzCookiePlain
}

// authzEntries parses the binding cookie(s) of r. Malformed entries are
// skipped.
func (s *Server) authzEntries(r *http.Request) []authzEntry {
	var out []authzEntry
	for _, c := range r.CookiesNamed(s.authzCookieName()) {
		out = append(out, parseAuthzCookie(c.Value)...)
		if len(out) >= maxAuthzEntries {
			return out[:maxAuthzEntries]
		}
	}
	return out
}

// parseAuthzCookie parses a binding cookie value: up to maxAuthzEntries
// "<id>.<csrf>" pairs separated by "~", where id is a token.NewID and csrf a
// token.NewSecret. Malformed pairs are skipped.
func parseAuthzCookie(v string) []authzEntry {
	if len(v) > maxAuthzCookie {
		return nil
	}
	var out []authzEntry
	for part := range strings.SplitSeq(v, "~") {
		id, csrf, ok := strings.Cut(part, ".")
		if !ok || !token.ValidGrantID(id) || len(csrf) != token.SecretLen || !token.ValidGrantID(csrf) {
			continue
		}
		out = append(out, authzEntry{id, csrf})
		if len(out) == maxAuthzEntries {
			break
		}
	}
	return out
}

// setAuthzCookie writes entries (newest first, duplicates removed, at most
// maxAuthzEntries) as the binding cookie, or deletes it when entries is
// empty. The cookie is HttpOnly, SameSite=Lax (sent on the top-level
// navigation from the client to /authorize and on our own form posts),
// Path=/, Secure and __Host- prefixed on an https issuer, and lives as long
// as a pending request.
func (s *Server) setAuthzCookie(w http.ResponseWriter, entries []authzEntry) {
	var b strings.Builder
	seen := make(map[string]bool, len(entries))
	n := 0
	for _, e := range entries {
		if seen[e.id] || n == maxAuthzEntries {
			continue
		}
		seen[e.id] = true
		if n > 0 {
			b.WriteByte('~')
		}
		b.WriteString(e.id + "." + e.csrf)
		n++
	}
	c := &http.Cookie{
		Name:     s.authzCookieName(),
		Value:    b.String(),
		Path:     "/",
		MaxAge:   int(PendingTTL.Seconds()),
		Secure:   s.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if n == 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// dropAuthzEntry removes a completed request from the binding cookie.
func (s *Server) dropAuthzEntry(w http.ResponseWriter, r *http.Request, id string) {
	entries := s.authzEntries(r)
	kept := slices.DeleteFunc(entries, func(e authzEntry) bool { return e.id == id })
	s.setAuthzCookie(w, kept)
}
