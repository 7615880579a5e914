package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Revocations = (*Store)(nil)

// The revocation log is three keys sharing the hash tag {revocations}, so
// each script below runs on one node, also on a cluster:
//
//	{revocations}:log   sorted set: member "<kind>\n<id>", score its Seq
//	{revocations}:exp   sorted set: the same members, score the expiry in ms
//	{revocations}:seq   the head: the last Seq assigned (INCR)
//
// A grant's key is tagged by the grant id, so on a cluster it sits in another
// slot than the log and no script can change both. A grant revocation
// therefore appends to the log first and revokes the grant second; appends
// are idempotent (a live member is not added again). Failing in between
// leaves a logged grant that is not revoked yet: the resource servers refuse
// its access tokens early, never late, and the error tells the caller to
// retry. Refresh token reuse is detected inside the rotation script, so there
// the entry follows the revocation; if that append fails RotateRefresh
// reports the store unavailable, and every later presentation of the reused
// token (which is still reuse) appends again.
func (k keys) revLog() string { return k.prefix + "{revocations}:log" }
func (k keys) revExp() string { return k.prefix + "{revocations}:exp" }
func (k keys) revSeq() string { return k.prefix + "{revocations}:seq" }

func (k keys) revocationKeys() []string { return []string{k.revLog(), k.revExp(), k.revSeq()} }

// revPruneBatch bounds the expired entries one append removes.
const revPruneBatch = 100

// appendRevocationScript appends an entry unless a live one with the member
// exists, after pruning expired entries. Times are ms since 1970; an entry
// lives while now < expiry.
// KEYS log, exp, seq; ARGV member, expiry ms, now ms, prune limit.
var appendRevocationScript = newScript(`
local now = tonumber(ARGV[3])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
for i = 1, #old do
  redis.call('ZREM', KEYS[1], old[i])
  redis.call('ZREM', KEYS[2], old[i])
end
if tonumber(ARGV[2]) <= now then return OK end
local x = redis.call('ZSCORE', KEYS[2], ARGV[1])
if x and tonumber(x) > now then return OK end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], seq, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return OK
`)

// revocationsSinceScript answers {head, member, seq, expiry, member, seq,
// expiry, …} for the live entries with Seq > after, in Seq order.
// KEYS log, exp, seq; ARGV after, now ms.
var revocationsSinceScript = newScript(`
local now = tonumber(ARGV[2])
local out = {tonumber(redis.call('GET', KEYS[3]) or '0')}
local m = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES')
for i = 1, #m, 2 do
  local x = redis.call('ZSCORE', KEYS[2], m[i])
  if x and tonumber(x) > now then
    out[#out + 1] = m[i]
    out[#out + 1] = m[i + 1]
    out[#out + 1] = x
  end
end
return out
`)

// appendRevocation runs appendRevocationScript for kind and id.
func (s *Store) appendRevocation(ctx context.Context, op, kind, id string, exp, now time.Time) error {
	status, err := s.evalStatus(ctx, op, appendRevocationScript, s.keys.revocationKeys(),
		kind+"\n"+id, unixMilliCeil(exp), now.UnixMilli(), revPruneBatch)
	if err != nil {
		return err
	}
	return s.statusErr(op, status)
}

// logGrant appends the RevokedGrant entry of grant id, living until the
// grant's end, read from the grant itself. A grant that does not exist (or
// has expired) is not logged; the caller's own script reports it.
func (s *Store) logGrant(ctx context.Context, op, id string, now time.Time) error {
	x, err := s.call(ctx, "hget", s.keys.grant(id), "x").Text()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return s.unavailable(op, err)
	}
	exp, err := decodeTime(x)
	if err != nil {
		return s.corrupt(op, s.keys.grant(id), err)
	}
	return s.appendRevocation(ctx, op, store.RevokedGrant, id, exp, now)
}

// RevokeToken implements [store.Revocations].
func (s *Store) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if jti == "" {
		return emptyKey("token revocation")
	}
	now, err := s.begin()
	if err != nil {
		return err
	}
	if expired(expiresAt, now) {
		return nil
	}
	return s.appendRevocation(ctx, "RevokeToken", store.RevokedToken, jti, expiresAt, now)
}

// TokenRevoked implements [store.Revocations].
func (s *Store) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	now, err := s.begin()
	if err != nil {
		return false, err
	}
	// The score is the expiry in ms. A read only: the client may retry it.
	ms, err := s.rdb.ZScore(ctx, s.keys.revExp(), store.RevokedToken+"\n"+jti).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, s.unavailable("TokenRevoked", err)
	}
	return int64(ms) > now.UnixMilli(), nil
}

// RevocationsSince implements [store.Revocations]: one script, so the
// entries and the head are consistent.
func (s *Store) RevocationsSince(ctx context.Context, after int64) ([]store.Revocation, int64, error) {
	const op = "RevocationsSince"
	now, err := s.begin()
	if err != nil {
		return nil, 0, err
	}
	v, err := s.eval(ctx, revocationsSinceScript, s.keys.revocationKeys(), max(after, 0), now.UnixMilli())
	if err != nil {
		return nil, 0, s.unavailable(op, err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 || (len(arr)-1)%3 != 0 {
		return nil, 0, s.unavailable(op, fmt.Errorf("unexpected script reply %T", v))
	}
	head, ok := arr[0].(int64)
	if !ok {
		return nil, 0, s.unavailable(op, fmt.Errorf("unexpected script head %T", arr[0]))
	}
	out := make([]store.Revocation, 0, (len(arr)-1)/3)
	for i := 1; i < len(arr); i += 3 {
		r, err := decodeRevocation(arr[i], arr[i+1], arr[i+2])
		if err != nil {
			return nil, 0, s.corrupt(op, s.keys.revLog(), err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		out = nil
	}
	return out, head, nil
}

// decodeRevocation reads one entry of revocationsSinceScript's reply.
func decodeRevocation(member, seq, exp any) (store.Revocation, error) {
	m, ok1 := member.(string)
	sq, ok2 := seq.(string)
	x, ok3 := exp.(string)
	if !ok1 || !ok2 || !ok3 {
		return store.Revocation{}, fmt.Errorf("entry of types %T, %T, %T", member, seq, exp)
	}
	kind, id, ok := strings.Cut(m, "\n")
	if !ok || (kind != store.RevokedGrant && kind != store.RevokedToken) {
		return store.Revocation{}, fmt.Errorf("entry %q has no kind", m)
	}
	// Scores are doubles; Redis writes integral ones as integers, but
	// ParseFloat reads either spelling (both stay below 2^53).
	n, err := strconv.ParseFloat(sq, 64)
	if err != nil {
		return store.Revocation{}, fmt.Errorf("entry %q: seq %q", m, sq)
	}
	ms, err := strconv.ParseFloat(x, 64)
	if err != nil {
		return store.Revocation{}, fmt.Errorf("entry %q: expiry %q", m, x)
	}
	return store.Revocation{Kind: kind, ID: id, ExpiresAt: time.UnixMilli(int64(ms)).UTC(), Seq: int64(n)}, nil
}
