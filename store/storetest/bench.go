package storetest

import (
	"context"
	"strconv"
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
