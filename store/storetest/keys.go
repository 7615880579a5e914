package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/google/go-cmp/cmp"
)

// RunKeys is the conformance suite of [store.Keys]: a backend's key set is
// one record changed only by compare-and-swap. open returns an empty store.
func RunKeys(t *testing.T, open func(t *testing.T) store.Keys) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	key := func(id string) store.SigningKey {
		return store.SigningKey{ID: id, Algorithm: "ES256", Private: []byte(`{"kty":"EC","d":"` + id + `"}`),
			CreatedAt: at, ActivateAt: at.Add(time.Hour)}
	}

	t.Run("EmptyThenSwap", func(t *testing.T) {
		s := open(t)
		ks, err := s.GetKeySet(ctx)
		if err != nil || ks.Version != 0 || len(ks.Keys) != 0 {
			t.Fatalf("empty store: %+v, %v", ks, err)
		}
		want := []store.SigningKey{key("a"), key("b")}
		got, err := s.SwapKeySet(ctx, 0, want)
		if err != nil || got.Version != 1 {
			t.Fatalf("SwapKeySet(0) = %+v, %v", got, err)
		}
		again, err := s.GetKeySet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&store.KeySet{Version: 1, Keys: want}, again, timeEqual); diff != "" {
			t.Errorf("stored set (-want +got):\n%s", diff)
		}
	})

	t.Run("StaleVersionConflicts", func(t *testing.T) {
		s := open(t)
		if _, err := s.SwapKeySet(ctx, 0, []store.SigningKey{key("a")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SwapKeySet(ctx, 0, []store.SigningKey{key("b")}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("swap at a stale version: %v, want ErrConflict", err)
		}
		if _, err := s.SwapKeySet(ctx, 5, []store.SigningKey{key("b")}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("swap at a future version: %v, want ErrConflict", err)
		}
		ks, _ := s.GetKeySet(ctx)
		if ks.Version != 1 || len(ks.Keys) != 1 || ks.Keys[0].ID != "a" {
			t.Fatalf("a refused swap changed the set: %+v", ks)
		}
	})

	t.Run("Copies", func(t *testing.T) {
		s := open(t)
		in := []store.SigningKey{key("a")}
		if _, err := s.SwapKeySet(ctx, 0, in); err != nil {
			t.Fatal(err)
		}
		in[0].Private[0] = 'X'
		ks, _ := s.GetKeySet(ctx)
		ks.Keys[0].ID = "changed"
		again, _ := s.GetKeySet(ctx)
		if again.Keys[0].ID != "a" || again.Keys[0].Private[0] != '{' {
			t.Fatalf("store shares memory with callers: %+v", again.Keys[0])
		}
	})

	// Several instances rotating at once: exactly one swap per version wins.
	t.Run("ConcurrentSwaps", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		wins := make(chan string, Workers)
		for i := range Workers {
			wg.Go(func() {
				id := string(rune('a' + i))
				if _, err := s.SwapKeySet(ctx, 0, []store.SigningKey{key(id)}); err == nil {
					wins <- id
				} else if !errors.Is(err, store.ErrConflict) {
					t.Errorf("worker %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		close(wins)
		var winners []string
		for id := range wins {
			winners = append(winners, id)
		}
		ks, _ := s.GetKeySet(ctx)
		if len(winners) != 1 || ks.Version != 1 || ks.Keys[0].ID != winners[0] {
			t.Fatalf("winners %v, stored %+v; want exactly one", winners, ks)
		}
	})
}

// timeEqual compares times by instant (backends may change the location).
var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
