// Package floor is the benchmark harness's reference token endpoint: the
// least any OAuth token endpoint written in Go does for a refresh_token grant
// (RFC 6749 §6) — read the form, sign one ES256 JWT access token (RFC 9068)
// with the token package, make a new random refresh token and write the
// JSON response of RFC 6749 §5.1 — and nothing else: no store, no client,
// no grant and no rotation checks. Measured by the same load generator on
// the same machine as frontmcp, its throughput and latency are the floor the
// refresh figures are read against (docs/benchmarks.md). It is not an
// authorization server: it accepts any refresh token.
package floor

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/frontmcp-go/frontmcp/token"
)

// Options configure [Handler].
type Options struct {
	// Signer signs the access tokens.
	Signer *token.Signer
	// Issuer and Audience are the access tokens' "iss" and "aud".
	Issuer, Audience string
	// Subject and Scope are the access tokens' "sub" and "scope".
	Subject, Scope string
	// TTL is the access tokens' lifetime. Zero means one hour.
	TTL time.Duration
}

// maxBody caps a token request body, as frontmcp's token endpoint does.
const maxBody = 64 << 10

// Handler serves POST /oauth/token (refresh_token grants only) and
// GET /readyz.
func Handler(o Options) http.Handler {
	if o.TTL == 0 {
		o.TTL = time.Hour
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", o.token)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	return mux
}

func (o *Options) token(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if r.Method != http.MethodPost {
		h.Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	switch {
	case r.PostForm.Get("grant_type") != "refresh_token":
		writeError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	case r.PostForm.Get("refresh_token") == "", r.PostForm.Get("client_id") == "":
		writeError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	now := time.Now()
	at, err := o.Signer.Sign(&token.Claims{
		Issuer: o.Issuer, Subject: o.Subject, Audience: []string{o.Audience},
		ExpiresAt: now.Add(o.TTL), IssuedAt: now, ID: random(16),
		ClientID: r.PostForm.Get("client_id"), Scope: o.Scope,
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error")
		return
	}
	b := make([]byte, 0, 160+len(at))
	b = append(b, `{"access_token":`...)
	b = token.AppendJSONString(b, at)
	b = append(b, `,"token_type":"Bearer","expires_in":`...)
	b = strconv.AppendInt(b, int64(o.TTL/time.Second), 10)
	b = append(b, `,"scope":`...)
	b = token.AppendJSONString(b, o.Scope)
	b = append(b, `,"refresh_token":"`...)
	b = append(b, random(32)...)
	b = append(b, "\"}\n"...)
	h.Set("Content-Type", "application/json")
	w.Write(b)
}

// random returns n random bytes, base64url-encoded.
func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":"` + code + `"}` + "\n"))
}
