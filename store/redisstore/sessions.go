package redisstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Sessions = (*Store)(nil)

// session:{id} is an MCP session by the hash of its id: a hash
// {d, s, v, ls, ix, ax, im}. d is the JSON of the fields no write changes
// (subject, client, idle timeout, creation and absolute expiry); s the state
// JSON, v its version, ls the last touch, ix the idle expiry and ax the
// absolute expiry (stored times, see encodeTime), im the idle timeout in
// milliseconds. The key's TTL is the time left until the earlier expiry, set
// again by each touch.
func (k keys) session(id string) string { return k.tagged("session", id) }

// sessionLua are the helpers of the session scripts: live tells whether a
// session with idle expiry ix and absolute expiry ax is valid at now;
// addMillis adds ms milliseconds to a stored time; millisUntil is the whole
// milliseconds from stored time a to b, rounded up (a TTL that never ends
// before the store considers the session expired). Seconds times 1000 stay
// below 2^53, so a Lua number holds every value exactly.
const sessionLua = `
local CONFLICT = 6
local function live(now, ix, ax)
  return ix and ax and before(now, ix) and before(now, ax)
end
local function addMillis(t, ms)
  local s = tonumber(string.sub(t, 1, 12)) + math.floor(ms / 1000)
  local ns = tonumber(string.sub(t, 13)) + (ms % 1000) * 1000000
  if ns >= 1000000000 then s, ns = s + 1, ns - 1000000000 end
  return string.format('%012d%09d', s, ns)
end
local function millisUntil(a, b)
  local ds = tonumber(string.sub(b, 1, 12)) - tonumber(string.sub(a, 1, 12))
  local dn = tonumber(string.sub(b, 13)) - tonumber(string.sub(a, 13))
  return ds * 1000 + math.ceil(dn / 1000000)
end
`

// statusConflict is the sessions scripts' answer for a lost compare-and-swap.
const statusConflict = 6

// createSessionScript stores a session unless a live one holds the key.
// KEYS[1] session key; ARGV now, d, s, ls, ix, ax, im, TTL in ms (0: already
// expired, store nothing).
var createSessionScript = newScript(sessionLua + `
local x = redis.call('HMGET', KEYS[1], 'ix', 'ax')
if live(ARGV[1], x[1], x[2]) then return EXISTS end
redis.call('DEL', KEYS[1])
if tonumber(ARGV[8]) > 0 then
  redis.call('HSET', KEYS[1], 'd', ARGV[2], 's', ARGV[3], 'v', '1', 'ls', ARGV[4], 'ix', ARGV[5], 'ax', ARGV[6], 'im', ARGV[7])
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
end
return OK
`)

// touchSessionScript moves the idle expiry of a live session to now + its
// idle timeout, capped at the absolute expiry, and the TTL with it.
// KEYS[1] session key; ARGV now.
var touchSessionScript = newScript(sessionLua + `
local x = redis.call('HMGET', KEYS[1], 'ix', 'ax', 'im')
if not live(ARGV[1], x[1], x[2]) or not x[3] then return NOTFOUND end
local ix = addMillis(ARGV[1], tonumber(x[3]))
if before(x[2], ix) then ix = x[2] end
redis.call('HSET', KEYS[1], 'ls', ARGV[1], 'ix', ix)
redis.call('PEXPIRE', KEYS[1], millisUntil(ARGV[1], ix))
return OK
`)

// updateSessionStateScript replaces the state of a live session if its
// version is still the expected one. KEYS[1] session key; ARGV now, expected
// version, state.
var updateSessionStateScript = newScript(sessionLua + `
local x = redis.call('HMGET', KEYS[1], 'ix', 'ax', 'v')
if not live(ARGV[1], x[1], x[2]) then return NOTFOUND end
if x[3] ~= ARGV[2] then return CONFLICT end
redis.call('HSET', KEYS[1], 's', ARGV[3], 'v', tostring(tonumber(x[3]) + 1))
return OK
`)

// deleteSessionScript removes a session, answering NOTFOUND when there was
// none or it had expired. KEYS[1] session key; ARGV now.
var deleteSessionScript = newScript(sessionLua + `
local x = redis.call('HMGET', KEYS[1], 'ix', 'ax')
if not x[1] then return NOTFOUND end
redis.call('DEL', KEYS[1])
if not live(ARGV[1], x[1], x[2]) then return NOTFOUND end
return OK
`)

// sessionFields are the fields GetSession reads, in this order.
var sessionFields = []any{"d", "s", "v", "ls", "ix", "ax"}

// sessionStatus maps a sessions script's status to an error.
func (s *Store) sessionStatus(op string, status int64) error {
	if status == statusConflict {
		return store.ErrConflict
	}
	return s.statusErr(op, status)
}

// compactState checks that state is JSON and compacts it, as the other
// backends return it.
func compactState(id string, state json.RawMessage) (string, error) {
	if len(state) == 0 {
		return "", nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, state); err != nil {
		return "", invalid("session state", id, err)
	}
	return b.String(), nil
}

// CreateSession implements [store.Sessions] in one script.
func (s *Store) CreateSession(ctx context.Context, ss *store.Session) error {
	if ss.ID == "" {
		return emptyKey("session")
	}
	if ss.IdleTimeout < time.Millisecond {
		return invalid("session", ss.ID, fmt.Errorf("idle timeout %v: must be at least 1ms", ss.IdleTimeout))
	}
	state, err := compactState(ss.ID, ss.State)
	if err != nil {
		return err
	}
	fixed := *ss
	fixed.State, fixed.Version = nil, 0
	fixed.LastSeen, fixed.IdleExpiresAt = time.Time{}, time.Time{}
	d, err := json.Marshal(&fixed)
	if err != nil {
		return invalid("session", ss.ID, err)
	}
	var ls, ix, ax string
	for _, f := range []struct {
		dst *string
		t   time.Time
	}{{&ls, ss.LastSeen}, {&ix, ss.IdleExpiresAt}, {&ax, ss.AbsoluteExpiresAt}} {
		if *f.dst, err = encodeTime(f.t); err != nil {
			return invalid("session", ss.ID, err)
		}
	}
	now, err := s.begin()
	if err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "CreateSession", createSessionScript, []string{s.keys.session(ss.ID)},
		mustEncodeTime(now), d, state, ls, ix, ax, ss.IdleTimeout.Milliseconds(), ttl(ss.ExpiresAt(), now))
	if err != nil {
		return err
	}
	return s.sessionStatus("CreateSession", status)
}

// GetSession implements [store.Sessions] with one HMGET.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	key := s.keys.session(id)
	vals, err := s.call(ctx, append([]any{"hmget", key}, sessionFields...)...).Slice()
	if err != nil {
		return nil, s.unavailable("GetSession", err)
	}
	if len(vals) != len(sessionFields) {
		return nil, s.unavailable("GetSession", fmt.Errorf("HMGET answered %d values", len(vals)))
	}
	f := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
			if i == 0 {
				return nil, store.ErrNotFound
			}
		case string:
			f[i] = v
		default:
			return nil, s.unavailable("GetSession", fmt.Errorf("HMGET value %T", v))
		}
	}
	ss, err := decodeSession(f)
	if err != nil {
		return nil, s.corrupt("GetSession", key, err)
	}
	if expired(ss.ExpiresAt(), now) {
		return nil, store.ErrNotFound
	}
	return ss, nil
}

// decodeSession rebuilds a session from the fields d, s, v, ls, ix, ax.
func decodeSession(f []string) (*store.Session, error) {
	var ss store.Session
	if err := json.Unmarshal([]byte(f[0]), &ss); err != nil {
		return nil, err
	}
	if f[1] != "" {
		ss.State = json.RawMessage(f[1])
	}
	v, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("version: %w", err)
	}
	ss.Version = v
	if ss.LastSeen, err = decodeTime(f[3]); err != nil {
		return nil, err
	}
	if ss.IdleExpiresAt, err = decodeTime(f[4]); err != nil {
		return nil, err
	}
	ax, err := decodeTime(f[5])
	if err != nil {
		return nil, err
	}
	if !ax.Equal(ss.AbsoluteExpiresAt) {
		return nil, fmt.Errorf("absolute expiry %v differs from the record's %v", ax, ss.AbsoluteExpiresAt)
	}
	return &ss, nil
}

// TouchSession implements [store.Sessions] in one script.
func (s *Store) TouchSession(ctx context.Context, id string) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "TouchSession", touchSessionScript, []string{s.keys.session(id)}, mustEncodeTime(now))
	if err != nil {
		return err
	}
	return s.sessionStatus("TouchSession", status)
}

// UpdateSessionState implements [store.Sessions]: a compare-and-swap in one
// script.
func (s *Store) UpdateSessionState(ctx context.Context, id string, version int64, state json.RawMessage) error {
	st, err := compactState(id, state)
	if err != nil {
		return err
	}
	now, err := s.begin()
	if err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "UpdateSessionState", updateSessionStateScript, []string{s.keys.session(id)},
		mustEncodeTime(now), strconv.FormatInt(version, 10), st)
	if err != nil {
		return err
	}
	return s.sessionStatus("UpdateSessionState", status)
}

// DeleteSession implements [store.Sessions] in one script.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "DeleteSession", deleteSessionScript, []string{s.keys.session(id)}, mustEncodeTime(now))
	if err != nil {
		return err
	}
	return s.sessionStatus("DeleteSession", status)
}
