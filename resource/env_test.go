package resource

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/go-jose/go-jose/v4"
)

const (
	testIssuer   = "https://auth.example.com"
	testResource = "https://mcp.example.com/mcp"
	testMetadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	testClient   = "client-1"
	testLeeway   = 30 * time.Second
	testTTL      = 5 * time.Minute
)

// newTestClock returns an injected clock far from the wall clock, so that
// nothing passes by accident on real time.
func newTestClock() *testclock.Clock {
	return testclock.New(time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC))
}

// env is a resource server in local mode with real keys and a real store.
type env struct {
	t      testing.TB
	clock  *testclock.Clock
	key    jose.JSONWebKey
	signer *token.Signer
	store  *memstore.Store
	local  *LocalVerifier
	mw     *Middleware
}

// newEnv builds an env; mod may adjust the middleware options.
func newEnv(t testing.TB, mod func(*Options)) *env {
	t.Helper()
	e := &env{t: t, clock: newTestClock()}
	var err error
	if e.key, err = token.GenerateKey(""); err != nil {
		t.Fatal(err)
	}
	if e.signer, err = token.NewSigner(e.key, &token.SignerOptions{Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	tv, err := token.NewVerifier(e.signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	e.store = memstore.New(&memstore.Options{Clock: e.clock.Now})
	e.local, err = NewLocalVerifier(&LocalVerifierOptions{
		Verifier:    tv,
		Issuer:      testIssuer,
		Resource:    testResource,
		Leeway:      testLeeway,
		Clock:       e.clock.Now,
		Revocations: e.store,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.local.SyncRevocations(context.Background()); err != nil {
		t.Fatal(err)
	}
	opts := &Options{
		Resource:             testResource,
		AuthorizationServers: []string{testIssuer},
		ScopesSupported:      []string{"mcp:read", "mcp:write", "admin"},
		Verifier:             e.local,
	}
	if mod != nil {
		mod(opts)
	}
	if e.mw, err = New(opts); err != nil {
		t.Fatal(err)
	}
	return e
}

// grant stores an active grant for subject and returns its ID.
func (e *env) grant(subject string) string {
	e.t.Helper()
	id := token.NewID()
	now := e.clock.Now()
	err := e.store.CreateGrant(context.Background(), &store.Grant{
		ID:        id,
		ClientID:  testClient,
		Subject:   subject,
		Scopes:    []string{"mcp:read"},
		Resource:  testResource,
		CreatedAt: now,
		ExpiresAt: now.Add(24 * time.Hour),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// revokeGrant revokes grant id in the store and has the verifier read the
// revocation log, as its next poll would.
func (e *env) revokeGrant(id string) {
	e.t.Helper()
	if err := e.store.RevokeGrant(context.Background(), id); err != nil {
		e.t.Fatal(err)
	}
	if err := e.local.SyncRevocations(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// claims returns valid claims for subject with a fresh grant.
func (e *env) claims(subject, scope string) *token.Claims {
	now := e.clock.Now()
	return &token.Claims{
		Issuer:    testIssuer,
		Subject:   subject,
		Audience:  []string{testResource},
		ExpiresAt: now.Add(testTTL),
		ClientID:  testClient,
		Scope:     scope,
		Extra:     map[string]any{token.ClaimGrantID: e.grant(subject)},
	}
}

// sign signs c with the env's key.
func (e *env) sign(c *token.Claims) string {
	e.t.Helper()
	raw, err := e.signer.Sign(c)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// token returns a valid access token for subject with scope.
func (e *env) token(subject, scope string) string {
	e.t.Helper()
	return e.sign(e.claims(subject, scope))
}

// forge signs an arbitrary claims object with key, with the given typ header,
// bypassing token.Signer's checks.
func forge(t testing.TB, key jose.JSONWebKey, typ string, claims any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key.Key},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", key.KeyID))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// mcpPost builds a JSON-RPC POST as an MCP client sends it.
func mcpPost(url, body string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	return req
}

func callBody(tool string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`
}
