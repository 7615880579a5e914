package resource

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkWrapToolsCall measures the middleware on a tools/call request, in
// process (no network), with a handler that reads the body as go-sdk does.
//
//   - verify=local: the real LocalVerifier (ES256 JWT and a memstore grant
//     lookup), the cost of an authenticated request;
//   - verify=cached: the LocalVerifier behind a CachedVerifier, as the server
//     runs it: after the first request, a hash, a cache hit and the
//     revocation check;
//   - verify=fixed: a verifier that returns a principal at once, isolating the
//     middleware's own cost;
//   - toolscopes=none: no per-tool scopes, the body is never read;
//   - toolscopes=peek: another tool needs a scope the token lacks, so every
//     POST body is read and decoded;
//   - toolscopes=held: the token holds every required scope, so the body is
//     not read.
func BenchmarkWrapToolsCall(b *testing.B) {
	args := `{"query":"` + strings.Repeat("x", 200) + `","limit":10,"filters":{"a":[1,2,3],"b":{"c":true}}}`
	body := `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search","arguments":` + args + `}}`
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	})
	fixed := &Principal{Subject: "alice", Scopes: []string{"mcp:read"}}
	for _, verify := range []string{"local", "cached", "fixed"} {
		for _, scopes := range []string{"none", "peek", "held"} {
			b.Run("verify="+verify+"/toolscopes="+scopes, func(b *testing.B) {
				e := newEnv(b, func(o *Options) {
					switch scopes {
					case "peek":
						o.ToolScopes = map[string][]string{"deploy": {"admin"}}
					case "held":
						o.ToolScopes = map[string][]string{"deploy": {"mcp:read"}}
					}
					if verify == "fixed" {
						o.Verifier = VerifierFunc(func(context.Context, string) (*Principal, error) { return fixed, nil })
					}
				})
				if verify == "cached" {
					cv, err := NewCachedVerifier(e.local, &CacheOptions{Clock: e.clock.Now})
					if err != nil {
						b.Fatal(err)
					}
					opts := &Options{Resource: testResource, AuthorizationServers: []string{testIssuer},
						ScopesSupported: []string{"mcp:read", "mcp:write", "admin"}, Verifier: cv}
					switch scopes {
					case "peek":
						opts.ToolScopes = map[string][]string{"deploy": {"admin"}}
					case "held":
						opts.ToolScopes = map[string][]string{"deploy": {"mcp:read"}}
					}
					if e.mw, err = New(opts); err != nil {
						b.Fatal(err)
					}
				}
				h := e.mw.Wrap(next)
				auth := "Bearer " + e.token("alice", "mcp:read")
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
					req.Header.Set("Authorization", auth)
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		}
	}
}

// BenchmarkToolCalls measures the peek's decoding alone.
func BenchmarkToolCalls(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search","arguments":{"query":"` +
		strings.Repeat("x", 200) + `","limit":10}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if names, ok := toolCalls(body); !ok || len(names) != 1 {
			b.Fatal(names, ok)
		}
	}
}
