package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/keys"
	"golang.org/x/oauth2"
)

// serveAt runs a server with cfg on addr until the returned stop is called.
func serveAt(t *testing.T, cfg *config.Config, addr string) (stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		ln.Close()
		t.Fatalf("frontmcp.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
}

// The checklist's "tokens invalid after deployment" must not happen: an access
// token issued before a restart is accepted after it — with a configured key
// (JWT_SIGNING_KEY) and with a generated key kept in the file store.
func TestAccessTokenSurvivesRestart(t *testing.T) {
	key, err := keys.Generate("EdDSA", "prod-key-1")
	if err != nil {
		t.Fatal(err)
	}
	signKey, _ := json.Marshal(key)
	for _, tc := range []struct {
		name    string
		signKey []byte
	}{{"JWT_SIGNING_KEY", signKey}, {"generated key in the file store", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load("testdata/local.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Auth.TokenStorage.Type = config.StorageFile
			cfg.Auth.TokenStorage.File.Path = filepath.Join(t.TempDir(), "store.db")
			cfg.Auth.Local.SignKey = tc.signKey
			probe, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := probe.Addr().String()
			probe.Close()
			cfg.HTTP.Port = probe.Addr().(*net.TCPAddr).Port

			ctx := context.Background()
			stop := serveAt(t, cfg, addr)
			_, asm, err := discover(ctx, cfg.MCPURL())
			if err != nil {
				t.Fatal(err)
			}
			const redirectURI = "http://127.0.0.1:9/callback"
			c, err := registerClient(ctx, asm.RegistrationEndpoint, redirectURI)
			if err != nil {
				t.Fatal(err)
			}
			oc := &oauth2.Config{ClientID: c.ClientID, Endpoint: oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint},
				RedirectURL: redirectURI, Scopes: []string{scopeTools}}
			tok := authorizeAndExchange(t, ctx, oc, cfg.MCPURL())
			header, _, err := jwtParts(tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if tc.signKey != nil && header["kid"] != "prod-key-1" {
				t.Fatalf("token kid %v, want the configured prod-key-1", header["kid"])
			}
			if got := mcpStatus(t, cfg.MCPURL(), tok.AccessToken); got != http.StatusOK {
				t.Fatalf("before restart: %d", got)
			}
			stop()

			stop = serveAt(t, cfg, addr)
			defer stop()
			if got := mcpStatus(t, cfg.MCPURL(), tok.AccessToken); got != http.StatusOK {
				t.Fatalf("after restart the access token gets %d, want 200", got)
			}
		})
	}
}

// mcpStatus posts an MCP initialize with the bearer token and returns the status.
func mcpStatus(t *testing.T, mcpURL, accessToken string) int {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	resp, err := postMCP(context.Background(), mcpURL, "Bearer "+accessToken, body)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
