package session

import (
	"errors"
	"net/http"
	"sync"
)

// errAborted is returned by writes after commitWriter answered the request
// with an error of its own.
var errAborted = errors.New("session: response replaced by an error")

// commitWriter runs commit once, just before the first byte (or status) of
// the response leaves, so that what the request changed is stored before the
// client can act on the answer: a client that reads its initialize result
// and sends the next request to another instance finds the session there.
//
// commit gets the response's status code; a refused request (4xx, 5xx)
// must change nothing. When commit fails, the response becomes 503 and later
// writes fail, which the transport treats as a client that went away.
type commitWriter struct {
	w      http.ResponseWriter
	commit func(status int) error

	mu      sync.Mutex
	done    bool
	aborted bool
}

// Unwrap lets http.ResponseController reach the connection.
func (c *commitWriter) Unwrap() http.ResponseWriter { return c.w }

func (c *commitWriter) Header() http.Header { return c.w.Header() }

// begin runs commit on the first call, for a response of status, and
// reports whether the response may go on.
func (c *commitWriter) begin(status int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		c.done = true
		if err := c.commit(status); err != nil {
			c.aborted = true
			h := c.w.Header()
			for k := range h {
				delete(h, k)
			}
			unavailable(c.w)
		}
	}
	return !c.aborted
}

func (c *commitWriter) WriteHeader(code int) {
	if c.begin(code) {
		c.w.WriteHeader(code)
	}
}

func (c *commitWriter) Write(p []byte) (int, error) {
	if !c.begin(http.StatusOK) {
		return 0, errAborted
	}
	return c.w.Write(p)
}

// Flush implements http.Flusher.
func (c *commitWriter) Flush() {
	if c.begin(http.StatusOK) {
		_ = http.NewResponseController(c.w).Flush()
	}
}

// discardWriter is the response writer of the handler's own requests to a
// transport.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header {
	if d.h == nil {
		d.h = make(http.Header)
	}
	return d.h
}
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// shuttingDown answers 503 after Handler.Close.
func shuttingDown(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "Service Unavailable: shutting down", http.StatusServiceUnavailable)
}

// unavailable answers 503: the session store could not be reached, so the
// request cannot be checked or its effect recorded.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	http.Error(w, "Service Unavailable: session store unavailable", http.StatusServiceUnavailable)
}
