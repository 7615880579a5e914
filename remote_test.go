package frontmcp_test

// End-to-end tests of orchestrated/remote mode with a real upstream
// identity provider: a second frontmcp server in local mode (its login and
// consent pages, its RFC 9068 access tokens, refresh token rotation, its
// whoami tool as the "upstream API"), in this process on loopback. The
// upstream publishes RFC 8414 metadata without OpenID Connect, so these tests
// cover the RFC 8414 discovery path and identity from the upstream's JWT
// access token; the OpenID Connect path (ID tokens, nonce) runs against
// oidc-provider in e2e/node/remote.test.mjs.
//
// The two servers share one fake clock, so tests move time past upstream
// token expiry without sleeping. The upstream is published as
// http://localhost:PORT and the remote server as http://127.0.0.1:PORT so
// that a cookie jar keeps their cookies apart, as two hosts would.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/authserver"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/federation"
	"github.com/frontmcp-go/frontmcp/internal/htmlform"
	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/keys"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/vault"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	remoteUser       = "carol"
	remotePassword   = "carol-password-for-tests"
	upstreamClientID = "frontmcp-remote"
	upstreamSecret   = "upstream-client-secret-0123456789abcdef"
	mcpClientID      = "mcp-client"
	mcpRedirectURI   = "http://127.0.0.1:1/callback"
	upstreamTokenTTL = 10 * time.Minute
)

// testVaultKey is a fixed vault key (bytes 0..31).
const testVaultKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

var (
	carolHashOnce sync.Once
	carolHash     string
)

// upstreamIdP is a frontmcp server in local mode acting as the identity
// provider, with its token endpoint's refresh requests counted.
type upstreamIdP struct {
	url       string
	store     *memstore.Store
	refreshes atomic.Int64
}

// startUpstream starts the upstream on ln for a remote server whose
// callback is callback.
func startUpstream(t testing.TB, ln net.Listener, clock *testclock.Clock, callback string) *upstreamIdP {
	t.Helper()
	carolHashOnce.Do(func() {
		var err error
		if carolHash, err = authserver.HashPassword(remotePassword); err != nil {
			panic(err)
		}
	})
	up := &upstreamIdP{store: memstore.New(&memstore.Options{Clock: clock.Now})}
	port := ln.Addr().(*net.TCPAddr).Port
	up.url = "http://localhost:" + strconv.Itoa(port)
	cfg := config.Default(config.Development)
	cfg.HTTP.Port = port
	cfg.HTTP.PublicURL = up.url
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	cfg.Auth.Local.Users = []config.User{{Username: remoteUser, PasswordHash: carolHash}}
	cfg.Auth.Refresh.AccessTokenTTL = upstreamTokenTTL
	cfg.Auth.Clients = []config.Client{{
		ClientID: upstreamClientID, ClientSecret: upstreamSecret, RedirectURIs: []string{callback},
		TokenEndpointAuthMethod: config.AuthMethodClientSecretBasic,
	}}
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Store: up.store, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("upstream: %v", err)
	}
	addWhoami(srv)
	inner := srv.Handler()
	// Counts refresh_token grants at the token endpoint (instrumentation,
	// the request goes on unchanged).
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == authserver.PathToken {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if q, _ := url.ParseQuery(string(body)); q.Get("grant_type") == "refresh_token" {
				up.refreshes.Add(1)
			}
		}
		inner.ServeHTTP(w, r)
	})
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return up
}

// revokeAll revokes every upstream grant of the test user: the upstream
// refuses their refresh tokens from now on.
func (up *upstreamIdP) revokeAll(t *testing.T) {
	t.Helper()
	grants, err := up.store.ListGrants(context.Background(), store.GrantFilter{Subject: remoteUser})
	if err != nil || len(grants) == 0 {
		t.Fatalf("upstream grants of %s: %v, %v", remoteUser, grants, err)
	}
	for _, g := range grants {
		if err := up.store.RevokeGrant(context.Background(), g.ID); err != nil {
			t.Fatalf("revoke upstream grant: %v", err)
		}
	}
}

// remoteServer is a running remote-mode server.
type remoteServer struct {
	url  string
	srv  *frontmcp.Server
	stop func()
}

// remoteConfig is the remote server's configuration on port.
func remoteConfig(port int, upstreamURL, vaultKey string) *config.Config {
	cfg := config.Default(config.Development)
	cfg.HTTP.Port = port
	cfg.HTTP.PublicURL = "http://127.0.0.1:" + strconv.Itoa(port)
	cfg.Auth.Type = config.TypeRemote
	cfg.Auth.Provider = upstreamURL
	cfg.Auth.Remote.ClientID = upstreamClientID
	cfg.Auth.Remote.ClientSecret = upstreamSecret
	cfg.Auth.Vault.Key = vaultKey
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	cfg.Auth.Clients = []config.Client{{ClientID: mcpClientID, RedirectURIs: []string{mcpRedirectURI}}}
	return cfg
}

// startRemote runs a remote-mode server with cfg on ln over st, with the
// upstream_whoami tool calling the upstream's whoami with UpstreamToken.
func startRemote(t testing.TB, ln net.Listener, cfg *config.Config, st store.Store, clock *testclock.Clock, upstreamURL string) *remoteServer {
	t.Helper()
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Store: st, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		ln.Close()
		t.Fatalf("remote server: %v", err)
	}
	return serveRemote(t, ln, srv, upstreamURL)
}

// serveRemote serves srv on ln with the upstream_whoami tool.
func serveRemote(t testing.TB, ln net.Listener, srv *frontmcp.Server, upstreamURL string) *remoteServer {
	t.Helper()
	addUpstreamWhoami(srv, upstreamURL+"/mcp")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return &remoteServer{url: "http://" + ln.Addr().String(), srv: srv, stop: stop}
}

type upstreamWhoamiOut struct {
	Subject         string `json:"subject"`
	UpstreamSubject string `json:"upstream_subject"`
}

// addUpstreamWhoami registers the tool under test: it calls the upstream
// API (the upstream's whoami tool) with the caller's upstream token.
func addUpstreamWhoami(srv *frontmcp.Server, upstreamMCP string) {
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "upstream_whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, upstreamWhoamiOut, error) {
		tok, err := frontmcp.UpstreamToken(ctx)
		if err != nil {
			return nil, upstreamWhoamiOut{}, err
		}
		var out whoamiOut
		if err := callTool(ctx, upstreamMCP, tok, "whoami", &out); err != nil {
			return nil, upstreamWhoamiOut{}, fmt.Errorf("upstream API: %w", err)
		}
		return nil, upstreamWhoamiOut{Subject: frontmcp.PrincipalOf(req).Subject, UpstreamSubject: out.Subject}, nil
	})
}

// callTool calls tool on the MCP server at endpoint with a bearer token
// and decodes its structured result into out. A tool error is returned as
// an error with the tool's message.
func callTool(ctx context.Context, endpoint, bearer, tool string, out any) error {
	client := mcp.NewClient(&mcp.Implementation{Name: "remote-test", Version: "1"}, nil)
	hc := &http.Client{Transport: headerTransport{http.Header{"Authorization": {"Bearer " + bearer}}}}
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc}, nil)
	if err != nil {
		return err
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool})
	if err != nil {
		return err
	}
	if res.IsError {
		var msg strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				msg.WriteString(tc.Text)
			}
		}
		return errors.New(msg.String())
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// browser plays the user across both servers: it follows redirects
// between them, logs in at the upstream, and answers consent forms on each
// host as decisions says ("approve" by default), until a redirect to the
// MCP client's redirect URI.
type browser struct {
	client    *http.Client
	decisions map[string]string // host → consent decision
	pages     []string          // "host page" for each page seen
	// stopAt, when set, ends authorize at a redirect to a URL with this
	// prefix (returned as the "location" value) instead of following it.
	stopAt string
}

func newBrowser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{
		client: &http.Client{Jar: jar, Timeout: 20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		decisions: map[string]string{},
	}
}

// authorize runs the user's side of the authorization request at authURL
// and returns the authorization response's query.
func (b *browser) authorize(ctx context.Context, authURL string) (url.Values, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	for range 20 {
		resp, err := b.client.Do(req)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(loc.String(), mcpRedirectURI) {
				return loc.Query(), nil
			}
			if b.stopAt != "" && strings.HasPrefix(loc.String(), b.stopAt) {
				return url.Values{"location": {loc.String()}}, nil
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return nil, err
			}
		case resp.StatusCode == http.StatusOK:
			forms, err := htmlform.Parse(bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			host := req.URL.Host
			decision := b.decisions[host]
			if decision == "" {
				decision = "approve"
			}
			var f *htmlform.Form
			var extra url.Values
			if f = htmlform.Find(forms, func(f *htmlform.Form) bool { return f.Inputs["password"] == "password" }); f != nil {
				b.pages = append(b.pages, host+" login")
				extra = url.Values{"username": {remoteUser}, "password": {remotePassword}}
			} else if f = htmlform.Find(forms, func(f *htmlform.Form) bool { return f.HasButton("consent", decision) }); f != nil {
				b.pages = append(b.pages, host+" consent")
				extra = url.Values{"consent": {decision}}
			} else {
				return nil, fmt.Errorf("%s: page without a login or consent form: %.300s", req.URL, body)
			}
			if req, err = f.Submit(ctx, req.URL, extra); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s %s: %d: %.300s", req.Method, req.URL, resp.StatusCode, body)
		}
	}
	return nil, errors.New("no authorization response after 20 steps")
}

// mcpOAuth is the MCP client's OAuth configuration at the remote server.
func mcpOAuth(remoteURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:    mcpClientID,
		RedirectURL: mcpRedirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: remoteURL + authserver.PathAuthorize, TokenURL: remoteURL + authserver.PathToken,
			AuthStyle: oauth2.AuthStyleInParams},
	}
}

// signIn runs the MCP client's authorization code flow at the remote
// server with b as the browser and returns the authorization response.
func signIn(t testing.TB, remoteURL string, b *browser) (url.Values, string, string) {
	t.Helper()
	state, verifier := "state-"+strconv.FormatInt(time.Now().UnixNano(), 36), oauth2.GenerateVerifier()
	q, err := b.authorize(t.Context(), mcpOAuth(remoteURL).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatalf("authorize: %v (pages %v)", err, b.pages)
	}
	return q, state, verifier
}

// login signs in and redeems the code: the MCP client's tokens.
func login(t *testing.T, remoteURL string) *oauth2.Token {
	t.Helper()
	q, state, verifier := signIn(t, remoteURL, newBrowser(t))
	if q.Get("state") != state || q.Get("iss") != remoteURL || q.Get("code") == "" {
		t.Fatalf("authorization response %v: want code, state %q, iss %q", q, state, remoteURL)
	}
	tok, err := mcpOAuth(remoteURL).Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tok
}

// claimsOf decodes a JWT's claims without verifying it.
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20s…", jwt)
	}
	b, err := base64URLDecode(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func base64URLDecode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}

// upstreamTokens opens the vault entry of grant with the test key.
func upstreamTokens(t *testing.T, st store.Store, grantID, key string) (*federation.Tokens, []byte) {
	t.Helper()
	env, err := st.GetVault(context.Background(), grantID)
	if err != nil {
		t.Fatalf("GetVault: %v", err)
	}
	ring, err := vault.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := ring.Open(federation.PurposeTokens, env, []byte(grantID))
	if err != nil {
		t.Fatalf("opening the vault entry: %v", err)
	}
	var tok federation.Tokens
	if err := json.Unmarshal(pt, &tok); err != nil {
		t.Fatal(err)
	}
	return &tok, env
}

// listen returns a loopback listener and its port.
func listen(t testing.TB) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// remoteSetup is an upstream and a remote server over st.
type remoteSetup struct {
	clock  *testclock.Clock
	up     *upstreamIdP
	remote *remoteServer
	cfg    *config.Config
	store  store.Store
	port   int
}

func newRemoteSetup(t testing.TB, st func(clock *testclock.Clock) store.Store) *remoteSetup {
	t.Helper()
	return newRemoteSetupWith(t, st, nil)
}

// newRemoteSetupWith is newRemoteSetup with the remote server's
// configuration changed by edit (after auth.provider is set).
func newRemoteSetupWith(t testing.TB, st func(clock *testclock.Clock) store.Store, edit func(*config.Config)) *remoteSetup {
	t.Helper()
	clock := testclock.New(time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC))
	upLn, _ := listen(t)
	ln, port := listen(t)
	cfg := remoteConfig(port, "", testVaultKey)
	up := startUpstream(t, upLn, clock, cfg.UpstreamCallbackURL())
	cfg.Auth.Provider = up.url
	if edit != nil {
		edit(cfg)
	}
	s := &remoteSetup{clock: clock, up: up, cfg: cfg, store: st(clock), port: port}
	s.remote = startRemote(t, ln, cfg, s.store, clock, up.url)
	return s
}

func memoryStore(clock *testclock.Clock) store.Store {
	return memstore.New(&memstore.Options{Clock: clock.Now})
}

// upstreamWhoami calls the remote server's upstream_whoami tool.
func upstreamWhoami(t *testing.T, remoteURL, accessToken string) (upstreamWhoamiOut, error) {
	t.Helper()
	var out upstreamWhoamiOut
	err := callTool(t.Context(), remoteURL+"/mcp", accessToken, "upstream_whoami", &out)
	return out, err
}

func TestRemoteHappyPath(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	b := newBrowser(t)
	q, state, verifier := signIn(t, s.remote.url, b)
	// The user signed in at the upstream (its login and consent pages),
	// then approved this server's own consent page.
	upHost, remoteHost := strings.TrimPrefix(s.up.url, "http://"), strings.TrimPrefix(s.remote.url, "http://")
	if want := []string{upHost + " login", upHost + " consent", remoteHost + " consent"}; strings.Join(b.pages, ",") != strings.Join(want, ",") {
		t.Fatalf("pages = %v, want %v", b.pages, want)
	}
	if q.Get("state") != state || q.Get("iss") != s.remote.url {
		t.Fatalf("authorization response %v", q)
	}
	tok, err := mcpOAuth(s.remote.url).Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	// The client holds this server's tokens, not the upstream's.
	c := claimsOf(t, tok.AccessToken)
	if c["iss"] != s.remote.url || c["sub"] != remoteUser || c["client_id"] != mcpClientID {
		t.Fatalf("access token claims %v", c)
	}
	grantID, _ := c["sid"].(string)
	if grantID == "" {
		t.Fatalf("access token without a grant id: %v", c)
	}
	up, env := upstreamTokens(t, s.store, grantID, testVaultKey)
	if uc := claimsOf(t, up.AccessToken); uc["iss"] != s.up.url || uc["client_id"] != upstreamClientID || uc["sub"] != remoteUser {
		t.Fatalf("upstream access token claims %v", uc)
	}
	if up.RefreshToken == "" || up.Subject != remoteUser {
		t.Fatalf("upstream tokens: refresh token %t, subject %q", up.RefreshToken != "", up.Subject)
	}
	// The vault holds ciphertext only.
	if !vault.IsSealed(env) || bytes.Contains(env, []byte(up.AccessToken)) || bytes.Contains(env, []byte(up.RefreshToken)) {
		t.Fatalf("vault entry is not an envelope hiding the tokens: %.60s…", env)
	}
	if tok.AccessToken == up.AccessToken || tok.RefreshToken == up.RefreshToken {
		t.Fatal("the MCP client received an upstream token")
	}
	out, err := upstreamWhoami(t, s.remote.url, tok.AccessToken)
	if err != nil {
		t.Fatalf("upstream_whoami: %v", err)
	}
	if out.Subject != remoteUser || out.UpstreamSubject != remoteUser {
		t.Fatalf("upstream_whoami = %+v, want subject and upstream subject %q", out, remoteUser)
	}
	if n := s.up.refreshes.Load(); n != 0 {
		t.Errorf("upstream refreshes = %d, want 0 while its token is fresh", n)
	}
}

func TestRemoteUpstreamDenies(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	b := newBrowser(t)
	b.decisions[strings.TrimPrefix(s.up.url, "http://")] = "deny"
	q, state, _ := signIn(t, s.remote.url, b)
	if q.Get("error") != "access_denied" || q.Get("state") != state || q.Get("iss") != s.remote.url || q.Get("code") != "" {
		t.Fatalf("authorization response %v: want access_denied with state and iss", q)
	}
	grants, err := s.store.ListGrants(t.Context(), store.GrantFilter{})
	if err != nil || len(grants) != 0 {
		t.Fatalf("grants after a denied sign-in: %v, %v", grants, err)
	}
}

func TestRemoteUpstreamRefresh(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	tok := login(t, s.remote.url)
	grantID := claimsOf(t, tok.AccessToken)["sid"].(string)
	before, _ := upstreamTokens(t, s.store, grantID, testVaultKey)

	// Within the skew (60 s) of the upstream token's expiry: refreshed
	// before the tool gets it.
	s.clock.Advance(upstreamTokenTTL - 30*time.Second)
	out, err := upstreamWhoami(t, s.remote.url, tok.AccessToken)
	if err != nil || out.UpstreamSubject != remoteUser {
		t.Fatalf("upstream_whoami after expiry = %+v, %v", out, err)
	}
	if n := s.up.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want 1", n)
	}
	after, _ := upstreamTokens(t, s.store, grantID, testVaultKey)
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Fatal("the vault still holds the old upstream tokens (the upstream rotates refresh tokens)")
	}
	// Fresh again: no further refresh.
	if _, err := upstreamWhoami(t, s.remote.url, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if n := s.up.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want still 1", n)
	}

	// Our own refresh rotates our refresh token; the grant, and so the
	// vault entry, stays.
	ours, err := mcpOAuth(s.remote.url).TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refreshing our token: %v", err)
	}
	if ours.RefreshToken == tok.RefreshToken || claimsOf(t, ours.AccessToken)["sid"] != grantID {
		t.Fatalf("our refresh: rotated %t, grant %v", ours.RefreshToken != tok.RefreshToken, claimsOf(t, ours.AccessToken)["sid"])
	}
	if out, err := upstreamWhoami(t, s.remote.url, ours.AccessToken); err != nil || out.UpstreamSubject != remoteUser {
		t.Fatalf("upstream_whoami after our refresh = %+v, %v", out, err)
	}
}

func TestRemoteUpstreamRefreshRefused(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	tok := login(t, s.remote.url)
	grantID := claimsOf(t, tok.AccessToken)["sid"].(string)
	s.up.revokeAll(t)
	s.clock.Advance(upstreamTokenTTL)
	_, err := upstreamWhoami(t, s.remote.url, tok.AccessToken)
	if err == nil || !strings.Contains(err.Error(), "re-authorization required") {
		t.Fatalf("tool call: error = %v, want re-authorization required", err)
	}
	// Our grant ended with the upstream sign-in: the MCP endpoint refuses
	// the client's access token at once (401, so the client authorizes
	// again), and our refresh token with invalid_grant.
	if _, err := upstreamWhoami(t, s.remote.url, tok.AccessToken); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Fatalf("MCP request after the refusal: error = %v, want 401 Unauthorized", err)
	}
	if g, err := s.store.GetGrant(t.Context(), grantID); err != nil || g.RevokedAt.IsZero() {
		t.Fatalf("grant after the refusal: %+v, %v; want it revoked", g, err)
	}
	_, err = mcpOAuth(s.remote.url).TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
		t.Fatalf("our refresh after the refusal: %v, want invalid_grant", err)
	}
	// The upstream was asked once.
	if n := s.up.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want 1", n)
	}
	// The client can sign in again and the tool works.
	again := login(t, s.remote.url)
	if out, err := upstreamWhoami(t, s.remote.url, again.AccessToken); err != nil || out.UpstreamSubject != remoteUser {
		t.Fatalf("after signing in again: %+v, %v", out, err)
	}
}

// TestRemoteUpstreamRevocationEndsGrant: the user's upstream tokens are
// revoked (say, the user was disabled at the identity provider) while the
// MCP client is idle. When its access token has expired, our refresh asks
// the provider first: the provider refuses, our grant is revoked and the
// client gets invalid_grant, so it authorizes again and the provider
// decides. Access outlives the provider's decision by at most our access
// token's lifetime.
func TestRemoteUpstreamRevocationEndsGrant(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	tok := login(t, s.remote.url)
	grantID := claimsOf(t, tok.AccessToken)["sid"].(string)
	s.up.revokeAll(t)
	s.clock.Advance(2 * time.Hour) // past the upstream's access token and ours
	ours, err := mcpOAuth(s.remote.url).TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
		t.Fatalf("our refresh after the provider revoked the user: token %v, error %v; want invalid_grant", ours != nil, err)
	}
	if n := s.up.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want 1 (our refresh asks the provider)", n)
	}
	if g, err := s.store.GetGrant(t.Context(), grantID); err != nil || g.RevokedAt.IsZero() {
		t.Fatalf("grant: %+v, %v; want it revoked", g, err)
	}
	if _, err := s.store.GetVault(t.Context(), grantID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("vault entry of the ended grant: %v, want ErrNotFound", err)
	}
	// Signing in again works.
	again := login(t, s.remote.url)
	if out, err := upstreamWhoami(t, s.remote.url, again.AccessToken); err != nil || out.UpstreamSubject != remoteUser {
		t.Fatalf("after signing in again: %+v, %v", out, err)
	}
}

// TestRemoteOwnRefreshRefreshesUpstream: when our refresh comes after the
// upstream access token expired, the upstream tokens are refreshed first
// (proving the provider still accepts the user), and the tool then uses
// them without another refresh.
func TestRemoteOwnRefreshRefreshesUpstream(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	tok := login(t, s.remote.url)
	s.clock.Advance(2 * time.Hour)
	ours, err := mcpOAuth(s.remote.url).TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("our refresh: %v", err)
	}
	if n := s.up.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want 1", n)
	}
	if out, err := upstreamWhoami(t, s.remote.url, ours.AccessToken); err != nil || out.UpstreamSubject != remoteUser {
		t.Fatalf("upstream_whoami: %+v, %v", out, err)
	}
	if n := s.up.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want still 1", n)
	}
}

func TestRemoteSingleFlightAcrossInstances(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	// A second instance on the same store and public URL (behind one load
	// balancer); it has its own listener.
	ln2, _ := listen(t)
	second := startRemote(t, ln2, s.cfg, s.store, s.clock, s.up.url)
	tok := login(t, s.remote.url)
	s.clock.Advance(upstreamTokenTTL)

	const calls = 8
	var wg sync.WaitGroup
	errs := make([]error, calls)
	for i := range calls {
		target := s.remote.url
		if i%2 == 1 {
			target = second.url
		}
		wg.Go(func() {
			out, err := upstreamWhoami(t, target, tok.AccessToken)
			if err == nil && out.UpstreamSubject != remoteUser {
				err = fmt.Errorf("upstream subject %q", out.UpstreamSubject)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	if n := s.up.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want exactly 1 for %d concurrent calls on two instances", n, calls)
	}
}

func TestRemoteRevocationDeletesVault(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	tok := login(t, s.remote.url)
	grantID := claimsOf(t, tok.AccessToken)["sid"].(string)
	upstreamTokens(t, s.store, grantID, testVaultKey)
	if err := s.store.RevokeGrant(t.Context(), grantID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.GetVault(t.Context(), grantID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetVault after revocation: %v, want ErrNotFound", err)
	}
}

func TestRemoteRestartAndVaultKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	var st *filestore.Store
	openStore := func(clock *testclock.Clock) store.Store {
		var err error
		if st, err = filestore.Open(path, &filestore.Options{Clock: clock.Now}); err != nil {
			t.Fatal(err)
		}
		return st
	}
	s := newRemoteSetup(t, openStore)
	tok := login(t, s.remote.url)
	grantID := claimsOf(t, tok.AccessToken)["sid"].(string)
	up, env := upstreamTokens(t, st, grantID, testVaultKey)

	// Nothing upstream is in the store file in plaintext: not in the
	// vault, nor left behind in the pending request or the code.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"access": up.AccessToken, "refresh": up.RefreshToken} {
		if holds(raw, secret) {
			t.Errorf("the store file contains the upstream %s token", name)
		}
	}

	// restart stops the server and starts it again on the same store file
	// with vault key key (and the signing key signKey, when set).
	restart := func(key string, signKey []byte) (*remoteServer, error) {
		t.Helper()
		s.remote.stop()
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		cfg := remoteConfig(s.port, s.up.url, key)
		cfg.Auth.Local.SignKey = signKey
		reopened := openStore(s.clock)
		t.Cleanup(func() { reopened.Close() })
		srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Store: reopened, Clock: s.clock.Now, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.port))
		if err != nil {
			srv.Close()
			t.Fatal(err)
		}
		s.remote = serveRemote(t, ln, srv, s.up.url)
		return s.remote, nil
	}

	// A restart with the same key: the vault is usable.
	r, err := restart(testVaultKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := upstreamWhoami(t, r.url, tok.AccessToken); err != nil || out.UpstreamSubject != remoteUser {
		t.Fatalf("after restart: %+v, %v", out, err)
	}

	// A restart with another key refuses to start, naming the key that
	// sealed the stored secrets (the generated signing keys are sealed too).
	other, err := vault.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := restart(other, nil); err == nil || !strings.Contains(err.Error(), vault.EnvelopeKeyID(env)) {
		t.Fatalf("restart with a wrong vault key: %v, want an error naming key %s", err, vault.EnvelopeKeyID(env))
	}
	// With an operator-managed signing key it starts; the tool then gets a
	// clear error, and the entry is untouched.
	signKey, err := keys.Generate("ES256", "operator-key")
	if err != nil {
		t.Fatal(err)
	}
	signJSON, err := json.Marshal(signKey)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = restart(testVaultKey, signJSON); err != nil {
		t.Fatal(err)
	}
	tok = login(t, r.url) // a token signed by the operator's key
	grantID = claimsOf(t, tok.AccessToken)["sid"].(string)
	_, env = upstreamTokens(t, st, grantID, testVaultKey)
	if r, err = restart(other, signJSON); err != nil {
		t.Fatal(err)
	}
	_, err = upstreamWhoami(t, r.url, tok.AccessToken)
	if err == nil || !strings.Contains(err.Error(), "vault key") || !strings.Contains(err.Error(), vault.EnvelopeKeyID(env)) {
		t.Fatalf("with a wrong vault key: error = %v, want one naming the vault key %s", err, vault.EnvelopeKeyID(env))
	}
	s.clock.Advance(upstreamTokenTTL) // a refresh would be due: still nothing written
	if _, err := upstreamWhoami(t, r.url, tok.AccessToken); err == nil {
		t.Fatal("tool succeeded with a wrong vault key")
	}
	if got, err := st.GetVault(t.Context(), grantID); err != nil || !bytes.Equal(got, env) {
		t.Fatalf("vault entry changed under a wrong key (err %v)", err)
	}
	if n := s.up.refreshes.Load(); n != 0 {
		t.Fatalf("upstream refreshes with a wrong vault key = %d, want 0", n)
	}

	// The right key again (now due for a refresh): it works.
	if r, err = restart(testVaultKey, signJSON); err != nil {
		t.Fatal(err)
	}
	if out, err := upstreamWhoami(t, r.url, tok.AccessToken); err != nil || out.UpstreamSubject != remoteUser {
		t.Fatalf("with the right key again: %+v, %v", out, err)
	}
	if n := s.up.refreshes.Load(); n != 1 {
		t.Fatalf("upstream refreshes = %d, want 1", n)
	}
}

func TestRemoteConfigErrors(t *testing.T) {
	ln, port := listen(t)
	ln.Close()
	cfg := remoteConfig(port, "http://127.0.0.1:1", testVaultKey)
	_, err := frontmcp.New(&frontmcp.Options{Config: cfg, Store: memstore.New(nil), Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, federation.ErrDiscovery) || !strings.Contains(err.Error(), "auth.provider") {
		t.Fatalf("unreachable provider: %v, want a discovery error naming auth.provider", err)
	}
	cfg.Auth.Vault.Key = ""
	_, err = frontmcp.New(&frontmcp.Options{Config: cfg, Store: memstore.New(nil), Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "auth.vault.key") {
		t.Fatalf("without a vault key: %v", err)
	}
}

func TestUpstreamTokenOutsideRemoteMode(t *testing.T) {
	if _, err := frontmcp.UpstreamToken(context.Background()); !errors.Is(err, frontmcp.ErrNoUpstream) {
		t.Fatalf("UpstreamToken outside a request: %v", err)
	}
}

// get fetches rawURL with b's cookies and returns the status, the Location
// and the body.
func (b *browser) get(t *testing.T, rawURL string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func TestRemoteCallbackChecks(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	callbackURL := s.cfg.UpstreamCallbackURL()
	b := newBrowser(t)
	b.stopAt = callbackURL
	q, _, _ := signIn(t, s.remote.url, b)
	callback, err := url.Parse(q.Get("location"))
	if err != nil || callback.Query().Get("code") == "" {
		t.Fatalf("redirect to the callback: %v, %v", q, err)
	}
	// The upstream returned this server's issuer-checked response (RFC 9207).
	if callback.Query().Get("iss") != s.up.url {
		t.Fatalf("callback iss = %q, want %q", callback.Query().Get("iss"), s.up.url)
	}
	state := callback.Query().Get("state")
	requestID, _, _ := strings.Cut(state, ".")
	pendingBefore, err := s.store.GetPending(t.Context(), requestID)
	if err != nil || len(pendingBefore.Upstream) == 0 || pendingBefore.Subject != "" {
		t.Fatalf("pending request before the callback: %+v, %v", pendingBefore, err)
	}
	if !vault.IsSealed(pendingBefore.Upstream) {
		t.Fatal("the login state in the pending request is not sealed")
	}
	withQuery := func(edit func(url.Values)) string {
		u := *callback
		v := u.Query()
		edit(v)
		u.RawQuery = v.Encode()
		return u.String()
	}
	unchanged := func(what string) {
		t.Helper()
		p, err := s.store.GetPending(t.Context(), requestID)
		if err != nil || p.Subject != "" || !bytes.Equal(p.Upstream, pendingBefore.Upstream) {
			t.Fatalf("%s changed the pending request: %+v, %v", what, p, err)
		}
	}
	for _, tc := range []struct {
		name string
		b    *browser
		url  string
	}{
		{"another browser", newBrowser(t), callback.String()},
		{"a forged state secret", b, withQuery(func(v url.Values) { v.Set("state", requestID+"."+strings.Repeat("A", 43)) })},
		{"a malformed state", b, withQuery(func(v url.Values) { v.Set("state", "nonsense") })},
		{"no state", b, withQuery(func(v url.Values) { v.Del("state") })},
		{"a repeated parameter", b, callback.String() + "&code=again"},
	} {
		status, loc, body := tc.b.get(t, tc.url)
		if status != http.StatusBadRequest || loc != "" || !strings.Contains(body, "start again") {
			t.Errorf("%s: %d %q, want the 400 error page", tc.name, status, loc)
		}
		unchanged(tc.name)
	}
	// A wrong iss: the response is refused like a failed sign-in.
	status, loc, _ := b.get(t, withQuery(func(v url.Values) { v.Set("iss", "https://attacker.example") }))
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, mcpRedirectURI) || !strings.Contains(loc, "error=access_denied") {
		t.Fatalf("wrong iss: %d %q, want access_denied to the client", status, loc)
	}
	// The request is over: the genuine callback now finds nothing.
	if status, _, _ := b.get(t, callback.String()); status != http.StatusBadRequest {
		t.Fatalf("callback after the request ended: %d, want 400", status)
	}
	if _, err := s.store.GetPending(t.Context(), requestID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pending request after a refused sign-in: %v, want ErrNotFound", err)
	}
}

func TestRemoteCallbackReplay(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	b := newBrowser(t)
	b.stopAt = s.cfg.UpstreamCallbackURL()
	q, _, _ := signIn(t, s.remote.url, b)
	callback := q.Get("location")
	status, loc, _ := b.get(t, callback)
	if status != http.StatusSeeOther || !strings.Contains(loc, "/oauth/consent") {
		t.Fatalf("callback: %d %q, want the consent page", status, loc)
	}
	// The same callback again (a replay, or a reload): refused, and the
	// request that is waiting for consent is not touched.
	if status, again, _ := b.get(t, callback); status != http.StatusBadRequest || again != "" {
		t.Fatalf("replayed callback: %d %q, want 400", status, again)
	}
	b.stopAt = ""
	q, err := b.authorize(t.Context(), s.remote.url+loc)
	if err != nil || q.Get("code") == "" {
		t.Fatalf("consent after the replay: %v, %v", q, err)
	}
}

// holds reports whether raw contains secret as is, or base64-encoded (as a
// JSON []byte field stores it) at any of the three alignments.
func holds(raw []byte, secret string) bool {
	if bytes.Contains(raw, []byte(secret)) {
		return true
	}
	for k := range 3 {
		in := append(make([]byte, k), secret...)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			b := enc.EncodeToString(in)
			if bytes.Contains(raw, []byte(b[4:len(b)-4])) {
				return true
			}
		}
	}
	return false
}

// startSignIn sends b through the remote server's authorization endpoint
// up to its redirect to the upstream's authorization endpoint, which is not
// followed, and returns the state sent there: the state of a sign-in in
// progress, bound to b.
func startSignIn(t testing.TB, s *remoteSetup, b *browser) string {
	t.Helper()
	b.stopAt = s.up.url + authserver.PathAuthorize
	defer func() { b.stopAt = "" }()
	q, _, _ := signIn(t, s.remote.url, b)
	u, err := url.Parse(q.Get("location"))
	if err != nil || u.Query().Get("state") == "" {
		t.Fatalf("redirect to the upstream: %v, %v", q, err)
	}
	return u.Query().Get("state")
}

// callback sends b to the remote server's upstream callback with params and
// state, as the provider's redirect would, and returns the status and
// Location.
func (s *remoteSetup) callback(t *testing.T, b *browser, state string, params url.Values) (int, *url.URL) {
	t.Helper()
	v := url.Values{}
	for k, vs := range params {
		v[k] = vs
	}
	v.Set("state", state)
	status, loc, _ := b.get(t, s.cfg.UpstreamCallbackURL()+"?"+v.Encode())
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("callback Location %q: %v", loc, err)
	}
	return status, u
}

// TestRemoteProviderFailures: the provider's outages reach the MCP client
// as temporarily_unavailable or server_error (RFC 6749 §4.1.2.1), which a
// retry may overcome, not as access_denied.
func TestRemoteProviderFailures(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	for _, tc := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{"temporarily_unavailable", url.Values{"error": {"temporarily_unavailable"}, "iss": {s.up.url}}, "temporarily_unavailable"},
		{"server_error", url.Values{"error": {"server_error"}, "error_description": {"boom"}, "iss": {s.up.url}}, "server_error"},
		{"access_denied", url.Values{"error": {"access_denied"}, "iss": {s.up.url}}, "access_denied"},
		{"a code the provider refuses", url.Values{"code": {"not-a-code"}, "iss": {s.up.url}}, "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			state := startSignIn(t, s, b)
			status, loc := s.callback(t, b, state, tc.params)
			q := loc.Query()
			if status != http.StatusSeeOther || !strings.HasPrefix(loc.String(), mcpRedirectURI) || q.Get("error") != tc.want ||
				q.Get("code") != "" || q.Get("iss") != s.remote.url || q.Get("state") == "" {
				t.Fatalf("callback: %d %s, want %s with state and iss", status, loc, tc.want)
			}
		})
	}

	// The provider's token endpoint cannot be reached.
	down := newRemoteSetupWith(t, memoryStore, func(c *config.Config) { c.Auth.Remote.TokenEndpoint = "http://127.0.0.1:1/token" })
	b := newBrowser(t)
	state := startSignIn(t, down, b)
	status, loc := down.callback(t, b, state, url.Values{"code": {"some-code"}, "iss": {down.up.url}})
	if status != http.StatusSeeOther || loc.Query().Get("error") != "temporarily_unavailable" {
		t.Fatalf("token endpoint unreachable: %d %s, want temporarily_unavailable", status, loc)
	}
}

// TestRemoteLoginPageChangesNothing: in remote mode GET /oauth/login (where
// the consent page sends a browser that has not signed in) starts no new
// upstream sign-in: the pending request keeps its login state, and the
// provider's genuine callback still completes the sign-in.
func TestRemoteLoginPageChangesNothing(t *testing.T) {
	s := newRemoteSetup(t, memoryStore)
	b := newBrowser(t)
	b.stopAt = s.up.url + authserver.PathAuthorize
	q, _, _ := signIn(t, s.remote.url, b)
	upstreamAuth := q.Get("location")
	u, _ := url.Parse(upstreamAuth)
	requestID, _, _ := strings.Cut(u.Query().Get("state"), ".")
	before, err := s.store.GetPending(t.Context(), requestID)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{authserver.PathLogin, authserver.PathConsent} {
		status, loc, body := b.get(t, s.remote.url+path+"?request="+requestID)
		if path == authserver.PathConsent {
			// The consent page sends a browser without a sign-in to the
			// login page.
			if status != http.StatusSeeOther || !strings.Contains(loc, authserver.PathLogin) {
				t.Fatalf("consent before the sign-in: %d %q", status, loc)
			}
			status, loc, body = b.get(t, s.remote.url+loc)
		}
		if status != http.StatusBadRequest || loc != "" || !strings.Contains(body, "has not completed") {
			t.Fatalf("GET %s during the upstream sign-in: %d %q, want the 400 page", path, status, loc)
		}
		p, err := s.store.GetPending(t.Context(), requestID)
		if err != nil || !bytes.Equal(p.Upstream, before.Upstream) || p.Subject != "" {
			t.Fatalf("GET %s changed the pending request: %v", path, err)
		}
	}
	// The sign-in at the provider completes as it began.
	b.stopAt = ""
	q, err = b.authorize(t.Context(), upstreamAuth)
	if err != nil || q.Get("code") == "" {
		t.Fatalf("completing the sign-in: %v, %v (pages %v)", q, err, b.pages)
	}
}

// FuzzUpstreamCallback sends the provider's redirect to the callback of a
// browser with a sign-in in progress, with the genuine state and arbitrary
// other parameters (code, iss, error, repeats, anything), so that each
// input reaches the broker's Finish: the answer is always the error page
// (400) or an error for the client (access_denied, temporarily_unavailable,
// server_error), never a code, a page of ours or a server error.
func FuzzUpstreamCallback(f *testing.F) {
	s := newRemoteSetup(f, memoryStore)
	f.Add("code=x")
	f.Add("error=access_denied")
	f.Add("error=temporarily_unavailable&iss=" + url.QueryEscape(s.up.url))
	f.Add("error=server_error&error_description=%00&iss=" + url.QueryEscape(s.up.url))
	f.Add("code=c&iss=http://x")
	f.Add("code=" + strings.Repeat("A", 43) + "&iss=" + url.QueryEscape(s.up.url))
	f.Add("code=a&code=b")
	f.Add("")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		params, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		b := newBrowser(t)
		state := startSignIn(t, s, b)
		status, loc := s.callback(t, b, state, params)
		q := loc.Query()
		switch {
		case status == http.StatusBadRequest:
		case status == http.StatusSeeOther && strings.HasPrefix(loc.String(), mcpRedirectURI) && q.Get("code") == "" &&
			(q.Get("error") == "access_denied" || q.Get("error") == "temporarily_unavailable" || q.Get("error") == "server_error"):
		default:
			t.Fatalf("callback ?%s: %d %q", rawQuery, status, loc)
		}
	})
}
