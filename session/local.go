package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/frontmcp-go/frontmcp/store"
)

// local is this instance's copy of a session: a go-sdk transport connected
// to the server with the session's state. It lives while requests use it and
// for an idle timeout after, then closes; the record in the store stays.
type local struct {
	id        string
	key       string // store key
	ss        *mcp.ServerSession
	transport *mcp.StreamableServerTransport

	// Guarded by Handler.mu.
	refs  int           // requests (POST and GET) in progress
	timer *time.Timer   // closes the copy once idle; nil while refs > 0
	stop  chan struct{} // stops the keeper; nil while refs == 0
	gone  bool          // removed from Handler.sessions

	mu    sync.Mutex // orders log level changes
	level mcp.LoggingLevel
}

func (l *local) setLevel(level mcp.LoggingLevel) {
	l.mu.Lock()
	l.level = level
	l.mu.Unlock()
}

// enter returns the local copy of session id for a request, resuming the
// session from rec when this instance has none, and counts the request in.
// The caller must call leave. It answers the request itself and reports
// false when it cannot go on.
func (h *Handler) enter(w http.ResponseWriter, r *http.Request, id string, rec *store.Session) (*local, bool) {
	if err := h.touched(r.Context(), rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			h.forget(id)
			http.Error(w, "Not Found: session not found", http.StatusNotFound)
		} else {
			h.log.Warn("MCP session store unavailable", "session", fingerprint(rec.ID), "err", err)
			unavailable(w)
		}
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		shuttingDown(w)
		return nil, false
	}
	l := h.sessions[id]
	if l == nil {
		st := stateOf(rec)
		transport := &mcp.StreamableServerTransport{SessionID: id}
		// As go-sdk does for a new session, the request's context carries
		// middleware values into the connection, which detaches from its
		// cancellation.
		ss, err := h.server.Connect(r.Context(), transport, &mcp.ServerSessionOptions{State: &st.ServerSessionState})
		if err != nil {
			h.log.Error("MCP session: resume failed", "session", fingerprint(rec.ID), "err", err)
			http.Error(w, "failed connection", http.StatusInternalServerError)
			return nil, false
		}
		l = &local{id: id, key: rec.ID, ss: ss, transport: transport, level: st.LogLevel}
		h.sessions[id] = l
		go h.watch(l)
	}
	h.in(l)
	return l, true
}

// adopt registers a new session's local copy, counted in for the request
// that creates it; no keeper runs for that request, as the session has no
// record yet. False after Close.
func (h *Handler) adopt(l *local) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.sessions[l.id] = l
	go h.watch(l)
	l.refs = 1
	return true
}

// in counts a request in: the idle timer stops, and the first request
// starts the keeper. Called with h.mu held.
func (h *Handler) in(l *local) {
	l.refs++
	if l.refs > 1 {
		return
	}
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.stop = make(chan struct{})
	go h.keep(l, l.stop)
}

// leave counts a request out; after the last one the idle timer starts.
func (h *Handler) leave(l *local) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l.refs--
	if l.refs > 0 || l.gone {
		return
	}
	if l.stop != nil {
		close(l.stop)
		l.stop = nil
	}
	l.timer = time.AfterFunc(h.idle, func() { h.expire(l) })
}

// expire closes a copy that stayed unused for the idle timeout.
func (h *Handler) expire(l *local) {
	h.mu.Lock()
	if l.refs > 0 || l.gone {
		h.mu.Unlock()
		return
	}
	h.dropLocked(l)
	h.mu.Unlock()
	l.ss.Close()
}

// drop removes l from the local copies (idempotent).
func (h *Handler) drop(l *local) {
	h.mu.Lock()
	h.dropLocked(l)
	h.mu.Unlock()
}

func (h *Handler) dropLocked(l *local) {
	if l.gone {
		return
	}
	l.gone = true
	if h.sessions[l.id] == l {
		delete(h.sessions, l.id)
	}
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if l.stop != nil {
		close(l.stop)
		l.stop = nil
	}
}

// forget closes this instance's copy of session id, if any: the session
// ended, here or elsewhere.
func (h *Handler) forget(id string) {
	h.mu.Lock()
	l := h.sessions[id]
	if l != nil {
		h.dropLocked(l)
	}
	h.mu.Unlock()
	if l != nil {
		l.ss.Close()
	}
}

// watch drops l once its session closes, whatever closed it.
func (h *Handler) watch(l *local) {
	_ = l.ss.Wait()
	h.drop(l)
}

// keep runs while requests use l: every touch interval it moves the
// session's idle expiry forward (a long tool call or an open stream is use)
// and closes l when the session ended elsewhere (DELETE on another instance)
// or expired, which ends l's streams.
func (h *Handler) keep(l *local, stop <-chan struct{}) {
	t := time.NewTicker(h.touch)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		err := h.store.TouchSession(ctx, l.key)
		cancel()
		switch {
		case errors.Is(err, store.ErrNotFound):
			h.drop(l)
			l.ss.Close()
			return
		case err != nil:
			h.log.Warn("MCP session store unavailable", "session", fingerprint(l.key), "err", err)
		}
	}
}

// syncLevel gives l the log level of the record when a request on another
// instance changed it (logging/setLevel), by sending l's session that
// request; its answer is discarded.
func (h *Handler) syncLevel(r *http.Request, l *local, rec *store.Session) {
	want := stateOf(rec).LogLevel
	l.mu.Lock()
	defer l.mu.Unlock()
	if want == "" || want == l.level {
		return
	}
	body := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":"frontmcp-sync-%s","method":%q,"params":{"level":%q}}`,
		rand.Text(), methodSetLevel, want)
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, r.URL.String(), bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	l.transport.ServeHTTP(&discardWriter{}, req)
	l.level = want
}
