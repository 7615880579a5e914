package resource

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/go-cmp/cmp"
)

func TestLocalVerifierPrincipal(t *testing.T) {
	e := newEnv(t, nil)
	c := e.claims("alice", "mcp:read  mcp:write mcp:read")
	c.Extra["tenant"] = "acme"
	raw := e.sign(c)
	p, err := e.local.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	want := &Principal{
		Subject:   "alice",
		ClientID:  testClient,
		Scopes:    []string{"mcp:read", "mcp:write"},
		ExpiresAt: c.ExpiresAt,
		GrantID:   c.Extra[token.ClaimGrantID].(string),
		TokenID:   c.ID,
		Claims:    map[string]any{"tenant": "acme"},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal mismatch (-want +got):\n%s", diff)
	}
}

// TestLocalVerifierRevocation: revoking a grant stops its access tokens at
// the verifier's next read of the revocation log, long before they expire.
func TestLocalVerifierRevocation(t *testing.T) {
	e := newEnv(t, nil)
	c := e.claims("alice", "mcp:read")
	raw := e.sign(c)
	ctx := context.Background()
	if _, err := e.local.Verify(ctx, raw); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	e.revokeGrant(c.Extra[token.ClaimGrantID].(string))
	_, err := e.local.Verify(ctx, raw)
	var te *TokenError
	if !errors.Is(err, ErrInvalidToken) || !errors.As(err, &te) {
		t.Fatalf("after revocation: err = %v, want a *TokenError", err)
	}
}

func TestLocalVerifierWithoutGrantCheck(t *testing.T) {
	e := newEnv(t, nil)
	v, err := NewLocalVerifier(&LocalVerifierOptions{Verifier: mustVerifier(t, e), Issuer: testIssuer, Resource: testResource, Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := e.claims("alice", "mcp:read")
	c.Extra = nil
	p, err := v.Verify(context.Background(), e.sign(c))
	if err != nil {
		t.Fatal(err)
	}
	if p.GrantID != "" || p.Claims != nil || p.Subject != "alice" {
		t.Errorf("principal = %+v", p)
	}
	// Without leeway, a token is refused the second it expires.
	e.clock.Advance(testTTL)
	if _, err := v.Verify(context.Background(), e.sign(c)); !errors.Is(err, token.ErrExpired) {
		t.Errorf("err = %v, want token.ErrExpired", err)
	}
}

func mustVerifier(t *testing.T, e *env) *token.Verifier {
	t.Helper()
	v, err := token.NewVerifier(e.signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNewLocalVerifierErrors(t *testing.T) {
	e := newEnv(t, nil)
	tv := mustVerifier(t, e)
	tests := []struct {
		name string
		opts *LocalVerifierOptions
	}{
		{"nil", nil},
		{"no verifier", &LocalVerifierOptions{Issuer: testIssuer, Resource: testResource}},
		{"no issuer", &LocalVerifierOptions{Verifier: tv, Resource: testResource}},
		{"no resource", &LocalVerifierOptions{Verifier: tv, Issuer: testIssuer}},
		{"negative leeway", &LocalVerifierOptions{Verifier: tv, Issuer: testIssuer, Resource: testResource, Leeway: -time.Second}},
	}
	for _, tt := range tests {
		if _, err := NewLocalVerifier(tt.opts); err == nil {
			t.Errorf("%s: NewLocalVerifier succeeded", tt.name)
		}
	}
}

func TestTokenError(t *testing.T) {
	cause := token.ErrExpired
	err := error(&TokenError{Description: "expired", Err: cause})
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, token.ErrExpired) {
		t.Errorf("errors.Is failed for %v", err)
	}
	if got, want := err.Error(), "resource: invalid token: expired: "+cause.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	bare := &TokenError{Description: "x"}
	if !errors.Is(bare, ErrInvalidToken) || bare.Error() != "resource: invalid token: x" {
		t.Errorf("bare TokenError: %v", bare)
	}
}
