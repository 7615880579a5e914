package filestore

import (
	"errors"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCommitterBatches runs writes from many goroutines through one
// committer, every third failing after it has written: each successful
// write is committed exactly once, nothing of a failed one is, and each
// writer gets its own outcome.
func TestCommitterBatches(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, nil)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	must(t, db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("b"))
		return err
	}))
	var (
		c       committer
		commits int
		mu      sync.Mutex
	)
	errRule := errors.New("rule")
	const writers = 64
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = c.update(db, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("b"))
				// A counter per key: a write that ran twice in committed
				// transactions would show 2.
				k := []byte(strconv.Itoa(i))
				n := 0
				if v := b.Get(k); v != nil {
					n, _ = strconv.Atoi(string(v))
				}
				if err := b.Put(k, []byte(strconv.Itoa(n+1))); err != nil {
					return err
				}
				if i%3 == 0 {
					return errRule
				}
				tx.OnCommit(func() {
					mu.Lock()
					commits++
					mu.Unlock()
				})
				return nil
			})
		})
	}
	wg.Wait()
	must(t, db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for i := range writers {
			v := b.Get([]byte(strconv.Itoa(i)))
			switch {
			case i%3 == 0:
				if !errors.Is(errs[i], errRule) {
					t.Errorf("writer %d: %v, want its own error", i, errs[i])
				}
				if v != nil {
					t.Errorf("writer %d failed, yet its write is stored (%s)", i, v)
				}
			case errs[i] != nil:
				t.Errorf("writer %d: %v", i, errs[i])
			case string(v) != "1":
				t.Errorf("writer %d: stored %q, want 1", i, v)
			}
		}
		return nil
	}))
	// OnCommit runs once per committed transaction for each write in it;
	// the count is the successful writes whatever the batching was.
	if want := writers - (writers+2)/3; commits != want {
		t.Errorf("%d committed writes, want %d", commits, want)
	}
}

// TestCommitterGroupsWaitingWriters: writers that arrive while a commit runs
// share the next one.
func TestCommitterGroupsWaitingWriters(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, nil)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	var (
		c       committer
		mu      sync.Mutex
		commits = map[*bolt.Tx]int{} // writes per committed transaction
	)
	write := func(name string, wait chan struct{}) error {
		return c.update(db, func(tx *bolt.Tx) error {
			if wait != nil {
				<-wait
			}
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			tx.OnCommit(func() {
				mu.Lock()
				commits[tx]++
				mu.Unlock()
			})
			return b.Put([]byte(name), nil)
		})
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := write("leader", release); err != nil {
			t.Error(err)
		}
	})
	// The leader's transaction has started: nothing else is queued.
	for queued(&c) != 0 || !leading(&c) {
		runtime.Gosched()
	}
	const followers = 10
	for i := range followers {
		wg.Go(func() {
			if err := write("follower-"+strconv.Itoa(i), nil); err != nil {
				t.Error(err)
			}
		})
	}
	for queued(&c) != followers {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	var sizes []int
	for _, n := range commits {
		sizes = append(sizes, n)
	}
	if len(sizes) != 2 || sizes[0]+sizes[1] != 1+followers || (sizes[0] != 1 && sizes[1] != 1) {
		t.Fatalf("writes per commit %v, want the leader's alone and then the %d followers' together", sizes, followers)
	}
}

func queued(c *committer) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

func leading(c *committer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leading
}
