package redisstore

import (
	"fmt"
	"os"
	"testing"

	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
)

// env holds the shared servers: scripts/redis-test.sh's when its variables
// are set, otherwise servers started on first use and stopped after the
// tests. Without redis-server the tests that need one fail (never skip).
var env = redistest.NewEnv()

func TestMain(m *testing.M) {
	code := m.Run()
	if err := env.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping test Redis servers:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
