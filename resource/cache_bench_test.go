package resource

import (
	"context"
	"testing"

	"github.com/frontmcp-go/frontmcp/resource/jwks"
	"github.com/frontmcp-go/frontmcp/token"
)

// benchVerify measures v.Verify on raw, serially and from all CPUs.
func benchVerify(b *testing.B, v Verifier, raw string) {
	ctx := context.Background()
	if _, err := v.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkLocalVerifier compares the local-mode verifier (ES256 signature,
// claims, grant check in the memory store) with and without the verified
// token cache; the cached path still checks the grant on every request.
func BenchmarkLocalVerifier(b *testing.B) {
	e := newEnv(b, nil)
	raw := e.token("alice", "mcp:read mcp:write")
	b.Run("uncached", func(b *testing.B) { benchVerify(b, e.local, raw) })
	c, err := NewCachedVerifier(e.local, &CacheOptions{Clock: e.clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) { benchVerify(b, c, raw) })
}

// BenchmarkTransparentVerifier compares the transparent-mode verifier (a
// provider's ES256 and RS256 tokens against a cached key set) with and
// without the verified token cache.
func BenchmarkTransparentVerifier(b *testing.B) {
	for _, alg := range []string{token.ES256, token.RS256} {
		b.Run(alg, func(b *testing.B) {
			clock := newTestClock()
			idp := newExtIdP(b)
			key := idp.newKey(b, alg)
			set, err := jwks.New(&jwks.Options{JWKSURI: idp.srv.URL, Clock: clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			tv, err := NewTransparentVerifier(&TransparentVerifierOptions{
				Keys: set, Issuer: extIssuer, Audience: extAudience, Clock: clock.Now,
			})
			if err != nil {
				b.Fatal(err)
			}
			now := clock.Now().Unix()
			raw := sign(b, key, map[string]any{
				"iss": extIssuer, "sub": "user-42", "aud": extAudience, "exp": now + 300, "iat": now,
				"jti": token.NewID(), "client_id": "mcp-client", "scope": "mcp:read mcp:write",
			}, nil)
			b.Run("uncached", func(b *testing.B) { benchVerify(b, tv, raw) })
			c, err := NewCachedVerifier(tv, &CacheOptions{Clock: clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			b.Run("cached", func(b *testing.B) { benchVerify(b, c, raw) })
		})
	}
}
