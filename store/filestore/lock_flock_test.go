//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// holdLock takes a flock(2) lock on a descriptor of its own, the way
// another process does: the store file's lock through the turnstile (held
// until the lock is taken, so a Store of this process holding the file lets
// it go), or the turnstile file's lock alone. To the stores of this process
// that is exactly what another process holding the lock looks like. The
// lock is dropped by the returned function or at cleanup.
func holdLock(t *testing.T, path string, how int) (release func()) {
	t.Helper()
	if !strings.HasSuffix(path, ".lock") {
		ts, err := os.Open(turnstilePath(path))
		must(t, err)
		defer ts.Close()
		must(t, flock(ts, syscall.LOCK_EX))
	}
	f, err := os.Open(path)
	must(t, err)
	must(t, flock(f, how))
	var once sync.Once
	release = func() { once.Do(func() { f.Close() }) }
	t.Cleanup(release)
	return release
}

// flock takes a lock on f, waiting for it.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// wantLocked fails unless err is the lock-wait timeout for path.
func wantLocked(t *testing.T, what string, err error, path string) {
	t.Helper()
	if !errors.Is(err, ErrLocked) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("%s = %v, want ErrLocked and ErrUnavailable", what, err)
		return
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "locked by another process") {
		t.Errorf("%s: lock error %q does not name the file and the cause", what, msg)
	}
}

func TestLockTimeout(t *testing.T) {
	const timeout = 20 * time.Millisecond
	tests := []struct {
		name      string
		turnstile bool // the lock is on the turnstile file, not the store file
		how       int  // lock held by "another process"
		// readsWait and writesWait: whether reads and writes must wait.
		readsWait, writesWait bool
	}{
		{"HeldExclusive", false, syscall.LOCK_EX, true, true},
		{"HeldShared", false, syscall.LOCK_SH, false, true},
		// A writer of another process waiting for readers to finish holds
		// the turnstile: new readers wait behind it.
		{"TurnstileHeld", true, syscall.LOCK_EX, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			s := openTest(t, path, &Options{Timeout: timeout, SweepInterval: -1})
			ctx := t.Context()
			must(t, s.CreateClient(ctx, &store.Client{ID: "c"}))
			locked := path
			if tt.turnstile {
				locked = turnstilePath(path)
			}
			release := holdLock(t, locked, tt.how)

			reads := map[string]error{
				"Ping":        s.Ping(ctx),
				"GetClient":   func() error { _, err := s.GetClient(ctx, "c"); return err }(),
				"ListClients": func() error { _, err := s.ListClients(ctx); return err }(),
			}
			for name, err := range reads {
				if tt.readsWait {
					wantLocked(t, name, err, s.path)
				} else if err != nil {
					t.Errorf("%s beside a shared lock: %v", name, err)
				}
			}
			writes := map[string]error{
				"CreateClient": s.CreateClient(ctx, &store.Client{ID: "d"}),
				"DeleteClient": s.DeleteClient(ctx, "c"),
				"Open": func() error {
					s, err := Open(path, &Options{Timeout: timeout})
					if err == nil {
						s.Close()
					}
					return err
				}(),
			}
			for name, err := range writes {
				if tt.writesWait {
					wantLocked(t, name, err, s.path)
				} else if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}

			// Once the lock is gone, everything works and nothing of the
			// failed writes happened.
			release()
			clients, err := s.ListClients(ctx)
			must(t, err)
			if len(clients) != 1 || clients[0].ID != "c" {
				t.Fatalf("clients after the failed writes = %+v, want only c", clients)
			}
			must(t, s.CreateClient(ctx, &store.Client{ID: "d"}))
		})
	}
}

// TestLockWait releases the other process's lock while operations wait for
// it: they then go ahead instead of failing.
func TestLockWait(t *testing.T) {
	for _, write := range []bool{false, true} {
		t.Run("write="+strconv.FormatBool(write), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.db")
			s := openTest(t, path, &Options{Timeout: time.Minute, SweepInterval: -1})
			ctx := t.Context()
			must(t, s.CreateClient(ctx, &store.Client{ID: "c"}))
			waiting := make(chan struct{})
			s.contended = func() { close(waiting) }
			release := holdLock(t, path, syscall.LOCK_EX)

			done := make(chan error, 1)
			go func() {
				if write {
					done <- s.DeleteClient(ctx, "c")
					return
				}
				_, err := s.GetClient(ctx, "c")
				done <- err
			}()
			<-waiting
			release()
			if err := <-done; err != nil {
				t.Fatalf("operation after the lock was released: %v", err)
			}
			_, err := s.GetClient(ctx, "c")
			if write && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetClient after the waiting delete = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestLockWaitCancelled ends a wait for the lock through the context.
func TestLockWaitCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openTest(t, path, &Options{Timeout: time.Hour, SweepInterval: -1})
	ctx, cancel := context.WithCancel(t.Context())
	s.contended = cancel
	holdLock(t, path, syscall.LOCK_EX)
	err := s.CreateClient(ctx, &store.Client{ID: "c"})
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.Canceled) || errors.Is(err, ErrLocked) {
		t.Fatalf("CreateClient with the wait cancelled = %v, want ErrUnavailable wrapping context.Canceled", err)
	}
}

// TestInProcessNoContention hammers one file from two Stores of this
// process: their handles are ordered by the in-process lock, so none ever
// finds the file lock held, which would cost a retry pause.
func TestInProcessNoContention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	var waits atomic.Int64
	stores := []*Store{
		openTest(t, path, &Options{SweepInterval: -1}),
		openTest(t, filepath.Join(filepath.Dir(path), ".", "store.db"), &Options{SweepInterval: -1}),
	}
	for _, s := range stores {
		s.contended = func() { waits.Add(1) }
	}
	ctx := t.Context()
	const workers, ops = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, 3*workers*ops)
	for w := range workers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for i := range ops {
				id := "c-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				errs <- s.CreateClient(ctx, &store.Client{ID: id})
				_, err := s.GetClient(ctx, id)
				errs <- err
				_, err = s.ListClients(ctx)
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := waits.Load(); n != 0 {
		t.Fatalf("%d operations found the file locked within one process", n)
	}
	clients, err := stores[0].ListClients(ctx)
	must(t, err)
	if len(clients) != workers*ops {
		t.Fatalf("%d clients, want %d", len(clients), workers*ops)
	}
}

// TestYieldsToWaitingProcess keeps a Store busy reading from several
// goroutines while "another process" asks for the store file through the
// turnstile: the Store lets the file go although it never pauses, its
// reads wait (rather than fail) while the other holds it, and go on once
// it lets go.
func TestYieldsToWaitingProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openTest(t, path, &Options{SweepInterval: -1, Timeout: time.Minute})
	ctx := t.Context()
	must(t, s.CreateClient(ctx, &store.Client{ID: "c"}))
	var (
		reads atomic.Int64
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.GetClient(ctx, "c"); err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		})
	}
	for reads.Load() < 100 {
		runtime.Gosched()
	}
	held := make(chan func())
	go func() { held <- holdLock(t, path, syscall.LOCK_EX) }()
	var release func()
	select {
	case release = <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the busy Store did not let the file go to a waiting process")
	}
	during := reads.Load()
	release()
	for reads.Load() < during+100 {
		runtime.Gosched()
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("read beside the other process: %v", err)
	}
}

// TestIdleKeepsFileWithoutWaiter: a process whose operations pause for
// longer than idleRelease keeps its handle while no other process asks for
// the file (reopening it at every pause of a busy server cost 20–100 ms
// tails), closes it after idleClose without an operation, and lets it go
// within idleRelease of another process asking (TestLockWait). The clock
// is synctest's: the waits below take no real time.
func TestIdleKeepsFileWithoutWaiter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	synctest.Test(t, func(t *testing.T) {
		s, err := Open(path, &Options{SweepInterval: -1})
		must(t, err)
		defer s.Close()
		ctx := context.Background()
		handle := func() *handle {
			s.locks.mu.Lock()
			defer s.locks.mu.Unlock()
			return s.locks.h
		}
		must(t, s.CreateClient(ctx, &store.Client{ID: "c"}))
		first := handle()
		if first == nil {
			t.Fatal("no shared handle after an operation")
		}
		for range 3 {
			time.Sleep(50 * idleRelease)
			synctest.Wait()
			if _, err := s.GetClient(ctx, "c"); err != nil {
				t.Fatal(err)
			}
			if h := handle(); h != first {
				t.Fatalf("after a pause of %v with no process waiting the file was reopened", 50*idleRelease)
			}
		}
		time.Sleep(idleClose + idleRelease)
		synctest.Wait()
		if handle() != nil {
			t.Fatalf("the handle is still open after %v without an operation", idleClose+idleRelease)
		}
		if _, err := s.GetClient(ctx, "c"); err != nil {
			t.Fatal(err)
		}
	})
}
