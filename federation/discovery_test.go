package federation

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetadataURLs(t *testing.T) {
	tests := []struct {
		issuer string
		want   []string
	}{
		{"https://idp.example", []string{
			"https://idp.example/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server",
		}},
		{"https://idp.example/", []string{
			"https://idp.example/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server",
		}},
		// RFC 8414 §3.1 inserts the well-known segment before the path;
		// OpenID Connect Discovery §4 appends it.
		{"https://idp.example/realms/acme", []string{
			"https://idp.example/realms/acme/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server/realms/acme",
			"https://idp.example/realms/acme/.well-known/oauth-authorization-server",
		}},
	}
	for _, tt := range tests {
		got, err := MetadataURLs(tt.issuer)
		if err != nil {
			t.Fatalf("MetadataURLs(%q): %v", tt.issuer, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("MetadataURLs(%q) (-want +got):\n%s", tt.issuer, diff)
		}
	}
	for _, bad := range []string{"", "idp.example", "ftp://idp.example", "https://idp.example?x=1", "https://idp.example#f", "https://"} {
		if _, err := MetadataURLs(bad); !errors.Is(err, ErrDiscovery) {
			t.Errorf("MetadataURLs(%q) = %v, want ErrDiscovery", bad, err)
		}
	}
}

// docServer serves discovery documents by path; other paths are 404. The
// documents are crafted per test (fault injection: wrong issuers, missing
// endpoints, non-JSON answers); the happy paths run against real providers
// in the package frontmcp and e2e/node tests.
func docServer(t *testing.T, docs map[string]func(base string) string) string {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body := doc(srv.URL)
		if strings.HasPrefix(body, "<") {
			w.Header().Set("Content-Type", "text/html")
		} else {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func oauthDoc(issuer string) string {
	return `{"issuer":"` + issuer + `","authorization_endpoint":"` + issuer + `/authorize","token_endpoint":"` + issuer +
		`/token","jwks_uri":"` + issuer + `/jwks","code_challenge_methods_supported":["S256"]}`
}

func TestDiscover(t *testing.T) {
	ctx := t.Context()
	t.Run("OpenIDFirst", func(t *testing.T) {
		base := docServer(t, map[string]func(string) string{
			"/.well-known/openid-configuration": func(b string) string {
				return strings.TrimSuffix(oauthDoc(b), "}") + `,"id_token_signing_alg_values_supported":["RS256"]}`
			},
			"/.well-known/oauth-authorization-server": oauthDoc,
		})
		m, err := Discover(ctx, nil, base)
		if err != nil {
			t.Fatal(err)
		}
		if !m.OpenID() || m.Source != base+"/.well-known/openid-configuration" || m.TokenEndpoint != base+"/token" {
			t.Fatalf("metadata %+v", m)
		}
	})
	t.Run("RFC8414Fallback", func(t *testing.T) {
		base := docServer(t, map[string]func(string) string{"/.well-known/oauth-authorization-server": oauthDoc})
		m, err := Discover(ctx, nil, base)
		if err != nil {
			t.Fatal(err)
		}
		if m.OpenID() || m.Source != base+"/.well-known/oauth-authorization-server" {
			t.Fatalf("metadata %+v", m)
		}
	})
	t.Run("RFC8414WithPath", func(t *testing.T) {
		base := docServer(t, map[string]func(string) string{
			"/.well-known/oauth-authorization-server/tenant": func(b string) string { return oauthDoc(b + "/tenant") },
		})
		m, err := Discover(ctx, nil, base+"/tenant")
		if err != nil {
			t.Fatal(err)
		}
		if m.Issuer != base+"/tenant" {
			t.Fatalf("issuer %q", m.Issuer)
		}
	})
	for _, tc := range []struct {
		name string
		docs map[string]func(string) string
		want string
	}{
		{"Nothing", nil, "no discovery document"},
		{"NotJSON", map[string]func(string) string{"/.well-known/openid-configuration": func(string) string { return "<html>login</html>" }}, "not JSON"},
		{"OtherIssuer", map[string]func(string) string{"/.well-known/openid-configuration": func(string) string { return oauthDoc("https://evil.example") }}, "is not the configured provider"},
		{"NoS256", map[string]func(string) string{"/.well-known/oauth-authorization-server": func(b string) string {
			return strings.Replace(oauthDoc(b), `["S256"]`, `["plain"]`, 1)
		}}, "PKCE S256"},
		{"RelativeEndpoint", map[string]func(string) string{"/.well-known/oauth-authorization-server": func(b string) string {
			return strings.Replace(oauthDoc(b), b+"/token", "/token", 1)
		}}, "token_endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := docServer(t, tc.docs)
			_, err := Discover(ctx, nil, base)
			if !errors.Is(err, ErrDiscovery) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Discover: %v, want ErrDiscovery mentioning %q", err, tc.want)
			}
		})
	}
}

// TestDiscoverExactIssuer: the document's issuer must be identical to the
// configured one (OpenID Connect Discovery §4.3), a trailing slash
// included; the error names the value to configure.
func TestDiscoverExactIssuer(t *testing.T) {
	base := docServer(t, map[string]func(string) string{
		"/.well-known/oauth-authorization-server": func(b string) string { return oauthDoc(b + "/") },
	})
	_, err := Discover(t.Context(), nil, base)
	if !errors.Is(err, ErrDiscovery) || !strings.Contains(err.Error(), "must be identical") || !strings.Contains(err.Error(), `set auth.provider to exactly "`+base+`/"`) {
		t.Fatalf("Discover with an issuer differing by a slash: %v", err)
	}
	m, err := Discover(t.Context(), nil, base+"/")
	if err != nil || m.Issuer != base+"/" {
		t.Fatalf("Discover with the exact issuer: %+v, %v", m, err)
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, tc := range []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://idp.example/token", false, true},
		{"http://idp.example/token", false, false},
		{"http://127.0.0.1:8080/token", true, true},
		{"/token", true, false},
		{"https://idp.example/token#x", false, false},
		{"javascript:alert(1)", true, false},
	} {
		if err := CheckEndpoint(tc.url, tc.allowHTTP); (err == nil) != tc.ok {
			t.Errorf("CheckEndpoint(%q, %t) = %v, want ok %t", tc.url, tc.allowHTTP, err, tc.ok)
		}
	}
}

func TestClaimString(t *testing.T) {
	claims := map[string]any{
		"sub": "u-1", "num": float64(12345), "frac": 1.5, "empty": "", "obj": map[string]any{}, "ctl": "a\x00b",
		"long": strings.Repeat("x", maxSubject+1),
	}
	for name, want := range map[string]string{"sub": "u-1", "num": "12345"} {
		if got, err := claimString(claims, name); err != nil || got != want {
			t.Errorf("claimString(%s) = %q, %v, want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"missing", "frac", "empty", "obj", "ctl", "long"} {
		if got, err := claimString(claims, name); err == nil {
			t.Errorf("claimString(%s) = %q, want an error", name, got)
		}
	}
}

func TestRequestScopes(t *testing.T) {
	for _, tc := range []struct {
		in     []string
		openID bool
		want   []string
	}{
		{nil, true, []string{"openid", "offline_access"}},
		{[]string{"email"}, true, []string{"openid", "email"}},
		{[]string{"openid", "email"}, true, []string{"openid", "email"}},
		{nil, false, nil},
		{[]string{"api"}, false, []string{"api"}},
	} {
		if diff := cmp.Diff(tc.want, requestScopes(tc.in, tc.openID)); diff != "" {
			t.Errorf("requestScopes(%v, %t) (-want +got):\n%s", tc.in, tc.openID, diff)
		}
	}
}

// FuzzParseMetadata: any document either fails to parse or yields metadata
// that the checks accept or refuse without panicking.
func FuzzParseMetadata(f *testing.F) {
	f.Add([]byte(oauthDoc("https://idp.example")))
	f.Add([]byte(`{"issuer":1}`))
	f.Add([]byte(`{"issuer":"https://idp.example","code_challenge_methods_supported":null,"jwks_uri":"%zz"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseMetadata(body)
		if err != nil {
			return
		}
		if err := m.check("https://idp.example"); err == nil {
			if m.Issuer != "https://idp.example" {
				t.Fatalf("accepted issuer %q", m.Issuer)
			}
		}
	})
}
