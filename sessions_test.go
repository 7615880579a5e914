package frontmcp_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
)

// countingStore counts the sessions created in a real store (it observes,
// the memstore does the work).
type countingStore struct {
	store.Store
	created atomic.Int64
}

func (c *countingStore) CreateSession(ctx context.Context, s *store.Session) error {
	c.created.Add(1)
	return c.Store.CreateSession(ctx, s)
}

// serveOn runs a public-mode server on st with session mode mode and
// returns its MCP URL.
func serveOn(t *testing.T, st store.Store, mode config.SessionMode) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default(config.Development)
	cfg.HTTP.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	cfg.Auth.Mode = config.ModePublic
	cfg.Auth.SessionMode = mode
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addWhoami(srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + ln.Addr().String() + "/mcp"
}

// alternate sends each request to the next of urls in turn.
type alternate struct {
	urls []string
	n    atomic.Int64
}

func (a *alternate) RoundTrip(r *http.Request) (*http.Response, error) {
	to := a.urls[int(a.n.Add(1))%len(a.urls)]
	r = r.Clone(r.Context())
	u, err := r.URL.Parse(to)
	if err != nil {
		return nil, err
	}
	r.URL, r.Host = u, u.Host
	return http.DefaultTransport.RoundTrip(r)
}

// TestStatefulSessionsAcrossServers: two servers on one store are one
// deployment: a go-sdk client whose requests alternate between them keeps
// one session, and its DELETE ends it on both.
func TestStatefulSessionsAcrossServers(t *testing.T) {
	st := &countingStore{Store: memstore.New(nil)}
	urls := []string{serveOn(t, st, config.SessionStateful), serveOn(t, st, config.SessionStateful)}
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint:   urls[0],
		HTTPClient: &http.Client{Transport: &alternate{urls: urls}},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "whoami"})
		if err != nil {
			t.Fatal(err)
		}
		if out, _ := res.StructuredContent.(map[string]any); out["subject"] != "anonymous:"+cs.ID() {
			t.Fatalf("principal %v, want the anonymous principal of session %s", out, cs.ID())
		}
	}
	if n := st.created.Load(); n != 1 {
		t.Fatalf("%d sessions created, want 1", n)
	}
	sid := cs.ID()
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		if status := postCall(t, u, sid); status != http.StatusNotFound {
			t.Fatalf("%s after DELETE: status %d, want 404", u, status)
		}
	}
}

// TestStatelessKeepsNoSessions: with sessionMode stateless nothing is
// stored and no session id is handed out, whichever server a request hits.
func TestStatelessKeepsNoSessions(t *testing.T) {
	st := &countingStore{Store: memstore.New(nil)}
	urls := []string{serveOn(t, st, config.SessionStateless), serveOn(t, st, config.SessionStateless)}
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint:   urls[0],
		HTTPClient: &http.Client{Transport: &alternate{urls: urls}},
		MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if cs.ID() != "" {
		t.Fatalf("stateless server handed out session %q", cs.ID())
	}
	for range 4 {
		if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "whoami"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.created.Load(); n != 0 {
		t.Fatalf("%d sessions stored in stateless mode", n)
	}
}

// postCall sends a tools/call on session sid and returns the status.
func postCall(t *testing.T, url, sid string) int {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
	req, _ := http.NewRequestWithContext(t.Context(), "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
