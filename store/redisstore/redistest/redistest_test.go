package redistest

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// alive reports whether a process with pid exists. Kill and Close wait for
// the exit (and so reap the child), so a stopped server's pid is gone.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestServerLifecycle(t *testing.T) {
	s, err := Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := s.Client()
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET on a started server: %v", err)
	}
	pid := s.Pid()
	if pid == 0 || !alive(pid) {
		t.Fatalf("pid %d not running", pid)
	}
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) || s.Pid() != 0 {
		t.Fatalf("pid %d still running after Kill", pid)
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart on %s: %v", s.Addr, err)
	}
	// No persistence by default: the restarted server is empty.
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS k after restart = %d, %v; want 0", n, err)
	}
	pid = s.Pid()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("pid %d still running after Close", pid)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data directory %s left after Close: %v", s.Dir, err)
	}
}

func TestStartFailsOnBadArgs(t *testing.T) {
	_, err := Start(&Options{Args: []string{"--no-such-option", "1"}})
	if err == nil {
		t.Fatal("Start succeeded with an unknown option")
	}
}

func TestEnvFromVariables(t *testing.T) {
	t.Setenv(EnvAddr, "redis.test:6379")
	t.Setenv(EnvCluster, "a.test:1,b.test:2")
	t.Setenv(EnvTLS, "tls.test:6380")
	t.Setenv(EnvCA, "/ca.pem")
	e := NewEnv()
	defer e.Close()
	if got, err := e.Single(); err != nil || got != "redis.test:6379" {
		t.Errorf("Single() = %q, %v", got, err)
	}
	if got, err := e.Cluster(); err != nil || len(got) != 2 || got[1] != "b.test:2" {
		t.Errorf("Cluster() = %q, %v", got, err)
	}
	if got, err := e.TLS(); err != nil || got != (TLSServer{Addr: "tls.test:6380", CAFile: "/ca.pem"}) {
		t.Errorf("TLS() = %+v, %v", got, err)
	}
}

func TestEnvRejectsHalfTLS(t *testing.T) {
	t.Setenv(EnvTLS, "tls.test:6380")
	t.Setenv(EnvCA, "")
	if _, err := NewEnv().TLS(); err == nil {
		t.Fatal("TLS() accepted a server without its CA")
	}
}

func TestEnvRejectsBadAddress(t *testing.T) {
	t.Setenv(EnvAddr, "no-port")
	if _, err := NewEnv().Single(); err == nil {
		t.Fatal("Single() accepted an address without a port")
	}
}
