package authserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/cimd"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
	"golang.org/x/oauth2"
)

// cimdClient is a client that publishes its Client ID Metadata Document on a
// real HTTPS server (httptest's self-signed certificate, which the fetcher
// is told to trust). The document can be changed between requests, and the
// server made to fail with a status (failWith). /missing.json is 404.
type cimdClient struct {
	ts       *httptest.Server
	id       string
	requests atomic.Int64
	failWith atomic.Int64
	mu       sync.Mutex
	doc      map[string]any
}

const cimdRedirect = "http://127.0.0.1/callback"

func newCIMDClient(t testing.TB) *cimdClient {
	t.Helper()
	c := &cimdClient{}
	c.ts = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		if status := c.failWith.Load(); status != 0 {
			http.Error(w, "unavailable", int(status))
			return
		}
		if r.URL.Path == "/missing.json" {
			http.NotFound(w, r)
			return
		}
		c.mu.Lock()
		b, _ := json.Marshal(c.doc)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write(b)
	}))
	t.Cleanup(c.ts.Close)
	c.id = c.ts.URL + "/oauth/client.json"
	c.doc = map[string]any{
		"client_id":                  c.id,
		"client_name":                `Acme <b>Agent</b>`,
		"redirect_uris":              []string{cimdRedirect},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_method": "none",
	}
	return c
}

func (c *cimdClient) set(name string, v any) {
	c.mu.Lock()
	c.doc[name] = v
	c.mu.Unlock()
}

// withCIMD turns on URL client ids in a harness, with a fetcher that trusts
// c's certificate and may connect to loopback, where c listens.
func withCIMD(t testing.TB, c *cimdClient) func(*Options) {
	return withCIMDOptions(t, c, nil)
}

// withCIMDOptions is withCIMD with the fetcher's options changed by mod.
func withCIMDOptions(t testing.TB, c *cimdClient, mod func(*cimd.Options)) func(*Options) {
	return func(o *Options) {
		fo := &cimd.Options{
			TLSConfig: c.ts.Client().Transport.(*http.Transport).TLSClientConfig,
			AllowAddr: func(a netip.Addr) bool { return a.IsLoopback() },
			Clock:     o.Clock,
		}
		if mod != nil {
			mod(fo)
		}
		f, err := cimd.New(fo)
		if err != nil {
			t.Fatal(err)
		}
		o.ClientMetadata = f
	}
}

// cimdParams is an authorization request of the URL client c.
func (h *browserHarness) cimdParams(c *cimdClient) url.Values {
	q := h.authzParams()
	q.Set("client_id", c.id)
	q.Set("redirect_uri", "http://127.0.0.1:5555/callback") // loopback: any port (RFC 8252 §7.3)
	return q
}

// The whole flow with a URL client id: authorize, login, a consent page that
// names the client and where it is identified, the code, and the token from
// golang.org/x/oauth2 as a public client.
func TestCIMDFlow(t *testing.T) {
	c := newCIMDClient(t)
	h := newBrowserHarness(t, false, func(o *Options) {
		withCIMD(t, c)(o)
		o.RefreshEnabled, o.RefreshTokenTTL = true, time.Hour
	})

	meta := h.get(h.browser, PathASMetadata)
	var m map[string]any
	if err := json.Unmarshal([]byte(meta.body), &m); err != nil || m["client_id_metadata_document_supported"] != true {
		t.Errorf("metadata client_id_metadata_document_supported = %v (%v); want true", m["client_id_metadata_document_supported"], err)
	}

	id, csrf := h.loggedIn(h.browser, h.cimdParams(c))
	page := h.get(h.browser, PathConsent+"?request="+id)
	docHost := strings.TrimPrefix(c.ts.URL, "https://")
	for _, s := range []string{"Acme &lt;b&gt;Agent&lt;/b&gt;", "Identified by", "<dd>" + docHost + "</dd>", "127.0.0.1:5555", c.id} {
		if !strings.Contains(page.body, s) {
			t.Errorf("consent page lacks %q", s)
		}
	}
	if strings.Contains(page.body, "<b>Agent") {
		t.Error("the client name from the document is not escaped")
	}
	got := clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), "http://127.0.0.1:5555/callback?")

	conf := &oauth2.Config{
		ClientID:    c.id,
		Endpoint:    oauth2.Endpoint{AuthURL: h.issuer + PathAuthorize, TokenURL: h.issuer + PathToken, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://127.0.0.1:5555/callback",
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, h.ts.Client())
	tok, err := conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(testVerifier))
	if err != nil {
		t.Fatalf("token exchange: %v", err)
	}
	v, err := token.NewVerifier(h.opts.Signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(tok.AccessToken, token.VerifyOptions{Issuer: h.issuer, Audience: h.resource, Now: h.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if claims.ClientID != c.id || claims.Subject != testUser {
		t.Errorf("access token client_id %q sub %q; want %q, %q", claims.ClientID, claims.Subject, c.id, testUser)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	// Refresh works as the same public client; the document was fetched
	// once (its max-age covers the whole flow).
	rt, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || rt.AccessToken == "" {
		t.Fatalf("refresh: %v", err)
	}
	if n := c.requests.Load(); n != 1 {
		t.Errorf("the document was fetched %d times; want 1", n)
	}
}

// At the token endpoint a URL client is public: a secret is refused, and a
// code issued to another client is not redeemed.
func TestCIMDTokenEndpoint(t *testing.T) {
	c := newCIMDClient(t)
	h := newBrowserHarness(t, false, withCIMD(t, c))
	id, csrf := h.loggedIn(h.browser, h.cimdParams(c))
	code := clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), "http://127.0.0.1:5555/callback?").Get("code")

	tokenReq := func(form url.Values, basic bool) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, h.issuer+PathToken, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(url.QueryEscape(c.id), "secret")
		}
		resp := h.do(h.ts.Client(), req)
		var m map[string]any
		json.Unmarshal([]byte(resp.body), &m)
		return resp.StatusCode, m
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1:5555/callback"}, "code_verifier": {testVerifier}}
	if status, m := tokenReq(form, true); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
		t.Errorf("URL client with a secret: %d %v; want 401 invalid_client", status, m)
	}
	// The code, issued to the URL client, presented by another client.
	other := url.Values{"client_id": {"app"}}
	for k, v := range form {
		other[k] = v
	}
	if status, m := tokenReq(other, false); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("another client's code: %d %v; want 400 invalid_grant", status, m)
	}
	// A URL client whose document is now unusable cannot authenticate.
	// (The document is cached: use a second URL on the same server.)
	bad := url.Values{"client_id": {c.ts.URL + "/other.json"}, "grant_type": {"refresh_token"}, "refresh_token": {"x.y"}}
	status, m := tokenReq(bad, false)
	if status != http.StatusUnauthorized || m["error"] != "invalid_client" || !strings.Contains(m["error_description"].(string), "does not equal the URL") {
		t.Errorf("URL client with a mismatched document: %d %v; want 401 invalid_client naming the mismatch", status, m)
	}
}

// A URL client whose document cannot be used gets an error page, never a
// redirect: its redirect URIs cannot be trusted.
func TestCIMDAuthorizeErrors(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(c *cimdClient, q url.Values)
		desc   string
		status int    // 0: 400
		code   string // "": invalid_request
	}{
		{"client_id mismatch", func(c *cimdClient, q url.Values) {
			c.set("client_id", c.id+"?v=2")
		}, "does not equal the URL", 0, ""},
		{"redirect not listed", func(c *cimdClient, q url.Values) {
			q.Set("redirect_uri", "https://attacker.example/cb")
		}, "redirect_uri is not registered", 0, ""},
		{"redirect omitted with two listed", func(c *cimdClient, q url.Values) {
			c.set("redirect_uris", []string{cimdRedirect, "https://app.example/cb"})
			q.Del("redirect_uri")
		}, "redirect_uri is required", 0, ""},
		{"document without redirect_uris", func(c *cimdClient, q url.Values) {
			c.set("redirect_uris", nil)
		}, "redirect_uris is required", 0, ""},
		{"confidential document", func(c *cimdClient, q url.Values) {
			c.set("token_endpoint_auth_method", "client_secret_post")
		}, "shared secret", 0, ""},
		{"not a valid client identifier URL", func(c *cimdClient, q url.Values) {
			q.Set("client_id", c.id+"#frag")
		}, "fragment", 0, ""},
		{"document host unreachable", func(c *cimdClient, q url.Values) {
			q.Set("client_id", "https://127.0.0.1:1/client.json") // nothing listens on port 1
		}, "try again later", http.StatusServiceUnavailable, "temporarily_unavailable"},
		{"document not found", func(c *cimdClient, q url.Values) {
			q.Set("client_id", c.ts.URL+"/missing.json")
		}, "status 404", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCIMDClient(t)
			h := newBrowserHarness(t, false, withCIMD(t, c))
			q := h.cimdParams(c)
			tt.mod(c, q)
			resp := h.authorize(h.browser, q)
			status, code := http.StatusBadRequest, "invalid_request"
			if tt.status != 0 {
				status, code = tt.status, tt.code
			}
			wantErrorPage(t, resp, status, code)
			if !strings.Contains(resp.body, tt.desc) {
				t.Errorf("error page does not say %q:\n%s", tt.desc, resp.body)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("a refused request set cookies %v", resp.Cookies())
			}
		})
	}
}

// Without a ClientMetadata resolver a URL client id is an unknown client, and
// the metadata does not advertise support.
func TestCIMDDisabled(t *testing.T) {
	c := newCIMDClient(t)
	h := newBrowserHarness(t, false, nil)
	resp := h.authorize(h.browser, h.cimdParams(c))
	wantErrorPage(t, resp, http.StatusBadRequest, "invalid_request")
	if !strings.Contains(resp.body, "is not registered") {
		t.Errorf("error page:\n%s", resp.body)
	}
	if n := c.requests.Load(); n != 0 {
		t.Errorf("the document was fetched %d times with CIMD off", n)
	}
	if strings.Contains(h.get(h.browser, PathASMetadata).body, "client_id_metadata_document_supported") {
		t.Error("metadata advertises client_id_metadata_document_supported with CIMD off")
	}
}

// A pre-registered client keeps its URL-shaped id: it is not resolved
// through a document.
func TestCIMDPreRegisteredWins(t *testing.T) {
	c := newCIMDClient(t)
	h := newBrowserHarness(t, false, func(o *Options) {
		withCIMD(t, c)(o)
		o.Clients = append(o.Clients, &store.Client{ID: c.id, Name: "Configured", RedirectURIs: []string{"https://configured.example/cb"}, TokenEndpointAuthMethod: "none"})
	})
	q := h.cimdParams(c)
	q.Set("redirect_uri", "https://configured.example/cb")
	id, csrf := h.loggedIn(h.browser, q)
	page := h.get(h.browser, PathConsent+"?request="+id)
	if !strings.Contains(page.body, "Configured") || strings.Contains(page.body, "Identified by") {
		t.Errorf("consent page of a pre-registered client:\n%s", page.body)
	}
	clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), "https://configured.example/cb?")
	if n := c.requests.Load(); n != 0 {
		t.Errorf("the document was fetched %d times for a pre-registered id", n)
	}
}

// publicClientPost posts form to path as a public client (no
// Authorization header) and returns the status, Retry-After and the decoded
// JSON body.
func (h *browserHarness) publicClientPost(path string, form url.Values) (int, string, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := h.do(h.ts.Client(), req)
	var m map[string]any
	json.Unmarshal([]byte(resp.body), &m)
	return resp.StatusCode, resp.Header.Get("Retry-After"), m
}

// A URL client whose document host has an outage keeps working from the
// copy fetched before (stale-if-error) for up to CacheMax after that fetch.
// Beyond it, the outage is 503 temporarily_unavailable at the token,
// revocation and introspection endpoints, never 401 invalid_client (on
// which MCP clients drop their credentials), and an error page asking to
// try again at the authorization endpoint.
func TestCIMDDocumentOutage(t *testing.T) {
	c := newCIMDClient(t) // max-age=600
	h := newBrowserHarness(t, false, func(o *Options) {
		withCIMDOptions(t, c, func(fo *cimd.Options) { fo.CacheMax = 30 * time.Minute })(o)
		o.RefreshEnabled, o.RefreshTokenTTL = true, time.Hour
	})
	id, csrf := h.loggedIn(h.browser, h.cimdParams(c))
	code := clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), "http://127.0.0.1:5555/callback?").Get("code")
	status, _, m := h.publicClientPost(PathToken, url.Values{"client_id": {c.id}, "grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://127.0.0.1:5555/callback"}, "code_verifier": {testVerifier}})
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, m)
	}
	rt := m["refresh_token"].(string)

	// The document host goes away after the cached copy expired.
	c.ts.CloseClientConnections()
	c.ts.Config.SetKeepAlivesEnabled(false)
	c.ts.Listener.Close()
	h.clock.Advance(11 * time.Minute)
	status, _, m = h.publicClientPost(PathToken, url.Values{"client_id": {c.id}, "grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if status != http.StatusOK {
		t.Fatalf("refresh during the outage, copy 11 min old: %d %v; want 200 from the copy", status, m)
	}
	rt = m["refresh_token"].(string)

	// Past CacheMax the copy is not used.
	h.clock.Advance(20 * time.Minute)
	status, _, m = h.publicClientPost(PathToken, url.Values{"client_id": {c.id}, "grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if status != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" {
		t.Errorf("token endpoint, copy too old: %d %v; want 503 temporarily_unavailable", status, m)
	}
	for _, path := range []string{PathRevoke, PathIntrospect} {
		status, retry, m := h.publicClientPost(path, url.Values{"client_id": {c.id}, "token": {rt}})
		if status != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" || retry == "" {
			t.Errorf("%s: %d %v Retry-After %q; want 503 temporarily_unavailable with Retry-After", path, status, m, retry)
		}
	}
	resp := h.authorize(h.browser, h.cimdParams(c))
	wantErrorPage(t, resp, http.StatusServiceUnavailable, "temporarily_unavailable")
	if !strings.Contains(resp.body, "try again") {
		t.Errorf("error page does not ask to try again:\n%s", resp.body)
	}
	// Nothing was revoked: the grant is intact for when the host is back.
	gs := h.grantsOf(c.id)
	if len(gs) != 1 || !gs[0].RevokedAt.IsZero() {
		t.Errorf("grants after the outage: %+v; want one active grant", gs)
	}
}

// A host answering 5xx is a temporary failure too, and it is not
// remembered: once the host is back, the next request succeeds. A document
// error is still invalid_client.
func TestCIMDDocumentServerError(t *testing.T) {
	c := newCIMDClient(t)
	h := newBrowserHarness(t, false, func(o *Options) {
		withCIMD(t, c)(o)
		o.RefreshEnabled, o.RefreshTokenTTL = true, time.Hour
	})
	c.failWith.Store(http.StatusBadGateway)
	form := url.Values{"client_id": {c.id}, "grant_type": {"refresh_token"}, "refresh_token": {"x.y"}}
	if status, _, m := h.publicClientPost(PathToken, form); status != http.StatusServiceUnavailable || m["error"] != "temporarily_unavailable" {
		t.Errorf("document host answering 502: %d %v; want 503 temporarily_unavailable", status, m)
	}
	c.failWith.Store(0)
	if status, _, m := h.publicClientPost(PathToken, form); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("host back: %d %v; want the client authenticated (400 invalid_grant for the bogus refresh token)", status, m)
	}
	missing := url.Values{"client_id": {c.ts.URL + "/missing.json"}, "grant_type": {"refresh_token"}, "refresh_token": {"x.y"}}
	if status, _, m := h.publicClientPost(PathToken, missing); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
		t.Errorf("document 404: %d %v; want 401 invalid_client", status, m)
	}
}
