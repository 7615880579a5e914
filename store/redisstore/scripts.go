package redisstore

import (
	"crypto/sha1"
	"encoding/hex"
)

// script is a Lua script and its SHA-1, the name EVALSHA runs it by (Redis
// names scripts by SHA-1; nothing here relies on it for security).
type script struct{ src, sha string }

func newScript(body string) *script {
	src := prelude + body
	sum := sha1.Sum([]byte(src))
	return &script{src: src, sha: hex.EncodeToString(sum[:])}
}

// The Lua scripts. Each touches the keys it is given and nothing else, and all
// keys of one script share a hash slot, so each runs atomically on a single
// node and on a cluster. Time is never read from Redis: the caller passes now
// (in the stored time format, see encodeTime), so every instance and the tests
// agree on it through the injected clock.
//
// A script answers with a status code, alone or as the first element of an
// array: these are the values below.
const (
	statusOK       = 1
	statusNotFound = 2
	statusExists   = 3
	statusReused   = 4
	statusMismatch = 5
)

// prelude is put in front of every script: the status codes and before, which
// compares two stored times exactly (a Lua number is a double, so the 21-digit
// string is split into seconds and nanoseconds, each below 2^53).
const prelude = `
local OK, NOTFOUND, EXISTS, REUSED, MISMATCH = 1, 2, 3, 4, 5
local function before(a, b)
  local as, bs = tonumber(string.sub(a, 1, 12)), tonumber(string.sub(b, 1, 12))
  if as ~= bs then return as < bs end
  return tonumber(string.sub(a, 13)) < tonumber(string.sub(b, 13))
end
`

// saveCodeScript stores an authorization code as a hash {d: JSON, x: expiry}
// unless an unexpired code (used or not) holds the key.
// KEYS[1] code key; ARGV now, JSON, expiry, TTL in ms (0: already expired,
// store nothing).
var saveCodeScript = newScript(`
local x = redis.call('HGET', KEYS[1], 'x')
if x and before(ARGV[1], x) then return EXISTS end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[4]) > 0 then
  redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return OK
`)

// consumeCodeScript redeems a code: the first call sets the used marker u and
// returns the code; later calls return it with REUSED (RFC 6749 §4.1.2). The
// marker lives in the code's own hash, so it expires with the code.
// KEYS[1] code key; ARGV now.
var consumeCodeScript = newScript(`
local v = redis.call('HMGET', KEYS[1], 'd', 'x', 'u')
if not v[1] or not v[2] or not before(ARGV[1], v[2]) then return {NOTFOUND} end
if v[3] then return {REUSED, v[1]} end
redis.call('HSET', KEYS[1], 'u', '1')
return {OK, v[1]}
`)

// createGrantScript stores a grant unless an unexpired one (revoked or not)
// holds the id. A grant is a hash: d is the JSON of the fields that never
// change, x the expiry, and the fields that rotation and revocation change
// are kept apart so that the scripts never re-encode the JSON: rh the current
// refresh hash, pn the number of the newest rotated-out hash (0: none), rx
// the refresh expiry and rv the revocation time ("" while active). Only
// grants with a retry grace have rg (the grace in ns, capped at
// store.MaxRefreshReuseGrace; also in d, but the rotation script reads it
// here), and only while a token is in grace gh (its hash) and gu (the end of
// its grace). The rotated-out hashes are the members of a sorted set of
// their own (KEYS[2], same hash tag), scored 1, 2, … in the order they were
// rotated out, at most store.MaxPreviousHashes, with the grant's TTL: a
// rotation adds one member and a reuse check is one ZSCORE, however long the
// chain. Grants stored by an older version keep the previous hashes in the
// grant hash instead (ph, a JSON array), until their next rotation moves them.
// KEYS[1] grant key, KEYS[2] previous-hash key; ARGV now, d, x, rh, rx, rv,
// TTL in ms, rg, gh, gu ("" for an absent field), then the previous hashes,
// oldest first (distinct, at most store.MaxPreviousHashes).
var createGrantScript = newScript(`
local x = redis.call('HGET', KEYS[1], 'x')
if x and before(ARGV[1], x) then return EXISTS end
redis.call('DEL', KEYS[1], KEYS[2])
if tonumber(ARGV[7]) > 0 then
  local n = #ARGV - 10
  redis.call('HSET', KEYS[1], 'd', ARGV[2], 'x', ARGV[3], 'rh', ARGV[4], 'pn', n, 'rx', ARGV[5], 'rv', ARGV[6])
  if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'rg', ARGV[8]) end
  if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'gh', ARGV[9], 'gu', ARGV[10]) end
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  for i = 1, n do redis.call('ZADD', KEYS[2], i, ARGV[10 + i]) end
  if n > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[7]) end
end
return OK
`)

// revokeGrantScript sets rv to now unless the grant is already revoked.
// KEYS[1] grant key; ARGV now.
var revokeGrantScript = newScript(`
local v = redis.call('HMGET', KEYS[1], 'x', 'rv')
if not v[1] or not before(ARGV[1], v[1]) then return NOTFOUND end
if not v[2] or v[2] == '' then redis.call('HSET', KEYS[1], 'rv', ARGV[1]) end
return OK
`)

// rotateRefreshScript is refresh-token rotation with reuse detection (RFC 9700
// §4.14.2, RFC 6749 §6) and its retry grace. It is a line-by-line port of
// store.Grant.RotateWith, which cannot be called from Lua; the conformance
// suite and a differential test against the Go rule keep the two equal. The
// grant's expiry check that Rotate leaves to its caller comes first. Lua
// compares strings by identity of interned values, so the comparisons do not
// depend on where two hashes differ; a previous hash is looked up in the
// sorted set (a hash of a random secret: the lookup tells nothing about a
// secret). A retired hash already in the set keeps its place; the set keeps
// the newest max members and the grant's TTL. plus adds rg nanoseconds (at
// most a minute, exact in a double) to a stored time. A grant stored by an
// older version has its previous hashes moved from ph into the set first.
// KEYS[1] grant key, KEYS[2] previous-hash key; ARGV now, presented hash,
// next hash, next expiry ("" for none), MaxPreviousHashes. Answers
// {OK, d, x, rh, rx, gh, gu, retried "1"/"0"} or {status}.
var rotateRefreshScript = newScript(`
local function plus(t, ns)
  local s = tonumber(string.sub(t, 1, 12)) + math.floor(ns / 1e9)
  local n = tonumber(string.sub(t, 13)) + ns % 1e9
  if n >= 1e9 then s, n = s + 1, n - 1e9 end
  return string.format('%012d%09d', s, n)
end
local now, presented, nextHash, nextExpiry, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local v = redis.call('HMGET', KEYS[1], 'd', 'x', 'rh', 'pn', 'rx', 'rv', 'rg', 'gh', 'gu', 'ph')
local x = v[2]
if not v[1] or not x or not before(now, x) then return {NOTFOUND} end
local rh, pn, rx, rv = v[3] or '', tonumber(v[4] or '0') or 0, v[5] or '', v[6] or ''
local rg, gh, gu = tonumber(v[7] or '0') or 0, v[8] or '', v[9] or ''
local function retire(h)
  if redis.call('ZADD', KEYS[2], 'NX', pn + 1, h) == 0 then return end
  pn = pn + 1
  if pn > max then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(max + 1)) end
  if redis.call('PTTL', KEYS[2]) < 0 then
    local t = redis.call('PTTL', KEYS[1])
    if t > 0 then redis.call('PEXPIRE', KEYS[2], t) end
  end
end
if v[10] then
  if v[10] ~= '' then
    for _, h in ipairs(cjson.decode(v[10])) do retire(h) end
  end
  redis.call('HDEL', KEYS[1], 'ph')
  redis.call('HSET', KEYS[1], 'pn', pn)
end
local live = rv == '' and rh ~= '' and (rx == '' or before(now, rx))
local retry = live and presented ~= '' and nextHash ~= presented and gh ~= '' and gu ~= '' and before(now, gu) and gh == presented
if not retry and presented ~= '' and redis.call('ZSCORE', KEYS[2], presented) then
  if rv == '' then redis.call('HSET', KEYS[1], 'rv', now) end
  return {REUSED}
end
if not live then return {NOTFOUND} end
if not retry and (presented == '' or rh ~= presented) then return {MISMATCH} end
if nextHash ~= presented then
  retire(rh)
  if not retry then
    if rg > 0 then
      gh, gu = rh, plus(now, rg)
      redis.call('HSET', KEYS[1], 'gh', gh, 'gu', gu)
    elseif gh ~= '' or gu ~= '' then
      gh, gu = '', ''
      redis.call('HDEL', KEYS[1], 'gh', 'gu')
    end
  end
  rh = nextHash
end
if nextExpiry == '' or before(x, nextExpiry) then nextExpiry = x end
redis.call('HSET', KEYS[1], 'rh', rh, 'pn', pn, 'rx', nextExpiry)
return {OK, v[1], x, rh, nextExpiry, gh, gu, retry and '1' or '0'}
`)

// previousHashesScript reads a live grant's rotated-out hashes, oldest first
// (from ph for a grant an older version stored and no rotation has moved
// yet). KEYS[1] grant key, KEYS[2] previous-hash key; ARGV now. Answers
// {OK, hashes...} or {NOTFOUND}.
var previousHashesScript = newScript(`
local v = redis.call('HMGET', KEYS[1], 'x', 'ph')
if not v[1] or not before(ARGV[1], v[1]) then return {NOTFOUND} end
local out = {OK}
if v[2] and v[2] ~= '' then
  for _, h in ipairs(cjson.decode(v[2])) do out[#out + 1] = h end
end
for _, h in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do out[#out + 1] = h end
return out
`)

// indexGrantScript adds a grant id to one grant index, a sorted set scored by
// the grant's expiry in ms. GT keeps the latest expiry when an id is added
// twice, so an entry never leaves before its grant; entries whose score has
// passed are pruned, and the index itself expires with its last grant.
// KEYS[1] index key; ARGV score, id, prune-below score, TTL in ms.
var indexGrantScript = newScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return OK
`)

// createClientScript stores a client and adds its id to the client index (a
// sorted set with every score 0, so ZRANGE orders ids bytewise).
// KEYS[1] client key, KEYS[2] index key (same slot: tag {clients}); ARGV id, JSON.
var createClientScript = newScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return EXISTS end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return OK
`)

// deleteClientScript removes a client and its index entry.
// KEYS[1] client key, KEYS[2] index key; ARGV id.
var deleteClientScript = newScript(`
if redis.call('DEL', KEYS[1]) == 0 then return NOTFOUND end
redis.call('ZREM', KEYS[2], ARGV[1])
return OK
`)
