package keys

import (
	"errors"
	"slices"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// Policy is the rotation schedule of generated keys — the checklist's key
// rotation strategy run by the server itself: generate key 2 → publish it in
// the JWKS → switch signing to it → wait until key 1's tokens have expired →
// remove key 1.
type Policy struct {
	// RotateEvery is how long a key signs before the next one takes over;
	// zero disables rotation (auth.local.keyRotationDays).
	RotateEvery time.Duration
	// PrePublish is how long a new key is published before it signs: at least
	// the JWKS cache lifetime, so every verifier knows it before its first token.
	PrePublish time.Duration
	// TokenLifetime is the longest lifetime of a token a key signs; a retired
	// key stays published that long after it stopped signing.
	TokenLifetime time.Duration
	// MaxKeys caps how many keys are published at once (auth.local.maxKeys);
	// a rotation waits rather than exceed it. Values below 2 mean 2: rotation
	// needs the current key and the next one.
	MaxKeys int
}

// Generator makes a new key to add to the set (its ID, Algorithm and Private
// filled; the schedule fields are set by Plan).
type Generator func() (store.SigningKey, error)

// Plan advances a key set to now under p and returns the new set and whether
// it changed. It is pure apart from gen, so the schedule can be tested with a
// fake clock and every instance computes the same result from the same set:
//
//   - An empty set gets a first key that signs at once.
//   - When a pre-published key's ActivateAt arrives, the keys before it retire:
//     RetireAt = its ActivateAt, RemoveAt = RetireAt + TokenLifetime.
//   - Keys whose RemoveAt has passed are dropped.
//   - With rotation on, once the signing key is RotateEvery − PrePublish old and
//     no next key waits, a next key is added that activates RotateEvery after
//     the current one, and never sooner than PrePublish from now — unless that
//     would publish more than MaxKeys keys, in which case the rotation waits.
func Plan(keys []store.SigningKey, now time.Time, p Policy, gen Generator) ([]store.SigningKey, bool, error) {
	out := slices.Clone(keys)
	changed := false
	add := func(activate time.Time) error {
		k, err := gen()
		if err != nil {
			return err
		}
		k.CreatedAt, k.ActivateAt, k.RetireAt, k.RemoveAt = now, activate, time.Time{}, time.Time{}
		out = append(out, k)
		changed = true
		return nil
	}
	if len(out) == 0 {
		if err := add(now); err != nil {
			return nil, false, err
		}
		return out, true, nil
	}
	slices.SortStableFunc(out, func(a, b store.SigningKey) int { return a.ActivateAt.Compare(b.ActivateAt) })
	cur := current(out, now)
	if cur < 0 {
		// Only future keys (a clock moved back): the earliest signs now.
		out[0].ActivateAt, cur, changed = now, 0, true
	}
	for i := range cur {
		if out[i].RetireAt.IsZero() {
			out[i].RetireAt = out[cur].ActivateAt
			out[i].RemoveAt = out[i].RetireAt.Add(p.TokenLifetime)
			changed = true
		}
	}
	n := len(out)
	out = slices.DeleteFunc(out, func(k store.SigningKey) bool {
		return !k.RemoveAt.IsZero() && !now.Before(k.RemoveAt)
	})
	if len(out) != n {
		changed = true
	}
	if cur = current(out, now); p.RotateEvery > 0 && cur == len(out)-1 {
		if due := out[cur].ActivateAt.Add(p.RotateEvery - p.PrePublish); !now.Before(due) && len(out) < max(p.MaxKeys, 2) {
			activate := later(out[cur].ActivateAt.Add(p.RotateEvery), now.Add(p.PrePublish))
			if err := add(activate); err != nil {
				return nil, false, err
			}
		}
	}
	return out, changed, nil
}

// ErrTooManyKeys: a rotation now would publish more than MaxKeys keys.
var ErrTooManyKeys = errors.New("keys: rotating now would publish more than maxKeys keys; wait until a retired key is removed")

// RotateNow returns keys with a next key added that signs PrePublish from now
// (the operator's `frontmcp keys rotate`). A next key already waiting is
// brought forward instead of adding another. Retirement follows in Plan.
func RotateNow(keys []store.SigningKey, now time.Time, p Policy, gen Generator) ([]store.SigningKey, error) {
	out := slices.Clone(keys)
	for i := range out {
		if out[i].ActivateAt.After(now) {
			if soon := now.Add(p.PrePublish); soon.Before(out[i].ActivateAt) {
				out[i].ActivateAt = soon
			}
			return out, nil
		}
	}
	if len(out) >= max(p.MaxKeys, 2) {
		return nil, ErrTooManyKeys
	}
	k, err := gen()
	if err != nil {
		return nil, err
	}
	k.CreatedAt, k.ActivateAt = now, now.Add(p.PrePublish)
	return append(out, k), nil
}

// current returns the index of the signing key in keys sorted by ActivateAt:
// the last one whose ActivateAt has come. -1 when none has.
func current(keys []store.SigningKey, now time.Time) int {
	cur := -1
	for i, k := range keys {
		if !k.ActivateAt.After(now) {
			cur = i
		}
	}
	return cur
}

// Signing returns the key that signs at now, or false when keys is empty.
func Signing(keys []store.SigningKey, now time.Time) (store.SigningKey, bool) {
	sorted := slices.SortedStableFunc(slices.Values(keys), func(a, b store.SigningKey) int { return a.ActivateAt.Compare(b.ActivateAt) })
	if i := current(sorted, now); i >= 0 {
		return sorted[i], true
	}
	return store.SigningKey{}, false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
