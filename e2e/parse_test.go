package e2e

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The challenge parser reads what the server sends; this test pins down that
// it reads it right, so that a failure of the end-to-end tests points at the
// server. (The form reader has its own tests in internal/htmlform.)
func TestBearerChallenge(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   map[string]string
		ok     bool
	}{
		{
			name:   "resource metadata only",
			header: []string{`Bearer resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp"`},
			want:   map[string]string{"resource_metadata": "http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp"},
			ok:     true,
		},
		{
			name:   "insufficient scope with escapes",
			header: []string{`Basic realm="x"`, `bearer error="insufficient_scope", scope="mcp:admin mcp:tools", error_description="needs \"admin\"", max_age=5`},
			want:   map[string]string{"error": "insufficient_scope", "scope": "mcp:admin mcp:tools", "error_description": `needs "admin"`, "max_age": "5"},
			ok:     true,
		},
		{name: "no bearer", header: []string{`Basic realm="x"`}},
		{name: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := bearerChallenge(http.Header{"Www-Authenticate": tt.header})
			if ok != tt.ok {
				t.Errorf("ok = %t, want %t", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}
