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

// TestRotateWith checks what RotateWith reports to a backend that keeps the
// previous hashes itself: the hash a rotation retires, and nothing when the
// token is kept or the rotation refused; PreviousHashes is left alone.
func TestRotateWith(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := map[string]bool{"old": true}
	tests := []struct {
		name              string
		presented, next   string
		wantRetired       string
		wantChanged       bool
		wantErr           error
		wantCurrent       string
		wantPreviousCalls int
	}{
		{"rotation", "cur", "new", "cur", true, nil, "new", 1},
		{"kept", "cur", "cur", "", true, nil, "cur", 1},
		{"reuse revokes", "old", "new", "", true, ErrReused, "cur", 1},
		{"mismatch", "forged", "new", "", false, ErrMismatch, "cur", 1},
		{"empty", "", "new", "", false, ErrMismatch, "cur", 0},
		{"retry in grace", "graced", "new", "cur", true, nil, "new", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Grant{ID: "g", RefreshHash: "cur", PreviousHashes: []string{"kept-out"}, ExpiresAt: now.Add(time.Hour),
				RefreshReuseGrace: time.Minute, GraceHash: "graced", GraceUntil: now.Add(time.Second)}
			calls := 0
			retired, changed, err := g.RotateWith(func(h string) bool { calls++; return prev[h] }, tt.presented, tt.next, time.Time{}, now)
			if !errors.Is(err, tt.wantErr) || changed != tt.wantChanged {
				t.Fatalf("RotateWith = changed %v, %v; want %v, %v", changed, err, tt.wantChanged, tt.wantErr)
			}
			if retired != tt.wantRetired || g.RefreshHash != tt.wantCurrent {
				t.Fatalf("retired %q, current %q; want %q, %q", retired, g.RefreshHash, tt.wantRetired, tt.wantCurrent)
			}
			if calls != tt.wantPreviousCalls {
				t.Fatalf("previous called %d times, want %d", calls, tt.wantPreviousCalls)
			}
			if len(g.PreviousHashes) != 1 || g.PreviousHashes[0] != "kept-out" {
				t.Fatalf("PreviousHashes changed to %q", g.PreviousHashes)
			}
		})
	}
}
