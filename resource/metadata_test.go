package resource

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetadataPaths(t *testing.T) {
	tests := []struct {
		resource string
		want     []string
	}{
		{"https://mcp.example.com/mcp", []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}},
		{"https://mcp.example.com/api/v1/mcp", []string{"/.well-known/oauth-protected-resource/api/v1/mcp", "/.well-known/oauth-protected-resource"}},
		{"https://mcp.example.com/mcp/", []string{"/.well-known/oauth-protected-resource/mcp/", "/.well-known/oauth-protected-resource"}},
		{"https://mcp.example.com/a%20b", []string{"/.well-known/oauth-protected-resource/a%20b", "/.well-known/oauth-protected-resource"}},
		{"https://mcp.example.com/mcp?tenant=1", []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}},
		{"https://mcp.example.com", []string{"/.well-known/oauth-protected-resource"}},
		{"https://mcp.example.com/", []string{"/.well-known/oauth-protected-resource"}},
		{"http://127.0.0.1:8080/mcp", []string{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}},
		{"/mcp", []string{"/.well-known/oauth-protected-resource"}},
		{"::", []string{"/.well-known/oauth-protected-resource"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, MetadataPaths(tt.resource)); diff != "" {
			t.Errorf("MetadataPaths(%q) mismatch (-want +got):\n%s", tt.resource, diff)
		}
	}
}

func TestDefaultMetadataURL(t *testing.T) {
	tests := []struct{ resource, want string }{
		{"https://mcp.example.com/mcp", "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"},
		{"https://mcp.example.com", "https://mcp.example.com/.well-known/oauth-protected-resource"},
		{"http://127.0.0.1:8080/a%20b", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/a%20b"},
		{"https://mcp.example.com/mcp?x=1", "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"},
	}
	for _, tt := range tests {
		got, err := defaultMetadataURL(tt.resource)
		if err != nil || got != tt.want {
			t.Errorf("defaultMetadataURL(%q) = %q, %v; want %q", tt.resource, got, err, tt.want)
		}
	}
}

func TestMetadataHandler(t *testing.T) {
	m, err := New(&Options{
		Resource:             testResource,
		AuthorizationServers: []string{testIssuer},
		ScopesSupported:      []string{"mcp:read", "mcp:write"},
		ResourceName:         "Example MCP",
		Verifier:             VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, ErrInvalidToken }),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.MetadataHandler())
	defer srv.Close()

	const doc = `{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],` +
		`"scopes_supported":["mcp:read","mcp:write"],"bearer_methods_supported":["header"],"resource_name":"Example MCP"}`
	type response struct {
		Status  int
		Headers map[string]string
		Body    string
	}
	tests := []struct {
		method string
		header map[string]string
		want   response
	}{
		{http.MethodGet, nil, response{200, map[string]string{
			"Access-Control-Allow-Origin": "*", "Content-Type": "application/json",
			"Cache-Control": "public, max-age=300", "Allow": "",
		}, doc}},
		{http.MethodHead, nil, response{200, map[string]string{
			"Access-Control-Allow-Origin": "*", "Content-Type": "application/json",
			"Cache-Control": "public, max-age=300", "Allow": "",
		}, ""}},
		{http.MethodOptions, map[string]string{"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "mcp-protocol-version"},
			response{204, map[string]string{
				"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
				"Access-Control-Allow-Headers": "mcp-protocol-version", "Cache-Control": "", "Allow": "",
			}, ""}},
		{http.MethodOptions, map[string]string{"Access-Control-Request-Headers": "x, <script>"},
			response{204, map[string]string{
				"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type",
			}, ""}},
		{http.MethodPost, nil, response{405, map[string]string{
			"Access-Control-Allow-Origin": "*", "Allow": "GET, HEAD, OPTIONS", "Cache-Control": "",
		}, "method not allowed\n"}},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		req.Header.Set("Cookie", "ignored=1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := response{Status: resp.StatusCode, Body: string(body), Headers: map[string]string{}}
		for k := range tt.want.Headers {
			got.Headers[k] = resp.Header.Get(k)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", tt.method, diff)
		}
		if tt.method == http.MethodHead && resp.ContentLength != int64(len(doc)) {
			t.Errorf("HEAD Content-Length = %d, want %d", resp.ContentLength, len(doc))
		}
	}
}

func TestMetadataOmitsEmptyScopes(t *testing.T) {
	m, err := New(&Options{
		Resource:             "https://mcp.example.com",
		AuthorizationServers: []string{testIssuer, "https://idp.example.com/tenant"},
		Verifier:             VerifierFunc(func(context.Context, string) (*Principal, error) { return nil, ErrInvalidToken }),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.MetadataHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/oauth-protected-resource", nil))
	const want = `{"resource":"https://mcp.example.com","authorization_servers":["https://auth.example.com","https://idp.example.com/tenant"],"bearer_methods_supported":["header"]}`
	if got := rec.Body.String(); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if m.MetadataURL() != "https://mcp.example.com/.well-known/oauth-protected-resource" {
		t.Errorf("MetadataURL() = %q", m.MetadataURL())
	}
}
