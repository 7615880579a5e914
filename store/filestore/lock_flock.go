//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package filestore

import (
	"errors"
	"os"
	"syscall"
)

// turnstiles: a process sees another waiting for the file (othersWaiting).
const turnstiles = true

// tryLock takes the flock(2) lock of f without waiting: shared, or exclusive
// when write is set. It reports false with a nil error when another open file
// description holds a conflicting lock. bbolt then locks the same descriptor
// again, which succeeds at once.
func tryLock(f *os.File, write bool) (bool, error) {
	how := syscall.LOCK_SH
	if write {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

// unlockFile drops the flock(2) lock of f. Closing f would drop it too, but
// only once no other descriptor shares the open file description, and a
// child process being started shares all of them until it execs.
func unlockFile(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
