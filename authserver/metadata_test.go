package authserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

func TestMetadata(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Options)
		want func(issuer, base string) map[string]any
	}{
		{
			name: "registration and refresh off",
			mod:  func(o *Options) { o.RegistrationEnabled, o.RefreshEnabled = false, false },
			want: func(issuer, base string) map[string]any {
				return map[string]any{
					"issuer":                                         issuer,
					"authorization_endpoint":                         base + "/oauth/authorize",
					"token_endpoint":                                 base + "/oauth/token",
					"jwks_uri":                                       base + "/.well-known/jwks.json",
					"scopes_supported":                               []any{"tools:read", "tools:write"},
					"response_types_supported":                       []any{"code"},
					"response_modes_supported":                       []any{"query"},
					"grant_types_supported":                          []any{"authorization_code"},
					"token_endpoint_auth_methods_supported":          []any{"none", "client_secret_basic", "client_secret_post"},
					"code_challenge_methods_supported":               []any{"S256"},
					"authorization_response_iss_parameter_supported": true,
					"revocation_endpoint":                            base + "/oauth/revoke",
					"revocation_endpoint_auth_methods_supported":     []any{"none", "client_secret_basic", "client_secret_post"},
					"introspection_endpoint":                         base + "/oauth/introspect",
					"introspection_endpoint_auth_methods_supported":  []any{"client_secret_basic", "client_secret_post"},
				}
			},
		},
		{
			name: "registration and refresh on",
			mod: func(o *Options) {
				o.RegistrationEnabled, o.RefreshEnabled, o.RefreshTokenTTL = true, true, time.Hour
			},
			want: func(issuer, base string) map[string]any {
				return map[string]any{
					"issuer":                                         issuer,
					"authorization_endpoint":                         base + "/oauth/authorize",
					"token_endpoint":                                 base + "/oauth/token",
					"jwks_uri":                                       base + "/.well-known/jwks.json",
					"registration_endpoint":                          base + "/oauth/register",
					"scopes_supported":                               []any{"tools:read", "tools:write"},
					"response_types_supported":                       []any{"code"},
					"response_modes_supported":                       []any{"query"},
					"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
					"token_endpoint_auth_methods_supported":          []any{"none", "client_secret_basic", "client_secret_post"},
					"code_challenge_methods_supported":               []any{"S256"},
					"authorization_response_iss_parameter_supported": true,
					"revocation_endpoint":                            base + "/oauth/revoke",
					"revocation_endpoint_auth_methods_supported":     []any{"none", "client_secret_basic", "client_secret_post"},
					"introspection_endpoint":                         base + "/oauth/introspect",
					"introspection_endpoint_auth_methods_supported":  []any{"client_secret_basic", "client_secret_post"},
				}
			},
		},
		{
			name: "no scopes, issuer with a trailing slash",
			mod: func(o *Options) {
				o.Scopes = nil
				o.Issuer += "/"
			},
			want: func(issuer, base string) map[string]any {
				return map[string]any{
					"issuer":                                         issuer,
					"authorization_endpoint":                         base + "/oauth/authorize",
					"token_endpoint":                                 base + "/oauth/token",
					"jwks_uri":                                       base + "/.well-known/jwks.json",
					"response_types_supported":                       []any{"code"},
					"response_modes_supported":                       []any{"query"},
					"grant_types_supported":                          []any{"authorization_code"},
					"token_endpoint_auth_methods_supported":          []any{"none", "client_secret_basic", "client_secret_post"},
					"code_challenge_methods_supported":               []any{"S256"},
					"authorization_response_iss_parameter_supported": true,
					"revocation_endpoint":                            base + "/oauth/revoke",
					"revocation_endpoint_auth_methods_supported":     []any{"none", "client_secret_basic", "client_secret_post"},
					"introspection_endpoint":                         base + "/oauth/introspect",
					"introspection_endpoint_auth_methods_supported":  []any{"client_secret_basic", "client_secret_post"},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newBrowserHarness(t, false, tt.mod)
			base := strings.TrimRight(h.issuer, "/")
			for _, path := range []string{PathASMetadata, PathOIDCMetdata} {
				resp := h.get(h.browser, path)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d", path, resp.StatusCode)
				}
				for name, want := range map[string]string{
					"Content-Type":                "application/json",
					"Cache-Control":               "public, max-age=300",
					"Access-Control-Allow-Origin": "*",
					"X-Content-Type-Options":      "nosniff",
				} {
					if got := resp.Header.Get(name); got != want {
						t.Errorf("%s: %s = %q; want %q", path, name, got, want)
					}
				}
				var got map[string]any
				if err := json.Unmarshal([]byte(resp.body), &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want(h.issuer, base), got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", path, diff)
				}
				// RFC 8414 §3.3: the issuer is the configured string byte
				// for byte.
				var raw struct {
					Issuer json.RawMessage `json:"issuer"`
				}
				json.Unmarshal([]byte(resp.body), &raw)
				if want, _ := json.Marshal(h.issuer); string(raw.Issuer) != string(want) {
					t.Errorf("%s: issuer %s; want %s", path, raw.Issuer, want)
				}
			}
		})
	}
}

func TestDiscoveryMethods(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	for _, path := range []string{PathASMetadata, PathOIDCMetdata, PathJWKS} {
		t.Run(path, func(t *testing.T) {
			for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
				req, _ := http.NewRequest(method, h.ts.URL+path, nil)
				resp := h.do(h.browser, req)
				if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
					t.Errorf("%s: status %d, Allow %q; want 405 with GET, HEAD, OPTIONS", method, resp.StatusCode, resp.Header.Get("Allow"))
				}
			}
			req, _ := http.NewRequest(http.MethodHead, h.ts.URL+path, nil)
			resp := h.do(h.browser, req)
			if resp.StatusCode != http.StatusOK || resp.body != "" || resp.Header.Get("Cache-Control") != "public, max-age=300" {
				t.Errorf("HEAD: status %d, body %q, Cache-Control %q", resp.StatusCode, resp.body, resp.Header.Get("Cache-Control"))
			}
			// A browser's CORS preflight (the MCP TypeScript SDK sends
			// MCP-Protocol-Version on discovery requests).
			req, _ = http.NewRequest(http.MethodOptions, h.ts.URL+path, nil)
			req.Header.Set("Origin", "https://inspector.example")
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "mcp-protocol-version")
			resp = h.do(h.browser, req)
			want := map[string]string{
				"Access-Control-Allow-Origin":  "*",
				"Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
				"Access-Control-Allow-Headers": "mcp-protocol-version",
			}
			got := map[string]string{}
			for k := range want {
				got[k] = resp.Header.Get(k)
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("preflight status %d; want 204", resp.StatusCode)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("preflight headers (-want +got):\n%s", diff)
			}
			if c := resp.Header.Get("Set-Cookie"); c != "" {
				t.Errorf("discovery sets a cookie: %s", c)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	resp := h.get(h.browser, PathJWKS)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for name, want := range map[string]string{
		"Content-Type":                "application/json",
		"Cache-Control":               "public, max-age=300",
		"Access-Control-Allow-Origin": "*",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q; want %q", name, got, want)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(resp.body), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys; want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k.KeyID != h.opts.Signer.KeyID() || k.Algorithm != h.opts.Signer.Algorithm() || k.Use != "sig" || !k.IsPublic() {
		t.Errorf("key kid=%q alg=%q use=%q public=%v; want the signer's public key", k.KeyID, k.Algorithm, k.Use, k.IsPublic())
	}
	var members []map[string]any
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal([]byte(resp.body), &doc)
	members = doc.Keys
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := members[0][private]; ok {
			t.Errorf("JWKS publishes private member %q", private)
		}
	}
}
