package authserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/dcr"
	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// RegistrationPolicy restricts dynamic client registration (RFC 7591). The
// zero value restricts nothing beyond the registration rules themselves.
type RegistrationPolicy struct {
	// AllowedRedirectURIs are patterns (see [dcr.Pattern]) that every
	// redirect URI of a registration must match. Empty allows every redirect
	// URI the registration rules accept.
	AllowedRedirectURIs []string
	// InitialAccessToken, when set, must be sent as a bearer token
	// (Authorization: Bearer, RFC 6750 §2.1) with every registration
	// request: the initial access token of RFC 7591 §1.2 and §3. The server
	// keeps only its SHA-256 hash and compares in constant time.
	InitialAccessToken string
	// MaxClients caps the number of dynamically registered clients in the
	// store; 0 means no cap. Pre-registered clients do not count. The server
	// keeps the count in memory: it counts the store's clients once, then
	// follows its own registrations and deletions, and counts again at most
	// every recountInterval (10 s), so a registration costs no store scan.
	// Within one process the cap holds exactly, concurrent registrations
	// included. Across instances sharing a store it is approximate: an
	// instance sees the registrations and deletions made elsewhere (other
	// instances, `frontmcp clients remove`) at its next count, so together
	// they may exceed the cap by what the others registered within the last
	// 10 s.
	MaxClients int
}

// recountInterval is the longest the in-memory count of dynamic clients is
// used without counting the store's clients again.
const recountInterval = 10 * time.Second

// registrationPolicy is a RegistrationPolicy ready to apply.
type registrationPolicy struct {
	patterns []*dcr.Pattern
	// initialTokenHash is token.Hash of the initial access token; "" when
	// registration is open.
	initialTokenHash string
	maxClients       int

	// mu serializes registrations when maxClients > 0 (from the check of
	// the cap to the client stored) and guards count: the dynamic clients
	// in the store at countedAt (valid once counted), plus this process's
	// registrations and deletions since.
	mu        sync.Mutex
	counted   bool
	countedAt time.Time
	count     int
}

// newRegistrationPolicy checks p and prepares it.
func newRegistrationPolicy(p RegistrationPolicy) (*registrationPolicy, error) {
	rp := &registrationPolicy{maxClients: p.MaxClients}
	if p.MaxClients < 0 {
		return nil, errors.New("authserver: Registration.MaxClients must not be negative")
	}
	for i, s := range p.AllowedRedirectURIs {
		pat, err := dcr.ParsePattern(s)
		if err != nil {
			return nil, fmt.Errorf("authserver: Registration.AllowedRedirectURIs[%d] %q: %v", i, s, err)
		}
		rp.patterns = append(rp.patterns, pat)
	}
	if p.InitialAccessToken != "" {
		if _, ok := grant.ParseBearer("Bearer " + p.InitialAccessToken); !ok {
			return nil, errors.New("authserver: Registration.InitialAccessToken must be a bearer token (RFC 6750 §2.1: letters, digits, - . _ ~ + /, then optional =)")
		}
		rp.initialTokenHash = token.Hash(p.InitialAccessToken)
	}
	return rp, nil
}

// allowsRedirectURI reports whether u matches the allowlist (always true
// when the allowlist is empty).
func (p *registrationPolicy) allowsRedirectURI(u string) bool {
	if len(p.patterns) == 0 {
		return true
	}
	for _, pat := range p.patterns {
		if pat.Match(u) {
			return true
		}
	}
	return false
}

// bearerRealm is the realm of the Bearer challenges of the registration
// endpoints.
const bearerRealm = `Bearer realm="frontmcp"`

// refuseBearer answers 401 with a Bearer challenge (RFC 6750 §3) and an
// invalid_token body. A request without credentials gets a challenge
// without an error code (RFC 6750 §3.1); the body still says why.
func refuseBearer(w http.ResponseWriter, presented bool, desc string) {
	e := grant.Errorf(grant.CodeInvalidToken, "%s", desc)
	challenge := bearerRealm
	if presented {
		challenge += `, error="invalid_token", error_description="` + e.Description + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, http.StatusUnauthorized, e)
}

// checkInitialAccessToken enforces the initial access token of RFC 7591 §3
// when one is configured. On failure it has answered 401 and reports false.
func (s *Server) checkInitialAccessToken(w http.ResponseWriter, r *http.Request) bool {
	want := s.reg.initialTokenHash
	if want == "" {
		return true
	}
	header := r.Header.Get("Authorization")
	if header == "" {
		refuseBearer(w, false, "registration requires an initial access token (RFC 7591 section 3)")
		return false
	}
	tok, ok := grant.ParseBearer(header)
	// Hash whatever was sent, so a malformed header costs the same as a
	// wrong token.
	if !token.Equal(token.Hash(tok), want) || !ok {
		s.log.InfoContext(r.Context(), "registration with a wrong initial access token", "token", logging.Fingerprint(tok))
		refuseBearer(w, true, "the initial access token is not valid")
		return false
	}
	return true
}

// reserveRegistration holds the registration cap for one registration and
// returns the function to call once the client is stored (created true) or
// not; registrations wait for each other in between, which is one store
// write. The count of dynamic clients is the in-memory one (see
// RegistrationPolicy.MaxClients); the store's clients are counted again when
// the count is older than recountInterval. At the cap it answers 403
// access_denied ("registration limit reached"; RFC 7591 §3.2.2 defines no
// code for it) and reports false, as it does after a store failure.
func (s *Server) reserveRegistration(ctx context.Context, w http.ResponseWriter) (release func(created bool), ok bool) {
	p := s.reg
	if p.maxClients == 0 {
		return func(bool) {}, true
	}
	p.mu.Lock()
	now := s.now()
	if !p.counted || now.Sub(p.countedAt) >= recountInterval || now.Before(p.countedAt) {
		n, err := s.countDynamicClients(ctx)
		if err != nil {
			p.mu.Unlock()
			writeOAuthError(w, s.storeError(ctx, "list clients", err))
			return nil, false
		}
		p.counted, p.countedAt, p.count = true, now, n
	}
	if p.count >= p.maxClients {
		n := p.count
		p.mu.Unlock()
		s.log.WarnContext(ctx, "client registration refused: registration limit reached", "clients", n, "max_clients", p.maxClients)
		writeJSON(w, http.StatusForbidden, grant.Errorf(grant.CodeAccessDenied,
			"registration limit reached: this server accepts at most %d registered clients", p.maxClients))
		return nil, false
	}
	return func(created bool) {
		if created {
			p.count++
		}
		p.mu.Unlock()
	}, true
}

// countDynamicClients counts the dynamically registered clients in the
// store.
func (s *Server) countDynamicClients(ctx context.Context) (int, error) {
	clients, err := s.opts.Store.ListClients(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range clients {
		if c.Dynamic {
			n++
		}
	}
	return n, nil
}

// registrationDeleted takes a deleted dynamic client off the in-memory
// count.
func (p *registrationPolicy) registrationDeleted() {
	p.mu.Lock()
	if p.counted && p.count > 0 {
		p.count--
	}
	p.mu.Unlock()
}

// clientConfigurationMethods are the methods of the client configuration
// endpoint.
const clientConfigurationMethods = "GET, DELETE, OPTIONS"

// handleClientConfiguration is the client configuration endpoint of
// RFC 7592 §2 at {issuer}/oauth/register/{client_id}: the registration
// response names it in registration_client_uri. A client authenticates with
// the registration_access_token it received at registration (a bearer
// token, compared by hash in constant time). Only dynamically registered
// clients are managed here.
//
//   - GET (§2.1) returns the client's current metadata. The client secret
//     and the registration access token are stored only as hashes, so the
//     response carries neither; the client keeps the ones it received.
//     RFC 7592 §3 lists registration_access_token as required in this
//     response, which a server can honour only by keeping the token or by
//     issuing a new one on every read; the store has no operation to
//     replace a client's token hash in place (and deleting and re-creating
//     the client would race its token requests), so the token is neither
//     kept nor rotated: a known deviation.
//   - DELETE (§2.3) revokes every grant of the client (its refresh tokens
//     stop working at once, and so do its access tokens at the resource)
//     and deletes it: 204.
//   - PUT (§2.2, update) is not supported: 405. Delete the client and
//     register it again.
//
// An unknown client, a pre-registered one and a wrong or missing token are
// all 401 invalid_token (§2: the server does not tell them apart).
func (s *Server) handleClientConfiguration(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if allowCORS(w, r, clientConfigurationMethods) {
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
	case http.MethodPut:
		h.Set("Allow", clientConfigurationMethods)
		writeJSON(w, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest,
			"updating a registration (RFC 7592 section 2.2) is not supported; delete the client and register again"))
		return
	default:
		h.Set("Allow", clientConfigurationMethods)
		writeJSON(w, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest, "the client configuration endpoint accepts GET and DELETE"))
		return
	}
	ctx := r.Context()
	c, ok := s.authenticateRegistration(w, r, r.PathValue("client_id"))
	if !ok {
		return
	}
	if r.Method == http.MethodGet {
		writeJSON(w, http.StatusOK, s.clientInformation(c, "", ""))
		return
	}
	if e := s.deleteRegistration(ctx, c.ID); e != nil {
		writeOAuthError(w, e)
		return
	}
	s.log.InfoContext(ctx, "client registration deleted", "client_id", c.ID, "client_name", c.Name)
	w.WriteHeader(http.StatusNoContent)
}

// dummyRegistrationHash is compared against when there is no client, so an
// unknown client costs the same as a wrong token.
var dummyRegistrationHash = token.Hash("no registration access token")

// authenticateRegistration checks the registration access token of a
// client configuration request (RFC 7592 §3) and returns the client. On
// failure it has answered (401, or 503/500 for a store failure).
func (s *Server) authenticateRegistration(w http.ResponseWriter, r *http.Request, id string) (*store.Client, bool) {
	ctx := r.Context()
	header := r.Header.Get("Authorization")
	if header == "" {
		refuseBearer(w, false, "the client configuration endpoint requires the registration access token (RFC 7592 section 3)")
		return nil, false
	}
	tok, parsed := grant.ParseBearer(header)
	var c *store.Client
	if _, preRegistered := s.clients[id]; !preRegistered && id != "" {
		got, err := s.opts.Store.GetClient(ctx, id)
		switch {
		case err == nil:
			c = got
		case !errors.Is(err, store.ErrNotFound):
			writeOAuthError(w, s.storeError(ctx, "get client", err))
			return nil, false
		}
	}
	manageable := c != nil && c.Dynamic && c.RegistrationTokenHash != ""
	want := dummyRegistrationHash
	if manageable {
		want = c.RegistrationTokenHash
	}
	match := token.CheckSecret(tok, want)
	if !parsed || !match || !manageable {
		s.log.InfoContext(ctx, "client configuration request refused", "client_id", id, "token", logging.Fingerprint(tok))
		refuseBearer(w, true, "the registration access token is not valid for this client")
		return nil, false
	}
	return c, true
}

// deleteRegistration revokes every grant of a dynamic client and deletes
// it (RFC 7592 §2.3) with DeleteClient, which revokes before and again
// after the deletion; this server applies each revocation at once
// (Options.Revoked). A client deleted concurrently counts as deleted.
func (s *Server) deleteRegistration(ctx context.Context, clientID string) *grant.Error {
	s.clientCache.forget(clientID)
	revoked, err := DeleteClient(ctx, s.opts.Store, clientID, &DeleteClientOptions{Revoked: s.revoked})
	s.clientCache.forget(clientID)
	if len(revoked) > 0 {
		s.log.InfoContext(ctx, "grants of a deleted client revoked", "event", "revocation", "client_id", clientID, "grants", len(revoked))
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return s.storeError(ctx, "delete client", err)
	}
	s.reg.registrationDeleted()
	return nil
}
