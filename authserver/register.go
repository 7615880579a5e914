package authserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// Limits on registration requests. Real clients send a few hundred bytes.
const (
	// maxRegistrationBody caps the JSON body of a registration request.
	maxRegistrationBody = 64 << 10
	// maxRedirectURIs caps how many redirect URIs one client registers.
	maxRedirectURIs = 20
	// maxContacts caps the contacts list.
	maxContacts = 10
	// maxMetadataString caps client_name, software_id, software_version and
	// each contact.
	maxMetadataString = 256
	// maxMetadataURI caps client_uri, logo_uri, tos_uri and policy_uri.
	maxMetadataURI = 2048
)

// registrationRequest is the client metadata of RFC 7591 §2 this server
// understands. Other members are ignored (RFC 7591 §2: the server "MUST
// ignore any client metadata sent by the client that it does not
// understand").
type registrationRequest struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod *string  `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   *string  `json:"scope"`
	ClientName              *string  `json:"client_name"`
	ClientURI               *string  `json:"client_uri"`
	LogoURI                 *string  `json:"logo_uri"`
	TosURI                  *string  `json:"tos_uri"`
	PolicyURI               *string  `json:"policy_uri"`
	Contacts                []string `json:"contacts"`
	SoftwareID              *string  `json:"software_id"`
	SoftwareVersion         *string  `json:"software_version"`
}

// handleRegister is the client registration endpoint of RFC 7591 §3. It is
// mounted only when Options.RegistrationEnabled. Clients are persisted in
// the store, so they survive a restart; a secret is issued only to
// confidential clients, returned once and stored hashed. Every client also
// gets a registration access token for its client configuration endpoint
// (RFC 7592), returned once and stored hashed.
//
// Options.Registration restricts it: an initial access token (401
// invalid_token without it), a redirect URI allowlist (invalid_redirect_uri
// naming the URI) and a cap on the number of clients (403 access_denied).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if !acceptPOST(w, r, "registration", true) {
		return
	}
	if !s.checkInitialAccessToken(w, r) {
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, grant.Errorf(grant.CodeInvalidClientMetadata, "the registration request must be application/json (RFC 7591 §3.1)"))
		return
	}
	var req registrationRequest
	if e := decodeRegistration(w, r, &req); e != nil {
		writeOAuthError(w, e)
		return
	}
	c, e := s.validateRegistration(&req)
	if e != nil {
		writeOAuthError(w, e)
		return
	}

	ctx := r.Context()
	var secret string
	if c.TokenEndpointAuthMethod != string(grant.AuthNone) {
		var err error
		if secret, err = token.NewSecret(); err != nil {
			s.log.ErrorContext(ctx, "generating a client secret failed", "err", err)
			writeOAuthError(w, grant.Errorf(grant.CodeServerError, "internal error"))
			return
		}
		c.SecretHash = token.Hash(secret)
	}
	regToken, err := token.NewSecret()
	if err != nil {
		s.log.ErrorContext(ctx, "generating a registration access token failed", "err", err)
		writeOAuthError(w, grant.Errorf(grant.CodeServerError, "internal error"))
		return
	}
	c.RegistrationTokenHash = token.Hash(regToken)
	c.Dynamic = true
	c.CreatedAt = s.now()
	release, ok := s.reserveRegistration(ctx, w)
	if !ok {
		return
	}
	created := false
	defer func() { release(created) }()
	// Client IDs are random; a collision (with a pre-registered client
	// included) is only retried, never a takeover.
	for attempt := 0; ; attempt++ {
		c.ID = token.NewID()
		if _, taken := s.clients[c.ID]; taken {
			continue
		}
		err := s.opts.Store.CreateClient(ctx, c)
		if err == nil {
			created = true
			break
		}
		if !errors.Is(err, store.ErrExists) || attempt >= 2 {
			writeOAuthError(w, s.storeError(ctx, "create client", err))
			return
		}
	}
	s.log.InfoContext(ctx, "client registered", "client_id", c.ID, "client_name", c.Name, "method", c.TokenEndpointAuthMethod)
	writeJSON(w, http.StatusCreated, s.clientInformation(c, secret, regToken))
}

// decodeRegistration reads the JSON body (at most maxRegistrationBody bytes)
// into req. Members of the wrong type are invalid_client_metadata.
func decodeRegistration(w http.ResponseWriter, r *http.Request, req *registrationRequest) *grant.Error {
	body := http.MaxBytesReader(w, r.Body, maxRegistrationBody)
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(body); err != nil {
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			return grant.Errorf(grant.CodeInvalidClientMetadata, "the registration request is larger than %d bytes", maxRegistrationBody)
		}
		return grant.Errorf(grant.CodeInvalidClientMetadata, "cannot read the registration request")
	}
	b := bytes.TrimSpace(buf.Bytes())
	if len(b) == 0 || b[0] != '{' {
		return grant.Errorf(grant.CodeInvalidClientMetadata, "the registration request must be a JSON object")
	}
	if err := json.Unmarshal(b, req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return grant.Errorf(grant.CodeInvalidClientMetadata, "client metadata %s has the wrong type", te.Field)
		}
		return grant.Errorf(grant.CodeInvalidClientMetadata, "the registration request is not valid JSON")
	}
	return nil
}

// validateRegistration checks the metadata of RFC 7591 §2 and returns the
// client to store (without ID, secret or timestamps).
//
// Every redirect URI must also match the allowlist of
// Options.Registration.AllowedRedirectURIs, when it has one.
func (s *Server) validateRegistration(req *registrationRequest) (*store.Client, *grant.Error) {
	c, e := validateClientMetadata(req, s.opts.Scopes)
	if e != nil {
		return nil, e
	}
	for _, u := range c.RedirectURIs {
		if !s.reg.allowsRedirectURI(u) {
			return nil, grant.Errorf(grant.CodeInvalidRedirectURI, "redirect URI '%s' is not allowed by this server's registration policy", u)
		}
	}
	return c, nil
}

// validateClientMetadata is validateRegistration for a server offering the
// scopes offered; operator registration (CreateClient) applies it too.
func validateClientMetadata(req *registrationRequest, offered []string) (*store.Client, *grant.Error) {
	c := &store.Client{Metadata: store.Claims{}}

	// redirect_uris: required for the authorization_code grant, each an https,
	// loopback http or private-use-scheme URI (RFC 8252 §7, OAuth 2.1 §2.3.1).
	switch n := len(req.RedirectURIs); {
	case n == 0:
		return nil, grant.Errorf(grant.CodeInvalidRedirectURI, "redirect_uris is required")
	case n > maxRedirectURIs:
		return nil, grant.Errorf(grant.CodeInvalidRedirectURI, "at most %d redirect_uris may be registered", maxRedirectURIs)
	}
	for _, u := range req.RedirectURIs {
		if err := grant.ValidateRedirectURI(u, true); err != nil {
			return nil, asOAuthError(err, grant.CodeInvalidRedirectURI)
		}
		if !slices.Contains(c.RedirectURIs, u) {
			c.RedirectURIs = append(c.RedirectURIs, u)
		}
	}

	// token_endpoint_auth_method (RFC 7591 §2): none is the default here,
	// since MCP clients are mostly public (native apps and browser code).
	c.TokenEndpointAuthMethod = string(grant.AuthNone)
	if req.TokenEndpointAuthMethod != nil {
		switch m := grant.AuthMethod(*req.TokenEndpointAuthMethod); m {
		case grant.AuthNone, grant.AuthClientSecretBasic, grant.AuthClientSecretPost:
			c.TokenEndpointAuthMethod = string(m)
		default:
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata,
				"token_endpoint_auth_method %s is not supported (none, client_secret_basic, client_secret_post)", *req.TokenEndpointAuthMethod)
		}
	}

	// grant_types: authorization_code and refresh_token only; the implicit
	// and password grants are removed in OAuth 2.1 (§10.1, §10.2).
	grantTypes := req.GrantTypes
	if grantTypes == nil {
		grantTypes = defaultGrantTypes
	}
	for _, gt := range grantTypes {
		switch gt {
		case grantTypeAuthorizationCode, grantTypeRefreshToken:
			if !slices.Contains(c.GrantTypes, gt) {
				c.GrantTypes = append(c.GrantTypes, gt)
			}
		default:
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "grant_type %s is not supported (authorization_code, refresh_token)", gt)
		}
	}
	if !slices.Contains(c.GrantTypes, grantTypeAuthorizationCode) {
		return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "grant_types must include authorization_code")
	}

	// response_types: only "code" (RFC 7591 §2.1: consistent with
	// authorization_code; OAuth 2.1 removes "token").
	c.ResponseTypes = []string{"code"}
	if req.ResponseTypes != nil {
		if len(req.ResponseTypes) == 0 || slices.ContainsFunc(req.ResponseTypes, func(rt string) bool { return rt != "code" }) {
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata, `response_types must be ["code"]`)
		}
	}

	// scope: the scopes the client may request, each one this server offers.
	if req.Scope != nil {
		scopes, err := grant.ParseScope(*req.Scope)
		if err != nil {
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "scope: %s", asOAuthError(err, grant.CodeInvalidScope).Description)
		}
		if err := grant.ValidateScopes(scopes, offered); err != nil {
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "scope: %s", asOAuthError(err, grant.CodeInvalidScope).Description)
		}
		c.Scopes = scopes
	}

	// Human-readable metadata, shown on the consent page and returned as-is.
	if req.ClientName != nil {
		if !validMetadataString(*req.ClientName) {
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "client_name must be printable text of at most %d bytes", maxMetadataString)
		}
		c.Name = *req.ClientName
	}
	for _, m := range []struct {
		name  string
		value *string
	}{{"client_uri", req.ClientURI}, {"logo_uri", req.LogoURI}, {"tos_uri", req.TosURI}, {"policy_uri", req.PolicyURI}} {
		if m.value == nil {
			continue
		}
		if !validMetadataURI(*m.value) {
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "%s must be an https URL (or http on a loopback host)", m.name)
		}
		c.Metadata[m.name] = *m.value
	}
	for _, m := range []struct {
		name  string
		value *string
	}{{"software_id", req.SoftwareID}, {"software_version", req.SoftwareVersion}} {
		if m.value == nil {
			continue
		}
		if !validMetadataString(*m.value) {
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "%s must be printable text of at most %d bytes", m.name, maxMetadataString)
		}
		c.Metadata[m.name] = *m.value
	}
	if req.Contacts != nil {
		if len(req.Contacts) > maxContacts {
			return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "at most %d contacts may be registered", maxContacts)
		}
		contacts := make([]any, 0, len(req.Contacts))
		for _, ct := range req.Contacts {
			if ct == "" || !validMetadataString(ct) {
				return nil, grant.Errorf(grant.CodeInvalidClientMetadata, "contacts must be non-empty printable strings of at most %d bytes", maxMetadataString)
			}
			contacts = append(contacts, ct)
		}
		c.Metadata["contacts"] = contacts
	}
	if len(c.Metadata) == 0 {
		c.Metadata = nil
	}
	return c, nil
}

// clientInformation is the client information response of RFC 7591
// §3.2.1 and RFC 7592 §3: the registered metadata, defaults included, with
// client_id, client_id_issued_at and registration_client_uri; after
// registration also the secret of a confidential client (it does not
// expire, client_secret_expires_at 0) and the registration access token.
// Both are shown this once: empty secret and regToken leave them out.
func (s *Server) clientInformation(c *store.Client, secret, regToken string) map[string]any {
	resp := map[string]any{
		"registration_client_uri":    s.endpoint(PathRegister + "/" + c.ID),
		"client_id":                  c.ID,
		"client_id_issued_at":        c.CreatedAt.Unix(),
		"redirect_uris":              c.RedirectURIs,
		"token_endpoint_auth_method": c.TokenEndpointAuthMethod,
		"grant_types":                c.GrantTypes,
		"response_types":             c.ResponseTypes,
	}
	if secret != "" {
		resp["client_secret"] = secret
		resp["client_secret_expires_at"] = 0
	}
	if regToken != "" {
		resp["registration_access_token"] = regToken
	}
	if len(c.Scopes) > 0 {
		resp["scope"] = grant.FormatScope(c.Scopes)
	}
	if c.Name != "" {
		resp["client_name"] = c.Name
	}
	for k, v := range c.Metadata {
		resp[k] = v
	}
	return resp
}

// validMetadataString reports whether s is valid UTF-8 without control
// characters and at most maxMetadataString bytes.
func validMetadataString(s string) bool {
	if len(s) > maxMetadataString || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}

// validMetadataURI reports whether s is an absolute https URL with a host, or
// an http URL on a loopback host (127.0.0.1, [::1], localhost), without user
// information or fragment, in printable ASCII.
func validMetadataURI(s string) bool {
	if s == "" || len(s) > maxMetadataURI {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	if err != nil || strings.Contains(s, "#") || u.User != nil || u.Opaque != "" || u.Hostname() == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		switch u.Hostname() {
		case "127.0.0.1", "::1", "localhost":
			return true
		}
	}
	return false
}
