package federation

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/frontmcp-go/frontmcp/token"
)

// DefaultHTTPTimeout bounds each request to the provider when
// Options.HTTPClient is nil.
const DefaultHTTPTimeout = 10 * time.Second

// maxSubject bounds the subject taken from the provider.
const maxSubject = 256

// DefaultTokenLifetime is the lifetime assumed for a renewable upstream
// access token (one that came with a refresh token) when the token response
// says nothing of its expiry: expires_in is only RECOMMENDED (RFC 6749 §5.1).
// It is short so that a token the provider has already expired is not used
// for long; the refresh token renews it. A token without a refresh token and
// without an expiry cannot be renewed and is used until the provider
// refuses it.
const DefaultTokenLifetime = 5 * time.Minute

// asymmetricAlgs are the JWS algorithms accepted on tokens from the
// provider: public-key signatures only ("none" and HMAC never).
var asymmetricAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// scopeOpenID and scopeOffline are the OpenID Connect scopes this package
// adds: openid makes the provider issue an ID token (OpenID Connect Core
// §3.1.2.1); offline_access asks it for a refresh token (§11).
const (
	scopeOpenID  = "openid"
	scopeOffline = "offline_access"
)

// Options configure a [Provider]. Fields marked required must be set.
type Options struct {
	// Issuer is the provider's issuer URL (auth.provider). Its metadata is
	// discovered from it. Required.
	Issuer string
	// ClientID is this server's client id at the provider. Required.
	ClientID string
	// ClientSecret authenticates this server at the token endpoint; empty
	// makes it a public client (PKCE only).
	ClientSecret string
	// RedirectURL is {publicUrl}/oauth/upstream/callback, registered at the
	// provider. Required.
	RedirectURL string
	// Scopes are requested from the provider. Empty means "openid
	// offline_access" for an OpenID provider and none otherwise; "openid" is
	// always added for an OpenID provider.
	Scopes []string
	// AuthorizationEndpoint and TokenEndpoint override the discovered ones.
	AuthorizationEndpoint string
	TokenEndpoint         string
	// Resource, when set, is sent as the RFC 8707 resource indicator, and a
	// JWT access token used as the identity (see [Provider]) must name it
	// in "aud".
	Resource string
	// SubjectClaim names the claim that becomes the user's subject. Default
	// "sub", the only claim OpenID Connect Core §5.7 makes stable and
	// unique per provider. With "email", a login is refused unless the
	// token says email_verified: true; any other claim is the caller's
	// choice (package config requires an acknowledgement).
	SubjectClaim string
	// CopyClaims are claims copied from the provider's token into the
	// identity (and so into this server's access tokens).
	CopyClaims []string
	// HTTPClient makes every request to the provider; nil means a client
	// with DefaultHTTPTimeout.
	HTTPClient *http.Client
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// Provider is the upstream identity provider as an OAuth 2.0 client sees it:
// it builds authorization requests (PKCE S256, state, nonce), redeems codes,
// proves who logged in and refreshes tokens, with golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3.
//
// Who logged in is proven by the ID token of an OpenID provider (signature
// against the provider's JWKS, iss, aud, azp, exp, nonce, at_hash; OpenID
// Connect Core §3.1.3.7). A provider whose metadata is plain RFC 8414 (no
// id_token_signing_alg_values_supported) issues no ID token; its access
// token must then be an RFC 9068 JWT, verified the same way (signature, iss,
// exp, client_id, and aud when Options.Resource is set). The token was
// received from the token endpoint in exchange for the code and PKCE
// verifier, so no nonce is needed to bind it to this login.
type Provider struct {
	opts     Options
	meta     *Metadata
	conf     *oauth2.Config
	verifier *oidc.IDTokenVerifier
	client   *http.Client
	// refreshClient makes refresh requests: client, adding the RFC 8707
	// resource parameter when Options.Resource is set (x/oauth2 cannot add
	// parameters to a refresh request). Nil means client.
	refreshClient *http.Client
	openID        bool
}

// NewProvider discovers the provider's metadata (see [Discover]) and sets up
// the client. It fails, saying why, when the provider cannot be discovered
// or cannot prove identities.
func NewProvider(ctx context.Context, opts *Options) (*Provider, error) {
	if opts == nil {
		return nil, errors.New("federation: nil Options")
	}
	o := *opts
	switch {
	case o.Issuer == "":
		return nil, errors.New("federation: Issuer is required")
	case o.ClientID == "":
		return nil, errors.New("federation: ClientID is required")
	case o.RedirectURL == "":
		return nil, errors.New("federation: RedirectURL is required")
	}
	if o.SubjectClaim == "" {
		o.SubjectClaim = "sub"
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	meta, err := Discover(ctx, client, o.Issuer)
	if err != nil {
		return nil, err
	}
	p := &Provider{opts: o, meta: meta, client: client, openID: meta.OpenID()}
	if o.Resource != "" {
		rc := *client
		rc.Transport = &resourceTransport{base: client.Transport, resource: o.Resource}
		p.refreshClient = &rc
	}
	authURL, tokenURL := meta.AuthorizationEndpoint, meta.TokenEndpoint
	if o.AuthorizationEndpoint != "" {
		authURL = o.AuthorizationEndpoint
	}
	if o.TokenEndpoint != "" {
		tokenURL = o.TokenEndpoint
	}
	switch {
	case authURL == "":
		return nil, fmt.Errorf("%w: %s names no authorization_endpoint; set auth.remote.authorizationEndpoint", ErrDiscovery, meta.Source)
	case tokenURL == "":
		return nil, fmt.Errorf("%w: %s names no token_endpoint; set auth.remote.tokenEndpoint", ErrDiscovery, meta.Source)
	case meta.JWKSURI == "":
		return nil, fmt.Errorf("%w: %s names no jwks_uri, so the identity of a login cannot be verified", ErrDiscovery, meta.Source)
	}
	p.conf = &oauth2.Config{
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		RedirectURL:  o.RedirectURL,
		Scopes:       requestScopes(o.Scopes, p.openID),
		Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: authStyle(meta, o.ClientSecret)},
	}
	algs := asymmetricAlgs
	if p.openID {
		algs = slices.DeleteFunc(slices.Clone(meta.IDTokenSigningAlgValuesSupported), func(a string) bool { return !slices.Contains(asymmetricAlgs, a) })
		if len(algs) == 0 {
			return nil, fmt.Errorf("%w: %s lists no public-key ID token signing algorithm (id_token_signing_alg_values_supported %v)", ErrDiscovery, meta.Source, meta.IDTokenSigningAlgValuesSupported)
		}
	}
	vc := &oidc.Config{ClientID: o.ClientID, SupportedSigningAlgs: algs, Now: o.Clock}
	if !p.openID {
		// An RFC 9068 access token: aud is the resource, client_id is
		// checked after verification.
		vc.ClientID = o.Resource
		vc.SkipClientIDCheck = o.Resource == ""
	}
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), meta.JWKSURI)
	p.verifier = oidc.NewVerifier(meta.Issuer, keys, vc)
	return p, nil
}

// requestScopes is the scope list of authorization requests.
func requestScopes(configured []string, openID bool) []string {
	scopes := slices.Clone(configured)
	if openID {
		if len(scopes) == 0 {
			scopes = []string{scopeOpenID, scopeOffline}
		} else if !slices.Contains(scopes, scopeOpenID) {
			scopes = append([]string{scopeOpenID}, scopes...)
		}
	}
	return scopes
}

// authStyle picks how the client authenticates at the token endpoint: none
// for a public client, else client_secret_basic unless the provider lists
// only client_secret_post (RFC 8414 §2 default: client_secret_basic).
func authStyle(m *Metadata, secret string) oauth2.AuthStyle {
	methods := m.TokenEndpointAuthMethodsSupported
	if secret == "" || (len(methods) > 0 && !slices.Contains(methods, "client_secret_basic") && slices.Contains(methods, "client_secret_post")) {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// Metadata returns the discovered metadata.
func (p *Provider) Metadata() *Metadata { return p.meta }

// OpenID reports whether logins are proven by ID tokens (an OpenID
// provider) rather than by JWT access tokens.
func (p *Provider) OpenID() bool { return p.openID }

// HTTPClient returns the client used for the provider, for tools that call
// its APIs.
func (p *Provider) HTTPClient() *http.Client { return p.client }

// AuthCodeURL returns the provider's authorization URL for one login:
// response_type=code with state, PKCE S256 for verifier (RFC 7636 §4.3),
// nonce (OpenID Connect Core §3.1.2.1), and prompt=consent when a refresh
// token is asked for with offline_access (§11).
func (p *Provider) AuthCodeURL(state, nonce, verifier string) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if p.openID {
		opts = append(opts, oidc.Nonce(nonce))
		if slices.Contains(p.conf.Scopes, scopeOffline) {
			opts = append(opts, oauth2.SetAuthURLParam("prompt", "consent"))
		}
	}
	if p.opts.Resource != "" {
		opts = append(opts, oauth2.SetAuthURLParam("resource", p.opts.Resource))
	}
	return p.conf.AuthCodeURL(state, opts...)
}

// Tokens are the provider's tokens for one user, as kept (sealed) in the
// vault. They never leave the server.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	// Expiry is when the access token expires: from expires_in and the
	// clock, else from the expiry golang.org/x/oauth2 read (as from a
	// form-encoded response), else Obtained + DefaultTokenLifetime when a
	// refresh token can renew it; zero (never refreshed, used until the
	// provider refuses it) otherwise.
	Expiry time.Time `json:"expiry,omitzero"`
	// Obtained is when the provider issued these tokens, by the clock: with
	// Expiry it gives their lifetime. Zero in entries stored without it.
	Obtained time.Time `json:"obtained,omitzero"`
	// Subject is the provider's "sub" for the user.
	Subject string `json:"sub"`
	// Refused is set once the provider refused the refresh token: the
	// user must authorize again.
	Refused bool `json:"refused,omitempty"`
}

// Login is a completed upstream login.
type Login struct {
	// Subject is the value of Options.SubjectClaim: this server's subject.
	Subject string
	// Claims are the copied claims (Options.CopyClaims present in the token).
	Claims map[string]any
	// Tokens are the provider's tokens.
	Tokens *Tokens
}

// httpContext carries the provider's HTTP client for x/oauth2 and go-oidc.
func (p *Provider) httpContext(ctx context.Context) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, p.client), p.client)
}

// Exchange redeems code with the PKCE verifier at the token endpoint (RFC
// 6749 §4.1.3, RFC 7636 §4.5), with the RFC 8707 resource when
// Options.Resource is set, and proves who logged in (see [Provider]): nonce
// must equal the ID token's nonce. A provider that cannot be reached or
// fails gives an error wrapping [ErrUnavailable] or [ErrServerError] as well
// as [ErrTokenEndpoint].
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (*Login, error) {
	ctx = p.httpContext(ctx)
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
	if p.opts.Resource != "" {
		opts = append(opts, oauth2.SetAuthURLParam("resource", p.opts.Resource))
	}
	tok, err := p.conf.Exchange(ctx, code, opts...)
	if err != nil {
		return nil, tokenEndpointError(err)
	}
	t := p.tokens(tok, tok.RefreshToken != "")
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w: the token response has no access_token", ErrTokenEndpoint)
	}
	claims, err := p.identify(ctx, t, nonce)
	if err != nil {
		return nil, err
	}
	sub, err := claimString(claims, p.opts.SubjectClaim)
	if err != nil {
		return nil, fmt.Errorf("%w: subject claim %q: %w", ErrIdentity, p.opts.SubjectClaim, err)
	}
	// An address the provider has not verified may belong to someone else
	// (OpenID Connect Core §5.7): as the subject it would hand them this
	// user's grants.
	if p.opts.SubjectClaim == "email" {
		if v, _ := claims["email_verified"].(bool); !v {
			return nil, fmt.Errorf("%w: subject claim \"email\": the token does not say email_verified: true, so the address is not proven to be this user's (OpenID Connect Core §5.7)", ErrIdentity)
		}
	}
	t.Subject, _ = claims["sub"].(string)
	login := &Login{Subject: sub, Tokens: t}
	for _, name := range p.opts.CopyClaims {
		if v, ok := claims[name]; ok {
			if login.Claims == nil {
				login.Claims = make(map[string]any)
			}
			login.Claims[name] = v
		}
	}
	return login, nil
}

// tokens converts a token response, computing Expiry with the clock (see
// [Tokens]); renewable says whether a refresh token can renew the access
// token.
func (p *Provider) tokens(tok *oauth2.Token, renewable bool) *Tokens {
	now := p.opts.Clock()
	t := &Tokens{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Obtained: now}
	if id, ok := tok.Extra("id_token").(string); ok {
		t.IDToken = id
	}
	switch {
	case tok.ExpiresIn > 0:
		t.Expiry = now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	case !tok.Expiry.IsZero():
		// Computed by x/oauth2 with the wall clock (form-encoded
		// responses): keep what remains of it on this clock.
		t.Expiry = now.Add(time.Until(tok.Expiry))
	case renewable:
		t.Expiry = now.Add(DefaultTokenLifetime)
	}
	return t
}

// identify verifies the token that proves the login and returns its claims.
func (p *Provider) identify(ctx context.Context, t *Tokens, nonce string) (map[string]any, error) {
	var claims map[string]any
	if !p.openID {
		at, err := p.verifier.Verify(ctx, t.AccessToken)
		if err != nil {
			return nil, fmt.Errorf("%w: the provider is not an OpenID provider, and its access token is not a JWT signed by it (RFC 9068): %w", ErrIdentity, err)
		}
		// RFC 9068 §4: the typ header tells an access token from other
		// JWTs of the provider (an ID token, a logout token) that the same
		// keys sign. The header is covered by the verified signature.
		if typ := jwtTyp(t.AccessToken); !accessTokenTyp(typ) {
			return nil, fmt.Errorf("%w: the access token's typ header is %q, not at+jwt (RFC 9068 §4)", ErrIdentity, typ)
		}
		if err := at.Claims(&claims); err != nil {
			return nil, fmt.Errorf("%w: access token claims: %w", ErrIdentity, err)
		}
		if cid, _ := claims["client_id"].(string); !token.Equal(cid, p.opts.ClientID) {
			return nil, fmt.Errorf("%w: the access token was issued to client %q, not to this server (RFC 9068 §2.2 client_id)", ErrIdentity, cid)
		}
		return claims, nil
	}
	if t.IDToken == "" {
		return nil, fmt.Errorf("%w: the token response has no id_token", ErrIdentity)
	}
	idt, err := p.verifier.Verify(ctx, t.IDToken)
	if err != nil {
		return nil, fmt.Errorf("%w: ID token: %w", ErrIdentity, err)
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: ID token claims: %w", ErrIdentity, err)
	}
	// OpenID Connect Core §3.1.3.7 steps 4-5: with several audiences, azp
	// must be this client.
	if azp, ok := claims["azp"].(string); (ok || len(idt.Audience) > 1) && azp != p.opts.ClientID {
		return nil, fmt.Errorf("%w: ID token azp %q is not this client", ErrIdentity, azp)
	}
	// §3.1.3.7 step 11: the nonce of this login, compared in constant time.
	if nonce == "" || !token.Equal(idt.Nonce, nonce) {
		return nil, fmt.Errorf("%w: ID token nonce does not match this login", ErrIdentity)
	}
	// §3.1.3.8: at_hash, when present, binds the access token.
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(t.AccessToken); err != nil {
			return nil, fmt.Errorf("%w: ID token at_hash: %w", ErrIdentity, err)
		}
	}
	return claims, nil
}

// Refresh uses t's refresh token at the token endpoint (RFC 6749 §6), with
// the RFC 8707 resource when Options.Resource is set, and returns the new
// tokens: a refresh token not rotated by the provider is kept. A new ID
// token must be for the same user (OpenID Connect Core §12.2). When the
// provider answers invalid_grant, or t has no refresh token, the error wraps
// [ErrRefused]: the user must authorize again. A provider that cannot be
// reached or fails gives an error wrapping [ErrUnavailable] or
// [ErrServerError] as well as [ErrTokenEndpoint].
func (p *Provider) Refresh(ctx context.Context, t *Tokens) (*Tokens, error) {
	if t.RefreshToken == "" || t.Refused {
		return nil, fmt.Errorf("%w: no upstream refresh token", ErrRefused)
	}
	ctx = p.httpContext(ctx)
	if p.refreshClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, p.refreshClient)
	}
	tok, err := p.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: t.RefreshToken}).Token()
	if err != nil {
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.ErrorCode == "invalid_grant" {
			return nil, fmt.Errorf("%w: the provider answered invalid_grant", ErrRefused)
		}
		return nil, tokenEndpointError(err)
	}
	nt := p.tokens(tok, true)
	if nt.AccessToken == "" {
		return nil, fmt.Errorf("%w: the refresh response has no access_token", ErrTokenEndpoint)
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = t.RefreshToken
	}
	nt.Subject = t.Subject
	if nt.IDToken == "" || !p.openID {
		nt.IDToken = t.IDToken
		return nt, nil
	}
	idt, err := p.verifier.Verify(ctx, nt.IDToken)
	if err != nil {
		return nil, fmt.Errorf("%w: refreshed ID token: %w", ErrIdentity, err)
	}
	if idt.Subject != t.Subject {
		return nil, fmt.Errorf("%w: the refreshed ID token is for another subject", ErrIdentity)
	}
	return nt, nil
}

// claimString returns claim name of claims as a subject: a non-empty
// string of printable characters, or an integer (some providers number their
// users).
func claimString(claims map[string]any, name string) (string, error) {
	var s string
	switch v := claims[name].(type) {
	case string:
		s = v
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return "", errors.New("is a number that is not an integer")
		}
		s = strconv.FormatInt(int64(v), 10)
	case nil:
		return "", errors.New("is missing")
	default:
		return "", fmt.Errorf("is a %T, not a string", v)
	}
	switch {
	case s == "":
		return "", errors.New("is empty")
	case len(s) > maxSubject:
		return "", fmt.Errorf("is longer than %d bytes", maxSubject)
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "", errors.New("contains characters that are not printable")
	}
	return s, nil
}

// tokenEndpointError wraps an error of the token endpoint in
// [ErrTokenEndpoint] and, when the provider could not be reached or failed,
// in [ErrUnavailable] (no answer: connection, TLS, timeout; HTTP 502-504;
// temporarily_unavailable) or [ErrServerError] (server_error; other HTTP
// 5xx). Any other answer (invalid_grant, invalid_client, a malformed
// response) wraps ErrTokenEndpoint alone.
func tokenEndpointError(err error) error {
	var kind error
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		switch {
		case re.ErrorCode == "temporarily_unavailable", status >= 502 && status <= 504:
			kind = ErrUnavailable
		case re.ErrorCode == "server_error", status >= 500:
			kind = ErrServerError
		}
	} else if _, ok := errors.AsType[*url.Error](err); ok || errors.Is(err, context.DeadlineExceeded) {
		kind = ErrUnavailable
	}
	if kind == nil {
		return fmt.Errorf("%w: %w", ErrTokenEndpoint, err)
	}
	return fmt.Errorf("%w: %w: %w", ErrTokenEndpoint, kind, err)
}

// resourceTransport adds the RFC 8707 resource parameter (§2) to the form
// body of the requests it sends: the refresh requests of [Provider.Refresh],
// which golang.org/x/oauth2's TokenSource sends without a way to add
// parameters.
type resourceTransport struct {
	base     http.RoundTripper // nil: http.DefaultTransport
	resource string
}

// maxTokenRequest bounds the body resourceTransport rewrites; a refresh
// request is a few hundred bytes.
const maxTokenRequest = 64 << 10

func (t *resourceTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return base.RoundTrip(r)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTokenRequest+1))
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxTokenRequest {
		return nil, errors.New("federation: token request body too large")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("federation: token request body: %w", err)
	}
	if form.Get("resource") == "" {
		form.Set("resource", t.resource)
	}
	enc := form.Encode()
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(strings.NewReader(enc))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(enc)), nil }
	r2.ContentLength = int64(len(enc))
	return base.RoundTrip(r2)
}

// jwtTyp returns the "typ" header of a compact JWS, or "" when it has none
// or the header cannot be read.
func jwtTyp(raw string) string {
	h, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Typ string `json:"typ"`
	}
	if json.Unmarshal(b, &hdr) != nil {
		return ""
	}
	return hdr.Typ
}

// accessTokenTyp reports whether typ names an RFC 9068 access token:
// "at+jwt", with the "application/" prefix optional and case-insensitive
// (RFC 9068 §2.1, §4; RFC 7515 §4.1.9).
func accessTokenTyp(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}
