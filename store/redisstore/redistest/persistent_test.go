package redistest

import (
	"strconv"
	"testing"
)

// TestPersistentSurvivesKill: every write a persistent server acknowledged
// is there after SIGKILL and a restart on the same port.
func TestPersistentSurvivesKill(t *testing.T) {
	s, err := StartPersistent(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	c := s.Client()
	defer c.Close()
	const n = 200
	for i := range n {
		if err := c.Incr(ctx, "counter").Err(); err != nil {
			t.Fatalf("INCR %d: %v", i, err)
		}
	}
	addr, pid := s.Addr, s.Pid()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Addr != addr || s.Pid() == pid {
		t.Fatalf("restarted as pid %d on %s, want a new process on %s", s.Pid(), s.Addr, addr)
	}
	got, err := c.Get(ctx, "counter").Result()
	if err != nil {
		t.Fatalf("GET after restart: %v", err)
	}
	if got != strconv.Itoa(n) {
		t.Fatalf("counter after kill and restart = %s, want %d", got, n)
	}
	cfg, err := c.ConfigGet(ctx, "appendfsync").Result()
	if err != nil || cfg["appendfsync"] != "always" {
		t.Fatalf("CONFIG GET appendfsync = %v, %v; want always", cfg, err)
	}
}
