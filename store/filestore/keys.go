package filestore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
	bolt "go.etcd.io/bbolt"
)

var _ store.Keys = (*Store)(nil)

// keySetKey holds the signing-key set (JSON) in the meta bucket.
var keySetKey = []byte("keyset")

// GetKeySet implements [store.Keys].
func (s *Store) GetKeySet(ctx context.Context) (*store.KeySet, error) {
	var out *store.KeySet
	err := s.view(ctx, func(tx *bolt.Tx, _ time.Time) error {
		var err error
		out, err = loadKeySet(tx)
		return err
	})
	return out, err
}

// SwapKeySet implements [store.Keys]: one write transaction, so the
// compare-and-swap holds across processes sharing the file.
func (s *Store) SwapKeySet(ctx context.Context, expected int64, keys []store.SigningKey) (*store.KeySet, error) {
	var out *store.KeySet
	err := s.update(ctx, func(tx *bolt.Tx, _ time.Time) error {
		cur, err := loadKeySet(tx)
		if err != nil {
			return err
		}
		if cur.Version != expected {
			return store.ErrConflict
		}
		out = &store.KeySet{Version: expected + 1, Keys: keys}
		enc, err := json.Marshal(out)
		if err != nil {
			return fmt.Errorf("filestore: encoding the key set: %w", err)
		}
		return tx.Bucket(metaBucket).Put(keySetKey, enc)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func loadKeySet(tx *bolt.Tx) (*store.KeySet, error) {
	raw := tx.Bucket(metaBucket).Get(keySetKey)
	ks := &store.KeySet{}
	if raw == nil {
		return ks, nil
	}
	if err := json.Unmarshal(raw, ks); err != nil {
		return nil, fmt.Errorf("%w: filestore: corrupt key set: %v", store.ErrUnavailable, err)
	}
	return ks, nil
}
