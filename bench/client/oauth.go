package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// Metadata is the part of the authorization server metadata (RFC 8414 §2)
// the harness uses.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	RegistrationEndpoint  string `json:"registration_endpoint"`
}

// FetchMetadata reads the metadata of the authorization server issuer
// (RFC 8414 §3.1: the well-known suffix goes between host and path).
func FetchMetadata(ctx context.Context, hc *http.Client, issuer string) (*Metadata, error) {
	iss, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	u := iss.Scheme + "://" + iss.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(iss.Path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	_, body, err := do(hc, req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if m.Issuer != issuer || m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		return nil, fmt.Errorf("GET %s: metadata for issuer %q with authorization endpoint %q and token endpoint %q, want issuer %q",
			u, m.Issuer, m.AuthorizationEndpoint, m.TokenEndpoint, issuer)
	}
	return &m, nil
}

// OAuthClient is a registered public client (token_endpoint_auth_method
// none) of one authorization server.
type OAuthClient struct {
	HTTP        *http.Client
	Meta        *Metadata
	ClientID    string
	RedirectURI string
	// Resource is the RFC 8707 resource indicator sent with every request.
	Resource string
	// Scope is requested at authorization.
	Scope string
}

// Register registers a public client for the authorization_code and
// refresh_token grants by dynamic client registration (RFC 7591 §3.1).
func Register(ctx context.Context, hc *http.Client, meta *Metadata, redirectURI, resource, scope string) (*OAuthClient, error) {
	if meta.RegistrationEndpoint == "" {
		return nil, errors.New("the authorization server offers no registration endpoint (auth.dcrEnabled)")
	}
	reqBody, err := json.Marshal(map[string]any{
		"client_name":                "frontmcp-bench",
		"redirect_uris":              []string{redirectURI},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
		"scope":                      scope,
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, meta.RegistrationEndpoint, bytes.NewReader(reqBody))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	_, body, err := do(hc, req, http.StatusCreated)
	if err != nil {
		return nil, err
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(body, &reg); err != nil || reg.ClientID == "" {
		return nil, fmt.Errorf("POST %s: no client_id in %s", meta.RegistrationEndpoint, truncate(string(body), 300))
	}
	return &OAuthClient{HTTP: hc, Meta: meta, ClientID: reg.ClientID, RedirectURI: redirectURI, Resource: resource, Scope: scope}, nil
}

// Code is an authorization code with the PKCE verifier of its request.
type Code struct {
	Code, Verifier string
}

// Token is a successful token response (RFC 6749 §5.1).
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// Authorize runs one authorization request (RFC 6749 §4.1.1 with PKCE S256,
// RFC 7636 §4) as a browser would: it opens the authorization URL, signs in
// as username on the login page, approves on the consent page and returns
// the code of the redirect to the client, after checking its state and iss
// (RFC 9207 §2). Each call uses its own cookie jar.
func (c *OAuthClient) Authorize(ctx context.Context, username, password string) (*Code, error) {
	verifier := randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	state := randomString(16)
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ClientID},
		"redirect_uri":          {c.RedirectURI},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if c.Scope != "" {
		q.Set("scope", c.Scope)
	}
	if c.Resource != "" {
		q.Set("resource", c.Resource)
	}
	authURL := c.Meta.AuthorizationEndpoint + "?" + q.Encode()
	ua := &UserAgent{HTTP: c.HTTP, Username: username, Password: password}
	loc, err := ua.Authorize(ctx, authURL, c.RedirectURI)
	if err != nil {
		return nil, err
	}
	resp := loc.Query()
	if e := resp.Get("error"); e != "" {
		return nil, fmt.Errorf("authorization denied: %s: %s", e, resp.Get("error_description"))
	}
	if resp.Get("state") != state {
		return nil, fmt.Errorf("authorization response state %q, want %q", resp.Get("state"), state)
	}
	if iss := resp.Get("iss"); iss != "" && iss != c.Meta.Issuer {
		return nil, fmt.Errorf("authorization response iss %q, want %q", iss, c.Meta.Issuer)
	}
	code := resp.Get("code")
	if code == "" {
		return nil, fmt.Errorf("authorization response without a code: %s", loc)
	}
	return &Code{Code: code, Verifier: verifier}, nil
}

// Redeem exchanges code at the token endpoint (RFC 6749 §4.1.3, RFC 7636
// §4.5) and checks that both an access token and a refresh token came back.
func (c *OAuthClient) Redeem(ctx context.Context, code *Code) (*Token, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code.Code},
		"redirect_uri":  {c.RedirectURI},
		"code_verifier": {code.Verifier},
		"client_id":     {c.ClientID},
	}
	if c.Resource != "" {
		form.Set("resource", c.Resource)
	}
	return c.token(ctx, form)
}

// Refresh uses refreshToken (RFC 6749 §6) and checks that a new access
// token and a rotated refresh token came back (OAuth 2.1 §4.3.1: public
// clients always get a new one).
func (c *OAuthClient) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	tok, err := c.token(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
		"client_id":     {c.ClientID},
	})
	if err != nil {
		return nil, err
	}
	if tok.RefreshToken == refreshToken {
		return nil, errors.New("refresh token was not rotated")
	}
	return tok, nil
}

func (c *OAuthClient) token(ctx context.Context, form url.Values) (*Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	_, body, err := do(c.HTTP, req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var tok Token
	if err := json.Unmarshal(body, &tok); err != nil {
		return nil, fmt.Errorf("POST %s: %w", c.Meta.TokenEndpoint, err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return nil, fmt.Errorf("POST %s (%s): incomplete token response: %s", c.Meta.TokenEndpoint, form.Get("grant_type"), truncate(string(body), 300))
	}
	return &tok, nil
}

// randomString returns n random bytes, base64url-encoded (RFC 7636 §4.1:
// 32 bytes give a 43-character verifier).
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newJar returns an empty cookie jar.
func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil) // never fails with nil options
	return jar
}
