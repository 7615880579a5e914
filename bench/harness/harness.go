// Package harness is the frontmcp benchmark harness: it builds the frontmcp
// binary, starts real `frontmcp serve` processes on loopback with the memory,
// file and (when frontmcp accepts tokenStorage.type redis) Redis token
// stores, drives
// them over keep-alive HTTP with a closed-loop load generator, and measures
//
//   - refresh_token grants with rotation (each worker follows its own grant),
//   - authorization_code redemptions (codes prepared beforehand through the
//     real authorization endpoint, login and consent pages),
//   - authenticated MCP tools/call of the whoami tool (one session per worker),
//   - the same tools/call with authentication off (auth.mode public),
//   - refresh_token grants against a reference endpoint that only signs
//     (bench/floor: the floor any Go token endpoint stands on),
//
// at several concurrencies, next to the in-process cost of signing and
// verifying one access token (go test -bench in package token) and the
// targets of the project's performance issue. See docs/benchmarks.md.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontmcp-go/frontmcp/bench/client"
	"github.com/frontmcp-go/frontmcp/bench/load"
	"github.com/frontmcp-go/frontmcp/internal/whoami"
	"golang.org/x/crypto/argon2"
)

// Workload names.
const (
	WorkRefresh = "refresh"      // refresh_token grant with rotation
	WorkCode    = "code"         // authorization_code redemption
	WorkTools   = "tools"        // authenticated tools/call whoami
	WorkPublic  = "tools-public" // tools/call whoami, auth.mode public
	WorkFloor   = "floor"        // refresh_token grant, reference endpoint
)

// Workloads lists the workloads in table order.
var Workloads = []string{WorkRefresh, WorkCode, WorkTools, WorkPublic, WorkFloor}

// Stores lists the stores in table order.
var Stores = []string{StoreMemory, StoreFile, StoreRedis}

// ErrModuleRoot is returned when the frontmcp module cannot be found.
var ErrModuleRoot = errors.New("harness: not inside the frontmcp module (run from the checkout or set Options.Dir)")

const modulePath = "github.com/frontmcp-go/frontmcp"

// codeWindowLimit bounds warm-up + window of an authorization_code cell, and
// codeLifetime is the code lifetime of the authorization server (60 s): every
// prepared code must be redeemed before it expires.
const (
	codeWindowLimit = 40 * time.Second
	codeLifetime    = 60 * time.Second
)

// Options configure [Run]. The zero value (or nil) is `make bench`.
type Options struct {
	// Dir is the root of the frontmcp module. Empty means the module of
	// the working directory (go env GOMOD).
	Dir string
	// Go is the go command. Empty means "go".
	Go string
	// ServerBinary is a frontmcp binary to run. Empty means build
	// ./cmd/frontmcp into the temporary directory.
	ServerBinary string
	// RedisServer is the redis-server binary. Empty means redis-server
	// from PATH.
	RedisServer string
	// Stores to measure. Nil means memory, file, and redis when a
	// redis-server binary is found, `frontmcp config check` accepts
	// tokenStorage.type redis and `frontmcp serve` starts with it against
	// a private redis-server. Naming redis explicitly makes its absence an
	// error.
	Stores []string
	// Workloads to measure. Nil means all of [Workloads].
	Workloads []string
	// Concurrency levels. Nil means 1, 16 and 64.
	Concurrency []int
	// Warmup before each measured window. Zero means one second.
	Warmup time.Duration
	// Duration of each measured window. Zero means five seconds.
	Duration time.Duration
	// ServerProcs is the GOMAXPROCS of each server process. Zero means 1.
	ServerProcs int
	// MaxCodes bounds the authorization codes prepared for one cell.
	// Zero means 50000.
	MaxCodes int
	// CodeSetup bounds the time spent preparing the codes of one cell;
	// codes live 60 s, so it is also capped at 50 s minus the cell's
	// warm-up and window. Zero means 40 seconds.
	CodeSetup time.Duration
	// Crypto runs the token package's signing and verification
	// benchmarks (go test -bench) before the servers start.
	Crypto bool
	// CryptoBenchtime and CryptoCount are -benchtime and -count for
	// them. Empty and zero mean "500ms" and 5.
	CryptoBenchtime string
	CryptoCount     int
	// CPUProfileDir, when set, runs bench/cmd/frontmcp-pprof (frontmcp
	// with a loopback profiling endpoint) instead of frontmcp and writes a
	// CPU profile of the server per cell there
	// (<store>-<workload>-c<N>.pprof, the measured window rounded up to
	// whole seconds). ServerBinary must be empty.
	CPUProfileDir string
	// TempDir is where the configurations, logs, file store and Redis
	// data go. Empty means a new directory under os.TempDir, removed at
	// the end unless KeepTemp.
	TempDir  string
	KeepTemp bool
	// Progress receives a line per step and per cell. Nil means discard.
	Progress io.Writer
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Go == "" {
		c.Go = "go"
	}
	if c.Workloads == nil {
		c.Workloads = Workloads
	}
	if c.Concurrency == nil {
		c.Concurrency = []int{1, 16, 64}
	}
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Duration == 0 {
		c.Duration = 5 * time.Second
	}
	if c.ServerProcs == 0 {
		c.ServerProcs = 1
	}
	if c.MaxCodes == 0 {
		c.MaxCodes = 50000
	}
	if c.CodeSetup == 0 {
		c.CodeSetup = 40 * time.Second
	}
	if c.CryptoBenchtime == "" {
		c.CryptoBenchtime = "500ms"
	}
	if c.CryptoCount == 0 {
		c.CryptoCount = 5
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	return c
}

func (o *Options) validate() error {
	for _, w := range o.Workloads {
		if !slices.Contains(Workloads, w) {
			return fmt.Errorf("harness: unknown workload %q (have %s)", w, strings.Join(Workloads, ", "))
		}
	}
	for _, s := range o.Stores {
		if !slices.Contains(Stores, s) {
			return fmt.Errorf("harness: unknown store %q (have %s)", s, strings.Join(Stores, ", "))
		}
	}
	if len(o.Workloads) == 0 || len(o.Concurrency) == 0 {
		return errors.New("harness: no workload or no concurrency level")
	}
	for _, c := range o.Concurrency {
		if c < 1 || c > 4096 {
			return fmt.Errorf("harness: concurrency %d out of range 1…4096", c)
		}
	}
	if o.CPUProfileDir != "" && o.ServerBinary != "" {
		return errors.New("harness: CPUProfileDir builds its own server; ServerBinary must be empty")
	}
	if o.Warmup < 0 || o.Duration < 0 || o.ServerProcs < 0 || o.MaxCodes < 0 || o.CodeSetup < 0 {
		return errors.New("harness: negative option")
	}
	return nil
}

// Run measures everything Options selects and returns the report. Failed
// requests do not make Run fail: they are in the report (see
// [Report.Failed]). Run fails when the servers cannot be built, started or
// prepared; once measuring has started, it returns the cells measured so
// far with the error.
func Run(ctx context.Context, opts *Options) (rep *Report, err error) {
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	h := &harness{o: o, progress: o.Progress}
	if o.CPUProfileDir != "" {
		if err := os.MkdirAll(o.CPUProfileDir, 0o755); err != nil {
			return nil, err
		}
		h.profile = true
	}
	if h.root, err = moduleRoot(ctx, o); err != nil {
		return nil, err
	}
	if h.tmp = o.TempDir; h.tmp == "" {
		if h.tmp, err = os.MkdirTemp("", "frontmcp-bench-"); err != nil {
			return nil, err
		}
		if !o.KeepTemp {
			defer os.RemoveAll(h.tmp)
		}
	}
	h.rep = &Report{
		Machine: machine(),
		Settings: Settings{
			Warmup: o.Warmup, Duration: o.Duration, ServerProcs: o.ServerProcs,
			ClientProcs: runtime.GOMAXPROCS(0), Profiled: h.profile, Concurrency: o.Concurrency,
		},
	}
	if l := h.rep.Machine.LoadAvg; l != "" {
		if one, err := strconv.ParseFloat(strings.Fields(l)[0], 64); err == nil && one >= 1 {
			h.rep.Notes = append(h.rep.Notes, fmt.Sprintf("the 1-minute load average was %.2f at start: other processes competed with the servers and the load generator, so the figures are low and noisy", one))
		}
	}
	if o.Crypto {
		h.logf("crypto: go test -bench ./token (-cpu 1, -benchtime %s, -count %d)", o.CryptoBenchtime, o.CryptoCount)
		if err := h.crypto(ctx); err != nil {
			return nil, err
		}
	}
	if err := h.build(ctx); err != nil {
		return nil, err
	}
	if err := h.passwordHash(); err != nil {
		return nil, err
	}
	h.hc = &http.Client{Transport: client.NewTransport(2 * slices.Max(o.Concurrency)), Timeout: 30 * time.Second}
	defer h.hc.CloseIdleConnections()
	stores, err := h.stores(ctx)
	if err != nil {
		return nil, err
	}
	if h.wants(WorkFloor) {
		if err := h.startFloor(ctx); err != nil {
			return nil, err
		}
		defer stopServer(h.floor, &err)
	}
	for _, st := range stores {
		if err = h.runStore(ctx, st); err != nil {
			err = fmt.Errorf("%s store: %w", st, err)
			break
		}
	}
	if err == nil && h.floor != nil {
		for _, c := range h.o.Concurrency {
			h.floorCell(ctx, c)
		}
	}
	h.rep.Targets = targets(h.rep)
	return h.rep, err
}

// harness is the state of one Run.
type harness struct {
	o         Options
	progress  io.Writer
	root, tmp string
	bin       string
	profile   bool
	password  string
	hash      string
	hc        *http.Client
	rep       *Report
	// floor is the reference endpoint's server while it runs, and
	// floorDone the concurrencies already measured against it.
	floor     *server
	floorDone []int
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.progress, "bench: "+format+"\n", args...)
}

// moduleRoot finds the frontmcp module: Options.Dir, else the module of the
// working directory.
func moduleRoot(ctx context.Context, o Options) (string, error) {
	dir := o.Dir
	if dir == "" {
		out, err := exec.CommandContext(ctx, o.Go, "env", "GOMOD").Output()
		if err != nil {
			return "", fmt.Errorf("%w: go env GOMOD: %v", ErrModuleRoot, err)
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			return "", ErrModuleRoot
		}
		dir = filepath.Dir(gomod)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrModuleRoot, err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	if strings.TrimSpace(first) != "module "+modulePath {
		return "", fmt.Errorf("%w: %s is %q", ErrModuleRoot, dir, first)
	}
	return dir, nil
}

// build builds ./cmd/frontmcp unless a binary was given.
func (h *harness) build(ctx context.Context) (err error) {
	if h.o.ServerBinary != "" {
		h.bin = h.o.ServerBinary
		return nil
	}
	pkg := "./cmd/frontmcp"
	if h.profile {
		pkg = "./bench/cmd/frontmcp-pprof"
	}
	h.bin, err = h.goBuild(ctx, pkg)
	return err
}

// goBuild builds the command pkg of the module into the temporary
// directory and returns the binary's path.
func (h *harness) goBuild(ctx context.Context, pkg string) (string, error) {
	bin := filepath.Join(h.tmp, path.Base(pkg))
	h.logf("building %s", pkg)
	cmd := exec.CommandContext(ctx, h.o.Go, "build", "-o", bin, pkg)
	cmd.Dir = h.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("harness: go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// passwordHash makes the bench user's password and its hash: argon2id with
// the smallest parameters the server accepts (8 KiB, one pass), so that a
// login costs microseconds. Logins are part of preparing codes, not of what
// is measured, and the development environment accepts any cost.
func (h *harness) passwordHash() error {
	pw := make([]byte, 16)
	rand.Read(pw)
	h.password = hex.EncodeToString(pw)
	salt := make([]byte, 16)
	rand.Read(salt)
	const memory, passes, threads = 8, 1, 1
	key := argon2.IDKey([]byte(h.password), salt, passes, memory, threads, 32)
	b64 := base64.RawStdEncoding
	h.hash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memory, passes, threads, b64.EncodeToString(salt), b64.EncodeToString(key))
	return nil
}

// stores resolves Options.Stores, detecting Redis support.
func (h *harness) stores(ctx context.Context) ([]string, error) {
	explicit := h.o.Stores != nil
	want := h.o.Stores
	if !explicit {
		want = Stores
	}
	var out []string
	for _, st := range Stores {
		if !slices.Contains(want, st) {
			continue
		}
		if st == StoreRedis {
			if reason := h.redisUnavailable(ctx); reason != "" {
				if explicit {
					return nil, errors.New("harness: redis store: " + reason)
				}
				h.rep.Notes = append(h.rep.Notes, "redis store not measured: "+reason)
				h.logf("redis store skipped: %s", reason)
				continue
			}
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, errors.New("harness: no store to measure")
	}
	return out, nil
}

// redisUnavailable says why the Redis store cannot be measured, or "".
func (h *harness) redisUnavailable(ctx context.Context) string {
	if h.o.RedisServer == "" {
		p, err := exec.LookPath("redis-server")
		if err != nil {
			return "no redis-server on PATH"
		}
		h.o.RedisServer = p
	}
	path, err := writeConfig(h.tmp, "redis-check", serverConfig{store: StoreRedis, redisPort: 6379, passwordHash: h.hash})
	if err != nil {
		return err.Error()
	}
	if ok, msg := configAccepted(ctx, h.bin, path); !ok {
		return "frontmcp config check refuses tokenStorage.type redis (" + tokenStorageLine(msg) + ")"
	}
	// The configuration may be accepted before the server can open the
	// store: try it.
	dir := filepath.Join(h.tmp, "redis-check")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err.Error()
	}
	rp, port, err := startRedis(ctx, h.o.RedisServer, dir)
	if err != nil {
		return "redis-server does not start: " + firstLine(err.Error())
	}
	defer rp.stop(15 * time.Second)
	cfg := serverConfig{store: StoreRedis, redisPort: port, passwordHash: h.hash}
	if path, err = writeConfig(dir, "redis-check", cfg); err != nil {
		return err.Error()
	}
	srv, err := startServer(ctx, h.hc, h.bin, dir, "redis-check", serveArgs(path), h.o.ServerProcs, false)
	if err != nil {
		return "frontmcp serve does not start with tokenStorage.type redis (" + tokenStorageLine(err.Error()) + ")"
	}
	if err := srv.stop(); err != nil {
		return "frontmcp serve with tokenStorage.type redis: " + firstLine(err.Error())
	}
	return ""
}

// tokenStorageLine picks the line of a configuration error about
// tokenStorage, else the last line.
func tokenStorageLine(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	for _, l := range lines {
		if strings.Contains(l, "tokenStorage") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// runStore measures every selected workload against one store.
func (h *harness) runStore(ctx context.Context, st string) (err error) {
	dir := filepath.Join(h.tmp, st)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := serverConfig{store: st, dir: dir, passwordHash: h.hash}
	var helper *process
	if st == StoreRedis {
		h.logf("starting redis-server")
		if helper, cfg.redisPort, err = startRedis(ctx, h.o.RedisServer, dir); err != nil {
			return err
		}
		defer func() {
			if serr := helper.stop(15 * time.Second); serr != nil && err == nil {
				err = serr
			}
		}()
	}
	if h.wants(WorkRefresh) || h.wants(WorkCode) || h.wants(WorkTools) {
		return h.runAuth(ctx, st, dir, cfg, helper)
	}
	if h.wants(WorkPublic) {
		pub, err := h.startPublic(ctx, st, dir, cfg)
		if err != nil {
			return err
		}
		defer stopServer(pub, &err)
		for _, c := range h.o.Concurrency {
			if err := h.toolsCells(ctx, st, c, nil, nil, pub, helper); err != nil {
				return err
			}
		}
	}
	return nil
}

// startPublic starts the auth.mode public server of store st, with a file
// store of its own (two processes on one store file would take turns with
// its lock, which the auth-off figures would then measure).
func (h *harness) startPublic(ctx context.Context, st, dir string, cfg serverConfig) (*server, error) {
	cfg.public = true
	cfg.dir = filepath.Join(dir, "public")
	if err := os.MkdirAll(cfg.dir, 0o700); err != nil {
		return nil, err
	}
	return h.start(ctx, dir, st+"-public", cfg)
}

func (h *harness) wants(w string) bool { return slices.Contains(h.o.Workloads, w) }

// start starts a server for cfg.
func (h *harness) start(ctx context.Context, dir, name string, cfg serverConfig) (*server, error) {
	path, err := writeConfig(dir, name, cfg)
	if err != nil {
		return nil, err
	}
	h.logf("starting %s server", name)
	return startServer(ctx, h.hc, h.bin, dir, name, serveArgs(path), h.o.ServerProcs, h.profile)
}

// stopServer stops srv and turns a failed exit into err (keeping an
// earlier error).
func stopServer(srv *server, err *error) {
	if serr := srv.stop(); serr != nil && *err == nil {
		*err = fmt.Errorf("stopping the %s server: %w", srv.name, serr)
	}
}

// redirectURI is the bench client's redirect URI. Nothing listens there:
// the user agent stops at the redirect and never follows it.
const redirectURI = "http://127.0.0.1:9/callback"

// runAuth measures the refresh, code and authenticated tools workloads on an
// orchestrated/local server.
func (h *harness) runAuth(ctx context.Context, st, dir string, cfg serverConfig, helper *process) (err error) {
	srv, err := h.start(ctx, dir, st+"-auth", cfg)
	if err != nil {
		return err
	}
	defer stopServer(srv, &err)
	meta, err := client.FetchMetadata(ctx, h.hc, srv.base)
	if err != nil {
		return err
	}
	oc, err := client.Register(ctx, h.hc, meta, redirectURI, srv.mcpURL, benchScope)
	if err != nil {
		return err
	}
	// MCP calls first, while the store is nearly empty: the token cells
	// leave it holding hundreds of thousands of grants, which would be
	// measured too (a memory store keeps them on the Go heap, and a larger
	// heap makes each garbage collection dearer). With auth off measured
	// too, its server runs alongside and the two cells of each concurrency
	// are measured in alternating half-second slices, so that their ratio
	// compares one machine (a shared machine's speed drifts by the second).
	var pub *server
	if h.wants(WorkPublic) {
		if pub, err = h.startPublic(ctx, st, dir, cfg); err != nil {
			return err
		}
		defer func() {
			if pub != nil {
				stopServer(pub, &err)
			}
		}()
	}
	for _, c := range h.o.Concurrency {
		if err := h.toolsCells(ctx, st, c, oc, srv, pub, helper); err != nil {
			return err
		}
	}
	if pub != nil {
		stopServer(pub, &err)
		pub = nil
		if err != nil {
			return err
		}
	}
	// Refreshes before redemptions: a code cell leaves up to MaxCodes
	// prepared codes (and their grants) in the store for a minute, an
	// artefact of preparing codes in bulk that refreshes would pay for in
	// garbage collection.
	refreshRate := make(map[int]float64)
	if h.wants(WorkRefresh) {
		for _, c := range h.o.Concurrency {
			h.logf("%s: preparing %d grants (authorize, login, consent, code)", st, c)
			chains, err := h.grants(ctx, oc, c)
			if err != nil {
				return err
			}
			cell := h.measure(ctx, st, WorkRefresh, c, srv, helper, h.o.Warmup, h.o.Duration, refresher(oc, chains))
			refreshRate[c] = cell.Result.Throughput()
			// The reference endpoint right after the first store's refresh
			// cell of the same concurrency: the two compare best seconds
			// apart.
			h.floorCell(ctx, c)
		}
	}
	if h.wants(WorkCode) {
		for _, c := range h.o.Concurrency {
			if err := h.codeCell(ctx, st, c, srv, helper, oc, refreshRate[c]); err != nil {
				return err
			}
		}
	}
	return nil
}

// refresher returns an operation that refreshes worker w's grant and keeps
// the answer for the next refresh.
func refresher(oc *client.OAuthClient, chains []*client.Token) load.Op {
	return func(ctx context.Context, w int) error {
		tok, err := oc.Refresh(ctx, chains[w].RefreshToken)
		if err != nil {
			return err
		}
		chains[w] = tok
		return nil
	}
}

// startFloor builds and starts the reference token endpoint
// (bench/cmd/frontmcp-floor).
func (h *harness) startFloor(ctx context.Context) error {
	bin, err := h.goBuild(ctx, "./bench/cmd/frontmcp-floor")
	if err != nil {
		return err
	}
	dir := filepath.Join(h.tmp, "floor")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	h.logf("starting the reference token endpoint")
	h.floor, err = startServer(ctx, h.hc, bin, dir, "floor", nil, h.o.ServerProcs, false)
	return err
}

// floorCell measures refresh_token grants against the reference endpoint
// at concurrency c, once per concurrency and only while it runs.
func (h *harness) floorCell(ctx context.Context, c int) {
	if h.floor == nil || slices.Contains(h.floorDone, c) {
		return
	}
	h.floorDone = append(h.floorDone, c)
	oc := &client.OAuthClient{HTTP: h.hc, Meta: &client.Metadata{Issuer: h.floor.base, TokenEndpoint: h.floor.base + "/oauth/token"}, ClientID: "bench-floor"}
	chains := make([]*client.Token, c)
	for i := range chains {
		chains[i] = &client.Token{RefreshToken: fmt.Sprintf("floor-%d", i)}
	}
	h.measure(ctx, "", WorkFloor, c, h.floor, nil, h.o.Warmup, h.o.Duration, refresher(oc, chains))
}

// prepWorkers is the parallelism of preparation (sign-ins, sessions).
const prepWorkers = 8

// grants prepares n grants: n authorizations through the login and consent
// pages, each redeemed for an access token and a refresh token.
func (h *harness) grants(ctx context.Context, oc *client.OAuthClient, n int) ([]*client.Token, error) {
	out := make([]*client.Token, n)
	err := parallel(ctx, n, func(ctx context.Context, i int) error {
		code, err := oc.Authorize(ctx, benchUser, h.password)
		if err != nil {
			return err
		}
		out[i], err = oc.Redeem(ctx, code)
		return err
	})
	return out, err
}

// codeCell prepares authorization codes and measures their redemption.
// A pilot (a small batch of codes redeemed at the same concurrency, not
// recorded) sizes the supply: enough for the higher of the pilot's rate and
// the refresh rate just measured (a short pilot can start slow) over warm-up
// and window plus a margin, bounded by MaxCodes and CodeSetup. The cell ends
// early when the codes run out.
func (h *harness) codeCell(ctx context.Context, st string, c int, srv *server, helper *process, oc *client.OAuthClient, refreshRate float64) error {
	warmup, dur := h.o.Warmup, h.o.Duration
	if warmup+dur > codeWindowLimit {
		dur = max(codeWindowLimit-warmup, time.Second)
	}
	setup := max(min(h.o.CodeSetup, codeLifetime-warmup-dur-10*time.Second), time.Second)
	pilotN := min(max(20*c, 200), h.o.MaxCodes)
	pilot, err := h.codes(ctx, oc, pilotN, time.Now().Add(setup))
	if err != nil {
		return err
	}
	res, err := load.Run(ctx, &load.Options{Concurrency: c, Duration: time.Minute}, redeemer(oc, pilot))
	if err != nil {
		return err
	}
	if res.Failures > 0 {
		// A failure is a failure, pilot or not: record it as the cell.
		h.rep.Cells = append(h.rep.Cells, Cell{Store: st, Workload: WorkCode, Concurrency: c, Result: *res, ServerCPU: -1, HelperCPU: -1, ClientCPU: -1})
		h.logf("%s code pilot c=%d FAILED: %v", st, c, res.FirstFailure)
		return nil
	}
	rate := max(res.Throughput(), refreshRate)
	want := int(rate*(warmup+dur).Seconds()*1.3) + c
	want = min(max(want, 2*c), h.o.MaxCodes)
	h.logf("%s: pilot redeemed %d codes at %.0f/s; preparing up to %d (at most %v)", st, len(pilot), res.Throughput(), want, setup.Round(time.Second))
	start := time.Now()
	codes, err := h.codes(ctx, oc, want, start.Add(setup))
	if err != nil {
		return err
	}
	h.logf("%s: %d codes in %v", st, len(codes), time.Since(start).Round(time.Millisecond))
	h.measure(ctx, st, WorkCode, c, srv, helper, warmup, dur, redeemer(oc, codes))
	return nil
}

// redeemer returns an operation that redeems the next code of codes, and
// load.ErrExhausted when there is none left.
func redeemer(oc *client.OAuthClient, codes []*client.Code) load.Op {
	var next atomic.Int64
	return func(ctx context.Context, _ int) error {
		i := next.Add(1) - 1
		if i >= int64(len(codes)) {
			return load.ErrExhausted
		}
		_, err := oc.Redeem(ctx, codes[i])
		return err
	}
}

// codes prepares up to n authorization codes, stopping at deadline.
func (h *harness) codes(ctx context.Context, oc *client.OAuthClient, n int, deadline time.Time) ([]*client.Code, error) {
	out := make([]*client.Code, n)
	var got atomic.Int64
	err := parallel(ctx, n, func(ctx context.Context, i int) error {
		if time.Now().After(deadline) {
			return nil
		}
		code, err := oc.Authorize(ctx, benchUser, h.password)
		if err != nil {
			return err
		}
		out[i] = code
		got.Add(1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(c *client.Code) bool { return c == nil }), nil
}

// toolsCells measures tools/call of whoami at concurrency c: authenticated
// against srv when the tools workload is selected (oc prepares a grant per
// worker), with auth off against pub when that is not nil. Both together
// are measured in alternation (measureAlternating).
func (h *harness) toolsCells(ctx context.Context, st string, c int, oc *client.OAuthClient, srv, pub *server, helper *process) error {
	var (
		works []string
		srvs  []*server
		ops   []load.Op
	)
	if h.wants(WorkTools) && srv != nil {
		h.logf("%s: preparing %d grants for MCP sessions", st, c)
		tokens, err := h.grants(ctx, oc, c)
		if err != nil {
			return err
		}
		op, closeAll, err := h.toolsOp(ctx, c, srv, tokens)
		defer closeAll()
		if err != nil {
			return err
		}
		works, srvs, ops = append(works, WorkTools), append(srvs, srv), append(ops, op)
	}
	if pub != nil {
		op, closeAll, err := h.toolsOp(ctx, c, pub, nil)
		defer closeAll()
		if err != nil {
			return err
		}
		works, srvs, ops = append(works, WorkPublic), append(srvs, pub), append(ops, op)
	}
	switch len(ops) {
	case 1:
		h.measure(ctx, st, works[0], c, srvs[0], helper, h.o.Warmup, h.o.Duration, ops[0])
	case 2:
		h.measureAlternating(ctx, st, works, c, srvs, helper, ops)
	}
	return nil
}

// toolsOp opens one MCP session per worker (with the worker's access
// token, or none in public mode), checks who the server thinks is calling,
// and returns the operation that calls whoami, and a function that closes
// the sessions.
func (h *harness) toolsOp(ctx context.Context, c int, srv *server, tokens []*client.Token) (load.Op, func(), error) {
	sessions := make([]*client.Session, c)
	closeAll := func() {
		for _, s := range sessions {
			if s != nil {
				s.Close(context.WithoutCancel(ctx))
			}
		}
	}
	err := parallel(ctx, c, func(ctx context.Context, i int) error {
		authz := ""
		if tokens != nil {
			authz = "Bearer " + tokens[i].AccessToken
		}
		s, err := client.Open(ctx, h.hc, srv.mcpURL, authz)
		if err != nil {
			return err
		}
		sessions[i] = s
		return checkWhoami(ctx, s, tokens != nil)
	})
	return func(ctx context.Context, w int) error {
		_, err := sessions[w].CallTool(ctx, "whoami")
		return err
	}, closeAll, err
}

// checkWhoami calls whoami once and checks the caller the server saw: the
// bench user when authenticated, anonymous otherwise.
func checkWhoami(ctx context.Context, s *client.Session, authenticated bool) error {
	raw, err := s.CallTool(ctx, "whoami")
	if err != nil {
		return err
	}
	var who whoami.Out
	if err := json.Unmarshal(raw, &who); err != nil {
		return fmt.Errorf("whoami: %w", err)
	}
	switch {
	case authenticated && (who.Anonymous || who.Subject != benchUser):
		return fmt.Errorf("whoami with a token: subject %q anonymous %v, want %q", who.Subject, who.Anonymous, benchUser)
	case !authenticated && !who.Anonymous:
		return fmt.Errorf("whoami without auth: subject %q not anonymous", who.Subject)
	}
	return nil
}

// measure runs one cell and records it in the report.
func (h *harness) measure(ctx context.Context, st, work string, c int, srv *server, helper *process, warmup, dur time.Duration, op load.Op) Cell {
	m := h.newMeter(ctx, st, work, c, srv, helper)
	res, err := load.Run(ctx, &load.Options{
		Concurrency: c, Warmup: warmup, Duration: dur,
		WindowStart: func() { m.open(dur) },
		WindowEnd:   m.close,
	}, op)
	return m.record(res, err)
}

// measureAlternating measures the cells of ops (one per workload of works,
// against the server of the same index) in alternating slices of half a
// second (load.Alternate), so that their ratio compares one machine.
func (h *harness) measureAlternating(ctx context.Context, st string, works []string, c int, srvs []*server, helper *process, ops []load.Op) {
	meters := make([]*meter, len(ops))
	for i := range ops {
		meters[i] = h.newMeter(ctx, st, works[i], c, srvs[i], helper)
	}
	// Each profile covers the whole alternation (its server idles in the
	// other slices, which costs no samples), with a fifth more for the
	// requests finished between slices.
	profile := time.Duration(len(ops)) * (h.o.Duration*6/5 + time.Second)
	results, err := load.Alternate(ctx, &load.AlternateOptions{
		Concurrency: c, Warmup: h.o.Warmup, Duration: h.o.Duration, Slice: alternateSlice,
		SliceStart: func(i int) { meters[i].open(profile) },
		SliceEnd:   func(i int) { meters[i].close() },
	}, ops...)
	for i, m := range meters {
		var res *load.Result
		if err == nil {
			res = results[i]
		}
		m.record(res, err)
	}
}

// alternateSlice is the length of one turn of alternating cells.
const alternateSlice = 500 * time.Millisecond

// meter samples the CPU time of a cell's server, helper (redis-server) and
// the harness over its measured window, which may come in slices, and
// takes the server's CPU profile when the harness profiles.
type meter struct {
	h                  *harness
	ctx                context.Context
	cell               Cell
	srv                *server
	helperPID          int
	t0                 time.Time
	srv0, help0, self0 time.Duration
	// sums over the slices so far; a negative sample makes a sum unknown
	wall, srvCPU, helpCPU, selfCPU time.Duration
	opened                         bool
	profileDone                    chan error // nil unless profiling
}

func (h *harness) newMeter(ctx context.Context, st, work string, c int, srv *server, helper *process) *meter {
	m := &meter{h: h, ctx: ctx, srv: srv, cell: Cell{Store: st, Workload: work, Concurrency: c, ServerCPU: -1, HelperCPU: -1, ClientCPU: -1}}
	if helper != nil {
		m.helperPID = helper.pid()
	}
	return m
}

// open starts a slice of the window. The first one starts a CPU profile of
// the server of length profile when the harness profiles.
func (m *meter) open(profile time.Duration) {
	m.t0 = time.Now()
	m.srv0, m.help0, m.self0 = cpuOf(m.srv.pid()), cpuOf(m.helperPID), selfCPU()
	if !m.opened && m.h.profile && m.srv.pprofBase != "" {
		m.profileDone = make(chan error, 1)
		name := filepath.Join(m.h.o.CPUProfileDir, fmt.Sprintf("%s-%s-c%d.pprof", m.cell.Store, m.cell.Workload, m.cell.Concurrency))
		go func() { m.profileDone <- fetchProfile(m.ctx, m.h.hc, m.srv.pprofBase, profile, name) }()
	}
	m.opened = true
}

// close ends a slice of the window.
func (m *meter) close() {
	m.wall += time.Since(m.t0)
	m.srvCPU = addCPU(m.srvCPU, m.srv0, cpuOf(m.srv.pid()))
	m.helpCPU = addCPU(m.helpCPU, m.help0, cpuOf(m.helperPID))
	m.selfCPU = addCPU(m.selfCPU, m.self0, selfCPU())
}

// addCPU adds to-from to sum; a negative sum or sample gives -1.
func addCPU(sum, from, to time.Duration) time.Duration {
	if sum < 0 || from < 0 || to < 0 {
		return -1
	}
	return sum + to - from
}

// record puts the cell with res (or a failure for err) in the report.
func (m *meter) record(res *load.Result, err error) Cell {
	h, c := m.h, &m.cell
	if err != nil || res == nil {
		res = &load.Result{Concurrency: c.Concurrency, Failures: 1, FirstFailure: err}
	}
	if m.opened {
		c.Wall, c.ServerCPU, c.HelperCPU, c.ClientCPU = m.wall, m.srvCPU, m.helpCPU, m.selfCPU
	}
	if m.profileDone != nil {
		if err := <-m.profileDone; err != nil {
			h.rep.Notes = append(h.rep.Notes, fmt.Sprintf("no CPU profile for %s %s c=%d: %v", c.Store, c.Workload, c.Concurrency, err))
		}
	}
	c.Result = *res
	h.rep.Cells = append(h.rep.Cells, *c)
	h.logf("%-6s %-12s c=%-3d %9.0f req/s  p50 %-9v p99 %-9v n=%d%s", c.Store, c.Workload, c.Concurrency, res.Throughput(),
		res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond), res.Requests, failureNote(res))
	return *c
}

// cpuOf is the CPU time of process pid, or -1 when unknown.
func cpuOf(pid int) time.Duration {
	if pid == 0 {
		return -1
	}
	d, err := cpuTime(pid)
	if err != nil {
		return -1
	}
	return d
}

// fetchProfile takes a CPU profile of dur (rounded up to whole seconds,
// the endpoint's unit) from a frontmcp-pprof server and writes it to name.
func fetchProfile(ctx context.Context, hc *http.Client, base string, dur time.Duration, name string) error {
	secs := int((dur + time.Second - 1) / time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), nil)
	if err != nil {
		return err
	}
	// The endpoint answers, headers included, when the profile ends: no
	// response header timeout, the client's overall one instead.
	tr := hc.Transport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 0
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: time.Duration(secs)*time.Second + 30*time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", req.URL, resp.StatusCode)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func failureNote(r *load.Result) string {
	s := ""
	if r.Exhausted {
		s += fmt.Sprintf("  (codes ran out after %v)", r.Window.Round(time.Millisecond))
	}
	if r.Failures > 0 {
		s += fmt.Sprintf("  FAILED %d: %v", r.Failures, r.FirstFailure)
	}
	return s
}

// parallel runs fn(i) for i in [0, n) on up to prepWorkers goroutines and
// returns the first error; after an error no new call starts.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(n, prepWorkers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
