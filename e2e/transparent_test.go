package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
)

// Transparent mode is tested against a real identity provider: a second
// frontmcp server in orchestrated/local mode, whose authorization server
// issues RFC 9068 access tokens and publishes its keys at
// /.well-known/jwks.json.
//
// The audience. An access token's "aud" is the resource the client asked for
// (RFC 8707), and frontmcp's authorization server issues tokens only for its
// own canonical MCP URL: any other resource indicator is refused with
// invalid_target. So that the MCP client can do the whole flow the MCP
// specification describes — discover the transparent server's protected
// resource metadata, follow authorization_servers to the provider, and ask
// for a token whose audience is the transparent server's URL — the provider
// and the transparent server share one origin, as an identity provider and
// an API behind one gateway do: the transparent server answers /mcp and its
// metadata, the provider everything else. Both have the same public URL, so
// the provider's resource is the transparent server's MCP URL, and
// auth.expectedAudience is that URL. A second transparent server on another
// origin, expecting its own URL as audience, shows that a token the same
// provider minted for another service is refused.

// transparentPair is a provider and a transparent server on one origin.
type transparentPair struct {
	Base   string // the shared public URL: the provider's issuer
	MCPURL string // the transparent server's MCP endpoint
	clock  *testclock.Clock
	store  store.Store // the provider's first store (grants, clients, keys)

	provider  atomic.Pointer[frontmcp.Server] // swapped to rotate its key
	resource  *frontmcp.Server
	jwksDown  atomic.Bool
	jwksGets  atomic.Int64
	idpConfig *config.Config
}

// transparentWhoami is the whoami of the transparent server: the principal,
// and whether the request that reached the tool still carried credentials.
type transparentWhoami struct {
	Subject       string   `json:"subject"`
	ClientID      string   `json:"clientId"`
	Scopes        []string `json:"scopes"`
	Authorization bool     `json:"authorizationHeaderSeen"`
}

// startTransparentPair starts the provider and the transparent server on a
// free loopback port, on one clock.
func startTransparentPair(t *testing.T) *transparentPair {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	p := &transparentPair{clock: testclock.New(time.Now().Truncate(time.Second))}
	p.store = memstore.New(&memstore.Options{Clock: p.clock.Now})

	// The provider: testdata/local.yaml with hour-long access tokens, so
	// that the outage test can move the clock past the key set's stale
	// limit while the token stays valid.
	if p.idpConfig, err = config.Load("testdata/local.yaml", nil); err != nil {
		t.Fatal(err)
	}
	p.idpConfig.HTTP.Port = port
	p.idpConfig.Auth.Refresh.AccessTokenTTL = time.Hour
	p.startProvider(t, p.store)
	p.Base = p.idpConfig.BaseURL()

	cfg := config.Default(config.Development)
	cfg.Info.Name = "frontmcp-e2e-transparent"
	cfg.HTTP.Port = port
	cfg.Auth.Mode = config.ModeTransparent
	cfg.Auth.Type = ""
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	cfg.Auth.Provider = p.Base
	cfg.Auth.ExpectedAudience = p.idpConfig.MCPURL()
	cfg.Auth.Scopes = []string{scopeTools, scopeAdmin}
	cfg.Auth.Transparent.RequiredScopes = []string{scopeTools}
	cfg.Auth.Transparent.JWKSCacheTTL = config.JWKSCacheTTL{Min: time.Minute, Max: time.Hour, Stale: 10 * time.Minute}
	p.resource = newQuietServer(t, cfg, nil, p.clock)
	p.MCPURL = cfg.MCPURL()
	mcp.AddTool(p.resource.MCP(), &mcp.Tool{Name: "whoami"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, transparentWhoami, error) {
			pr := frontmcp.PrincipalOf(req)
			return nil, transparentWhoami{
				Subject: pr.Subject, ClientID: pr.ClientID, Scopes: slices.Sorted(slices.Values(pr.Scopes)),
				Authorization: req.Extra != nil && req.Extra.Header.Get("Authorization") != "",
			}, nil
		})

	hs := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		p.resource.Close()
		p.provider.Load().Close()
	})
	return p
}

// startProvider (re)starts the provider on st: it loads its signing keys
// from st, or generates one there.
func (p *transparentPair) startProvider(t *testing.T, st store.Store) {
	t.Helper()
	srv := newQuietServer(t, p.idpConfig, st, p.clock)
	if old := p.provider.Swap(srv); old != nil {
		old.Close()
	}
}

func newQuietServer(t *testing.T, cfg *config.Config, st store.Store, clock *testclock.Clock) *frontmcp.Server {
	t.Helper()
	logCfg := cfg.Logging
	logCfg.Level = "warn"
	logger, err := frontmcp.NewLogger(t.Output(), logCfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: logger, Store: st, Clock: clock.Now})
	if err != nil {
		t.Fatalf("frontmcp.New (%s): %v", cfg.Auth.Mode, err)
	}
	return srv
}

// ServeHTTP routes the MCP endpoint and its metadata to the transparent
// server and everything else to the provider, whose key set endpoint can be
// taken down and is counted.
func (p *transparentPair) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/mcp" || strings.HasPrefix(r.URL.Path, "/.well-known/oauth-protected-resource"):
		p.resource.Handler().ServeHTTP(w, r)
	case r.URL.Path == "/.well-known/jwks.json":
		p.jwksGets.Add(1)
		if p.jwksDown.Load() {
			http.Error(w, "key set unavailable", http.StatusServiceUnavailable)
			return
		}
		fallthrough
	default:
		p.provider.Load().Handler().ServeHTTP(w, r)
	}
}

// oauth2Config registers a client at the provider and returns its x/oauth2
// configuration.
func (p *transparentPair) oauth2Config(t *testing.T, ctx context.Context) *oauth2.Config {
	t.Helper()
	var asm authServerMetadata
	if err := getJSON(ctx, p.Base+"/.well-known/oauth-authorization-server", &asm); err != nil {
		t.Fatal(err)
	}
	c, err := registerClient(ctx, asm.RegistrationEndpoint, redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	return &oauth2.Config{
		ClientID:    c.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: redirectURI,
		Scopes:      []string{scopeTools, scopeAdmin},
	}
}

// status posts an MCP initialize with the bearer token and returns the HTTP
// status and the Bearer challenge's error.
func status(t *testing.T, ctx context.Context, mcpURL, tok string) (int, string) {
	t.Helper()
	resp, err := postMCP(ctx, mcpURL, "Bearer "+tok, initializeBody)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := bearerChallenge(resp.Header)
	return resp.StatusCode, ch["error"]
}

// TestTransparentGoSDKClient: the go-sdk client's OAuth handler connects to
// the transparent server, is sent by its protected resource metadata to the
// external provider, registers, logs in there and calls a tool with the
// provider's token. The transparent server serves no OAuth endpoints, and
// the tool never sees the token.
func TestTransparentGoSDKClient(t *testing.T) {
	t.Parallel()
	p := startTransparentPair(t)
	ctx := t.Context()

	prm, asm, err := discover(ctx, p.MCPURL)
	if err != nil {
		t.Fatal(err)
	}
	if prm.Resource != p.MCPURL || !slices.Equal(prm.AuthorizationServers, []string{p.Base}) {
		t.Errorf("PRM resource %q authorization_servers %q, want %q and the provider %q", prm.Resource, prm.AuthorizationServers, p.MCPURL, p.Base)
	}
	if asm.Issuer != p.Base {
		t.Errorf("provider issuer %q, want %q", asm.Issuer, p.Base)
	}
	// No /oauth/* (or authorization server metadata) on the transparent server.
	for _, path := range []string{"/oauth/token", "/oauth/authorize", "/oauth/register", "/.well-known/oauth-authorization-server", "/.well-known/jwks.json"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = strings.TrimPrefix(p.Base, "http://")
		w := &statusWriter{header: http.Header{}}
		p.resource.Handler().ServeHTTP(w, req)
		if w.status != http.StatusNotFound {
			t.Errorf("transparent server GET %s: %d, want 404", path, w.status)
		}
	}

	var opened int
	handler, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				ClientName:              "frontmcp e2e (transparent, go-sdk)",
				RedirectURIs:            []string{redirectURI},
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				TokenEndpointAuthMethod: "none",
			},
		},
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			opened++
			ua := newUserAgent(t)
			loc, err := ua.authorize(ctx, args.URL, redirectURI)
			if err != nil {
				t.Errorf("user agent: %v (trace %+v)", err, ua.trace)
				return nil, err
			}
			q := loc.Query()
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
		Client: &http.Client{Timeout: 20 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-transparent", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: p.MCPURL, OAuthHandler: handler}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer cs.Close()
	if opened != 1 {
		t.Errorf("the handler opened %d authorization URLs, want 1", opened)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var who transparentWhoami
	if err := json.Unmarshal(raw, &who); err != nil {
		t.Fatal(err)
	}
	want := transparentWhoami{Subject: testUser, Scopes: []string{scopeAdmin, scopeTools}}
	if diff := cmp.Diff(want, who, cmp.FilterPath(func(cp cmp.Path) bool { return cp.Last().String() == ".ClientID" }, cmp.Ignore())); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
	if who.ClientID == "" {
		t.Error("whoami: no client id")
	}
	if got := p.jwksGets.Load(); got != 1 {
		t.Errorf("%d key set fetches, want 1", got)
	}
}

// statusWriter is a minimal ResponseWriter that keeps the status.
type statusWriter struct {
	header http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.header }
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
func (w *statusWriter) WriteHeader(code int) { w.status = code }

// TestTransparentKeyRotation rotates the provider's key twice, and the
// transparent server keeps working without a restart:
//
//   - a scheduled rotation (frontmcp keys rotate): the next key is published
//     in the provider's JWKS before it signs; once it signs, its tokens are
//     accepted, and tokens of the previous key stay valid while that key is
//     published;
//   - an abrupt replacement: a provider with a brand-new key nobody has seen.
//     Its first token names an unknown kid, which makes the transparent server
//     refetch the key set at once; a token of the withdrawn key is then
//     refused, although the server had cached it as verified.
func TestTransparentKeyRotation(t *testing.T) {
	t.Parallel()
	p := startTransparentPair(t)
	ctx := t.Context()
	cfg := p.oauth2Config(t, ctx)
	tok1 := authorizeAndExchange(t, ctx, cfg, p.MCPURL)
	if code, e := status(t, ctx, p.MCPURL, tok1.AccessToken); code != http.StatusOK {
		t.Fatalf("first token: %d %s", code, e)
	}

	// Scheduled rotation on the provider's store; the provider restarts
	// and publishes the next key, which signs after the pre-publication
	// window (JWKS max-age + two key refreshes, 7 minutes).
	km, err := frontmcp.NewKeyManager(ctx, p.idpConfig, p.store, p.clock.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	p.startProvider(t, p.store)
	p.clock.Advance(8 * time.Minute)
	tok2, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok1.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh after the rotation: %v", err)
	}
	if kid(t, tok2.AccessToken) == kid(t, tok1.AccessToken) {
		t.Fatalf("the provider still signs with %s after the rotation", kid(t, tok1.AccessToken))
	}
	for name, tok := range map[string]string{"next key": tok2.AccessToken, "previous key": tok1.AccessToken} {
		if code, e := status(t, ctx, p.MCPURL, tok); code != http.StatusOK {
			t.Errorf("scheduled rotation, token of the %s: %d %s, want 200", name, code, e)
		}
	}
	if got := p.jwksGets.Load(); got != 2 {
		t.Errorf("%d key set fetches, want 2 (start, and once the cached set's 5 minutes had passed)", got)
	}

	// Abrupt replacement: a provider on a new store, with a key that was
	// never published before it signs.
	p.startProvider(t, memstore.New(&memstore.Options{Clock: p.clock.Now}))
	p.clock.Advance(2 * time.Minute) // past the refetch rate limit (min 1m)
	tok3 := authorizeAndExchange(t, ctx, p.oauth2Config(t, ctx), p.MCPURL)
	if code, e := status(t, ctx, p.MCPURL, tok3.AccessToken); code != http.StatusOK {
		t.Fatalf("token of a never-published key: %d %s, want 200 without a restart", code, e)
	}
	if got := p.jwksGets.Load(); got != 3 {
		t.Errorf("%d key set fetches, want 3 (one refetch for the unknown kid)", got)
	}
	for name, tok := range map[string]string{"first": tok1.AccessToken, "second": tok2.AccessToken} {
		if code, e := status(t, ctx, p.MCPURL, tok); code != http.StatusUnauthorized || e != "invalid_token" {
			t.Errorf("cached token of the %s, withdrawn key: %d %s, want 401 invalid_token", name, code, e)
		}
	}
}

// kid returns the key id in the header of a JWT.
func kid(t *testing.T, tok string) string {
	t.Helper()
	h, _, err := jwtParts(tok)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := h["kid"].(string)
	return k
}

// TestTransparentProviderOutage takes the provider's key set endpoint down:
// tokens keep validating on the cached keys until their lifetime
// (Cache-Control max-age 300) plus the stale limit (10 m), then requests fail
// closed with 503, and work again once the endpoint is back.
func TestTransparentProviderOutage(t *testing.T) {
	t.Parallel()
	p := startTransparentPair(t)
	ctx := t.Context()
	tok := authorizeAndExchange(t, ctx, p.oauth2Config(t, ctx), p.MCPURL).AccessToken
	if code, e := status(t, ctx, p.MCPURL, tok); code != http.StatusOK {
		t.Fatalf("before the outage: %d %s", code, e)
	}
	p.jwksDown.Store(true)
	fetched := p.clock.Now()
	for _, after := range []time.Duration{5 * time.Minute, 10 * time.Minute, 14*time.Minute + 59*time.Second} {
		p.clock.Set(fetched.Add(after))
		if code, e := status(t, ctx, p.MCPURL, tok); code != http.StatusOK {
			t.Fatalf("%v after the last fetch, provider down: %d %s, want 200 on the cached keys", after, code, e)
		}
	}
	p.clock.Set(fetched.Add(15 * time.Minute))
	resp, err := postMCP(ctx, p.MCPURL, "Bearer "+tok, initializeBody)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("past the stale limit: %d, want 503 (fail closed)", resp.StatusCode)
	}
	if p.jwksGets.Load() < 2 {
		t.Error("no fetch attempt during the outage")
	}
	p.jwksDown.Store(false)
	p.clock.Advance(5 * time.Minute) // the longest retry backoff
	if code, e := status(t, ctx, p.MCPURL, tok); code != http.StatusOK {
		t.Fatalf("after recovery: %d %s", code, e)
	}
}

// TestTransparentRefusals: tokens the same provider minted for another
// service, tokens of another provider, and a token in the query string.
func TestTransparentRefusals(t *testing.T) {
	t.Parallel()
	p := startTransparentPair(t)
	ctx := t.Context()
	tok := authorizeAndExchange(t, ctx, p.oauth2Config(t, ctx), p.MCPURL)

	// A second transparent server trusting the same provider, on its own
	// origin and expecting its own URL as audience: the token was minted
	// for the first one (aud = its URL) and must be refused here.
	other := config.Default(config.Development)
	other.Auth.Mode, other.Auth.Type = config.ModeTransparent, ""
	other.Auth.TokenStorage.Type = config.StorageMemory
	other.Auth.Provider = p.Base
	_, otherURL := serveOn(t, other, p.clock, func(c *config.Config) { c.Auth.ExpectedAudience = c.MCPURL() })
	if code, e := status(t, ctx, otherURL, tok.AccessToken); code != http.StatusUnauthorized || e != "invalid_token" {
		t.Errorf("token for another service: %d %s, want 401 invalid_token", code, e)
	}

	// Another provider (its own issuer and keys): its token, although
	// minted with the right resource, is refused.
	rogue, err := config.Load("testdata/local.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, rogueMCP := serveOn(t, rogue, p.clock, nil)
	rogueBase := strings.TrimSuffix(rogueMCP, "/mcp")
	var asm authServerMetadata
	if err := getJSON(ctx, rogueBase+"/.well-known/oauth-authorization-server", &asm); err != nil {
		t.Fatal(err)
	}
	c, err := registerClient(ctx, asm.RegistrationEndpoint, redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	rogueTok := authorizeAndExchange(t, ctx, &oauth2.Config{
		ClientID: c.ClientID, RedirectURL: redirectURI, Scopes: []string{scopeTools},
		Endpoint: oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
	}, rogueMCP)
	if code, e := status(t, ctx, p.MCPURL, rogueTok.AccessToken); code != http.StatusUnauthorized || e != "invalid_token" {
		t.Errorf("another provider's token: %d %s, want 401 invalid_token", code, e)
	}

	// RFC 6750 §2.3 is not supported: a token in the query string is refused.
	resp, err := postMCP(ctx, p.MCPURL+"?access_token="+tok.AccessToken, "", initializeBody)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("token in the query string: %d, want 400", resp.StatusCode)
	}
	// The valid token still works.
	if code, e := status(t, ctx, p.MCPURL, tok.AccessToken); code != http.StatusOK {
		t.Errorf("valid token: %d %s", code, e)
	}
}

// serveOn runs cfg (edited by mod once the port is known) on a free
// loopback port and returns the server and its MCP URL.
func serveOn(t *testing.T, cfg *config.Config, clock *testclock.Clock, mod func(*config.Config)) (*frontmcp.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Port = ln.Addr().(*net.TCPAddr).Port
	if mod != nil {
		mod(cfg)
	}
	srv := newQuietServer(t, cfg, nil, clock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, cfg.MCPURL()
}
