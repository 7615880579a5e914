package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Vault = (*Store)(nil)

// Vault keys. Both carry the grant id as hash tag, so they share the slot of
// grant:{id} and a script can check the grant and change the entry at once,
// also on a cluster.
//
//	vault:{grant}       hash {e: envelope, x: expiry}, TTL to the expiry
//	vault-lock:{grant}  the refresh lease: hash {o: owner, u: end}, TTL to its end
func (k keys) vault(id string) string     { return k.tagged("vault", id) }
func (k keys) vaultLock(id string) string { return k.tagged("vault-lock", id) }

// putVaultScript replaces an entry. KEYS[1] vault key; ARGV envelope,
// expiry, TTL in ms (0: already expired, store nothing).
var putVaultScript = newScript(`
redis.call('DEL', KEYS[1])
if tonumber(ARGV[3]) > 0 then
  redis.call('HSET', KEYS[1], 'e', ARGV[1], 'x', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return OK
`)

// liveVaultLua checks the entry KEYS[1] against its grant KEYS[2] at now:
// it returns the envelope, or nil when the entry is absent or expired or the
// grant is not live (removing the entry of a revoked grant).
const liveVaultLua = `
local function liveVault(now)
  local e = redis.call('HMGET', KEYS[1], 'e', 'x')
  if not e[1] or not e[2] or not before(now, e[2]) then return nil end
  local g = redis.call('HMGET', KEYS[2], 'x', 'rv')
  if not g[1] or not before(now, g[1]) then return nil end
  if g[2] and g[2] ~= '' then
    redis.call('DEL', KEYS[1])
    return nil
  end
  return e[1]
end
`

// getVaultScript: KEYS[1] vault key, KEYS[2] grant key; ARGV now. Answers
// {OK, envelope} or {NOTFOUND}.
var getVaultScript = newScript(liveVaultLua + `
local e = liveVault(ARGV[1])
if not e then return {NOTFOUND} end
return {OK, e}
`)

// updateVaultScript replaces the envelope of a live entry if it still holds
// the expected one (compare-and-swap), keeping its TTL. KEYS[1] vault key,
// KEYS[2] grant key; ARGV now, expected envelope, new envelope. Answers OK,
// NOTFOUND or CONFLICT (statusConflict).
var updateVaultScript = newScript(liveVaultLua + `
local CONFLICT = 6
local e = liveVault(ARGV[1])
if not e then return NOTFOUND end
if e ~= ARGV[2] then return CONFLICT end
redis.call('HSET', KEYS[1], 'e', ARGV[3])
return OK
`)

// lockVaultScript takes the lease unless another owner holds one that has
// not ended at now. The lease is a hash {o: owner, u: end}; its TTL only
// collects it. KEYS[1] lease key; ARGV owner, now, end, TTL in ms. Answers 1
// when taken, 0 if not.
var lockVaultScript = newScript(`
local v = redis.call('HMGET', KEYS[1], 'o', 'u')
if v[1] and v[1] ~= ARGV[1] and v[2] and before(ARGV[2], v[2]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'o', ARGV[1], 'u', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// unlockVaultScript deletes the lease if ARGV[1] still owns it.
var unlockVaultScript = newScript(`
if redis.call('HGET', KEYS[1], 'o') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return OK
`)

// PutVault implements [store.Vault].
func (s *Store) PutVault(ctx context.Context, grantID string, envelope []byte, expiresAt time.Time) error {
	if grantID == "" {
		return emptyKey("vault entry")
	}
	exp, err := encodeTime(expiresAt)
	if err != nil {
		return invalid("vault entry", grantID, err)
	}
	now, err := s.begin()
	if err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "PutVault", putVaultScript, []string{s.keys.vault(grantID)},
		envelope, exp, ttl(expiresAt, now))
	if err != nil {
		return err
	}
	return s.statusErr("PutVault", status)
}

// GetVault implements [store.Vault] in one script that checks the grant.
func (s *Store) GetVault(ctx context.Context, grantID string) ([]byte, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	status, vals, err := s.evalArray(ctx, "GetVault", getVaultScript,
		[]string{s.keys.vault(grantID), s.keys.grant(grantID)}, mustEncodeTime(now))
	if err != nil {
		return nil, err
	}
	if status != statusOK {
		return nil, s.statusErr("GetVault", status)
	}
	if len(vals) != 1 {
		return nil, s.unavailable("GetVault", fmt.Errorf("script answered %d values", len(vals)))
	}
	return []byte(vals[0]), nil
}

// UpdateVault implements [store.Vault].
func (s *Store) UpdateVault(ctx context.Context, grantID string, old, envelope []byte) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "UpdateVault", updateVaultScript,
		[]string{s.keys.vault(grantID), s.keys.grant(grantID)}, mustEncodeTime(now), old, envelope)
	if err != nil {
		return err
	}
	if status == statusConflict {
		return store.ErrConflict
	}
	return s.statusErr("UpdateVault", status)
}

// DeleteVault implements [store.Vault].
func (s *Store) DeleteVault(ctx context.Context, grantID string) error {
	if _, err := s.begin(); err != nil {
		return err
	}
	if err := s.call(ctx, "del", s.keys.vault(grantID)).Err(); err != nil {
		return s.unavailable("DeleteVault", err)
	}
	return nil
}

// LockVault implements [store.Vault]. The lease's TTL is kept by Redis.
func (s *Store) LockVault(ctx context.Context, grantID, owner string, lease time.Duration) (bool, error) {
	if grantID == "" || owner == "" {
		return false, emptyKey("vault lease")
	}
	now, err := s.begin()
	if err != nil {
		return false, err
	}
	end := now.Add(lease)
	n, err := s.evalStatus(ctx, "LockVault", lockVaultScript, []string{s.keys.vaultLock(grantID)},
		owner, mustEncodeTime(now), mustEncodeTime(end), max(ttl(end, now), 1))
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// UnlockVault implements [store.Vault].
func (s *Store) UnlockVault(ctx context.Context, grantID, owner string) error {
	if _, err := s.begin(); err != nil {
		return err
	}
	_, err := s.evalStatus(ctx, "UnlockVault", unlockVaultScript, []string{s.keys.vaultLock(grantID)}, owner)
	return err
}

// dropVault removes a revoked grant's vault entry. The grant is already
// revoked, and GetVault refuses entries of revoked grants, so a failure here
// leaves only ciphertext that can no longer be read, until its TTL.
func (s *Store) dropVault(ctx context.Context, grantID string) {
	_ = s.call(ctx, "del", s.keys.vault(grantID)).Err()
}
