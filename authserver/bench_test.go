package authserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestTokenResponseJSON: the hand-written token response is what
// encoding/json writes for the struct, byte for byte.
func TestTokenResponseJSON(t *testing.T) {
	for _, r := range []tokenResponse{
		{},
		{AccessToken: "eyJh.eyJp.sig", TokenType: "Bearer", ExpiresIn: 3600, Scope: "mcp:read mcp:write", RefreshToken: "g.s"},
		{AccessToken: "a", TokenType: "Bearer", ExpiresIn: -1},
		{AccessToken: "<&>\"\\\x00é\u2028\xff", TokenType: "B", Scope: "a<b c&d", RefreshToken: "\t"},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(&r); err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		writeTokenResponse(w, &r)
		if got := w.Body.String(); got != want.String() {
			t.Errorf("token response %q, encoding/json writes %q", got, want.String())
		}
		if ct := w.Header().Get("Content-Type"); w.Code != http.StatusOK || ct != "application/json" {
			t.Errorf("status %d, Content-Type %q", w.Code, ct)
		}
	}
}

// BenchmarkTokenEndpointRefresh is one refresh_token grant on the token
// endpoint, in process (a response recorder, no network), with the
// memstore: client authentication, the grant read, rotation, an ES256
// access token and the JSON answer. Each iteration presents the refresh
// token of the previous answer, so the grant accumulates rotated hashes as
// a long-lived one does.
func BenchmarkTokenEndpointRefresh(b *testing.B) {
	for _, client := range []string{tkPublic, tkBasic} {
		b.Run(client, func(b *testing.B) {
			e := newTkEnv(b, nil)
			first, _ := e.redeem(b, client)
			rt := first.str("refresh_token")
			mux := http.NewServeMux()
			e.srv.Register(mux)
			b.ReportAllocs()
			for b.Loop() {
				form := "grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt)
				if client == tkPublic {
					form += "&client_id=" + client
				}
				req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if client == tkBasic {
					req.SetBasicAuth(client, e.secrets[client])
				}
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				_, rest, _ := strings.Cut(w.Body.String(), `"refresh_token":"`)
				next, _, _ := strings.Cut(rest, `"`)
				if w.Code != http.StatusOK || next == "" || next == rt {
					b.Fatalf("refresh: %d %s", w.Code, w.Body)
				}
				rt = next
			}
		})
	}
}

// BenchmarkTokenEndpointCode is one authorization_code grant on the token
// endpoint, in process: code consumption, PKCE, a new grant, an access
// token and a refresh token. Codes are stored before the timer starts.
func BenchmarkTokenEndpointCode(b *testing.B) {
	e := newTkEnv(b, nil)
	mux := http.NewServeMux()
	e.srv.Register(mux)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		raw, verifier, _ := e.newCode(b, tkPublic, nil)
		form := tkCodeForm(raw, verifier)
		form.Set("client_id", tkPublic)
		req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		b.StartTimer()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("code: %d %s", w.Code, w.Body)
		}
	}
}
