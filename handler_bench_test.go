package frontmcp_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/authserver"
	"github.com/frontmcp-go/frontmcp/bench/client"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/internal/whoami"
)

// benchServer runs a server with the memory store on a loopback port (the
// OAuth flows that prepare a benchmark go over HTTP) and returns it with its
// base URL. Orchestrated mode signs in every user with any password, asks
// for consent and lets requests without a token in as anonymous.
func benchServer(b *testing.B, mode config.AuthMode) (*frontmcp.Server, string) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default(config.Development)
	cfg.HTTP.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	cfg.Auth.Mode = mode
	opts := &frontmcp.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)}
	if mode == config.ModeOrchestrated {
		cfg.Auth.AllowDefaultPublic = true
		cfg.Auth.Scopes = []string{"mcp:tools"}
		opts.Authenticator = authserver.AuthenticatorFunc(func(_ context.Context, user, _ string) (*authserver.Identity, error) {
			return &authserver.Identity{Subject: user}, nil
		})
	}
	srv, err := frontmcp.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := whoami.Add(srv); err != nil { // the tool of cmd/frontmcp
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return srv, cfg.BaseURL()
}

// benchToken authorizes a client of the server at base through the login
// and consent pages and redeems the code.
func benchToken(b *testing.B, base string) (*client.OAuthClient, *client.Token) {
	b.Helper()
	hc := &http.Client{Transport: client.NewTransport(2), Timeout: 10 * time.Second}
	meta, err := client.FetchMetadata(b.Context(), hc, base)
	if err != nil {
		b.Fatal(err)
	}
	oc, err := client.Register(b.Context(), hc, meta, "http://127.0.0.1:9/callback", base+"/mcp", "mcp:tools")
	if err != nil {
		b.Fatal(err)
	}
	code, err := oc.Authorize(b.Context(), "alice", "any")
	if err != nil {
		b.Fatal(err)
	}
	tok, err := oc.Redeem(b.Context(), code)
	if err != nil {
		b.Fatal(err)
	}
	return oc, tok
}

// BenchmarkHandlerToolsCall is one tools/call (cmd/frontmcp's whoami) on
// an initialized session through the server's whole handler (host and
// origin guard, bearer middleware, store-backed sessions, go-sdk), in
// process with a response recorder:
//
//   - token: orchestrated mode with an access token;
//   - anonymous: orchestrated mode without one (auth.allowDefaultPublic),
//     through the same middleware;
//   - public: public mode.
//
// token − public is what authentication costs an MCP request, including
// the longer answer of whoami for a signed-in caller; token − anonymous is
// the token's share.
func BenchmarkHandlerToolsCall(b *testing.B) {
	for _, variant := range []string{"token", "anonymous", "public"} {
		b.Run(variant, func(b *testing.B) {
			mode := config.ModeOrchestrated
			if variant == "public" {
				mode = config.ModePublic
			}
			srv, base := benchServer(b, mode)
			authz := ""
			if variant == "token" {
				_, tok := benchToken(b, base)
				authz = "Bearer " + tok.AccessToken
			}
			hc := &http.Client{Transport: client.NewTransport(2), Timeout: 10 * time.Second}
			sess, err := client.Open(b.Context(), hc, base+"/mcp", authz)
			if err != nil {
				b.Fatal(err)
			}
			host := strings.TrimPrefix(base, "http://")
			body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
			h := srv.Handler()
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
				req.Host = host
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("Mcp-Session-Id", sess.ID)
				req.Header.Set("Mcp-Protocol-Version", client.ProtocolVersion)
				if authz != "" {
					req.Header.Set("Authorization", authz)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"subject"`) {
					b.Fatalf("tools/call: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkHandlerRefresh is one refresh_token grant (rotation, a public
// client registered through RFC 7591) through the server's whole handler,
// in process with a response recorder. Each iteration presents the refresh
// token of the previous answer.
func BenchmarkHandlerRefresh(b *testing.B) {
	srv, base := benchServer(b, config.ModeOrchestrated)
	oc, tok := benchToken(b, base)
	host := strings.TrimPrefix(base, "http://")
	rt := tok.RefreshToken
	h := srv.Handler()
	b.ReportAllocs()
	for b.Loop() {
		form := "grant_type=refresh_token&client_id=" + url.QueryEscape(oc.ClientID) + "&refresh_token=" + url.QueryEscape(rt)
		req := httptest.NewRequest(http.MethodPost, oc.Meta.TokenEndpoint, strings.NewReader(form))
		req.Host = host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		next := jsonString(w.Body.String(), "refresh_token")
		if w.Code != http.StatusOK || next == "" || next == rt {
			b.Fatalf("refresh: %d %s", w.Code, w.Body)
		}
		rt = next
	}
}

// jsonString returns the string member name of a flat JSON object whose
// strings need no unescaping (token responses), or "".
func jsonString(body, name string) string {
	_, rest, ok := strings.Cut(body, `"`+name+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}
