//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package filestore

import "os"

// turnstiles: without flock(2) a process cannot see another waiting.
const turnstiles = false

// tryLock leaves locking to bbolt on systems without flock(2): bbolt then
// waits for the lock itself, polling, up to the store's timeout.
func tryLock(*os.File, bool) (bool, error) { return true, nil }

// unlockFile leaves unlocking to bbolt, which unlocks when it closes.
func unlockFile(*os.File) {}
