package frontmcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// startServer runs a public-mode server with the memory store on a free
// loopback port and returns its base URL. edit may change the config first.
func startServer(t *testing.T, edit func(*config.Config), setup func(*frontmcp.Server)) (string, *frontmcp.Server, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default(config.Development)
	cfg.HTTP.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	cfg.Auth.Mode = config.ModePublic
	if edit != nil {
		edit(cfg)
	}
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), srv, stop
}

type whoamiOut struct {
	Subject       string `json:"subject"`
	Anonymous     bool   `json:"anonymous"`
	Authorization string `json:"authorization"`
}

func addWhoami(srv *frontmcp.Server) {
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoamiOut, error) {
		p := frontmcp.PrincipalOf(req)
		return nil, whoamiOut{Subject: p.Subject, Anonymous: p.Anonymous, Authorization: req.Extra.Header.Get("Authorization")}, nil
	})
}

// headerTransport adds headers to every request the MCP client sends.
type headerTransport struct{ h http.Header }

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.h {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}

func connect(t *testing.T, endpoint string, hc *http.Client) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func TestPublicModeAnonymousPrincipal(t *testing.T) {
	base, _, _ := startServer(t, nil, addWhoami)
	hc := &http.Client{Transport: headerTransport{http.Header{"Authorization": {"Bearer leaked-token"}}}}
	cs := connect(t, base+"/mcp", hc)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := res.StructuredContent.(map[string]any)
	if out["anonymous"] != true || out["subject"] != "anonymous:"+cs.ID() {
		t.Errorf("principal = %v, want anonymous bound to session %s", out, cs.ID())
	}
	if out["authorization"] != "" {
		t.Errorf("tool saw Authorization header %q; credentials must not reach tools", out["authorization"])
	}
}

func TestStatelessSessionMode(t *testing.T) {
	base, _, _ := startServer(t, func(c *config.Config) { c.Auth.SessionMode = config.SessionStateless }, addWhoami)
	resp := postInitialize(t, base+"/mcp", "127.0.0.1", "")
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" || resp.StatusCode != 200 {
		t.Fatalf("stateless: status %d, Mcp-Session-Id %q; want 200 and no session", resp.StatusCode, id)
	}
	// A stateful server hands out a session id.
	base2, _, _ := startServer(t, nil, nil)
	if id := postInitialize(t, base2+"/mcp", "127.0.0.1", "").Header.Get("Mcp-Session-Id"); id == "" {
		t.Fatal("stateful: no Mcp-Session-Id")
	}
}

func postInitialize(t *testing.T, url, host, origin string) *http.Response {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestHostAndOriginValidation(t *testing.T) {
	base, _, _ := startServer(t, func(c *config.Config) {
		c.HTTP.AllowedHosts = []string{"mcp.internal"}
		c.HTTP.AllowedOrigins = []string{"https://app.example"}
	}, nil)
	port := strings.TrimPrefix(base, "http://127.0.0.1:")
	tests := []struct {
		name, host, origin string
		want               int
	}{
		{"loopback", "127.0.0.1:" + port, "", 200},
		{"localhost", "localhost:" + port, "", 200},
		{"configured host", "mcp.internal", "", 200},
		{"rebinding host", "evil.example:" + port, "", 403},
		{"local origin", "localhost:" + port, "http://localhost:6274", 200},
		{"configured origin", "localhost:" + port, "https://app.example", 200},
		{"foreign origin", "localhost:" + port, "https://evil.example", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := postInitialize(t, base+"/mcp", tt.host, tt.origin).StatusCode; got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	base, srv, _ := startServer(t, nil, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Host = "10.1.2.3:" + strconv.Itoa(srv.Config().HTTP.Port) // probes address pods by IP
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	// Readiness follows the store: once it is closed, /readyz says 503.
	srv.Store().Close()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with a closed store: %d, want 503", resp.StatusCode)
	}
}

// TestShutdownEndsOpenStreams checks that graceful shutdown does not wait for
// a client's standing SSE stream: Serve returns without hitting its timeout.
func TestShutdownEndsOpenStreams(t *testing.T) {
	base, _, stop := startServer(t, nil, addWhoami)
	cs := connect(t, base+"/mcp", nil)
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "whoami"}); err != nil {
		t.Fatal(err)
	}
	// The go-sdk client keeps a GET stream open for server-initiated messages.
	if err := stop(); err != nil {
		t.Fatalf("Serve after shutdown: %v (want a clean, graceful stop)", err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := config.Default(config.Production) // production must name its auth mode
	_, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	var cerrs config.Errors
	if err == nil || !errors.As(err, &cerrs) {
		t.Fatalf("New(production defaults) = %v, want config.Errors", err)
	}
}

// Instances on one store sign with one generated key, and a new instance (a
// restart) finds it: tokens survive deployments.
func TestGeneratedKeyIsSharedThroughTheStore(t *testing.T) {
	shared := memstore.New(nil)
	kids := func() []string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default(config.Development)
		cfg.HTTP.Port = ln.Addr().(*net.TCPAddr).Port
		cfg.Auth.TokenStorage.Type = config.StorageMemory
		cfg.Auth.Local.Users = []config.User{{Username: "u", PasswordHash: "$2a$10$XiLohFzlMifl1batVHsHIu/dA5UwqFd/XRDCDrhioewtniQzdGwKW"}}
		srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Store: shared, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, ln) }()
		defer func() { cancel(); <-done }()
		resp, err := http.Get("http://" + ln.Addr().String() + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct{ Keys []struct{ Kid string } }
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	first, second := kids(), kids()
	if len(first) != 1 || len(second) != 1 || first[0] != second[0] {
		t.Fatalf("JWKS kids %v then %v: want one shared key", first, second)
	}
}
