package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/go-cmp/cmp"
)

// opsResult is one in-process run of the command line.
type opsResult struct {
	code           int
	stdout, stderr string
}

// runOps runs cli.Main in-process with no environment variables.
func runOps(t *testing.T, args ...string) opsResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(t.Context(), args, &cli.Options{
		Stdout: &out, Stderr: &errb,
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	return opsResult{code, out.String(), errb.String()}
}

// opsJSON runs a command that must succeed with --json and decodes its output.
func opsJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	r := runOps(t, append(args, "--json")...)
	if r.code != cli.ExitOK {
		t.Fatalf("frontmcp %s: exit %d, stderr %s", strings.Join(args, " "), r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("frontmcp %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

// opsConfig writes a configuration with the given tokenStorage section, the
// scopes mcp:tools and mcp:admin and one pre-registered client, "cfg-app".
func opsConfig(t *testing.T, tokenStorage string) string {
	t.Helper()
	return writeFile(t, `environment: development
auth:
  mode: orchestrated
  type: local
  tokenStorage: `+tokenStorage+`
  scopes: [mcp:tools, mcp:admin]
  clients:
    - clientId: cfg-app
      clientSecret: configured-secret
      redirectUris: ["https://app.example.com/cb"]
`)
}

// fileStore returns a configuration on a new file store and the store, open
// in this process beside the commands the way a server would have it open.
func fileStore(t *testing.T) (string, store.Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	cfgPath := opsConfig(t, fmt.Sprintf("{type: file, config: {path: %q}}", path))
	st, err := frontmcp.OpenStore(config.TokenStorage{Type: config.StorageFile, File: config.FileStorage{Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return cfgPath, st
}

// listedClient is the part of clients list --json the tests read.
type listedClient struct {
	ClientID string `json:"client_id"`
	Name     string `json:"client_name"`
	Type     string `json:"type"`
	Method   string `json:"token_endpoint_auth_method"`
	Source   string `json:"source"`
}

// addedClient is the part of clients add --json the tests read.
type addedClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Name         string   `json:"client_name"`
	RedirectURIs []string `json:"redirect_uris"`
	Method       string   `json:"token_endpoint_auth_method"`
	Scope        string   `json:"scope"`
}

// listedGrant is the part of grants list --json the tests read.
type listedGrant struct {
	ID       string   `json:"id"`
	User     string   `json:"user"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
	Status   string   `json:"status"`
}

func newGrant(t *testing.T, st store.Store, id, user, client string) *store.Grant {
	t.Helper()
	now := time.Now().UTC()
	g := &store.Grant{
		ID: id, ClientID: client, Subject: user, Scopes: []string{"mcp:tools"},
		RefreshHash:      token.Hash("refresh-" + id),
		RefreshExpiresAt: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}
	if err := st.CreateGrant(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestClientsAddListRemove(t *testing.T) {
	cfg, st := fileStore(t)
	ctx := t.Context()

	var added addedClient
	opsJSON(t, &added, "clients", "add", "--config", cfg, "--redirect-uri", "http://127.0.0.1:9/cb",
		"--redirect-uri", "https://app.example.com/cb", "--name", "Report bot", "--confidential", "--scope", "mcp:tools")
	if added.ClientID == "" || added.ClientSecret == "" {
		t.Fatalf("clients add --confidential: %+v, want a client_id and a secret", added)
	}
	want := addedClient{ClientID: added.ClientID, ClientSecret: added.ClientSecret, Name: "Report bot",
		RedirectURIs: []string{"http://127.0.0.1:9/cb", "https://app.example.com/cb"}, Method: "client_secret_basic", Scope: "mcp:tools"}
	if diff := cmp.Diff(want, added); diff != "" {
		t.Errorf("clients add (-want +got):\n%s", diff)
	}
	c, err := st.GetClient(ctx, added.ClientID)
	if err != nil {
		t.Fatalf("the added client is not in the store: %v", err)
	}
	if c.SecretHash != token.Hash(added.ClientSecret) || c.Dynamic {
		t.Errorf("stored client: secret hash matches %v, dynamic %v; want the secret's hash, not dynamic", c.SecretHash == token.Hash(added.ClientSecret), c.Dynamic)
	}

	// A public client with a chosen ID; the text output names it.
	r := runOps(t, "clients", "add", "--client-id", "desk-app", "--redirect-uri", "http://127.0.0.1/cb", "--config", cfg)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "client_id: desk-app\n") || strings.Contains(r.stdout, "secret") {
		t.Fatalf("clients add public: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A dynamically registered client, as the registration endpoint stores it.
	if err := st.CreateClient(ctx, &store.Client{ID: "dcr-1", Name: "Registered", RedirectURIs: []string{"http://127.0.0.1/x"},
		TokenEndpointAuthMethod: "none", Dynamic: true, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	var list []listedClient
	opsJSON(t, &list, "clients", "list", "--config", cfg)
	got := make(map[string]listedClient)
	for _, c := range list {
		got[c.ClientID] = c
	}
	wantList := map[string]listedClient{
		"cfg-app":      {ClientID: "cfg-app", Name: "cfg-app", Type: "confidential", Method: "client_secret_basic", Source: "config"},
		added.ClientID: {ClientID: added.ClientID, Name: "Report bot", Type: "confidential", Method: "client_secret_basic", Source: "cli"},
		"desk-app":     {ClientID: "desk-app", Type: "public", Method: "none", Source: "cli"},
		"dcr-1":        {ClientID: "dcr-1", Name: "Registered", Type: "public", Method: "none", Source: "dynamic"},
	}
	if diff := cmp.Diff(wantList, got); diff != "" {
		t.Errorf("clients list (-want +got):\n%s", diff)
	}
	table := runOps(t, "clients", "list", "--config", cfg)
	for _, out := range []string{table.stdout, mustJSON(t, list)} {
		for _, secret := range []string{added.ClientSecret, c.SecretHash, "configured-secret", token.Hash("configured-secret")} {
			if strings.Contains(out, secret) {
				t.Errorf("clients list shows a secret or its hash:\n%s", out)
			}
		}
	}
	if !strings.Contains(table.stdout, "Report bot") || !strings.Contains(table.stdout, "https://app.example.com/cb") {
		t.Errorf("clients list table:\n%s", table.stdout)
	}

	// remove deletes the client and revokes its grants, and only its.
	g1 := newGrant(t, st, "g-1", "alice", added.ClientID)
	g2 := newGrant(t, st, "g-2", "bob", added.ClientID)
	other := newGrant(t, st, "g-3", "alice", "desk-app")
	r = runOps(t, "clients", "remove", added.ClientID, "--config", cfg)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "2 grants revoked") {
		t.Fatalf("clients remove: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := st.GetClient(ctx, added.ClientID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removed client: GetClient = %v, want ErrNotFound", err)
	}
	for _, g := range []*store.Grant{g1, g2} {
		if sg, err := st.GetGrant(ctx, g.ID); err != nil || sg.RevokedAt.IsZero() {
			t.Errorf("grant %s of the removed client: %+v, %v; want revoked", g.ID, sg, err)
		}
	}
	if sg, err := st.GetGrant(ctx, other.ID); err != nil || !sg.RevokedAt.IsZero() {
		t.Errorf("grant of another client: %+v, %v; want untouched", sg, err)
	}
	// A refresh with the removed grant's token fails in the store too.
	if _, err := st.RotateRefresh(ctx, g1.ID, g1.RefreshHash, token.Hash("next"), time.Now().Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refresh of a revoked grant: %v, want ErrNotFound", err)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"again", []string{added.ClientID}, cli.ExitFailure, "no client " + added.ClientID + " in the file store"},
		{"configured", []string{"cfg-app"}, cli.ExitFailure, "auth.clients[0]"},
		{"no ID", nil, cli.ExitUsage, "usage:"},
		{"two IDs", []string{"a", "b"}, cli.ExitUsage, "usage:"},
	} {
		r := runOps(t, append([]string{"clients", "remove", "--config", cfg}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("clients remove %s: exit %d, stderr %q; want %d mentioning %q", tc.name, r.code, r.stderr, tc.code, tc.msg)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Bad input is refused with a message naming the problem and stores nothing.
func TestClientsAddRejects(t *testing.T) {
	cfg, st := fileStore(t)
	if r := runOps(t, "clients", "add", "--client-id", "taken", "--redirect-uri", "http://127.0.0.1/cb", "--config", cfg); r.code != cli.ExitOK {
		t.Fatalf("clients add: exit %d %s", r.code, r.stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no redirect URI", nil, cli.ExitUsage, "--redirect-uri is required"},
		{"script redirect", []string{"--redirect-uri", "javascript:alert(1)"}, cli.ExitUsage, "javascript"},
		{"fragment", []string{"--redirect-uri", "https://app.example.com/cb#x"}, cli.ExitUsage, "fragment"},
		{"unknown scope", []string{"--redirect-uri", "http://127.0.0.1/cb", "--scope", "mcp:everything"}, cli.ExitUsage, "mcp:everything"},
		{"control character in name", []string{"--redirect-uri", "http://127.0.0.1/cb", "--name", "a\x1bb"}, cli.ExitUsage, "client_name"},
		{"space in client ID", []string{"--redirect-uri", "http://127.0.0.1/cb", "--client-id", "a b"}, cli.ExitUsage, "client_id"},
		{"configured client ID", []string{"--redirect-uri", "http://127.0.0.1/cb", "--client-id", "cfg-app"}, cli.ExitFailure, "the configuration (auth.clients)"},
		{"stored client ID", []string{"--redirect-uri", "http://127.0.0.1/cb", "--client-id", "taken"}, cli.ExitFailure, "already registered in the file store"},
		{"unknown flag", []string{"--redirect-uri", "http://127.0.0.1/cb", "--secret", "x"}, cli.ExitUsage, "not defined"},
		{"positional", []string{"--redirect-uri", "http://127.0.0.1/cb", "extra"}, cli.ExitUsage, "usage:"},
	} {
		r := runOps(t, append([]string{"clients", "add", "--config", cfg}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%s: exit %d, stderr %q; want %d mentioning %q", tc.name, r.code, r.stderr, tc.code, tc.msg)
		}
		if r.stdout != "" {
			t.Errorf("%s: stdout %q, want nothing", tc.name, r.stdout)
		}
	}
	clients, err := st.ListClients(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) != 1 || clients[0].ID != "taken" {
		t.Errorf("store holds %d clients after refused adds, want only the first", len(clients))
	}
}

func TestGrantsListAndRevoke(t *testing.T) {
	cfg, st := fileStore(t)
	ctx := t.Context()
	newGrant(t, st, "a-1", "alice", "app-1")
	newGrant(t, st, "a-2", "alice", "app-2")
	newGrant(t, st, "b-1", "bob", "app-1")
	// Generated IDs are base64url and may start with '-'.
	newGrant(t, st, "-b-2", "bob", "app-2")

	grantsOf := func(args ...string) []listedGrant {
		t.Helper()
		var gs []listedGrant
		opsJSON(t, &gs, append([]string{"grants", "list", "--config", cfg}, args...)...)
		return gs
	}
	all := grantsOf()
	if len(all) != 4 {
		t.Fatalf("grants list: %d grants, want 4: %+v", len(all), all)
	}
	if diff := cmp.Diff([]listedGrant{{ID: "a-1", User: "alice", ClientID: "app-1", Scopes: []string{"mcp:tools"}, Status: "active"},
		{ID: "a-2", User: "alice", ClientID: "app-2", Scopes: []string{"mcp:tools"}, Status: "active"}}, grantsOf("--user", "alice")); diff != "" {
		t.Errorf("grants list --user alice (-want +got):\n%s", diff)
	}
	if got := grantsOf("--user", "alice", "--client", "app-2"); len(got) != 1 || got[0].ID != "a-2" {
		t.Errorf("grants list --user alice --client app-2: %+v", got)
	}
	table := runOps(t, "grants", "list", "--config", cfg, "--client", "app-1")
	if table.code != cli.ExitOK || !strings.Contains(table.stdout, "a-1") || !strings.Contains(table.stdout, "b-1") || strings.Contains(table.stdout, "a-2") {
		t.Errorf("grants list --client app-1 table: exit %d\n%s", table.code, table.stdout)
	}
	raw := runOps(t, "grants", "list", "--config", cfg, "--json")
	if strings.Contains(raw.stdout+table.stdout, token.Hash("refresh-a-1")) {
		t.Error("grants list shows a refresh token hash")
	}

	status := func(id string) string {
		t.Helper()
		g, err := st.GetGrant(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if g.RevokedAt.IsZero() {
			return "active"
		}
		return "revoked"
	}
	for _, step := range []struct {
		args   []string
		code   int
		stdout string
		after  map[string]string
	}{
		{[]string{"--user", "alice", "--client", "app-1"}, cli.ExitOK, "1 grant revoked\n",
			map[string]string{"a-1": "revoked", "a-2": "active", "b-1": "active"}},
		{[]string{"--user", "alice"}, cli.ExitOK, "1 grant revoked\n",
			map[string]string{"a-1": "revoked", "a-2": "revoked", "b-1": "active"}},
		{[]string{"--user", "alice"}, cli.ExitOK, "0 grants revoked\n", nil},
		{[]string{"--user", "nobody"}, cli.ExitOK, "0 grants revoked\n", nil},
		{[]string{"--", "-b-2"}, cli.ExitOK, "1 grant revoked\n", map[string]string{"-b-2": "revoked", "b-1": "active"}},
		{[]string{"-b-2", "--"}, cli.ExitUsage, "", nil}, // "-b-2" before "--" is a flag
		{[]string{"b-1"}, cli.ExitOK, "1 grant revoked\n", map[string]string{"b-1": "revoked"}},
		{[]string{"b-1"}, cli.ExitOK, "0 grants revoked\n", nil},
		{[]string{"unknown"}, cli.ExitFailure, "", nil},
		{nil, cli.ExitUsage, "", nil},
		{[]string{"b-1", "--user", "bob"}, cli.ExitUsage, "", nil},
		{[]string{"b-1", "a-1"}, cli.ExitUsage, "", nil},
	} {
		r := runOps(t, append([]string{"grants", "revoke", "--config", cfg}, step.args...)...)
		if r.code != step.code || r.stdout != step.stdout {
			t.Errorf("grants revoke %q: exit %d, stdout %q (stderr %q); want %d, %q", step.args, r.code, r.stdout, r.stderr, step.code, step.stdout)
		}
		for id, want := range step.after {
			if got := status(id); got != want {
				t.Errorf("after grants revoke %q: grant %s is %s, want %s", step.args, id, got, want)
			}
		}
	}
	if got := grantsOf("--user", "alice"); len(got) != 2 || got[0].Status != "revoked" || got[1].Status != "revoked" {
		t.Errorf("grants list after revoking alice: %+v, want both revoked", got)
	}

	// --client alone revokes a client's grants; --json lists what it revoked.
	newGrant(t, st, "c-1", "carol", "app-3")
	newGrant(t, st, "c-2", "dave", "app-3")
	var res struct{ Revoked []string }
	opsJSON(t, &res, "grants", "revoke", "--client", "app-3", "--config", cfg)
	if diff := cmp.Diff([]string{"c-1", "c-2"}, res.Revoked); diff != "" {
		t.Errorf("grants revoke --client --json (-want +got):\n%s", diff)
	}
}

// The memory store lives in one server process: the commands refuse it.
func TestOperatorCommandsRefuseMemoryStore(t *testing.T) {
	cfg := opsConfig(t, "{type: memory}")
	for _, args := range [][]string{
		{"clients", "list"}, {"clients", "add", "--redirect-uri", "http://127.0.0.1/cb"}, {"clients", "remove", "x"},
		{"grants", "list"}, {"grants", "revoke", "--user", "alice"},
	} {
		r := runOps(t, append(args, "--config", cfg)...)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "memory store") || !strings.Contains(r.stderr, "file or redis") {
			t.Errorf("%s on the memory store: exit %d, stderr %q; want 2 explaining why", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

func TestOperatorUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"clients"}, cli.ExitUsage, "usage: frontmcp clients"},
		{[]string{"clients", "purge"}, cli.ExitUsage, `unknown command "purge"`},
		{[]string{"grants"}, cli.ExitUsage, "usage: frontmcp grants"},
		{[]string{"grants", "delete"}, cli.ExitUsage, `unknown command "delete"`},
		{[]string{"grants", "list", "--config", "/nonexistent/frontmcp.yaml"}, cli.ExitUsage, "/nonexistent/frontmcp.yaml"},
		{[]string{"clients", "help"}, cli.ExitOK, "usage: frontmcp clients"},
		{[]string{"grants", "--help"}, cli.ExitOK, "usage: frontmcp grants"},
	} {
		r := runOps(t, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.msg) {
			t.Errorf("frontmcp %s: exit %d, want %d mentioning %q\n%s%s", strings.Join(tc.args, " "), r.code, tc.code, tc.msg, r.stdout, r.stderr)
		}
	}
	if r := runOps(t, "help"); !strings.Contains(r.stdout, "frontmcp clients") || !strings.Contains(r.stdout, "frontmcp grants") {
		t.Errorf("frontmcp help does not list the operator commands:\n%s", r.stdout)
	}
}

// testRedis returns the address of a Redis server: scripts/redis-test.sh's,
// else one started for the test.
func testRedis(t *testing.T) string {
	t.Helper()
	if addr := os.Getenv(redistest.EnvAddr); addr != "" {
		return addr
	}
	srv, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr
}

func redisConfig(t *testing.T, addr string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("cli-ops-%d:", time.Now().UnixNano())
	return opsConfig(t, fmt.Sprintf("{type: redis, config: {host: %q, port: %s, keyPrefix: %q}}", host, port, prefix))
}

// The commands work the same on Redis, shared with a server that uses it.
func TestOperatorCommandsRedis(t *testing.T) {
	cfgPath := redisConfig(t, testRedis(t))
	cfg, err := config.Load(cfgPath, &config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := frontmcp.OpenStore(cfg.Auth.TokenStorage)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var added addedClient
	opsJSON(t, &added, "clients", "add", "--config", cfgPath, "--redirect-uri", "http://127.0.0.1/cb", "--name", "Redis app")
	if c, err := st.GetClient(t.Context(), added.ClientID); err != nil || c.Name != "Redis app" || c.SecretHash != "" {
		t.Fatalf("client added on Redis: %+v, %v", c, err)
	}
	newGrant(t, st, "r-1", "alice", added.ClientID)
	newGrant(t, st, "r-2", "bob", added.ClientID)
	var gs []listedGrant
	opsJSON(t, &gs, "grants", "list", "--user", "alice", "--config", cfgPath)
	if len(gs) != 1 || gs[0].ID != "r-1" || gs[0].Status != "active" {
		t.Errorf("grants list --user alice on Redis: %+v", gs)
	}
	if r := runOps(t, "grants", "revoke", "--user", "alice", "--config", cfgPath); r.code != cli.ExitOK || r.stdout != "1 grant revoked\n" {
		t.Errorf("grants revoke on Redis: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if g, err := st.GetGrant(t.Context(), "r-1"); err != nil || g.RevokedAt.IsZero() {
		t.Errorf("grant r-1 after revoke: %+v, %v", g, err)
	}
	if r := runOps(t, "clients", "remove", added.ClientID, "--config", cfgPath); r.code != cli.ExitOK || !strings.Contains(r.stdout, "1 grant revoked") {
		t.Errorf("clients remove on Redis: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if g, err := st.GetGrant(t.Context(), "r-2"); err != nil || g.RevokedAt.IsZero() {
		t.Errorf("grant r-2 after clients remove: %+v, %v", g, err)
	}
	var list []listedClient
	opsJSON(t, &list, "clients", "list", "--config", cfgPath)
	if slices.ContainsFunc(list, func(c listedClient) bool { return c.ClientID == added.ClientID }) {
		t.Errorf("removed client still listed: %+v", list)
	}
}

// An unreachable store fails with exit 1 and names where it looked.
func TestOperatorStoreUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := redisConfig(t, addr)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var errb bytes.Buffer
	code := cli.Main(ctx, []string{"grants", "list", "--config", cfg}, &cli.Options{Stdout: &bytes.Buffer{}, Stderr: &errb,
		LookupEnv: func(string) (string, bool) { return "", false }})
	if code != cli.ExitFailure || !strings.Contains(errb.String(), "redis store "+addr) {
		t.Errorf("grants list on an unreachable Redis: exit %d, stderr %q; want 1 naming %s", code, errb.String(), addr)
	}
}
