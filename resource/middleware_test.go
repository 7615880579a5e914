package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/auth"
)

// seen is what the handler behind the middleware observed.
type seen struct {
	calls         int
	authorization []string
	cookie        []string
	tokenInfo     *auth.TokenInfo
	principal     *Principal
	hasPrincipal  bool
	body          string
}

// recorder is a handler behind the middleware that records each request.
type recorder struct {
	mu   sync.Mutex
	last seen
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p, ok := FromContext(r.Context())
	rec.mu.Lock()
	rec.last = seen{
		calls:         rec.last.calls + 1,
		authorization: r.Header.Values("Authorization"),
		cookie:        r.Header.Values("Cookie"),
		tokenInfo:     auth.TokenInfoFromContext(r.Context()),
		principal:     p,
		hasPrincipal:  ok,
		body:          string(body),
	}
	rec.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
}

func (rec *recorder) get() seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.last
}

// result is the part of a response the tests compare.
type result struct {
	Status          int
	WWWAuthenticate string
	Error           string
	Description     string
}

func do(t *testing.T, req *http.Request) result {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := result{Status: resp.StatusCode, WWWAuthenticate: strings.Join(resp.Header.Values("WWW-Authenticate"), " | ")}
	if resp.StatusCode != http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("error Content-Type = %q, want application/json", ct)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("error Cache-Control = %q, want no-store", cc)
		}
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("error body %q: %v", body, err)
		}
		res.Error, res.Description = e.Error, e.Description
	}
	return res
}

func challenge401(scope string) string {
	return `Bearer scope="` + scope + `", resource_metadata="` + testMetadata + `"`
}

func invalid(desc string) result {
	return result{
		Status:          http.StatusUnauthorized,
		WWWAuthenticate: `Bearer error="invalid_token", error_description="` + desc + `", resource_metadata="` + testMetadata + `"`,
		Error:           "invalid_token",
		Description:     desc,
	}
}

func badRequest(desc string) result {
	return result{
		Status:          http.StatusBadRequest,
		WWWAuthenticate: `Bearer error="invalid_request", error_description="` + desc + `", resource_metadata="` + testMetadata + `"`,
		Error:           "invalid_request",
		Description:     desc,
	}
}

var (
	ok200   = result{Status: http.StatusOK}
	missing = result{
		Status:          http.StatusUnauthorized,
		WWWAuthenticate: challenge401("mcp:read mcp:write admin"),
		Error:           "invalid_token",
		Description:     "a bearer token is required",
	}
)

func TestChallenges(t *testing.T) {
	e := newEnv(t, nil)
	rec := &recorder{}
	srv := httptest.NewServer(e.mw.Wrap(rec))
	defer srv.Close()

	otherKey, err := token.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := token.NewSigner(otherKey, &token.SignerOptions{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// A different key that claims the env key's kid.
	impostorKey, err := token.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	impostorKey.KeyID = e.key.KeyID

	withClaims := func(mod func(*token.Claims)) func() string {
		return func() string {
			c := e.claims("alice", "mcp:read")
			mod(c)
			return e.sign(c)
		}
	}
	revoked := func() string {
		c := e.claims("alice", "mcp:read")
		e.revokeGrant(c.Extra[token.ClaimGrantID].(string))
		return e.sign(c)
	}
	revokedToken := func() string {
		c := e.claims("alice", "mcp:read")
		raw := e.sign(c) // sets c.ID, the jti
		e.local.AddRevocations(store.Revocation{Kind: store.RevokedToken, ID: c.ID, ExpiresAt: c.ExpiresAt})
		return raw
	}
	forged := func(typ string, mod func(map[string]any)) func() string {
		return func() string {
			now := e.clock.Now().Unix()
			c := map[string]any{
				"iss": testIssuer, "sub": "alice", "aud": testResource, "exp": now + 300, "iat": now,
				"jti": token.NewID(), "client_id": testClient, "scope": "mcp:read",
				token.ClaimGrantID: e.grant("alice"),
			}
			if mod != nil {
				mod(c)
			}
			return forge(t, e.key, typ, c)
		}
	}

	tests := []struct {
		name string
		// header is the Authorization value; tok, when set, makes the
		// value "Bearer <token>".
		header []string
		tok    func() string
		query  string
		form   string
		clock  time.Duration // advance the clock before the request
		want   result
	}{
		{name: "valid", tok: func() string { return e.token("alice", "mcp:read") }, want: ok200},
		{name: "no credentials", want: missing},
		{name: "basic scheme", header: []string{"Basic YWxpY2U6c2VjcmV0"}, want: missing},
		{name: "empty header", header: []string{""}, want: missing},
		{name: "bearer without token", header: []string{"Bearer"}, want: badRequest("the Authorization header is not a single Bearer token")},
		{name: "bearer with space only", header: []string{"Bearer "}, want: badRequest("the Authorization header is not a single Bearer token")},
		{name: "two tokens", header: []string{"Bearer abc def"}, want: badRequest("the Authorization header is not a single Bearer token")},
		{name: "bad characters", header: []string{"Bearer a,b"}, want: badRequest("the Authorization header is not a single Bearer token")},
		{name: "two headers", header: []string{"Bearer abc", "Bearer def"}, want: badRequest("more than one Authorization header")},
		{name: "query token", query: "access_token=abc", want: badRequest("access tokens are accepted only in the Authorization header")},
		{name: "escaped query token", query: "access%5Ftoken=abc", want: badRequest("access tokens are accepted only in the Authorization header")},
		{name: "query token with valid header", tok: func() string { return e.token("alice", "mcp:read") }, query: "x=1&access_token=abc", want: badRequest("access tokens are accepted only in the Authorization header")},
		{name: "form body token", form: "access_token=abc", want: badRequest("access tokens are accepted only in the Authorization header")},
		{name: "form body without token", form: "a=b", want: missing},
		{name: "garbage token", header: []string{"Bearer abc.def.ghi"}, want: invalid("the access token is malformed")},
		{name: "lowercase scheme", header: []string{"bearer abc"}, want: invalid("the access token is malformed")},
		{name: "expired", tok: func() string { return e.token("alice", "mcp:read") }, clock: testTTL + testLeeway, want: invalid("the access token has expired")},
		{name: "expired within leeway", tok: func() string { return e.token("alice", "mcp:read") }, clock: testTTL + testLeeway - time.Second, want: ok200},
		{name: "not yet valid", tok: withClaims(func(c *token.Claims) { c.NotBefore = e.clock.Now().Add(time.Hour) }), want: invalid("the access token is not valid yet")},
		{name: "wrong audience", tok: withClaims(func(c *token.Claims) { c.Audience = []string{"https://other.example.com/mcp"} }), want: invalid("the access token was not issued for this resource")},
		{name: "wrong issuer", tok: withClaims(func(c *token.Claims) { c.Issuer = "https://evil.example.com" }), want: invalid("the access token was not issued by this server's authorization server")},
		{name: "unknown key", tok: func() string {
			raw, err := otherSigner.Sign(e.claims("alice", "mcp:read"))
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}, want: invalid("the access token signature is not valid")},
		{name: "wrong key same kid", tok: func() string {
			return forge(t, impostorKey, token.TypAccessToken, map[string]any{
				"iss": testIssuer, "sub": "alice", "aud": testResource, "exp": e.clock.Now().Unix() + 60,
				"iat": e.clock.Now().Unix(), "jti": "j", "client_id": testClient,
			})
		}, want: invalid("the access token signature is not valid")},
		{name: "typ JWT", tok: forged("JWT", nil), want: invalid("the token is not an access token (typ at+jwt)")},
		{name: "typ at+jwt forged control", tok: forged("at+jwt", nil), want: ok200},
		{name: "empty subject", tok: forged("at+jwt", func(c map[string]any) { c["sub"] = "" }), want: invalid("the access token lacks a required claim")},
		{name: "malformed scope", tok: forged("at+jwt", func(c map[string]any) { c["scope"] = `a"b` }), want: invalid("the access token has a malformed scope")},
		{name: "revoked grant", tok: revoked, want: invalid("the authorization behind the access token was revoked")},
		{name: "revoked token", tok: revokedToken, want: invalid("the access token was revoked")},
		{name: "no grant id", tok: withClaims(func(c *token.Claims) { c.Extra = nil }), want: invalid("the access token is not bound to a grant")},
		{name: "grant id not a string", tok: withClaims(func(c *token.Claims) { c.Extra[token.ClaimGrantID] = 7 }), want: invalid("the access token has a malformed grant id")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := tt.header
			if tt.tok != nil {
				header = []string{"Bearer " + tt.tok()}
			}
			e.clock.Advance(tt.clock)
			defer e.clock.Advance(-tt.clock)
			u := srv.URL + "/mcp"
			if tt.query != "" {
				u += "?" + tt.query
			}
			req := mcpPost(u, callBody("echo"))
			if tt.form != "" {
				req = mcpPost(u, tt.form)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			for _, h := range header {
				req.Header.Add("Authorization", h)
			}
			before := rec.get().calls
			got := do(t, req)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			reached := rec.get().calls > before
			if reached != (tt.want.Status == http.StatusOK) {
				t.Errorf("handler reached = %v, want %v", reached, !reached)
			}
			for _, h := range header {
				if tok, ok := strings.CutPrefix(h, "Bearer "); ok && len(tok) > 3 &&
					strings.Contains(got.WWWAuthenticate+got.Description, tok) {
					t.Error("the response echoes the token")
				}
			}
		})
	}
}

func TestVerifierOutcomes(t *testing.T) {
	fixed := &Principal{Subject: "alice", Scopes: []string{"mcp:read"}}
	tests := []struct {
		name   string
		verify VerifierFunc
		want   result
	}{
		{
			name: "store unavailable",
			verify: func(context.Context, string) (*Principal, error) {
				return nil, fmt.Errorf("lookup: %w", store.ErrUnavailable)
			},
			want: result{Status: http.StatusServiceUnavailable, Error: "temporarily_unavailable", Description: "the token could not be verified; retry later"},
		},
		{
			name:   "nil principal",
			verify: func(context.Context, string) (*Principal, error) { return nil, nil },
			want:   invalid("the access token has no subject"),
		},
		{
			name:   "empty subject",
			verify: func(context.Context, string) (*Principal, error) { return &Principal{}, nil },
			want:   invalid("the access token has no subject"),
		},
		{
			name:   "plain ErrInvalidToken",
			verify: func(context.Context, string) (*Principal, error) { return nil, fmt.Errorf("x: %w", ErrInvalidToken) },
			want:   invalid("the access token is invalid"),
		},
		{
			name: "description sanitised",
			verify: func(context.Context, string) (*Principal, error) {
				return nil, &TokenError{Description: "bad \"quote\" \\ and\nnewline é"}
			},
			want: invalid("bad ?quote? ? and?newline ??"),
		},
		{
			name:   "accepted",
			verify: func(context.Context, string) (*Principal, error) { return fixed, nil },
			want:   ok200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := New(&Options{Resource: testResource, AuthorizationServers: []string{testIssuer}, Verifier: tt.verify})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(mw.Wrap(&recorder{}))
			defer srv.Close()
			req := mcpPost(srv.URL, callBody("x"))
			req.Header.Set("Authorization", "Bearer opaque-token")
			if diff := cmp.Diff(tt.want, do(t, req)); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnonymous(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.AllowAnonymous = true
		o.ToolScopes = map[string][]string{"admin-tool": {"admin"}}
	})
	rec := &recorder{}
	srv := httptest.NewServer(e.mw.Wrap(rec))
	defer srv.Close()

	tests := []struct {
		name          string
		header        string
		body          string
		want          result
		wantPrincipal bool
	}{
		{name: "no token", body: callBody("echo"), want: ok200},
		{name: "other scheme", header: "Basic YWxpY2U6c2VjcmV0", body: callBody("echo"), want: ok200},
		{name: "invalid token still refused", header: "Bearer abc.def.ghi", body: callBody("echo"), want: invalid("the access token is malformed")},
		{name: "valid token", header: "Bearer " + e.token("alice", "mcp:read"), body: callBody("echo"), want: ok200, wantPrincipal: true},
		{
			name: "scoped tool needs a token",
			body: callBody("admin-tool"),
			want: result{
				Status:          http.StatusUnauthorized,
				WWWAuthenticate: challenge401("admin"),
				Error:           "invalid_token",
				Description:     "a bearer token is required",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mcpPost(srv.URL, tt.body)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			req.Header.Set("Cookie", "session=secret")
			before := rec.get().calls
			if diff := cmp.Diff(tt.want, do(t, req)); diff != "" {
				t.Fatalf("response mismatch (-want +got):\n%s", diff)
			}
			if tt.want.Status != http.StatusOK {
				return
			}
			s := rec.get()
			if s.calls != before+1 {
				t.Fatal("handler not reached")
			}
			if s.authorization != nil || s.cookie != nil {
				t.Errorf("handler saw Authorization %q, Cookie %q", s.authorization, s.cookie)
			}
			if s.hasPrincipal != tt.wantPrincipal || (s.tokenInfo != nil) != tt.wantPrincipal {
				t.Errorf("principal = %v, TokenInfo = %v, want present = %v", s.principal, s.tokenInfo, tt.wantPrincipal)
			}
		})
	}
}

func TestHeadersStrippedAndPrincipalPassed(t *testing.T) {
	e := newEnv(t, nil)
	rec := &recorder{}
	srv := httptest.NewServer(e.mw.Wrap(rec))
	defer srv.Close()

	c := e.claims("alice", "mcp:read mcp:write")
	c.Extra["email"] = "alice@example.com"
	c.Extra["groups"] = []any{"eng"}
	raw := e.sign(c)
	req := mcpPost(srv.URL, callBody("echo"))
	req.Header.Set("Authorization", "Bearer "+raw)
	req.Header.Add("Cookie", "a=1")
	req.Header.Add("Cookie", "b=2")
	req.Header.Set("X-Other", "kept")
	if got := do(t, req); got.Status != http.StatusOK {
		t.Fatalf("status %d: %+v", got.Status, got)
	}
	s := rec.get()
	if s.authorization != nil || s.cookie != nil {
		t.Errorf("handler saw Authorization %q, Cookie %q", s.authorization, s.cookie)
	}
	want := &Principal{
		Subject:   "alice",
		ClientID:  testClient,
		Scopes:    []string{"mcp:read", "mcp:write"},
		ExpiresAt: c.ExpiresAt,
		GrantID:   c.Extra[token.ClaimGrantID].(string),
		TokenID:   c.ID,
		Claims:    map[string]any{"email": "alice@example.com", "groups": []any{"eng"}},
	}
	if diff := cmp.Diff(want, s.principal); diff != "" {
		t.Errorf("principal mismatch (-want +got):\n%s", diff)
	}
	if s.tokenInfo == nil {
		t.Fatal("no TokenInfo")
	}
	if s.tokenInfo.UserID != "alice" || !s.tokenInfo.Expiration.Equal(c.ExpiresAt) ||
		!cmp.Equal(s.tokenInfo.Scopes, want.Scopes) || s.tokenInfo.Extra[principalKey] != s.principal {
		t.Errorf("TokenInfo = %+v", s.tokenInfo)
	}
	if s.body != callBody("echo") {
		t.Errorf("body = %q", s.body)
	}
}

// TestToolScopes checks the step-up challenge (MCP authorization, scope
// challenge handling; RFC 6750 §3.1 insufficient_scope).
func TestToolScopes(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.ToolScopes = map[string][]string{"deploy": {"mcp:write"}, "nuke": {"admin", "mcp:write"}}
		o.MaxBodyBytes = 1 << 10
	})
	e.mw.RequireToolScopes("report", "mcp:read")
	rec := &recorder{}
	srv := httptest.NewServer(e.mw.Wrap(rec))
	defer srv.Close()

	insufficient := func(scope string) result {
		return result{
			Status: http.StatusForbidden,
			WWWAuthenticate: `Bearer error="insufficient_scope", error_description="the access token lacks scopes this tool requires", scope="` +
				scope + `", resource_metadata="` + testMetadata + `"`,
			Error:       "insufficient_scope",
			Description: "the access token lacks scopes this tool requires",
		}
	}
	tests := []struct {
		name   string
		scope  string
		method string
		body   string
		want   result
	}{
		{name: "unscoped tool", scope: "mcp:read", body: callBody("echo"), want: ok200},
		{name: "scoped tool granted", scope: "mcp:read mcp:write", body: callBody("deploy"), want: ok200},
		{name: "scoped tool missing", scope: "mcp:read", body: callBody("deploy"), want: insufficient("mcp:read mcp:write")},
		{name: "two scopes one missing", scope: "mcp:write", body: callBody("nuke"), want: insufficient("mcp:write admin")},
		{name: "no scopes at all", scope: "", body: callBody("report"), want: insufficient("mcp:read")},
		{name: "Go API scope granted", scope: "mcp:read", body: callBody("report"), want: ok200},
		{name: "other method", scope: "", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, want: ok200},
		{name: "notification", scope: "", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, want: ok200},
		{
			name: "batch with one scoped call", scope: "mcp:read",
			body: "[" + callBody("echo") + "," + callBody("deploy") + "]", want: insufficient("mcp:read mcp:write"),
		},
		{
			name: "batch of two scoped calls", scope: "",
			body: "[" + callBody("deploy") + "," + callBody("nuke") + "]", want: insufficient("mcp:write admin"),
		},
		{name: "batch granted", scope: "mcp:read mcp:write admin", body: "[" + callBody("deploy") + "," + callBody("nuke") + "]", want: ok200},
		{name: "malformed body passes through", scope: "", body: `{"method":"tools/call",`, want: ok200},
		{name: "GET not inspected", scope: "", method: http.MethodGet, want: ok200},
		{
			name: "oversized body", scope: "", body: callBody(strings.Repeat("x", 2<<10)),
			want: result{Status: http.StatusRequestEntityTooLarge, Error: "invalid_request", Description: "the request body exceeds 1024 bytes"},
		},
		{name: "oversized body with every scope is not read", scope: "mcp:read mcp:write admin", body: callBody(strings.Repeat("x", 2<<10)), want: ok200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mcpPost(srv.URL, tt.body)
			if tt.method != "" {
				req.Method = tt.method
			}
			req.Header.Set("Authorization", "Bearer "+e.token("alice", tt.scope))
			before := rec.get().calls
			if diff := cmp.Diff(tt.want, do(t, req)); diff != "" {
				t.Fatalf("response mismatch (-want +got):\n%s", diff)
			}
			s := rec.get()
			if (s.calls > before) != (tt.want.Status == http.StatusOK) {
				t.Fatalf("handler reached = %v", s.calls > before)
			}
			if tt.want.Status == http.StatusOK && s.body != tt.body {
				t.Errorf("handler read body %q, want %q", s.body, tt.body)
			}
		})
	}

	if diff := cmp.Diff([]string{"admin", "mcp:write"}, e.mw.ToolScopes("nuke")); diff != "" {
		t.Errorf("ToolScopes(nuke) mismatch (-want +got):\n%s", diff)
	}
}

func TestRequireToolScopesWhileServing(t *testing.T) {
	e := newEnv(t, nil)
	rec := &recorder{}
	h := e.mw.Wrap(rec)
	raw := e.token("alice", "mcp:read")

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 25 {
				e.mw.RequireToolScopes(fmt.Sprintf("tool-%d-%d", i, j), "mcp:write")
			}
		})
		wg.Go(func() {
			for range 25 {
				req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(callBody("echo")))
				req.Header.Set("Authorization", "Bearer "+raw)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					t.Errorf("status %d", w.Code)
				}
			}
		})
	}
	wg.Wait()
	e.mw.RequireToolScopes("tool-0-0", "admin")
	if diff := cmp.Diff([]string{"mcp:write", "admin"}, e.mw.ToolScopes("tool-0-0")); diff != "" {
		t.Errorf("scopes mismatch (-want +got):\n%s", diff)
	}
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(callBody("tool-3-24")))
	req.Header.Set("Authorization", "Bearer "+raw)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("status %d, want 403", w.Code)
	}
}

func TestRequireToolScopesRejects(t *testing.T) {
	e := newEnv(t, nil)
	for _, tt := range []struct {
		tool   string
		scopes []string
	}{
		{"t", []string{"unknown"}},
		{"t", []string{`bad"scope`}},
		{"t", []string{"two scopes"}},
		{"", []string{"admin"}},
	} {
		if err := e.mw.RequireToolScopes(tt.tool, tt.scopes...); err == nil {
			t.Errorf("RequireToolScopes(%q, %q) succeeded", tt.tool, tt.scopes)
		}
		if got := e.mw.ToolScopes(tt.tool); got != nil {
			t.Errorf("a refused policy was kept: %q", got)
		}
	}
}

func TestNewErrors(t *testing.T) {
	verify := VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, ErrInvalidToken })
	valid := func() *Options {
		return &Options{Resource: testResource, AuthorizationServers: []string{testIssuer}, Verifier: verify, ScopesSupported: []string{"a"}}
	}
	tests := []struct {
		name string
		mod  func(*Options)
	}{
		{"no resource", func(o *Options) { o.Resource = "" }},
		{"relative resource", func(o *Options) { o.Resource = "/mcp" }},
		{"non-canonical resource", func(o *Options) { o.Resource = "HTTPS://mcp.example.com:443/mcp" }},
		{"resource with fragment", func(o *Options) { o.Resource = "https://mcp.example.com/mcp#x" }},
		{"no verify", func(o *Options) { o.Verifier = nil }},
		{"no authorization server", func(o *Options) { o.AuthorizationServers = nil }},
		{"relative authorization server", func(o *Options) { o.AuthorizationServers = []string{"auth.example.com"} }},
		{"metadata URL with quote", func(o *Options) { o.MetadataURL = `https://mcp.example.com/"x` }},
		{"metadata URL relative", func(o *Options) { o.MetadataURL = "/.well-known/oauth-protected-resource" }},
		{"bad supported scope", func(o *Options) { o.ScopesSupported = []string{"a b"} }},
		{"tool scope not supported", func(o *Options) { o.ToolScopes = map[string][]string{"t": {"b"}} }},
		{"empty tool name", func(o *Options) { o.ToolScopes = map[string][]string{"": {"a"}} }},
		{"negative body limit", func(o *Options) { o.MaxBodyBytes = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.mod(o)
			if _, err := New(o); err == nil {
				t.Error("New succeeded")
			}
		})
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	m, err := New(valid())
	if err != nil {
		t.Fatal(err)
	}
	if m.MetadataURL() != testMetadata || m.Resource() != testResource {
		t.Errorf("MetadataURL() = %q, Resource() = %q", m.MetadataURL(), m.Resource())
	}
}

func TestHasAccessTokenParam(t *testing.T) {
	for _, tt := range []struct {
		q    string
		want bool
	}{
		{"access_token=x", true},
		{"a=1&access_token", true},
		{"access%5Ftoken=x", true},
		{"access%5ftoken=x", true},
		{"access_tokens=x", false},
		{"x=access_token", false},
		{"", false},
		{"%zz=1", false},
	} {
		if got := hasAccessTokenParam(tt.q); got != tt.want {
			t.Errorf("hasAccessTokenParam(%q) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

// TestLogsNeverHoldTokens: refused requests are logged with the token's
// fingerprint, never the token.
func TestLogsNeverHoldTokens(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, func(o *Options) {
		o.Logger = logger
		o.ToolScopes = map[string][]string{"deploy": {"admin"}}
	})
	srv := httptest.NewServer(e.mw.Wrap(&recorder{}))
	defer srv.Close()

	c := e.claims("alice", "mcp:read")
	c.Audience = []string{"https://other.example.com"}
	wrongAud := e.sign(c)
	scoped := e.token("alice", "mcp:read")
	for _, raw := range []string{wrongAud, scoped} {
		req := mcpPost(srv.URL, callBody("deploy"))
		req.Header.Set("Authorization", "Bearer "+raw)
		req.Header.Set("Cookie", "sid=cookie-secret")
		if got := do(t, req); got.Status == http.StatusOK {
			t.Fatalf("request passed: %+v", got)
		}
	}
	mu.Lock()
	logs := buf.String()
	mu.Unlock()
	for _, secret := range []string{wrongAud, scoped, "cookie-secret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret:\n%s", logs)
		}
	}
	if !strings.Contains(logs, logging.Fingerprint(wrongAud)) || !strings.Contains(logs, "wrong audience") {
		t.Errorf("logs lack the refused token's fingerprint or reason:\n%s", logs)
	}
	if !strings.Contains(logs, "insufficient_scope") {
		t.Errorf("logs lack the 403:\n%s", logs)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestChallengeWithoutSupportedScopes(t *testing.T) {
	mw, err := New(&Options{
		Resource:             testResource,
		AuthorizationServers: []string{testIssuer},
		MetadataURL:          "https://mcp.example.com/.well-known/oauth-protected-resource",
		Verifier:             VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, ErrInvalidToken }),
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	mw.Wrap(&recorder{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/mcp", nil))
	want := `Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"`
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != want {
		t.Errorf("status %d, challenge %q; want 401, %q", w.Code, w.Header().Get("WWW-Authenticate"), want)
	}
}

// A 401 challenge asks only for the scopes no tool policy gates, so clients
// start with the least privilege and step up on a 403.
func TestChallengeScopeLeavesOutToolGatedScopes(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.ToolScopes = map[string][]string{"purge": {"admin"}} })
	h := e.mw.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", testResource, strings.NewReader(`{}`)))
	if got, want := w.Header().Get("WWW-Authenticate"), challenge401("mcp:read mcp:write"); got != want {
		t.Fatalf("WWW-Authenticate = %s, want %s", got, want)
	}
	if err := e.mw.RequireToolScopes("write", "mcp:write"); err != nil {
		t.Fatal(err)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", testResource, strings.NewReader(`{}`)))
	if got, want := w.Header().Get("WWW-Authenticate"), challenge401("mcp:read"); got != want {
		t.Fatalf("after RequireToolScopes: WWW-Authenticate = %s, want %s", got, want)
	}
}
