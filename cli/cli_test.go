package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/frontmcp-go/frontmcp/keys"
	"github.com/frontmcp-go/frontmcp/store"
)

// The test binary doubles as the frontmcp binary: with FRONTMCP_TEST_MAIN set
// it runs cli.Main (or a serve that writes or reads a store record) as a real
// process, so exit codes and restarts are tested for real.
func TestMain(m *testing.M) {
	switch os.Getenv("FRONTMCP_TEST_MAIN") {
	case "":
		os.Exit(m.Run())
	case "main":
		os.Exit(cli.Main(context.Background(), os.Args[1:], nil))
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		os.Exit(cli.Serve(ctx, os.Args[1:], nil))
	case "serve-write", "serve-read":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		os.Exit(cli.Serve(ctx, os.Args[1:], &cli.Options{Setup: restartSetup}))
	}
}

var restartClient = &store.Client{
	ID:                      "restart-client",
	Name:                    "Kept across restarts",
	RedirectURIs:            []string{"http://127.0.0.1/cb"},
	TokenEndpointAuthMethod: "none",
	CreatedAt:               time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

func restartSetup(srv *frontmcp.Server) error {
	ctx := context.Background()
	if os.Getenv("FRONTMCP_TEST_MAIN") == "serve-write" {
		return srv.Store().CreateClient(ctx, restartClient)
	}
	c, err := srv.Store().GetClient(ctx, restartClient.ID)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(c)
}

func child(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FRONTMCP_TEST_MAIN="+mode)
	cmd.Dir = t.TempDir()
	return cmd
}

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := child(t, "main", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "frontmcp.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigCheckRejects(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of stderr
	}{
		{"unknown key", "http:\n  port: 3001\n  prot: 4\n", []string{"http.prot", "unknown key", "line 3"}},
		{"wrong type", "http:\n  port: abc\n", []string{"http.port", "line 2"}},
		{"option of another mode", "auth:\n  mode: public\n  remote:\n    clientId: x\n", []string{"auth.remote", "only used with mode orchestrated and type remote", "line 3"}},
		{"remote without provider", "auth:\n  mode: orchestrated\n  type: remote\n", []string{"auth.provider", "auth.remote.clientId", "auth.vault.key"}},
		{"transparent without audience", "auth:\n  mode: transparent\n  provider: https://idp.example\n", []string{"auth.expectedAudience", "must be set"}},
		{"missing variable", "auth:\n  tokenStorage:\n    type: file\n    config:\n      path: ${FRONTMCP_TEST_UNSET_VAR}\n", []string{"auth.tokenStorage.config.path", "FRONTMCP_TEST_UNSET_VAR", "line 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, "config", "check", writeFile(t, tt.yaml))
			if code != cli.ExitUsage {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, cli.ExitUsage, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			// serve refuses the same file before starting anything.
			code, _, stderr2 := runMain(t, "serve", "--config", writeFile(t, tt.yaml), "--port", "0")
			if code != cli.ExitUsage || strings.Contains(stderr2, "listening") {
				t.Fatalf("serve: exit %d, want %d without starting:\n%s", code, cli.ExitUsage, stderr2)
			}
		})
	}
}

func TestConfigCheckValidRedacts(t *testing.T) {
	const secret = "hunter2-redis-password"
	p := writeFile(t, "environment: development\nauth:\n  tokenStorage:\n    type: memory\nlogging:\n  redact: [session_id]\n")
	code, stdout, stderr := runMain(t, "config", "check", p)
	if code != 0 || !strings.Contains(stdout, "valid") || !strings.Contains(stdout, "type: memory") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if strings.Contains(stdout, secret) {
		t.Fatal("secret printed")
	}
}

func TestUsageAndVersion(t *testing.T) {
	if code, _, _ := runMain(t); code != cli.ExitUsage {
		t.Errorf("no args: exit %d", code)
	}
	if code, _, stderr := runMain(t, "frobnicate"); code != cli.ExitUsage || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: exit %d %s", code, stderr)
	}
	if code, stdout, _ := runMain(t, "version"); code != 0 || !strings.HasPrefix(stdout, "frontmcp ") {
		t.Errorf("version: exit %d %q", code, stdout)
	}
	if code, _, _ := runMain(t, "serve", "--bogus"); code != cli.ExitUsage {
		t.Errorf("bad flag: exit %d", code)
	}
}

var listening = regexp.MustCompile(`frontmcp listening" addr=(\S+)`)

// startServe starts a serve child and waits until it is ready.
func startServe(t *testing.T, mode string, args ...string) (*exec.Cmd, *bufio.Reader, string) {
	t.Helper()
	cmd := child(t, mode, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go func() { // keep draining so the child never blocks on stderr
				for sc.Scan() {
				}
			}()
			addr := "http://" + m[1]
			resp, err := http.Get(addr + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("/readyz: %d", resp.StatusCode)
			}
			return cmd, bufio.NewReader(stdout), addr
		}
		t.Log(sc.Text())
	}
	t.Fatalf("%s child exited before listening", mode)
	return nil, nil, ""
}

// TestFileStoreSurvivesRestart runs a file-backed server process that writes a
// record, stops it with SIGTERM, starts a new process on the same file and
// finds the record.
func TestFileStoreSurvivesRestart(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "state", "store.db")
	cfg := writeFile(t, fmt.Sprintf("auth:\n  mode: public\n  tokenStorage:\n    type: file\n    config:\n      path: %s\n", dbPath))

	first, _, _ := startServe(t, "serve-write", "--config", cfg, "--port", "0")
	first.Process.Signal(syscall.SIGTERM)
	if err := first.Wait(); err != nil {
		t.Fatalf("first server did not stop cleanly: %v", err)
	}

	second, stdout, _ := startServe(t, "serve-read", "--config", cfg, "--port", "0")
	line, _ := stdout.ReadBytes('\n')
	var got store.Client
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("second server output %q: %v", line, err)
	}
	if got.ID != restartClient.ID || got.Name != restartClient.Name || !got.CreatedAt.Equal(restartClient.CreatedAt) {
		t.Fatalf("after restart: %+v, want %+v", got, restartClient)
	}
	second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Fatalf("second server did not stop cleanly: %v", err)
	}
}

// `keys generate` prints a private JWK that the server accepts as its signing
// key, and the matching public JWK without private members.
func TestKeysGenerate(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			code, stdout, stderr := runMain(t, "keys", "generate", "--alg", alg, "--kid", "k-"+alg)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if len(lines) != 4 {
				t.Fatalf("output:\n%s", stdout)
			}
			k, err := keys.ParsePrivate([]byte(lines[1]))
			if err != nil || k.KeyID != "k-"+alg || k.Algorithm != alg {
				t.Fatalf("private line does not round-trip: %v (kid %q alg %q)", err, k.KeyID, k.Algorithm)
			}
			var pub map[string]any
			if err := json.Unmarshal([]byte(lines[3]), &pub); err != nil || pub["kid"] != "k-"+alg {
				t.Fatalf("public line %q: %v", lines[3], err)
			}
			for _, m := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := pub[m]; ok {
					t.Fatalf("public JWK has %q", m)
				}
			}
		})
	}
	if code, _, _ := runMain(t, "keys", "generate", "--alg", "HS256"); code != cli.ExitUsage {
		t.Errorf("--alg HS256: exit %d, want %d", code, cli.ExitUsage)
	}
}

// keys rotate publishes a next key next to the current one and lists both
// without private material. (On the memory store each run starts empty; the
// shared-store behaviour is covered where the file and Redis stores keep keys.)
func TestKeysRotateAndList(t *testing.T) {
	cfg := writeFile(t, "auth:\n  tokenStorage: {type: memory}\n")
	code, stdout, stderr := runMain(t, "keys", "rotate", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "current") || !strings.Contains(stdout, "next") || strings.Contains(stdout, `"d"`) {
		t.Fatalf("keys rotate output:\n%s", stdout)
	}
	code, stdout, _ = runMain(t, "keys", "list", "--config", cfg)
	if code != 0 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stdout, "current") {
		t.Fatalf("keys list: exit %d\n%s", code, stdout)
	}
}

func jwksKids(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// Two server processes started together on one file store generate exactly
// one signing key between them, and a restarted process signs with it too:
// tokens survive deployments and are valid on every instance.
func TestGeneratedKeySharedAcrossProcesses(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "store.db")
	cfg := writeFile(t, fmt.Sprintf(`auth:
  tokenStorage: {type: file, config: {path: %s}}
  local:
    users: [{username: u, passwordHash: "$2a$10$XiLohFzlMifl1batVHsHIu/dA5UwqFd/XRDCDrhioewtniQzdGwKW"}]
`, dbPath))
	type started struct {
		cmd  *exec.Cmd
		base string
	}
	results := make(chan started, 2)
	for range 2 {
		go func() {
			cmd, _, base := startServe(t, "serve", "--config", cfg, "--port", "0")
			results <- started{cmd, base}
		}()
	}
	a, b := <-results, <-results
	ka, kb := jwksKids(t, a.base), jwksKids(t, b.base)
	if len(ka) != 1 || len(kb) != 1 || ka[0] != kb[0] {
		t.Fatalf("instances publish %v and %v: want one shared key", ka, kb)
	}
	for _, s := range []started{a, b} {
		s.cmd.Process.Signal(syscall.SIGTERM)
		if err := s.cmd.Wait(); err != nil {
			t.Fatalf("server did not stop cleanly: %v", err)
		}
	}
	_, _, base := startServe(t, "serve", "--config", cfg, "--port", "0")
	if kc := jwksKids(t, base); len(kc) != 1 || kc[0] != ka[0] {
		t.Fatalf("after restart the JWKS is %v, want %v", kc, ka)
	}
}
