package authserver

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// Grant types of the token endpoint (RFC 6749 §4.1.3, §6).
const (
	grantTypeAuthorizationCode = "authorization_code"
	grantTypeRefreshToken      = "refresh_token"
)

// defaultGrantTypes are the grant types of a client that registered none.
var defaultGrantTypes = []string{grantTypeAuthorizationCode, grantTypeRefreshToken}

// basicChallenge is the WWW-Authenticate value sent with invalid_client when
// the client tried HTTP Basic authentication (RFC 6749 §5.2, RFC 7617 §2).
const basicChallenge = `Basic realm="frontmcp"`

// clientAuthMethod returns the token_endpoint_auth_method c authenticates
// with: the registered one, else client_secret_basic for a client with a
// secret and none for one without (the RFC 7591 §2 default for clients with a
// secret is client_secret_basic).
func clientAuthMethod(c *store.Client) grant.AuthMethod {
	if c.TokenEndpointAuthMethod != "" {
		return grant.AuthMethod(c.TokenEndpointAuthMethod)
	}
	if c.SecretHash != "" {
		return grant.AuthClientSecretBasic
	}
	return grant.AuthNone
}

// isPublicClient reports whether c has no secret (OAuth 2.1 §2.1).
func isPublicClient(c *store.Client) bool { return c.SecretHash == "" }

// clientAllowsGrant reports whether c may use grantType: one of its
// GrantTypes, or authorization_code and refresh_token when it lists none.
func clientAllowsGrant(c *store.Client, grantType string) bool {
	if len(c.GrantTypes) == 0 {
		return slices.Contains(defaultGrantTypes, grantType)
	}
	return slices.Contains(c.GrantTypes, grantType)
}

// authenticateClient checks the credentials of a token request against the
// registered client (RFC 6749 §2.3, §3.2.1; OAuth 2.1 §2.4):
//
//   - an unknown client_id is invalid_client;
//   - a public client (no secret, method none) must not send a secret;
//   - a confidential client must use its registered method
//     (client_secret_basic or client_secret_post) with a secret whose hash
//     matches, compared in constant time.
//
// Every authentication failure is invalid_client, which the caller answers
// with 401 (RFC 6749 §5.2). Store failures are mapped by storeError, and a
// URL client whose metadata document is temporarily unavailable gets
// temporarily_unavailable (503): its credentials are not wrong, and a client
// that heard invalid_client would drop them.
func (s *Server) authenticateClient(ctx context.Context, creds grant.ClientCredentials) (*store.Client, *grant.Error) {
	c, err := s.lookupClient(ctx, creds.ID)
	if e, ok := metadataClientError(err, grant.CodeInvalidClient); ok {
		return nil, e
	}
	if errors.Is(err, store.ErrNotFound) {
		s.log.InfoContext(ctx, "token request from an unknown client", "client_id", creds.ID)
		return nil, grant.Errorf(grant.CodeInvalidClient, "client authentication failed")
	}
	if err != nil {
		return nil, s.storeError(ctx, "get client", err)
	}
	want := clientAuthMethod(c)
	if isPublicClient(c) {
		if want != grant.AuthNone {
			// A confidential method without a stored secret cannot succeed.
			s.log.ErrorContext(ctx, "client has a confidential auth method but no secret", "client_id", c.ID, "method", string(want))
			return nil, grant.Errorf(grant.CodeInvalidClient, "client authentication failed")
		}
		if creds.Method != grant.AuthNone {
			s.log.InfoContext(ctx, "public client sent a secret", "client_id", c.ID, "method", string(creds.Method))
			return nil, grant.Errorf(grant.CodeInvalidClient, "client %s is a public client and must not authenticate with a secret", c.ID)
		}
		return c, nil
	}
	// Always spend one hash comparison, so timing does not tell a wrong
	// method from a wrong secret.
	ok := token.CheckSecret(creds.Secret, c.SecretHash)
	if creds.Method != want {
		s.log.InfoContext(ctx, "client used the wrong authentication method", "client_id", c.ID, "method", string(creds.Method), "registered", string(want))
		return nil, grant.Errorf(grant.CodeInvalidClient, "client authentication failed: client %s authenticates with %s", c.ID, string(want))
	}
	if !ok {
		s.log.InfoContext(ctx, "client secret mismatch", "client_id", c.ID, "secret", logging.Fingerprint(creds.Secret))
		return nil, grant.Errorf(grant.CodeInvalidClient, "client authentication failed")
	}
	return c, nil
}

// acceptPOST starts a JSON endpoint that takes POST only: its answers are
// never cached (RFC 6749 §5.1: Cache-Control no-store, Pragma no-cache), a
// cross-origin endpoint (cors) answers the CORS preflight, and other
// methods get 405 naming the endpoint. It reports whether the caller goes on.
func acceptPOST(w http.ResponseWriter, r *http.Request, endpoint string, cors bool) bool {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	allow := "POST"
	if cors {
		allow = "POST, OPTIONS"
		if allowCORS(w, r, allow) {
			return false
		}
	}
	if r.Method != http.MethodPost {
		h.Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, grant.Errorf(grant.CodeInvalidRequest, "the %s endpoint accepts POST only", endpoint))
		return false
	}
	return true
}

// allowCORS prepares a response of a cross-origin JSON endpoint (token,
// registration): browser-based MCP clients call these from another origin
// (Fetch Standard, CORS protocol). The endpoints never use cookies, so every
// origin is allowed and credentials are not. It answers an OPTIONS preflight
// itself (204) and then reports true; the caller returns.
func allowCORS(w http.ResponseWriter, r *http.Request, methods string) (done bool) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", methods)
	// "*" in Access-Control-Allow-Headers does not cover Authorization, so
	// it is named explicitly; the other request headers are echoed when they
	// are a plain list of header names.
	allow := "Authorization, Content-Type, Accept"
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" && len(req) <= 512 && isHeaderList(req) {
		allow = req
	}
	h.Set("Access-Control-Allow-Headers", allow)
	h.Set("Access-Control-Max-Age", "3600")
	h.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// isHeaderList reports whether s is a comma-separated list of header names
// (RFC 9110 §5.1 tokens).
func isHeaderList(s string) bool {
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
				return false
			}
		}
	}
	return true
}
