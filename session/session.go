// Package session serves MCP over Streamable HTTP with sessions kept in the
// store, so that a session begun on one server instance continues on any
// other, survives a restart of the instance that began it, and ends
// everywhere at once (MCP specification 2025-11-25, "Transports", "Session
// Management").
//
// go-sdk's stateful handler keeps each session in a map of the process that
// created it: any other process answers 404 to its Mcp-Session-Id. This
// package's [Handler] replaces it. A session is a record in the store
// ([store.Sessions]) holding the principal the session is bound to and the
// MCP session state (go-sdk's [mcp.ServerSessionState]: initialize
// parameters and log level). Each instance that serves the session keeps a
// local copy: a go-sdk [mcp.StreamableServerTransport] connected to the
// server with that state ([mcp.Server.Connect] with
// [mcp.ServerSessionOptions].State). Every request reads the record first, so
// an ended, expired or foreign session is refused on every instance; the
// local copy only carries the request. A copy no request uses is closed after
// a short idle time ([Options].LocalIdleTimeout), and the least recently used
// one when there are too many ([Options].MaxLocalSessions): a session costs
// memory and goroutines on an instance only while it is used there, and the
// next request resumes it from the record.
//
// A request that stays open (an event stream, a long tool call) is held to
// the credentials it came with, which were checked when it began: it ends
// when its access token expires, and, with [Options].Revocations, soon after
// the token or its grant is revoked.
//
// What stays on one instance is what cannot be stored: the open HTTP
// streams. A server-to-client request (sampling, elicitation, roots) or
// notification made while handling a request goes back on that request's
// response stream, so it works wherever the request landed; one made outside
// a request goes to the standalone GET stream of the instance that makes it,
// and reaches the client only if the client's GET stream is open on that
// instance. Resource subscriptions and other per-session registrations of a
// server's handlers are process state too, kept while the local copy lives:
// while a request or the client's GET stream is open on the instance, and
// for the local idle timeout after.
//
// Sessions of protocol version 2026-07-28 and later do not exist (SEP-2575):
// such requests are handed to go-sdk's handler, which answers them as a
// stateful go-sdk server does.
package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// Defaults for [Options].
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 24 * time.Hour
	// DefaultLocalIdleTimeout is how long an instance keeps its copy of a
	// session that no request uses.
	DefaultLocalIdleTimeout = 2 * time.Minute
	// DefaultMaxLocalSessions bounds the copies of sessions an instance
	// keeps.
	DefaultMaxLocalSessions = 10_000
	// maxTouchInterval bounds how stale a record's idle expiry may get.
	maxTouchInterval = time.Minute
	// storeTimeout bounds the store calls the handler makes outside a
	// request.
	storeTimeout = 5 * time.Second
)

// Header names of the Streamable HTTP transport.
const (
	headerSessionID       = "Mcp-Session-Id"
	headerProtocolVersion = "Mcp-Protocol-Version"
)

// Principal is who makes a request: a request continues a session only for
// the subject that began it (and through the same client, with
// Options.BindClient). The zero Principal is an anonymous one.
//
// The other fields describe the request's credentials, which a request
// that stays open must not outlive: it is ended when they expire or are
// revoked (see Options.Revocations).
type Principal struct {
	Subject  string
	ClientID string
	// ExpiresAt is when the request's access token expires (its "exp");
	// zero means it does not.
	ExpiresAt time.Time
	// GrantID is the authorization grant behind the access token, and
	// TokenID the token's own id (its "jti"), as Options.Revocations knows
	// them; empty when there are none.
	GrantID string
	TokenID string
}

// Revocations tells whether credentials were revoked after a request using
// them began: resource.LocalVerifier implements it with its in-memory
// revocation set.
type Revocations interface {
	// Revoked reports whether the grant grantID or the access token
	// tokenID (either may be empty) is revoked. It is called with the
	// handler's lock held, so it must be quick and must not call back.
	Revoked(grantID, tokenID string) bool
}

// Options configures a [Handler].
type Options struct {
	// Server is the MCP server every session connects to. Required.
	Server *mcp.Server
	// Store keeps the sessions. Required.
	Store store.Sessions
	// IdleTimeout ends a session no request has used for this long; zero
	// means DefaultIdleTimeout. It is kept to the millisecond.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after it began, however
	// busy; zero means DefaultAbsoluteTimeout.
	AbsoluteTimeout time.Duration
	// TouchInterval is the longest a session in use goes without its idle
	// expiry being moved forward in the store (a write), and how often a
	// session with a request or stream open re-reads its record to notice
	// that it ended elsewhere, and asks Revocations about the credentials
	// of those requests. Zero means a tenth of IdleTimeout, at most a
	// minute.
	TouchInterval time.Duration
	// Principal returns who makes a request (after authentication). Nil
	// means the subject (UserID) and expiry (Expiration) of the request's
	// go-sdk auth.TokenInfo, and no client.
	Principal func(*http.Request) Principal
	// Revocations, when set, is asked every touch interval about the
	// credentials (Principal.GrantID, Principal.TokenID) of each request
	// still open, and the request is ended once they are revoked. Nil:
	// open requests end only when their token expires.
	Revocations Revocations
	// LocalIdleTimeout is how long this instance keeps its copy of a
	// session (a go-sdk session and its goroutines) that no request uses;
	// the next request resumes the session from the store. Zero means
	// DefaultLocalIdleTimeout; it is at most IdleTimeout.
	LocalIdleTimeout time.Duration
	// MaxLocalSessions bounds the copies of sessions this instance keeps:
	// with that many, a new one closes the least recently used copy that
	// no request uses (copies in use are never closed for it, so requests
	// in progress can exceed the bound). Zero means DefaultMaxLocalSessions.
	MaxLocalSessions int
	// BindClient makes a session continue only through the OAuth client
	// that began it, besides the subject. Off by default: go-sdk's OAuth
	// client registers a new client (RFC 7591) at every authorization,
	// step-up authorization included, and its session must go on. The
	// client is recorded either way.
	BindClient bool
	// SupportedProtocolVersions are the versions the server was built with
	// (mcp.ServerOptions.SupportedProtocolVersions); nil means all that
	// go-sdk supports.
	SupportedProtocolVersions []string
	// MaxRequestBodyBytes limits a request body; zero means
	// mcp.DefaultMaxRequestBodyBytes, negative no limit.
	MaxRequestBodyBytes int64
	// Clock is the source of the times written into session records; it
	// should be the store's clock. Nil means time.Now.
	Clock func() time.Time
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// Handler is an http.Handler for the MCP endpoint with sessions in the
// store. Use [New].
type Handler struct {
	server      *mcp.Server
	store       store.Sessions
	sessionless http.Handler // go-sdk's handler, for requests without a session
	idle        time.Duration
	absolute    time.Duration
	touch       time.Duration
	localIdle   time.Duration
	maxLocal    int
	principal   func(*http.Request) Principal
	revs        Revocations // nil: none
	bindClient  bool
	versions    []string
	maxBody     int64
	now         func() time.Time
	log         *slog.Logger

	mu       sync.Mutex
	closed   bool
	sessions map[string]*local // by session id
	// unused heads the ring of the copies no request uses, most recently
	// used first (unused.next) and least recently used last (unused.prev).
	unused local
}

// New returns a Handler.
func New(opts *Options) (*Handler, error) {
	if opts == nil || opts.Server == nil || opts.Store == nil {
		return nil, errors.New("session: Options.Server and Options.Store are required")
	}
	o := *opts
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.AbsoluteTimeout == 0 {
		o.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if o.IdleTimeout < time.Millisecond || o.AbsoluteTimeout < 0 || o.TouchInterval < 0 || o.LocalIdleTimeout < 0 || o.MaxLocalSessions < 0 {
		return nil, fmt.Errorf("session: idle timeout %v, absolute timeout %v, touch interval %v, local idle timeout %v, max local sessions %d: must be positive",
			o.IdleTimeout, o.AbsoluteTimeout, o.TouchInterval, o.LocalIdleTimeout, o.MaxLocalSessions)
	}
	if o.LocalIdleTimeout == 0 {
		o.LocalIdleTimeout = DefaultLocalIdleTimeout
	}
	o.LocalIdleTimeout = min(o.LocalIdleTimeout, o.IdleTimeout)
	if o.MaxLocalSessions == 0 {
		o.MaxLocalSessions = DefaultMaxLocalSessions
	}
	if o.TouchInterval == 0 {
		o.TouchInterval = min(o.IdleTimeout/10, maxTouchInterval)
	}
	if o.Principal == nil {
		o.Principal = tokenSubject
	}
	// As go-sdk orders them: newest first.
	versions := mcp.SupportedProtocolVersions()
	if len(o.SupportedProtocolVersions) > 0 {
		versions = slices.DeleteFunc(versions, func(v string) bool { return !slices.Contains(o.SupportedProtocolVersions, v) })
	}
	if o.MaxRequestBodyBytes == 0 {
		o.MaxRequestBodyBytes = mcp.DefaultMaxRequestBodyBytes
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	server := o.Server
	h := &Handler{
		server: server,
		store:  o.Store,
		sessionless: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
			&mcp.StreamableHTTPOptions{
				Logger:                     o.Logger,
				MaxRequestBodyBytes:        o.MaxRequestBodyBytes,
				DisableLocalhostProtection: true, // the caller guards hosts
			}),
		idle:       o.IdleTimeout,
		absolute:   o.AbsoluteTimeout,
		touch:      o.TouchInterval,
		localIdle:  o.LocalIdleTimeout,
		maxLocal:   o.MaxLocalSessions,
		principal:  o.Principal,
		revs:       o.Revocations,
		bindClient: o.BindClient,
		versions:   versions,
		maxBody:    o.MaxRequestBodyBytes,
		now:        o.Clock,
		log:        o.Logger,
		sessions:   make(map[string]*local),
	}
	h.unused.prev, h.unused.next = &h.unused, &h.unused
	return h, nil
}

// tokenSubject is the default Options.Principal.
func tokenSubject(r *http.Request) Principal {
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		return Principal{Subject: ti.UserID, ExpiresAt: ti.Expiration}
	}
	return Principal{}
}

// storeKey is the store's id of a session: the hash of the id the client
// holds, so that the store never hands out session ids.
func storeKey(id string) string { return token.Hash(id) }

// fingerprint names a session in logs without giving its id away.
func fingerprint(key string) string { return key[:12] }

// ServeHTTP implements http.Handler: POST, GET and DELETE of the Streamable
// HTTP transport (MCP specification 2025-11-25, "Transports").
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil && h.maxBody > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	}
	// MCP 2025-06-18 §2.7: a protocol version header must name a version
	// the server negotiates.
	pv := r.Header.Get(headerProtocolVersion)
	if pv != "" && pv < protocolVersionSessionless && !slices.Contains(h.versions, pv) {
		http.Error(w, fmt.Sprintf("Bad Request: Unsupported protocol version (supported versions: %s)", strings.Join(h.versions, ",")), http.StatusBadRequest)
		return
	}
	if pv >= protocolVersionSessionless {
		// A sessionless protocol: no session to look up or keep.
		r = r.Clone(r.Context())
		r.Header.Del(headerSessionID)
		h.sessionless.ServeHTTP(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.servePOST(w, r, pv)
	case http.MethodGet:
		h.serveGET(w, r)
	case http.MethodDelete:
		h.serveDELETE(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	}
}

// open serves the start of a request on session id: it looks the session
// up (answering 404 or 503 itself), arranges for r to end at its token's
// expiry or revocation (guard) and takes a reference on the session's local
// copy (enter). When ok, the caller serves the returned request and then
// calls h.leave(l, o).
func (h *Handler) open(w http.ResponseWriter, r *http.Request, id string, body []byte) (rec *store.Session, l *local, o *openRequest, _ *http.Request, ok bool) {
	rec, p, ok := h.lookup(w, r, id)
	if !ok {
		return nil, nil, nil, nil, false
	}
	o, r = h.guard(r, p, body)
	if l, ok = h.enter(w, r, id, rec, o); !ok {
		if o != nil {
			o.cancel()
		}
		return nil, nil, nil, nil, false
	}
	return rec, l, o, r, true
}

// lookup reads the session of r and checks that r's principal owns it. It
// answers 404 for a session that does not exist (never did, ended, expired)
// and for one of another principal alike, so that a request cannot learn
// whether someone else's session id is live.
func (h *Handler) lookup(w http.ResponseWriter, r *http.Request, id string) (*store.Session, Principal, bool) {
	key := storeKey(id)
	rec, err := h.store.GetSession(r.Context(), key)
	p := h.principal(r)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.forget(id)
		http.Error(w, "Not Found: session not found", http.StatusNotFound)
		return nil, p, false
	case err == nil && !h.owns(p, rec):
		// The owner's copy stays: this request only must not use it.
		h.log.Warn("MCP session used by another principal", "session", fingerprint(key))
		http.Error(w, "Not Found: session not found", http.StatusNotFound)
		return nil, p, false
	case err != nil:
		h.log.Warn("MCP session store unavailable", "session", fingerprint(key), "err", err)
		unavailable(w)
		return nil, p, false
	}
	return rec, p, true
}

// owns reports whether principal p may use session rec.
func (h *Handler) owns(p Principal, rec *store.Session) bool {
	return p.Subject == rec.Subject && (!h.bindClient || p.ClientID == rec.ClientID)
}

// touched moves the session's idle expiry forward when the last touch is
// older than the touch interval: a write at most that often per session.
func (h *Handler) touched(ctx context.Context, rec *store.Session) error {
	if h.now().Sub(rec.LastSeen) < h.touch {
		return nil
	}
	return h.store.TouchSession(ctx, rec.ID)
}

func (h *Handler) serveGET(w http.ResponseWriter, r *http.Request) {
	if !accepts(r, "text/event-stream") {
		http.Error(w, "Accept must contain 'text/event-stream' for GET requests", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(headerSessionID)
	if id == "" {
		http.Error(w, "Bad Request: GET requires an Mcp-Session-Id header", http.StatusBadRequest)
		return
	}
	_, l, o, r, ok := h.open(w, r, id, nil)
	if !ok {
		return
	}
	defer h.leave(l, o)
	l.transport.ServeHTTP(w, r)
}

func (h *Handler) serveDELETE(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(headerSessionID)
	if id == "" {
		http.Error(w, "Bad Request: DELETE requires an Mcp-Session-Id header", http.StatusBadRequest)
		return
	}
	rec, _, ok := h.lookup(w, r, id)
	if !ok {
		return
	}
	switch err := h.store.DeleteSession(r.Context(), rec.ID); {
	case errors.Is(err, store.ErrNotFound):
		http.Error(w, "Not Found: session not found", http.StatusNotFound)
	case err != nil:
		h.log.Warn("MCP session store unavailable", "session", fingerprint(rec.ID), "err", err)
		unavailable(w)
		return
	default:
		w.WriteHeader(http.StatusNoContent)
	}
	h.forget(id)
}

func (h *Handler) servePOST(w http.ResponseWriter, r *http.Request, pv string) {
	if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
		http.Error(w, "Content-Type must be 'application/json'", http.StatusUnsupportedMediaType)
		return
	}
	if !accepts(r, "application/json") || !accepts(r, "text/event-stream") {
		http.Error(w, "Accept must contain both 'application/json' and 'text/event-stream'", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "failed to read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	id := r.Header.Get(headerSessionID)
	var (
		msgs  []message
		batch bool
		perr  error
	)
	if id != "" && !mayCall(body, methodInitialized, methodSetLevel) {
		// A request on a session matters here only when it changes the
		// session's state; most (tools/call, …) do not, and the transport
		// parses them anyway.
		batch = isBatch(body)
	} else {
		msgs, batch, perr = parseMessages(body)
	}
	if batch && pv >= protocolVersion618 {
		http.Error(w, fmt.Sprintf("JSON-RPC batching is not supported in %s and later (request version: %s)", protocolVersion618, pv), http.StatusBadRequest)
		return
	}
	if id == "" {
		if perr != nil || !has(msgs, methodInitialize) {
			// No session to begin: go-sdk answers (a bad body, a call
			// before initialize, a ping) without keeping anything.
			h.sessionless.ServeHTTP(w, r)
			return
		}
		h.begin(w, r)
		return
	}
	rec, l, o, r, ok := h.open(w, r, id, body)
	if !ok {
		return
	}
	defer h.leave(l, o)
	h.syncLevel(r, l, rec)
	level, setsLevel := setLevel(msgs)
	initialized := has(msgs, methodInitialized) && !l.stateOf(rec).initialized()
	if !setsLevel && !initialized {
		l.transport.ServeHTTP(w, r)
		return
	}
	// Record what the request changes before its answer leaves.
	cw := &commitWriter{w: w, commit: func(status int) error {
		if status >= 400 {
			return nil // refused: nothing changed
		}
		err := h.updateState(r.Context(), rec, func(st *state) bool {
			changed := false
			if initialized && !st.initialized() {
				st.InitializedParams = &mcp.InitializedParams{}
				changed = true
			}
			if setsLevel && st.LogLevel != mcp.LoggingLevel(level) {
				st.LogLevel = mcp.LoggingLevel(level)
				changed = true
			}
			return changed
		})
		if err != nil {
			h.log.Warn("MCP session state not stored", "session", fingerprint(rec.ID), "err", err)
			return err
		}
		if setsLevel {
			l.setLevel(mcp.LoggingLevel(level))
		}
		return nil
	}}
	l.transport.ServeHTTP(cw, r)
}

// begin starts a session with an initialize request. The record is created
// once the server has accepted the initialize request, just before its
// result goes out; a refused initialize leaves nothing behind.
func (h *Handler) begin(w http.ResponseWriter, r *http.Request) {
	id := rand.Text() // 26 base32 characters: 130 random bits
	key := storeKey(id)
	transport := &mcp.StreamableServerTransport{SessionID: id}
	ss, err := h.server.Connect(r.Context(), transport, nil)
	if err != nil {
		h.log.Error("MCP session: connect failed", "err", err)
		http.Error(w, "failed connection", http.StatusInternalServerError)
		return
	}
	l := &local{id: id, key: key, ss: ss, transport: transport}
	created := false
	p := h.principal(r)
	cw := &commitWriter{w: w, commit: func(int) error {
		params := ss.InitializeParams()
		if params == nil {
			return nil // initialize was refused: nothing to keep
		}
		now := h.now()
		st := state{ServerSessionState: mcp.ServerSessionState{
			InitializeParams:          params,
			NegotiatedProtocolVersion: negotiated(params.ProtocolVersion, h.versions),
		}}
		enc, err := json.Marshal(&st)
		if err != nil {
			return err
		}
		rec := &store.Session{
			ID: key, Subject: p.Subject, ClientID: p.ClientID, State: enc,
			IdleTimeout: h.idle, CreatedAt: now, LastSeen: now,
			IdleExpiresAt: now.Add(h.idle), AbsoluteExpiresAt: now.Add(h.absolute),
		}
		if err := h.store.CreateSession(r.Context(), rec); err != nil {
			h.log.Warn("MCP session not stored", "session", fingerprint(key), "err", err)
			return err
		}
		created = true
		return nil
	}}
	if !h.adopt(l) {
		ss.Close()
		shuttingDown(w)
		return
	}
	defer func() {
		if !created {
			h.drop(l)
			ss.Close()
			return
		}
		h.leave(l, nil)
	}()
	transport.ServeHTTP(cw, r)
}

// negotiated is the protocol version go-sdk answers an initialize request
// for version v with (the client's version if supported, else the newest
// supported one with sessions).
func negotiated(v string, supported []string) string {
	if v < protocolVersionSessionless && slices.Contains(supported, v) {
		return v
	}
	for _, s := range supported {
		if s < protocolVersionSessionless {
			return s
		}
	}
	return v
}

// state is the session state kept in the record.
type state struct {
	mcp.ServerSessionState
}

func (s *state) initialized() bool { return s.InitializedParams != nil }

// stateOf decodes a record's state; a record that cannot be decoded has an
// empty state (the session then behaves as not initialized, and the client
// starts a new one).
func stateOf(rec *store.Session) *state {
	var st state
	if len(rec.State) > 0 {
		_ = json.Unmarshal(rec.State, &st)
	}
	return &st
}

// updateState applies change to the session's stored state by
// compare-and-swap, retrying when another instance wrote first. change
// reports whether it changed anything.
func (h *Handler) updateState(ctx context.Context, rec *store.Session, change func(*state) bool) error {
	for range 8 {
		st := stateOf(rec)
		if !change(st) {
			return nil
		}
		enc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		err = h.store.UpdateSessionState(ctx, rec.ID, rec.Version, enc)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if rec, err = h.store.GetSession(ctx, rec.ID); err != nil {
			return err
		}
	}
	return fmt.Errorf("session %s: state kept changing: %w", fingerprint(rec.ID), store.ErrConflict)
}

// Close ends every local copy of a session (their streams close); the
// sessions themselves stay in the store for other instances, or this one
// after a restart. Requests after Close get 503.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	all := make([]*local, 0, len(h.sessions))
	for _, l := range h.sessions {
		all = append(all, l)
	}
	h.mu.Unlock()
	for _, l := range all {
		h.drop(l)
		l.ss.Close()
	}
}

// accepts reports whether r's Accept header admits mediaType.
func accepts(r *http.Request, mediaType string) bool {
	major, _, _ := strings.Cut(mediaType, "/")
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			base, _, _ := strings.Cut(part, ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case mediaType, major + "/*", "*/*":
				return true
			}
		}
	}
	return false
}

// isJSON reports whether a Content-Type is application/json.
func isJSON(ct string) bool {
	if ct == "application/json" {
		return true // what every client sends, without parsing
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}
