package authserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
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
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/crypto/bcrypt"
)

// The users and clients of the browser-flow tests.
const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
	testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B
	testState    = "xyz state/with?chars&=ok"
)

var testChallenge = func() string {
	sum := sha256.Sum256([]byte(testVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

// browserHarness is a real authorization server on loopback with a memstore,
// a real signer and a user list, and a cookie-keeping HTTP client that does
// not follow redirects (so each step of the browser flow is checked).
type browserHarness struct {
	t        testing.TB
	srv      *Server
	ts       *httptest.Server
	store    *memstore.Store
	clock    *testclock.Clock
	opts     Options
	issuer   string
	resource string
	browser  *http.Client
}

// newBrowserHarness starts a server; mod may change the options before New.
func newBrowserHarness(t testing.TB, tlsServer bool, mod func(*Options)) *browserHarness {
	t.Helper()
	mux := http.NewServeMux()
	var ts *httptest.Server
	if tlsServer {
		ts = httptest.NewTLSServer(mux)
	} else {
		ts = httptest.NewServer(mux)
	}
	t.Cleanup(ts.Close)
	clock := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	key, err := token.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner(key, &token.SignerOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users, err := NewUserList([]User{{Username: testUser, PasswordHash: string(hash), Claims: map[string]any{"email": "alice@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateClient(context.Background(), &store.Client{
		ID: "dyn", Name: `<script>alert("x")</script> Helper`, Dynamic: true,
		RedirectURIs: []string{"http://127.0.0.1/cb"}, TokenEndpointAuthMethod: "none",
	}); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Issuer:        ts.URL,
		Resource:      ts.URL + "/mcp",
		Store:         st,
		Signer:        signer,
		Authenticator: users,
		Clients: []*store.Client{
			{ID: "app", Name: "Example App", RedirectURIs: []string{"https://app.example/cb?tenant=1", "http://127.0.0.1/callback"}, TokenEndpointAuthMethod: "none"},
			{ID: "single", RedirectURIs: []string{"https://single.example/cb"}, TokenEndpointAuthMethod: "none"},
			{ID: "scoped", RedirectURIs: []string{"https://scoped.example/cb"}, Scopes: []string{"tools:read"}, TokenEndpointAuthMethod: "none"},
			{ID: "refresh-only", RedirectURIs: []string{"https://ro.example/cb"}, GrantTypes: []string{"refresh_token"}, TokenEndpointAuthMethod: "none"},
			{ID: "native", RedirectURIs: []string{"com.example.app:/oauth"}, TokenEndpointAuthMethod: "none"},
		},
		Scopes:         []string{"tools:read", "tools:write"},
		Consent:        true,
		AccessTokenTTL: time.Hour,
		GrantLifetime:  24 * time.Hour,
		ServerName:     "Test MCP",
		Clock:          clock.Now,
	}
	if mod != nil {
		mod(&opts)
	}
	srv, err := New(&opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(mux)
	h := &browserHarness{t: t, srv: srv, ts: ts, store: st, clock: clock, opts: opts, issuer: opts.Issuer, resource: opts.Resource}
	h.browser = h.newBrowser()
	return h
}

// newBrowser returns a client with its own cookie jar that stops at redirects.
func (h *browserHarness) newBrowser() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Transport:     h.ts.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// authzParams is a valid authorization request of client "app".
func (h *browserHarness) authzParams() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {"app"},
		"redirect_uri":          {"https://app.example/cb?tenant=1"},
		"state":                 {testState},
		"code_challenge":        {testChallenge},
		"code_challenge_method": {"S256"},
		"scope":                 {"tools:read"},
		"resource":              {h.resource},
	}
}

// response is a fully read response.
type response struct {
	*http.Response
	body string
}

func (h *browserHarness) do(c *http.Client, req *http.Request) response {
	h.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (h *browserHarness) get(c *http.Client, pathAndQuery string) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.ts.URL+pathAndQuery, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(c, req)
}

func (h *browserHarness) post(c *http.Client, path string, form url.Values) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return h.do(c, req)
}

func (h *browserHarness) authorize(c *http.Client, q url.Values) response {
	h.t.Helper()
	return h.get(c, PathAuthorize+"?"+q.Encode())
}

var (
	reCSRF    = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	reRequest = regexp.MustCompile(`name="request" value="([^"]*)"`)
	reNonce   = regexp.MustCompile(`<style nonce="([^"]+)">`)
)

// formFields extracts the hidden request and csrf fields of a page.
func formFields(t testing.TB, body string) (id, csrf string) {
	t.Helper()
	m1, m2 := reRequest.FindStringSubmatch(body), reCSRF.FindStringSubmatch(body)
	if m1 == nil || m2 == nil {
		t.Fatalf("page has no request/csrf fields:\n%s", body)
	}
	return html.UnescapeString(m1[1]), html.UnescapeString(m2[1])
}

// startLogin sends a valid authorization request and returns the login form.
func (h *browserHarness) startLogin(c *http.Client, q url.Values) (id, csrf string) {
	h.t.Helper()
	resp := h.authorize(c, q)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.body, `name="password"`) {
		h.t.Fatalf("authorize: status %d, want the login page:\n%s", resp.StatusCode, resp.body)
	}
	checkPageHeaders(h.t, resp)
	return formFields(h.t, resp.body)
}

func (h *browserHarness) login(c *http.Client, id, csrf, user, pw string) response {
	h.t.Helper()
	return h.post(c, PathLogin, url.Values{"request": {id}, "csrf": {csrf}, "username": {user}, "password": {pw}})
}

func (h *browserHarness) consent(c *http.Client, id, csrf, decision string) response {
	h.t.Helper()
	return h.post(c, PathConsent, url.Values{"request": {id}, "csrf": {csrf}, "consent": {decision}})
}

// loggedIn runs authorize and login and returns the consent form.
func (h *browserHarness) loggedIn(c *http.Client, q url.Values) (id, csrf string) {
	h.t.Helper()
	id, csrf = h.startLogin(c, q)
	resp := h.login(c, id, csrf, testUser, testPassword)
	wantLocation(h.t, resp, PathConsent+"?request="+id)
	page := h.get(c, PathConsent+"?request="+url.QueryEscape(id))
	if page.StatusCode != http.StatusOK {
		h.t.Fatalf("consent page: status %d:\n%s", page.StatusCode, page.body)
	}
	checkPageHeaders(h.t, page)
	return formFields(h.t, page.body)
}

func (h *browserHarness) pending(id string) *store.PendingAuthorization {
	h.t.Helper()
	p, err := h.store.GetPending(context.Background(), id)
	if err != nil {
		h.t.Fatalf("GetPending: %v", err)
	}
	return p
}

// checkPageHeaders asserts the security headers of every page and redirect.
func checkPageHeaders(t testing.TB, resp response) {
	t.Helper()
	h := resp.Header
	for name, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q; want %q", name, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		m := reNonce.FindStringSubmatch(resp.body)
		if m == nil || !strings.Contains(csp, "style-src 'nonce-"+m[1]+"'") {
			t.Errorf("the page's <style> nonce is not the one the CSP %q allows", csp)
		}
		for _, bad := range []string{"<script", "unsafe-inline", "unsafe-eval"} {
			if strings.Contains(resp.body, bad) || strings.Contains(csp, bad) {
				t.Errorf("page or CSP contains %q", bad)
			}
		}
	}
}

// wantLocation asserts a 303 to exactly loc (a path on the server or a URL).
func wantLocation(t testing.TB, resp response, loc string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d; want 303 to %s:\n%s", resp.StatusCode, loc, resp.body)
	}
	got, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	got.RawQuery, want.RawQuery = got.Query().Encode(), want.Query().Encode()
	if got.String() != want.String() {
		t.Fatalf("Location = %s; want %s", got, want)
	}
	checkPageHeaders(t, resp)
}

// clientRedirect asserts a 303 to the client redirect URI prefix and returns
// the response parameters. prefix must include the redirect URI's own query
// and the separator that follows it, such as "https://app.example/cb?tenant=1&".
func clientRedirect(t testing.TB, resp response, prefix string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d; want 303 to the client:\n%s", resp.StatusCode, resp.body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, prefix) {
		t.Fatalf("Location = %s; want it to start with %s", loc, prefix)
	}
	checkPageHeaders(t, resp)
	q, err := url.ParseQuery(loc[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// wantErrorPage asserts the HTML error page with status and error code.
func wantErrorPage(t testing.TB, resp response, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d; want %d (error page %s):\n%s", resp.StatusCode, status, code, resp.body)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Fatalf("error page redirects to %s", loc)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("Content-Type = %q; want text/html", resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(resp.body, "<code>"+code+"</code>") {
		t.Fatalf("error page does not name %s:\n%s", code, resp.body)
	}
	checkPageHeaders(t, resp)
}

// Errors found before the client and its redirect URI are established are
// shown at the server and never redirected (RFC 6749 §4.1.2.1).
func TestAuthorizeErrorPage(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	tests := []struct {
		name string
		mod  func(q url.Values)
	}{
		{"missing client_id", func(q url.Values) { q.Del("client_id") }},
		{"unknown client_id", func(q url.Values) { q.Set("client_id", "nobody") }},
		{"missing redirect_uri with several registered", func(q url.Values) { q.Del("redirect_uri") }},
		{"unregistered redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }},
		{"redirect_uri without the registered query", func(q url.Values) { q.Set("redirect_uri", "https://app.example/cb") }},
		{"redirect_uri with a fragment", func(q url.Values) { q.Set("redirect_uri", "https://app.example/cb?tenant=1#x") }},
		{"redirect_uri with another path", func(q url.Values) { q.Set("redirect_uri", "https://app.example/cb/../x?tenant=1") }},
		{"localhost gets no loopback port exception", func(q url.Values) { q.Set("redirect_uri", "http://localhost:5555/callback") }},
		{"loopback with another path", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:5555/other") }},
		{"loopback over https", func(q url.Values) { q.Set("redirect_uri", "https://127.0.0.1:5555/callback") }},
		{"repeated client_id", func(q url.Values) { q.Add("client_id", "app") }},
		{"repeated redirect_uri", func(q url.Values) { q.Add("redirect_uri", "https://evil.example/cb") }},
		{"repeated state", func(q url.Values) { q.Add("state", "other") }},
		{"repeated code_challenge", func(q url.Values) { q.Add("code_challenge", testChallenge) }},
		{"bad redirect with a bad response_type too", func(q url.Values) {
			q.Set("redirect_uri", "https://evil.example/cb")
			q.Set("response_type", "token")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := h.authzParams()
			tt.mod(q)
			resp := h.authorize(h.newBrowser(), q)
			wantErrorPage(t, resp, http.StatusBadRequest, "invalid_request")
			if c := resp.Header.Get("Set-Cookie"); c != "" {
				t.Errorf("error page sets a cookie: %s", c)
			}
		})
	}
	t.Run("method", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, h.ts.URL+PathAuthorize, nil)
		resp := h.do(h.newBrowser(), req)
		wantErrorPage(t, resp, http.StatusMethodNotAllowed, "invalid_request")
		if got := resp.Header.Get("Allow"); got != "GET, POST" {
			t.Errorf("Allow = %q", got)
		}
	})
}

// Once the client and redirect URI are valid, errors go to the client with
// error, state (when given) and iss (RFC 6749 §4.1.2.1, RFC 9207 §2).
func TestAuthorizeRedirectErrors(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	tests := []struct {
		name      string
		mod       func(q url.Values)
		prefix    string // redirect prefix; default the app's first URI
		wantCode  string
		wantState bool
	}{
		{"response_type token", func(q url.Values) { q.Set("response_type", "token") }, "", "unsupported_response_type", true},
		{"response_type code id_token", func(q url.Values) { q.Set("response_type", "code id_token") }, "", "unsupported_response_type", true},
		{"missing response_type", func(q url.Values) { q.Del("response_type") }, "", "invalid_request", true},
		{"missing state", func(q url.Values) { q.Del("state") }, "", "invalid_request", false},
		{"empty state", func(q url.Values) { q.Set("state", "") }, "", "invalid_request", false},
		{"missing code_challenge", func(q url.Values) { q.Del("code_challenge") }, "", "invalid_request", true},
		{"missing code_challenge_method", func(q url.Values) { q.Del("code_challenge_method") }, "", "invalid_request", true},
		{"plain PKCE", func(q url.Values) {
			q.Set("code_challenge_method", "plain")
			q.Set("code_challenge", testVerifier)
		}, "", "invalid_request", true},
		{"short code_challenge", func(q url.Values) { q.Set("code_challenge", testChallenge[:42]) }, "", "invalid_request", true},
		{"code_challenge with bad characters", func(q url.Values) { q.Set("code_challenge", testChallenge[:42]+"=") }, "", "invalid_request", true},
		{"unknown scope", func(q url.Values) { q.Set("scope", "tools:read admin") }, "", "invalid_scope", true},
		{"malformed scope", func(q url.Values) { q.Set("scope", `tools:read "quoted"`) }, "", "invalid_scope", true},
		{"wrong resource", func(q url.Values) { q.Set("resource", "https://other.example/mcp") }, "", "invalid_target", true},
		{"resource of another path", func(q url.Values) { q.Set("resource", h.resource+"/x") }, "", "invalid_target", true},
		{"resource not a URI", func(q url.Values) { q.Set("resource", "mcp") }, "", "invalid_target", true},
		{"second resource", func(q url.Values) { q.Add("resource", "https://other.example/mcp") }, "", "invalid_target", true},
		{"response_mode fragment", func(q url.Values) { q.Set("response_mode", "fragment") }, "", "invalid_request", true},
		{"request object", func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, "", "request_not_supported", true},
		{"request_uri", func(q url.Values) { q.Set("request_uri", "urn:ietf:params:oauth:request_uri:x") }, "", "request_uri_not_supported", true},
		{"client without the code grant", func(q url.Values) {
			q.Set("client_id", "refresh-only")
			q.Del("redirect_uri")
		}, "https://ro.example/cb?", "unauthorized_client", true},
		{"scope outside the client's registered scope", func(q url.Values) {
			q.Set("client_id", "scoped")
			q.Set("redirect_uri", "https://scoped.example/cb")
			q.Set("scope", "tools:write")
		}, "https://scoped.example/cb?", "invalid_scope", true},
		{"loopback redirect keeps the presented port", func(q url.Values) {
			q.Set("redirect_uri", "http://127.0.0.1:49152/callback")
			q.Set("response_type", "token")
		}, "http://127.0.0.1:49152/callback?", "unsupported_response_type", true},
		{"private-use scheme redirect", func(q url.Values) {
			q.Set("client_id", "native")
			q.Set("redirect_uri", "com.example.app:/oauth")
			q.Del("state")
		}, "com.example.app:/oauth?", "invalid_request", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := h.authzParams()
			tt.mod(q)
			prefix := tt.prefix
			if prefix == "" {
				prefix = "https://app.example/cb?tenant=1&"
			}
			resp := h.authorize(h.newBrowser(), q)
			got := clientRedirect(t, resp, prefix)
			if got.Get("error") != tt.wantCode || got.Get("error_description") == "" {
				t.Errorf("error = %q (%q); want %s with a description", got.Get("error"), got.Get("error_description"), tt.wantCode)
			}
			if got.Get("iss") != h.issuer {
				t.Errorf("iss = %q; want %q", got.Get("iss"), h.issuer)
			}
			if _, has := got["state"]; has != tt.wantState || (has && got.Get("state") != testState) {
				t.Errorf("state = %q (present %v); want %q present %v", got.Get("state"), has, testState, tt.wantState)
			}
			if _, has := got["code"]; has {
				t.Error("an error response carries a code")
			}
			if c := resp.Header.Get("Set-Cookie"); c != "" {
				t.Errorf("error redirect sets a cookie: %s", c)
			}
		})
	}
}

// Valid requests are stored as pending authorizations and show the login page.
func TestAuthorizeAccepts(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	tests := []struct {
		name     string
		mod      func(q url.Values)
		post     bool
		want     store.PendingAuthorization // compared without ID, CSRFHash
		wantHost string                     // redirect host shown on the login page
		wantName string
	}{
		{
			name:     "complete request",
			mod:      func(url.Values) {},
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "https://app.example/cb?tenant=1", Scopes: []string{"tools:read"}},
			wantHost: "app.example", wantName: "Example App",
		},
		{
			name:     "POST form",
			mod:      func(url.Values) {},
			post:     true,
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "https://app.example/cb?tenant=1", Scopes: []string{"tools:read"}},
			wantHost: "app.example", wantName: "Example App",
		},
		{
			name:     "loopback redirect on any port",
			mod:      func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:49152/callback") },
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "http://127.0.0.1:49152/callback", Scopes: []string{"tools:read"}},
			wantHost: "127.0.0.1:49152", wantName: "Example App",
		},
		{
			name: "redirect_uri omitted with one registered",
			mod: func(q url.Values) {
				q.Set("client_id", "single")
				q.Del("redirect_uri")
			},
			want:     store.PendingAuthorization{ClientID: "single", RedirectURI: "https://single.example/cb", Scopes: []string{"tools:read"}},
			wantHost: "single.example", wantName: "single",
		},
		{
			name:     "resource omitted is bound to the server's resource",
			mod:      func(q url.Values) { q.Del("resource") },
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "https://app.example/cb?tenant=1", Scopes: []string{"tools:read"}},
			wantHost: "app.example", wantName: "Example App",
		},
		{
			name:     "resource in another canonical spelling",
			mod:      func(q url.Values) { q.Set("resource", strings.Replace(h.resource, "http://", "HTTP://", 1)) },
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "https://app.example/cb?tenant=1", Scopes: []string{"tools:read"}},
			wantHost: "app.example", wantName: "Example App",
		},
		{
			name:     "resource repeated with the same value",
			mod:      func(q url.Values) { q.Add("resource", h.resource) },
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "https://app.example/cb?tenant=1", Scopes: []string{"tools:read"}},
			wantHost: "app.example", wantName: "Example App",
		},
		{
			name:     "scope omitted means every offered scope",
			mod:      func(q url.Values) { q.Del("scope") },
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "https://app.example/cb?tenant=1", Scopes: []string{"tools:read", "tools:write"}},
			wantHost: "app.example", wantName: "Example App",
		},
		{
			name: "scope omitted means the client's registered scope",
			mod: func(q url.Values) {
				q.Set("client_id", "scoped")
				q.Set("redirect_uri", "https://scoped.example/cb")
				q.Del("scope")
			},
			want:     store.PendingAuthorization{ClientID: "scoped", RedirectURI: "https://scoped.example/cb", Scopes: []string{"tools:read"}},
			wantHost: "scoped.example", wantName: "scoped",
		},
		{
			name:     "duplicate scopes collapse",
			mod:      func(q url.Values) { q.Set("scope", "tools:write  tools:read tools:write") },
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "https://app.example/cb?tenant=1", Scopes: []string{"tools:write", "tools:read"}},
			wantHost: "app.example", wantName: "Example App",
		},
		{
			name:     "unknown extra parameters are ignored",
			mod:      func(q url.Values) { q.Set("prompt", "consent"); q.Set("nonce", "n") },
			want:     store.PendingAuthorization{ClientID: "app", RedirectURI: "https://app.example/cb?tenant=1", Scopes: []string{"tools:read"}},
			wantHost: "app.example", wantName: "Example App",
		},
		{
			name: "dynamic client",
			mod: func(q url.Values) {
				q.Set("client_id", "dyn")
				q.Set("redirect_uri", "http://127.0.0.1:7777/cb")
			},
			want:     store.PendingAuthorization{ClientID: "dyn", RedirectURI: "http://127.0.0.1:7777/cb", Scopes: []string{"tools:read"}},
			wantHost: "127.0.0.1:7777", wantName: `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Helper`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := h.authzParams()
			tt.mod(q)
			c := h.newBrowser()
			var resp response
			if tt.post {
				resp = h.post(c, PathAuthorize, q)
			} else {
				resp = h.authorize(c, q)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d; want the login page:\n%s", resp.StatusCode, resp.body)
			}
			checkPageHeaders(t, resp)
			for _, s := range []string{tt.wantName, tt.wantHost, "Test MCP", `action="/oauth/login"`, `autocomplete="current-password"`} {
				if !strings.Contains(resp.body, s) {
					t.Errorf("login page lacks %q", s)
				}
			}
			if strings.Contains(resp.body, "<script") {
				t.Error("a client name reached the page unescaped")
			}
			id, csrf := formFields(t, resp.body)
			p := h.pending(id)
			if !token.CheckSecret(csrf, p.CSRFHash) {
				t.Error("the form's csrf does not hash to the stored CSRFHash")
			}
			want := tt.want
			want.ID = id
			want.State = testState
			want.CodeChallenge, want.CodeChallengeMethod = testChallenge, "S256"
			want.Resource = h.resource
			want.CreatedAt = h.clock.Now()
			want.ExpiresAt = h.clock.Now().Add(PendingTTL)
			if diff := cmp.Diff(&want, p, cmpopts.IgnoreFields(store.PendingAuthorization{}, "CSRFHash")); diff != "" {
				t.Errorf("pending (-want +got):\n%s", diff)
			}
			if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self' "+cspSource(want.RedirectURI)+";") {
				t.Errorf("CSP %q does not allow the redirect origin in form-action", resp.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

// The binding cookie: __Host- and Secure on https, plain on http; always
// HttpOnly, SameSite=Lax, Path=/, lives as long as the pending request.
func TestAuthorizeCookie(t *testing.T) {
	for _, tt := range []struct {
		tls    bool
		name   string
		secure bool
	}{
		{false, "frontmcp-authz", false},
		{true, "__Host-frontmcp-authz", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newBrowserHarness(t, tt.tls, nil)
			resp := h.authorize(h.browser, h.authzParams())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			cookies := resp.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies = %v; want one", cookies)
			}
			c := cookies[0]
			got := struct {
				Name     string
				Path     string
				Domain   string
				MaxAge   int
				Secure   bool
				HttpOnly bool
				SameSite http.SameSite
			}{c.Name, c.Path, c.Domain, c.MaxAge, c.Secure, c.HttpOnly, c.SameSite}
			want := got
			want.Name, want.Path, want.Domain, want.MaxAge, want.Secure, want.HttpOnly, want.SameSite = tt.name, "/", "", 600, tt.secure, true, http.SameSiteLaxMode
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cookie (-want +got):\n%s", diff)
			}
			// The flow completes over TLS too.
			id, csrf := formFields(t, resp.body)
			wantLocation(t, h.login(h.browser, id, csrf, testUser, testPassword), PathConsent+"?request="+id)
		})
	}
}

func TestFlowConsentApprove(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	q := h.authzParams()
	q.Set("scope", "tools:read tools:write")
	id, csrf := h.startLogin(h.browser, q)

	// Consent is only reachable after login.
	wantLocation(t, h.get(h.browser, PathConsent+"?request="+id), PathLogin+"?request="+id)

	resp := h.login(h.browser, id, csrf, testUser, testPassword)
	wantLocation(t, resp, PathConsent+"?request="+id)
	p := h.pending(id)
	if p.Subject != testUser || !p.AuthTime.Equal(h.clock.Now()) || p.Claims["email"] != "alice@example.com" {
		t.Errorf("pending after login: subject %q auth_time %v claims %v", p.Subject, p.AuthTime, p.Claims)
	}

	page := h.get(h.browser, PathConsent+"?request="+id)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("consent page status %d", page.StatusCode)
	}
	checkPageHeaders(t, page)
	for _, s := range []string{"Example App", "app.example", "<code>tools:read</code>", "<code>tools:write</code>", h.resource, testUser, `name="consent" value="approve"`, `name="consent" value="deny"`, `action="/oauth/consent"`} {
		if !strings.Contains(page.body, s) {
			t.Errorf("consent page lacks %q", s)
		}
	}
	if strings.Contains(page.body, "registered itself") {
		t.Error("a pre-registered client is marked as self-registered")
	}
	if !strings.Contains(page.Header.Get("Content-Security-Policy"), "form-action 'self' https://app.example;") {
		t.Errorf("consent CSP %q does not allow the redirect to the client", page.Header.Get("Content-Security-Policy"))
	}
	fid, fcsrf := formFields(t, page.body)
	if fid != id || fcsrf != csrf {
		t.Errorf("consent form fields = %q, %q; want the request's", fid, fcsrf)
	}

	issuedAt := h.clock.Now()
	resp = h.consent(h.browser, id, csrf, "approve")
	got := clientRedirect(t, resp, "https://app.example/cb?tenant=1&")
	raw := got.Get("code")
	if len(raw) != token.SecretLen {
		t.Fatalf("code %q is not a 256-bit secret", raw)
	}
	wantParams := url.Values{"code": {raw}, "state": {testState}, "iss": {h.issuer}}
	if diff := cmp.Diff(wantParams, got); diff != "" {
		t.Errorf("authorization response (-want +got):\n%s", diff)
	}
	code, err := h.store.ConsumeCode(context.Background(), token.Hash(raw))
	if err != nil {
		t.Fatalf("the code is not stored under its hash: %v", err)
	}
	want := &store.AuthCode{
		Hash:                token.Hash(raw),
		ClientID:            "app",
		RedirectURI:         "https://app.example/cb?tenant=1",
		CodeChallenge:       testChallenge,
		CodeChallengeMethod: "S256",
		Resource:            h.resource,
		Scopes:              []string{"tools:read", "tools:write"},
		Subject:             testUser,
		Claims:              store.Claims{"email": "alice@example.com"},
		AuthTime:            issuedAt,
		ExpiresAt:           issuedAt.Add(CodeTTL),
	}
	if diff := cmp.Diff(want, code, cmpopts.IgnoreFields(store.AuthCode{}, "GrantID")); diff != "" {
		t.Errorf("stored code (-want +got):\n%s", diff)
	}
	if !token.ValidGrantID(code.GrantID) {
		t.Errorf("GrantID %q is not a valid grant id", code.GrantID)
	}
	if _, err := h.store.GetPending(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pending after completion: err = %v; want ErrNotFound", err)
	}
	// The completed request leaves the cookie (deleted: it was the only one).
	if c := resp.Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("cookies after completion = %v; want the binding cookie deleted", c)
	}
	// A second submission of the same form does not issue another code.
	wantErrorPage(t, h.consent(h.browser, id, csrf, "approve"), http.StatusBadRequest, "invalid_request")
}

func TestFlowConsentDeny(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	id, csrf := h.loggedIn(h.browser, h.authzParams())
	got := clientRedirect(t, h.consent(h.browser, id, csrf, "deny"), "https://app.example/cb?tenant=1&")
	want := url.Values{"error": {"access_denied"}, "error_description": {"the user denied the request"}, "state": {testState}, "iss": {h.issuer}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deny response (-want +got):\n%s", diff)
	}
	if _, err := h.store.GetPending(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pending after deny: err = %v; want ErrNotFound", err)
	}
	// Approving after denying does nothing.
	wantErrorPage(t, h.consent(h.browser, id, csrf, "approve"), http.StatusBadRequest, "invalid_request")
}

func TestFlowWithoutConsent(t *testing.T) {
	h := newBrowserHarness(t, false, func(o *Options) { o.Consent = false })
	q := h.authzParams()
	q.Set("client_id", "native")
	q.Set("redirect_uri", "com.example.app:/oauth")
	id, csrf := h.startLogin(h.browser, q)
	resp := h.login(h.browser, id, csrf, testUser, testPassword)
	got := clientRedirect(t, resp, "com.example.app:/oauth?")
	if got.Get("state") != testState || got.Get("iss") != h.issuer || len(got.Get("code")) != token.SecretLen {
		t.Fatalf("response = %v", got)
	}
	code, err := h.store.ConsumeCode(context.Background(), token.Hash(got.Get("code")))
	if err != nil {
		t.Fatal(err)
	}
	if code.Subject != testUser || code.ClientID != "native" || code.RedirectURI != "com.example.app:/oauth" || code.Claims["email"] != "alice@example.com" {
		t.Errorf("code = %+v", code)
	}
	// The login form cannot be replayed into a second code.
	wantErrorPage(t, h.login(h.browser, id, csrf, testUser, testPassword), http.StatusBadRequest, "invalid_request")
}

// Concurrent submissions of one consent form complete exactly once.
func TestFlowConcurrentApprove(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	id, csrf := h.loggedIn(h.browser, h.authzParams())
	const n = 8
	codes := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := h.browser.PostForm(h.ts.URL+PathConsent, url.Values{"request": {id}, "csrf": {csrf}, "consent": {"approve"}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusSeeOther:
				codes <- resp.Header.Get("Location")
			case http.StatusBadRequest:
			default:
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(codes)
	var got []string
	for c := range codes {
		got = append(got, c)
	}
	if len(got) != 1 {
		t.Fatalf("%d submissions succeeded (%v); want exactly 1", len(got), got)
	}
}

// A failed login answers 303 to the login form with one generic message,
// the same for an unknown user and a wrong password.
func TestLoginFailure(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	id, csrf := h.startLogin(h.browser, h.authzParams())
	before := h.pending(id)
	tests := []struct{ name, user, pw string }{
		{"wrong password", testUser, "wrong"},
		{"unknown user", "mallory", testPassword},
		{"empty password", testUser, ""},
		{"empty username", "", testPassword},
		{"username case", "Alice", testPassword},
	}
	var pages []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.login(h.browser, id, csrf, tt.user, tt.pw)
			wantLocation(t, resp, PathLogin+"?request="+id+"&failed=1")
			page := h.get(h.browser, resp.Header.Get("Location"))
			if page.StatusCode != http.StatusOK {
				t.Fatalf("login page status %d", page.StatusCode)
			}
			checkPageHeaders(t, page)
			if !strings.Contains(page.body, `role="alert"`) || !strings.Contains(page.body, "Invalid username or password.") {
				t.Errorf("the failed-login page lacks the generic alert:\n%s", page.body)
			}
			if tt.user != "" && strings.Contains(page.body, tt.user) {
				t.Error("the failed-login page echoes the username")
			}
			if fid, fcsrf := formFields(t, page.body); fid != id || fcsrf != csrf {
				t.Errorf("re-rendered form fields = %q, %q; want the same request", fid, fcsrf)
			}
			pages = append(pages, reNonce.ReplaceAllString(page.body, ""))
			if diff := cmp.Diff(before, h.pending(id)); diff != "" {
				t.Errorf("a failed login changed the pending request (-before +after):\n%s", diff)
			}
		})
	}
	for i := 1; i < len(pages); i++ {
		if pages[i] != pages[0] {
			t.Errorf("failure page %d differs from failure page 0 (user enumeration)", i)
		}
	}
	// The form still works after failures.
	wantLocation(t, h.login(h.browser, id, csrf, testUser, testPassword), PathConsent+"?request="+id)
	// Without failed=1 the page shows no alert.
	if page := h.get(h.browser, PathLogin+"?request="+id); strings.Contains(page.body, `role="alert"`) {
		t.Error("the login page shows an alert without a failed attempt")
	}
}

// Forms with a missing or wrong CSRF token, without the browser's cookie, or
// for an unknown or expired request are refused with the error page and
// change nothing.
func TestFormBindingRefused(t *testing.T) {
	for _, page := range []string{"login", "consent"} {
		t.Run(page, func(t *testing.T) {
			h := newBrowserHarness(t, false, nil)
			var id, csrf string
			if page == "login" {
				id, csrf = h.startLogin(h.browser, h.authzParams())
			} else {
				id, csrf = h.loggedIn(h.browser, h.authzParams())
			}
			// A second request started in another browser.
			other := h.newBrowser()
			otherID, otherCSRF := h.startLogin(other, h.authzParams())

			submit := func(c *http.Client, form url.Values) response {
				path := PathLogin
				if page == "consent" {
					path = PathConsent
				}
				return h.post(c, path, form)
			}
			base := func() url.Values {
				return url.Values{"request": {id}, "csrf": {csrf}, "username": {testUser}, "password": {testPassword}, "consent": {"approve"}}
			}
			tests := []struct {
				name   string
				client *http.Client
				mod    func(url.Values)
			}{
				{"missing csrf", h.browser, func(f url.Values) { f.Del("csrf") }},
				{"wrong csrf", h.browser, func(f url.Values) { f.Set("csrf", strings.Repeat("A", token.SecretLen)) }},
				{"csrf of another request", h.browser, func(f url.Values) { f.Set("csrf", otherCSRF) }},
				{"missing cookie", h.newBrowser(), func(url.Values) {}},
				{"cookie of another request", other, func(url.Values) {}},
				{"request and csrf of another browser", h.browser, func(f url.Values) {
					f.Set("request", otherID)
					f.Set("csrf", otherCSRF)
				}},
				{"missing request", h.browser, func(f url.Values) { f.Del("request") }},
				{"malformed request", h.browser, func(f url.Values) { f.Set("request", "../x") }},
				{"unknown request", h.browser, func(f url.Values) { f.Set("request", token.NewID()) }},
				{"repeated csrf", h.browser, func(f url.Values) { f.Add("csrf", csrf) }},
			}
			before := h.pending(id)
			otherBefore := h.pending(otherID)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f := base()
					tt.mod(f)
					wantErrorPage(t, submit(tt.client, f), http.StatusBadRequest, "invalid_request")
					if diff := cmp.Diff(before, h.pending(id)); diff != "" {
						t.Errorf("pending changed (-before +after):\n%s", diff)
					}
					if diff := cmp.Diff(otherBefore, h.pending(otherID)); diff != "" {
						t.Errorf("other pending changed (-before +after):\n%s", diff)
					}
				})
			}
			t.Run("GET without cookie", func(t *testing.T) {
				path := PathLogin
				if page == "consent" {
					path = PathConsent
				}
				wantErrorPage(t, h.get(h.newBrowser(), path+"?request="+id), http.StatusBadRequest, "invalid_request")
			})
			t.Run("expired", func(t *testing.T) {
				h.clock.Advance(PendingTTL)
				wantErrorPage(t, submit(h.browser, base()), http.StatusBadRequest, "invalid_request")
			})
		})
	}
}

func TestConsentRequiresLogin(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	id, csrf := h.startLogin(h.browser, h.authzParams())
	before := h.pending(id)
	wantErrorPage(t, h.consent(h.browser, id, csrf, "approve"), http.StatusBadRequest, "invalid_request")
	wantErrorPage(t, h.consent(h.browser, id, csrf, "deny"), http.StatusBadRequest, "invalid_request")
	if diff := cmp.Diff(before, h.pending(id)); diff != "" {
		t.Errorf("pending changed (-before +after):\n%s", diff)
	}
	// After login, an unknown decision is refused too.
	id, csrf = h.loggedIn(h.browser, h.authzParams())
	wantErrorPage(t, h.consent(h.browser, id, csrf, "maybe"), http.StatusBadRequest, "invalid_request")
	if p := h.pending(id); p.Subject != testUser {
		t.Errorf("pending subject %q after an unknown decision", p.Subject)
	}
}

// A pending request lives PendingTTL, measured by the injected clock.
func TestPendingExpiry(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	id, csrf := h.startLogin(h.browser, h.authzParams())
	h.clock.Advance(PendingTTL - time.Second)
	if resp := h.get(h.browser, PathLogin+"?request="+id); resp.StatusCode != http.StatusOK {
		t.Fatalf("one second before expiry: status %d", resp.StatusCode)
	}
	h.clock.Advance(time.Second)
	wantErrorPage(t, h.get(h.browser, PathLogin+"?request="+id), http.StatusBadRequest, "invalid_request")
	wantErrorPage(t, h.login(h.browser, id, csrf, testUser, testPassword), http.StatusBadRequest, "invalid_request")
}

// A consent submitted after the pending request expired (between login and
// approval) issues no code.
func TestPendingExpiryBeforeConsent(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	id, csrf := h.loggedIn(h.browser, h.authzParams())
	h.clock.Advance(PendingTTL)
	wantErrorPage(t, h.consent(h.browser, id, csrf, "approve"), http.StatusBadRequest, "invalid_request")
}

// Several sign-ins may run in parallel tabs of one browser.
func TestParallelRequestsInOneBrowser(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	var ids, csrfs []string
	for range maxAuthzEntries {
		id, csrf := h.startLogin(h.browser, h.authzParams())
		ids, csrfs = append(ids, id), append(csrfs, csrf)
	}
	for i := range ids {
		wantLocation(t, h.login(h.browser, ids[i], csrfs[i], testUser, testPassword), PathConsent+"?request="+ids[i])
	}
	// One more pushes the oldest out of the cookie.
	h.startLogin(h.browser, h.authzParams())
	wantErrorPage(t, h.get(h.browser, PathConsent+"?request="+ids[0]), http.StatusBadRequest, "invalid_request")
	clientRedirect(t, h.consent(h.browser, ids[1], csrfs[1], "approve"), "https://app.example/cb?tenant=1&")
	// The others are still usable after one completed.
	clientRedirect(t, h.consent(h.browser, ids[2], csrfs[2], "deny"), "https://app.example/cb?tenant=1&")
	if resp := h.get(h.browser, PathConsent+"?request="+ids[3]); resp.StatusCode != http.StatusOK {
		t.Errorf("the last request's consent page: status %d", resp.StatusCode)
	}
}

func TestDynamicClientMarkedUnverified(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	q := h.authzParams()
	q.Set("client_id", "dyn")
	q.Set("redirect_uri", "http://127.0.0.1:7777/cb")
	id, csrf := h.loggedIn(h.browser, q)
	page := h.get(h.browser, PathConsent+"?request="+id)
	if !strings.Contains(page.body, "registered itself") {
		t.Error("the consent page does not warn about a self-registered client")
	}
	if strings.Contains(page.body, "<script>") {
		t.Error("client name not escaped")
	}
	got := clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), "http://127.0.0.1:7777/cb?")
	if got.Get("iss") != h.issuer || got.Get("code") == "" {
		t.Errorf("response = %v", got)
	}
}

// Pages and redirects use the issuer's path prefix when the server is
// published below a path.
func TestIssuerPathPrefix(t *testing.T) {
	h := newBrowserHarness(t, false, func(o *Options) { o.Issuer += "/auth" })
	resp := h.authorize(h.browser, h.authzParams())
	if !strings.Contains(resp.body, `action="/auth/oauth/login"`) {
		t.Errorf("login form does not post below the issuer path:\n%s", resp.body)
	}
	id, csrf := formFields(t, resp.body)
	// The test mux is mounted at the root, so post to the unprefixed path.
	wantLocation(t, h.login(h.browser, id, csrf, testUser, testPassword), "/auth"+PathConsent+"?request="+id)
}

func TestLoginMethodAndContentType(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	id, csrf := h.startLogin(h.browser, h.authzParams())
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+PathLogin, strings.NewReader(`{"request":"`+id+`","csrf":"`+csrf+`"}`))
	req.Header.Set("Content-Type", "application/json")
	wantErrorPage(t, h.do(h.browser, req), http.StatusBadRequest, "invalid_request")
	req, _ = http.NewRequest(http.MethodDelete, h.ts.URL+PathConsent, nil)
	wantErrorPage(t, h.do(h.browser, req), http.StatusMethodNotAllowed, "invalid_request")
	big := url.Values{"request": {id}, "csrf": {csrf}, "username": {testUser}, "password": {strings.Repeat("x", maxFormBody)}}
	wantErrorPage(t, h.post(h.browser, PathLogin, big), http.StatusBadRequest, "invalid_request")
}

// An authenticator failure is a server error page, not a login failure.
func TestLoginAuthenticatorError(t *testing.T) {
	h := newBrowserHarness(t, false, func(o *Options) {
		o.Authenticator = AuthenticatorFunc(func(context.Context, string, string) (*Identity, error) {
			return nil, errors.New("directory unreachable")
		})
	})
	id, csrf := h.startLogin(h.browser, h.authzParams())
	resp := h.login(h.browser, id, csrf, testUser, testPassword)
	wantErrorPage(t, resp, http.StatusInternalServerError, "server_error")
	if strings.Contains(resp.body, "directory unreachable") {
		t.Error("the error page reveals the internal error")
	}
}

func TestAppendQuery(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"https://a.example/cb", "https://a.example/cb?code=1"},
		{"https://a.example/cb?", "https://a.example/cb?code=1"},
		{"https://a.example/cb?x=%2F&y", "https://a.example/cb?x=%2F&y&code=1"},
		{"https://a.example/cb?x=1&", "https://a.example/cb?x=1&code=1"},
		{"com.example.app:/oauth", "com.example.app:/oauth?code=1"},
	}
	for _, tt := range tests {
		if got := appendQuery(tt.uri, "code=1"); got != tt.want {
			t.Errorf("appendQuery(%q) = %q; want %q", tt.uri, got, tt.want)
		}
	}
}

// FuzzAuthorize drives the authorization endpoint with arbitrary queries and
// checks its invariants: it never fails with a 5xx, it only ever redirects to
// a redirect URI registered for the named client (with the loopback port
// exception) and always with iss, and it only sets the binding cookie when
// it shows the login page.
func FuzzAuthorize(f *testing.F) {
	h := newBrowserHarness(f, false, nil)
	valid := h.authzParams()
	f.Add(valid.Encode())
	for _, mod := range []func(url.Values){
		func(q url.Values) { q.Set("response_type", "token") },
		func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:1/callback") },
		func(q url.Values) { q.Del("state") },
		func(q url.Values) { q.Set("client_id", "single"); q.Del("redirect_uri") },
		func(q url.Values) { q.Add("resource", "https://x.example") },
	} {
		q := h.authzParams()
		mod(q)
		f.Add(q.Encode())
	}
	f.Add("client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Ftenant%3D1%23&state=%00")
	f.Add("client_id=app&client_id=&redirect_uri=;")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+PathAuthorize, nil)
		req.URL.RawQuery = rawQuery
		rec := httptest.NewRecorder()
		h.srv.handleAuthorize(rec, req)
		q, _ := url.ParseQuery(rawQuery)
		switch rec.Code {
		case http.StatusOK:
			if len(rec.Result().Cookies()) != 1 {
				t.Fatal("login page without the binding cookie")
			}
		case http.StatusBadRequest:
			if rec.Header().Get("Location") != "" || len(rec.Result().Cookies()) != 0 {
				t.Fatal("error page with a redirect or cookie")
			}
		case http.StatusSeeOther:
			loc := rec.Header().Get("Location")
			client, err := h.srv.lookupClient(context.Background(), q.Get("client_id"))
			if err != nil {
				t.Fatalf("redirect for unknown client %q to %s", q.Get("client_id"), loc)
			}
			target := q.Get("redirect_uri")
			if target == "" {
				target = client.RedirectURIs[0]
			} else if _, ok := grant.MatchRedirectURI(client.RedirectURIs, target); !ok {
				t.Fatalf("redirect to unregistered %q", target)
			}
			if !strings.HasPrefix(loc, target) {
				t.Fatalf("Location %s does not start with %s", loc, target)
			}
			u, err := url.Parse(loc)
			if err != nil || u.Query().Get("iss") != h.issuer || u.Query().Get("error") == "" {
				t.Fatalf("redirect %s lacks iss or error", loc)
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// FuzzParseAuthzCookie checks that any cookie value parses into at most
// maxAuthzEntries well-formed entries and that written cookies parse back.
func FuzzParseAuthzCookie(f *testing.F) {
	id, csrf := token.NewID(), strings.Repeat("a", token.SecretLen)
	f.Add(id + "." + csrf)
	f.Add(id + "." + csrf + "~" + id + "." + csrf + "~x.y~")
	f.Add("~~~.")
	f.Fuzz(func(t *testing.T, v string) {
		entries := parseAuthzCookie(v)
		if len(entries) > maxAuthzEntries {
			t.Fatalf("%d entries", len(entries))
		}
		for _, e := range entries {
			if !token.ValidGrantID(e.id) || len(e.csrf) != token.SecretLen {
				t.Fatalf("malformed entry %+v", e)
			}
		}
		rec := httptest.NewRecorder()
		(&Server{}).setAuthzCookie(rec, entries)
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies %v", cs)
		}
		back := parseAuthzCookie(cs[0].Value)
		seen := map[string]bool{}
		var want []authzEntry
		for _, e := range entries {
			if !seen[e.id] {
				seen[e.id] = true
				want = append(want, e)
			}
		}
		if diff := cmp.Diff(want, back, cmp.AllowUnexported(authzEntry{})); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The server's own log lines never carry a password, CSRF token, code or
// request ID, even without the redacting handler.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs lockedBuffer
	h := newBrowserHarness(t, false, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	const wrongPassword = "wrong-but-secret-password"
	id, csrf := h.startLogin(h.browser, h.authzParams())
	wantLocation(t, h.login(h.browser, id, csrf, testUser, wrongPassword), PathLogin+"?request="+id+"&failed=1")
	h.post(h.newBrowser(), PathLogin, url.Values{"request": {id}, "csrf": {csrf}})
	wantLocation(t, h.login(h.browser, id, csrf, testUser, testPassword), PathConsent+"?request="+id)
	code := clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), "https://app.example/cb?tenant=1&").Get("code")
	out := logs.String()
	for _, event := range []string{"authorization request accepted", "login failed", "login succeeded", "pending authorization without its browser cookie", "authorization code issued"} {
		if !strings.Contains(out, event) {
			t.Errorf("logs lack %q", event)
		}
	}
	for name, secret := range map[string]string{"password": testPassword, "wrong password": wrongPassword, "csrf": csrf, "code": code, "request id": id} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain the %s", name)
		}
	}
}
