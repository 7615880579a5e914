package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// The rotation rules themselves run in storetest against every backend; this
// covers the bound on remembered hashes, which that suite would need a thousand
// rotations per backend to reach.
func TestRotateBoundsPreviousHashes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := &Grant{ID: "g", RefreshHash: "h0", ExpiresAt: now.Add(time.Hour)}
	for i := 1; i <= MaxPreviousHashes+10; i++ {
		if _, err := g.Rotate(fmt.Sprintf("h%d", i-1), fmt.Sprintf("h%d", i), time.Time{}, now); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
	}
	if len(g.PreviousHashes) != MaxPreviousHashes {
		t.Fatalf("remembered %d hashes, want %d", len(g.PreviousHashes), MaxPreviousHashes)
	}
	// The oldest hashes are forgotten: refused, but not as reuse.
	if _, err := g.Rotate("h0", "x", time.Time{}, now); !errors.Is(err, ErrMismatch) {
		t.Fatalf("forgotten hash: %v, want ErrMismatch", err)
	}
	// A recent previous hash is still reuse, and revokes.
	if _, err := g.Rotate("h20", "x", time.Time{}, now); !errors.Is(err, ErrReused) || g.RevokedAt.IsZero() {
		t.Fatalf("recent previous hash: %v revoked=%v, want ErrReused and revoked", err, !g.RevokedAt.IsZero())
	}
}
