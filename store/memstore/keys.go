package memstore

import (
	"context"
	"slices"

	"github.com/frontmcp-go/frontmcp/store"
)

var _ store.Keys = (*Store)(nil)

// GetKeySet implements [store.Keys].
func (s *Store) GetKeySet(context.Context) (*store.KeySet, error) {
	if _, err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return cloneKeySet(&s.keys), nil
}

// SwapKeySet implements [store.Keys].
func (s *Store) SwapKeySet(_ context.Context, expected int64, keys []store.SigningKey) (*store.KeySet, error) {
	if _, err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if s.keys.Version != expected {
		return nil, store.ErrConflict
	}
	s.keys = store.KeySet{Version: expected + 1, Keys: cloneKeys(keys)}
	return cloneKeySet(&s.keys), nil
}

func cloneKeySet(ks *store.KeySet) *store.KeySet {
	return &store.KeySet{Version: ks.Version, Keys: cloneKeys(ks.Keys)}
}

func cloneKeys(keys []store.SigningKey) []store.SigningKey {
	out := slices.Clone(keys)
	for i := range out {
		out[i].Private = slices.Clone(out[i].Private)
	}
	return out
}
