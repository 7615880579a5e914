package resource

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/token"
)

// fillRevocations puts n revoked grants and n revoked tokens in v's set.
func fillRevocations(v *LocalVerifier, n int, exp time.Time) {
	rs := make([]store.Revocation, 0, 2*n)
	for range n {
		rs = append(rs,
			store.Revocation{Kind: store.RevokedGrant, ID: token.NewID(), ExpiresAt: exp},
			store.Revocation{Kind: store.RevokedToken, ID: token.NewID(), ExpiresAt: exp})
	}
	v.AddRevocations(rs...)
}

// BenchmarkRevocationCheck measures the per-request revocation check alone:
// the lookup of a token's grant id and jti in the in-memory set, with the set
// empty and holding 10 000 revoked grants and 10 000 revoked tokens, and with
// 200 more added by this process since the last read of the log (the
// overlay).
func BenchmarkRevocationCheck(b *testing.B) {
	e := newEnv(b, nil)
	grantID, jti := token.NewID(), token.NewID()
	for _, c := range []struct{ n, recent int }{{0, 0}, {10_000, 0}, {10_000, 100}} {
		b.Run(fmt.Sprintf("entries=%d,recent=%d", 2*c.n, 2*c.recent), func(b *testing.B) {
			v := newRevocationVerifierB(b, e)
			exp := e.clock.Now().Add(time.Hour)
			fillRevocations(v, c.n, exp)
			for range c.recent {
				fillRevocations(v, 1, exp)
			}
			if st := v.revs.cur.Load(); len(st.recentGrants)+len(st.recentTokens) != 2*c.recent {
				b.Fatalf("%d entries in the overlay, want %d", len(st.recentGrants)+len(st.recentTokens), 2*c.recent)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := v.revs.check(grantID, jti); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func newRevocationVerifierB(b *testing.B, e *env) *LocalVerifier {
	b.Helper()
	v, err := NewLocalVerifier(&LocalVerifierOptions{
		Verifier: mustVerifierB(b, e), Issuer: testIssuer, Resource: testResource,
		Clock: e.clock.Now, Revocations: e.store,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := v.SyncRevocations(context.Background()); err != nil {
		b.Fatal(err)
	}
	return v
}

func mustVerifierB(b *testing.B, e *env) *token.Verifier {
	v, err := token.NewVerifier(e.signer.PublicKey())
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkMiddlewareRevocation measures an authenticated tools/call through
// the middleware with the production verifier (LocalVerifier behind the
// verified-token cache, so the signature is checked once and the per-request
// work is the cache hit plus the rechecks), without a revocation check and
// with the in-memory set (empty, and holding 20 000 entries).
func BenchmarkMiddlewareRevocation(b *testing.B) {
	body := `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search","arguments":{"q":"x"}}}`
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	for _, mode := range []string{"off", "entries=0", "entries=20000"} {
		b.Run("revocation="+mode, func(b *testing.B) {
			e := newEnv(b, nil)
			opts := &LocalVerifierOptions{Verifier: mustVerifierB(b, e), Issuer: testIssuer, Resource: testResource, Clock: e.clock.Now}
			if mode != "off" {
				opts.Revocations = e.store
			}
			lv, err := NewLocalVerifier(opts)
			if err != nil {
				b.Fatal(err)
			}
			if mode != "off" {
				if err := lv.SyncRevocations(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			if mode == "entries=20000" {
				fillRevocations(lv, 10_000, e.clock.Now().Add(time.Hour))
			}
			cv, err := NewCachedVerifier(lv, &CacheOptions{Clock: e.clock.Now})
			if err != nil {
				b.Fatal(err)
			}
			mw, err := New(&Options{Resource: testResource, AuthorizationServers: []string{testIssuer}, Verifier: cv})
			if err != nil {
				b.Fatal(err)
			}
			h := mw.Wrap(next)
			auth := "Bearer " + e.token("alice", "mcp:read")
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

// BenchmarkGrantLookup measures what the revocation check replaced: one
// GetGrant per request (memory store; file store, which opens the bbolt file
// per operation). A Redis store adds a network round trip on top.
func BenchmarkGrantLookup(b *testing.B) {
	e := newEnv(b, nil)
	fs, err := filestore.Open(filepath.Join(b.TempDir(), "store.db"), &filestore.Options{Clock: e.clock.Now, SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fs.Close() })
	for name, st := range map[string]store.Grants{"memstore": e.store, "filestore": fs} {
		b.Run(name, func(b *testing.B) {
			id := token.NewID()
			now := e.clock.Now()
			if err := st.CreateGrant(context.Background(), &store.Grant{ID: id, ClientID: testClient, Subject: "alice",
				Scopes: []string{"mcp:read"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.GetGrant(context.Background(), id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRevocationAdd measures AddRevocations of one entry into a set
// holding n grants and n tokens: what each revocation made by this process
// (a refresh token reused, an RFC 7009 revocation) costs, merges of the
// overlay into the set included. Each added entry expires a millisecond
// later and the clock moves a millisecond per addition, so merges forget
// them and the set keeps its size.
func BenchmarkRevocationAdd(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", 2*n), func(b *testing.B) {
			e := newEnv(b, nil)
			v := newRevocationVerifierB(b, e)
			fillRevocations(v, n, e.clock.Now().Add(24*time.Hour))
			b.ReportAllocs()
			for b.Loop() {
				v.AddRevocations(store.Revocation{Kind: store.RevokedToken, ID: token.NewID(), ExpiresAt: e.clock.Now().Add(time.Millisecond)})
				e.clock.Advance(time.Millisecond)
			}
			b.StopTimer()
			if st := v.revs.cur.Load(); len(st.grants) != n || len(st.tokens) > n+maxRecent {
				b.Fatalf("the set grew to %d grants and %d tokens", len(st.grants), len(st.tokens))
			}
		})
	}
}
