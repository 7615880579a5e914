package storetest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// BenchConsumeCode measures ConsumeCode on s: b.N codes are saved first,
// then each is redeemed once.
func BenchConsumeCode(b *testing.B, s store.Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	hashes := make([]string, b.N)
	for i := range hashes {
		hashes[i] = "code-" + strconv.Itoa(i)
		if err := s.SaveCode(ctx, &store.AuthCode{Hash: hashes[i], GrantID: "g", Scopes: []string{"a"}, ExpiresAt: exp}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.ConsumeCode(ctx, hashes[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// RotationsPerGrant bounds PreviousHashes in BenchRotateRefresh so each
// iteration costs the same.
const RotationsPerGrant = 8

// BenchRotateRefresh measures RotateRefresh on s, RotationsPerGrant
// rotations per grant.
func BenchRotateRefresh(b *testing.B, s store.Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	ids := make([]string, b.N/RotationsPerGrant+1)
	for i := range ids {
		ids[i] = "g" + strconv.Itoa(i)
		if err := s.CreateGrant(ctx, &store.Grant{ID: ids[i], RefreshHash: "r0", Scopes: []string{"a"}, ExpiresAt: exp}); err != nil {
			b.Fatal(err)
		}
	}
	hashes := make([]string, RotationsPerGrant+1)
	for i := range hashes {
		hashes[i] = "r" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		step := i % RotationsPerGrant
		if _, err := s.RotateRefresh(ctx, ids[i/RotationsPerGrant], hashes[step], hashes[step+1], exp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchRotateRefreshFull measures RotateRefresh on a grant that already
// remembers store.MaxPreviousHashes rotated-out hashes: the steady state of a
// long-lived grant, every iteration one more rotation of the same grant.
func BenchRotateRefreshFull(b *testing.B, s store.Store) {
	ctx := context.Background()
	g := fullGrant(b, s, "g-full")
	current := g.RefreshHash
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		next := "n" + strconv.Itoa(i)
		if _, err := s.RotateRefresh(ctx, g.ID, current, next, g.ExpiresAt); err != nil {
			b.Fatal(err)
		}
		current = next
	}
}

// BenchGetGrantFull measures GetGrant of a grant that remembers
// store.MaxPreviousHashes rotated-out hashes (the token endpoint reads the
// grant before it rotates).
func BenchGetGrantFull(b *testing.B, s store.Store) {
	ctx := context.Background()
	g := fullGrant(b, s, "g-full")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.GetGrant(ctx, g.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// fullGrant creates grant id remembering store.MaxPreviousHashes
// rotated-out hashes of token-hash length.
func fullGrant(b *testing.B, s store.Store, id string) *store.Grant {
	b.Helper()
	now := time.Now()
	g := &store.Grant{
		ID: id, ClientID: "client-1", Subject: "user-1", Scopes: []string{"tools:read", "tools:write"},
		Resource: "https://mcp.example/mcp", Claims: store.Claims{"email": "ada@example.com"},
		RefreshHash: benchHash(-1), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}
	for i := range store.MaxPreviousHashes {
		g.PreviousHashes = append(g.PreviousHashes, benchHash(i))
	}
	if err := s.CreateGrant(context.Background(), g); err != nil {
		b.Fatal(err)
	}
	return g
}

// benchHash is a distinct string as long as a token hash (64 hex digits).
func benchHash(i int) string {
	const pad = "0000000000000000000000000000000000000000000000000000000000000000"
	n := strconv.Itoa(i)
	return pad[:len(pad)-len(n)] + n
}

// BenchGetSession measures GetSession, the store read every request on a
// stateful MCP session costs.
func BenchGetSession(b *testing.B, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	ss := &store.Session{
		ID: "bench", Subject: "user-1", ClientID: "client-1", IdleTimeout: time.Hour,
		State:     []byte(`{"initializeParams":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}},"logLevel":"info"}`),
		CreatedAt: now, LastSeen: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
	}
	if err := s.CreateSession(ctx, ss); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := s.GetSession(ctx, ss.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchRotateRefreshParallel measures RotateRefresh from 16 goroutines per
// CPU, each following a grant of its own: what a server under load asks of
// the store.
func BenchRotateRefreshParallel(b *testing.B, s store.Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := "gp" + strconv.FormatInt(next.Add(1), 10)
		if err := s.CreateGrant(ctx, &store.Grant{ID: id, RefreshHash: "r0", Scopes: []string{"a"}, ExpiresAt: exp}); err != nil {
			b.Error(err)
			return
		}
		current := "r0"
		for i := 0; pb.Next(); i++ {
			n := id + "-" + strconv.Itoa(i)
			if _, err := s.RotateRefresh(ctx, id, current, n, exp); err != nil {
				b.Error(err)
				return
			}
			current = n
		}
	})
}
