package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxMetadata bounds a discovery document.
const maxMetadata = 1 << 20

// Metadata is what this package uses of a provider's discovery document:
// OpenID Connect Discovery 1.0 §3 or OAuth 2.0 Authorization Server Metadata
// (RFC 8414 §2), which share these names.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// IDTokenSigningAlgValuesSupported is REQUIRED in OpenID Connect
	// Discovery (§3) and absent from plain OAuth metadata: its presence is
	// what makes a provider an OpenID provider here.
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported,omitempty"`
	// AuthorizationResponseIssParameterSupported: the provider puts "iss" in
	// its authorization responses (RFC 9207 §3), so a response without it
	// is refused.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
	// Source is the URL the document was read from (not part of it).
	Source string `json:"-"`
}

// OpenID reports whether the document describes an OpenID provider, whose
// logins are proven by ID tokens.
func (m *Metadata) OpenID() bool { return len(m.IDTokenSigningAlgValuesSupported) > 0 }

// ErrDiscovery reports that the provider's metadata could not be obtained
// or is not usable; the message says which URLs were tried and why.
var ErrDiscovery = errors.New("federation: provider discovery failed")

// MetadataURLs returns the discovery URLs of issuer in the order they are
// tried: OpenID Connect Discovery §4 ({issuer}/.well-known/openid-configuration),
// then RFC 8414 §3.1 (the well-known segment inserted before the issuer's
// path), then, for an issuer with a path, the form that appends it, which
// RFC 8414 §5 keeps for compatibility. Endpoints are never guessed beyond
// these.
func MetadataURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: issuer %q must be an absolute http(s) URL without query or fragment", ErrDiscovery, issuer)
	}
	base := u.Scheme + "://" + u.Host
	path := strings.TrimRight(u.EscapedPath(), "/")
	urls := []string{
		base + path + "/.well-known/openid-configuration",
		base + "/.well-known/oauth-authorization-server" + path,
	}
	if path != "" {
		urls = append(urls, base+path+"/.well-known/oauth-authorization-server")
	}
	return urls, nil
}

// Discover fetches the provider's metadata from the URLs of MetadataURLs,
// taking the first that answers 200 with a JSON document, and checks it:
// "issuer" must be identical to issuer (OpenID Connect Discovery §4.3, RFC
// 8414 §3.3: a simple string comparison, so a trailing slash counts; the ID
// tokens' "iss" is compared with it the same way), and the endpoints must be
// absolute URLs, https unless the issuer itself is http.
func Discover(ctx context.Context, client *http.Client, issuer string) (*Metadata, error) {
	urls, err := MetadataURLs(issuer)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	var tried []string
	for _, u := range urls {
		m, err := fetchMetadata(ctx, client, u)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", u, err))
			continue
		}
		if err := m.check(issuer); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrDiscovery, u, err)
		}
		m.Source = u
		return m, nil
	}
	return nil, fmt.Errorf("%w: no discovery document for %s (%s)", ErrDiscovery, issuer, strings.Join(tried, "; "))
}

// fetchMetadata GETs one discovery URL.
func fetchMetadata(ctx context.Context, client *http.Client, u string) (*Metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxMetadata))
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, fmt.Errorf("content type %q is not JSON", resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata+1))
	if err != nil {
		return nil, err
	}
	return ParseMetadata(body)
}

// ParseMetadata decodes a discovery document. It checks the JSON shape only;
// Discover checks the values.
func ParseMetadata(body []byte) (*Metadata, error) {
	if len(body) > maxMetadata {
		return nil, fmt.Errorf("document larger than %d bytes", maxMetadata)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("not a metadata document: %w", err)
	}
	return &m, nil
}

// check validates m as the metadata of issuer.
func (m *Metadata) check(issuer string) error {
	if m.Issuer != issuer {
		hint := ""
		if strings.TrimRight(m.Issuer, "/") == strings.TrimRight(issuer, "/") {
			hint = fmt.Sprintf("; set auth.provider to exactly %q", m.Issuer)
		}
		return fmt.Errorf("the document's issuer %q is not the configured provider %q: they must be identical (OpenID Connect Discovery §4.3, RFC 8414 §3.3)%s", m.Issuer, issuer, hint)
	}
	iss, _ := url.Parse(issuer)
	for _, e := range []struct{ name, v string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
	} {
		if e.v == "" {
			continue
		}
		if err := CheckEndpoint(e.v, iss.Scheme == "http"); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	if len(m.CodeChallengeMethodsSupported) > 0 && !slices.Contains(m.CodeChallengeMethodsSupported, "S256") {
		return errors.New("the provider does not support PKCE S256 (code_challenge_methods_supported)")
	}
	return nil
}

// CheckEndpoint checks an endpoint URL: absolute, without fragment, and
// https unless allowHTTP.
func CheckEndpoint(s string, allowHTTP bool) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Fragment != "":
		return fmt.Errorf("%q is not an absolute URL without fragment", s)
	case u.Scheme == "https", u.Scheme == "http" && allowHTTP:
		return nil
	}
	return fmt.Errorf("%q must use https", s)
}
