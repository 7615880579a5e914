package multi

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// binDir holds the frontmcp binary the tests build; TestMain removes it.
var binDir string

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "frontmcp-multi-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// frontmcpBinary builds ./cmd/frontmcp once per test binary (on first use,
// so that `go test -run` of an unrelated test builds nothing) and returns
// its path.
func frontmcpBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		binPath = filepath.Join(binDir, "frontmcp")
		cmd := exec.Command(goCmd, "build", "-o", binPath, "github.com/frontmcp-go/frontmcp/cmd/frontmcp")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/frontmcp: %v\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// serverEnv is the environment of a server process: the test's, without
// the variables that would change the configuration (the checklist's
// REDIS_*, JWT_SIGNING_KEY, VAULT_KEY, IDP_* and their _FILE forms).
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "REDIS_") || strings.HasPrefix(name, "JWT_") ||
			strings.HasPrefix(name, "VAULT_") || strings.HasPrefix(name, "IDP_") ||
			strings.HasPrefix(name, "FRONTMCP_") || name == "GOMAXPROCS" {
			continue
		}
		env = append(env, kv)
	}
	// The machine is shared with the test binary and Redis.
	return append(env, "GOMAXPROCS=1")
}
