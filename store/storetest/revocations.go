package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// since reads the whole log after cursor and checks its order: Seq strictly
// increasing, every Seq above after and at most the head.
func (h *harness) since(after int64) ([]store.Revocation, int64) {
	h.t.Helper()
	got, head, err := h.s.RevocationsSince(h.ctx, after)
	h.must(fmt.Sprintf("RevocationsSince(%d)", after), err)
	last := after
	for _, r := range got {
		if r.Seq <= last || r.Seq > head {
			h.t.Fatalf("RevocationsSince(%d): entry %+v out of order (previous Seq %d, head %d)", after, r, last, head)
		}
		last = r.Seq
	}
	return got, head
}

// withoutSeq drops the Seq of entries, for comparison with expected ones.
func withoutSeq(rs []store.Revocation) []store.Revocation {
	out := make([]store.Revocation, len(rs))
	for i, r := range rs {
		r.Seq = 0
		out[i] = r
	}
	return out
}

func testRevocations(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("Empty", func(t *testing.T) {
		h := setup(t, open)
		got, head := h.since(0)
		if len(got) != 0 || head != 0 {
			t.Fatalf("empty log: %+v, head %d", got, head)
		}
		revoked, err := h.s.TokenRevoked(h.ctx, "jti-1")
		h.must("TokenRevoked", err)
		if revoked {
			t.Fatal("TokenRevoked on an empty log = true")
		}
	})

	t.Run("RevokeToken", func(t *testing.T) {
		h := setup(t, open)
		exp := h.clock.Now().Add(5 * time.Minute)
		h.must("RevokeToken", h.s.RevokeToken(h.ctx, "jti-1", exp))
		got, head := h.since(0)
		h.wantEqual("log", withoutSeq(got), []store.Revocation{{Kind: store.RevokedToken, ID: "jti-1", ExpiresAt: exp}})
		if head != got[0].Seq || head <= 0 {
			t.Fatalf("head %d, entry Seq %d: want equal and positive", head, got[0].Seq)
		}
		for jti, want := range map[string]bool{"jti-1": true, "jti-2": false} {
			revoked, err := h.s.TokenRevoked(h.ctx, jti)
			h.must("TokenRevoked", err)
			if revoked != want {
				t.Errorf("TokenRevoked(%s) = %t, want %t", jti, revoked, want)
			}
		}
		// Idempotent: a second revocation appends nothing.
		h.must("RevokeToken again", h.s.RevokeToken(h.ctx, "jti-1", exp))
		again, head2 := h.since(0)
		if len(again) != 1 || head2 != head {
			t.Fatalf("after a second revocation: %+v, head %d (was %d)", again, head2, head)
		}
	})

	t.Run("RevokeTokenAlreadyExpired", func(t *testing.T) {
		h := setup(t, open)
		h.must("RevokeToken", h.s.RevokeToken(h.ctx, "jti-old", h.clock.Now()))
		got, head := h.since(0)
		if len(got) != 0 || head != 0 {
			t.Fatalf("an expired token was logged: %+v, head %d", got, head)
		}
	})

	t.Run("RevokeTokenEmptyJTI", func(t *testing.T) {
		h := setup(t, open)
		if err := h.s.RevokeToken(h.ctx, "", h.clock.Now().Add(time.Minute)); err == nil {
			t.Fatal("RevokeToken with an empty jti succeeded")
		}
		if got, _ := h.since(0); len(got) != 0 {
			t.Fatalf("log after a refused revocation: %+v", got)
		}
	})

	t.Run("OrderAndCursor", func(t *testing.T) {
		h := setup(t, open)
		exp := h.clock.Now().Add(time.Hour)
		ids := []string{"a", "b", "c", "d"}
		for _, id := range ids {
			h.must("RevokeToken "+id, h.s.RevokeToken(h.ctx, id, exp))
		}
		all, head := h.since(0)
		if len(all) != len(ids) {
			t.Fatalf("log has %d entries, want %d", len(all), len(ids))
		}
		for i, r := range all {
			if r.ID != ids[i] {
				t.Fatalf("entry %d is %q, want %q (append order)", i, r.ID, ids[i])
			}
		}
		if head != all[len(all)-1].Seq {
			t.Fatalf("head %d, last Seq %d", head, all[len(all)-1].Seq)
		}
		rest, head2 := h.since(all[1].Seq)
		h.wantEqual("entries after the second", rest, all[2:])
		if head2 != head {
			t.Fatalf("head moved from %d to %d without a write", head, head2)
		}
		if none, _ := h.since(head); len(none) != 0 {
			t.Fatalf("entries after the head: %+v", none)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		h := setup(t, open)
		now := h.clock.Now()
		h.must("RevokeToken short", h.s.RevokeToken(h.ctx, "short", now.Add(time.Minute)))
		h.must("RevokeToken long", h.s.RevokeToken(h.ctx, "long", now.Add(time.Hour)))
		_, head := h.since(0)
		h.clock.Advance(time.Minute - time.Millisecond)
		if got, _ := h.since(0); len(got) != 2 {
			t.Fatalf("just before the first expiry: %d entries, want 2", len(got))
		}
		h.clock.Advance(time.Millisecond)
		got, head2 := h.since(0)
		if len(got) != 1 || got[0].ID != "long" {
			t.Fatalf("after the first expiry: %+v, want only long", got)
		}
		if head2 < head {
			t.Fatalf("head went back from %d to %d", head, head2)
		}
		revoked, err := h.s.TokenRevoked(h.ctx, "short")
		h.must("TokenRevoked", err)
		if revoked {
			t.Error("TokenRevoked of an expired entry = true")
		}
		// Appends prune expired entries; the live one stays.
		h.must("RevokeToken third", h.s.RevokeToken(h.ctx, "third", h.clock.Now().Add(time.Hour)))
		got, _ = h.since(0)
		if len(got) != 2 || got[0].ID != "long" || got[1].ID != "third" {
			t.Fatalf("after pruning: %+v, want long then third", got)
		}
	})

	t.Run("RevokeGrantLogs", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("CreateGrant other", h.s.CreateGrant(h.ctx, h.grant("g2", "user-1", "client-1", "r1")))
		if got, _ := h.since(0); len(got) != 0 {
			t.Fatalf("active grants were logged: %+v", got)
		}
		h.must("RevokeGrant", h.s.RevokeGrant(h.ctx, "g1"))
		got, head := h.since(0)
		h.wantEqual("log", withoutSeq(got), []store.Revocation{{Kind: store.RevokedGrant, ID: "g1", ExpiresAt: g.ExpiresAt}})
		h.must("RevokeGrant again", h.s.RevokeGrant(h.ctx, "g1"))
		if again, head2 := h.since(0); len(again) != 1 || head2 != head {
			t.Fatalf("a second revocation logged again: %+v, head %d (was %d)", again, head2, head)
		}
		h.wantErr("RevokeGrant unknown", h.s.RevokeGrant(h.ctx, "nope"), store.ErrNotFound)
		if after, _ := h.since(head); len(after) != 0 {
			t.Fatalf("revoking an unknown grant logged %+v", after)
		}
		// The entry lives as long as the grant.
		h.clock.Set(g.ExpiresAt.Add(-time.Millisecond))
		if got, _ := h.since(0); len(got) != 1 {
			t.Fatalf("just before the grant's end: %+v", got)
		}
		h.clock.Set(g.ExpiresAt)
		if got, _ := h.since(0); len(got) != 0 {
			t.Fatalf("after the grant's end: %+v", got)
		}
	})

	t.Run("ReuseLogs", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		_, err := h.s.RotateRefresh(h.ctx, "g1", "r0", "r1", h.clock.Now().Add(time.Hour))
		h.must("RotateRefresh", err)
		if got, _ := h.since(0); len(got) != 0 {
			t.Fatalf("a rotation was logged: %+v", got)
		}
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "r2", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh reuse", err, store.ErrReused)
		got, _ := h.since(0)
		h.wantEqual("log", withoutSeq(got), []store.Revocation{{Kind: store.RevokedGrant, ID: "g1", ExpiresAt: g.ExpiresAt}})
		_, err = h.s.RotateRefresh(h.ctx, "g1", "r0", "r3", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh reuse again", err, store.ErrReused)
		if again, _ := h.since(0); len(again) != 1 {
			t.Fatalf("a second reuse logged again: %+v", again)
		}
	})

	t.Run("CreateRevokedLogs", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "")
		g.RevokedAt = h.clock.Now()
		h.must("CreateGrant revoked", h.s.CreateGrant(h.ctx, g))
		got, _ := h.since(0)
		h.wantEqual("log", withoutSeq(got), []store.Revocation{{Kind: store.RevokedGrant, ID: "g1", ExpiresAt: g.ExpiresAt}})
	})

	t.Run("Concurrent", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "r0")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		exp := h.clock.Now().Add(time.Hour)
		const perWorker = 8

		// A reader follows the log by its cursor while the workers write:
		// whatever the interleaving, it must end up with every entry once.
		var (
			stop    atomic.Bool
			wg      sync.WaitGroup
			seen    = map[string]int{}
			readErr error
		)
		wg.Go(func() {
			var cursor int64
			for done := false; !done; {
				done = stop.Load()
				got, head, err := h.s.RevocationsSince(h.ctx, cursor)
				if err != nil {
					readErr = err
					return
				}
				for _, r := range got {
					if r.Seq <= cursor {
						readErr = fmt.Errorf("entry %+v at or before cursor %d", r, cursor)
						return
					}
					seen[r.Kind+":"+r.ID]++
					cursor = r.Seq
				}
				if head < cursor {
					readErr = fmt.Errorf("head %d before the last entry %d", head, cursor)
					return
				}
				cursor = head
			}
		})
		errs := race(func(i int) error {
			for j := range perWorker {
				if err := h.s.RevokeToken(h.ctx, fmt.Sprintf("w%d-%d", i, j), exp); err != nil {
					return err
				}
			}
			// Every worker revokes the same token and the same grant too.
			if err := h.s.RevokeToken(h.ctx, "shared", exp); err != nil {
				return err
			}
			return h.s.RevokeGrant(h.ctx, "g1")
		})
		stop.Store(true)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("worker %d: %v", i, err)
			}
		}
		if readErr != nil {
			t.Fatalf("reader: %v", readErr)
		}
		all, head := h.since(0)
		want := Workers*perWorker + 2
		if len(all) != want {
			t.Fatalf("log has %d entries, want %d", len(all), want)
		}
		if head != all[len(all)-1].Seq {
			t.Fatalf("head %d, last Seq %d", head, all[len(all)-1].Seq)
		}
		if len(seen) != want {
			t.Fatalf("the reader saw %d distinct entries, want %d", len(seen), want)
		}
		for k, n := range seen {
			if n != 1 {
				t.Errorf("the reader saw %s %d times", k, n)
			}
		}
	})

	t.Run("Closed", func(t *testing.T) {
		h := setup(t, open)
		h.closed = true
		h.must("Close", h.s.Close())
		_, _, err := h.s.RevocationsSince(h.ctx, 0)
		h.wantErr("RevocationsSince after Close", err, store.ErrUnavailable)
		h.wantErr("RevokeToken after Close", h.s.RevokeToken(h.ctx, "j", h.clock.Now().Add(time.Minute)), store.ErrUnavailable)
	})
}
