package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/frontmcp-go/frontmcp/config"
	"golang.org/x/oauth2"
)

// revocationDeadline bounds how long a revocation may take to reach a
// running server's MCP endpoint (servers check the shared store about every
// second).
const revocationDeadline = 5 * time.Second

// operatorEnv is two server instances behind one public URL on one file
// store, and the configuration file the operator commands read.
type operatorEnv struct {
	configPath string
	mcpURLs    []string // the MCP endpoint of each instance
}

// startInstances writes testdata/local.yaml with a file store and starts two
// servers on it, as two instances of one deployment: both use the public URL
// of the first (the issuer and the tokens' audience), each listens on its
// own port.
func startInstances(t *testing.T) *operatorEnv {
	t.Helper()
	base, err := os.ReadFile("testdata/local.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	dir := t.TempDir()
	storage := fmt.Sprintf("tokenStorage: {type: file, config: {path: %q}}", filepath.Join(dir, "store.db"))
	yaml := strings.Replace(string(base), "tokenStorage: {type: memory}", storage, 1)
	if yaml == string(base) {
		t.Fatal("testdata/local.yaml has no tokenStorage line to replace")
	}
	yaml += fmt.Sprintf("http: {publicUrl: %q}\n", "http://"+addrs[0])
	env := &operatorEnv{configPath: filepath.Join(dir, "frontmcp.yaml")}
	if err := os.WriteFile(env.configPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, addr := range addrs {
		cfg, err := config.Load(env.configPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(addr)
		fmt.Sscan(port, &cfg.HTTP.Port)
		t.Cleanup(serveAt(t, cfg, addr))
		env.mcpURLs = append(env.mcpURLs, "http://"+addr+cfg.HTTP.MCPPath)
	}
	return env
}

// operator runs a frontmcp command against the instances' configuration in
// this process, requires exit 0 and returns its output.
func (e *operatorEnv) operator(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--config", e.configPath)
	code := cli.Main(t.Context(), args, &cli.Options{Stdout: &out, Stderr: &errb,
		LookupEnv: func(string) (string, bool) { return "", false }})
	if code != cli.ExitOK {
		t.Fatalf("frontmcp %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// operatorJSON runs a command with --json and decodes its output into v.
func (e *operatorEnv) operatorJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := e.operator(t, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("frontmcp %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// refusedEverywhere waits until every instance refuses accessToken with 401
// invalid_token, polling until revocationDeadline.
func (e *operatorEnv) refusedEverywhere(t *testing.T, ctx context.Context, accessToken string) {
	t.Helper()
	deadline := time.Now().Add(revocationDeadline)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for _, u := range e.mcpURLs {
		for mcpStatus(t, u, accessToken) != http.StatusUnauthorized && time.Now().Before(deadline) {
			<-tick.C
		}
		checkTokenRefused(t, ctx, u, accessToken)
	}
}

// servedEverywhere checks that every instance accepts accessToken.
func (e *operatorEnv) servedEverywhere(t *testing.T, accessToken string) {
	t.Helper()
	for _, u := range e.mcpURLs {
		if got := mcpStatus(t, u, accessToken); got != http.StatusOK {
			t.Fatalf("POST %s with a valid access token: %d, want 200", u, got)
		}
	}
}

// refresh redeems a refresh token with cfg (x/oauth2 refreshes an expired token).
func refresh(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
}

// The operator commands work on the store of running servers: revoking a
// user's grants ends the user's access on every instance (the refresh token
// at once, the access token within a few seconds); a client added from the
// command line completes a real OAuth flow; removing it ends its access.
func TestOperatorCommands(t *testing.T) {
	ctx := context.Background()
	env := startInstances(t)
	_, asm, err := discover(ctx, env.mcpURLs[0])
	if err != nil {
		t.Fatal(err)
	}
	resource := env.mcpURLs[0]
	endpoint := oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint}

	type listedGrant struct {
		ID       string   `json:"id"`
		User     string   `json:"user"`
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
		Status   string   `json:"status"`
	}
	type listedClient struct {
		ClientID string `json:"client_id"`
		Source   string `json:"source"`
	}

	t.Run("revoke a user", func(t *testing.T) {
		const redirect = "http://127.0.0.1:9/dcr-callback"
		rc, err := registerClient(ctx, asm.RegistrationEndpoint, redirect)
		if err != nil {
			t.Fatal(err)
		}
		oc := &oauth2.Config{ClientID: rc.ClientID, Endpoint: endpoint, RedirectURL: redirect, Scopes: []string{scopeTools}}
		tok := authorizeAndExchange(t, ctx, oc, resource)
		env.servedEverywhere(t, tok.AccessToken)

		var grants []listedGrant
		env.operatorJSON(t, &grants, "grants", "list", "--user", testUser)
		if len(grants) != 1 || grants[0].User != testUser || grants[0].ClientID != rc.ClientID ||
			grants[0].Status != "active" || !slices.Equal(grants[0].Scopes, []string{scopeTools}) {
			t.Fatalf("grants list --user %s: %+v, want the one active grant of client %s", testUser, grants, rc.ClientID)
		}
		var clients []listedClient
		env.operatorJSON(t, &clients, "clients", "list")
		if !slices.Contains(clients, listedClient{rc.ClientID, "dynamic"}) {
			t.Errorf("clients list: %+v, want the registered client %s as dynamic", clients, rc.ClientID)
		}

		rot, err := refresh(ctx, oc, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh before the revocation: %v", err)
		}
		if out := env.operator(t, "grants", "revoke", "--user", testUser); out != "1 grant revoked\n" {
			t.Fatalf("grants revoke --user %s: %q", testUser, out)
		}
		_, err = refresh(ctx, oc, rot.RefreshToken)
		checkRetrieveError(t, err, "invalid_grant")
		env.refusedEverywhere(t, ctx, rot.AccessToken)
		env.refusedEverywhere(t, ctx, tok.AccessToken)

		env.operatorJSON(t, &grants, "grants", "list", "--user", testUser)
		if len(grants) != 1 || grants[0].Status != "revoked" {
			t.Errorf("grants list after the revocation: %+v, want the grant revoked", grants)
		}
		if out := env.operator(t, "grants", "revoke", "--user", testUser); out != "0 grants revoked\n" {
			t.Errorf("grants revoke again: %q, want 0", out)
		}
	})

	t.Run("add and remove a client", func(t *testing.T) {
		const redirect = "http://127.0.0.1:9/operator-callback"
		var added struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		env.operatorJSON(t, &added, "clients", "add", "--redirect-uri", redirect, "--name", "Operator app",
			"--confidential", "--scope", scopeTools)
		if added.ClientID == "" || added.ClientSecret == "" {
			t.Fatalf("clients add --confidential: %+v", added)
		}
		oc := &oauth2.Config{ClientID: added.ClientID, ClientSecret: added.ClientSecret, Endpoint: endpoint,
			RedirectURL: redirect, Scopes: []string{scopeTools}}
		oc.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		tok := authorizeAndExchange(t, ctx, oc, resource)
		env.servedEverywhere(t, tok.AccessToken)
		_, claims, err := jwtParts(tok.AccessToken)
		if err != nil || claims["client_id"] != added.ClientID || claims["sub"] != testUser {
			t.Fatalf("access token of the added client: %v, %v", claims, err)
		}
		rot, err := refresh(ctx, oc, tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh with the added client: %v", err)
		}
		// The secret is checked: a wrong one is refused.
		wrong := *oc
		wrong.ClientSecret = "not-the-secret"
		if _, err := refresh(ctx, &wrong, rot.RefreshToken); !isTokenError(err, "invalid_client") {
			t.Errorf("refresh with a wrong client secret: %v, want invalid_client", err)
		}

		if out := env.operator(t, "clients", "remove", added.ClientID); !strings.Contains(out, "1 grant revoked") {
			t.Fatalf("clients remove: %q", out)
		}
		if _, err := refresh(ctx, oc, rot.RefreshToken); !isTokenError(err, "invalid_client") {
			t.Errorf("refresh after clients remove: %v, want invalid_client", err)
		}
		env.refusedEverywhere(t, ctx, rot.AccessToken)
		var clients []listedClient
		env.operatorJSON(t, &clients, "clients", "list")
		if slices.ContainsFunc(clients, func(c listedClient) bool { return c.ClientID == added.ClientID }) {
			t.Errorf("clients list after remove: %+v", clients)
		}
	})
}

// isTokenError reports whether err is a token endpoint error with code
// (RFC 6749 §5.2).
func isTokenError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
