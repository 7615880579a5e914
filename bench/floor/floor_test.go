package floor

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/token"
	jose "github.com/go-jose/go-jose/v4"
)

func newServer(t *testing.T) (*httptest.Server, *token.Verifier) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSigner(jose.JSONWebKey{Key: key, KeyID: "k1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(Options{Signer: s, Issuer: "http://issuer.test", Audience: "http://issuer.test/mcp", Subject: "bench", Scope: "mcp:tools"}))
	t.Cleanup(srv.Close)
	return srv, v
}

func post(t *testing.T, u string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestRefresh(t *testing.T) {
	srv, v := newServer(t)
	seen := map[string]bool{}
	for range 2 {
		resp, body := post(t, srv.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"c1"}})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("status %d, headers %v: %s", resp.StatusCode, resp.Header, body)
		}
		var tok struct {
			AccessToken  string `json:"access_token"`
			TokenType    string `json:"token_type"`
			ExpiresIn    int64  `json:"expires_in"`
			Scope        string `json:"scope"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(body, &tok); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.Scope != "mcp:tools" || len(tok.RefreshToken) != 43 || seen[tok.RefreshToken] {
			t.Errorf("token response %+v", tok)
		}
		seen[tok.RefreshToken] = true
		c, err := v.Verify(tok.AccessToken, token.VerifyOptions{Issuer: "http://issuer.test", Audience: "http://issuer.test/mcp"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != "bench" || c.ClientID != "c1" || c.ID == "" || c.ExpiresAt.Sub(c.IssuedAt) != time.Hour {
			t.Errorf("claims %+v", c)
		}
	}
}

func TestBadRequests(t *testing.T) {
	srv, _ := newServer(t)
	for _, tc := range []struct {
		form   url.Values
		status int
		code   string
	}{
		{url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, http.StatusBadRequest, "unsupported_grant_type"},
		{url.Values{"grant_type": {"refresh_token"}, "client_id": {"c1"}}, http.StatusBadRequest, "invalid_request"},
		{url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, http.StatusBadRequest, "invalid_request"},
		{url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("x", maxBody)}}, http.StatusBadRequest, "invalid_request"},
	} {
		resp, body := post(t, srv.URL+"/oauth/token", tc.form)
		if resp.StatusCode != tc.status || !strings.Contains(string(body), `"error":"`+tc.code+`"`) {
			t.Errorf("%v: %d %s, want %d %s", tc.form.Get("grant_type"), resp.StatusCode, body, tc.status, tc.code)
		}
	}
	resp, err := http.Get(srv.URL + "/oauth/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if resp, err = http.Get(srv.URL + "/readyz"); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: %d", resp.StatusCode)
	}
}
