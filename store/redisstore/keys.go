package redisstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// keys names every key of one store. Each record key has the form
// {prefix}{kind}:{<id>} where the braces are a Redis Cluster hash tag: the
// slot is chosen by the id alone, so records spread over the cluster, and a
// future record kind keyed by the same id (a grant's vault entry, say) lands in
// the same slot and can be changed together with it in one script.
//
// Clients and their index share the tag {clients}, so creating or deleting a
// client and updating the index is one atomic script even on a cluster.
// Grant indexes carry no tag: each is changed alone (see CreateGrant).
type keys struct{ prefix string }

// escaper keeps an id from ending the hash tag early or starting another
// one; % is escaped too, so the mapping stays one-to-one.
var escaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

func escape(id string) string {
	if id == "" {
		// An empty hash tag would make Redis hash the whole key; "%" alone
		// is never the escape of a non-empty id.
		return "%"
	}
	if !strings.ContainsAny(id, "%{}") {
		return id
	}
	return escaper.Replace(id)
}

func (k keys) tagged(kind, id string) string {
	return k.prefix + kind + ":{" + escape(id) + "}"
}

func (k keys) pending(id string) string { return k.tagged("pending", id) }
func (k keys) code(hash string) string  { return k.tagged("code", hash) }
func (k keys) grant(id string) string   { return k.tagged("grant", id) }

// grantPrev holds grant id's rotated-out refresh hashes, in the grant's
// slot (see rotateRefreshScript).
func (k keys) grantPrev(id string) string { return k.tagged("grant-prev", id) }
func (k keys) client(id string) string    { return k.prefix + "{clients}:client:" + escape(id) }
func (k keys) clientIndex() string        { return k.prefix + "{clients}:index" }
func (k keys) grantIndexAll() string      { return k.prefix + "grants:all" }
func (k keys) grantIndexSubject(s string) string {
	return k.prefix + "grants:subject:" + escape(s)
}
func (k keys) grantIndexClient(id string) string {
	return k.prefix + "grants:client:" + escape(id)
}

// Stored times. A time is stored as a fixed-width decimal string: 12 digits
// of seconds since 0001-01-01 UTC and 9 digits of nanoseconds. Such strings
// keep full precision and order like the times they encode, and the Lua
// scripts compare them exactly by splitting them into two numbers below 2^53
// (a Lua number is a double). The zero time is stored as "".
const (
	// unixToInternal is the number of seconds from 0001-01-01 to 1970-01-01.
	unixToInternal = 62135596800
	maxStoredSec   = 999_999_999_999
	timeKeyLen     = 21
)

// errTimeRange rejects times that the stored format cannot hold (before year
// 1 or after about year 31000).
var errTimeRange = fmt.Errorf("time outside the years 1 to 31000")

// encodeTime returns the stored form of t.
func encodeTime(t time.Time) (string, error) {
	if t.IsZero() {
		return "", nil
	}
	sec := t.Unix() + unixToInternal
	if sec < 0 || sec > maxStoredSec {
		return "", errTimeRange
	}
	return fmt.Sprintf("%012d%09d", sec, t.Nanosecond()), nil
}

// mustEncodeTime encodes a time already known to be in range (the clock's).
func mustEncodeTime(t time.Time) string {
	s, err := encodeTime(t)
	if err != nil {
		// The clock is outside the years 1 to 31000; compare as the
		// earliest or latest representable time.
		if t.Unix() < 0 {
			return fmt.Sprintf("%012d%09d", 0, 1)
		}
		return fmt.Sprintf("%012d%09d", maxStoredSec, 999_999_999)
	}
	return s
}

// decodeTime parses the stored form; "" is the zero time. The result is in
// UTC, as a JSON round trip would give.
func decodeTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) != timeKeyLen {
		return time.Time{}, fmt.Errorf("stored time %q: want %d digits", s, timeKeyLen)
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("stored time %q: not digits", s)
		}
	}
	sec, _ := strconv.ParseInt(s[:12], 10, 64)
	nsec, _ := strconv.ParseInt(s[12:], 10, 64)
	t := time.Unix(sec-unixToInternal, nsec).UTC()
	if t.IsZero() {
		// encodeTime writes the zero time as "".
		return time.Time{}, fmt.Errorf("stored time %q: the zero time", s)
	}
	return t, nil
}

// ttl is how long Redis keeps a record expiring at exp when now is now: the
// whole milliseconds until exp, rounded up so that Redis never drops a record
// before the store considers it expired. Zero or less means already expired.
// The TTL is relative (PEXPIRE, not PEXPIREAT), so a difference between the
// servers' clocks and Redis's clock does not shorten or lengthen it.
func ttl(exp, now time.Time) int64 {
	d := exp.Sub(now)
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// unixMilliCeil is t in milliseconds since 1970, rounded up: a grant-index
// score is never earlier than the grant's expiry.
func unixMilliCeil(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}
