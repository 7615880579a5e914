package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/frontmcp-go/frontmcp/store"
)

// Bounds of the pause between two attempts to take a file lock that another
// process holds. A process lets the lock go as soon as it sees a waiter
// (see the package doc), so the first retries come quickly; the pause then
// doubles up to maxLockPause.
const (
	minLockPause = 100 * time.Microsecond
	maxLockPause = 2 * time.Millisecond
)

// idleRelease is how long the shared handle of a store file stays open
// without an operation while another process waits for the file (holds
// the turnstile): the longest a process waits for another that has gone
// quiet. The holder checks for waiters that often while it is quiet.
const idleRelease = 2 * time.Millisecond

// idleClose is how long the shared handle stays open without an operation
// when no other process asks for the file. Closing it at every short pause
// of a busy server cost a reopen each time (of the file, its memory map and
// bbolt's free list) and held up every operation meanwhile: 20–100 ms
// tails, twice a second, under steady MCP load. A process quiet this long
// closes the file anyway, so a process that comes later finds it free.
const idleClose = time.Second

// busyCheck is how often a process using the file looks whether it has gone
// quiet. The check itself is cheap, but its timer is not: checking every
// idleRelease under load (500 wake-ups a second between requests, on one
// CPU) stretched the p99 of MCP calls on the file store at c=16 to ~25 ms
// with a p50 of 1.5 ms; every 20 ms, to ~17 ms; every 100–200 ms it is
// ~11–14 ms, the memory store's shape. A process that has just gone quiet
// thus keeps a waiting process up to busyCheck + idleRelease; a process
// in use lets the file go at its next operation.
const busyCheck = 100 * time.Millisecond

// fileLocks holds the shared state of each store file this process uses,
// shared by every Store of this process open on that file. A file lock
// (flock(2)) belongs to an open file description, so two handles of one
// process conflict just as two processes do: all Stores of a file therefore
// share one handle, and the file locks are contended only by other
// processes.
var fileLocks = struct {
	sync.Mutex
	m map[string]*fileLock
}{m: make(map[string]*fileLock)}

// fileLock is this process's state of one store file: its shared handle
// while open, and the locks that order opening it.
type fileLock struct {
	path string
	// entry is held (a value sent) by the one operation of this process
	// that is opening the store file (or reading it without the shared
	// handle); a channel, so that waiting can time out.
	entry chan struct{}
	// turnstile is this process's descriptor of the turnstile file, which
	// only the holder of entry locks; probe is a second one that
	// operations on the shared handle lock shared for an instant to see
	// whether another process waits (holds the turnstile).
	turnstile, probe *os.File
	refs             int // Stores using the entry; guarded by fileLocks

	mu       sync.Mutex
	h        *handle // the shared handle; nil while closed
	users    int     // operations using h
	retiring bool    // h takes no new operations and closes once unused
	lastUse  time.Time
}

// handle is an open, exclusively locked store file shared by the
// operations of this process. Its cached state (bbolt's meta page and
// free list, the memory map) is valid only while the exclusive lock is
// held without a break; it is closed, never reused, once let go.
type handle struct {
	db      *bolt.DB
	f       *os.File
	fi      os.FileInfo // identity of the opened file
	commits committer
	closed  chan struct{} // closed when h is closed
}

// turnstilePath names the turnstile file of the store file at path.
func turnstilePath(path string) string { return path + ".lock" }

// acquireFileLock returns this process's state of the store file at path
// (a cleaned absolute path), registering the caller as a user. The first
// user opens the turnstile file, creating it with mode 0600.
func acquireFileLock(path string) (*fileLock, error) {
	fileLocks.Lock()
	defer fileLocks.Unlock()
	l := fileLocks.m[path]
	if l == nil {
		f, err := os.OpenFile(turnstilePath(path), os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%w: filestore: open lock file: %w", store.ErrUnavailable, err)
		}
		probe, err := os.Open(turnstilePath(path))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: filestore: open lock file: %w", store.ErrUnavailable, err)
		}
		l = &fileLock{path: path, entry: make(chan struct{}, 1), turnstile: f, probe: probe}
		fileLocks.m[path] = l
	}
	l.refs++
	return l, nil
}

// releaseFileLock drops a use of the state of path and, after the last
// one (when no operation can be running), closes the shared handle and the
// turnstile descriptors.
func releaseFileLock(path string, l *fileLock) {
	fileLocks.Lock()
	defer fileLocks.Unlock()
	l.refs--
	if l.refs > 0 {
		return
	}
	l.mu.Lock()
	h := l.h
	if h != nil {
		l.detach()
	}
	l.mu.Unlock()
	if h != nil {
		h.db.Close()
	}
	l.turnstile.Close()
	l.probe.Close()
	delete(fileLocks.m, path)
}

// detach takes the shared handle out of use and lets the file lock go; the
// caller closes h.db after unlocking l.mu. Called with l.mu held and no
// users left.
func (l *fileLock) detach() {
	h := l.h
	l.h, l.retiring = nil, false
	// Let other processes in now; closing unmaps without writing.
	unlockFile(h.f)
	close(h.closed)
}

// done ends an operation's use of h. The last user of a retiring handle
// closes it.
func (l *fileLock) done(h *handle) {
	l.mu.Lock()
	l.users--
	l.lastUse = time.Now()
	closeIt := l.users == 0 && l.retiring && l.h == h
	if closeIt {
		l.detach()
	}
	l.mu.Unlock()
	if closeIt {
		h.db.Close()
	}
}

// retire stops h taking new operations (another process waits, or the
// file was replaced) and closes it once its operations are done.
func (l *fileLock) retire(h *handle) {
	l.mu.Lock()
	closeIt := false
	if l.h == h {
		l.retiring = true
		closeIt = l.users == 0
		if closeIt {
			l.detach()
		}
	}
	l.mu.Unlock()
	if closeIt {
		h.db.Close()
	}
}

// watch closes h once no operation has used it for idleRelease while
// another process waits for the file, or for idleClose in any case, so that
// a process that has gone quiet does not keep others waiting. Without
// turnstiles (systems without flock(2)) it cannot see waiters and closes
// after idleRelease.
func (l *fileLock) watch(h *handle) {
	t := time.NewTimer(idleRelease)
	defer t.Stop()
	for {
		select {
		case <-h.closed:
			return
		case <-t.C:
		}
		l.mu.Lock()
		if l.h != h {
			l.mu.Unlock()
			return
		}
		wait := busyCheck
		if idle := time.Since(l.lastUse); l.users == 0 && idle >= idleRelease {
			if !turnstiles || idle >= idleClose || l.othersWaiting() {
				l.detach()
				l.mu.Unlock()
				h.db.Close()
				return
			}
			wait = idleRelease
		}
		t.Reset(wait)
		l.mu.Unlock()
	}
}

// othersWaiting reports whether another process holds the turnstile: it
// waits for the store file, which this process's shared handle keeps
// locked.
func (l *fileLock) othersWaiting() bool {
	ok, err := tryLock(l.probe, false)
	if err != nil || !ok {
		return true
	}
	unlockFile(l.probe)
	return false
}

// replaced reports an error if the store file is no longer the file h
// has open: removed (the error wraps fs.ErrNotExist) or replaced by another.
func (l *fileLock) replaced(h *handle) error {
	fi, err := os.Stat(l.path)
	if err != nil {
		return err
	}
	if !os.SameFile(fi, h.fi) {
		return errReplaced
	}
	return nil
}

// errReplaced: the store file was replaced while open.
var errReplaced = errors.New("the store file was replaced")

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

// use is one operation's access to the store file: the shared handle, or,
// for a read while another process holds a shared lock, a read-only handle
// of its own.
type use struct {
	db     *bolt.DB
	shared *handle // nil for a handle of its own
	done   func()
	// entry: the operation keeps this process's turn at the turnstile
	// until done (a handle of its own, which the shared one must not
	// meet).
	entry bool
}

// acquire gives an operation the store file: the shared handle, opened
// first if needed. create lets Open create a missing file; operations never
// do, so a removed file is an error rather than an empty store.
//
// An operation arriving while the handle is open checks first that no
// other process waits at the turnstile and that the file is still the one
// opened; if either fails the handle retires, and the operation opens the
// file anew: its turn at the turnstile (entry), the turnstile file's
// exclusive lock, then the store file's exclusive lock (for a read, a
// shared one will do when another process holds one: the read then runs on
// a read-only handle of its own). Operations that waited that way use the
// handle without the check, so each process makes progress on every turn.
// While another process holds a lock it needs, acquire retries after a
// pause that grows from minLockPause to maxLockPause. It waits at most the
// store's timeout in all; ctx ends the wait early.
func (s *Store) acquire(ctx context.Context, write, create bool) (use, error) {
	l := s.locks
	w := lockWait{s: s, ctx: ctx, pause: minLockPause}
	defer w.stop()
	waited := false
	for {
		l.mu.Lock()
		if h := l.h; h != nil && !l.retiring {
			l.users++
			l.mu.Unlock()
			err := l.replaced(h)
			if err == nil && (waited || !l.othersWaiting()) {
				return use{db: h.db, shared: h, done: func() { l.done(h) }}, nil
			}
			l.done(h)
			l.retire(h)
			if err != nil && !errors.Is(err, errReplaced) && !errors.Is(err, fs.ErrNotExist) {
				return use{}, fmt.Errorf("%w: filestore: %s: %w", store.ErrUnavailable, l.path, err)
			}
		} else {
			l.mu.Unlock()
		}
		waited = true
		if err := w.enter(l.entry); err != nil {
			return use{}, err
		}
		u, again, err := s.open(&w, write, create)
		if !u.entry {
			<-l.entry
		}
		if err != nil {
			return use{}, err
		}
		if !again {
			return u, nil
		}
	}
}

// open opens the store file for acquire, holding entry. again means the
// shared handle is (or is about to be) open: acquire should use it.
func (s *Store) open(w *lockWait, write, create bool) (u use, again bool, err error) {
	l := s.locks
	l.mu.Lock()
	h, retiring := l.h, l.retiring
	l.mu.Unlock()
	if h != nil && !retiring {
		return use{}, true, nil
	}
	if h != nil {
		// Its last operations are finishing; it closes after them.
		if err := w.waitFor(h.closed); err != nil {
			return use{}, false, err
		}
	}
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(s.path, flag, 0o600)
	if !write && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		// A file this process may only read: a read of its own.
		f, err = os.Open(s.path)
		if err == nil {
			return s.openReader(w, f)
		}
	}
	if err != nil {
		return use{}, false, fmt.Errorf("%w: filestore: open %s: %w", store.ErrUnavailable, s.path, err)
	}
	if err := w.poll(l.turnstile, true); err != nil {
		f.Close()
		return use{}, false, err
	}
	exclusive, err := w.pollData(f, write)
	unlockFile(l.turnstile)
	if err != nil {
		f.Close()
		return use{}, false, err
	}
	if !exclusive {
		return s.readOnly(f)
	}
	// bbolt locks the file it is given again, which succeeds at once as
	// this descriptor holds the lock; on failure it closes f.
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{
		Timeout:      s.timeout,
		NoStatistics: true,
		OpenFile:     func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
	if err != nil {
		// bbolt has closed f, which let its lock go.
		if errors.Is(err, bolt.ErrTimeout) {
			return use{}, false, &lockedError{path: s.path, wait: s.timeout}
		}
		return use{}, false, fmt.Errorf("%w: filestore: open %s: %w", store.ErrUnavailable, s.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		unlockFile(f)
		db.Close()
		return use{}, false, fmt.Errorf("%w: filestore: open %s: %w", store.ErrUnavailable, s.path, err)
	}
	h = &handle{db: db, f: f, fi: fi, closed: make(chan struct{})}
	l.mu.Lock()
	l.h, l.retiring = h, false
	l.users++
	l.mu.Unlock()
	go l.watch(h)
	return use{db: db, shared: h, done: func() { l.done(h) }}, false, nil
}

// openReader locks f, a file this process may only read, shared for one
// read.
func (s *Store) openReader(w *lockWait, f *os.File) (use, bool, error) {
	l := s.locks
	if err := w.poll(l.turnstile, true); err != nil {
		f.Close()
		return use{}, false, err
	}
	err := w.poll(f, false)
	unlockFile(l.turnstile)
	if err != nil {
		f.Close()
		return use{}, false, err
	}
	return s.readOnly(f)
}

// readOnly opens a read-only handle of its own on f, which holds a shared
// lock, for one read. The operation keeps entry until the read is done, so
// the shared handle cannot open meanwhile.
func (s *Store) readOnly(f *os.File) (use, bool, error) {
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{
		ReadOnly:     true,
		Timeout:      s.timeout,
		NoStatistics: true,
		OpenFile:     func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
	if err != nil {
		// bbolt has closed f, which let its lock go.
		if errors.Is(err, bolt.ErrTimeout) {
			return use{}, false, &lockedError{path: s.path, wait: s.timeout}
		}
		return use{}, false, fmt.Errorf("%w: filestore: open %s: %w", store.ErrUnavailable, s.path, err)
	}
	l := s.locks
	return use{db: db, entry: true, done: func() {
		unlockFile(f)
		db.Close()
		<-l.entry
	}}, false, nil
}

// lockWait is the waiting of one acquire call; its deadline starts when it
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

// arm sets the wait's one timer to fire after d.
func (w *lockWait) arm(d time.Duration) <-chan time.Time {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	return w.timer.C
}

// wait blocks for d or until the context ends.
func (w *lockWait) wait(d time.Duration) error {
	select {
	case <-w.ctx.Done():
		return w.canceled()
	case <-w.arm(d):
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
	expired := w.arm(left)
	select {
	case entry <- struct{}{}:
		return nil
	case <-w.ctx.Done():
		return w.canceled()
	case <-expired:
		return w.timedOut()
	}
}

// waitFor waits until ch is closed: the retiring shared handle has closed.
// Its last operations are running, so this is short.
func (w *lockWait) waitFor(ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	default:
	}
	left := w.begin()
	if left <= 0 {
		return w.timedOut()
	}
	expired := w.arm(left)
	select {
	case <-ch:
		return nil
	case <-w.ctx.Done():
		return w.canceled()
	case <-expired:
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
		if err := w.retry(); err != nil {
			return err
		}
	}
}

// pollData takes the store file's lock: exclusive, or for a read (write
// false) shared when another process holds it shared. It reports which.
func (w *lockWait) pollData(f *os.File, write bool) (exclusive bool, err error) {
	for {
		ok, err := tryLock(f, true)
		if err == nil && !ok && !write {
			ok, err = tryLock(f, false)
			if ok {
				return false, nil
			}
		}
		if err != nil {
			return false, fmt.Errorf("%w: filestore: lock %s: %w", store.ErrUnavailable, f.Name(), err)
		}
		if ok {
			return true, nil
		}
		if err := w.retry(); err != nil {
			return false, err
		}
	}
}

// retry waits before the next attempt at a lock another process holds.
func (w *lockWait) retry() error {
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
	return nil
}
