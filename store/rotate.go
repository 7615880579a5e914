package store

import (
	"crypto/subtle"
	"slices"
	"time"
)

// MaxPreviousHashes bounds how many rotated-out refresh hashes a grant
// remembers for reuse detection. Backends keep them apart from the grant
// record (see [Grants.PreviousRefreshHashes]), so a rotation costs the same
// however many there are; the bound only limits the memory a grant holds
// (about 100 bytes a hash; some 100 KiB for a full set). A client that
// refreshes every minute for a day stays within it; older hashes are
// forgotten and, if presented, get [ErrMismatch] (still refused, without
// revoking the grant).
const MaxPreviousHashes = 1024

// MaxRefreshReuseGrace bounds [Grant.RefreshReuseGrace]: a longer grace is
// treated as this one.
const MaxRefreshReuseGrace = time.Minute

// Rotate applies the rules of [Grants.RotateRefresh] to g at now, changing g in
// place, and reports whether g changed (and so must be written back, in the
// same atomic step). It keeps the rotated-out hashes in g.PreviousHashes,
// dropping the oldest beyond [MaxPreviousHashes]; backends, which keep them
// apart from the grant, call [Grant.RotateWith] inside their transaction or
// script, so the rule is written once:
//
//   - The retry grace: while g is active and its refresh token unexpired,
//     presenting g.GraceHash before g.GraceUntil with a different nextHash
//     rotates as if the current hash had been presented: nextHash becomes
//     current and the current hash joins the previous ones (so the token
//     issued in the reply the client never read is dead, and only one chain
//     stays valid). GraceHash and GraceUntil do not move, so retries cannot
//     extend the window and the hashes rotated out by a retry are never in
//     grace.
//   - A previous hash is reuse (RFC 9700 §4.14.2): g is revoked (keeping an
//     earlier RevokedAt) and ErrReused returned — even when g is already revoked
//     or its refresh token expired, so every later replay, and every loser of
//     a concurrent refresh that the grace does not cover, reports reuse.
//   - A revoked g, one without a refresh token, or one whose refresh token has
//     expired (now ≥ RefreshExpiresAt): ErrNotFound.
//   - A hash that is neither current nor previous (an empty one included):
//     ErrMismatch, g unchanged.
//   - Otherwise the rotation: nextHash becomes current (no change when it equals
//     presentedHash), the old hash joins the previous ones and, with a
//     RefreshReuseGrace, becomes GraceHash until now + RefreshReuseGrace
//     (capped at [MaxRefreshReuseGrace]); without one GraceHash is cleared.
//     RefreshExpiresAt becomes nextExpiry capped at g.ExpiresAt (zero means
//     g.ExpiresAt).
//
// The grace exists for a client whose refresh reply was lost (a timeout, a
// dropped connection, a crash between the store's write and the reply): it
// still holds the token it presented and sends it again. Without the grace
// that retry is indistinguishable from a replay and revokes the grant. Only
// the token replaced by the last rotation is in grace, never an older one
// (those are reuse as before). A stolen token replayed within the grace
// forks the chain: the thief's rotation retires the legitimate client's
// current token, and the theft is detected only when the legitimate client
// refreshes again (its token is then reuse and revokes the grant). A client
// that never refreshes again leaves the thief's chain alive until the grant
// ends. That is why the grace is off unless configured and capped at
// [MaxRefreshReuseGrace].
//
// The caller has already checked that g itself has not expired. The current
// hash is compared in constant time.
func (g *Grant) Rotate(presentedHash, nextHash string, nextExpiry, now time.Time) (changed bool, err error) {
	previous := func(h string) bool { return containsHash(g.PreviousHashes, h) }
	retired, changed, err := g.RotateWith(previous, presentedHash, nextHash, nextExpiry, now)
	if retired != "" {
		g.PreviousHashes = append(g.PreviousHashes, retired)
		if n := len(g.PreviousHashes); n > MaxPreviousHashes {
			g.PreviousHashes = append(g.PreviousHashes[:0:0], g.PreviousHashes[n-MaxPreviousHashes:]...)
		}
	}
	return changed, err
}

// RotateWith is [Grant.Rotate] for a backend that remembers the grant's
// rotated-out hashes apart from g (g.PreviousHashes is neither read nor
// changed): previous reports whether a hash is one of them, and retired is
// the hash the rotation replaced ("" when none), which the caller adds to
// them in the same atomic step, forgetting the oldest beyond
// [MaxPreviousHashes]. previous is called at most once.
//
// It sets g.Retried when it rotates as a retry, and clears it otherwise.
func (g *Grant) RotateWith(previous func(hash string) bool, presentedHash, nextHash string, nextExpiry, now time.Time) (retired string, changed bool, err error) {
	g.Retried = false
	refreshLive := g.RevokedAt.IsZero() && g.RefreshHash != "" &&
		(g.RefreshExpiresAt.IsZero() || now.Before(g.RefreshExpiresAt))
	retry := refreshLive && presentedHash != "" && nextHash != presentedHash &&
		g.GraceHash != "" && now.Before(g.GraceUntil) && equalHash(g.GraceHash, presentedHash)
	if !retry && presentedHash != "" && previous(presentedHash) {
		if !g.RevokedAt.IsZero() {
			return "", false, ErrReused
		}
		g.RevokedAt = now
		return "", true, ErrReused
	}
	if !refreshLive {
		return "", false, ErrNotFound
	}
	if !retry && (presentedHash == "" || !equalHash(g.RefreshHash, presentedHash)) {
		return "", false, ErrMismatch
	}
	if nextHash != presentedHash {
		retired = g.RefreshHash
		if !retry {
			g.GraceHash, g.GraceUntil = "", time.Time{}
			if grace := min(g.RefreshReuseGrace, MaxRefreshReuseGrace); grace > 0 {
				g.GraceHash, g.GraceUntil = g.RefreshHash, now.Add(grace)
			}
		}
		g.RefreshHash = nextHash
		g.Retried = retry
	}
	if nextExpiry.IsZero() || nextExpiry.After(g.ExpiresAt) {
		nextExpiry = g.ExpiresAt
	}
	g.RefreshExpiresAt = nextExpiry
	return retired, true, nil
}

func equalHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// containsHash reports whether h is one of list. A plain comparison is safe
// here: the entries are SHA-256 hashes of 256-bit random secrets, so the time
// a comparison takes tells nothing about any secret (an attacker controls the
// preimage, not the hash). With up to MaxPreviousHashes entries, a
// constant-time scan was the largest cost of a refresh; backends look the
// hash up in a set for the same reason.
func containsHash(list []string, h string) bool {
	return slices.Contains(list, h)
}
