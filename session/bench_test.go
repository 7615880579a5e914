package session

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/store/memstore"
)

// BenchmarkToolCall is one tools/call on an initialized session over
// loopback HTTP: go-sdk's own stateful handler (sessions in the process)
// against this package's handler on each local store, which adds one store
// read per request (and a touch at most once a minute).
func BenchmarkToolCall(b *testing.B) {
	handlers := []struct {
		name string
		make func(b *testing.B) http.Handler
	}{
		{"GoSDK", func(*testing.B) http.Handler {
			return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return newMCPServer() }, nil)
		}},
		{"Memory", func(b *testing.B) http.Handler {
			return benchHandler(b, memstore.New(nil))
		}},
		{"MemoryExpiringToken", func(b *testing.B) http.Handler {
			// Requests whose credentials can end are watched until they
			// do (Principal.ExpiresAt).
			exp := time.Now().Add(time.Hour)
			h, err := New(&Options{Server: newMCPServer(), Store: memstore.New(nil),
				Principal: func(*http.Request) Principal { return Principal{ExpiresAt: exp, GrantID: "grant-1"} }})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(h.Close)
			return h
		}},
		{"File", func(b *testing.B) http.Handler {
			st, err := filestore.Open(filepath.Join(b.TempDir(), "store.db"), &filestore.Options{SweepInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return benchHandler(b, st)
		}},
	}
	for _, hh := range handlers {
		b.Run(hh.name, func(b *testing.B) {
			srv := httptest.NewServer(hh.make(b))
			defer srv.Close()
			post := func(sid, body string) *http.Response {
				req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				if sid != "" {
					req.Header.Set("Mcp-Session-Id", sid)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp
			}
			sid := post("", initBody).Header.Get("Mcp-Session-Id")
			post(sid, initializedBody)
			body := callBody(2, "whoami")
			for b.Loop() {
				if resp := post(sid, body); resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

func benchHandler(b *testing.B, st store.Sessions) http.Handler {
	h, err := New(&Options{Server: newMCPServer(), Store: st})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.Close)
	return h
}

// BenchmarkGetSession is the store read each request on a session makes.
func BenchmarkGetSession(b *testing.B) {
	for _, bb := range []struct {
		name string
		open func(b *testing.B) store.Sessions
	}{
		{"Memory", func(*testing.B) store.Sessions { return memstore.New(nil) }},
		{"File", func(b *testing.B) store.Sessions {
			st, err := filestore.Open(filepath.Join(b.TempDir(), "store.db"), &filestore.Options{SweepInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			return st
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			st := bb.open(b)
			now := time.Now()
			ss := &store.Session{
				ID: storeKey("bench"), Subject: "alice", ClientID: "client-1", IdleTimeout: time.Hour,
				State:     []byte(`{"initializeParams":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}},"initializedParams":{},"logLevel":"info"}`),
				CreatedAt: now, LastSeen: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
			}
			if err := st.CreateSession(b.Context(), ss); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := st.GetSession(b.Context(), ss.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
