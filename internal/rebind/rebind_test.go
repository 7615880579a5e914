package rebind

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	local := New(Options{PublicURL: "http://127.0.0.1:3001", Hosts: []string{"mcp.internal", "lb.example:8443"}, Origins: []string{"https://app.example/"}})
	deployed := New(Options{PublicURL: "https://mcp.example.com"})
	tests := []struct {
		name   string
		g      *Guard
		host   string
		origin string
		want   int
	}{
		{"loopback host", local, "127.0.0.1:3001", "", 200},
		{"localhost any port", local, "localhost:9999", "", 200},
		{"ipv6 loopback", local, "[::1]:3001", "", 200},
		{"rebinding host", local, "evil.example:3001", "", 403},
		{"extra host any port", local, "MCP.internal:1234", "", 200},
		{"extra host:port exact", local, "lb.example:8443", "", 200},
		{"extra host:port other port", local, "lb.example:9000", "", 403},
		{"loopback origin on local server", local, "localhost:3001", "http://localhost:6274", 200},
		{"foreign origin", local, "localhost:3001", "http://evil.example", 403},
		{"configured origin", local, "localhost:3001", "https://app.example", 200},
		{"null origin", local, "localhost:3001", "null", 403},
		{"deployed own host", deployed, "mcp.example.com", "https://mcp.example.com", 200},
		{"deployed host with port", deployed, "mcp.example.com:443", "", 200},
		{"deployed loopback origin refused", deployed, "mcp.example.com", "http://localhost:6274", 403},
		{"deployed foreign host", deployed, "attacker.example", "", 403},
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/mcp", nil)
			r.Host = tt.host
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			tt.g.Hosts(tt.g.Origins(ok)).ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	g := New(Options{PublicURL: "https://mcp.example.com", Origins: []string{"https://app.example"}})
	reached := false
	h := g.Origins(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))

	r := httptest.NewRequest("OPTIONS", "/mcp", nil)
	r.Header.Set("Origin", "https://app.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent || reached || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d reached=%v headers=%v", w.Code, reached, w.Header())
	}

	r = httptest.NewRequest("POST", "/mcp", nil)
	r.Header.Set("Origin", "https://app.example")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !reached || !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Fatalf("request: reached=%v headers=%v", reached, w.Header())
	}

	r = httptest.NewRequest("OPTIONS", "/mcp", nil)
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %v", w.Code, w.Header())
	}
}
