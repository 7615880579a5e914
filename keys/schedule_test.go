package keys

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

func counter() Generator {
	n := 0
	return func() (store.SigningKey, error) {
		n++
		return store.SigningKey{ID: fmt.Sprintf("k%d", n), Algorithm: "ES256", Private: []byte("x")}, nil
	}
}

// Run the schedule for 200 days in one-hour steps and check the checklist's
// rotation strategy holds at every step.
func TestPlanTimeline(t *testing.T) {
	p := Policy{RotateEvery: 30 * 24 * time.Hour, PrePublish: 5 * time.Minute, TokenLifetime: 15 * time.Minute, MaxKeys: 3}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gen := counter()
	var keys []store.SigningKey
	firstSeen := map[string]time.Time{} // when a key was first published
	lastSigner := map[string]time.Time{}
	signers := []string{}
	for now := start; now.Before(start.Add(200 * 24 * time.Hour)); now = now.Add(time.Hour) {
		next, _, err := Plan(keys, now, p, gen)
		if err != nil {
			t.Fatal(err)
		}
		keys = next
		if len(keys) > p.MaxKeys {
			t.Fatalf("%s: %d keys published, max %d", now, len(keys), p.MaxKeys)
		}
		published := map[string]bool{}
		for _, k := range keys {
			published[k.ID] = true
			if _, ok := firstSeen[k.ID]; !ok {
				firstSeen[k.ID] = now
			}
		}
		cur, ok := Signing(keys, now)
		if !ok {
			t.Fatalf("%s: no signing key", now)
		}
		if len(signers) == 0 || signers[len(signers)-1] != cur.ID {
			signers = append(signers, cur.ID)
			// Publication before use: known at least PrePublish before signing,
			// except the very first key.
			if cur.ID != "k1" && cur.ActivateAt.Sub(firstSeen[cur.ID]) < p.PrePublish {
				t.Fatalf("%s signs at %s but was published only at %s", cur.ID, cur.ActivateAt, firstSeen[cur.ID])
			}
		}
		lastSigner[cur.ID] = now
		// Overlap: every key that signed within TokenLifetime is still published.
		for id, last := range lastSigner {
			if now.Sub(last) < p.TokenLifetime && !published[id] {
				t.Fatalf("%s: %s signed at %s but is no longer published", now, id, last)
			}
		}
	}
	// 200 days / 30 = 6 rotations → 7 keys signed, in order.
	if len(signers) != 7 || signers[0] != "k1" || signers[6] != "k7" {
		t.Fatalf("signers %v, want k1..k7", signers)
	}
	// Retired keys are removed after their tokens expire: at the end only the
	// current key (and maybe a pre-published next) remain.
	if len(keys) > 2 {
		t.Fatalf("old keys never removed: %+v", keys)
	}
}

func TestPlanNoRotation(t *testing.T) {
	p := Policy{PrePublish: time.Minute, TokenLifetime: time.Hour, MaxKeys: 3}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keys, changed, err := Plan(nil, now, p, counter())
	if err != nil || !changed || len(keys) != 1 || !keys[0].ActivateAt.Equal(now) {
		t.Fatalf("first key: %+v %v %v", keys, changed, err)
	}
	later, changed, _ := Plan(keys, now.Add(400*24*time.Hour), p, counter())
	if changed || len(later) != 1 {
		t.Fatalf("rotation off but the set changed: %+v", later)
	}
}

func TestRotateNow(t *testing.T) {
	p := Policy{PrePublish: 5 * time.Minute, TokenLifetime: 15 * time.Minute, MaxKeys: 2}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gen := counter()
	keys, _, _ := Plan(nil, now, p, gen)
	keys, err := RotateNow(keys, now, p, gen)
	if err != nil || len(keys) != 2 || !keys[1].ActivateAt.Equal(now.Add(p.PrePublish)) {
		t.Fatalf("RotateNow: %+v %v", keys, err)
	}
	if cur, _ := Signing(keys, now.Add(time.Minute)); cur.ID != "k1" {
		t.Fatalf("the new key signs before its pre-publication window: %s", cur.ID)
	}
	// A second rotation while k2 waits brings nothing new.
	again, err := RotateNow(keys, now.Add(time.Minute), p, gen)
	if err != nil || len(again) != 2 {
		t.Fatalf("second RotateNow: %+v %v", again, err)
	}
	// Once k2 signs, k1 is retired but still published: maxKeys 2 is full.
	keys, _, _ = Plan(keys, now.Add(6*time.Minute), p, gen)
	if cur, _ := Signing(keys, now.Add(6*time.Minute)); cur.ID != "k2" || keys[0].RetireAt.IsZero() {
		t.Fatalf("after activation: %+v", keys)
	}
	if _, err := RotateNow(keys, now.Add(6*time.Minute), p, gen); !errors.Is(err, ErrTooManyKeys) {
		t.Fatalf("RotateNow over maxKeys: %v", err)
	}
	// After k1's tokens have expired it is removed.
	keys, _, _ = Plan(keys, now.Add(5*time.Minute+p.TokenLifetime), p, gen)
	if len(keys) != 1 || keys[0].ID != "k2" {
		t.Fatalf("k1 not removed: %+v", keys)
	}
}
