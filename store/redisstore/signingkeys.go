package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/redis/go-redis/v9"
)

var _ store.Keys = (*Store)(nil)

// keySet is the hash {prefix}keys holding the signing-key set: field version
// (a decimal) and field data (the JSON array of keys).
func (k keys) keySet() string { return k.prefix + "keys" }

// swapKeysScript is the compare-and-swap of the key set.
// KEYS[1] the key-set hash; ARGV expected version, new version, data.
var swapKeysScript = newScript(`
local v = redis.call('HGET', KEYS[1], 'version') or '0'
if v ~= ARGV[1] then return MISMATCH end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'data', ARGV[3])
return OK
`)

// GetKeySet implements [store.Keys].
func (s *Store) GetKeySet(ctx context.Context) (*store.KeySet, error) {
	if _, err := s.begin(); err != nil {
		return nil, err
	}
	key := s.keys.keySet()
	vals, err := s.call(ctx, "hmget", key, "version", "data").Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.unavailable("GetKeySet", err)
	}
	ks := &store.KeySet{}
	if len(vals) != 2 || vals[0] == nil {
		return ks, nil
	}
	v, _ := vals[0].(string)
	data, _ := vals[1].(string)
	if ks.Version, err = strconv.ParseInt(v, 10, 64); err != nil {
		return nil, s.corrupt("GetKeySet", key, err)
	}
	if err := json.Unmarshal([]byte(data), &ks.Keys); err != nil {
		return nil, s.corrupt("GetKeySet", key, err)
	}
	return ks, nil
}

// SwapKeySet implements [store.Keys] with one script, so the compare and the
// swap are atomic for every instance on the store.
func (s *Store) SwapKeySet(ctx context.Context, expected int64, keys []store.SigningKey) (*store.KeySet, error) {
	if _, err := s.begin(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("redisstore: encoding the key set: %w", err)
	}
	status, err := s.evalStatus(ctx, "SwapKeySet", swapKeysScript, []string{s.keys.keySet()},
		strconv.FormatInt(expected, 10), strconv.FormatInt(expected+1, 10), string(data))
	if err != nil {
		return nil, err
	}
	if status != statusOK {
		return nil, store.ErrConflict
	}
	return &store.KeySet{Version: expected + 1, Keys: keys}, nil
}
