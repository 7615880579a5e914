package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// grace is the RefreshReuseGrace of the grants in testRetryGrace.
const grace = 30 * time.Second

// testRetryGrace checks the retry grace of [store.Grant.Rotate]: the token
// replaced by the last rotation may be presented again until GraceUntil, and
// then rotates like the current one; anything else that was rotated out is
// reuse, as without a grace.
func testRetryGrace(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	// rotated returns a harness holding grant g1 (grace 30 s) after r0 → r1
	// at the harness's start, the time the grace is counted from.
	rotated := func(t *testing.T) (*harness, *store.Grant, time.Time) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		g.RefreshReuseGrace = grace
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		rotatedAt := h.clock.Now()
		next := rotatedAt.Add(24 * time.Hour)
		got, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", next)
		h.must("RotateRefresh r0", err)
		want := *g
		want.RefreshHash = "r1"
		want.PreviousHashes = []string{"r0"}
		want.RefreshExpiresAt = next
		want.GraceHash = "r0"
		want.GraceUntil = rotatedAt.Add(grace)
		h.wantEqual("RotateRefresh result", got, withoutPrevious(&want))
		h.wantEqual("GetGrant after rotation", h.getGrant("g1"), &want)
		return h, &want, rotatedAt
	}
	t.Run("RoundTrip", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r2")
		g.PreviousHashes = []string{"r0", "r1"}
		g.RefreshReuseGrace = grace
		g.GraceHash = "r1"
		g.GraceUntil = h.clock.Now().Add(grace)
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.wantEqual("GetGrant", h.getGrant("g1"), g)
		got, err := h.s.ListGrants(h.ctx, store.GrantFilter{})
		h.must("ListGrants", err)
		h.wantEqual("ListGrants", got, []*store.Grant{withoutPrevious(g)})
	})
	t.Run("RetryWithinGrace", func(t *testing.T) {
		h, want, rotatedAt := rotated(t)
		// The reply carrying r1 was lost; the client sends r0 again.
		h.clock.Advance(grace - time.Millisecond)
		next := h.clock.Now().Add(24 * time.Hour)
		got, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r2", next)
		h.must("RotateRefresh r0 within the grace", err)
		want.RefreshHash = "r2"
		want.PreviousHashes = []string{"r0", "r1"}
		want.RefreshExpiresAt = next
		// The window stays where the rotation of r0 put it.
		want.GraceHash, want.GraceUntil = "r0", rotatedAt.Add(grace)
		// The result says it was a retry; the stored grant does not.
		retried := withoutPrevious(want)
		retried.Retried = true
		h.wantEqual("RotateRefresh result", got, retried)
		h.wantEqual("GetGrant after the retry", h.getGrant("g1"), want)

		// The new token is current: its rotation moves the grace to it.
		h.clock.Advance(time.Hour)
		next = h.clock.Now().Add(24 * time.Hour)
		got, err = h.s.RotateRefresh(h.ctx, "g1", "r2", "r3", next)
		h.must("RotateRefresh r2", err)
		want.RefreshHash = "r3"
		want.PreviousHashes = []string{"r0", "r1", "r2"}
		want.RefreshExpiresAt = next
		want.GraceHash, want.GraceUntil = "r2", h.clock.Now().Add(grace)
		h.wantEqual("RotateRefresh after the retry", got, withoutPrevious(want))
	})
	t.Run("RepeatedRetries", func(t *testing.T) {
		h, want, rotatedAt := rotated(t)
		next := h.clock.Now().Add(24 * time.Hour)
		for _, nextHash := range []string{"r2", "r3", "r4"} {
			h.clock.Advance(5 * time.Second)
			got, err := h.s.RotateRefresh(h.ctx, "g1", "r0", nextHash, next)
			h.must("retry "+nextHash, err)
			if !got.Retried {
				t.Errorf("retry %s: the result does not say it was a retry", nextHash)
			}
			want.PreviousHashes = append(want.PreviousHashes, want.RefreshHash)
			want.RefreshHash = nextHash
			want.RefreshExpiresAt = next
		}
		h.wantEqual("GetGrant after three retries", h.getGrant("g1"), want)
		// Retries do not extend the window.
		h.clock.Set(rotatedAt.Add(grace))
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r5", next)
		h.wantErr("RotateRefresh r0 at the end of the grace", err, store.ErrReused)
	})
	t.Run("GraceEnds", func(t *testing.T) {
		h, want, rotatedAt := rotated(t)
		h.clock.Set(rotatedAt.Add(grace))
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r2", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh r0 at GraceUntil", err, store.ErrReused)
		want.RevokedAt = h.clock.Now()
		h.wantEqual("GetGrant after late reuse", h.getGrant("g1"), want)
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r1", "r2", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh with the current hash after reuse", err, store.ErrNotFound)
	})
	t.Run("LostTokenIsReuse", func(t *testing.T) {
		// After a retry, the token of the lost reply is rotated out and not
		// in grace: whoever presents it ends the family.
		h, _, _ := rotated(t)
		h.clock.Advance(time.Second)
		next := h.clock.Now().Add(time.Hour)
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r2", next)
		h.must("retry", err)
		h.clock.Advance(time.Second)
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r1", "r3", next)
		h.wantErr("RotateRefresh with the token of the lost reply", err, store.ErrReused)
		if g := h.getGrant("g1"); !g.RevokedAt.Equal(h.clock.Now()) {
			t.Fatalf("RevokedAt = %v, want %v", g.RevokedAt, h.clock.Now())
		}
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r2", "r3", next)
		h.wantErr("RotateRefresh with the retry's token after reuse", err, store.ErrNotFound)
	})
	t.Run("OlderHashIsReuse", func(t *testing.T) {
		h, _, _ := rotated(t)
		next := h.clock.Now().Add(time.Hour)
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r1", "r2", next)
		h.must("RotateRefresh r1", err)
		// r0 is two rotations back: reuse although r1's grace is running.
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "r3", next)
		h.wantErr("RotateRefresh with an older hash", err, store.ErrReused)
		if h.getGrant("g1").RevokedAt.IsZero() {
			t.Fatal("grant not revoked after reuse of an older hash")
		}
	})
	t.Run("NotWithoutRotation", func(t *testing.T) {
		// A request that would keep the presented token (no rotation)
		// cannot make a rotated-out token current again.
		h, _, _ := rotated(t)
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r0", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh r0 → r0", err, store.ErrReused)
	})
	t.Run("NotWhenRevoked", func(t *testing.T) {
		h, want, _ := rotated(t)
		h.must("RevokeGrant", h.s.RevokeGrant(h.ctx, "g1"))
		want.RevokedAt = h.clock.Now()
		h.clock.Advance(time.Second)
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r2", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh r0 on a revoked grant", err, store.ErrReused)
		h.wantEqual("GetGrant", h.getGrant("g1"), want)
	})
	t.Run("ZeroGraceClears", func(t *testing.T) {
		// A grant without a grace never has a token in grace, whatever it
		// was created with.
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r1")
		g.PreviousHashes = []string{"r0"}
		g.GraceHash, g.GraceUntil = "r0", h.clock.Now().Add(time.Hour)
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		got, err := h.s.RotateRefresh(h.ctx, "g1", "r1", "r2", h.clock.Now().Add(time.Hour))
		h.must("RotateRefresh r1", err)
		if got.GraceHash != "" || !got.GraceUntil.IsZero() {
			t.Fatalf("grace after a rotation without RefreshReuseGrace: %q until %v", got.GraceHash, got.GraceUntil)
		}
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r1", "r3", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh r1", err, store.ErrReused)
	})
	t.Run("Capped", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		g.RefreshReuseGrace = time.Hour
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		got, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", h.clock.Now().Add(time.Hour))
		h.must("RotateRefresh", err)
		if want := h.clock.Now().Add(store.MaxRefreshReuseGrace); !got.GraceUntil.Equal(want) {
			t.Fatalf("GraceUntil = %v, want now + MaxRefreshReuseGrace = %v", got.GraceUntil, want)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		// Concurrent uses of one token within the grace all succeed, each
		// killing the token the one before it issued: one chain remains,
		// headed by the last, and every other token issued is reuse.
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		g.RefreshReuseGrace = grace
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		next := h.clock.Now().Add(time.Hour)
		nexts := make([]string, Workers)
		for i := range nexts {
			nexts[i] = "next-" + string(rune('a'+i))
		}
		errs := race(func(i int) error {
			_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", nexts[i], next)
			return err
		})
		for i, err := range errs {
			h.must("worker "+nexts[i], err)
		}
		final := h.getGrant("g1")
		if !slices.Contains(nexts, final.RefreshHash) || !final.RevokedAt.IsZero() || final.GraceHash != "r0" {
			t.Fatalf("after concurrent retries: current %q, revoked at %v, grace hash %q", final.RefreshHash, final.RevokedAt, final.GraceHash)
		}
		wantPrev := append([]string{"r0"}, slices.DeleteFunc(slices.Clone(nexts), func(s string) bool { return s == final.RefreshHash })...)
		gotPrev := slices.Clone(final.PreviousHashes)
		if len(gotPrev) == 0 || gotPrev[0] != "r0" {
			t.Fatalf("PreviousHashes = %q, want r0 first", gotPrev)
		}
		slices.Sort(gotPrev[1:])
		h.wantEqual("PreviousHashes", gotPrev, wantPrev)
		loser := wantPrev[1]
		_, err := h.s.RotateRefresh(h.ctx, "g1", loser, "x", next)
		h.wantErr("RotateRefresh with a token a later retry replaced", err, store.ErrReused)
	})
}
