// Package frontmcp builds production MCP servers with authentication built in.
//
// A program creates a [Server] with [New], registers tools, resources and
// prompts on the official go-sdk server returned by [Server.MCP], and calls
// [Server.Run]:
//
//	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg})
//	if err != nil { ... }
//	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "greet"}, greet)
//	err = srv.Run(ctx) // until ctx is cancelled, then shuts down gracefully
//
// The server speaks MCP over Streamable HTTP at the configured path (default
// /mcp) through go-sdk, with DNS-rebinding protection on, and serves /healthz
// and /readyz. Authentication follows the configuration's auth.mode; see
// package config for every option.
package frontmcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/federation"
	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/internal/rebind"
	"github.com/frontmcp-go/frontmcp/resource"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configure [New]. The zero value (or nil) runs the development
// defaults of package config.
type Options struct {
	// Config is the server configuration. Nil means config.Default for the
	// development environment. New validates it.
	Config *config.Config
	// Logger receives the server's logs. Nil means a logger built from
	// Config.Logging writing to stderr, with secrets redacted.
	Logger *slog.Logger
	// ServerOptions are passed to mcp.NewServer (capabilities, handlers).
	// A nil Logger in them is set to the server's logger.
	ServerOptions *mcp.ServerOptions
	// Store overrides the store named by Config.Auth.TokenStorage. The server
	// does not close a store it was given.
	Store store.Store
	// ShutdownTimeout bounds how long Run waits for in-flight requests after
	// its context is cancelled. Zero means 10 seconds.
	ShutdownTimeout time.Duration
	// Authenticator checks logins on the embedded authorization server
	// (orchestrated/local mode) instead of auth.local.users.
	Authenticator authserver.Authenticator
	// Clock returns the current time for token issuance and verification;
	// nil means time.Now. Tests use it to move time.
	Clock func() time.Time
	// Stderr receives the one-time demo login notice; nil means os.Stderr.
	Stderr io.Writer
}

// Server is an MCP server with its HTTP endpoints.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	mcp       *mcp.Server
	store     store.Store
	ownsStore bool
	handler   http.Handler
	shutdown  time.Duration
	now       func() time.Time
	stderr    io.Writer
	bearer    *resource.Middleware // nil in public mode
	upstream  *federation.Broker   // remote mode only (remote.go)

	// revocations is orchestrated mode's verifier, which holds the
	// revocation set (orchestrated.go); nil in other modes.
	revocations *resource.LocalVerifier
	// streams is cancelled when shutdown starts, ending long-lived SSE streams
	// so that graceful shutdown does not wait for them.
	streams       context.Context
	cancelStreams context.CancelFunc
}

// New builds a server from opts. It opens the configured store, so it fails
// when the store cannot be opened; call [Server.Close] (or Run, which closes
// it on return) to release it.
func New(opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	cfg := opts.Config
	if cfg == nil {
		cfg = config.Default(config.Development)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		var err error
		if log, err = NewLogger(os.Stderr, cfg.Logging); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, log: log, store: opts.Store, shutdown: opts.ShutdownTimeout, now: opts.Clock, stderr: opts.Stderr}
	if s.shutdown == 0 {
		s.shutdown = 10 * time.Second
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.stderr == nil {
		s.stderr = os.Stderr
	}
	var err error
	if s.store == nil {
		st, err := OpenStore(cfg.Auth.TokenStorage)
		if err != nil {
			return nil, err
		}
		s.store, s.ownsStore = st, true
	}
	var so mcp.ServerOptions
	if opts.ServerOptions != nil {
		so = *opts.ServerOptions
	}
	if so.Logger == nil {
		so.Logger = log
	}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: cfg.Info.Name, Version: cfg.Info.Version}, &so)
	s.streams, s.cancelStreams = context.WithCancel(context.Background())
	if s.handler, err = s.routes(opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// NewLogger builds the logger described by the logging section: text or JSON
// on w, secrets redacted (the built-in keys plus logging.redact).
func NewLogger(w io.Writer, c config.Logging) (*slog.Logger, error) {
	level, err := logging.ParseLevel(string(c.Level))
	if err != nil {
		return nil, fmt.Errorf("logging.level: %w", err)
	}
	return slog.New(logging.NewHandler(w, &logging.Options{
		Level:  level,
		JSON:   c.Format == config.FormatJSON,
		Redact: c.Redact,
	})), nil
}

// MCP returns the go-sdk server; add tools, resources and prompts to it.
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Handler returns the HTTP handler serving MCP, health and (per auth mode)
// OAuth endpoints. Use it to mount the server in your own http.Server.
func (s *Server) Handler() http.Handler { return s.handler }

// Config returns the validated configuration the server runs with.
func (s *Server) Config() *config.Config { return s.cfg }

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.store }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Close ends open MCP streams and closes the store if the server opened it.
func (s *Server) Close() error {
	s.cancelStreams()
	if s.ownsStore {
		return s.store.Close()
	}
	return nil
}

// Run listens on the configured address and serves until ctx is cancelled,
// then shuts down gracefully and closes the server.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.ListenAddr())
	if err != nil {
		s.Close()
		return fmt.Errorf("listen on %s: %w", s.cfg.ListenAddr(), err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller made (tests use port 0).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.Close()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	hs.RegisterOnShutdown(s.cancelStreams)
	s.log.Info("frontmcp listening",
		"addr", ln.Addr().String(), "mcp", s.cfg.MCPURL(), "mode", s.cfg.Auth.Mode,
		"environment", s.cfg.Environment, "store", s.cfg.Auth.TokenStorage.Type)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("stopped")
	return nil
}

// RequireToolScopes makes calling tool need every one of scopes: a token
// without them gets 403 insufficient_scope, which MCP clients answer with a
// step-up authorization. It adds to auth.toolScopes and fails in public mode,
// where no request carries scopes.
func (s *Server) RequireToolScopes(tool string, scopes ...string) error {
	if s.bearer == nil {
		return fmt.Errorf("frontmcp: tool scopes need an authenticated auth.mode (running %s)", s.cfg.Auth.Mode)
	}
	return s.bearer.RequireToolScopes(tool, scopes...)
}

func (s *Server) routes(opts *Options) (http.Handler, error) {
	guard := rebind.New(rebind.Options{
		PublicURL: s.cfg.BaseURL(),
		Hosts:     s.cfg.HTTP.AllowedHosts,
		Origins:   s.cfg.HTTP.AllowedOrigins,
	})
	streamable, err := s.streamableHandler(opts)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	var mcpHandler http.Handler
	switch s.cfg.Auth.Mode {
	case config.ModePublic:
		mcpHandler = s.stripCredentials(streamable)
	case config.ModeOrchestrated:
		if err := s.setupOrchestrated(mux, opts); err != nil {
			return nil, err
		}
		mcpHandler = s.bearer.Wrap(streamable)
	case config.ModeTransparent:
		h, err := s.setupTransparent(mux, streamable)
		if err != nil {
			return nil, err
		}
		mcpHandler = h
	default:
		return nil, fmt.Errorf("frontmcp: auth.mode %q: not implemented yet", s.cfg.Auth.Mode)
	}
	mux.Handle(s.cfg.HTTP.MCPPath, guard.Origins(s.streamContext(mcpHandler)))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	// Health probes come from orchestrators addressing the pod by IP, so they
	// skip the Host check; everything else serves only this server's names.
	guarded := guard.Hosts(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			mux.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	}), nil
}

// streamContext ties each request to the server's stream context, so that
// long-lived GET event streams end when shutdown starts.
func (s *Server) streamContext(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(s.streams, cancel)
		defer stop()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// stripCredentials is public mode's authentication: every request is let in
// as an anonymous principal, and credentials a client sends anyway are removed
// so that they never reach tool handlers.
func (s *Server) stripCredentials(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
			r = r.Clone(r.Context())
			r.Header.Del("Authorization")
			r.Header.Del("Cookie")
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, `{"status":"ok"}`+"\n")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "store", s.cfg.Auth.TokenStorage.Type, "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"unavailable","store":"unreachable"}`+"\n")
		return
	}
	// MCP requests get 503 while the revocation list is not current (not
	// read yet, or not read for longer than its maximum staleness).
	if s.revocations != nil {
		if err := s.revocations.Ready(); err != nil {
			s.log.Warn("readiness check failed", "revocations", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":"unavailable","revocations":"stale"}`+"\n")
			return
		}
	}
	io.WriteString(w, `{"status":"ready"}`+"\n")
}
