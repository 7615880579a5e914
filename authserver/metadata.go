package authserver

import (
	"net/http"
	"slices"
	"time"
)

// Cache lifetimes of the discovery documents. Both change only when the
// server is redeployed (metadata) or its keys rotate (JWKS), so clients may
// cache them briefly; five minutes bounds how long a client keeps using a
// stale document after such a change. A key rotation publishes the new key
// before signing with it, and verifiers refetch on an unknown kid, so the
// JWKS lifetime does not delay verification of new tokens.
const (
	metadataCacheControl = "public, max-age=300"
	jwksCacheControl     = "public, max-age=300" // = JWKSMaxAge
)

// JWKSMaxAge is how long clients may cache the JWKS. A rotating key source
// must publish a new key at least this long before it signs with it.
const JWKSMaxAge = 300 * time.Second

// discoveryMethods are the methods of the metadata and JWKS endpoints.
const discoveryMethods = "GET, HEAD, OPTIONS"

// asMetadata is the authorization server metadata of RFC 8414 §2. Only
// statements that are true of this server appear: optional members this
// server does not implement (userinfo, signed requests) are absent rather
// than empty.
type asMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RegistrationEndpoint              string   `json:"registration_endpoint,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	// AuthorizationResponseIssParameterSupported: every authorization
	// response, errors included, carries "iss" (RFC 9207 §3).
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
	// ClientIDMetadataDocumentSupported: https URLs are accepted as
	// client_id and resolved through their Client ID Metadata Document
	// (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25).
	ClientIDMetadataDocumentSupported bool `json:"client_id_metadata_document_supported,omitempty"`
	revocationMetadata
}

// revocationMetadata advertises the revocation (RFC 7009 §2; RFC 8414 §2)
// and introspection (RFC 7662 §2; RFC 8414 §2) endpoints: both are always
// served. Revocation accepts every client authentication method (a public
// client identifies itself by client_id); introspection only confidential
// clients.
type revocationMetadata struct {
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
}

// metadata builds the metadata document from the options.
func (s *Server) metadata() *asMetadata {
	m := &asMetadata{
		Issuer:                            s.opts.Issuer,
		AuthorizationEndpoint:             s.endpoint(PathAuthorize),
		TokenEndpoint:                     s.endpoint(PathToken),
		JWKSURI:                           s.endpoint(PathJWKS),
		ScopesSupported:                   slices.Clone(s.opts.Scopes),
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{grantTypeAuthorizationCode},
		TokenEndpointAuthMethodsSupported: []string{"none", "client_secret_basic", "client_secret_post"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		AuthorizationResponseIssParameterSupported: true,
	}
	m.ClientIDMetadataDocumentSupported = s.opts.ClientMetadata != nil
	m.revocationMetadata = s.revocationMetadata()
	if s.opts.RefreshEnabled {
		m.GrantTypesSupported = append(m.GrantTypesSupported, grantTypeRefreshToken)
	}
	if s.opts.RegistrationEnabled {
		m.RegistrationEndpoint = s.endpoint(PathRegister)
	}
	return m
}

// handleMetadata serves the authorization server metadata (RFC 8414 §3) at
// /.well-known/oauth-authorization-server and, as the same document, at
// /.well-known/openid-configuration, which some MCP clients try first.
// "issuer" is Options.Issuer byte for byte (RFC 8414 §3.3): clients compare
// it with the issuer they derived the metadata URL from.
//
// It is public and read cross-origin by browser-based clients, so it allows
// any origin (it never uses cookies).
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	if !discoveryRequest(w, r) {
		return
	}
	w.Header().Set("Cache-Control", metadataCacheControl)
	writeJSON(w, http.StatusOK, s.metadata())
}

// handleJWKS serves the JWK Set of the public keys that verify this server's
// access tokens (RFC 7517 §5), built once in New.
//
// The media type is application/json rather than the registered
// application/jwk-set+json (RFC 7517 §8.5.1): JWKS fetchers in common OAuth
// and JOSE libraries accept application/json, and some reject anything else;
// the widely deployed identity providers answer application/json too.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if !discoveryRequest(w, r) {
		return
	}
	h := w.Header()
	h.Set("Cache-Control", jwksCacheControl)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(s.keys.JWKS())
}

// discoveryRequest applies the rules shared by the discovery endpoints: CORS
// for any origin with preflight, and GET or HEAD only (405 otherwise). It
// reports whether the caller should write the document.
func discoveryRequest(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if allowCORS(w, r, discoveryMethods) {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", discoveryMethods)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
	return true
}
