package multi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/frontmcp-go/frontmcp/authserver"
	"github.com/frontmcp-go/frontmcp/bench/client"
	"github.com/frontmcp-go/frontmcp/internal/childproc"
	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
)

// The user of the servers (the one of e2e/testdata/local.yaml) and the
// scope the clients ask for.
const (
	testUser     = "alice"
	testPassword = "alice-test-password"
	// bcrypt of testPassword.
	testPasswordHash = "$2a$10$XiLohFzlMifl1batVHsHIu/dA5UwqFd/XRDCDrhioewtniQzdGwKW"
	scopeTools       = "mcp:tools"
)

// redirectURI is a loopback redirect URI (RFC 8252 §7.3). Nothing listens
// there: the user agent stops at the redirect.
const redirectURI = "http://127.0.0.1:4711/callback"

// readyTimeout bounds how long a server may take to answer /readyz 200.
const readyTimeout = 60 * time.Second

// settings describe a deployment.
type settings struct {
	// Instances is the number of frontmcp serve processes.
	Instances int
	// ReuseGraceSeconds is auth.refresh.reuseGraceSeconds.
	ReuseGraceSeconds int
	// RedisTimeout, when set, is the store's dialTimeout, readTimeout and
	// writeTimeout.
	RedisTimeout time.Duration
	// RedisAddr, when set, is where the servers find Redis instead of the
	// deployment's redis (a proxy in front of it).
	RedisAddr string
}

// deployment is several frontmcp serve processes on one Redis, sharing one
// public URL (that of the first instance, the issuer and resource of every
// token) as they would behind a load balancer.
type deployment struct {
	t         *testing.T
	dir       string
	redis     *redistest.Server
	publicURL string
	instances []*instance
	http      *http.Client
}

// instance is one frontmcp serve process.
type instance struct {
	name    string
	base    string // http://127.0.0.1:port
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
}

// deploy writes the configuration and starts s.Instances servers on redis,
// each on a free loopback port, and waits until each is ready. They are
// stopped (SIGTERM, by pid) when the test ends.
func deploy(t *testing.T, redis *redistest.Server, s settings) *deployment {
	t.Helper()
	bin := frontmcpBinary(t)
	d := &deployment{
		t:     t,
		dir:   t.TempDir(),
		redis: redis,
		http:  &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	ports := make([]int, s.Instances)
	for i := range ports {
		ports[i] = freePort(t)
	}
	d.publicURL = "http://127.0.0.1:" + strconv.Itoa(ports[0])
	cfgPath := filepath.Join(d.dir, "frontmcp.yaml")
	redisAddr := cmpOr(s.RedisAddr, redis.Addr)
	if err := os.WriteFile(cfgPath, []byte(configYAML(d.publicURL, redisAddr, s)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, in := range d.instances {
			if err := in.stop(); err != nil {
				t.Errorf("%s: %v", in.name, err)
			}
		}
		if t.Failed() {
			for _, in := range d.instances {
				t.Logf("log of %s:\n%s", in.name, tail(in.logPath, 40))
			}
		}
	})
	for i, port := range ports {
		name := string(rune('A' + i))
		in := &instance{name: name, base: "http://127.0.0.1:" + strconv.Itoa(port), logPath: filepath.Join(d.dir, name+".log")}
		logFile, err := os.Create(in.logPath)
		if err != nil {
			t.Fatal(err)
		}
		in.cmd = exec.Command(bin, "serve", "--config", cfgPath, "--port", strconv.Itoa(port))
		in.cmd.Env = serverEnv()
		in.cmd.Stdout, in.cmd.Stderr = logFile, logFile
		if err := childproc.Start(in.cmd); err != nil {
			logFile.Close()
			t.Fatalf("start %s: %v", name, err)
		}
		logFile.Close()
		in.done = make(chan struct{})
		go func() { in.cmd.Wait(); close(in.done) }()
		d.instances = append(d.instances, in)
	}
	for _, in := range d.instances {
		if err := d.waitReady(in, readyTimeout); err != nil {
			t.Fatalf("%s: %v\n%s", in.name, err, tail(in.logPath, 40))
		}
	}
	return d
}

// configYAML is the servers' configuration: orchestrated/local mode, one
// user, consent on, the Redis store, logs at info (the tests read some).
func configYAML(publicURL, redisAddr string, s settings) string {
	host, port, _ := net.SplitHostPort(redisAddr)
	var b strings.Builder
	b.WriteString("environment: development\n")
	b.WriteString("info: {name: frontmcp-multi, version: 1.0.0}\n")
	b.WriteString("logging: {level: info}\n")
	fmt.Fprintf(&b, "http: {publicUrl: %q}\n", publicURL)
	b.WriteString("auth:\n  mode: orchestrated\n  type: local\n")
	fmt.Fprintf(&b, "  tokenStorage:\n    type: redis\n    config: {host: %s, port: %s", host, port)
	if s.RedisTimeout > 0 {
		fmt.Fprintf(&b, ", dialTimeout: %s, readTimeout: %[1]s, writeTimeout: %[1]s", s.RedisTimeout)
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "  scopes: [%s]\n", scopeTools)
	fmt.Fprintf(&b, "  local:\n    users:\n      - username: %s\n        passwordHash: %q\n", testUser, testPasswordHash)
	fmt.Fprintf(&b, "  refresh: {accessTokenTtl: 300, reuseGraceSeconds: %d}\n", s.ReuseGraceSeconds)
	b.WriteString("  consent: {enabled: true}\n")
	return b.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// stop ends the process with SIGTERM (a graceful shutdown), or SIGKILL after
// 15 s, and waits for it.
func (in *instance) stop() error {
	select {
	case <-in.done:
		return fmt.Errorf("exited before the end of the test: %v", in.cmd.ProcessState)
	default:
	}
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case <-in.done:
		return nil
	case <-timer.C:
		in.cmd.Process.Kill()
		<-in.done
		return errors.New("no exit within 15 s of SIGTERM; killed")
	}
}

// pid is the process id of the server.
func (in *instance) pid() int { return in.cmd.Process.Pid }

// running reports whether the process is still there.
func (in *instance) running() bool {
	select {
	case <-in.done:
		return false
	default:
		return true
	}
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// countLog counts the lines of the instance's log containing s.
func (in *instance) countLog(s string) int {
	f, err := os.Open(in.logPath)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

// readyz returns the status of GET /readyz.
func (d *deployment) readyz(ctx context.Context, in *instance) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.base+"/readyz", nil)
	if err != nil {
		return 0, err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitReady polls /readyz until it answers 200, the process exits, or
// timeout passes.
func (d *deployment) waitReady(in *instance, timeout time.Duration) error {
	return poll(timeout, func() (bool, error) {
		if !in.running() {
			return false, fmt.Errorf("exited at start: %v", in.cmd.ProcessState)
		}
		st, err := d.readyz(context.Background(), in)
		return err == nil && st == http.StatusOK, nil
	})
}

// poll calls f every 50 ms until it reports done or an error, or timeout
// passes.
func poll(timeout time.Duration, f func() (done bool, err error)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %v", timeout)
		}
		<-tick.C
	}
}

// fingerprint is a short SHA-256 prefix of a secret, for messages: tokens
// are never logged.
func fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:4])
}

// register registers a public client by dynamic client registration
// (RFC 7591 §3.1) at in and returns its client_id.
func (d *deployment) register(ctx context.Context, in *instance) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"client_name":                "frontmcp multi-instance test",
		"redirect_uris":              []string{redirectURI},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.base+authserver.PathRegister, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var c struct {
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &c) != nil || c.ClientID == "" {
		return "", fmt.Errorf("POST %s: %d %.300s", req.URL, resp.StatusCode, b)
	}
	return c.ClientID, nil
}

// oauthConfig is the golang.org/x/oauth2 configuration of clientID with the
// endpoints of in.
func (d *deployment) oauthConfig(clientID string, in *instance) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID,
		Endpoint: oauth2.Endpoint{
			AuthURL:   in.base + authserver.PathAuthorize,
			TokenURL:  in.base + authserver.PathToken,
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: redirectURI,
		Scopes:      []string{scopeTools},
	}
}

// oauthContext makes x/oauth2 use the deployment's HTTP client.
func (d *deployment) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, d.http)
}

// authorize runs the authorization request of clientID at in (login and
// consent pages submitted by a user agent) and returns the code and its
// PKCE verifier (RFC 7636).
func (d *deployment) authorize(ctx context.Context, clientID string, in *instance) (code, verifier string, err error) {
	verifier = oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()
	authURL := d.oauthConfig(clientID, in).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("resource", d.mcpURL()))
	ua := &client.UserAgent{HTTP: d.http, Username: testUser, Password: testPassword}
	loc, err := ua.Authorize(ctx, authURL, redirectURI)
	if err != nil {
		return "", "", fmt.Errorf("authorize at %s: %w", in.name, err)
	}
	q := loc.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		return "", "", fmt.Errorf("authorize at %s: redirect without code or with another state: error=%q", in.name, q.Get("error"))
	}
	return q.Get("code"), verifier, nil
}

// exchange redeems a code at in (RFC 6749 §4.1.3).
func (d *deployment) exchange(ctx context.Context, clientID string, in *instance, code, verifier string) (*oauth2.Token, error) {
	return d.oauthConfig(clientID, in).Exchange(d.oauthContext(ctx), code, oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("resource", d.mcpURL()))
}

// login registers a client at in, authorizes it and redeems the code there.
func (d *deployment) login(ctx context.Context, in *instance) (clientID string, tok *oauth2.Token, err error) {
	if clientID, err = d.register(ctx, in); err != nil {
		return "", nil, err
	}
	code, verifier, err := d.authorize(ctx, clientID, in)
	if err != nil {
		return "", nil, err
	}
	tok, err = d.exchange(ctx, clientID, in, code, verifier)
	return clientID, tok, err
}

// refresh sends a refresh_token grant for refreshToken to in (RFC 6749 §6).
func (d *deployment) refresh(ctx context.Context, clientID string, in *instance, refreshToken string) (*oauth2.Token, error) {
	ts := d.oauthConfig(clientID, in).TokenSource(d.oauthContext(ctx),
		&oauth2.Token{RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Hour)})
	return ts.Token()
}

// oauthError returns the HTTP status and the error code of a failed token
// request, or 0 and "" when the request got no HTTP answer.
func oauthError(err error) (status int, code string) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode, re.ErrorCode
	}
	return 0, ""
}

// mcpURL is the canonical resource URL, the audience of every token.
func (d *deployment) mcpURL() string { return d.publicURL + "/mcp" }

// mcpReply is the answer to one MCP request.
type mcpReply struct {
	status    int
	sessionID string
	rpc       *client.RPCResponse // the JSON-RPC response, if the body held one
	body      string
}

// initializeBody is an MCP initialize request with id 1.
var initializeBody = fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"frontmcp-multi","version":"1"}}}`, client.ProtocolVersion)

// toolsCallBody calls the binary's whoami tool with id.
func toolsCallBody(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`, id)
}

// mcp sends one Streamable HTTP request to in's MCP endpoint with the bearer
// token and, when set, the session id (MCP 2025-06-18, "Transports"). A
// JSON-RPC request's response is parsed from a JSON or event-stream body.
func (d *deployment) mcp(ctx context.Context, in *instance, method, accessToken, sessionID, body string, id int64) (*mcpReply, error) {
	req, err := http.NewRequestWithContext(ctx, method, in.base+"/mcp", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	if sessionID != "" {
		req.Header.Set("Mcp-Session-Id", sessionID)
		req.Header.Set("Mcp-Protocol-Version", client.ProtocolVersion)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	r := &mcpReply{status: resp.StatusCode, sessionID: resp.Header.Get("Mcp-Session-Id"), body: string(b)}
	if resp.StatusCode == http.StatusOK && id > 0 {
		if r.rpc, err = client.ParseResponse(resp.Header.Get("Content-Type"), b, id); err != nil {
			return r, fmt.Errorf("%s %s: %w", method, req.URL, err)
		}
	}
	return r, nil
}

// openSession initializes an MCP session at in and sends
// notifications/initialized; it returns the session id.
func (d *deployment) openSession(ctx context.Context, in *instance, accessToken string) (string, error) {
	r, err := d.mcp(ctx, in, http.MethodPost, accessToken, "", initializeBody, 1)
	if err != nil {
		return "", err
	}
	if r.status != http.StatusOK || r.sessionID == "" {
		return "", fmt.Errorf("initialize at %s: %d, session id %q: %.300s", in.name, r.status, r.sessionID, r.body)
	}
	n, err := d.mcp(ctx, in, http.MethodPost, accessToken, r.sessionID, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, 0)
	if err != nil {
		return "", err
	}
	if n.status != http.StatusAccepted {
		return "", fmt.Errorf("notifications/initialized at %s: %d: %.300s", in.name, n.status, n.body)
	}
	return r.sessionID, nil
}

// whoamiSubject is the subject the whoami tool reports in a tools/call
// response.
func whoamiSubject(r *client.RPCResponse) (string, error) {
	var res struct {
		IsError           bool `json:"isError"`
		StructuredContent struct {
			Subject string `json:"subject"`
		} `json:"structuredContent"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil {
		return "", err
	}
	if res.IsError {
		return "", fmt.Errorf("whoami returned an error result: %s", r.Result)
	}
	return res.StructuredContent.Subject, nil
}

// grantKey is the Redis key of the grant a refresh token names
// (<grantID>.<secret>; grant ids hold no braces), under the default key
// prefix (docs/deployment.md, "Key layout").
func grantKey(refreshToken string) string {
	id, _, _ := strings.Cut(refreshToken, ".")
	return "frontmcp:grant:{" + id + "}"
}
