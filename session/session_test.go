package session

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/store/memstore"
)

var start = time.Date(2031, time.March, 14, 15, 9, 26, 0, time.UTC)

// The test users' bearer tokens. alice2 is alice's token after a refresh;
// aliceElsewhere is alice through another client.
var tokens = map[string]Principal{
	"alice1":         {Subject: "alice", ClientID: "client-1"},
	"alice2":         {Subject: "alice", ClientID: "client-1"},
	"aliceElsewhere": {Subject: "alice", ClientID: "client-2"},
	"bob":            {Subject: "bob", ClientID: "client-1"},
}

// withTokens is the authentication of the test servers: go-sdk's bearer
// middleware with the tokens above.
func withTokens(h http.Handler) http.Handler {
	verify := func(_ context.Context, tok string, _ *http.Request) (*auth.TokenInfo, error) {
		p, ok := tokens[tok]
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: p.Subject, Expiration: time.Now().Add(time.Hour), Extra: map[string]any{"client_id": p.ClientID}}, nil
	}
	return auth.RequireBearerToken(verify, nil)(h)
}

func principalOf(r *http.Request) Principal {
	ti := auth.TokenInfoFromContext(r.Context())
	if ti == nil {
		return Principal{}
	}
	client, _ := ti.Extra["client_id"].(string)
	return Principal{Subject: ti.UserID, ClientID: client}
}

type noArgs struct{}

func textResult(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// newMCPServer is one instance's MCP server: every instance registers the
// same tools, as replicas of one deployment do.
func newMCPServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "whoami"}, func(_ context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
		client := ""
		if req.Extra != nil && req.Extra.TokenInfo != nil {
			client, _ = req.Extra.TokenInfo.Extra["client_id"].(string)
			return textResult(req.Extra.TokenInfo.UserID + "/" + client), nil, nil
		}
		return textResult("anonymous"), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "log"}, func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
		for _, l := range []mcp.LoggingLevel{"debug", "info", "warning", "error"} {
			if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: l, Data: string(l)}); err != nil {
				return nil, nil, err
			}
		}
		return textResult("logged"), nil, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "sample"}, func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
		res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
			Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "hi"}}},
			MaxTokens: 10,
		})
		if err != nil {
			return nil, nil, err
		}
		return textResult("sampled: " + res.Content.(*mcp.TextContent).Text), nil, nil
	})
	return s
}

// instance is one server instance: its own MCP server and handler on a
// loopback listener, sharing the store with the others.
type instance struct {
	h   *Handler
	url string
}

// cluster is several instances on one store, reading time from clock.
type cluster struct {
	clock *testclock.Clock
	inst  []*instance
}

// backends are the stores the instances share: one memstore, or one file
// opened by each instance (as separate processes would).
var backends = []struct {
	name string
	open func(t *testing.T, clock *testclock.Clock) func() store.Sessions
}{
	{"Memory", func(t *testing.T, clock *testclock.Clock) func() store.Sessions {
		st := memstore.New(&memstore.Options{Clock: clock.Now})
		t.Cleanup(func() { st.Close() })
		return func() store.Sessions { return st }
	}},
	{"File", func(t *testing.T, clock *testclock.Clock) func() store.Sessions {
		path := filepath.Join(t.TempDir(), "store.db")
		return func() store.Sessions {
			st, err := filestore.Open(path, &filestore.Options{Clock: clock.Now, SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
	}},
}

func forEachBackend(t *testing.T, test func(t *testing.T, c *cluster)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			clock := testclock.New(start)
			test(t, newCluster(t, clock, 2, b.open(t, clock), nil))
		})
	}
}

func newCluster(t *testing.T, clock *testclock.Clock, n int, st func() store.Sessions, tweak func(*Options)) *cluster {
	t.Helper()
	c := &cluster{clock: clock}
	for range n {
		o := &Options{
			Server:          newMCPServer(),
			Store:           st(),
			IdleTimeout:     30 * time.Minute,
			AbsoluteTimeout: 24 * time.Hour,
			Principal:       principalOf,
			BindClient:      true,
			Clock:           clock.Now,
		}
		if tweak != nil {
			tweak(o)
		}
		h, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(withTokens(h))
		t.Cleanup(func() {
			h.Close()
			srv.Close()
		})
		c.inst = append(c.inst, &instance{h: h, url: srv.URL})
	}
	return c
}

// reply is an answer to a raw request.
type reply struct {
	status  int
	session string
	msg     map[string]any // the JSON-RPC response, if any
	body    string
}

// send makes one raw request of the Streamable HTTP transport.
func send(t *testing.T, method, url, sid, tok, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	rep := reply{status: resp.StatusCode, session: resp.Header.Get("Mcp-Session-Id"), body: string(raw)}
	data := string(raw)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		data = ""
		sc := bufio.NewScanner(strings.NewReader(string(raw)))
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				data = d // the last message is the response
			}
		}
	}
	if strings.HasPrefix(strings.TrimSpace(data), "{") {
		_ = json.Unmarshal([]byte(data), &rep.msg)
	}
	return rep
}

const (
	initBody        = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	initializedBody = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
)

func callBody(id int, tool string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, id, tool)
}

// initialize begins a session on in as tok's principal.
func (in *instance) initialize(t *testing.T, tok string) string {
	t.Helper()
	r := send(t, "POST", in.url, "", tok, initBody)
	if r.status != http.StatusOK || r.session == "" || r.msg["result"] == nil {
		t.Fatalf("initialize: status %d, session %q, body %s", r.status, r.session, r.body)
	}
	return r.session
}

// call calls tool on in and returns its text, or fails.
func (in *instance) call(t *testing.T, sid, tok, tool string) string {
	t.Helper()
	r := send(t, "POST", in.url, sid, tok, callBody(2, tool))
	if r.status != http.StatusOK || r.msg["result"] == nil {
		t.Fatalf("tools/call %s: status %d, body %s", tool, r.status, r.body)
	}
	res := r.msg["result"].(map[string]any)
	return res["content"].([]any)[0].(map[string]any)["text"].(string)
}

// wantStatus checks the status of a request on session sid.
func (in *instance) wantStatus(t *testing.T, what, method, sid, tok, body string, want int) {
	t.Helper()
	if r := send(t, method, in.url, sid, tok, body); r.status != want {
		t.Fatalf("%s: status %d, want %d (body %s)", what, r.status, want, r.body)
	}
}

// TestAcrossInstances: a session begun on A is continued on B, ended on B,
// and from then on unknown on both.
func TestAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a, b := c.inst[0], c.inst[1]
		sid := a.initialize(t, "alice1")
		b.wantStatus(t, "initialized on B", "POST", sid, "alice1", initializedBody, http.StatusAccepted)
		if got := b.call(t, sid, "alice1", "whoami"); got != "alice/client-1" {
			t.Fatalf("whoami on B = %q", got)
		}
		if got := a.call(t, sid, "alice1", "whoami"); got != "alice/client-1" {
			t.Fatalf("whoami on A = %q", got)
		}
		// A duplicate initialize on a resumed session is refused as go-sdk
		// refuses it on the instance that began it.
		r := send(t, "POST", b.url, sid, "alice1", initBody)
		if r.msg["error"] == nil {
			t.Fatalf("second initialize on B: %s", r.body)
		}
		b.wantStatus(t, "DELETE on B", "DELETE", sid, "alice1", "", http.StatusNoContent)
		for name, in := range map[string]*instance{"A": a, "B": b} {
			in.wantStatus(t, "tools/call on "+name+" after DELETE", "POST", sid, "alice1", callBody(3, "whoami"), http.StatusNotFound)
			in.wantStatus(t, "GET on "+name+" after DELETE", "GET", sid, "alice1", "", http.StatusNotFound)
			in.wantStatus(t, "DELETE on "+name+" after DELETE", "DELETE", sid, "alice1", "", http.StatusNotFound)
		}
	})
}

// TestRestart: a session survives the instance that began it.
func TestRestart(t *testing.T) {
	clock := testclock.New(start)
	path := filepath.Join(t.TempDir(), "store.db")
	open := func() store.Sessions {
		st, err := filestore.Open(path, &filestore.Options{Clock: clock.Now, SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	first := newCluster(t, clock, 1, open, nil).inst[0]
	sid := first.initialize(t, "alice1")
	first.h.Close() // the process goes away; its local copies with it
	first.wantStatus(t, "after Close", "POST", sid, "alice1", callBody(2, "whoami"), http.StatusServiceUnavailable)
	second := newCluster(t, clock, 1, open, nil).inst[0]
	if got := second.call(t, sid, "alice1", "whoami"); got != "alice/client-1" {
		t.Fatalf("whoami after restart = %q", got)
	}
}

// TestUnknownSession: an id no instance issued gets 404 for every method.
func TestUnknownSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a := c.inst[0]
		for _, sid := range []string{"unknown", strings.Repeat("A", 26), "x{y}%z"} {
			a.wantStatus(t, "POST", "POST", sid, "alice1", callBody(1, "whoami"), http.StatusNotFound)
			a.wantStatus(t, "GET", "GET", sid, "alice1", "", http.StatusNotFound)
			a.wantStatus(t, "DELETE", "DELETE", sid, "alice1", "", http.StatusNotFound)
		}
	})
}

// TestBoundToPrincipal: another user's valid token, or the same user through
// another client, cannot use a session, and cannot tell it from an unknown
// one; the owner's session, and its local copy, go on.
func TestBoundToPrincipal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a, b := c.inst[0], c.inst[1]
		sid := a.initialize(t, "alice1")
		b.call(t, sid, "alice1", "whoami") // B has a local copy now
		for _, tok := range []string{"bob", "aliceElsewhere"} {
			for name, in := range map[string]*instance{"A": a, "B": b} {
				r := send(t, "POST", in.url, sid, tok, callBody(2, "whoami"))
				unknown := send(t, "POST", in.url, "unknown", tok, callBody(2, "whoami"))
				if r.status != http.StatusNotFound || r.body != unknown.body {
					t.Fatalf("%s on %s: status %d body %q, want the unknown session's 404 %q", tok, name, r.status, r.body, unknown.body)
				}
				in.wantStatus(t, tok+" GET on "+name, "GET", sid, tok, "", http.StatusNotFound)
				in.wantStatus(t, tok+" DELETE on "+name, "DELETE", sid, tok, "", http.StatusNotFound)
			}
		}
		// Without a token the bearer middleware answers first.
		b.wantStatus(t, "no token", "POST", sid, "", callBody(2, "whoami"), http.StatusUnauthorized)
		for name, in := range map[string]*instance{"A": a, "B": b} {
			if got := in.call(t, sid, "alice1", "whoami"); got != "alice/client-1" {
				t.Fatalf("owner on %s after the attempts: %q", name, got)
			}
		}
	})
}

// TestUnboundClient: without BindClient, the same user continues a session
// through another client (go-sdk's client registers anew for a step-up
// authorization); other users still cannot.
func TestUnboundClient(t *testing.T) {
	clock := testclock.New(start)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	c := newCluster(t, clock, 2, func() store.Sessions { return st }, func(o *Options) { o.BindClient = false })
	a, b := c.inst[0], c.inst[1]
	sid := a.initialize(t, "alice1")
	if got := b.call(t, sid, "aliceElsewhere", "whoami"); got != "alice/client-2" {
		t.Fatalf("whoami through another client = %q", got)
	}
	b.wantStatus(t, "bob", "POST", sid, "bob", callBody(2, "whoami"), http.StatusNotFound)
	rec, err := st.GetSession(t.Context(), storeKey(sid))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Subject != "alice" || rec.ClientID != "client-1" {
		t.Fatalf("recorded principal %q/%q, want alice/client-1", rec.Subject, rec.ClientID)
	}
}

// TestTokenRefresh: the session is bound to the principal, not to the token:
// a refreshed access token of the same user and client continues it.
func TestTokenRefresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a, b := c.inst[0], c.inst[1]
		sid := a.initialize(t, "alice1")
		if got := b.call(t, sid, "alice2", "whoami"); got != "alice/client-1" {
			t.Fatalf("whoami with the refreshed token = %q", got)
		}
		a.call(t, sid, "alice2", "whoami")
	})
}

// TestIdleTimeout: requests keep a session alive; idleTimeout without one
// ends it on every instance.
func TestIdleTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a, b := c.inst[0], c.inst[1]
		sid := a.initialize(t, "alice1")
		for range 4 { // two hours of use, a request every 20 minutes
			c.clock.Advance(20 * time.Minute)
			b.call(t, sid, "alice1", "whoami")
		}
		c.clock.Advance(30*time.Minute - time.Millisecond)
		a.call(t, sid, "alice1", "whoami")
		c.clock.Advance(30 * time.Minute)
		a.wantStatus(t, "A after idle timeout", "POST", sid, "alice1", callBody(2, "whoami"), http.StatusNotFound)
		b.wantStatus(t, "B after idle timeout", "POST", sid, "alice1", callBody(2, "whoami"), http.StatusNotFound)
	})
}

// TestAbsoluteTimeout: however busy, a session ends absoluteTimeout after
// it began.
func TestAbsoluteTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a, b := c.inst[0], c.inst[1]
		sid := a.initialize(t, "alice1")
		for range 24*6 - 1 { // a request every 10 minutes for 24 hours
			c.clock.Advance(10 * time.Minute)
			b.call(t, sid, "alice1", "whoami")
		}
		c.clock.Advance(10*time.Minute - time.Millisecond)
		a.call(t, sid, "alice1", "whoami")
		c.clock.Advance(time.Millisecond)
		a.wantStatus(t, "A at the absolute timeout", "POST", sid, "alice1", callBody(2, "whoami"), http.StatusNotFound)
		b.wantStatus(t, "B at the absolute timeout", "POST", sid, "alice1", callBody(2, "whoami"), http.StatusNotFound)
	})
}

// TestRefusedInitializeKeepsNothing: an initialize the server refuses
// creates no session.
func TestRefusedInitializeKeepsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a := c.inst[0]
		r := send(t, "POST", a.url, "", "alice1", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":"nonsense"}`)
		if r.status == http.StatusOK && r.msg["error"] == nil {
			t.Fatalf("bad initialize accepted: %s", r.body)
		}
		if r.session != "" {
			// The transport names the session in the response header; the
			// session must be unknown all the same.
			a.wantStatus(t, "refused session", "POST", r.session, "alice1", callBody(2, "whoami"), http.StatusNotFound)
		}
		a.h.mu.Lock()
		n := len(a.h.sessions)
		a.h.mu.Unlock()
		if n != 0 {
			t.Fatalf("%d local sessions after a refused initialize", n)
		}
		// Requests without a session and without initialize are answered
		// by go-sdk as before: not a session.
		r = send(t, "POST", a.url, "", "alice1", callBody(2, "whoami"))
		if r.session != "" || r.msg["error"] == nil {
			t.Fatalf("tools/call without a session: status %d, session %q, body %s", r.status, r.session, r.body)
		}
	})
}

// TestStateChanges: notifications/initialized and logging/setLevel are
// stored with the session; a refused request stores nothing.
func TestStateChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a, b := c.inst[0], c.inst[1]
		sid := a.initialize(t, "alice1")
		stored := func() *state {
			t.Helper()
			rec, err := a.h.store.GetSession(t.Context(), storeKey(sid))
			if err != nil {
				t.Fatal(err)
			}
			return stateOf(rec)
		}
		st := stored()
		if st.InitializeParams == nil || st.InitializeParams.ClientInfo.Name != "raw" || st.initialized() || st.LogLevel != "" {
			t.Fatalf("state after initialize: %+v", st.ServerSessionState)
		}
		if st.NegotiatedProtocolVersion != "2025-06-18" {
			t.Fatalf("negotiated version %q", st.NegotiatedProtocolVersion)
		}
		b.wantStatus(t, "initialized", "POST", sid, "alice1", initializedBody, http.StatusAccepted)
		if !stored().initialized() {
			t.Fatal("notifications/initialized not stored")
		}
		// A batch the transport refuses as a whole (an unknown method)
		// sets no level.
		refused := `[{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}},{"jsonrpc":"2.0","id":4,"method":"no/such"}]`
		r := send(t, "POST", b.url, sid, "alice1", refused)
		if r.status != http.StatusBadRequest {
			t.Fatalf("refused batch: status %d, body %s", r.status, r.body)
		}
		if got := stored().LogLevel; got != "" {
			t.Fatalf("a refused request stored log level %q", got)
		}
		r = send(t, "POST", b.url, sid, "alice1", `{"jsonrpc":"2.0","id":5,"method":"logging/setLevel","params":{"level":"error"}}`)
		if r.status != http.StatusOK || r.msg["result"] == nil {
			t.Fatalf("setLevel: status %d, body %s", r.status, r.body)
		}
		if got := stored().LogLevel; got != "error" {
			t.Fatalf("stored log level %q, want error", got)
		}
	})
}

// TestStoreUnavailable: without the store no session begins or continues
// (503), and none is reported unknown.
func TestStoreUnavailable(t *testing.T) {
	clock := testclock.New(start)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	a := newCluster(t, clock, 1, func() store.Sessions { return st }, nil).inst[0]
	sid := a.initialize(t, "alice1")
	st.Close() // fault injection: the store goes away
	a.wantStatus(t, "tools/call", "POST", sid, "alice1", callBody(2, "whoami"), http.StatusServiceUnavailable)
	a.wantStatus(t, "GET", "GET", sid, "alice1", "", http.StatusServiceUnavailable)
	a.wantStatus(t, "DELETE", "DELETE", sid, "alice1", "", http.StatusServiceUnavailable)
	r := send(t, "POST", a.url, "", "alice1", initBody)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("initialize without a store: status %d, body %s", r.status, r.body)
	}
}

// TestProtocolChecks: the checks go-sdk's handler makes before a session
// is looked up.
func TestProtocolChecks(t *testing.T) {
	clock := testclock.New(start)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	a := newCluster(t, clock, 1, func() store.Sessions { return st }, nil).inst[0]
	sid := a.initialize(t, "alice1")
	do := func(method, ct, accept, pv, body string) int {
		req, _ := http.NewRequestWithContext(t.Context(), method, a.url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer alice1")
		req.Header.Set("Mcp-Session-Id", sid)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if pv != "" {
			req.Header.Set("Mcp-Protocol-Version", pv)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	both := "application/json, text/event-stream"
	batch := "[" + callBody(5, "whoami") + "," + callBody(6, "whoami") + "]"
	for _, tt := range []struct {
		name                         string
		method, ct, accept, pv, body string
		want                         int
	}{
		{"PUT", "PUT", "", both, "", "", http.StatusMethodNotAllowed},
		{"text/plain", "POST", "text/plain", both, "", callBody(2, "whoami"), http.StatusUnsupportedMediaType},
		{"Accept json only", "POST", "application/json", "application/json", "", callBody(2, "whoami"), http.StatusBadRequest},
		{"GET without event-stream", "GET", "", "application/json", "", "", http.StatusBadRequest},
		{"unknown version", "POST", "application/json", both, "2024-01-01", callBody(2, "whoami"), http.StatusBadRequest},
		{"batch on 2025-06-18", "POST", "application/json", both, "2025-06-18", batch, http.StatusBadRequest},
		{"batch on 2025-03-26", "POST", "application/json", both, "2025-03-26", batch, http.StatusOK},
		{"too large", "POST", "application/json", both, "", `{"x":"` + strings.Repeat("a", mcp.DefaultMaxRequestBodyBytes) + `"}`, http.StatusRequestEntityTooLarge},
		{"call", "POST", "application/json; charset=utf-8", "*/*", "2025-06-18", callBody(2, "whoami"), http.StatusOK},
	} {
		if got := do(tt.method, tt.ct, tt.accept, tt.pv, tt.body); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
}

// router sends GET requests to one instance and the others to a settable
// one, so a test chooses where each request of a go-sdk client lands.
type router struct {
	get    string
	target atomic.Pointer[string]
}

func (r *router) RoundTrip(req *http.Request) (*http.Response, error) {
	to := *r.target.Load()
	if req.Method == http.MethodGet {
		to = r.get
	}
	req = req.Clone(req.Context())
	u, err := req.URL.Parse(to)
	if err != nil {
		return nil, err
	}
	req.URL, req.Host = u, u.Host
	req.Header.Set("Authorization", "Bearer alice1")
	return http.DefaultTransport.RoundTrip(req)
}

func (r *router) to(in *instance) { r.target.Store(&in.url) }

// TestGoSDKClient drives a session from go-sdk's client through two
// instances: sampling (a server-to-client request) on the instance that
// handles the call, and the log level the client set on one instance obeyed
// by the other.
func TestGoSDKClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a, b := c.inst[0], c.inst[1]
		rt := &router{get: a.url}
		rt.to(a)
		logged := make(chan string, 10)
		client := mcp.NewClient(&mcp.Implementation{Name: "client", Version: "1"}, &mcp.ClientOptions{
			CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
				return &mcp.CreateMessageResult{Role: "assistant", Model: "m", Content: &mcp.TextContent{Text: "pong"}}, nil
			},
			LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
				logged <- fmt.Sprint(req.Params.Data)
			},
		})
		cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
			Endpoint:   a.url,
			HTTPClient: &http.Client{Transport: rt},
			MaxRetries: -1,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer cs.Close()
		call := func(tool string) string {
			t.Helper()
			res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool})
			if err != nil {
				t.Fatalf("%s: %v", tool, err)
			}
			return res.Content[0].(*mcp.TextContent).Text
		}
		rt.to(b)
		if got := call("whoami"); got != "alice/client-1" {
			t.Fatalf("whoami on B = %q", got)
		}
		if got := call("sample"); got != "sampled: pong" {
			t.Fatalf("sample on B = %q", got)
		}
		// B has a copy of the session; the level is set on A.
		rt.to(a)
		if err := cs.SetLoggingLevel(t.Context(), &mcp.SetLoggingLevelParams{Level: "warning"}); err != nil {
			t.Fatal(err)
		}
		rt.to(b)
		call("log")
		// The client hands notifications to its handler on its own time;
		// messages come in the order sent, so the first two tell.
		var got []string
		for len(got) < 2 {
			select {
			case m := <-logged:
				got = append(got, m)
			case <-time.After(10 * time.Second):
				t.Fatalf("log messages: only %q", got)
			}
		}
		if got := strings.Join(got, ","); got != "warning,error" {
			t.Fatalf("log messages on B after setLevel warning on A: %q, want warning,error", got)
		}
		rt.to(a)
		if got := call("sample"); got != "sampled: pong" {
			t.Fatalf("sample on A = %q", got)
		}
	})
}

// TestDeleteEndsStreamsElsewhere: a DELETE on B closes the standalone GET
// stream the client holds on A within the touch interval.
func TestDeleteEndsStreamsElsewhere(t *testing.T) {
	clock := testclock.New(start)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	c := newCluster(t, clock, 2, func() store.Sessions { return st }, func(o *Options) { o.TouchInterval = 20 * time.Millisecond })
	a, b := c.inst[0], c.inst[1]
	sid := a.initialize(t, "alice1")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Authorization", "Bearer alice1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: status %d", resp.StatusCode)
	}
	b.wantStatus(t, "DELETE on B", "DELETE", sid, "alice1", "", http.StatusNoContent)
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("the stream on A did not end cleanly: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the stream on A outlived the session")
	}
}

// TestLongCallKeepsSessionAlive: a request in progress is use of the
// session: the keeper touches it, so a call longer than the idle timeout
// does not lose the session.
func TestLongCallKeepsSessionAlive(t *testing.T) {
	clock := testclock.New(start)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	release := make(chan struct{})
	entered := make(chan struct{})
	c := newCluster(t, clock, 1, func() store.Sessions { return st }, func(o *Options) {
		o.TouchInterval = 10 * time.Millisecond
		mcp.AddTool(o.Server, &mcp.Tool{Name: "slow"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			close(entered)
			<-release
			return textResult("done"), nil, nil
		})
	})
	a := c.inst[0]
	sid := a.initialize(t, "alice1")
	done := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", a.url, strings.NewReader(callBody(9, "slow")))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Authorization", "Bearer alice1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()
	<-entered
	// An hour passes in steps smaller than the idle timeout; the keeper
	// touches the session in between.
	key := storeKey(sid)
	for range 6 {
		before, err := st.GetSession(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Minute)
		waitFor(t, func() bool {
			ss, err := st.GetSession(t.Context(), key)
			return err == nil && ss.LastSeen.After(before.LastSeen)
		})
	}
	close(release)
	if body := <-done; !strings.Contains(body, "done") {
		t.Fatalf("slow call: %s", body)
	}
	a.call(t, sid, "alice1", "whoami")
}

// waitFor polls cond (the keeper runs on real time) for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		<-tick.C
	}
}

// TestOptions: New refuses what it cannot run with.
func TestOptions(t *testing.T) {
	st := memstore.New(nil)
	srv := newMCPServer()
	for _, o := range []*Options{
		nil,
		{Store: st},
		{Server: srv},
		{Server: srv, Store: st, IdleTimeout: -time.Second},
		{Server: srv, Store: st, AbsoluteTimeout: -time.Second},
		{Server: srv, Store: st, TouchInterval: -time.Second},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
	h, err := New(&Options{Server: srv, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if h.idle != DefaultIdleTimeout || h.absolute != DefaultAbsoluteTimeout || h.touch != time.Minute {
		t.Fatalf("defaults: idle %v, absolute %v, touch %v", h.idle, h.absolute, h.touch)
	}
}
