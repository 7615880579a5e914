package resource

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
)

// FuzzAuthorizationHeader drives arbitrary Authorization headers (several
// when the input has newlines) through the middleware: it must never panic,
// never let a request through without the valid token, and never echo the
// presented credentials.
func FuzzAuthorizationHeader(f *testing.F) {
	e := newEnv(f, nil)
	valid := e.token("alice", "mcp:read")
	old := e.claims("alice", "mcp:read")
	old.IssuedAt, old.ExpiresAt = e.clock.Now().Add(-2*time.Hour), e.clock.Now().Add(-time.Hour)
	expired := e.sign(old)
	for _, s := range []string{
		"Bearer " + valid, "bearer " + valid, "Bearer   " + valid, "Bearer " + valid + " ", "Bearer " + valid + "\nBearer " + valid,
		"Bearer " + expired, "Bearer " + valid[:len(valid)-2], "Bearer " + strings.ToUpper(valid),
		"Basic YTpi", "Bearer", "Bearer ", "", "Bearer a=b", "Bearer ===", "Bearer x.y.z", "DPoP " + valid,
	} {
		f.Add(s)
	}
	var reached bool
	h := e.mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		if r.Header.Get("Authorization") != "" {
			panic("Authorization reached the handler")
		}
	}))
	f.Fuzz(func(t *testing.T, header string) {
		reached = false
		req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(callBody("echo")))
		values := strings.Split(header, "\n")
		if header == "" {
			values = nil
		}
		for _, v := range values {
			req.Header.Add("Authorization", v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code/100 == 2 || reached {
			tok, ok := grant.ParseBearer(header)
			if !ok || tok != valid {
				t.Fatalf("status %d, handler reached %v for Authorization %q", w.Code, reached, header)
			}
			return
		}
		switch w.Code {
		case http.StatusBadRequest, http.StatusUnauthorized:
		default:
			t.Fatalf("status %d for Authorization %q", w.Code, header)
		}
		if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
			t.Fatalf("challenge %q", w.Header().Get("WWW-Authenticate"))
		}
		if tok, ok := grant.ParseBearer(header); ok && len(tok) > 8 &&
			strings.Contains(w.Header().Get("WWW-Authenticate")+w.Body.String(), tok) {
			t.Fatalf("response echoes the token")
		}
	})
}

var peekSeeds = []string{
	callBody("secret"), callBody("echo"), "[" + callBody("secret") + "]", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"\u0073ecret"}}`, "", "null", "[]", "{", `"x"`,
	`{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"secret"},"method":"ping"}`,
}

// FuzzToolsCallPeek sends arbitrary bodies through the middleware with a
// scoped tool the token lacks: the peek must never panic, and a request that
// goes on must carry the body that was sent, byte for byte. A refused request
// must be a tools/call of the scoped tool.
func FuzzToolsCallPeek(f *testing.F) {
	for _, s := range peekSeeds {
		f.Add([]byte(s))
	}
	// The token is not what is fuzzed here: a fixed verifier keeps each
	// input cheap.
	mw, err := New(&Options{
		Resource:             testResource,
		AuthorizationServers: []string{testIssuer},
		ToolScopes:           map[string][]string{"secret": {"admin"}},
		Verifier: VerifierFunc(func(context.Context, string) (*Principal, error) {
			return &Principal{Subject: "alice", Scopes: []string{"mcp:read"}}, nil
		}),
	})
	if err != nil {
		f.Fatal(err)
	}
	const raw = "opaque"
	var got []byte
	var reached bool
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		got, _ = io.ReadAll(r.Body)
	}))
	f.Fuzz(func(t *testing.T, body []byte) {
		names, ok := toolCalls(body)
		reached, got = false, nil
		req := httptest.NewRequest(http.MethodPost, "/mcp", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+raw)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case reached && !bytes.Equal(got, body):
			t.Fatalf("handler read %q, want %q", got, body)
		case !reached && w.Code != http.StatusForbidden:
			t.Fatalf("status %d without reaching the handler", w.Code)
		case !reached && !(ok && slices.Contains(names, "secret")):
			t.Fatalf("refused a body that calls %q (ok %v)", names, ok)
		case reached && ok && slices.Contains(names, "secret"):
			t.Fatalf("passed a call of the scoped tool")
		}
	})
}

// FuzzToolsCallNoBypass sends arbitrary bodies through the middleware to a
// real go-sdk server with a scoped tool the token lacks: whatever go-sdk makes
// of the body, the tool must never run, and go-sdk must read the body sent.
// It is slower than FuzzToolsCallPeek (a go-sdk session per input); run it
// with -fuzzminimizetime=1s.
func FuzzToolsCallNoBypass(f *testing.F) {
	for _, s := range peekSeeds {
		f.Add([]byte(s))
	}
	var got []byte
	var reached bool
	st := newSDKTarget(f, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			got, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(got))
			next.ServeHTTP(w, r)
		})
	})
	st.tokens["mcp:read"] = st.e.token("alice", "mcp:read") // minted before fuzzing starts
	f.Fuzz(func(t *testing.T, body []byte) {
		reached, got = false, nil
		status, ran := st.call(string(body), "mcp:read", "2025-03-26")
		if ran {
			t.Fatalf("the scoped tool ran without its scope (status %d)", status)
		}
		if reached && !bytes.Equal(got, body) {
			t.Fatalf("go-sdk read %q, want %q", got, body)
		}
	})
}
