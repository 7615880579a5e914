package resource

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestToolCalls(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   []string
		wantOK bool
	}{
		{"single call", callBody("a"), []string{"a"}, true},
		{"other method", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil, true},
		{"response", `{"jsonrpc":"2.0","id":1,"result":{}}`, nil, true},
		{"batch", "[" + callBody("a") + `,{"jsonrpc":"2.0","method":"ping","id":2},` + callBody("b") + "]", []string{"a", "b"}, true},
		{"batch with spaces", " \n\t[ " + callBody("a") + " ]", []string{"a"}, true},
		{"empty batch", "[]", nil, true},
		{"escaped method", `{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"a"}}`, []string{"a"}, true},
		{"unicode escapes", `{"jsonrpc":"2.0","id":1,"method":"\u0074ools/call","params":{"name":"\u0061"}}`, []string{"a"}, true},
		{"keys are case-sensitive", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"Method":"ping"}`, []string{"a"}, true},
		{"upper-case key alone", `{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"a"}}`, nil, true},
		{"upper-case name key", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"a"}}`, []string{""}, true},
		{"trailing bytes ignored", callBody("a") + ` garbage`, []string{"a"}, true},
		{"second value ignored", callBody("a") + callBody("b"), []string{"a"}, true},
		{"no params", `{"jsonrpc":"2.0","id":1,"method":"tools/call"}`, nil, true},
		{"params not an object", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}`, nil, true},
		{"name not a string", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}}`, nil, true},
		{"method not a string", `{"jsonrpc":"2.0","id":1,"method":1}`, nil, false},
		{"truncated", `{"jsonrpc":"2.0","method":"tools/call",`, nil, false},
		{"empty", ``, nil, false},
		{"null", `null`, nil, true},
		{"batch with a bad element", "[" + callBody("a") + `,{"method":}]`, nil, false},
		{"too deep", strings.Repeat("[", 1001) + strings.Repeat("]", 1001), nil, false},
		{"deep but allowed", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":` +
			strings.Repeat(`{"x":`, 990) + "1" + strings.Repeat("}", 990) + "}}", []string{"a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := toolCalls([]byte(tt.body))
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("names mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// sdkTarget is a real go-sdk server behind the middleware, with a tool
// "secret" that needs scope admin and records whether it ran.
type sdkTarget struct {
	e       *env
	handler http.Handler
	ran     atomic.Int32
	tokens  map[string]string // by scope
}

// newSDKTarget builds the target; between, if not nil, wraps the go-sdk
// handler inside the middleware.
func newSDKTarget(t testing.TB, between func(http.Handler) http.Handler) *sdkTarget {
	st := &sdkTarget{
		e:      newEnv(t, func(o *Options) { o.ToolScopes = map[string][]string{"secret": {"admin"}} }),
		tokens: map[string]string{},
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	s.AddTool(&mcp.Tool{Name: "secret", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			st.ran.Add(1)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "secret"}}}, nil
		})
	var sdk http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	if between != nil {
		sdk = between(sdk)
	}
	st.handler = st.e.mw.Wrap(sdk)
	return st
}

// call sends body with a token holding scope and reports the status and
// whether the secret tool ran.
func (st *sdkTarget) call(body, scope, protocol string) (status int, ran bool) {
	before := st.ran.Load()
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if protocol != "" {
		req.Header.Set("MCP-Protocol-Version", protocol)
	}
	raw, ok := st.tokens[scope]
	if !ok {
		raw = st.e.token("alice", scope)
		st.tokens[scope] = raw
	}
	req.Header.Set("Authorization", "Bearer "+raw)
	w := httptest.NewRecorder()
	st.handler.ServeHTTP(w, req)
	return w.Code, st.ran.Load() != before
}

// TestToolsCallNoBypass sends bodies that try to make the peek and go-sdk
// disagree. Without scope admin the secret tool must never run; every body
// that runs it with admin must get 403 without.
func TestToolsCallNoBypass(t *testing.T) {
	st := newSDKTarget(t, nil)
	const head = `{"jsonrpc":"2.0","id":1,`
	tests := []struct {
		name     string
		body     string
		protocol string
		runs     bool // go-sdk runs the tool when the scope is granted
	}{
		{name: "plain", body: callBody("secret"), runs: true},
		{name: "escaped slash", body: head + `"method":"tools\/call","params":{"name":"secret"}}`, runs: true},
		{name: "unicode method", body: head + `"method":"\u0074ools/call","params":{"name":"secret"}}`, runs: true},
		{name: "unicode name", body: head + `"method":"tools/call","params":{"name":"\u0073ecret"}}`, runs: true},
		{name: "case variant key after", body: head + `"method":"tools/call","params":{"name":"secret"},"Method":"ping"}`, runs: true},
		{name: "case variant key alone", body: head + `"Method":"tools/call","params":{"name":"secret"}}`},
		{name: "duplicate method, call last", body: head + `"method":"ping","params":{"name":"secret"},"method":"tools/call"}`, runs: true},
		{name: "duplicate method, call first", body: head + `"method":"tools/call","params":{"name":"secret"},"method":"ping"}`},
		{name: "duplicate name, secret last", body: head + `"method":"tools/call","params":{"name":"echo","name":"secret"}}`, runs: true},
		{name: "duplicate name, secret first", body: head + `"method":"tools/call","params":{"name":"secret","name":"echo"}}`},
		{name: "duplicate params", body: head + `"method":"tools/call","params":{"name":"echo"},"params":{"name":"secret"}}`, runs: true},
		{name: "upper-case Name", body: head + `"method":"tools/call","params":{"Name":"secret"}}`},
		{name: "trailing garbage", body: callBody("secret") + ` }}garbage`, runs: true},
		{name: "two values", body: `{"jsonrpc":"2.0","id":1,"method":"ping"}` + callBody("secret")},
		{name: "leading whitespace", body: " \r\n\t" + callBody("secret"), runs: true},
		{name: "byte order mark", body: "\ufeff" + callBody("secret")},
		{name: "meta and arguments", body: head + `"method":"tools/call","params":{"_meta":{"progressToken":1},"arguments":{"a":[1,{"b":null}]},"name":"secret"}}`, runs: true},
		{name: "batch", body: "[" + callBody("secret") + "]", protocol: "2025-03-26", runs: true},
		{name: "batch after ping", body: `[{"jsonrpc":"2.0","id":2,"method":"ping"},` + callBody("secret") + "]", protocol: "2025-03-26", runs: true},
		{name: "batch with whitespace", body: "\n [ " + callBody("secret") + " ] ", protocol: "2025-03-26", runs: true},
		{name: "number id as string", body: `{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"secret"}}`, runs: true},
		{name: "notification", body: `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"secret"}}`},
		{name: "invalid utf-8 in other field", body: head + "\"method\":\"tools/call\",\"x\":\"\xff\",\"params\":{\"name\":\"secret\"}}", runs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ranWith := st.call(tt.body, "mcp:read admin", tt.protocol)
			if ranWith != tt.runs {
				t.Errorf("with scope admin: tool ran = %v, want %v (the case no longer tests what it says)", ranWith, tt.runs)
			}
			status, ranWithout := st.call(tt.body, "mcp:read", tt.protocol)
			if ranWithout {
				t.Fatalf("without scope admin the tool ran (status %d)", status)
			}
			if ranWith && status != http.StatusForbidden {
				t.Errorf("without scope admin: status %d, want 403", status)
			}
		})
	}
}
