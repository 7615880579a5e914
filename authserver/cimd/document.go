package cimd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
)

// Limits on document contents.
const (
	// MaxRedirectURIs is the most redirect_uris a document may list.
	MaxRedirectURIs = 16
	// maxString bounds client_name and the other text fields.
	maxString = 256
)

// Document is a client metadata document: the RFC 7591 §2 client metadata
// this server uses, published at the client identifier URL.
type Document struct {
	// ClientID equals the URL the document was fetched from.
	ClientID string
	// ClientName is the human-readable name shown on the login and consent
	// pages. It is chosen by whoever publishes the document.
	ClientName string
	// RedirectURIs are the only redirect URIs the client may use.
	RedirectURIs []string
	// GrantTypes are the supported grant types the document lists
	// (authorization_code, refresh_token); nil when it lists none.
	GrantTypes []string
	// Scopes are the scopes the client may request (RFC 7591 "scope"); nil
	// means no restriction.
	Scopes []string
	// ClientURI and LogoURI are the client's home page and logo, if given.
	ClientURI, LogoURI string
}

// Parse reads body as the client metadata document of clientID and checks
// it (draft-ietf-oauth-client-id-metadata-document, "Client Metadata
// Document"; MCP 2025-11-25, "Client ID Metadata Documents"):
//
//   - it is a JSON object (RFC 8259) of at most one value;
//   - client_id is present and equals clientID by simple string comparison
//     (RFC 3986 §6.2.1);
//   - client_name (required by MCP) is a non-empty string of printable text;
//   - redirect_uris lists 1 to MaxRedirectURIs URIs, each an https, loopback
//     http or private-use-scheme URI without fragment (OAuth 2.1 §2.3.1,
//     RFC 8252 §7);
//   - the client is public: token_endpoint_auth_method is absent or "none",
//     and client_secret and client_secret_expires_at are absent (no secret
//     can be shared through a public document; private_key_jwt is not
//     supported by this server);
//   - grant_types, when given, includes authorization_code (other types than
//     authorization_code and refresh_token are ignored: this server never
//     grants them); response_types, when given, includes "code";
//   - scope, when given, is a valid scope string (RFC 6749 §3.3);
//   - client_uri and logo_uri, when given, are https URLs.
//
// Other members are ignored. Errors are *Error with Kind ErrDocument.
func Parse(clientID string, body []byte) (*Document, error) {
	bad := func(format string, args ...any) (*Document, error) {
		return nil, newError(ErrDocument, nil, "client metadata document: "+fmt.Sprintf(format, args...))
	}
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&members); err != nil || members == nil {
		return bad("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("not a single JSON object")
	}
	str := func(name string, required bool) (string, bool, error) {
		raw, ok := members[name]
		if !ok || string(raw) == "null" {
			if required {
				return "", false, fmt.Errorf("%s is required", name)
			}
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, fmt.Errorf("%s must be a string", name)
		}
		return s, true, nil
	}
	list := func(name string) ([]string, bool, error) {
		raw, ok := members[name]
		if !ok || string(raw) == "null" {
			return nil, false, nil
		}
		var l []string
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, false, fmt.Errorf("%s must be an array of strings", name)
		}
		return l, true, nil
	}

	d := &Document{}
	id, _, err := str("client_id", true)
	if err != nil {
		return bad("%v", err)
	}
	if id != clientID {
		return bad("its client_id does not equal the URL it was fetched from")
	}
	d.ClientID = id

	// No shared secret can be established through a public document.
	for _, name := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := members[name]; ok {
			return bad("%s must not be present: a client identified by URL is a public client", name)
		}
	}
	method, _, err := str("token_endpoint_auth_method", false)
	if err != nil {
		return bad("%v", err)
	}
	switch method {
	case "", string(grant.AuthNone):
	case string(grant.AuthClientSecretBasic), string(grant.AuthClientSecretPost), "client_secret_jwt":
		return bad("token_endpoint_auth_method %s needs a shared secret, which a client identified by URL cannot have; use none", quoted(method))
	default:
		return bad("token_endpoint_auth_method %s is not supported by this server; use none", quoted(method))
	}

	name, _, err := str("client_name", true)
	if err != nil {
		return bad("%v", err)
	}
	if name = strings.TrimSpace(name); name == "" || !printable(name) {
		return bad("client_name must be non-empty printable text of at most %d bytes", maxString)
	}
	d.ClientName = name

	uris, ok, err := list("redirect_uris")
	switch {
	case err != nil:
		return bad("%v", err)
	case !ok || len(uris) == 0:
		return bad("redirect_uris is required")
	case len(uris) > MaxRedirectURIs:
		return bad("at most %d redirect_uris are accepted", MaxRedirectURIs)
	}
	for _, u := range uris {
		if err := grant.ValidateRedirectURI(u, true); err != nil {
			desc := err.Error()
			if e, ok := err.(*grant.Error); ok {
				desc = e.Description
			}
			return bad("redirect_uris: %s", desc)
		}
		if !slices.Contains(d.RedirectURIs, u) {
			d.RedirectURIs = append(d.RedirectURIs, u)
		}
	}

	gts, ok, err := list("grant_types")
	if err != nil {
		return bad("%v", err)
	}
	if ok {
		for _, gt := range gts {
			if (gt == "authorization_code" || gt == "refresh_token") && !slices.Contains(d.GrantTypes, gt) {
				d.GrantTypes = append(d.GrantTypes, gt)
			}
		}
		if !slices.Contains(d.GrantTypes, "authorization_code") {
			return bad("grant_types must include authorization_code")
		}
	}
	rts, ok, err := list("response_types")
	if err != nil {
		return bad("%v", err)
	}
	if ok && !slices.Contains(rts, "code") {
		return bad("response_types must include code")
	}

	scope, ok, err := str("scope", false)
	if err != nil {
		return bad("%v", err)
	}
	if ok {
		scopes, err := grant.ParseScope(scope)
		if err != nil {
			return bad("scope is not a valid scope string")
		}
		d.Scopes = scopes
	}
	for _, m := range []struct {
		name string
		dst  *string
	}{{"client_uri", &d.ClientURI}, {"logo_uri", &d.LogoURI}} {
		v, ok, err := str(m.name, false)
		if err != nil {
			return bad("%v", err)
		}
		if ok {
			if !httpsURL(v) {
				return bad("%s must be an https URL", m.name)
			}
			*m.dst = v
		}
	}
	return d, nil
}

// Client returns the document as a public client of package store. It is
// never persisted: URL clients are resolved from their document each time
// their cached copy expires.
func (d *Document) Client() *store.Client {
	c := &store.Client{
		ID:                      d.ClientID,
		Name:                    d.ClientName,
		RedirectURIs:            slices.Clone(d.RedirectURIs),
		GrantTypes:              slices.Clone(d.GrantTypes),
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: string(grant.AuthNone),
		Scopes:                  slices.Clone(d.Scopes),
	}
	if d.ClientURI != "" || d.LogoURI != "" {
		c.Metadata = store.Claims{}
		if d.ClientURI != "" {
			c.Metadata["client_uri"] = d.ClientURI
		}
		if d.LogoURI != "" {
			c.Metadata["logo_uri"] = d.LogoURI
		}
	}
	return c
}

// printable reports whether s is valid UTF-8 of at most maxString bytes
// without control characters.
func printable(s string) bool {
	return len(s) <= maxString && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// httpsURL reports whether s is an absolute https URL with a host, in
// printable ASCII, without user information or fragment, of at most
// MaxClientIDLen bytes.
func httpsURL(s string) bool {
	if len(s) > MaxClientIDLen || !strings.HasPrefix(s, "https://") || strings.ContainsAny(s, "#@") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	rest := strings.TrimPrefix(s, "https://")
	host, _, _ := strings.Cut(rest, "/")
	return host != ""
}

// quoted shortens document-supplied text for an error message.
func quoted(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return "'" + s + "'"
}
