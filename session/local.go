package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/frontmcp-go/frontmcp/store"
)

// local is this instance's copy of a session: a go-sdk transport connected
// to the server with the session's state. It lives while requests use it and
// for the local idle timeout after, or until the copies are too many and it
// is the least recently used; then it closes. The record in the store stays,
// and the next request resumes the session from it.
type local struct {
	id        string
	key       string // store key
	ss        *mcp.ServerSession
	transport *mcp.StreamableServerTransport

	// Guarded by Handler.mu. The timers are made once and reset, so that a
	// request costs no new timer or goroutine.
	refs   int         // requests (POST and GET) in progress
	idle   *time.Timer // closes the copy once idle; stopped while refs > 0
	keeper *time.Timer // the next keep tick; stopped while refs == 0
	// early is when the keeper was set to tick before the touch interval,
	// for a request whose credentials expire sooner; zero otherwise.
	early time.Time
	gone  bool // removed from Handler.sessions
	// open are the requests in progress whose credentials can end (expire,
	// be revoked) before the request does.
	open map[*openRequest]struct{}
	// prev and next link the copies no request uses, most recently used
	// first (Handler.unused); nil while refs > 0.
	prev, next *local

	mu    sync.Mutex // orders log level changes; guards the fields below
	level mcp.LoggingLevel
	// rawState and state are the record state last decoded: requests whose
	// record carries the same bytes reuse it rather than decode it again.
	rawState []byte
	state    *state // read-only
}

// stateOf returns the decoded state of rec, a shared value the caller
// must not change.
func (l *local) stateOf(rec *store.Session) *state {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stateLocked(rec)
}

func (l *local) stateLocked(rec *store.Session) *state {
	if l.state == nil || !bytes.Equal(l.rawState, rec.State) {
		l.state, l.rawState = stateOf(rec), bytes.Clone(rec.State)
	}
	return l.state
}

func (l *local) setLevel(level mcp.LoggingLevel) {
	l.mu.Lock()
	l.level = level
	l.mu.Unlock()
}

// openRequest is a request in progress whose credentials can end before it
// does: a GET event stream, or a POST whose answer streams. The keeper ends
// it (cancels its context, which closes its response) when its access token
// expires or is revoked.
type openRequest struct {
	p      Principal
	cancel context.CancelFunc
	ctx    context.Context // the request's context, before cancel
	url    *url.URL
	// body is a POST's body: ending the request cancels the calls in it.
	body []byte
}

// guard returns o for a request of principal p on a session, and the
// request to serve, whose context o can cancel; nil and r itself when p's
// credentials cannot end (no expiry, nothing to ask Options.Revocations).
func (h *Handler) guard(r *http.Request, p Principal, body []byte) (*openRequest, *http.Request) {
	if p.ExpiresAt.IsZero() && (h.revs == nil || p.GrantID == "" && p.TokenID == "") {
		return nil, r
	}
	ctx, cancel := context.WithCancel(r.Context())
	o := &openRequest{p: p, cancel: cancel, ctx: r.Context(), url: r.URL, body: body}
	return o, r.WithContext(ctx)
}

// why returns why o must end at now ("" if it need not).
func (h *Handler) why(o *openRequest, now time.Time) string {
	switch {
	case !o.p.ExpiresAt.IsZero() && !now.Before(o.p.ExpiresAt):
		return "the access token expired"
	case h.revs != nil && (o.p.GrantID != "" || o.p.TokenID != "") && h.revs.Revoked(o.p.GrantID, o.p.TokenID):
		return "the access token was revoked"
	}
	return ""
}

// end ends o: its response closes, and the calls of a POST are cancelled
// (notifications/cancelled, MCP specification 2025-11-25, "Cancellation"),
// so that their handlers stop working for credentials that no longer hold.
func (h *Handler) end(l *local, o *openRequest, why string) {
	o.cancel()
	h.log.Info("MCP request ended: "+why, "session", fingerprint(l.key))
	ids := requestIDs(o.body)
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(o.ctx), storeTimeout)
	defer cancel()
	u := o.url.String()
	for _, id := range ids {
		body := fmt.Appendf(nil, `{"jsonrpc":"2.0","method":%q,"params":{"requestId":%s,"reason":%q}}`,
			methodCancelled, id, why)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		l.transport.ServeHTTP(&discardWriter{}, req)
	}
}

// enter returns the local copy of session id for a request, resuming the
// session from rec when this instance has none, and counts the request in
// (with o, if not nil, among the open requests). The caller must call
// leave. It answers the request itself and reports false when it cannot go
// on.
func (h *Handler) enter(w http.ResponseWriter, r *http.Request, id string, rec *store.Session, o *openRequest) (*local, bool) {
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
	var evicted *local
	defer func() {
		if evicted != nil {
			evicted.ss.Close()
		}
	}()
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
		evicted = h.makeRoomLocked()
		l = &local{id: id, key: rec.ID, ss: ss, transport: transport, level: st.LogLevel}
		h.sessions[id] = l
		go h.watch(l)
	}
	h.in(l)
	if o != nil {
		h.openLocked(l, o)
	}
	return l, true
}

// adopt registers a new session's local copy, counted in for the request
// that creates it; no keeper runs for that request, as the session has no
// record yet. False after Close.
func (h *Handler) adopt(l *local) bool {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return false
	}
	evicted := h.makeRoomLocked()
	h.sessions[l.id] = l
	go h.watch(l)
	l.refs = 1
	h.mu.Unlock()
	if evicted != nil {
		evicted.ss.Close()
	}
	return true
}

// makeRoomLocked makes room for one more local copy when there are
// MaxLocalSessions already: it drops the least recently used copy that no
// request uses, and returns it for the caller to close once h.mu is
// released. Copies in use are not dropped, so with all of them in use the
// bound is exceeded by the requests in progress. Called with h.mu held.
func (h *Handler) makeRoomLocked() *local {
	if len(h.sessions) < h.maxLocal {
		return nil
	}
	l := h.unused.prev
	if l == &h.unused {
		return nil // every copy is in use
	}
	h.dropLocked(l)
	return l
}

// in counts a request in: the idle timer stops, and the first request
// starts the keeper. Called with h.mu held.
func (h *Handler) in(l *local) {
	l.refs++
	if l.refs > 1 {
		return
	}
	h.unlink(l)
	if l.idle != nil {
		l.idle.Stop()
	}
	if l.keeper == nil {
		l.keeper = time.AfterFunc(h.touch, func() { h.keep(l) })
	} else {
		l.keeper.Reset(h.touch)
	}
	l.early = time.Time{}
}

// openLocked adds o to l's open requests, and has the keeper tick when o's
// credentials expire if that is before its next tick. Called with h.mu held.
func (h *Handler) openLocked(l *local, o *openRequest) {
	if l.open == nil {
		l.open = make(map[*openRequest]struct{})
	}
	l.open[o] = struct{}{}
	if o.p.ExpiresAt.IsZero() {
		return
	}
	if d := o.p.ExpiresAt.Sub(h.now()); d < h.touch {
		at := time.Now().Add(d)
		if l.early.IsZero() || at.Before(l.early) {
			l.keeper.Reset(max(d, 0))
			l.early = at
		}
	}
}

// leave counts a request (and o, if not nil) out; after the last one the
// keeper stops and the idle timer starts.
func (h *Handler) leave(l *local, o *openRequest) {
	if o != nil {
		defer o.cancel()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if o != nil {
		delete(l.open, o)
	}
	l.refs--
	if l.refs > 0 || l.gone {
		return
	}
	if l.keeper != nil {
		l.keeper.Stop()
	}
	h.link(l)
	if l.idle == nil {
		l.idle = time.AfterFunc(h.localIdle, func() { h.expire(l) })
	} else {
		l.idle.Reset(h.localIdle)
	}
}

// link puts l first among the copies no request uses. Called with h.mu held.
func (h *Handler) link(l *local) {
	l.prev, l.next = &h.unused, h.unused.next
	h.unused.next.prev = l
	h.unused.next = l
}

// unlink takes l out of the copies no request uses, if it is among them.
// Called with h.mu held.
func (h *Handler) unlink(l *local) {
	if l.next == nil {
		return
	}
	l.prev.next, l.next.prev = l.next, l.prev
	l.prev, l.next = nil, nil
}

// expire closes a copy that stayed unused for the local idle timeout.
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
	h.unlink(l)
	if l.idle != nil {
		l.idle.Stop()
	}
	if l.keeper != nil {
		l.keeper.Stop()
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

// keep is the keeper's tick, every touch interval while requests use l, and
// when the credentials of an open request expire: it ends the open requests
// whose access token expired or was revoked; it moves the session's idle
// expiry forward (a long tool call or an open stream is use); and it closes
// l when the session ended elsewhere (DELETE on another instance) or
// expired, which ends l's streams.
func (h *Handler) keep(l *local) {
	type ending struct {
		o   *openRequest
		why string
	}
	h.mu.Lock()
	if l.refs == 0 || l.gone {
		h.mu.Unlock()
		return // stopped after this tick was due
	}
	now := h.now()
	var ended []ending
	for o := range l.open {
		if why := h.why(o, now); why != "" {
			ended = append(ended, ending{o, why})
			delete(l.open, o)
		}
	}
	inUse := l.refs > len(ended)
	h.mu.Unlock()
	for _, e := range ended {
		h.end(l, e.o, e.why)
	}
	if inUse {
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
	h.mu.Lock()
	if l.refs > 0 && !l.gone {
		// Requests may have come meanwhile: the next tick is due at the
		// touch interval or the first expiry among those open now.
		next := h.touch
		for o := range l.open {
			if !o.p.ExpiresAt.IsZero() {
				next = min(next, max(o.p.ExpiresAt.Sub(now), 0))
			}
		}
		l.keeper.Reset(next)
		l.early = time.Time{}
		if next < h.touch {
			l.early = time.Now().Add(next)
		}
	}
	h.mu.Unlock()
}

// syncLevel gives l the log level of the record when a request on another
// instance changed it (logging/setLevel), by sending l's session that
// request; its answer is discarded.
func (h *Handler) syncLevel(r *http.Request, l *local, rec *store.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := l.stateLocked(rec).LogLevel
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
