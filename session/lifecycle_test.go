package session

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/resource"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/token"
)

// copies returns how many local copies of sessions in holds, and whether
// it holds one of session id.
func (in *instance) copies(id string) (int, bool) {
	in.h.mu.Lock()
	defer in.h.mu.Unlock()
	return len(in.h.sessions), in.h.sessions[id] != nil
}

// TestLocalCopiesBounded: however many sessions a client begins, an
// instance keeps at most MaxLocalSessions copies (and their goroutines),
// closing the least recently used; a closed copy's session resumes from
// the store.
func TestLocalCopiesBounded(t *testing.T) {
	const max = 20
	clock := testclock.New(start)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	c := newCluster(t, clock, 1, func() store.Sessions { return st }, func(o *Options) { o.MaxLocalSessions = max })
	a := c.inst[0]
	g0 := runtime.NumGoroutine()
	ids := make([]string, 10*max)
	for i := range ids {
		ids[i] = a.initialize(t, "bob")
		if i == max-1 {
			// At the bound: using the first session makes the second the
			// least recently used.
			a.call(t, ids[0], "bob", "whoami")
		}
		if i == max {
			if _, ok := a.copies(ids[0]); !ok {
				t.Fatal("the most recently used copy was closed")
			}
			if _, ok := a.copies(ids[1]); ok {
				t.Fatal("the least recently used copy was kept")
			}
		}
	}
	if n, _ := a.copies(""); n > max {
		t.Fatalf("%d local copies after %d sessions, want at most %d", n, len(ids), max)
	}
	// Each copy has a few goroutines; the closed ones' goroutines end.
	waitFor(t, func() bool { return runtime.NumGoroutine()-g0 <= 4*max })
	for _, id := range []string{ids[0], ids[1], ids[len(ids)-1]} {
		if got := a.call(t, id, "bob", "whoami"); got != "bob/client-1" {
			t.Fatalf("whoami = %q", got)
		}
	}
}

// TestLocalIdleTimeout: a copy no request uses is closed after
// LocalIdleTimeout, long before the session's idle timeout; the next
// request resumes the session from the store with its state.
func TestLocalIdleTimeout(t *testing.T) {
	clock := testclock.New(start)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	c := newCluster(t, clock, 1, func() store.Sessions { return st }, func(o *Options) { o.LocalIdleTimeout = 20 * time.Millisecond })
	a := c.inst[0]
	sid := a.initialize(t, "alice1")
	a.wantStatus(t, "initialized", "POST", sid, "alice1", initializedBody, http.StatusAccepted)
	a.wantStatus(t, "setLevel", "POST", sid, "alice1", `{"jsonrpc":"2.0","id":5,"method":"logging/setLevel","params":{"level":"warning"}}`, http.StatusOK)
	waitFor(t, func() bool { n, _ := a.copies(sid); return n == 0 })
	if _, err := st.GetSession(t.Context(), storeKey(sid)); err != nil {
		t.Fatalf("the session record: %v", err)
	}
	r := send(t, "POST", a.url, sid, "alice1", callBody(6, "log"))
	if r.status != http.StatusOK || !strings.Contains(r.body, `"data":"warning"`) || strings.Contains(r.body, `"data":"info"`) {
		t.Fatalf("after resuming: status %d, body %s (want the warning level kept)", r.status, r.body)
	}
	if _, ok := a.copies(sid); !ok {
		t.Fatal("no copy after a request")
	}
}

// TestLocalOptions: the local idle timeout defaults, and never exceeds the
// session's idle timeout; negative bounds are refused.
func TestLocalOptions(t *testing.T) {
	st := memstore.New(nil)
	srv := newMCPServer()
	for _, c := range []struct {
		opts       Options
		idle       time.Duration
		maxLocal   int
		wantRefuse bool
	}{
		{Options{}, DefaultLocalIdleTimeout, DefaultMaxLocalSessions, false},
		{Options{IdleTimeout: time.Minute}, time.Minute, DefaultMaxLocalSessions, false},
		{Options{LocalIdleTimeout: time.Second, MaxLocalSessions: 3}, time.Second, 3, false},
		{Options{LocalIdleTimeout: -time.Second}, 0, 0, true},
		{Options{MaxLocalSessions: -1}, 0, 0, true},
	} {
		o := c.opts
		o.Server, o.Store = srv, st
		h, err := New(&o)
		if c.wantRefuse {
			if err == nil {
				t.Errorf("New(%+v) succeeded", c.opts)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.localIdle != c.idle || h.maxLocal != c.maxLocal {
			t.Errorf("New(%+v): local idle %v, max %d; want %v, %d", c.opts, h.localIdle, h.maxLocal, c.idle, c.maxLocal)
		}
	}
}

// credentials are the expiry, grant and token id of the test tokens, for
// the tests of requests that outlive them. The times are on the test clock.
var credentials = map[string]Principal{
	"alice1": {ExpiresAt: start.Add(10 * time.Minute), GrantID: "grant-1", TokenID: "jti-1"},
	"alice2": {ExpiresAt: start.Add(time.Hour), GrantID: "grant-2", TokenID: "jti-2"},
}

// withCredentials is an Options.Principal: principalOf plus the token's
// credentials.
func withCredentials(r *http.Request) Principal {
	p := principalOf(r)
	c := credentials[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	p.ExpiresAt, p.GrantID, p.TokenID = c.ExpiresAt, c.GrantID, c.TokenID
	return p
}

// slowTool is a tool that runs until released or cancelled: it sends on
// entered when it starts, and on cancelled whether it was cancelled.
type slowTool struct {
	entered, release chan struct{}
	cancelled        chan bool
}

func newSlowTool() *slowTool {
	return &slowTool{entered: make(chan struct{}, 1), release: make(chan struct{}), cancelled: make(chan bool, 1)}
}

func (s *slowTool) add(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{Name: "slow"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
		s.entered <- struct{}{}
		select {
		case <-s.release:
			s.cancelled <- false
			return textResult("done"), nil, nil
		case <-ctx.Done():
			s.cancelled <- true
			return nil, nil, ctx.Err()
		}
	})
}

// stream is a request whose response stays open (a GET event stream, a
// slow call), made in the background.
type stream struct {
	status chan int    // the status, once it arrived
	done   chan string // the body, once the response ended
}

// open sends a request whose response stays open. go-sdk sends the headers
// of a call's response with its first message, so the status may come only
// at the end.
func open(t *testing.T, method, url, sid, tok, body string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Authorization", "Bearer "+tok)
	s := &stream{status: make(chan int, 1), done: make(chan string, 1)}
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			s.status <- 0
			s.done <- "(no response: " + err.Error() + ")"
			return
		}
		s.status <- resp.StatusCode
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if ctx.Err() != nil {
			b = append(b, "\n(the client gave up)"...)
		}
		s.done <- string(b)
	}()
	return s
}

// within receives from ch, failing the test after ten seconds.
func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received within 10s")
		panic("unreachable")
	}
}

// wantOpen checks that s's response began with status 200.
func (s *stream) wantOpen(t *testing.T, what string) {
	t.Helper()
	if status := <-s.status; status != http.StatusOK {
		t.Fatalf("%s: status %d", what, status)
	}
}

// TestOpenRequestsEndAtTokenExpiry: an event stream and a call in progress
// end when the access token they came with expires (on the handler's
// clock), and the call's handler is cancelled; the session goes on with a
// fresh token.
func TestOpenRequestsEndAtTokenExpiry(t *testing.T) {
	clock := testclock.New(start)
	st := memstore.New(&memstore.Options{Clock: clock.Now})
	slow := newSlowTool()
	c := newCluster(t, clock, 1, func() store.Sessions { return st }, func(o *Options) {
		o.TouchInterval = 10 * time.Millisecond
		o.Principal = withCredentials
		slow.add(o.Server)
	})
	a := c.inst[0]
	sid := a.initialize(t, "alice1")
	get := open(t, "GET", a.url, sid, "alice1", "")
	get.wantOpen(t, "GET")
	call := open(t, "POST", a.url, sid, "alice1", callBody(9, "slow"))
	within(t, slow.entered)
	clock.Set(credentials["alice1"].ExpiresAt)
	if body := <-get.done; strings.Contains(body, "gave up") {
		t.Fatalf("the event stream outlived its token: %s", body)
	}
	if body := <-call.done; strings.Contains(body, "gave up") || strings.Contains(body, "no response") || strings.Contains(body, `"result"`) {
		t.Fatalf("the call outlived its token: %s", body)
	}
	if !within(t, slow.cancelled) {
		t.Fatal("the call's handler was not cancelled")
	}
	if got := a.call(t, sid, "alice2", "whoami"); got != "alice/client-1" {
		t.Fatalf("whoami with a fresh token = %q", got)
	}
}

// TestOpenRequestsEndAtRevocation: an open request ends within the touch
// interval once its grant or its access token is revoked (the revocation
// set of resource.LocalVerifier); one with other credentials goes on.
func TestOpenRequestsEndAtRevocation(t *testing.T) {
	for _, c := range []struct {
		name    string
		revoked store.Revocation
	}{
		{"Grant", store.Revocation{Kind: store.RevokedGrant, ID: "grant-1"}},
		{"Token", store.Revocation{Kind: store.RevokedToken, ID: "jti-1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := testclock.New(start)
			st := memstore.New(&memstore.Options{Clock: clock.Now})
			revs := newRevocationSet(t, clock, st)
			slow := newSlowTool()
			cl := newCluster(t, clock, 1, func() store.Sessions { return st }, func(o *Options) {
				o.TouchInterval = 10 * time.Millisecond
				o.Principal = withCredentials
				o.Revocations = revs
				slow.add(o.Server)
			})
			a := cl.inst[0]
			sid := a.initialize(t, "alice1")
			get := open(t, "GET", a.url, sid, "alice1", "")
			get.wantOpen(t, "GET")
			call := open(t, "POST", a.url, sid, "alice2", callBody(9, "slow"))
			within(t, slow.entered)
			r := c.revoked
			r.ExpiresAt = start.Add(time.Hour)
			revs.AddRevocations(r)
			if body := <-get.done; strings.Contains(body, "gave up") {
				t.Fatalf("the event stream outlived the revocation: %s", body)
			}
			close(slow.release)
			call.wantOpen(t, "the call with other credentials")
			if body := <-call.done; !strings.Contains(body, "done") {
				t.Fatalf("the call with other credentials: %s", body)
			}
			if within(t, slow.cancelled) {
				t.Fatal("the call with other credentials was cancelled")
			}
		})
	}
}

// newRevocationSet returns a resource.LocalVerifier following st's
// revocation log: the revocation set a server gives Options.Revocations.
func newRevocationSet(t *testing.T, clock *testclock.Clock, st store.Revocations) *resource.LocalVerifier {
	t.Helper()
	key, err := token.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	tv, err := token.NewVerifier(signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	lv, err := resource.NewLocalVerifier(&resource.LocalVerifierOptions{
		Verifier: tv, Issuer: "https://as.example", Resource: "https://mcp.example/mcp",
		Clock: clock.Now, Revocations: st,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := lv.SyncRevocations(t.Context()); err != nil {
		t.Fatal(err)
	}
	return lv
}
