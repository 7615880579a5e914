package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/internal/testclock"
)

// The confidential client a resource server would use for introspection.
const (
	rsClientID     = "resource-server"
	rsClientSecret = "rs-secret-0123456789abcdefghijklmnopqrstuvwxyz"
)

// revocationMetadata is the part of RFC 8414 §2 about revocation (RFC 7009)
// and introspection (RFC 7662).
type revocationMetadata struct {
	RevocationEndpoint                        string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpoint                     string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
}

// revocationServer is a server of testdata/local.yaml with a settable clock
// and the resource-server client, and a public client registered on it.
type revocationServer struct {
	mcpURL string
	clock  *testclock.Clock
	meta   revocationMetadata
	oauth  *oauth2.Config
}

func startRevocationServer(t *testing.T) *revocationServer {
	t.Helper()
	cfg, err := config.Load("testdata/local.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth.Clients = append(cfg.Auth.Clients, config.Client{
		ClientID: rsClientID, ClientSecret: rsClientSecret, RedirectURIs: []string{"http://127.0.0.1:9/rs"},
	})
	// The clock starts at the wall clock's time (cookies and x/oauth2 use
	// the latter) and moves only when the test says.
	clock := testclock.New(time.Now())
	_, mcpURL := serveOn(t, cfg, clock, nil)
	ctx := t.Context()
	_, asm, err := discover(ctx, mcpURL)
	if err != nil {
		t.Fatal(err)
	}
	rs := &revocationServer{mcpURL: mcpURL, clock: clock}
	iss, _ := url.Parse(mcpURL)
	if err := getJSON(ctx, iss.Scheme+"://"+iss.Host+"/.well-known/oauth-authorization-server", &rs.meta); err != nil {
		t.Fatal(err)
	}
	const redirect = "http://127.0.0.1:9/revocation-callback"
	c, err := registerClient(ctx, asm.RegistrationEndpoint, redirect)
	if err != nil {
		t.Fatal(err)
	}
	rs.oauth = &oauth2.Config{
		ClientID:    c.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: redirect,
		Scopes:      []string{scopeTools},
	}
	return rs
}

// postForm posts form to endpoint with an optional Basic client
// authentication and returns the status, headers and body.
func postForm(t *testing.T, endpoint string, form url.Values, basicID, basicSecret string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// revoke revokes tok at endpoint as the public client clientID and requires
// RFC 7009 §2.2 success.
func revoke(t *testing.T, endpoint, clientID, tok, hint string) {
	t.Helper()
	form := url.Values{"client_id": {clientID}, "token": {tok}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	status, hdr, body := postForm(t, endpoint, form, "", "")
	if status != http.StatusOK || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("revocation: %d (Cache-Control %q) %s, want 200 no-store", status, hdr.Get("Cache-Control"), body)
	}
}

// introspect asks the server about tok as the resource-server client.
func (rs *revocationServer) introspect(t *testing.T, tok string) map[string]any {
	t.Helper()
	status, _, body := postForm(t, rs.meta.IntrospectionEndpoint, url.Values{"token": {tok}}, rsClientID, rsClientSecret)
	if status != http.StatusOK {
		t.Fatalf("introspection: %d %s", status, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("introspection body %s: %v", body, err)
	}
	return out
}

func wantIntrospectedInactive(t *testing.T, what string, got map[string]any) {
	t.Helper()
	if diff := cmp.Diff(map[string]any{"active": false}, got); diff != "" {
		t.Errorf("introspection of %s (-want +got):\n%s", what, diff)
	}
}

// TestRevocation drives RFC 7009 revocation and RFC 7662 introspection from
// outside with golang.org/x/oauth2 and the go-sdk client: a revoked access
// token is refused by the very next MCP request (401 invalid_token), a
// revoked refresh token ends its grant (invalid_grant, and its access token
// refused), and introspection reports each state.
func TestRevocation(t *testing.T) {
	t.Parallel()
	rs := startRevocationServer(t)
	ctx := t.Context()

	t.Run("metadata", func(t *testing.T) {
		want := revocationMetadata{
			RevocationEndpoint:                        strings.TrimSuffix(rs.mcpURL, "/mcp") + "/oauth/revoke",
			RevocationEndpointAuthMethodsSupported:    []string{"none", "client_secret_basic", "client_secret_post"},
			IntrospectionEndpoint:                     strings.TrimSuffix(rs.mcpURL, "/mcp") + "/oauth/introspect",
			IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		}
		if diff := cmp.Diff(want, rs.meta); diff != "" {
			t.Errorf("RFC 8414 metadata (-want +got):\n%s", diff)
		}
	})

	t.Run("access token", func(t *testing.T) {
		tok := authorizeAndExchange(t, ctx, rs.oauth, rs.mcpURL)
		cs, rec := connectWithToken(t, rs.mcpURL, tok)
		if _, err := cs.ListTools(ctx, nil); err != nil {
			t.Fatalf("tools/list before the revocation: %v", err)
		}
		active := rs.introspect(t, tok.AccessToken)
		if active["active"] != true || active["client_id"] != rs.oauth.ClientID || active["sub"] != testUser ||
			active["scope"] != scopeTools || active["token_type"] != "Bearer" || active["aud"] != rs.mcpURL {
			t.Errorf("introspection of an active access token: %v", active)
		}
		// A refresh token is described only to its own client.
		wantIntrospectedInactive(t, "another client's refresh token", rs.introspect(t, tok.RefreshToken))

		revoke(t, rs.meta.RevocationEndpoint, rs.oauth.ClientID, tok.AccessToken, "access_token")
		// The very next request of the open session is refused.
		rec.reset()
		if _, err := cs.ListTools(ctx, nil); err == nil {
			t.Fatal("tools/list with a revoked access token succeeded")
		}
		r, ok := rec.last(http.StatusUnauthorized)
		if !ok {
			t.Fatalf("no 401 after the revocation (responses %+v)", rec.resp)
		}
		if ch, _ := bearerChallenge(http.Header{"Www-Authenticate": r.WWWAuthenticate}); ch["error"] != "invalid_token" {
			t.Errorf("challenge %q, want error=invalid_token", r.WWWAuthenticate)
		}
		checkTokenRefused(t, ctx, rs.mcpURL, tok.AccessToken)
		wantIntrospectedInactive(t, "a revoked access token", rs.introspect(t, tok.AccessToken))

		// The grant lives on: its refresh token gives a new access token.
		next, err := refresh(ctx, rs.oauth, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh after revoking an access token: %v", err)
		}
		if got := mcpStatus(t, rs.mcpURL, next.AccessToken); got != http.StatusOK {
			t.Errorf("the new access token: %d, want 200", got)
		}
	})

	t.Run("refresh token", func(t *testing.T) {
		tok := authorizeAndExchange(t, ctx, rs.oauth, rs.mcpURL)
		if got := mcpStatus(t, rs.mcpURL, tok.AccessToken); got != http.StatusOK {
			t.Fatalf("before the revocation: %d", got)
		}
		revoke(t, rs.meta.RevocationEndpoint, rs.oauth.ClientID, tok.RefreshToken, "refresh_token")
		_, err := refresh(ctx, rs.oauth, tok.RefreshToken)
		checkRetrieveError(t, err, "invalid_grant")
		// RFC 7009 §2.1: the access tokens of the grant go with it.
		checkTokenRefused(t, ctx, rs.mcpURL, tok.AccessToken)
		wantIntrospectedInactive(t, "an access token of a revoked grant", rs.introspect(t, tok.AccessToken))
	})

	t.Run("unknown and expired", func(t *testing.T) {
		// Revoking garbage is not an error (RFC 7009 §2.2).
		revoke(t, rs.meta.RevocationEndpoint, rs.oauth.ClientID, "not-a-token", "")
		wantIntrospectedInactive(t, "garbage", rs.introspect(t, "not-a-token"))
		wantIntrospectedInactive(t, "a malformed JWT", rs.introspect(t, "eyJ.eyJ.sig"))
		tok := authorizeAndExchange(t, ctx, rs.oauth, rs.mcpURL)
		if got := rs.introspect(t, tok.AccessToken); got["active"] != true {
			t.Fatalf("a fresh access token: %v", got)
		}
		rs.clock.Advance(accessTokenTTL)
		wantIntrospectedInactive(t, "an expired access token", rs.introspect(t, tok.AccessToken))
		checkTokenRefused(t, ctx, rs.mcpURL, tok.AccessToken)
	})

	t.Run("introspection needs a confidential client", func(t *testing.T) {
		for name, req := range map[string]struct {
			form         url.Values
			id, password string
		}{
			"public client":  {form: url.Values{"token": {"x"}, "client_id": {rs.oauth.ClientID}}},
			"wrong secret":   {form: url.Values{"token": {"x"}}, id: rsClientID, password: "wrong"},
			"no credentials": {form: url.Values{"token": {"x"}}},
		} {
			status, hdr, body := postForm(t, rs.meta.IntrospectionEndpoint, req.form, req.id, req.password)
			if status != http.StatusUnauthorized || !strings.Contains(string(body), `"invalid_client"`) || hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: %d %s (WWW-Authenticate %q), want 401 invalid_client with a challenge", name, status, body, hdr.Get("WWW-Authenticate"))
			}
		}
	})
}

// TestRevocationAcrossInstances runs two instances on one file store: a
// revocation made at one is refused by the other within its poll interval
// (and by the first at once).
func TestRevocationAcrossInstances(t *testing.T) {
	ctx := context.Background()
	env := startInstances(t)
	_, asm, err := discover(ctx, env.mcpURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	var meta revocationMetadata
	if err := getJSON(ctx, strings.TrimSuffix(asm.Issuer, "/")+"/.well-known/oauth-authorization-server", &meta); err != nil {
		t.Fatal(err)
	}
	const redirect = "http://127.0.0.1:9/instances-callback"
	rc, err := registerClient(ctx, asm.RegistrationEndpoint, redirect)
	if err != nil {
		t.Fatal(err)
	}
	oc := &oauth2.Config{ClientID: rc.ClientID, RedirectURL: redirect, Scopes: []string{scopeTools},
		Endpoint: oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}}

	for _, kind := range []string{"access_token", "refresh_token"} {
		t.Run(kind, func(t *testing.T) {
			tok := authorizeAndExchange(t, ctx, oc, env.mcpURLs[0])
			env.servedEverywhere(t, tok.AccessToken)
			presented := tok.AccessToken
			if kind == "refresh_token" {
				presented = tok.RefreshToken
			}
			// The revocation endpoint is the first instance's (the
			// public URL): it refuses the token at once.
			revoke(t, meta.RevocationEndpoint, rc.ClientID, presented, kind)
			checkTokenRefused(t, ctx, env.mcpURLs[0], tok.AccessToken)
			// The second learns it from the store's revocation log.
			start := time.Now()
			env.refusedEverywhere(t, ctx, tok.AccessToken)
			t.Logf("second instance refused the token %v after the revocation", time.Since(start).Round(time.Millisecond))
		})
	}

	// Tokens of other grants are unaffected.
	tok := authorizeAndExchange(t, ctx, oc, env.mcpURLs[0])
	env.servedEverywhere(t, tok.AccessToken)
}
