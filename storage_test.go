package frontmcp

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/redisstore"
	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
)

func TestRedisOptions(t *testing.T) {
	tests := []struct {
		name string
		in   config.RedisStorage
		want *redisstore.Options
	}{
		{"HostAndPort", config.RedisStorage{Host: "redis.internal", Port: 6380, Password: "pw", DB: 2, KeyPrefix: "app:"},
			&redisstore.Options{Addr: "redis.internal:6380", Password: "pw", DB: 2, KeyPrefix: "app:"}},
		{"IPv6Host", config.RedisStorage{Host: "::1", Port: 6379},
			&redisstore.Options{Addr: "[::1]:6379"}},
		{"URLIgnoresPort", config.RedisStorage{URL: "rediss://redis.internal:6380/1", Port: 6379},
			&redisstore.Options{URL: "rediss://redis.internal:6380/1"}},
		{"Sentinel", config.RedisStorage{MasterName: "m", SentinelAddrs: []string{"s1:26379"}, Username: "u", Port: 6379},
			&redisstore.Options{MasterName: "m", SentinelAddrs: []string{"s1:26379"}, Username: "u"}},
		{"Cluster", config.RedisStorage{ClusterAddrs: []string{"a:1", "b:2"}, PoolSize: 5, DialTimeout: time.Second,
			ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second, Port: 6379},
			&redisstore.Options{ClusterAddrs: []string{"a:1", "b:2"}, PoolSize: 5, DialTimeout: time.Second,
				ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second}},
		{"TLSOn", config.RedisStorage{Host: "h", Port: 1, TLS: config.RedisTLS{Enabled: true}},
			&redisstore.Options{Addr: "h:1", TLS: &redisstore.TLSOptions{}}},
		{"TLSFiles", config.RedisStorage{Host: "h", Port: 1, TLS: config.RedisTLS{Enabled: true, CAFile: "ca", CertFile: "c",
			KeyFile: "k", ServerName: "n", InsecureSkipVerify: true}},
			&redisstore.Options{Addr: "h:1", TLS: &redisstore.TLSOptions{CAFile: "ca", CertFile: "c", KeyFile: "k", ServerName: "n", InsecureSkipVerify: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, redisOptions(tt.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// redisConfig is a development config in public mode storing in the Redis at
// addr.
func redisConfig(t *testing.T, addr string) *config.Config {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default(config.Development)
	c.Auth.Mode = config.ModePublic
	c.Auth.TokenStorage.Type = config.StorageRedis
	c.Auth.TokenStorage.Redis.Host = host
	c.Auth.TokenStorage.Redis.Port, _ = strconv.Atoi(port)
	c.Auth.TokenStorage.Redis.KeyPrefix = "storage-test:"
	c.Auth.TokenStorage.Redis.DialTimeout = 250 * time.Millisecond
	c.Auth.TokenStorage.Redis.ReadTimeout = 250 * time.Millisecond
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpenStoreRedis(t *testing.T) {
	srv, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := redisConfig(t, srv.Addr)
	st, err := OpenStore(c.Auth.TokenStorage)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.(*redisstore.Store); !ok {
		t.Fatalf("OpenStore returned %T, want *redisstore.Store", st)
	}
	if err := st.CreateClient(t.Context(), &store.Client{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	rdb := srv.Client()
	defer rdb.Close()
	if n, err := rdb.Exists(t.Context(), "storage-test:{clients}:client:c").Result(); err != nil || n != 1 {
		t.Fatalf("client key under the configured prefix: %d, %v", n, err)
	}
}

func TestOpenStoreRedisUnreachable(t *testing.T) {
	srv, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	c := redisConfig(t, addr)
	st, err := OpenStore(c.Auth.TokenStorage)
	if err == nil {
		st.Close()
		t.Fatal("OpenStore succeeded with nothing listening")
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("error %v does not wrap store.ErrUnavailable", err)
	}
	for _, want := range []string{"auth.tokenStorage", addr, "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The server refuses to start rather than run without its store.
	if s, err := New(&Options{Config: c, Logger: slog.New(slog.DiscardHandler)}); err == nil {
		s.Close()
		t.Fatal("New succeeded with Redis unreachable")
	}
}

// TestReadyzFollowsRedis: /readyz answers 503 while Redis is down and 200
// again once it is back, without restarting the server.
func TestReadyzFollowsRedis(t *testing.T) {
	srv, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s, err := New(&Options{Config: redisConfig(t, srv.Addr), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	readyz := func() int {
		t.Helper()
		resp, err := http.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d", code)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if code := readyz(); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Redis down: %d, want 503", code)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The client redials by itself (its dial circuit breaker probes once a
	// second); poll until it has.
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for readyz() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz still failing after Redis came back")
		}
		<-tick.C
	}
}
