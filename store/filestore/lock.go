package filestore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// Bounds of the pause between two attempts to take a file lock that another
// process holds. Locks are held for one transaction (about the time of one
// fsync), so the first retries come quickly; the pause then doubles up to
// maxLockPause.
const (
	minLockPause = 100 * time.Microsecond
	maxLockPause = 2 * time.Millisecond
)

// fileLocks holds the in-process locks of each store file, shared by every
// Store of this process open on that file. A file lock (flock(2)) belongs to
// an open file description, so two handles of one process conflict just as
// two processes do; taking the in-process locks first means the file locks
// are contended only by other processes, while the readers of one process
// still share.
var fileLocks = struct {
	sync.Mutex
	m map[string]*fileLock
}{m: make(map[string]*fileLock)}

// fileLock holds this process's locks of one store file.
type fileLock struct {
	// entry is held (a value sent) by the one operation of this process that
	// is passing the turnstile; a channel, so that waiting can time out.
	entry chan struct{}
	// turnstile is this process's descriptor of the turnstile file; only
	// the holder of entry uses it.
	turnstile *os.File
	// rw orders this process's handles on the data file: readers share it,
	// a writer holds it alone.
	rw   sync.RWMutex
	refs int // Stores using the entry; guarded by fileLocks
}

// turnstilePath names the turnstile file of the store file at path.
func turnstilePath(path string) string { return path + ".lock" }

// acquireFileLock returns the in-process locks of the store file at path (a
// cleaned absolute path), registering the caller as a user. The first user
// opens the turnstile file, creating it with mode 0600.
func acquireFileLock(path string) (*fileLock, error) {
	fileLocks.Lock()
	defer fileLocks.Unlock()
	l := fileLocks.m[path]
	if l == nil {
		f, err := os.OpenFile(turnstilePath(path), os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%w: filestore: open lock file: %w", store.ErrUnavailable, err)
		}
		l = &fileLock{entry: make(chan struct{}, 1), turnstile: f}
		fileLocks.m[path] = l
	}
	l.refs++
	return l, nil
}

// releaseFileLock drops a use of the locks of path and closes them after
// the last one.
func releaseFileLock(path string, l *fileLock) {
	fileLocks.Lock()
	defer fileLocks.Unlock()
	l.refs--
	if l.refs == 0 {
		l.turnstile.Close()
		delete(fileLocks.m, path)
	}
}

// lockedError is the error an operation (or Open) returns when it waited the
// whole timeout for the file lock.
type lockedError struct {
	path string
	wait time.Duration
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("filestore: store file %s is locked by another process (waited %s)", e.path, e.wait)
}

func (e *lockedError) Is(target error) bool {
	return target == ErrLocked || target == store.ErrUnavailable
}

// lockFile opens the store file and locks it for one transaction: shared for
// a read, exclusive for a write. It returns holding both this process's lock
// on its handles and the file lock; the caller closes the file (after
// unlockFile) and then calls unlock.
//
// The steps, each after the one before: this process's turn at the
// turnstile (entry), the turnstile file's exclusive lock, this process's
// read-write lock, the store file's lock; the first two are let go before
// lockFile returns (see the package doc). While another process holds a lock
// it needs, lockFile retries after a pause that grows from minLockPause to
// maxLockPause. It waits at most the store's timeout in all, including its
// wait for its turn at the turnstile; ctx ends the wait early.
func (s *Store) lockFile(ctx context.Context, write, create bool) (f *os.File, unlock func(), err error) {
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
		if create {
			flag |= os.O_CREATE
		}
	}
	f, err = os.OpenFile(s.path, flag, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: filestore: open %s: %w", store.ErrUnavailable, s.path, err)
	}
	w := lockWait{s: s, ctx: ctx, pause: minLockPause}
	defer w.stop()
	l := s.locks
	if err := w.enter(l.entry); err != nil {
		f.Close()
		return nil, nil, err
	}
	defer func() { <-l.entry }()
	if err := w.poll(l.turnstile, true); err != nil {
		f.Close()
		return nil, nil, err
	}
	defer unlockFile(l.turnstile)
	lock, unlock := l.rw.RLock, l.rw.RUnlock
	if write {
		lock, unlock = l.rw.Lock, l.rw.Unlock
	}
	lock()
	if err := w.poll(f, write); err != nil {
		unlock()
		f.Close()
		return nil, nil, err
	}
	return f, unlock, nil
}

// lockWait is the waiting of one lockFile call; its deadline starts when it
// first has to wait.
type lockWait struct {
	s        *Store
	ctx      context.Context
	deadline time.Time
	timer    *time.Timer
	pause    time.Duration
	reported bool // s.contended has been called
}

// begin starts the deadline and reports how long is left.
func (w *lockWait) begin() time.Duration {
	now := time.Now()
	if w.deadline.IsZero() {
		w.deadline = now.Add(w.s.timeout)
	}
	return w.deadline.Sub(now)
}

// wait blocks for d or until the context ends.
func (w *lockWait) wait(d time.Duration) error {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	select {
	case <-w.ctx.Done():
		return w.canceled()
	case <-w.timer.C:
		return nil
	}
}

func (w *lockWait) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *lockWait) canceled() error {
	return fmt.Errorf("%w: filestore: waiting for the lock on %s: %w", store.ErrUnavailable, w.s.path, w.ctx.Err())
}

func (w *lockWait) timedOut() error { return &lockedError{path: w.s.path, wait: w.s.timeout} }

// enter takes this process's turn at the turnstile. Its holder waits only
// for other processes, so a wait here that times out is one for them too.
func (w *lockWait) enter(entry chan struct{}) error {
	select {
	case entry <- struct{}{}:
		return nil
	default:
	}
	left := w.begin()
	if left <= 0 {
		return w.timedOut()
	}
	if w.timer == nil {
		w.timer = time.NewTimer(left)
	} else {
		w.timer.Reset(left)
	}
	select {
	case entry <- struct{}{}:
		return nil
	case <-w.ctx.Done():
		return w.canceled()
	case <-w.timer.C:
		return w.timedOut()
	}
}

// poll takes the flock(2) lock of f, retrying while another process holds a
// conflicting one.
func (w *lockWait) poll(f *os.File, exclusive bool) error {
	for {
		ok, err := tryLock(f, exclusive)
		if err != nil {
			return fmt.Errorf("%w: filestore: lock %s: %w", store.ErrUnavailable, f.Name(), err)
		}
		if ok {
			return nil
		}
		left := w.begin()
		if !w.reported {
			w.reported = true
			if w.s.contended != nil {
				w.s.contended()
			}
		}
		if left <= 0 {
			return w.timedOut()
		}
		// Jitter keeps waiters of several processes from retrying in step.
		if err := w.wait(min(w.pause/2+rand.N(w.pause/2+1), left)); err != nil {
			return err
		}
		w.pause = min(2*w.pause, maxLockPause)
	}
}
