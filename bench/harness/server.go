package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Store names.
const (
	StoreMemory = "memory"
	StoreFile   = "file"
	StoreRedis  = "redis"
)

// The user the harness signs in as, and the scope it asks for.
const (
	benchUser  = "bench"
	benchScope = "mcp:tools"
)

// serverConfig is what a benchmark server's configuration file says.
type serverConfig struct {
	store     string
	public    bool
	dir       string // for the file store
	redisPort int
	// passwordHash is the PHC-format hash of the bench user's password.
	passwordHash string
}

// yaml renders the configuration file: development environment (so that
// the memory store and cheap password-hash parameters are accepted), access tokens
// valid for an hour (none expires during a run), consent on, warnings only
// in the log.
func (c serverConfig) yaml() string {
	var b strings.Builder
	b.WriteString("environment: development\n")
	b.WriteString("info: {name: frontmcp-bench, version: 1.0.0}\n")
	b.WriteString("logging: {level: warn}\n")
	b.WriteString("auth:\n")
	if c.public {
		b.WriteString("  mode: public\n")
	} else {
		b.WriteString("  mode: orchestrated\n  type: local\n")
	}
	switch c.store {
	case StoreMemory:
		b.WriteString("  tokenStorage: {type: memory}\n")
	case StoreFile:
		fmt.Fprintf(&b, "  tokenStorage: {type: file, config: {path: %q}}\n", filepath.Join(c.dir, "store.db"))
	case StoreRedis:
		fmt.Fprintf(&b, "  tokenStorage: {type: redis, config: {host: 127.0.0.1, port: %d}}\n", c.redisPort)
	}
	if c.public {
		return b.String()
	}
	fmt.Fprintf(&b, "  scopes: [%s]\n", benchScope)
	b.WriteString("  local:\n    users:\n")
	fmt.Fprintf(&b, "      - username: %s\n        passwordHash: %q\n", benchUser, c.passwordHash)
	b.WriteString("  refresh: {accessTokenTtl: 3600}\n")
	b.WriteString("  consent: {enabled: true}\n")
	return b.String()
}

// server is a frontmcp server running in a child process.
type server struct {
	name   string
	base   string // http://127.0.0.1:PORT
	mcpURL string
	// pprofBase is the profiling endpoint of frontmcp-pprof, or empty.
	pprofBase string
	proc      *process
}

func (s *server) pid() int { return s.proc.pid() }

func (s *server) stop() error { return s.proc.stop(15 * time.Second) }

// writeConfig writes c to dir/name.yaml and returns the path.
func writeConfig(dir, name string, c serverConfig) (string, error) {
	path := filepath.Join(dir, name+".yaml")
	return path, os.WriteFile(path, []byte(c.yaml()), 0o600)
}

// configAccepted reports whether `frontmcp config check path` accepts the
// file (exit 0), with the checker's message when it does not.
func configAccepted(ctx context.Context, bin, path string) (bool, string) {
	cmd := exec.CommandContext(ctx, bin, "config", "check", path)
	cmd.Env = serverEnv(1)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return false, strings.TrimSpace(string(out))
	}
	return true, ""
}

// serveArgs is the command line of `frontmcp serve` with the configuration
// file path (startServer adds the port).
func serveArgs(path string) []string { return []string{"serve", "--config", path} }

// startServer runs bin with args and `--port N` (a free port) and GOMAXPROCS
// set to procs, and waits until /readyz answers 200. With profile, bin is
// frontmcp-pprof and its profiling endpoint gets a port too.
func startServer(ctx context.Context, hc *http.Client, bin, dir, name string, args []string, procs int, profile bool) (*server, error) {
	var lastErr error
	for range 3 { // the free ports may be taken in between
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		env := serverEnv(procs)
		var pprofBase string
		if profile {
			pp, err := freePort()
			if err != nil {
				return nil, err
			}
			env = append(env, fmt.Sprintf("BENCH_PPROF_ADDR=127.0.0.1:%d", pp))
			pprofBase = fmt.Sprintf("http://127.0.0.1:%d", pp)
		}
		p, err := startProcess(name, bin, append(slices.Clip(args), "--port", strconv.Itoa(port)), env, filepath.Join(dir, name+".log"))
		if err != nil {
			return nil, err
		}
		s := &server{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", port), pprofBase: pprofBase, proc: p}
		s.mcpURL = s.base + "/mcp"
		if lastErr = p.waitReady(ctx, 20*time.Second, func(ctx context.Context) error { return ready(ctx, hc, s.base) }); lastErr == nil {
			return s, nil
		}
		p.stop(5 * time.Second)
		if !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

// ready checks GET /readyz (the store answers).
func ready(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /readyz: %d", resp.StatusCode)
	}
	return nil
}

// startRedis runs a private redis-server on a free loopback port, with the
// persistence a token store needs in production (append-only file, fsync
// every second, no eviction), and waits until it answers PING.
func startRedis(ctx context.Context, bin, dir string) (*process, int, error) {
	rdir := filepath.Join(dir, "redis")
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return nil, 0, err
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
			"--dir", rdir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
			"--maxmemory-policy", "noeviction", "--daemonize", "no", "--loglevel", "warning",
		}
		p, err := startProcess("redis-server", bin, args, nil, filepath.Join(dir, "redis.log"))
		if err != nil {
			return nil, 0, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if lastErr = p.waitReady(ctx, 10*time.Second, func(ctx context.Context) error { return redisPing(ctx, addr) }); lastErr == nil {
			return p, port, nil
		}
		p.stop(5 * time.Second)
	}
	return nil, 0, lastErr
}

// redisPing sends PING in the inline command format and expects +PONG.
func redisPing(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return errors.New("redis answered " + strings.TrimSpace(line))
	}
	return nil
}
