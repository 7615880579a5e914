package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// envelope is a stand-in for a sealed vault envelope: the store treats it as
// opaque bytes.
func envelope(s string) []byte { return []byte("fmv1.0123456789abcdef." + s) }

func (h *harness) wantVault(op, grantID string, want []byte) {
	h.t.Helper()
	got, err := h.s.GetVault(h.ctx, grantID)
	h.must(op, err)
	if !bytes.Equal(got, want) {
		h.t.Fatalf("%s: GetVault = %q, want %q", op, got, want)
	}
}

func (h *harness) wantNoVault(op, grantID string) {
	h.t.Helper()
	got, err := h.s.GetVault(h.ctx, grantID)
	if err == nil {
		h.t.Fatalf("%s: GetVault = %q, want ErrNotFound", op, got)
	}
	h.wantErr(op, err, store.ErrNotFound)
}

// testVault checks [store.Vault]: entries bound to live grants, expiry,
// removal on revocation, updates that never resurrect an entry and never
// overwrite a concurrent change (compare-and-swap), and the refresh lease.
func testVault(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("RoundTripWithGrant", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		// The entry may be written before its grant exists, but is not
		// served until the grant does.
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("a"), g.ExpiresAt))
		h.wantNoVault("GetVault before the grant", "g1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.wantVault("GetVault", "g1", envelope("a"))
		h.wantNoVault("GetVault of another grant", "g2")
		// Put replaces.
		h.must("PutVault again", h.s.PutVault(h.ctx, "g1", envelope("b"), g.ExpiresAt))
		h.wantVault("GetVault after replace", "g1", envelope("b"))
	})

	t.Run("Copies", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		in := envelope("abc")
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", in, g.ExpiresAt))
		in[len(in)-1] = 'X'
		out, err := h.s.GetVault(h.ctx, "g1")
		h.must("GetVault", err)
		out[len(out)-1] = 'Y'
		h.wantVault("GetVault after changing both copies", "g1", envelope("abc"))
	})

	t.Run("Expiry", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		exp := h.clock.Now().Add(time.Hour)
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("a"), exp))
		h.clock.Set(exp.Add(-time.Millisecond))
		h.wantVault("GetVault just before expiry", "g1", envelope("a"))
		h.clock.Set(exp)
		h.wantNoVault("GetVault at expiry", "g1")
		h.wantErr("UpdateVault after expiry", h.s.UpdateVault(h.ctx, "g1", envelope("a"), envelope("b")), store.ErrNotFound)
		// An already expired entry is not stored.
		h.must("PutVault expired", h.s.PutVault(h.ctx, "g1", envelope("c"), exp))
		h.wantNoVault("GetVault of an entry stored expired", "g1")
	})

	t.Run("GrantExpiry", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		g.ExpiresAt = h.clock.Now().Add(time.Hour)
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("a"), g.ExpiresAt.Add(time.Hour)))
		h.clock.Set(g.ExpiresAt)
		h.wantNoVault("GetVault after the grant expired", "g1")
	})

	t.Run("UpdateKeepsExpiry", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		exp := h.clock.Now().Add(time.Hour)
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("a"), exp))
		h.must("UpdateVault", h.s.UpdateVault(h.ctx, "g1", envelope("a"), envelope("b")))
		h.wantVault("GetVault after update", "g1", envelope("b"))
		h.clock.Set(exp)
		h.wantNoVault("GetVault at the original expiry", "g1")
		// Update never creates an entry.
		h.must("CreateGrant g2", h.s.CreateGrant(h.ctx, h.grant("g2", "user-1", "client-1", "rh2")))
		h.wantErr("UpdateVault of a missing entry", h.s.UpdateVault(h.ctx, "g2", nil, envelope("c")), store.ErrNotFound)
		h.wantNoVault("GetVault after a refused update", "g2")
	})

	t.Run("UpdateCompareAndSwap", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("a"), g.ExpiresAt))
		// A writer that read "a" replaces it; a second writer that also
		// read "a" must not overwrite that change.
		h.must("UpdateVault a→b", h.s.UpdateVault(h.ctx, "g1", envelope("a"), envelope("b")))
		h.wantErr("UpdateVault a→c after a→b", h.s.UpdateVault(h.ctx, "g1", envelope("a"), envelope("c")), store.ErrConflict)
		h.wantVault("GetVault after the lost swap", "g1", envelope("b"))
		h.wantErr("UpdateVault with no expected envelope", h.s.UpdateVault(h.ctx, "g1", nil, envelope("c")), store.ErrConflict)
		h.must("UpdateVault b→c", h.s.UpdateVault(h.ctx, "g1", envelope("b"), envelope("c")))
		h.wantVault("GetVault after b→c", "g1", envelope("c"))
		// Writing back the same envelope is a swap like any other.
		h.must("UpdateVault c→c", h.s.UpdateVault(h.ctx, "g1", envelope("c"), envelope("c")))
		h.wantVault("GetVault after c→c", "g1", envelope("c"))
	})

	t.Run("LostUpdateRace", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("start"), g.ExpiresAt))
		// Every worker read "start" and writes its own envelope: exactly
		// one swap succeeds, and the entry holds the winner's envelope.
		errs := race(func(i int) error {
			return h.s.UpdateVault(h.ctx, "g1", envelope("start"), envelope(fmt.Sprintf("w%d", i)))
		})
		w := winner(t, errs, store.ErrConflict)
		h.wantVault("GetVault after the race", "g1", envelope(fmt.Sprintf("w%d", w)))
	})

	t.Run("ReadModifyWriteCounts", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("0"), g.ExpiresAt))
		// Each worker adds one to the counter in the envelope with a
		// read-modify-write loop; no increment may be lost.
		const rounds = 3
		errs := race(func(int) error {
			for range rounds {
				for {
					cur, err := h.s.GetVault(h.ctx, "g1")
					if err != nil {
						return err
					}
					var n int
					if _, err := fmt.Sscanf(string(cur[len(envelope("")):]), "%d", &n); err != nil {
						return err
					}
					err = h.s.UpdateVault(h.ctx, "g1", cur, envelope(fmt.Sprint(n+1)))
					if err == nil {
						break
					}
					if !errors.Is(err, store.ErrConflict) {
						return err
					}
				}
			}
			return nil
		})
		for i, err := range errs {
			h.must(fmt.Sprintf("worker %d", i), err)
		}
		h.wantVault("GetVault after the increments", "g1", envelope(fmt.Sprint(Workers*rounds)))
	})

	t.Run("RevokeGrantRemoves", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("a"), g.ExpiresAt))
		h.must("RevokeGrant", h.s.RevokeGrant(h.ctx, "g1"))
		h.wantNoVault("GetVault after revocation", "g1")
		h.wantErr("UpdateVault after revocation", h.s.UpdateVault(h.ctx, "g1", envelope("a"), envelope("b")), store.ErrNotFound)
		h.wantNoVault("GetVault after a refused update", "g1")
	})

	t.Run("ReuseRevocationHides", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("a"), g.ExpiresAt))
		_, err := h.s.RotateRefresh(h.ctx, "g1", "rh1", "rh2", h.clock.Now().Add(time.Hour))
		h.must("RotateRefresh", err)
		h.wantVault("GetVault after our own refresh", "g1", envelope("a"))
		h.clock.Advance(time.Hour) // past any reuse grace
		_, err = h.s.RotateRefresh(h.ctx, "g1", "rh1", "rh3", h.clock.Now().Add(time.Hour))
		h.wantErr("RotateRefresh with the old token", err, store.ErrReused)
		h.wantNoVault("GetVault after reuse revoked the grant", "g1")
	})

	t.Run("Delete", func(t *testing.T) {
		h := setup(t, open)
		g := h.grant("g1", "user-1", "client-1", "rh1")
		h.must("CreateGrant", h.s.CreateGrant(h.ctx, g))
		h.must("PutVault", h.s.PutVault(h.ctx, "g1", envelope("a"), g.ExpiresAt))
		h.must("DeleteVault", h.s.DeleteVault(h.ctx, "g1"))
		h.wantNoVault("GetVault after delete", "g1")
		h.must("DeleteVault again", h.s.DeleteVault(h.ctx, "g1"))
		h.must("DeleteVault unknown", h.s.DeleteVault(h.ctx, "nope"))
	})

	t.Run("Lease", func(t *testing.T) {
		h := setup(t, open)
		lock := func(owner string, ttl time.Duration) bool {
			t.Helper()
			ok, err := h.s.LockVault(h.ctx, "g1", owner, ttl)
			h.must("LockVault "+owner, err)
			return ok
		}
		if !lock("a", time.Minute) {
			t.Fatal("first LockVault was refused")
		}
		if lock("b", time.Minute) {
			t.Fatal("LockVault by another owner succeeded while the lease is held")
		}
		if !lock("a", time.Minute) {
			t.Fatal("the holder could not take its own lease again")
		}
		// Unlock by another owner changes nothing.
		h.must("UnlockVault b", h.s.UnlockVault(h.ctx, "g1", "b"))
		if lock("b", time.Minute) {
			t.Fatal("a foreign UnlockVault released the lease")
		}
		h.must("UnlockVault a", h.s.UnlockVault(h.ctx, "g1", "a"))
		if !lock("b", time.Minute) {
			t.Fatal("LockVault after release was refused")
		}
		// Leases of other grants are independent.
		if ok, err := h.s.LockVault(h.ctx, "g2", "a", time.Minute); err != nil || !ok {
			t.Fatalf("LockVault of another grant = %v, %v", ok, err)
		}
		// A lease ends after its ttl.
		h.clock.Advance(time.Minute)
		if !lock("c", time.Minute) {
			t.Fatal("LockVault after the lease ended was refused")
		}
		h.must("UnlockVault unknown", h.s.UnlockVault(h.ctx, "nope", "a"))
	})

	t.Run("LeaseRace", func(t *testing.T) {
		h := setup(t, open)
		errs := race(func(i int) error {
			ok, err := h.s.LockVault(h.ctx, "g1", fmt.Sprintf("owner-%d", i), time.Minute)
			if err != nil {
				return err
			}
			if !ok {
				return store.ErrConflict
			}
			return nil
		})
		winner(t, errs, store.ErrConflict)
	})
}
