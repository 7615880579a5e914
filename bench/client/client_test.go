package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/crypto/argon2"
)

const (
	testUser     = "bench"
	testPassword = "bench-test-password"
	testScope    = "mcp:tools"
	testRedirect = "http://127.0.0.1:9/callback"
)

// testServer runs a frontmcp server (orchestrated/local, memory store, one
// user, consent on, or public mode) on a loopback port until the test ends,
// with a whoami tool, and returns its base URL.
func testServer(t *testing.T, public bool) string {
	t.Helper()
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(testPassword), salt, 1, 8, 1, 32)
	b64 := base64.RawStdEncoding
	yaml := "environment: development\nlogging: {level: error}\nauth:\n"
	if public {
		yaml += "  mode: public\n  tokenStorage: {type: memory}\n"
	} else {
		yaml += fmt.Sprintf("  mode: orchestrated\n  tokenStorage: {type: memory}\n  scopes: [%s]\n"+
			"  local:\n    users:\n      - username: %s\n        passwordHash: \"$argon2id$v=19$m=8,t=1,p=1$%s$%s\"\n"+
			"  consent: {enabled: true}\n", testScope, testUser, b64.EncodeToString(salt), b64.EncodeToString(key))
	}
	path := filepath.Join(t.TempDir(), "frontmcp.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Port = ln.Addr().(*net.TCPAddr).Port
	log, err := frontmcp.NewLogger(t.Output(), cfg.Logging)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	type who struct {
		Subject   string `json:"subject"`
		Anonymous bool   `json:"anonymous"`
	}
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "whoami"}, func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, who, error) {
		p := frontmcp.PrincipalOf(req)
		return nil, who{Subject: p.Subject, Anonymous: p.Anonymous}, nil
	})
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "fail"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return nil, nil, errors.New("always fails")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return cfg.BaseURL()
}

func newHTTP() *http.Client {
	return &http.Client{Transport: NewTransport(4), Timeout: 10 * time.Second}
}

func register(t *testing.T, hc *http.Client, base string) *OAuthClient {
	t.Helper()
	meta, err := FetchMetadata(t.Context(), hc, base)
	if err != nil {
		t.Fatal(err)
	}
	oc, err := Register(t.Context(), hc, meta, testRedirect, base+"/mcp", testScope)
	if err != nil {
		t.Fatal(err)
	}
	return oc
}

// TestOAuthFlow runs the flows the harness measures against a real server:
// authorization through the login and consent pages, code redemption,
// refresh rotation, and a tool call with the access token.
func TestOAuthFlow(t *testing.T) {
	base := testServer(t, false)
	hc := newHTTP()
	oc := register(t, hc, base)
	ctx := t.Context()

	code, err := oc.Authorize(ctx, testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := oc.Redeem(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	// A code is single-use.
	var se *StatusError
	if _, err := oc.Redeem(ctx, code); !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		t.Errorf("second redemption: %v, want a 400", err)
	}

	// The first redemption's grant was revoked by the replay; start again.
	if code, err = oc.Authorize(ctx, testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	if tok, err = oc.Redeem(ctx, code); err != nil {
		t.Fatal(err)
	}
	next, err := oc.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == tok.RefreshToken || next.AccessToken == "" {
		t.Errorf("refresh did not rotate: %+v", next)
	}
	// Reusing the rotated-out token is refused (and revokes the grant).
	if _, err := oc.Refresh(ctx, tok.RefreshToken); !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		t.Errorf("reused refresh token: %v, want a 400", err)
	}

	if code, err = oc.Authorize(ctx, testUser, testPassword); err != nil {
		t.Fatal(err)
	}
	if tok, err = oc.Redeem(ctx, code); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, hc, base+"/mcp", "Bearer "+tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" {
		t.Error("no Mcp-Session-Id")
	}
	for range 3 {
		raw, err := s.CallTool(ctx, "whoami")
		if err != nil {
			t.Fatal(err)
		}
		var who struct {
			Subject   string `json:"subject"`
			Anonymous bool   `json:"anonymous"`
		}
		if err := json.Unmarshal(raw, &who); err != nil || who.Subject != testUser || who.Anonymous {
			t.Errorf("whoami = %s (%v), want subject %s", raw, err, testUser)
		}
	}
	if _, err := s.CallTool(ctx, "fail"); !errors.Is(err, ErrToolError) {
		t.Errorf("tool error: %v, want ErrToolError", err)
	}
	var rpcErr *RPCError
	if _, err := s.CallTool(ctx, "no-such-tool"); !errors.As(err, &rpcErr) && !errors.Is(err, ErrToolError) {
		t.Errorf("unknown tool: %v, want a JSON-RPC or tool error", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := s.CallTool(ctx, "whoami"); !errors.As(err, &se) || se.Status != http.StatusNotFound {
		t.Errorf("call after Close: %v, want a 404", err)
	}

	// Without a token the MCP endpoint answers 401.
	if _, err := Open(ctx, hc, base+"/mcp", ""); !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Errorf("Open without a token: %v, want a 401", err)
	}
}

func TestAuthorizeWrongPassword(t *testing.T) {
	base := testServer(t, false)
	hc := newHTTP()
	oc := register(t, hc, base)
	if _, err := oc.Authorize(t.Context(), testUser, "wrong"); !errors.Is(err, ErrLoginRejected) {
		t.Errorf("Authorize with a wrong password: %v, want ErrLoginRejected", err)
	}
}

func TestPublicSession(t *testing.T) {
	base := testServer(t, true)
	hc := newHTTP()
	s, err := Open(t.Context(), hc, base+"/mcp", "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.CallTool(t.Context(), "whoami")
	if err != nil {
		t.Fatal(err)
	}
	var who struct {
		Anonymous bool `json:"anonymous"`
	}
	if err := json.Unmarshal(raw, &who); err != nil || !who.Anonymous {
		t.Errorf("whoami in public mode = %s, want anonymous", raw)
	}
	if _, err := FetchMetadata(t.Context(), hc, base); err == nil {
		t.Error("public mode serves authorization server metadata")
	}
}

func TestTransportLoopbackOnly(t *testing.T) {
	hc := &http.Client{Transport: NewTransport(1)}
	for _, u := range []string{"http://192.0.2.1/", "http://example.com/"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hc.Do(req); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("GET %s: %v, want ErrNotLoopback", u, err)
		}
	}
}
