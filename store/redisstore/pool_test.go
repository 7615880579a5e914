package redisstore

import (
	"runtime"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestPoolSize(t *testing.T) {
	if d := DefaultPoolSize(); d < MinPoolSize || d < 10*runtime.GOMAXPROCS(0) {
		t.Errorf("DefaultPoolSize() = %d, want max(10 × GOMAXPROCS, %d)", d, MinPoolSize)
	}
	for _, tc := range []struct {
		name string
		o    Options
		want int
	}{
		{"addr, default", Options{Addr: "127.0.0.1:1"}, DefaultPoolSize()},
		{"addr, set", Options{Addr: "127.0.0.1:1", PoolSize: 5}, 5},
		{"url, default", Options{URL: "redis://127.0.0.1:1/0"}, DefaultPoolSize()},
		{"url with pool_size", Options{URL: "redis://127.0.0.1:1/0?pool_size=7"}, 7},
		{"url with pool_size, set", Options{URL: "redis://127.0.0.1:1/0?pool_size=7", PoolSize: 9}, 9},
		{"cluster, default", Options{ClusterAddrs: []string{"127.0.0.1:1"}}, DefaultPoolSize()},
		{"sentinel, set", Options{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:1"}, PoolSize: 3}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb, _, err := tc.o.client()
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			var got int
			switch c := rdb.(type) {
			case *redis.Client:
				got = c.Options().PoolSize
			case *redis.ClusterClient:
				got = c.Options().PoolSize
			default:
				t.Fatalf("client %T", rdb)
			}
			if got != tc.want {
				t.Errorf("pool size %d, want %d", got, tc.want)
			}
		})
	}
}
