// Package redistest runs real redis-server processes for tests: a single
// server on a free loopback port, a Redis Cluster of several masters, and a
// TLS-only server with a throwaway CA.
//
// Tests of the Redis store (and anything else that needs Redis) use it so
// that `go test ./...` works on any machine with redis-server installed, and
// use the servers of scripts/redis-test.sh instead when its environment
// variables are set (see [Setup]). Every process is stopped by its pid; on
// Linux a process also dies with the test binary (PR_SET_PDEATHSIG), so a
// panicking test leaves nothing running.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontmcp-go/frontmcp/internal/childproc"
)

// Environment variables naming servers that are already running (set by
// scripts/redis-test.sh).
const (
	EnvAddr    = "FRONTMCP_TEST_REDIS"         // host:port of a single server
	EnvCluster = "FRONTMCP_TEST_REDIS_CLUSTER" // comma-separated host:port of cluster masters
	EnvTLS     = "FRONTMCP_TEST_REDIS_TLS"     // host:port of a TLS-only server
	EnvCA      = "FRONTMCP_TEST_REDIS_CA"      // PEM file of the CA that signed the TLS server's certificate
)

// ErrNoServer reports that redis-server is not installed.
var ErrNoServer = errors.New("redistest: redis-server not found on PATH: install it (apt-get install -y redis-server redis-tools) or run the tests through scripts/redis-test.sh")

// startTimeout bounds how long a server or a cluster may take to come up.
const startTimeout = 30 * time.Second

// Options configures a server started by [Start]. A nil *Options is a plain
// single server.
type Options struct {
	// TLS, when set, makes the server listen with TLS only (the plain port
	// is off), with the certificate and CA of these files.
	TLS *Certs
	// RequireClientCert makes a TLS server demand a client certificate
	// signed by the CA (otherwise one is optional).
	RequireClientCert bool
	// Cluster starts the server with cluster-enabled yes.
	Cluster bool
	// Args are extra redis-server arguments, such as "--appendonly", "yes".
	Args []string
}

// Server is one redis-server process listening on 127.0.0.1.
type Server struct {
	// Addr is 127.0.0.1:port (the TLS port of a TLS server).
	Addr string
	// Dir is the server's working directory (data files, logs).
	Dir string

	args    []string
	mu      sync.Mutex
	proc    *process
	ownsDir bool
}

// process is one run of the server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
}

// Start starts a server on a free port and waits until it accepts
// connections.
func Start(opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoServer
	}
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	// A port found free may be taken before the server binds it; try again.
	for range 5 {
		ports, err := freePorts(2)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), Dir: dir, ownsDir: true}
		s.args = append([]string{bin}, baseArgs(dir)...)
		if opts.TLS != nil {
			auth := "optional"
			if opts.RequireClientCert {
				auth = "yes"
			}
			s.args = append(s.args, "--port", "0", "--tls-port", strconv.Itoa(ports[0]),
				"--tls-cert-file", opts.TLS.ServerCert, "--tls-key-file", opts.TLS.ServerKey,
				"--tls-ca-cert-file", opts.TLS.CAFile, "--tls-auth-clients", auth)
		} else {
			s.args = append(s.args, "--port", strconv.Itoa(ports[0]))
		}
		if opts.Cluster {
			s.args = append(s.args, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(ports[1]),
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "5000")
		}
		s.args = append(s.args, opts.Args...)
		if lastErr = s.run(); lastErr == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// baseArgs keep a test server small and private: loopback only, no
// persistence unless a test asks for it, logs on stdout.
func baseArgs(dir string) []string {
	return []string{"--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
		"--logfile", "", "--daemonize", "no", "--loglevel", "notice"}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// They come from below the kernel's ephemeral port range, from which the
// tests' many outgoing loopback connections take their local ports: a
// server restarted on its port ([Server.Restart]) must not find it taken
// by such a connection.
func freePorts(n int) ([]int, error) {
	low := ephemeralLow()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("redistest: no free port below %d", low)
		}
		p := portFloor + mrand.IntN(low-portFloor)
		if slices.Contains(ports, p) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		ports = append(ports, p)
	}
	return ports, nil
}

// portFloor is the lowest port freePorts hands out.
const portFloor = 10000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux
// net.ipv4.ip_local_port_range), or 32768 where it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > portFloor+1000 {
				return v
			}
		}
	}
	return 32768
}

// run starts the process and waits for "Ready to accept connections" in its
// log (no polling), or for it to exit.
func (s *Server) run() error {
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Dir = s.Dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := childproc.Start(cmd); err != nil {
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	var logTail []string
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logTail = append(logTail, line)
			if len(logTail) > 20 {
				logTail = logTail[1:]
			}
			logMu.Unlock()
			if !signalled && strings.Contains(line, "Ready to accept connections") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, out)
		cmd.Wait()
		close(p.done)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		s.mu.Lock()
		s.proc = p
		s.mu.Unlock()
		return nil
	case <-p.done:
		logMu.Lock()
		defer logMu.Unlock()
		return fmt.Errorf("redistest: redis-server on %s exited at start:\n%s", s.Addr, strings.Join(logTail, "\n"))
	case <-timer.C:
		cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("redistest: redis-server on %s not ready after %v", s.Addr, startTimeout)
	}
}

// Pid is the process id of the running server, or 0.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// signal sends sig to the running server.
func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("redistest: server on %s is not running", s.Addr)
	}
	return p.cmd.Process.Signal(sig)
}

// Kill stops the server abruptly (SIGKILL to its pid, like a crash) and waits
// for it to exit. Its data directory stays, so [Server.Restart] can bring it
// back on the same port. Killing a stopped server does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.done
	return nil
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing is
// answered, as with a hung server or a network partition.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT) }

// Restart starts a killed server again with the same arguments, port and
// data directory.
func (s *Server) Restart() error {
	if s.Pid() != 0 {
		return fmt.Errorf("redistest: server on %s is running", s.Addr)
	}
	return s.run()
}

// Close kills the server and removes its data directory.
func (s *Server) Close() error {
	err := s.Kill()
	if s.ownsDir {
		err = errors.Join(err, os.RemoveAll(s.Dir))
	}
	return err
}

// Client returns a plain go-redis client for the server (not for TLS
// servers).
func (s *Server) Client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr})
}

// Cluster is a Redis Cluster of masters without replicas, every node on
// loopback.
type Cluster struct {
	Nodes []*Server
}

// Addrs are the nodes' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// Close stops every node.
func (c *Cluster) Close() error {
	var err error
	for _, n := range c.Nodes {
		err = errors.Join(err, n.Close())
	}
	return err
}

// StartCluster starts n masters, splits the 16384 slots between them, joins
// them (CLUSTER MEET, as redis-cli --cluster create does) and waits until
// every node reports cluster_state:ok.
func StartCluster(n int) (*Cluster, error) {
	c := &Cluster{}
	fail := func(err error) (*Cluster, error) {
		return nil, errors.Join(err, c.Close())
	}
	for range n {
		s, err := Start(&Options{Cluster: true})
		if err != nil {
			return fail(err)
		}
		c.Nodes = append(c.Nodes, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	clients := make([]*redis.Client, n)
	for i, s := range c.Nodes {
		clients[i] = s.Client()
		defer clients[i].Close()
	}
	const slots = 16384
	for i, cl := range clients {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if err := cl.Do(ctx, "cluster", "addslotsrange", lo, hi).Err(); err != nil {
			return fail(fmt.Errorf("redistest: CLUSTER ADDSLOTSRANGE on %s: %w", c.Nodes[i].Addr, err))
		}
		if err := cl.Do(ctx, "cluster", "set-config-epoch", i+1).Err(); err != nil {
			return fail(fmt.Errorf("redistest: CLUSTER SET-CONFIG-EPOCH on %s: %w", c.Nodes[i].Addr, err))
		}
	}
	for i, s := range c.Nodes[1:] {
		host, port, _ := net.SplitHostPort(s.Addr)
		bus := clusterPort(s.args)
		if err := clients[0].Do(ctx, "cluster", "meet", host, port, bus).Err(); err != nil {
			return fail(fmt.Errorf("redistest: CLUSTER MEET %s (node %d): %w", s.Addr, i+1, err))
		}
	}
	// Gossip converges on its own; poll each node until it sees the whole
	// cluster.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i, cl := range clients {
		for {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			select {
			case <-ctx.Done():
				return fail(fmt.Errorf("redistest: cluster node %s not ready: %v %w", c.Nodes[i].Addr, err, ctx.Err()))
			case <-tick.C:
			}
		}
	}
	return c, nil
}

func clusterPort(args []string) string {
	for i, a := range args {
		if a == "--cluster-port" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
