package filestore

import (
	"errors"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// maxBatch bounds the writes one commit carries, and so the size of its
// transaction.
const maxBatch = 128

// committer commits the writes of concurrent operations together (group
// commit): each commit costs an fsync or two whatever it carries, so
// writers that arrive while one commit is running share the next one
// instead of each waiting for a commit of its own. A lone writer commits at
// once; nothing waits for a batch to fill.
//
// One writer at a time leads: it takes the writes queued so far (its own
// first among them) and runs them in one transaction, then hands the lead
// to the first writer queued meanwhile. A writer that finds no other
// queued yields the processor once before it commits, which costs a lone
// writer nothing and lets the writers of a busy process join its commit. If a write fails (a rule error that
// rolls back, or errNoChange) the whole transaction is rolled back, the
// failed write runs again alone and the others again together, as bbolt's
// DB.Batch does; so a write function must be safe to run more than once,
// resetting what it reports at its start.
type committer struct {
	mu      sync.Mutex
	queue   []*commitCall
	leading bool // a writer is leading; the others wait in queue
}

// commitCall is one queued write.
type commitCall struct {
	fn   func(*bolt.Tx) error
	done chan error // its outcome, or errLead, or errSolo; buffered
}

var (
	// errLead hands the lead to a queued writer.
	errLead = errors.New("filestore: lead the next commit")
	// errSolo tells a writer that failed in a batch to run alone.
	errSolo = errors.New("filestore: commit alone")
)

// update runs fn in a read-write transaction of db, committed together
// with the writes of other operations that arrive meanwhile. fn's error,
// if any, is returned and its changes rolled back.
func (c *committer) update(db *bolt.DB, fn func(*bolt.Tx) error) error {
	call := &commitCall{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, call)
	if c.leading {
		c.mu.Unlock()
		if err := <-call.done; err != errLead {
			return finish(db, call, err)
		}
		c.mu.Lock()
	} else {
		c.leading = true
		if len(c.queue) == 1 {
			// Alone: let writers that are running reach the queue
			// first. On a busy processor the commit's fsync would
			// otherwise hand it to them one at a time, and leave
			// its leader waiting behind them, in batches of one.
			c.mu.Unlock()
			runtime.Gosched()
			c.mu.Lock()
		}
	}
	// Lead: the queue starts with this call.
	n := min(len(c.queue), maxBatch)
	batch := make([]*commitCall, n)
	copy(batch, c.queue)
	c.queue = append(c.queue[:0:0], c.queue[n:]...)
	c.mu.Unlock()

	runBatch(db, batch)

	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].done <- errLead
	} else {
		c.leading = false
	}
	c.mu.Unlock()
	return finish(db, call, <-call.done)
}

// finish returns a write's outcome, running it alone first if its batch
// said so.
func finish(db *bolt.DB, call *commitCall, err error) error {
	if err == errSolo {
		return db.Update(call.fn)
	}
	return err
}

// runBatch commits calls in one transaction and tells each its outcome.
func runBatch(db *bolt.DB, calls []*commitCall) {
	if len(calls) == 1 {
		calls[0].done <- db.Update(calls[0].fn)
		return
	}
	for len(calls) > 0 {
		failed := -1
		err := db.Update(func(tx *bolt.Tx) error {
			for i, call := range calls {
				if err := call.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, call := range calls {
				call.done <- err
			}
			return
		}
		calls[failed].done <- errSolo
		calls = append(calls[:failed:failed], calls[failed+1:]...)
	}
}
