package resource

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/resource/jwks"
	"github.com/frontmcp-go/frontmcp/token"
)

const (
	extIssuer   = "https://idp.example.com/realms/mcp"
	extAudience = testResource
)

// extIdP is an external identity provider's key set endpoint over real HTTP:
// its keys and availability can change, and it counts the requests it gets.
type extIdP struct {
	srv  *httptest.Server
	gets atomic.Int64
	mu   sync.Mutex
	keys []jose.JSONWebKey
	down bool
}

func newExtIdP(t testing.TB) *extIdP {
	t.Helper()
	idp := &extIdP{}
	idp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idp.gets.Add(1)
		idp.mu.Lock()
		down, set := idp.down, token.PublicJWKS(idp.keys...)
		idp.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(idp.srv.Close)
	return idp
}

// newKey generates a key of alg, publishes it and returns the private key.
func (idp *extIdP) newKey(t testing.TB, alg string) jose.JSONWebKey {
	t.Helper()
	k, err := token.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	idp.publish(k)
	return k
}

func (idp *extIdP) publish(keys ...jose.JSONWebKey) {
	idp.mu.Lock()
	idp.keys = append(idp.keys, keys...)
	idp.mu.Unlock()
}

func (idp *extIdP) withdraw(kid string) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	var kept []jose.JSONWebKey
	for _, k := range idp.keys {
		if k.KeyID != kid {
			kept = append(kept, k)
		}
	}
	idp.keys = kept
}

func (idp *extIdP) setDown(down bool) {
	idp.mu.Lock()
	idp.down = down
	idp.mu.Unlock()
}

// extEnv is a resource server in transparent mode: a jwks.Set fetching from
// an extIdP, a TransparentVerifier, and the middleware.
type extEnv struct {
	t     testing.TB
	clock *testclock.Clock
	idp   *extIdP
	key   jose.JSONWebKey
	set   *jwks.Set
	tv    *TransparentVerifier
	mw    *Middleware
	logs  *strings.Builder
}

type extConfig struct {
	requireTyp bool
	stale      time.Duration
	cache      bool // put a CachedVerifier in front
	mod        func(*Options)
}

func newExtEnv(t testing.TB, cfg extConfig) *extEnv {
	t.Helper()
	e := &extEnv{t: t, clock: newTestClock(), idp: newExtIdP(t), logs: &strings.Builder{}}
	e.key = e.idp.newKey(t, token.ES256)
	var err error
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logMu, e.logs}, nil))
	e.set, err = jwks.New(&jwks.Options{
		JWKSURI: e.idp.srv.URL,
		Stale:   cfg.stale,
		Clock:   e.clock.Now,
		Logger:  logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.tv, err = NewTransparentVerifier(&TransparentVerifierOptions{
		Keys:              e.set,
		Issuer:            extIssuer,
		AdditionalIssuers: []string{"https://idp.example.com/legacy"},
		Audience:          extAudience,
		RequireTyp:        cfg.requireTyp,
		Leeway:            testLeeway,
		Clock:             e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	var verifier Verifier = e.tv
	if cfg.cache {
		if verifier, err = NewCachedVerifier(e.tv, &CacheOptions{Clock: e.clock.Now}); err != nil {
			t.Fatal(err)
		}
	}
	opts := &Options{
		Resource:             testResource,
		AuthorizationServers: []string{extIssuer},
		ScopesSupported:      []string{"mcp:read", "mcp:write", "admin"},
		Verifier:             verifier,
		Logger:               logger,
	}
	if cfg.mod != nil {
		cfg.mod(opts)
	}
	if e.mw, err = New(opts); err != nil {
		t.Fatal(err)
	}
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// claims returns valid RFC 9068 claims.
func (e *extEnv) claims() map[string]any {
	now := e.clock.Now().Unix()
	return map[string]any{
		"iss": extIssuer, "sub": "user-42", "aud": extAudience, "exp": now + 300, "iat": now,
		"jti": token.NewID(), "client_id": "mcp-client", "scope": "mcp:read mcp:write",
	}
}

// sign signs claims with key under its algorithm, with the given protected
// headers (typ at+jwt and the key's kid unless overridden; a nil value
// removes a header).
func sign(t testing.TB, key jose.JSONWebKey, claims map[string]any, headers map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]any{"typ": token.TypAccessToken, "kid": key.KeyID}
	for k, v := range headers {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	opts := &jose.SignerOptions{}
	for k, v := range h {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	alg := jose.SignatureAlgorithm(key.Algorithm)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsigned builds a compact JWS from a header, claims and a signature
// segment, for algorithms no signer produces.
func unsigned(t testing.TB, header, claims map[string]any, sig string) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + sig
}

// hs256 signs with HMAC-SHA256 under secret, as an attacker who uses the
// provider's public key as the HMAC secret does.
func hs256(t testing.TB, secret []byte, kid string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret},
		(&jose.SignerOptions{}).WithType(token.TypAccessToken).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (e *extEnv) request(tok, query string) *http.Request {
	url := "http://mcp.example.com/mcp"
	if query != "" {
		url += "?" + query
	}
	req := mcpPost(url, callBody("whoami"))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req
}

// serve sends req through the middleware in front of rec and returns the
// status and challenge.
func (e *extEnv) serve(h http.Handler, req *http.Request) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Header().Get("WWW-Authenticate")
}

// TestTransparentNegativeCases runs the list of tokens that must be
// refused, each through the middleware, next to the valid token.
func TestTransparentNegativeCases(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			e := newExtEnv(t, extConfig{cache: cached})
			rec := &recorder{}
			h := e.mw.Wrap(rec)

			// Another provider's key under the same kid, and a weak RSA key
			// the provider publishes (and the set leaves out).
			impostor, err := token.GenerateKey(token.ES256)
			if err != nil {
				t.Fatal(err)
			}
			impostor.KeyID = e.key.KeyID
			weak, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				t.Fatal(err)
			}
			weakKey := jose.JSONWebKey{Key: weak, KeyID: "weak-rsa", Algorithm: string(jose.RS256), Use: "sig"}
			e.idp.publish(weakKey)
			pubDER, err := x509.MarshalPKIXPublicKey(e.key.Public().Key)
			if err != nil {
				t.Fatal(err)
			}
			pubJWK, err := json.Marshal(e.key.Public())
			if err != nil {
				t.Fatal(err)
			}
			// A server that would serve a key if jku or x5u were followed.
			var followed atomic.Int64
			lure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				followed.Add(1)
				json.NewEncoder(w).Encode(token.PublicJWKS(impostor))
			}))
			defer lure.Close()

			with := func(mod func(map[string]any)) map[string]any {
				c := e.claims()
				mod(c)
				return c
			}
			valid := sign(t, e.key, e.claims(), nil)
			flipped := []byte(valid)
			i := strings.LastIndexByte(valid, '.') + 5
			// Change one character of the signature to another base64url
			// character, so the token still parses and only the signature
			// is wrong.
			if flipped[i] == 'A' {
				flipped[i] = 'B'
			} else {
				flipped[i] = 'A'
			}

			tests := []struct {
				name   string
				tok    string
				query  string
				status int
				desc   string // in the challenge
			}{
				{"valid", valid, "", http.StatusOK, ""},
				{"valid from an additional issuer", sign(t, e.key, with(func(c map[string]any) { c["iss"] = "https://idp.example.com/legacy" }), nil), "", http.StatusOK, ""},
				{"audience among several", sign(t, e.key, with(func(c map[string]any) { c["aud"] = []string{"https://other.example", extAudience} }), nil), "", http.StatusOK, ""},
				{"typ JWT", sign(t, e.key, e.claims(), map[string]any{"typ": "JWT"}), "", http.StatusOK, ""},
				{"no typ", sign(t, e.key, e.claims(), map[string]any{"typ": nil}), "", http.StatusOK, ""},
				{"wrong aud", sign(t, e.key, with(func(c map[string]any) { c["aud"] = "https://other-service.example.com" }), nil), "", 401, "not issued for this resource"},
				{"missing aud", sign(t, e.key, with(func(c map[string]any) { delete(c, "aud") }), nil), "", 401, "lacks a required claim"},
				{"wrong iss", sign(t, e.key, with(func(c map[string]any) { c["iss"] = "https://idp.example.com/realms/other" }), nil), "", 401, "expected identity provider"},
				{"iss with trailing slash", sign(t, e.key, with(func(c map[string]any) { c["iss"] = extIssuer + "/" }), nil), "", 401, "expected identity provider"},
				{"expired", sign(t, e.key, with(func(c map[string]any) { c["exp"] = e.clock.Now().Add(-time.Minute).Unix() }), nil), "", 401, "expired"},
				{"expired within leeway", sign(t, e.key, with(func(c map[string]any) { c["exp"] = e.clock.Now().Add(-10 * time.Second).Unix() }), nil), "", http.StatusOK, ""},
				{"nbf in the future", sign(t, e.key, with(func(c map[string]any) { c["nbf"] = e.clock.Now().Add(time.Hour).Unix() }), nil), "", 401, "not valid yet"},
				{"alg none", unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": e.key.KeyID}, e.claims(), "AAAA"), "", 401, "signature is not valid"},
				{"HS256 with the public key (DER)", hs256(t, pubDER, e.key.KeyID, e.claims()), "", 401, "signature is not valid"},
				{"HS256 with the public key (JWK)", hs256(t, pubJWK, e.key.KeyID, e.claims()), "", 401, "signature is not valid"},
				{"altered signature", string(flipped), "", 401, "signature is not valid"},
				{"another key under the kid", sign(t, impostor, e.claims(), nil), "", 401, "signature is not valid"},
				{"embedded jwk", func() string {
					k := impostor
					k.KeyID = ""
					return signEmbedded(t, k, e.claims())
				}(), "", 401, "signature is not valid"},
				{"jku header", sign(t, impostor, e.claims(), map[string]any{"kid": "lured", "jku": lure.URL}), "", 401, "signature is not valid"},
				{"x5u header", sign(t, impostor, e.claims(), map[string]any{"kid": "lured", "x5u": lure.URL}), "", 401, "signature is not valid"},
				{"weak RSA key", sign(t, weakKey, e.claims(), nil), "", 401, "signature is not valid"},
				{"ID token as access token", sign(t, e.key, map[string]any{
					"iss": extIssuer, "sub": "user-42", "aud": "mcp-client", "exp": e.clock.Now().Unix() + 300,
					"iat": e.clock.Now().Unix(), "nonce": "n-0S6_WzA2Mj", "azp": "mcp-client", "auth_time": e.clock.Now().Unix(),
				}, map[string]any{"typ": nil}), "", 401, "not issued for this resource"},
				{"ID token typed as one", sign(t, e.key, e.claims(), map[string]any{"typ": "id_token+jwt"}), "", 401, "not an access token"},
				{"no subject", sign(t, e.key, with(func(c map[string]any) { delete(c, "sub") }), map[string]any{"typ": "JWT"}), "", 401, "no subject"},
				{"token in the query string", "", "access_token=" + valid, 400, "only in the Authorization header"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					status, challenge := e.serve(h, e.request(tt.tok, tt.query))
					if status != tt.status {
						t.Fatalf("status %d, want %d (challenge %s)", status, tt.status, challenge)
					}
					if tt.desc != "" && !strings.Contains(challenge, tt.desc) {
						t.Errorf("challenge %s, want it to mention %q", challenge, tt.desc)
					}
				})
			}
			if n := followed.Load(); n != 0 {
				t.Errorf("jku/x5u followed %d times", n)
			}
			// The key set was fetched once; each unknown kid ("lured",
			// "weak-rsa") was rate-limited, not refetched.
			if got := e.idp.gets.Load(); got != 1 {
				t.Errorf("%d key set fetches, want 1", got)
			}
			if st := e.set.Stats(); st.KeysSkipped != 1 || st.RateLimited == 0 {
				t.Errorf("Stats = %+v, want the weak key skipped and unknown kids rate-limited", st)
			}
		})
	}
}

// signEmbedded signs with key and embeds its public half in the "jwk"
// header, as an attacker who hopes the verifier uses it does.
func signEmbedded(t testing.TB, key jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.Key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType(token.TypAccessToken))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestTransparentRequireTyp checks requireTyp: only at+jwt tokens, with the
// RFC 9068 claims, are accepted.
func TestTransparentRequireTyp(t *testing.T) {
	e := newExtEnv(t, extConfig{requireTyp: true})
	ctx := t.Context()
	tests := []struct {
		name    string
		headers map[string]any
		mod     func(map[string]any)
		want    error
	}{
		{"at+jwt", nil, nil, nil},
		{"application/at+jwt", map[string]any{"typ": "application/at+jwt"}, nil, nil},
		{"JWT", map[string]any{"typ": "JWT"}, nil, token.ErrType},
		{"no typ", map[string]any{"typ": nil}, nil, token.ErrType},
		{"no client_id", nil, func(c map[string]any) { delete(c, "client_id") }, token.ErrMissingClaim},
		{"no jti", nil, func(c map[string]any) { delete(c, "jti") }, token.ErrMissingClaim},
	}
	for _, tt := range tests {
		c := e.claims()
		if tt.mod != nil {
			tt.mod(c)
		}
		_, err := e.tv.Verify(ctx, sign(t, e.key, c, tt.headers))
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
		if tt.want != nil && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v does not wrap ErrInvalidToken", tt.name, err)
		}
	}
}

// TestTransparentPrincipal checks the mapping of third-party claims: azp
// for a missing client_id, scp as a string or an array, extra claims kept.
func TestTransparentPrincipal(t *testing.T) {
	e := newExtEnv(t, extConfig{})
	exp := e.clock.Now().Add(5 * time.Minute).Truncate(time.Second)
	base := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": extIssuer, "sub": "u1", "aud": extAudience, "exp": exp.Unix()}
		mod(c)
		return c
	}
	tests := []struct {
		name   string
		claims map[string]any
		want   *Principal
		err    bool
	}{
		{"RFC 9068", base(func(c map[string]any) { c["client_id"] = "c1"; c["scope"] = "mcp:read mcp:write" }),
			&Principal{Subject: "u1", ClientID: "c1", Scopes: []string{"mcp:read", "mcp:write"}, ExpiresAt: exp}, false},
		{"azp and scp string", base(func(c map[string]any) { c["azp"] = "c2"; c["scp"] = "mcp:read" }),
			&Principal{Subject: "u1", ClientID: "c2", Scopes: []string{"mcp:read"}, ExpiresAt: exp,
				Claims: map[string]any{"azp": "c2", "scp": "mcp:read"}}, false},
		{"scp array", base(func(c map[string]any) { c["scp"] = []string{"a", "b"}; c["tenant"] = "t" }),
			&Principal{Subject: "u1", Scopes: []string{"a", "b"}, ExpiresAt: exp,
				Claims: map[string]any{"scp": []any{"a", "b"}, "tenant": "t"}}, false},
		{"scope wins over scp", base(func(c map[string]any) { c["scope"] = "x"; c["scp"] = "y" }),
			&Principal{Subject: "u1", Scopes: []string{"x"}, ExpiresAt: exp, Claims: map[string]any{"scp": "y"}}, false},
		{"scp array with a number", base(func(c map[string]any) { c["scp"] = []any{"a", 1} }), nil, true},
		{"scp object", base(func(c map[string]any) { c["scp"] = map[string]any{} }), nil, true},
		{"malformed scope", base(func(c map[string]any) { c["scope"] = "a\"b" }), nil, true},
	}
	for _, tt := range tests {
		p, err := e.tv.Verify(t.Context(), sign(t, e.key, tt.claims, map[string]any{"typ": "JWT"}))
		if tt.err {
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("%s: Verify = %v, want ErrInvalidToken", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, p); diff != "" {
			t.Errorf("%s: principal (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestTransparentUnknownKidOneRefetch: a token with an unknown kid causes
// exactly one refetch of the key set, then 401; repeating it fetches nothing.
func TestTransparentUnknownKidOneRefetch(t *testing.T) {
	e := newExtEnv(t, extConfig{})
	h := e.mw.Wrap(&recorder{})
	if status, _ := e.serve(h, e.request(sign(t, e.key, e.claims(), nil), "")); status != 200 {
		t.Fatalf("valid token: %d", status)
	}
	e.clock.Advance(2 * jwks.DefaultMinRefresh)
	stranger, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		status, challenge := e.serve(h, e.request(sign(t, stranger, e.claims(), nil), ""))
		if status != 401 || !strings.Contains(challenge, "invalid_token") {
			t.Errorf("attempt %d: %d %s, want 401 invalid_token", i, status, challenge)
		}
	}
	if got := e.idp.gets.Load(); got != 2 {
		t.Errorf("%d key set fetches, want 2 (the first, and one refetch for the unknown kid)", got)
	}
}

// TestTransparentKeyRotation: the provider starts signing with a new key;
// its first token is accepted without a restart. When the provider
// withdraws the old key, tokens signed with it are refused, cached or not.
func TestTransparentKeyRotation(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			e := newExtEnv(t, extConfig{cache: cached})
			h := e.mw.Wrap(&recorder{})
			oldTok := sign(t, e.key, e.claims(), nil)
			if status, _ := e.serve(h, e.request(oldTok, "")); status != 200 {
				t.Fatalf("old key: %d", status)
			}
			e.clock.Advance(2 * time.Minute)
			next := e.idp.newKey(t, token.RS256)
			if status, c := e.serve(h, e.request(sign(t, next, e.claims(), nil), "")); status != 200 {
				t.Fatalf("new key: %d %s", status, c)
			}
			if status, _ := e.serve(h, e.request(oldTok, "")); status != 200 {
				t.Fatalf("old key while still published: %d", status)
			}
			e.idp.withdraw(e.key.KeyID)
			e.clock.Advance(5 * time.Minute) // the key set's lifetime
			if status, c := e.serve(h, e.request(oldTok, "")); status != 401 {
				t.Fatalf("old key after withdrawal: %d %s, want 401", status, c)
			}
			if status, _ := e.serve(h, e.request(sign(t, next, e.claims(), nil), "")); status != 200 {
				t.Fatalf("new key after withdrawal: %d", status)
			}
		})
	}
}

// TestTransparentProviderDown: when the key set endpoint goes down, cached
// keys keep validating until lifetime + stale limit, then requests fail
// closed with 503 (cached verified tokens too); each failure is logged.
func TestTransparentProviderDown(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			e := newExtEnv(t, extConfig{stale: 10 * time.Minute, cache: cached})
			h := e.mw.Wrap(&recorder{})
			c := e.claims()
			c["exp"] = e.clock.Now().Add(time.Hour).Unix()
			tok := sign(t, e.key, c, nil)
			if status, _ := e.serve(h, e.request(tok, "")); status != 200 {
				t.Fatalf("before: %d", status)
			}
			e.idp.setDown(true)
			for _, at := range []time.Duration{5 * time.Minute, 10 * time.Minute, 14 * time.Minute} {
				e.clock.Set(newTestClock().Now().Add(at))
				if status, _ := e.serve(h, e.request(tok, "")); status != 200 {
					t.Fatalf("at %v (within lifetime 5m + stale 10m): %d, want 200", at, status)
				}
			}
			e.clock.Set(newTestClock().Now().Add(15 * time.Minute))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, e.request(tok, ""))
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "temporarily_unavailable") {
				t.Fatalf("past the stale limit: %d %s, want 503 temporarily_unavailable", w.Code, w.Body)
			}
			st := e.set.Stats()
			if st.Failures == 0 || st.Unavailable == 0 {
				t.Errorf("Stats = %+v, want failures and unavailability counted", st)
			}
			if n := strings.Count(e.logs.String(), "jwks fetch failed"); uint64(n) != st.Failures {
				t.Errorf("%d failures logged, %d counted", n, st.Failures)
			}
			if strings.Contains(e.logs.String(), tok) || strings.Contains(e.logs.String(), tok[strings.LastIndexByte(tok, '.')+1:]) {
				t.Error("the token was logged")
			}
			// The provider recovers: after the backoff, tokens work again.
			e.idp.setDown(false)
			e.clock.Advance(jwks.DefaultRetryMax)
			if status, _ := e.serve(h, e.request(tok, "")); status != 200 {
				t.Fatalf("after recovery: %d", status)
			}
		})
	}
}

// TestTransparentRandomKids: 1000 requests with random kids, spread over 10
// simulated minutes, cause no more key set fetches than the rate limit
// allows (one per MinRefresh), and all are refused.
func TestTransparentRandomKids(t *testing.T) {
	e := newExtEnv(t, extConfig{cache: true})
	h := e.mw.Wrap(&recorder{})
	start := e.clock.Now()
	if status, _ := e.serve(h, e.request(sign(t, e.key, e.claims(), nil), "")); status != 200 {
		t.Fatal("valid token refused")
	}
	const requests = 1000
	const span = 10 * time.Minute
	for i := range requests {
		e.clock.Set(start.Add(span * time.Duration(i) / requests))
		k := e.key
		k.KeyID = token.NewID()
		if status, _ := e.serve(h, e.request(sign(t, k, e.claims(), nil), "")); status != 401 {
			t.Fatalf("request %d with a random kid: %d, want 401", i, status)
		}
	}
	maxFetches := 1 + int64(span/jwks.DefaultMinRefresh)
	if got := e.idp.gets.Load(); got > maxFetches {
		t.Errorf("%d key set fetches for %d random kids over %v, want at most %d", got, requests, span, maxFetches)
	}
}

// TestRequireScopes: every request needs the required scopes: 403
// insufficient_scope naming granted and missing scopes, 401 for an
// anonymous request; a misconfigured scope is refused.
func TestRequireScopes(t *testing.T) {
	e := newExtEnv(t, extConfig{mod: func(o *Options) { o.AllowAnonymous = true }})
	rec := &recorder{}
	inner, err := e.mw.RequireScopes(rec, "mcp:read", "admin")
	if err != nil {
		t.Fatal(err)
	}
	h := e.mw.Wrap(inner)
	withScope := func(scope string) string {
		c := e.claims()
		c["scope"] = scope
		return sign(t, e.key, c, nil)
	}
	tests := []struct {
		name      string
		tok       string
		status    int
		challenge string
	}{
		{"all required scopes", withScope("mcp:read admin mcp:write"), 200, ""},
		{"one missing", withScope("mcp:read mcp:write"), 403,
			`Bearer error="insufficient_scope", error_description="the access token lacks scopes this server requires", scope="mcp:read mcp:write admin", resource_metadata="` + testMetadata + `"`},
		{"none", withScope(""), 403,
			`Bearer error="insufficient_scope", error_description="the access token lacks scopes this server requires", scope="mcp:read admin", resource_metadata="` + testMetadata + `"`},
		{"anonymous", "", 401, `Bearer scope="mcp:read admin", resource_metadata="` + testMetadata + `"`},
	}
	for _, tt := range tests {
		before := rec.get().calls
		status, challenge := e.serve(h, e.request(tt.tok, ""))
		if status != tt.status || challenge != tt.challenge {
			t.Errorf("%s: %d %s\nwant %d %s", tt.name, status, challenge, tt.status, tt.challenge)
		}
		if reached := rec.get().calls > before; reached != (tt.status == 200) {
			t.Errorf("%s: handler reached = %v", tt.name, reached)
		}
	}
	for _, bad := range [][]string{{"not supported"}, {"unknown"}, {`a"b`}} {
		if _, err := e.mw.RequireScopes(rec, bad...); err == nil {
			t.Errorf("RequireScopes(%q) succeeded", bad)
		}
	}
	if h2, err := e.mw.RequireScopes(rec); err != nil || h2 != http.Handler(rec) {
		t.Errorf("RequireScopes() = %v, %v; want next unchanged", h2, err)
	}
}

// TestNewTransparentVerifier checks option validation.
func TestNewTransparentVerifier(t *testing.T) {
	keys, err := jwks.New(&jwks.Options{Issuer: extIssuer})
	if err != nil {
		t.Fatal(err)
	}
	ok := TransparentVerifierOptions{Keys: keys, Issuer: extIssuer, Audience: extAudience}
	tests := []struct {
		name string
		mod  func(*TransparentVerifierOptions)
		ok   bool
	}{
		{"ok", func(*TransparentVerifierOptions) {}, true},
		{"no keys", func(o *TransparentVerifierOptions) { o.Keys = nil }, false},
		{"no issuer", func(o *TransparentVerifierOptions) { o.Issuer = "" }, false},
		{"no audience", func(o *TransparentVerifierOptions) { o.Audience = "" }, false},
		{"negative leeway", func(o *TransparentVerifierOptions) { o.Leeway = -time.Second }, false},
		{"empty additional issuer", func(o *TransparentVerifierOptions) { o.AdditionalIssuers = []string{""} }, false},
	}
	for _, tt := range tests {
		o := ok
		tt.mod(&o)
		if _, err := NewTransparentVerifier(&o); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if _, err := NewTransparentVerifier(nil); err == nil {
		t.Error("nil options accepted")
	}
}

// FuzzTransparentVerifier feeds arbitrary tokens, and mutations of a valid
// one, to the transparent verifier behind the cache: it must never panic, and
// it may accept only the valid token (the only one the provider signed).
func FuzzTransparentVerifier(f *testing.F) {
	e := newExtEnv(f, extConfig{cache: true})
	h := e.mw.Wrap(&recorder{})
	c := e.claims()
	c["exp"] = e.clock.Now().Add(time.Hour).Unix()
	valid := sign(f, e.key, c, nil)
	other := sign(f, e.key, c, map[string]any{"typ": "JWT"}) // also valid
	for _, s := range []string{valid, other, valid[:len(valid)-1], strings.Replace(valid, ".", "..", 1), "a.b.c", "",
		unsigned(f, map[string]any{"alg": "none"}, c, ""), unsigned(f, map[string]any{"alg": "ES256", "kid": 7}, c, "AAAA")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := e.tv.Verify(t.Context(), raw)
		if err == nil && raw != valid && raw != other {
			t.Fatalf("accepted a token the provider did not sign: %q (%+v)", raw, p)
		}
		if strings.ContainsAny(raw, " \t\r\n") || raw == "" {
			return // not a header value the middleware would pass on
		}
		req := e.request("", "")
		req.Header.Set("Authorization", "Bearer "+raw)
		status, _ := e.serve(h, req)
		if status == http.StatusOK && raw != valid && raw != other {
			t.Fatalf("the middleware let %q through", raw)
		}
	})
}
