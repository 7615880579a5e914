package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// stubIdP is an identity provider on loopback whose token endpoint answers
// as each test sets it: a fault injector for the answers real providers
// give rarely or never on demand (form-encoded responses, missing
// expires_in, 503, server_error, typ headers, unverified email addresses).
// Discovery and the JWKS are served as a provider serves them, so the
// Provider under test is built by NewProvider exactly as in production. The
// flows against real providers run in the package frontmcp tests (a
// frontmcp upstream) and e2e/node (oidc-provider).
type stubIdP struct {
	url    string
	key    *ecdsa.PrivateKey
	openID bool

	mu    sync.Mutex
	token http.HandlerFunc // answers the token endpoint
	forms []url.Values     // every token request's form, in order
}

const stubClientID = "frontmcp"

// newStubIdP starts a stub provider; openID makes it an OpenID provider
// (ID tokens), otherwise it publishes plain RFC 8414 metadata.
func newStubIdP(t testing.TB, openID bool) *stubIdP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	idp := &stubIdP{key: key, openID: openID}
	mux := http.NewServeMux()
	meta := func(w http.ResponseWriter, _ *http.Request) {
		m := map[string]any{
			"issuer": idp.url, "authorization_endpoint": idp.url + "/authorize", "token_endpoint": idp.url + "/token",
			"jwks_uri": idp.url + "/jwks", "code_challenge_methods_supported": []string{"S256"},
		}
		if idp.openID {
			m["id_token_signing_alg_values_supported"] = []string{"ES256"}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m)
	}
	if openID {
		mux.HandleFunc("/.well-known/openid-configuration", meta)
	} else {
		mux.HandleFunc("/.well-known/oauth-authorization-server", meta)
	}
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		idp.mu.Lock()
		idp.forms = append(idp.forms, r.PostForm)
		h := idp.token
		idp.mu.Unlock()
		if h == nil {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		h(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	idp.url = srv.URL
	return idp
}

// answer makes the token endpoint answer status with body of content type
// ctype.
func (idp *stubIdP) answer(status int, ctype, body string) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.token = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// answerJSON makes the token endpoint answer 200 with v as JSON.
func (idp *stubIdP) answerJSON(t testing.TB, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	idp.answer(http.StatusOK, "application/json", string(b))
}

// requests returns the forms of the token requests received so far.
func (idp *stubIdP) requests() []url.Values {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return append([]url.Values(nil), idp.forms...)
}

// sign returns claims signed by the provider's key with header typ ("" for
// none).
func (idp *stubIdP) sign(t testing.TB, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader("kid", "k1")
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: idp.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// provider builds the Provider of idp with NewProvider, with resource (may
// be "") and subject claim (may be "").
func (idp *stubIdP) provider(t testing.TB, clock func() time.Time, resource, subjectClaim string) *Provider {
	t.Helper()
	p, err := NewProvider(t.Context(), &Options{
		Issuer: idp.url, ClientID: stubClientID, ClientSecret: "secret", RedirectURL: "https://mcp.example/oauth/upstream/callback",
		Resource: resource, SubjectClaim: subjectClaim, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
