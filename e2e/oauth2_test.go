package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
)

// redirectURI is a loopback redirect URI (RFC 8252 §7.3). Nothing listens
// there: the user agent stops at the redirect and hands its URL to the test.
const redirectURI = "http://127.0.0.1:4711/callback"

// TestOAuth2Client runs the whole life of a grant with golang.org/x/oauth2 as
// the OAuth client: discovery, dynamic registration, the authorization code
// flow with PKCE and a resource indicator, the token exchange, refresh with
// rotation, MCP calls with the token, and refresh token reuse detection.
func TestOAuth2Client(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := t.Context()

	var (
		prm *protectedResourceMetadata
		asm *authServerMetadata
		cfg *oauth2.Config
		tok *oauth2.Token // from the code exchange
		rot *oauth2.Token // from the first refresh
	)

	if !t.Run("discovery", func(t *testing.T) {
		var err error
		if prm, asm, err = discover(ctx, ts.MCPURL); err != nil {
			t.Fatal(err)
		}
		// RFC 9728 §3.3: the resource is the URL the client connects to.
		if prm.Resource != ts.MCPURL {
			t.Errorf("PRM resource = %q, want %q", prm.Resource, ts.MCPURL)
		}
		if diff := cmp.Diff([]string{ts.Issuer}, prm.AuthorizationServers); diff != "" {
			t.Errorf("PRM authorization_servers (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{scopeTools, scopeAdmin}, prm.ScopesSupported); diff != "" {
			t.Errorf("PRM scopes_supported (-want +got):\n%s", diff)
		}
		// RFC 8414 §3.3: issuer identical to the one the metadata was fetched for.
		if asm.Issuer != ts.Issuer {
			t.Errorf("issuer = %q, want %q", asm.Issuer, ts.Issuer)
		}
		if !asm.IssParameterSupported {
			t.Error("authorization_response_iss_parameter_supported is not true")
		}
		if diff := cmp.Diff([]string{"S256"}, asm.CodeChallengeMethodsSupported); diff != "" {
			t.Errorf("code_challenge_methods_supported (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"code"}, asm.ResponseTypesSupported); diff != "" {
			t.Errorf("response_types_supported (-want +got):\n%s", diff)
		}
		for _, g := range []string{"authorization_code", "refresh_token"} {
			if !slices.Contains(asm.GrantTypesSupported, g) {
				t.Errorf("grant_types_supported %q lacks %q", asm.GrantTypesSupported, g)
			}
		}
		if !slices.Contains(asm.TokenEndpointAuthMethodsSupported, "none") {
			t.Errorf("token_endpoint_auth_methods_supported %q lacks none", asm.TokenEndpointAuthMethodsSupported)
		}
		if asm.AuthorizationEndpoint == "" || asm.TokenEndpoint == "" || asm.RegistrationEndpoint == "" || asm.JWKSURI == "" {
			t.Fatalf("metadata lacks an endpoint: %+v", asm)
		}
	}) {
		return
	}

	if !t.Run("registration", func(t *testing.T) {
		c, err := registerClient(ctx, asm.RegistrationEndpoint, redirectURI)
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientID == "" {
			t.Fatal("no client_id")
		}
		// RFC 7591 §3.2.1: a public client gets no secret.
		if c.ClientSecret != "" {
			t.Error("a client registered with token_endpoint_auth_method none got a client_secret")
		}
		if diff := cmp.Diff([]string{redirectURI}, c.RedirectURIs); diff != "" {
			t.Errorf("redirect_uris (-want +got):\n%s", diff)
		}
		cfg = &oauth2.Config{
			ClientID:    c.ClientID,
			Endpoint:    oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
			RedirectURL: redirectURI,
			Scopes:      []string{scopeTools},
		}
	}) {
		return
	}

	if !t.Run("authorization code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		state := oauth2.GenerateVerifier()
		authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", ts.MCPURL))
		ua := newUserAgent(t)
		loc, err := ua.authorize(ctx, authURL, redirectURI)
		if err != nil {
			t.Fatalf("authorize: %v (trace %+v)", err, ua.trace)
		}
		if diff := cmp.Diff([]string{"login", "consent"}, ua.pages()); diff != "" {
			t.Errorf("pages shown (-want +got):\n%s", diff)
		}
		for _, s := range ua.trace {
			// A 307 after the login POST would make the browser re-post the
			// password to the next URL (RFC 9700 §4.11).
			if s.Method == http.MethodPost && s.Status != http.StatusSeeOther {
				t.Errorf("POST %s answered %d, want 303", s.URL, s.Status)
			}
			checkPageHeaders(t, s)
		}
		if !slices.ContainsFunc(ua.trace, func(s step) bool {
			return slices.ContainsFunc((&http.Response{Header: s.Header}).Cookies(), func(c *http.Cookie) bool { return c.Name == "frontmcp-authz" })
		}) {
			t.Error("the flow set no frontmcp-authz cookie")
		}
		q := loc.Query()
		if got := q.Get("state"); got != state {
			t.Errorf("state = %q, want %q", got, state)
		}
		// RFC 9207 §2.
		if got := q.Get("iss"); got != ts.Issuer {
			t.Errorf("iss = %q, want %q", got, ts.Issuer)
		}
		if q.Get("error") != "" {
			t.Fatalf("authorization error: %s", loc.RawQuery)
		}
		code := q.Get("code")
		if code == "" {
			t.Fatalf("no code in %s", loc)
		}
		if tok, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		if !strings.EqualFold(tok.TokenType, "Bearer") {
			t.Errorf("token_type = %q, want Bearer", tok.TokenType)
		}
		if got := time.Until(tok.Expiry); got < accessTokenTTL-30*time.Second || got > accessTokenTTL {
			t.Errorf("expires_in gives %v, want about %v", got, accessTokenTTL)
		}
		checkAccessToken(t, ctx, asm, ts, tok.AccessToken, cfg.ClientID, scopeTools)

		// A code is single-use (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
		_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		checkRetrieveError(t, err, "invalid_grant")
		checkTokenRefused(t, ctx, ts.MCPURL, tok.AccessToken)
		// The replay revoked the grant, so this flow's tokens are spent; the
		// next steps run on a fresh grant.
		tok = authorizeAndExchange(t, ctx, cfg, ts.MCPURL)
	}) {
		return
	}

	if !t.Run("refresh rotates", func(t *testing.T) {
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		var err error
		if rot, err = cfg.TokenSource(ctx, &expired).Token(); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if rot.AccessToken == tok.AccessToken {
			t.Error("refresh returned the same access token")
		}
		if rot.RefreshToken == "" || rot.RefreshToken == tok.RefreshToken {
			t.Errorf("refresh token not rotated (new one empty: %t)", rot.RefreshToken == "")
		}
		// x/oauth2 sends no resource on refresh; the audience must stay the
		// one granted (RFC 8707 §2.2).
		checkAccessToken(t, ctx, asm, ts, rot.AccessToken, cfg.ClientID, scopeTools)
	}) {
		return
	}

	t.Run("MCP with the token", func(t *testing.T) {
		cs, _ := connectWithToken(t, ts.MCPURL, rot)
		tools, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		var names []string
		for _, tl := range tools.Tools {
			names = append(names, tl.Name)
		}
		slices.Sort(names)
		if diff := cmp.Diff([]string{"admin", "test_error_handling", "whoami"}, names); diff != "" {
			t.Errorf("tools (-want +got):\n%s", diff)
		}

		who, err := callWhoami(ctx, cs)
		if err != nil {
			t.Fatalf("whoami: %v", err)
		}
		want := whoami{Subject: testUser, ClientID: cfg.ClientID, Scopes: []string{scopeTools}, Email: testEmail}
		if diff := cmp.Diff(want, *who, ignoreGrantID); diff != "" {
			t.Errorf("whoami (-want +got):\n%s", diff)
		}
		if who.GrantID == "" {
			t.Error("whoami: no grant id")
		}
	})

	// MCP step-up (2025-11-25): a tool whose scope the token lacks is a 403
	// insufficient_scope naming the scope (RFC 6750 §3.1), both for a scope
	// set from Go and one set by auth.toolScopes. A go-sdk client without an
	// OAuth handler ends its session on a 403, so each call gets its own.
	for _, name := range []string{"admin", "test_error_handling"} {
		t.Run("MCP "+name+" needs "+scopeAdmin, func(t *testing.T) {
			cs, rec := connectWithToken(t, ts.MCPURL, rot)
			rec.reset()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name})
			if err == nil {
				t.Fatalf("succeeded: %+v", res)
			}
			r, ok := rec.last(http.StatusForbidden)
			if !ok {
				t.Fatalf("%v, and no 403 was sent", err)
			}
			ch, _ := bearerChallenge(http.Header{"Www-Authenticate": r.WWWAuthenticate})
			if ch["error"] != "insufficient_scope" || !slices.Contains(strings.Fields(ch["scope"]), scopeAdmin) {
				t.Errorf("403 with WWW-Authenticate %q, want error=insufficient_scope and scope %s", r.WWWAuthenticate, scopeAdmin)
			}
			if ch["resource_metadata"] == "" {
				t.Errorf("403 challenge %q lacks resource_metadata", r.WWWAuthenticate)
			}
		})
	}

	t.Run("bearer rules", func(t *testing.T) {
		// MCP authorization spec, "Token Requirements": the token travels in
		// the Authorization header only; a missing one is a 401 pointing at
		// the protected resource metadata (RFC 9728 §5.1).
		resp, err := postMCP(ctx, ts.MCPURL, "", initializeBody)
		if err != nil {
			t.Fatal(err)
		}
		ch, ok := bearerChallenge(resp.Header)
		if resp.StatusCode != http.StatusUnauthorized || !ok {
			t.Errorf("no token: %d %q, want 401 with a Bearer challenge", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
		}
		if want := ts.Issuer + "/.well-known/oauth-protected-resource/mcp"; ch["resource_metadata"] != want {
			t.Errorf("no token: resource_metadata = %q, want %q", ch["resource_metadata"], want)
		}
		// MCP authorization, scope selection: the challenge names the
		// scopes that no tool gates; step-up asks for the rest.
		if ch["scope"] != scopeTools {
			t.Errorf("no token: scope = %q, want %q", ch["scope"], scopeTools)
		}
		if _, has := ch["error"]; has {
			t.Errorf("no token: challenge has error=%q; RFC 6750 §3.1 says a request without credentials gets none", ch["error"])
		}

		q := url.Values{"access_token": {rot.AccessToken}}
		resp, err = postMCP(ctx, ts.MCPURL+"?"+q.Encode(), "", initializeBody)
		if err != nil {
			t.Fatal(err)
		}
		// RFC 6750 §2.3 is not offered: the request is malformed (§3.1).
		ch, _ = bearerChallenge(resp.Header)
		if resp.StatusCode != http.StatusBadRequest || ch["error"] != "invalid_request" {
			t.Errorf("token in the query string: %d %q, want 400 error=invalid_request", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
		}

		resp, err = postMCP(ctx, ts.MCPURL, "Bearer "+rot.AccessToken+"x", initializeBody)
		if err != nil {
			t.Fatal(err)
		}
		ch, _ = bearerChallenge(resp.Header)
		if resp.StatusCode != http.StatusUnauthorized || ch["error"] != "invalid_token" {
			t.Errorf("bad signature: %d %q, want 401 error=invalid_token", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
		}

		resp, err = postMCP(ctx, ts.MCPURL, "Bearer "+rot.AccessToken, initializeBody)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("valid token: %d, want 200", resp.StatusCode)
		}
	})

	t.Run("refresh token reuse revokes the grant", func(t *testing.T) {
		// RFC 9700 §4.14.2, OAuth 2.1 §4.3.1: presenting a rotated refresh
		// token revokes the grant, so the current one stops working too.
		_, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
		checkRetrieveError(t, err, "invalid_grant")
		_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rot.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
		checkRetrieveError(t, err, "invalid_grant")
		// The resource server checks the grant behind each access token, so
		// the grant's unexpired access token is refused too.
		checkTokenRefused(t, ctx, ts.MCPURL, rot.AccessToken)
	})
}

// TestConsentDenied checks that pressing "deny" on the consent page sends
// the client access_denied with state and iss (RFC 6749 §4.1.2.1, RFC 9207).
func TestConsentDenied(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := t.Context()
	_, asm, err := discover(ctx, ts.MCPURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := registerClient(ctx, asm.RegistrationEndpoint, redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: c.ClientID, Endpoint: oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint}, RedirectURL: redirectURI, Scopes: []string{scopeTools}}
	ua := newUserAgent(t)
	ua.consent = "deny"
	loc, err := ua.authorize(ctx, cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", ts.MCPURL)), redirectURI)
	if err != nil {
		t.Fatalf("authorize: %v (trace %+v)", err, ua.trace)
	}
	got := map[string]string{}
	for k := range loc.Query() {
		got[k] = loc.Query().Get(k)
	}
	delete(got, "error_description")
	want := map[string]string{"error": "access_denied", "state": "st-1", "iss": ts.Issuer}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("redirect after deny (-want +got):\n%s", diff)
	}
}

// TestLoginRejected checks that a wrong password gets the login page again
// through a 303 (never 307, RFC 9700 §4.11) and no redirect to the client.
func TestLoginRejected(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := t.Context()
	_, asm, err := discover(ctx, ts.MCPURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := registerClient(ctx, asm.RegistrationEndpoint, redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: c.ClientID, Endpoint: oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint}, RedirectURL: redirectURI, Scopes: []string{scopeTools}}
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", testUser, "not-" + testPassword},
		{"unknown user", "mallory", testPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ua := newUserAgent(t)
			ua.username, ua.password = tc.user, tc.password
			loc, err := ua.authorize(ctx, cfg.AuthCodeURL("st-2", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("resource", ts.MCPURL)), redirectURI)
			if !errors.Is(err, errLoginRejected) {
				t.Fatalf("authorize = %v, %v; want %v (trace %+v)", loc, err, errLoginRejected, ua.trace)
			}
			if diff := cmp.Diff([]string{"login", "login"}, ua.pages()); diff != "" {
				t.Errorf("pages shown (-want +got):\n%s", diff)
			}
			for _, s := range ua.trace {
				if s.Method == http.MethodPost && s.Status != http.StatusSeeOther {
					t.Errorf("POST %s answered %d, want 303", s.URL, s.Status)
				}
			}
		})
	}
}

var ignoreGrantID = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".GrantID" }, cmp.Ignore())

// authorizeAndExchange runs the authorization code flow for cfg with a fresh
// user agent and returns the tokens.
func authorizeAndExchange(t *testing.T, ctx context.Context, cfg *oauth2.Config, resource string) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()
	ua := newUserAgent(t)
	loc, err := ua.authorize(ctx, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", resource)), cfg.RedirectURL)
	if err != nil {
		t.Fatalf("authorize: %v (trace %+v)", err, ua.trace)
	}
	if got := loc.Query().Get("state"); got != state {
		t.Fatalf("state = %q, want %q", got, state)
	}
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// checkAccessToken verifies an access token the way a resource server
// would and checks its RFC 9068 shape.
func checkAccessToken(t *testing.T, ctx context.Context, asm *authServerMetadata, ts *testServer, tok, clientID, scope string) {
	t.Helper()
	header, claims, err := jwtParts(tok)
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	// RFC 9068 §2.1.
	if header["typ"] != "at+jwt" {
		t.Errorf("access token typ = %v, want at+jwt", header["typ"])
	}
	if header["alg"] != "ES256" {
		t.Errorf("access token alg = %v, want ES256", header["alg"])
	}
	if kid, _ := header["kid"].(string); kid == "" {
		t.Error("access token has no kid")
	}
	verified, err := verifyJWT(ctx, asm.JWKSURI, tok)
	if err != nil {
		t.Fatalf("access token signature: %v", err)
	}
	if diff := cmp.Diff(claims, verified); diff != "" {
		t.Errorf("verified claims differ from decoded ones:\n%s", diff)
	}
	// RFC 9068 §2.2.
	if claims["iss"] != ts.Issuer {
		t.Errorf("iss = %v, want %q", claims["iss"], ts.Issuer)
	}
	if diff := cmp.Diff([]string{ts.MCPURL}, audience(claims)); diff != "" {
		t.Errorf("aud (-want +got):\n%s", diff)
	}
	if claims["sub"] != testUser {
		t.Errorf("sub = %v, want %q", claims["sub"], testUser)
	}
	if claims["client_id"] != clientID {
		t.Errorf("client_id = %v, want %q", claims["client_id"], clientID)
	}
	if claims["scope"] != scope {
		t.Errorf("scope = %v, want %q", claims["scope"], scope)
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		t.Error("no jti")
	}
	if claims["email"] != testEmail {
		t.Errorf("email = %v, want %q (from auth.local.users claims)", claims["email"], testEmail)
	}
	iat, exp := numericDate(claims, "iat"), numericDate(claims, "exp")
	if got := exp.Sub(iat); got != accessTokenTTL {
		t.Errorf("exp - iat = %v, want %v", got, accessTokenTTL)
	}
	if d := time.Since(iat); d < -5*time.Second || d > 30*time.Second {
		t.Errorf("iat is %v from now", -d)
	}
}

// checkRetrieveError checks that err is a token endpoint error with the
// given code (RFC 6749 §5.2).
func checkRetrieveError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Errorf("got %v, want an oauth2.RetrieveError %s", err, code)
		return
	}
	if re.ErrorCode != code {
		t.Errorf("token endpoint error = %q (HTTP %d: %s), want %q", re.ErrorCode, re.Response.StatusCode, re.Body, code)
	}
	if re.Response.StatusCode != http.StatusBadRequest {
		t.Errorf("token endpoint error %s: HTTP %d, want 400", re.ErrorCode, re.Response.StatusCode)
	}
}

// checkTokenRefused checks that the MCP endpoint refuses an access token
// with 401 invalid_token (RFC 6750 §3.1).
func checkTokenRefused(t *testing.T, ctx context.Context, mcpURL, accessToken string) {
	t.Helper()
	resp, err := postMCP(ctx, mcpURL, "Bearer "+accessToken, initializeBody)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := bearerChallenge(resp.Header)
	if resp.StatusCode != http.StatusUnauthorized || ch["error"] != "invalid_token" {
		t.Errorf("access token of a revoked grant: %d %q, want 401 error=invalid_token", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
}

// connectWithToken opens an MCP session that sends tok as its bearer token
// (x/oauth2's transport). The recorder sees every HTTP response.
func connectWithToken(t *testing.T, mcpURL string, tok *oauth2.Token) (*mcp.ClientSession, *responseRecorder) {
	t.Helper()
	rec := &responseRecorder{base: http.DefaultTransport}
	hctx := context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Transport: rec})
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-oauth2", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint:   mcpURL,
		HTTPClient: oauth2.NewClient(hctx, oauth2.StaticTokenSource(tok)),
	}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, rec
}

// checkPageHeaders checks the protections every response of the login and
// consent flow carries: no framing (RFC 9700 §4.16, clickjacking), no
// sniffing, no referrer leaking the authorization request, and cookies out
// of scripts' and other sites' reach.
func checkPageHeaders(t *testing.T, s step) {
	t.Helper()
	for _, h := range []struct{ name, want string }{
		{"X-Frame-Options", "DENY"},
		{"X-Content-Type-Options", "nosniff"},
		{"Referrer-Policy", "no-referrer"},
	} {
		if got := s.Header.Get(h.name); !strings.EqualFold(got, h.want) {
			t.Errorf("%s %s: %s = %q, want %q", s.Method, s.URL, h.name, got, h.want)
		}
	}
	if s.Page != "" && !strings.Contains(s.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("%s %s: Content-Security-Policy %q lacks frame-ancestors 'none'", s.Method, s.URL, s.Header.Get("Content-Security-Policy"))
	}
	for _, c := range (&http.Response{Header: s.Header}).Cookies() {
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("%s %s: cookie %s: HttpOnly %t, SameSite %v; want HttpOnly, SameSite=Lax", s.Method, s.URL, c.Name, c.HttpOnly, c.SameSite)
		}
	}
}
