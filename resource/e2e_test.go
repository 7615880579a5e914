package resource

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearerTransport adds an Authorization header to every request.
type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// whoami is what the test tool reports about its caller.
type whoami struct {
	Subject       string   `json:"subject"`
	Scopes        []string `json:"scopes"`
	UserID        string   `json:"user_id"`
	Authorization string   `json:"authorization"`
	Cookie        string   `json:"cookie"`
}

// newMCPServer runs a go-sdk server with a "whoami" tool behind the
// middleware on a loopback HTTP server.
func newMCPServer(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "whoami", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			p := PrincipalOf(req)
			w := whoami{Subject: p.Subject, Scopes: p.Scopes}
			if ti := req.Extra.TokenInfo; ti != nil {
				w.UserID = ti.UserID
			}
			w.Authorization = req.Extra.Header.Get("Authorization")
			w.Cookie = req.Extra.Header.Get("Cookie")
			out, err := json.Marshal(w)
			if err != nil {
				return nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(out)}}}, nil
		})
	s.AddTool(&mcp.Tool{Name: "admin-only", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil
		})
	e.mw.RequireToolScopes("admin-only", "admin")
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	srv := httptest.NewServer(e.mw.Wrap(h))
	t.Cleanup(srv.Close)
	return srv
}

// connect opens a go-sdk client session that sends raw as its bearer token
// (and a cookie, which must not reach tools).
func connect(t *testing.T, url, raw string) *mcp.ClientSession {
	t.Helper()
	hc := &http.Client{Transport: &bearerTransport{token: raw, base: &cookieTransport{http.DefaultTransport}}}
	c := mcp.NewClient(&mcp.Implementation{Name: "client", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: url, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

type cookieTransport struct{ base http.RoundTripper }

func (c *cookieTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Cookie", "session=browser-secret")
	return c.base.RoundTrip(r)
}

func callWhoami(t *testing.T, cs *mcp.ClientSession) whoami {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError || len(res.Content) != 1 {
		t.Fatalf("result = %+v", res)
	}
	var w whoami
	if err := json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEndToEndGoSDKClient(t *testing.T) {
	e := newEnv(t, nil)
	srv := newMCPServer(t, e)
	cs := connect(t, srv.URL, e.token("alice", "mcp:read"))

	got := callWhoami(t, cs)
	want := whoami{Subject: "alice", Scopes: []string{"mcp:read"}, UserID: "alice"}
	if got.Subject != want.Subject || got.UserID != want.UserID || strings.Join(got.Scopes, " ") != "mcp:read" {
		t.Errorf("whoami = %+v, want %+v", got, want)
	}
	if got.Authorization != "" || got.Cookie != "" {
		t.Errorf("the tool saw Authorization %q and Cookie %q", got.Authorization, got.Cookie)
	}

	// A tool that needs a scope the token lacks: go-sdk's client surfaces
	// the 403 as an error and the tool does not run.
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "admin-only"}); err == nil {
		t.Error("admin-only succeeded without scope admin")
	}

	admin := connect(t, srv.URL, e.token("bob", "mcp:read admin"))
	res, err := admin.CallTool(context.Background(), &mcp.CallToolParams{Name: "admin-only"})
	if err != nil || res.IsError {
		t.Fatalf("admin-only with scope admin: %v, %+v", err, res)
	}
	if got := callWhoami(t, admin); got.Subject != "bob" {
		t.Errorf("subject = %q, want bob", got.Subject)
	}
}

// TestEndToEndRefreshedTokenKeepsSession: go-sdk binds a session to the
// subject, not to the token bytes, so a refreshed token for the same user
// keeps working in the same session.
func TestEndToEndRefreshedTokenKeepsSession(t *testing.T) {
	e := newEnv(t, nil)
	srv := newMCPServer(t, e)
	bt := &bearerTransport{token: e.token("alice", "mcp:read"), base: http.DefaultTransport}
	c := mcp.NewClient(&mcp.Implementation{Name: "client", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint: srv.URL, HTTPClient: &http.Client{Transport: bt}, DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	bt.token = e.token("alice", "mcp:read") // a new token, as after a refresh
	if got := callWhoami(t, cs); got.Subject != "alice" {
		t.Errorf("subject = %q", got.Subject)
	}
}

// TestSessionBoundToUser: a session started by alice cannot be used with
// bob's token. go-sdk compares TokenInfo.UserID with the session's user and
// answers 403.
func TestSessionBoundToUser(t *testing.T) {
	e := newEnv(t, nil)
	srv := newMCPServer(t, e)
	cs := connect(t, srv.URL, e.token("alice", "mcp:read"))
	if cs.ID() == "" {
		t.Fatal("no session id")
	}

	send := func(raw string) int {
		req := mcpPost(srv.URL, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami"}}`)
		req.Header.Set("Mcp-Session-Id", cs.ID())
		req.Header.Set("MCP-Protocol-Version", cs.InitializeResult().ProtocolVersion)
		req.Header.Set("Authorization", "Bearer "+raw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := send(e.token("bob", "mcp:read")); got != http.StatusForbidden {
		t.Errorf("bob in alice's session: status %d, want 403", got)
	}
	if got := send(e.token("alice", "mcp:read")); got != http.StatusOK {
		t.Errorf("alice in her own session with a new token: status %d, want 200", got)
	}
	// The session is still alice's after bob's attempt.
	if got := callWhoami(t, cs); got.Subject != "alice" {
		t.Errorf("subject = %q", got.Subject)
	}
}

// TestInnerTokenInfoUsesPrincipal checks the bridge to go-sdk directly:
// auth.TokenInfoFromContext behind Wrap carries the principal.
func TestInnerTokenInfoUsesPrincipal(t *testing.T) {
	e := newEnv(t, nil)
	var got *auth.TokenInfo
	h := e.mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = auth.TokenInfoFromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+e.token("carol", "mcp:write"))
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got == nil || got.UserID != "carol" || got.Extra[principalKey].(*Principal).Subject != "carol" {
		t.Fatalf("TokenInfo = %+v", got)
	}
}
