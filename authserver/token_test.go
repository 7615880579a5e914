package authserver

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/go-cmp/cmp"
)

// Fixtures of the token and registration endpoint tests.
const (
	tkIssuer   = "https://auth.example.com"
	tkResource = "https://mcp.example.com/mcp"
	tkRedirect = "http://127.0.0.1:5555/callback"

	tkPublic   = "public-app" // public, method none
	tkPublic2  = "other-app"  // a second public client
	tkBasic    = "basic-app"  // confidential, client_secret_basic
	tkPost     = "post-app"   // confidential, client_secret_post
	tkCodeOnly = "code-only"  // public, authorization_code only
)

var (
	tkStart  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tkScopes = []string{"mcp:read", "mcp:write", "mcp:admin"}
	// tkSecrets are the raw secrets of the confidential clients.
	tkSecrets = map[string]string{tkBasic: tkMustSecret(), tkPost: tkMustSecret()}
)

func tkMustSecret() string {
	s, err := token.NewSecret()
	if err != nil {
		panic(err)
	}
	return s
}

// tkEnv is a running authorization server with a memstore and a real signer.
type tkEnv struct {
	opts     Options
	srv      *Server
	base     string // server URL
	client   *http.Client
	store    *memstore.Store
	clock    *testclock.Clock
	signer   *token.Signer
	verifier *token.Verifier
	secrets  map[string]string // raw secrets of the confidential clients
}

func newTkEnv(t testing.TB, mod func(*Options)) *tkEnv {
	t.Helper()
	clock := testclock.New(tkStart)
	key, err := token.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner(key, &token.SignerOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := token.NewVerifier(signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	e := &tkEnv{clock: clock, signer: signer, verifier: verifier, secrets: maps.Clone(tkSecrets)}
	e.store = memstore.New(&memstore.Options{Clock: clock.Now})
	t.Cleanup(func() { e.store.Close() })
	e.opts = Options{
		Issuer:   tkIssuer,
		Resource: tkResource,
		Store:    e.store,
		Signer:   signer,
		Authenticator: AuthenticatorFunc(func(context.Context, string, string) (*Identity, error) {
			return nil, ErrBadCredentials
		}),
		Clients: []*store.Client{
			{ID: tkPublic, RedirectURIs: []string{tkRedirect}, TokenEndpointAuthMethod: "none"},
			{ID: tkPublic2, RedirectURIs: []string{tkRedirect}, TokenEndpointAuthMethod: "none"},
			{ID: tkBasic, SecretHash: token.Hash(e.secrets[tkBasic]), RedirectURIs: []string{tkRedirect}, TokenEndpointAuthMethod: "client_secret_basic"},
			{ID: tkPost, SecretHash: token.Hash(e.secrets[tkPost]), RedirectURIs: []string{tkRedirect}, TokenEndpointAuthMethod: "client_secret_post"},
			{ID: tkCodeOnly, RedirectURIs: []string{tkRedirect}, TokenEndpointAuthMethod: "none", GrantTypes: []string{"authorization_code"}},
		},
		Scopes:              tkScopes,
		RegistrationEnabled: true,
		AccessTokenTTL:      time.Hour,
		RefreshEnabled:      true,
		RefreshTokenTTL:     24 * time.Hour,
		RotateRefreshTokens: true,
		GrantLifetime:       30 * 24 * time.Hour,
		Clock:               clock.Now,
	}
	if mod != nil {
		mod(&e.opts)
	}
	if e.srv, err = New(&e.opts); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.srv.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	e.base, e.client = ts.URL, ts.Client()
	return e
}

// tkResp is a decoded response.
type tkResp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r tkResp) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

// errCode returns the "error" member of an error response.
func (r tkResp) errCode() string { return r.str("error") }

// do sends req and checks what every token endpoint response must have:
// Cache-Control: no-store, Pragma: no-cache, and a JSON body.
func (e *tkEnv) do(t testing.TB, req *http.Request) tkResp {
	t.Helper()
	res, err := e.client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
		return tkResp{}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Errorf("reading response: %v", err)
	}
	r := tkResp{status: res.StatusCode, header: res.Header, raw: raw}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s %s: Cache-Control = %q, want no-store", req.Method, req.URL.Path, cc)
	}
	if p := res.Header.Get("Pragma"); p != "no-cache" {
		t.Errorf("%s %s: Pragma = %q, want no-cache", req.Method, req.URL.Path, p)
	}
	if res.StatusCode != http.StatusNoContent {
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type = %q, want application/json", req.Method, req.URL.Path, ct)
		}
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Errorf("%s %s: body %q is not a JSON object: %v", req.Method, req.URL.Path, raw, err)
		}
	}
	return r
}

// send posts body to the token endpoint with the given content type and
// extra headers.
func (e *tkEnv) send(t testing.TB, contentType, body string, hdr http.Header) tkResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+PathToken, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.do(t, req)
}

// tkBasicAuth returns an Authorization header with RFC 6749 §2.3.1 Basic
// credentials.
func tkBasicAuth(id, secret string) http.Header {
	enc := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	return http.Header{"Authorization": {"Basic " + enc}}
}

// tokenAs posts form to the token endpoint, authenticated as clientID with
// its registered method.
func (e *tkEnv) tokenAs(t testing.TB, clientID string, form url.Values) tkResp {
	t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	var hdr http.Header
	switch clientID {
	case tkBasic:
		hdr = tkBasicAuth(clientID, e.secrets[clientID])
	case tkPost:
		f.Set("client_id", clientID)
		f.Set("client_secret", e.secrets[clientID])
	default:
		if s, ok := e.secrets[clientID]; ok { // a registered confidential client
			hdr = tkBasicAuth(clientID, s)
		} else {
			f.Set("client_id", clientID)
		}
	}
	return e.send(t, "application/x-www-form-urlencoded", f.Encode(), hdr)
}

// newCode stores an authorization code for clientID, as the authorization
// endpoint does, and returns the raw code, its verifier and the record.
func (e *tkEnv) newCode(t testing.TB, clientID string, mod func(*store.AuthCode)) (raw, verifier string, c *store.AuthCode) {
	t.Helper()
	raw, err := token.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if verifier, err = token.NewSecret(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(verifier))
	now := e.clock.Now()
	c = &store.AuthCode{
		Hash:                token.Hash(raw),
		GrantID:             token.NewID(),
		ClientID:            clientID,
		RedirectURI:         tkRedirect,
		CodeChallenge:       base64.RawURLEncoding.EncodeToString(sum[:]),
		CodeChallengeMethod: grant.MethodS256,
		Resource:            tkResource,
		Scopes:              []string{"mcp:read", "mcp:write"},
		Subject:             "alice",
		// Registered claim names must be dropped from tokens, never win.
		Claims:    store.Claims{"email": "alice@example.com", "roles": []any{"admin"}, "sub": "mallory", "aud": "https://evil.example", "sid": "forged", "client_id": "forged", "exp": float64(1)},
		AuthTime:  now.Add(-time.Minute),
		ExpiresAt: now.Add(CodeTTL),
	}
	if mod != nil {
		mod(c)
	}
	if err := e.store.SaveCode(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return raw, verifier, c
}

// tkCodeForm is the body of an authorization_code token request.
func tkCodeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {tkRedirect},
		"code_verifier": {verifier},
	}
}

func tkRefreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

// redeem issues a code to clientID and exchanges it, requiring success.
func (e *tkEnv) redeem(t testing.TB, clientID string) (tkResp, *store.AuthCode) {
	t.Helper()
	raw, verifier, c := e.newCode(t, clientID, nil)
	r := e.tokenAs(t, clientID, tkCodeForm(raw, verifier))
	if r.status != http.StatusOK {
		t.Fatalf("code exchange for %s: %d %s", clientID, r.status, r.raw)
	}
	return r, c
}

// verify checks an access token as the resource server would, at the
// current clock time.
func (e *tkEnv) verify(t testing.TB, at string) *token.Claims {
	t.Helper()
	c, err := e.verifier.Verify(at, token.VerifyOptions{Issuer: tkIssuer, Audience: tkResource, Now: e.clock.Now()})
	if err != nil {
		t.Fatalf("access token does not verify: %v", err)
	}
	return c
}

// tkJWSHeader decodes the protected header of a compact JWS.
func tkJWSHeader(t testing.TB, jws string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(jws, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	return h
}

func (e *tkEnv) getGrant(t testing.TB, id string) *store.Grant {
	t.Helper()
	g, err := e.store.GetGrant(context.Background(), id)
	if err != nil {
		t.Fatalf("GetGrant(%s): %v", id, err)
	}
	return g
}

func tkWantError(t testing.TB, r tkResp, status int, code string) {
	t.Helper()
	if r.status != status || r.errCode() != code {
		t.Fatalf("got %d %s, want %d error %q", r.status, r.raw, status, code)
	}
}

func TestTokenAuthorizationCode(t *testing.T) {
	for _, clientID := range []string{tkPublic, tkBasic, tkPost} {
		t.Run(clientID, func(t *testing.T) {
			e := newTkEnv(t, nil)
			raw, verifier, code := e.newCode(t, clientID, nil)
			r := e.tokenAs(t, clientID, tkCodeForm(raw, verifier))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			now := e.clock.Now()
			gotResp := map[string]any{}
			for k, v := range r.body {
				gotResp[k] = v
			}
			at, rt := r.str("access_token"), r.str("refresh_token")
			delete(gotResp, "access_token")
			delete(gotResp, "refresh_token")
			if diff := cmp.Diff(map[string]any{"token_type": "Bearer", "expires_in": float64(3600), "scope": "mcp:read mcp:write"}, gotResp); diff != "" {
				t.Errorf("token response (-want +got):\n%s", diff)
			}

			h := tkJWSHeader(t, at)
			if h["typ"] != token.TypAccessToken || h["kid"] != e.signer.KeyID() || h["alg"] != token.ES256 {
				t.Errorf("JWS header = %v, want typ at+jwt, kid %s, alg ES256", h, e.signer.KeyID())
			}
			claims := e.verify(t, at)
			want := &token.Claims{
				Issuer:    tkIssuer,
				Subject:   "alice",
				Audience:  []string{tkResource},
				ExpiresAt: now.Add(time.Hour),
				IssuedAt:  now,
				ID:        claims.ID,
				ClientID:  clientID,
				Scope:     "mcp:read mcp:write",
				Extra: map[string]any{
					"email":     "alice@example.com",
					"roles":     []any{"admin"},
					"sid":       code.GrantID,
					"auth_time": float64(code.AuthTime.Unix()),
				},
			}
			if diff := cmp.Diff(want, claims); diff != "" {
				t.Errorf("access token claims (-want +got):\n%s", diff)
			}
			if claims.ID == "" {
				t.Error("access token has no jti")
			}

			gid, secret, ok := token.SplitRefreshToken(rt)
			if !ok || gid != code.GrantID {
				t.Fatalf("refresh token %q is not <grant id>.<secret> for grant %s", rt, code.GrantID)
			}
			g := e.getGrant(t, code.GrantID)
			wantGrant := &store.Grant{
				ID: code.GrantID, ClientID: clientID, Subject: "alice",
				Scopes: []string{"mcp:read", "mcp:write"}, Resource: tkResource,
				Claims:           code.Claims,
				RefreshHash:      token.Hash(secret),
				RefreshExpiresAt: now.Add(24 * time.Hour),
				AuthTime:         code.AuthTime,
				CreatedAt:        now,
				ExpiresAt:        now.Add(30 * 24 * time.Hour),
			}
			if diff := cmp.Diff(wantGrant, g); diff != "" {
				t.Errorf("stored grant (-want +got):\n%s", diff)
			}
			if strings.Contains(string(tkJSON(t, g)), secret) {
				t.Error("the stored grant contains the raw refresh secret")
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
			}
		})
	}
}

func tkJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTokenJSONBody(t *testing.T) {
	e := newTkEnv(t, nil)
	raw, verifier, _ := e.newCode(t, tkPublic, nil)
	body := tkJSON(t, map[string]string{
		"grant_type": "authorization_code", "code": raw, "redirect_uri": tkRedirect,
		"code_verifier": verifier, "client_id": tkPublic,
	})
	r := e.send(t, "application/json; charset=utf-8", string(body), nil)
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("JSON token request: %d %s", r.status, r.raw)
	}
}

// TestTokenInvalidClient covers every client authentication failure: 401
// invalid_client, with WWW-Authenticate: Basic exactly when the client used
// the Authorization header (RFC 6749 §5.2), and the code left unconsumed.
func TestTokenInvalidClient(t *testing.T) {
	tests := []struct {
		name      string
		auth      http.Header
		form      url.Values // client parameters added to the body
		wantBasic bool
	}{
		{name: "unknown client, none", form: url.Values{"client_id": {"nobody"}}},
		{name: "unknown client, post", form: url.Values{"client_id": {"nobody"}, "client_secret": {"x"}}},
		{name: "unknown client, basic", auth: tkBasicAuth("nobody", "x"), wantBasic: true},
		{name: "no client_id", form: url.Values{}},
		{name: "secret without client_id", form: url.Values{"client_secret": {"x"}}},
		{name: "basic client, wrong secret", auth: tkBasicAuth(tkBasic, "wrong"), wantBasic: true},
		{name: "basic client, no secret", form: url.Values{"client_id": {tkBasic}}},
		{name: "basic client, empty basic secret", auth: tkBasicAuth(tkBasic, ""), wantBasic: true},
		{name: "basic client, uses post", form: url.Values{"client_id": {tkBasic}, "client_secret": {tkSecrets[tkBasic]}}},
		{name: "post client, wrong secret", form: url.Values{"client_id": {tkPost}, "client_secret": {"wrong"}}},
		{name: "post client, no secret", form: url.Values{"client_id": {tkPost}}},
		{name: "post client, uses basic", auth: tkBasicAuth(tkPost, tkSecrets[tkPost]), wantBasic: true},
		{name: "public client, sends secret in body", form: url.Values{"client_id": {tkPublic}, "client_secret": {"anything"}}},
		{name: "public client, sends basic secret", auth: tkBasicAuth(tkPublic, "anything"), wantBasic: true},
		{name: "malformed basic", auth: http.Header{"Authorization": {"Basic !!!"}}, wantBasic: true},
		{name: "bearer scheme", auth: http.Header{"Authorization": {"Bearer abc"}}, wantBasic: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, nil)
			clientID := tkBasic
			raw, verifier, _ := e.newCode(t, clientID, nil)
			f := tkCodeForm(raw, verifier)
			for k, v := range tt.form {
				f[k] = v
			}
			r := e.send(t, "application/x-www-form-urlencoded", f.Encode(), tt.auth)
			tkWantError(t, r, http.StatusUnauthorized, "invalid_client")
			wantChallenge := ""
			if tt.wantBasic {
				wantChallenge = `Basic realm="frontmcp"`
			}
			if got := r.header.Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantChallenge)
			}
			if strings.Contains(string(r.raw), e.secrets[tkBasic]) || strings.Contains(string(r.raw), e.secrets[tkPost]) {
				t.Error("error response echoes a client secret")
			}
			// Failed client authentication changes nothing: the code still works.
			if r := e.tokenAs(t, clientID, tkCodeForm(raw, verifier)); r.status != http.StatusOK {
				t.Errorf("code after failed client authentication: %d %s", r.status, r.raw)
			}
		})
	}
}

// TestTokenCodeErrors covers the rules of the authorization_code grant.
func TestTokenCodeErrors(t *testing.T) {
	tests := []struct {
		name       string
		clientID   string                                // who redeems; default tkPublic
		mod        func(*store.AuthCode)                 // changes the stored code
		edit       func(f url.Values, c *store.AuthCode) // changes the request
		before     func(e *tkEnv)                        // runs before the request
		wantStatus int                                   // default 400
		wantCode   string                                // "" = success
	}{
		{name: "another client's code", clientID: tkPublic2, wantCode: "invalid_grant"},
		{name: "confidential client redeems public client's code", clientID: tkPost, wantCode: "invalid_grant"},
		{name: "missing redirect_uri", edit: func(f url.Values, _ *store.AuthCode) { f.Del("redirect_uri") }, wantCode: "invalid_request"},
		{name: "other redirect_uri", edit: func(f url.Values, _ *store.AuthCode) { f.Set("redirect_uri", "http://127.0.0.1:5555/other") }, wantCode: "invalid_grant"},
		{name: "redirect_uri with other port", edit: func(f url.Values, _ *store.AuthCode) { f.Set("redirect_uri", "http://127.0.0.1:6666/callback") }, wantCode: "invalid_grant"},
		{name: "redirect_uri with trailing slash", edit: func(f url.Values, _ *store.AuthCode) { f.Set("redirect_uri", tkRedirect+"/") }, wantCode: "invalid_grant"},
		{name: "missing code_verifier", edit: func(f url.Values, _ *store.AuthCode) { f.Del("code_verifier") }, wantCode: "invalid_request"},
		{name: "wrong code_verifier", edit: func(f url.Values, _ *store.AuthCode) { f.Set("code_verifier", strings.Repeat("a", 43)) }, wantCode: "invalid_grant"},
		{name: "code_verifier too short", edit: func(f url.Values, _ *store.AuthCode) { f.Set("code_verifier", "abc") }, wantCode: "invalid_grant"},
		{name: "plain method on the code", mod: func(c *store.AuthCode) { c.CodeChallengeMethod = "plain" }, wantCode: "invalid_grant"},
		{name: "verifier equal to the challenge (plain PKCE)", edit: func(f url.Values, c *store.AuthCode) { f.Set("code_verifier", c.CodeChallenge) }, wantCode: "invalid_grant"},
		{name: "missing code", edit: func(f url.Values, _ *store.AuthCode) { f.Del("code") }, wantCode: "invalid_request"},
		{name: "unknown code", edit: func(f url.Values, _ *store.AuthCode) { f.Set("code", "not-a-code") }, wantCode: "invalid_grant"},
		{name: "expired code", before: func(e *tkEnv) { e.clock.Advance(CodeTTL) }, wantCode: "invalid_grant"},
		{name: "code just before expiry", before: func(e *tkEnv) { e.clock.Advance(CodeTTL - time.Second) }},
		{name: "resource mismatch", edit: func(f url.Values, _ *store.AuthCode) { f.Set("resource", "https://other.example.com/mcp") }, wantCode: "invalid_target"},
		{name: "resource path mismatch", edit: func(f url.Values, _ *store.AuthCode) { f.Set("resource", tkResource+"/") }, wantCode: "invalid_target"},
		{name: "invalid resource", edit: func(f url.Values, _ *store.AuthCode) { f.Set("resource", "not a uri") }, wantCode: "invalid_target"},
		{name: "resource equal", edit: func(f url.Values, _ *store.AuthCode) { f.Set("resource", tkResource) }},
		{name: "resource equal after canonicalisation", edit: func(f url.Values, _ *store.AuthCode) { f.Set("resource", "HTTPS://MCP.example.com:443/mcp") }},
		{name: "code issued without resource", mod: func(c *store.AuthCode) { c.Resource = "" }},
		{name: "grant type not allowed for the client", clientID: tkCodeOnly, edit: func(f url.Values, _ *store.AuthCode) {
			f.Set("grant_type", "refresh_token")
			f.Set("refresh_token", "x")
		}, wantCode: "unauthorized_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, nil)
			owner := tkPublic
			if tt.clientID == tkCodeOnly {
				owner = tkCodeOnly
			}
			raw, verifier, code := e.newCode(t, owner, tt.mod)
			f := tkCodeForm(raw, verifier)
			if tt.edit != nil {
				tt.edit(f, code)
			}
			if tt.before != nil {
				tt.before(e)
			}
			clientID := tt.clientID
			if clientID == "" {
				clientID = tkPublic
			}
			r := e.tokenAs(t, clientID, f)
			if tt.wantCode == "" {
				if r.status != http.StatusOK {
					t.Fatalf("got %d %s, want success", r.status, r.raw)
				}
				if aud := e.verify(t, r.str("access_token")).Audience; !cmp.Equal(aud, []string{tkResource}) {
					t.Errorf("aud = %v, want [%s]", aud, tkResource)
				}
				return
			}
			status := tt.wantStatus
			if status == 0 {
				status = http.StatusBadRequest
			}
			tkWantError(t, r, status, tt.wantCode)
			if _, err := e.store.GetGrant(context.Background(), code.GrantID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a failed redemption created grant %s (err %v)", code.GrantID, err)
			}
		})
	}
}

// TestTokenCodeSingleUse: a failed redemption burns the code (the verifier
// cannot be guessed twice), and a redemption with missing parameters does
// not.
func TestTokenCodeSingleUse(t *testing.T) {
	e := newTkEnv(t, nil)
	raw, verifier, _ := e.newCode(t, tkPublic, nil)
	f := tkCodeForm(raw, verifier)
	f.Del("code_verifier")
	tkWantError(t, e.tokenAs(t, tkPublic, f), http.StatusBadRequest, "invalid_request")
	f = tkCodeForm(raw, strings.Repeat("b", 43))
	tkWantError(t, e.tokenAs(t, tkPublic, f), http.StatusBadRequest, "invalid_grant")
	tkWantError(t, e.tokenAs(t, tkPublic, tkCodeForm(raw, verifier)), http.StatusBadRequest, "invalid_grant")
}

// TestTokenCodeReplay: a second redemption is invalid_grant and revokes the
// grant of the first, whose refresh token then fails (RFC 9700 §4.14.2).
func TestTokenCodeReplay(t *testing.T) {
	e := newTkEnv(t, nil)
	raw, verifier, code := e.newCode(t, tkPublic, nil)
	first := e.tokenAs(t, tkPublic, tkCodeForm(raw, verifier))
	if first.status != http.StatusOK {
		t.Fatalf("first redemption: %d %s", first.status, first.raw)
	}
	tkWantError(t, e.tokenAs(t, tkPublic, tkCodeForm(raw, verifier)), http.StatusBadRequest, "invalid_grant")
	if g := e.getGrant(t, code.GrantID); g.RevokedAt.IsZero() {
		t.Error("the grant of the first redemption is still active after a replay")
	}
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(first.str("refresh_token"))), http.StatusBadRequest, "invalid_grant")
}

// TestTokenCodeReplayDuringRedemption: a replay seen after the first
// redemption consumed the code but before it created the grant leaves a
// revoked grant, so the first redemption cannot create an active one.
func TestTokenCodeReplayDuringRedemption(t *testing.T) {
	e := newTkEnv(t, nil)
	raw, verifier, code := e.newCode(t, tkPublic, nil)
	ctx := context.Background()
	if _, err := e.store.ConsumeCode(ctx, token.Hash(raw)); err != nil { // the first redemption, in flight
		t.Fatal(err)
	}
	tkWantError(t, e.tokenAs(t, tkPublic, tkCodeForm(raw, verifier)), http.StatusBadRequest, "invalid_grant")
	g := e.getGrant(t, code.GrantID)
	if g.RevokedAt.IsZero() {
		t.Fatal("replay left no revoked grant")
	}
	err := e.store.CreateGrant(ctx, &store.Grant{ID: code.GrantID, ClientID: tkPublic, Subject: "alice", CreatedAt: e.clock.Now(), ExpiresAt: e.clock.Now().Add(time.Hour)})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("first redemption could still create the grant: %v", err)
	}
}

// TestTokenCodeConcurrent: of 16 concurrent redemptions of one code at most
// one gets tokens (none when a replay is seen before the first redemption has
// created its grant), every other is invalid_grant, and the grant ends revoked.
func TestTokenCodeConcurrent(t *testing.T) {
	e := newTkEnv(t, nil)
	raw, verifier, code := e.newCode(t, tkPublic, nil)
	results := make([]tkResp, 16)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = e.tokenAs(t, tkPublic, tkCodeForm(raw, verifier)) })
	}
	wg.Wait()
	ok := 0
	for _, r := range results {
		switch {
		case r.status == http.StatusOK:
			ok++
		case r.errCode() != "invalid_grant":
			t.Errorf("loser got %d %s, want invalid_grant", r.status, r.raw)
		}
	}
	if ok > 1 {
		t.Fatalf("%d redemptions succeeded, want at most 1", ok)
	}
	if g := e.getGrant(t, code.GrantID); g.RevokedAt.IsZero() {
		t.Error("the grant is active after concurrent replays")
	}
}

// TestTokenRefreshRotation: a public client gets a new refresh token on
// every use; replaying a rotated-out one revokes the grant, so the current
// one stops working too.
func TestTokenRefreshRotation(t *testing.T) {
	e := newTkEnv(t, nil)
	first, code := e.redeem(t, tkPublic)
	rt0 := first.str("refresh_token")

	e.clock.Advance(10 * time.Minute)
	r1 := e.tokenAs(t, tkPublic, tkRefreshForm(rt0))
	if r1.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r1.status, r1.raw)
	}
	rt1 := r1.str("refresh_token")
	if rt1 == "" || rt1 == rt0 {
		t.Fatalf("refresh token not rotated: %q", rt1)
	}
	if gid, _, _ := token.SplitRefreshToken(rt1); gid != code.GrantID {
		t.Errorf("rotated token names grant %q, want %q", gid, code.GrantID)
	}
	claims := e.verify(t, r1.str("access_token"))
	if claims.Extra["sid"] != code.GrantID || claims.Scope != "mcp:read mcp:write" || !claims.IssuedAt.Equal(e.clock.Now()) {
		t.Errorf("refreshed token claims: sid %v scope %q iat %v", claims.Extra["sid"], claims.Scope, claims.IssuedAt)
	}
	if g := e.getGrant(t, code.GrantID); !g.RefreshExpiresAt.Equal(e.clock.Now().Add(24 * time.Hour)) {
		t.Errorf("refresh expiry %v, want now + RefreshTokenTTL", g.RefreshExpiresAt)
	}

	r2 := e.tokenAs(t, tkPublic, tkRefreshForm(rt1))
	if r2.status != http.StatusOK {
		t.Fatalf("second refresh: %d %s", r2.status, r2.raw)
	}
	rt2 := r2.str("refresh_token")

	// Replay of a rotated-out token.
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(rt0)), http.StatusBadRequest, "invalid_grant")
	if g := e.getGrant(t, code.GrantID); g.RevokedAt.IsZero() {
		t.Fatal("grant not revoked after refresh token reuse")
	}
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(rt2)), http.StatusBadRequest, "invalid_grant")
}

// TestTokenRefreshConcurrent: of 16 concurrent uses of one refresh token,
// exactly one succeeds.
func TestTokenRefreshConcurrent(t *testing.T) {
	e := newTkEnv(t, nil)
	first, _ := e.redeem(t, tkPublic)
	rt := first.str("refresh_token")
	results := make([]tkResp, 16)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = e.tokenAs(t, tkPublic, tkRefreshForm(rt)) })
	}
	wg.Wait()
	ok := 0
	for _, r := range results {
		switch {
		case r.status == http.StatusOK:
			ok++
		case r.errCode() != "invalid_grant":
			t.Errorf("loser got %d %s, want invalid_grant", r.status, r.raw)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent refreshes succeeded, want exactly 1", ok)
	}
}

func TestTokenRefreshScope(t *testing.T) {
	tests := []struct {
		scope    string
		want     string // scope of the response; "" with wantCode
		wantCode string
	}{
		{scope: "mcp:read", want: "mcp:read"},
		{scope: "mcp:write mcp:read", want: "mcp:write mcp:read"},
		{scope: "mcp:read mcp:write", want: "mcp:read mcp:write"},
		{scope: "mcp:read mcp:admin", wantCode: "invalid_scope"},
		{scope: "mcp:admin", wantCode: "invalid_scope"},
		{scope: "unknown", wantCode: "invalid_scope"},
		{scope: `bad"scope`, wantCode: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			e := newTkEnv(t, nil)
			first, code := e.redeem(t, tkPublic)
			f := tkRefreshForm(first.str("refresh_token"))
			f.Set("scope", tt.scope)
			r := e.tokenAs(t, tkPublic, f)
			if tt.wantCode != "" {
				tkWantError(t, r, http.StatusBadRequest, tt.wantCode)
				// Nothing changed: the refresh token still works.
				if r := e.tokenAs(t, tkPublic, tkRefreshForm(first.str("refresh_token"))); r.status != http.StatusOK {
					t.Errorf("refresh after refused scope: %d %s", r.status, r.raw)
				}
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			if r.str("scope") != tt.want {
				t.Errorf("response scope = %q, want %q", r.str("scope"), tt.want)
			}
			if got := e.verify(t, r.str("access_token")).Scope; got != tt.want {
				t.Errorf("token scope = %q, want %q", got, tt.want)
			}
			// Narrowing applies to this token only: the grant keeps its scope.
			if g := e.getGrant(t, code.GrantID); !cmp.Equal(g.Scopes, code.Scopes) {
				t.Errorf("grant scopes = %v, want %v", g.Scopes, code.Scopes)
			}
			r2 := e.tokenAs(t, tkPublic, tkRefreshForm(r.str("refresh_token")))
			if r2.str("scope") != "mcp:read mcp:write" {
				t.Errorf("refresh without scope after narrowing: scope %q, want the full grant", r2.str("scope"))
			}
		})
	}
}

func TestTokenRefreshResource(t *testing.T) {
	tests := []struct {
		name     string
		resource string // "" = omitted
		wantCode string
	}{
		{name: "omitted keeps the audience"},
		{name: "same", resource: tkResource},
		{name: "same after canonicalisation", resource: "https://mcp.EXAMPLE.com/mcp"},
		{name: "other", resource: "https://other.example.com/mcp", wantCode: "invalid_target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, nil)
			first, _ := e.redeem(t, tkPublic)
			f := tkRefreshForm(first.str("refresh_token"))
			if tt.resource != "" {
				f.Set("resource", tt.resource)
			}
			r := e.tokenAs(t, tkPublic, f)
			if tt.wantCode != "" {
				tkWantError(t, r, http.StatusBadRequest, tt.wantCode)
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			if aud := e.verify(t, r.str("access_token")).Audience; !cmp.Equal(aud, []string{tkResource}) {
				t.Errorf("aud = %v, want [%s]", aud, tkResource)
			}
		})
	}
}

// TestTokenGrantLifetime: the absolute grant lifetime caps the refresh token
// and the access token; after it, refresh fails.
func TestTokenGrantLifetime(t *testing.T) {
	e := newTkEnv(t, func(o *Options) { o.GrantLifetime = 2 * time.Hour })
	first, code := e.redeem(t, tkPublic)
	end := tkStart.Add(2 * time.Hour)
	if g := e.getGrant(t, code.GrantID); !g.ExpiresAt.Equal(end) || !g.RefreshExpiresAt.Equal(end) {
		t.Errorf("grant expiry %v, refresh expiry %v, want both %v", g.ExpiresAt, g.RefreshExpiresAt, end)
	}

	e.clock.Advance(90 * time.Minute)
	r := e.tokenAs(t, tkPublic, tkRefreshForm(first.str("refresh_token")))
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	if got := r.body["expires_in"]; got != float64(30*60) {
		t.Errorf("expires_in = %v, want 1800 (the grant's remaining lifetime)", got)
	}
	if exp := e.verify(t, r.str("access_token")).ExpiresAt; !exp.Equal(end) {
		t.Errorf("access token exp %v, want the grant's end %v", exp, end)
	}
	if g := e.getGrant(t, code.GrantID); !g.RefreshExpiresAt.Equal(end) {
		t.Errorf("refresh expiry %v, want %v", g.RefreshExpiresAt, end)
	}

	e.clock.Advance(30 * time.Minute)
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(r.str("refresh_token"))), http.StatusBadRequest, "invalid_grant")
}

// TestTokenRefreshTTL: each refresh token lives RefreshTokenTTL; using it
// starts a new period.
func TestTokenRefreshTTL(t *testing.T) {
	e := newTkEnv(t, func(o *Options) { o.RefreshTokenTTL = time.Hour })
	first, _ := e.redeem(t, tkPublic)
	e.clock.Advance(50 * time.Minute)
	r := e.tokenAs(t, tkPublic, tkRefreshForm(first.str("refresh_token")))
	if r.status != http.StatusOK {
		t.Fatalf("refresh within TTL: %d %s", r.status, r.raw)
	}
	e.clock.Advance(50 * time.Minute)
	r = e.tokenAs(t, tkPublic, tkRefreshForm(r.str("refresh_token")))
	if r.status != http.StatusOK {
		t.Fatalf("refresh within the renewed TTL: %d %s", r.status, r.raw)
	}
	e.clock.Advance(time.Hour)
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(r.str("refresh_token"))), http.StatusBadRequest, "invalid_grant")
}

// TestTokenRotationPolicy: without RotateRefreshTokens a confidential client
// keeps its refresh token, a public client is rotated anyway (OAuth 2.1 §4.3.1).
func TestTokenRotationPolicy(t *testing.T) {
	tests := []struct {
		clientID   string
		rotate     bool
		wantRotate bool
	}{
		{clientID: tkBasic, rotate: false, wantRotate: false},
		{clientID: tkPost, rotate: false, wantRotate: false},
		{clientID: tkPublic, rotate: false, wantRotate: true},
		{clientID: tkBasic, rotate: true, wantRotate: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/rotate=%v", tt.clientID, tt.rotate), func(t *testing.T) {
			e := newTkEnv(t, func(o *Options) { o.RotateRefreshTokens = tt.rotate })
			first, _ := e.redeem(t, tt.clientID)
			rt := first.str("refresh_token")
			r := e.tokenAs(t, tt.clientID, tkRefreshForm(rt))
			if r.status != http.StatusOK {
				t.Fatalf("refresh: %d %s", r.status, r.raw)
			}
			if rotated := r.str("refresh_token") != rt; rotated != tt.wantRotate {
				t.Fatalf("rotated = %v, want %v", rotated, tt.wantRotate)
			}
			// Without rotation the same token keeps working.
			r = e.tokenAs(t, tt.clientID, tkRefreshForm(rt))
			if tt.wantRotate {
				tkWantError(t, r, http.StatusBadRequest, "invalid_grant")
			} else if r.status != http.StatusOK {
				t.Fatalf("second use of an unrotated token: %d %s", r.status, r.raw)
			}
		})
	}
}

func TestTokenRefreshErrors(t *testing.T) {
	tests := []struct {
		name     string
		clientID string
		token    func(rt string) string
	}{
		{name: "another client", clientID: tkPublic2, token: func(rt string) string { return rt }},
		{name: "missing", token: func(string) string { return "" }},
		{name: "malformed", token: func(string) string { return "not-a-refresh-token" }},
		{name: "unknown grant", token: func(rt string) string {
			_, secret, _ := token.SplitRefreshToken(rt)
			return token.NewID() + "." + secret
		}},
		{name: "wrong secret", token: func(rt string) string {
			gid, _, _ := token.SplitRefreshToken(rt)
			other, _ := token.NewRefreshToken(gid)
			return other
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, nil)
			first, code := e.redeem(t, tkPublic)
			rt := first.str("refresh_token")
			clientID := tt.clientID
			if clientID == "" {
				clientID = tkPublic
			}
			want := "invalid_grant"
			if tt.name == "missing" {
				want = "invalid_request"
			}
			tkWantError(t, e.tokenAs(t, clientID, tkRefreshForm(tt.token(rt))), http.StatusBadRequest, want)
			if g := e.getGrant(t, code.GrantID); !g.RevokedAt.IsZero() {
				t.Error("a refused refresh revoked the grant")
			}
			if r := e.tokenAs(t, tkPublic, tkRefreshForm(rt)); r.status != http.StatusOK {
				t.Errorf("the real refresh token after a refused attempt: %d %s", r.status, r.raw)
			}
		})
	}
}

func TestTokenRefreshDisabled(t *testing.T) {
	e := newTkEnv(t, func(o *Options) { o.RefreshEnabled = false })
	first, code := e.redeem(t, tkPublic)
	if _, ok := first.body["refresh_token"]; ok {
		t.Error("refresh token issued with refresh disabled")
	}
	if g := e.getGrant(t, code.GrantID); g.RefreshHash != "" {
		t.Error("grant has a refresh hash with refresh disabled")
	}
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(code.GrantID+"."+strings.Repeat("a", 43))), http.StatusBadRequest, "unsupported_grant_type")
}

func TestTokenCodeOnlyClientGetsNoRefreshToken(t *testing.T) {
	e := newTkEnv(t, nil)
	first, _ := e.redeem(t, tkCodeOnly)
	if _, ok := first.body["refresh_token"]; ok {
		t.Error("refresh token issued to a client without the refresh_token grant")
	}
}

func TestTokenRequestErrors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
	}{
		{name: "password grant", body: "grant_type=password&username=a&password=b&client_id=" + tkPublic, wantStatus: 400, wantCode: "unsupported_grant_type"},
		{name: "client_credentials grant", body: "grant_type=client_credentials&client_id=" + tkPublic, wantStatus: 400, wantCode: "unsupported_grant_type"},
		{name: "implicit", body: "grant_type=implicit&client_id=" + tkPublic, wantStatus: 400, wantCode: "unsupported_grant_type"},
		{name: "device code", body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=" + tkPublic, wantStatus: 400, wantCode: "unsupported_grant_type"},
		{name: "missing grant_type", body: "client_id=" + tkPublic, wantStatus: 400, wantCode: "invalid_request"},
		{name: "repeated parameter", body: "grant_type=authorization_code&code=a&code=b&client_id=" + tkPublic, wantStatus: 400, wantCode: "invalid_request"},
		{name: "repeated client_id", body: "grant_type=authorization_code&client_id=" + tkPublic + "&client_id=" + tkPublic, wantStatus: 400, wantCode: "invalid_request"},
		{name: "repeated JSON member", contentType: "application/json", body: `{"grant_type":"authorization_code","grant_type":"refresh_token","client_id":"` + tkPublic + `"}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "JSON number", contentType: "application/json", body: `{"grant_type":1,"client_id":"` + tkPublic + `"}`, wantStatus: 400, wantCode: "invalid_request"},
		{name: "unsupported content type", contentType: "text/plain", body: "grant_type=authorization_code", wantStatus: 400, wantCode: "invalid_request"},
		{name: "body too large", body: "grant_type=authorization_code&client_id=" + tkPublic + "&pad=" + strings.Repeat("x", 20<<10), wantStatus: 400, wantCode: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, nil)
			ct := tt.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			tkWantError(t, e.send(t, ct, tt.body, nil), tt.wantStatus, tt.wantCode)
		})
	}
}

func TestTokenMethodAndCORS(t *testing.T) {
	e := newTkEnv(t, nil)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, e.base+PathToken, nil)
		r := e.do(t, req)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST, OPTIONS" || r.errCode() != "invalid_request" {
			t.Errorf("%s: %d Allow %q %s", method, r.status, r.header.Get("Allow"), r.raw)
		}
	}

	req, _ := http.NewRequest(http.MethodOptions, e.base+PathToken, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	r := e.do(t, req)
	got := map[string]string{}
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Allow-Credentials"} {
		got[h] = r.header.Get(h)
	}
	want := map[string]string{
		"Access-Control-Allow-Origin":      "*",
		"Access-Control-Allow-Methods":     "POST, OPTIONS",
		"Access-Control-Allow-Headers":     "authorization, content-type",
		"Access-Control-Allow-Credentials": "",
	}
	if r.status != http.StatusNoContent {
		t.Errorf("preflight status %d, want 204", r.status)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("preflight headers (-want +got):\n%s", diff)
	}

	// A malformed header list is not echoed.
	req, _ = http.NewRequest(http.MethodOptions, e.base+PathToken, nil)
	req.Header.Set("Access-Control-Request-Headers", "x-a, <script>")
	if r := e.do(t, req); r.header.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type, Accept" {
		t.Errorf("Access-Control-Allow-Headers = %q", r.header.Get("Access-Control-Allow-Headers"))
	}

	// Error responses are readable cross-origin too.
	r = e.send(t, "application/x-www-form-urlencoded", "grant_type=authorization_code", nil)
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("error response Access-Control-Allow-Origin = %q", r.header.Get("Access-Control-Allow-Origin"))
	}
}

// TestTokenStoreUnavailable: a store outage is 503 temporarily_unavailable,
// never reported as an invalid grant.
func TestTokenStoreUnavailable(t *testing.T) {
	e := newTkEnv(t, nil)
	first, _ := e.redeem(t, tkPublic)
	raw, verifier, _ := e.newCode(t, tkPublic, nil)
	e.store.Close()
	for name, f := range map[string]url.Values{
		"code":    tkCodeForm(raw, verifier),
		"refresh": tkRefreshForm(first.str("refresh_token")),
	} {
		r := e.tokenAs(t, tkPublic, f)
		if r.status != http.StatusServiceUnavailable || r.errCode() != "temporarily_unavailable" {
			t.Errorf("%s with the store down: %d %s, want 503 temporarily_unavailable", name, r.status, r.raw)
		}
	}
}

// TestTokenDynamicClient: a client registered through the store authenticates
// like a pre-registered one.
func TestTokenDynamicClient(t *testing.T) {
	e := newTkEnv(t, nil)
	secret, _ := token.NewSecret()
	err := e.store.CreateClient(context.Background(), &store.Client{
		ID: "dyn", SecretHash: token.Hash(secret), RedirectURIs: []string{tkRedirect},
		TokenEndpointAuthMethod: "client_secret_basic", Dynamic: true, CreatedAt: tkStart,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.secrets["dyn"] = secret
	e.redeem(t, "dyn")
	e.secrets["dyn"] = "wrong"
	raw, verifier, _ := e.newCode(t, "dyn", nil)
	tkWantError(t, e.tokenAs(t, "dyn", tkCodeForm(raw, verifier)), http.StatusUnauthorized, "invalid_client")
}

// FuzzTokenEndpoint posts arbitrary requests to the token endpoint: it must
// never panic and always answer JSON with Cache-Control: no-store.
func FuzzTokenEndpoint(f *testing.F) {
	e := newTkEnv(f, nil)
	raw, verifier, _ := e.newCode(f, tkPublic, nil)
	f.Add("application/x-www-form-urlencoded", tkCodeForm(raw, verifier).Encode()+"&client_id="+tkPublic, "")
	f.Add("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=abc.def", tkBasicAuth(tkBasic, "x").Get("Authorization"))
	f.Add("application/json", `{"grant_type":"authorization_code","code":"x","client_id":"post-app","client_secret":"y"}`, "")
	f.Add("application/json", `{"grant_type":["a"]}`, "Basic Og==")
	f.Add("", "grant_type=refresh_token&client_id=public-app&refresh_token=AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&scope=mcp:read&resource=https://mcp.example.com/mcp", "")
	f.Add("text/plain; charset=%", "%%%", "Bearer")
	f.Fuzz(func(t *testing.T, contentType, body, authorization string) {
		req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		w := httptest.NewRecorder()
		e.srv.handleToken(w, req)
		if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control = %q", cc)
		}
		var v map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("status %d, body %q is not a JSON object: %v", w.Code, w.Body.Bytes(), err)
		}
		if w.Code == http.StatusOK {
			if _, ok := v["access_token"].(string); !ok {
				t.Fatalf("200 without access_token: %s", w.Body.Bytes())
			}
		} else if _, ok := v["error"].(string); !ok {
			t.Fatalf("status %d without an error code: %s", w.Code, w.Body.Bytes())
		}
	})
}
