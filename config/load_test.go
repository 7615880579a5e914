package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// asErrors extracts Errors from err, failing the test if err is another
// kind of error.
func asErrors(t *testing.T, err error) Errors {
	t.Helper()
	var errs Errors
	if err != nil && !errors.As(err, &errs) {
		t.Fatalf("error %v is not Errors", err)
	}
	return errs
}

// errView is an *Error with its kind as text, for comparing.
type errView struct {
	Path string
	Line int
	Msg  string
	Kind string
}

// diffErrors compares errors field by field, the kind by identity.
func diffErrors(want, got Errors) string {
	view := func(es Errors) []errView {
		var out []errView
		for _, e := range es {
			kind := "<nil>"
			if e.Err != nil {
				kind = e.Err.Error()
			}
			out = append(out, errView{e.Path, e.Line, e.Msg, kind})
		}
		return out
	}
	return cmp.Diff(view(want), view(got))
}

// lines joins YAML lines, so test cases can be read with line numbers.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want Errors
	}{
		{
			name: "unknown top-level key",
			yaml: lines("info:", "  name: x", "htp:", "  port: 1"),
			want: Errors{{Path: "htp", Line: 3, Msg: `unknown key; did you mean "http"?`, Err: ErrUnknownKey}},
		},
		{
			name: "nested unknown key with suggestion",
			yaml: lines(
				"environment: development", // 1
				"http:",                    // 2
				"  port: 3001",             // 3
				"auth:",                    // 4
				"  tokenStorage:",          // 5
				"    type: file",           // 6
				"    confg:",               // 7
				"      path: x",            // 8
			),
			want: Errors{{Path: "auth.tokenStorage.confg", Line: 7, Msg: `unknown key; did you mean "config"?`, Err: ErrUnknownKey}},
		},
		{
			name: "unknown key differing in case",
			yaml: lines("http:", "  publicURL: https://x.example"),
			want: Errors{{Path: "http.publicURL", Line: 2, Msg: `unknown key; did you mean "publicUrl"?`, Err: ErrUnknownKey}},
		},
		{
			name: "unknown key without a close match",
			yaml: lines("logging:", "  colour: red"),
			want: Errors{{Path: "logging.colour", Line: 2, Msg: "unknown key", Err: ErrUnknownKey}},
		},
		{
			name: "wrong type integer",
			yaml: lines("http:", "  host: 127.0.0.1", "  port: abc"),
			want: Errors{{Path: "http.port", Line: 3, Msg: `expected an integer, got "abc"`, Err: ErrType}},
		},
		{
			name: "list where a string goes",
			yaml: lines("info:", "  name: [a, b]"),
			want: Errors{{Path: "info.name", Line: 2, Msg: "expected a string, got a list", Err: ErrType}},
		},
		{
			name: "scalar where a mapping goes",
			yaml: lines("http: 8080"),
			want: Errors{{Path: "http", Line: 1, Msg: `expected a mapping, got "8080"`, Err: ErrType}},
		},
		{
			name: "scalar where a list goes",
			yaml: lines("logging:", "  redact: access_token"),
			want: Errors{{Path: "logging.redact", Line: 2, Msg: `expected a list, got "access_token"`, Err: ErrType}},
		},
		{
			name: "null list item",
			yaml: lines("http:", "  allowedHosts: [a.example, ~]"),
			want: Errors{{Path: "http.allowedHosts[1]", Line: 2, Msg: "expected a string, got null", Err: ErrType}},
		},
		{
			name: "bad enum value",
			yaml: lines("auth:", "  mode: oauth"),
			want: Errors{{Path: "auth.mode", Line: 2, Msg: `invalid value "oauth" (allowed: public, transparent, orchestrated)`, Err: ErrValue}},
		},
		{
			name: "bad environment value",
			yaml: lines("environment: prod"),
			want: Errors{{Path: "environment", Line: 1, Msg: `invalid value "prod" (allowed: development, staging, production)`, Err: ErrValue}},
		},
		{
			name: "bad FRONTMCP_ENV",
			env:  map[string]string{"FRONTMCP_ENV": "dev"},
			want: Errors{{Path: "environment", Msg: `invalid value "dev" from FRONTMCP_ENV (allowed: development, staging, production)`, Err: ErrValue}},
		},
		{
			name: "duplicate key",
			yaml: lines("http:", "  port: 1", "  host: a", "  port: 2"),
			want: Errors{{Path: "http.port", Line: 4, Msg: "duplicate key, first set at line 2", Err: ErrDuplicateKey}},
		},
		{
			name: "duplicate top-level key",
			yaml: lines("logging:", "  level: info", "logging:", "  level: warn"),
			want: Errors{{Path: "logging", Line: 3, Msg: "duplicate key, first set at line 1", Err: ErrDuplicateKey}},
		},
		{
			name: "missing variable",
			yaml: lines("http:", "  port: ${PORT}"),
			want: Errors{{Path: "http.port", Line: 2, Msg: "environment variable PORT is not set (use ${PORT:-default} for a default)", Err: ErrVariable}},
		},
		{
			name: "VAR and VAR_FILE both set",
			yaml: lines("http:", "  port: ${PORT}"),
			env:  map[string]string{"PORT": "1", "PORT_FILE": "/run/secrets/port"},
			want: Errors{{Path: "http.port", Line: 2, Msg: "both PORT and PORT_FILE are set; set only one", Err: ErrVariable}},
		},
		{
			name: "VAR_FILE unreadable",
			yaml: lines("info:", "  name: ${NAME}"),
			env:  map[string]string{"NAME_FILE": "/nonexistent/name"},
			want: Errors{{Path: "info.name", Line: 2, Msg: "cannot read the file named by NAME_FILE: open /nonexistent/name: no such file or directory", Err: ErrVariable}},
		},
		{
			name: "invalid variable reference",
			yaml: lines("info:", "  name: ${1BAD}"),
			want: Errors{{Path: "info.name", Line: 2, Msg: `invalid variable reference "${1BAD}" (use ${NAME} or ${NAME:-default}; $$ for a literal $)`, Err: ErrVariable}},
		},
		{
			name: "unterminated variable reference",
			yaml: lines("info:", "  name: abc${X"),
			want: Errors{{Path: "info.name", Line: 2, Msg: `unterminated variable reference "${X" (write $$ for a literal $)`, Err: ErrVariable}},
		},
		{
			name: "redis key under type file",
			yaml: lines("auth:", "  tokenStorage:", "    type: file", "    config:", "      host: redis.local"),
			want: Errors{{Path: "auth.tokenStorage.config.host", Line: 5, Msg: `unknown key for tokenStorage type file; "host" belongs to type redis`, Err: ErrUnknownKey}},
		},
		{
			name: "redis key under default type",
			yaml: lines("auth:", "  tokenStorage:", "    config:", "      keyPrefix: x"),
			want: Errors{{Path: "auth.tokenStorage.config.keyPrefix", Line: 4, Msg: `unknown key for tokenStorage type file; "keyPrefix" belongs to type redis`, Err: ErrUnknownKey}},
		},
		{
			name: "config under type memory",
			yaml: lines("auth:", "  tokenStorage:", "    config:", "      path: x", "    type: memory"),
			want: Errors{{Path: "auth.tokenStorage.config.path", Line: 4, Msg: `unknown key for tokenStorage type memory (it takes no config); "path" belongs to type file`, Err: ErrUnknownKey}},
		},
		{
			name: "typo under file config",
			yaml: lines("auth:", "  tokenStorage:", "    config:", "      pth: x"),
			want: Errors{{Path: "auth.tokenStorage.config.pth", Line: 4, Msg: `unknown key for tokenStorage type file; did you mean "path"?`, Err: ErrUnknownKey}},
		},
		{
			name: "unknown tokenStorage key",
			yaml: lines("auth:", "  tokenStorage:", "    typ: file"),
			want: Errors{{Path: "auth.tokenStorage.typ", Line: 3, Msg: `unknown key; did you mean "type"?`, Err: ErrUnknownKey}},
		},
		{
			name: "bad storage type skips config",
			yaml: lines("auth:", "  tokenStorage:", "    type: sql", "    config:", "      dsn: x"),
			want: Errors{{Path: "auth.tokenStorage.type", Line: 3, Msg: `invalid value "sql" (allowed: memory, file, redis)`, Err: ErrValue}},
		},
		{
			name: "bool and duration in redis config",
			yaml: lines("auth:", "  tokenStorage:", "    type: redis", "    config:", "      host: localhost", "      tls: yes", "      dialTimeout: 5 seconds"),
			want: Errors{
				{Path: "auth.tokenStorage.config.tls", Line: 6, Msg: `expected true, false or a mapping, got "yes"`, Err: ErrType},
				{Path: "auth.tokenStorage.config.dialTimeout", Line: 7, Msg: `expected a duration (seconds as an integer, or a string like "15m"), got "5 seconds"`, Err: ErrType},
			},
		},
		{
			name: "negative duration",
			yaml: lines("auth:", "  refresh:", "    accessTokenTtl: -5"),
			want: Errors{{Path: "auth.refresh.accessTokenTtl", Line: 3, Msg: "must not be negative, got -5", Err: ErrType}},
		},
		{
			name: "duration that is not one",
			yaml: lines("auth:", "  refresh:", "    refreshTokenTtl: 7 days"),
			want: Errors{{Path: "auth.refresh.refreshTokenTtl", Line: 3, Msg: `expected a duration (seconds as an integer, or a string like "15m"), got "7 days"`, Err: ErrType}},
		},
		{
			name: "signKey that is not JSON",
			yaml: lines("auth:", "  local:", "    signKey: not-json"),
			want: Errors{{Path: "auth.local.signKey", Line: 3, Msg: `expected a JSON object such as a JWK ({"kty": ...})`, Err: ErrType}},
		},
		{
			name: "toolScopes entry that is not a list",
			yaml: lines("auth:", "  scopes: [read]", "  toolScopes:", "    echo: read"),
			want: Errors{{Path: "auth.toolScopes.echo", Line: 4, Msg: `expected a list, got "read"`, Err: ErrType}},
		},
		{
			name: "toolScopes entry that is empty",
			yaml: lines("auth:", "  scopes: [read]", "  toolScopes:", "    echo:", "    other: [read]"),
			want: Errors{{Path: "auth.toolScopes.echo", Line: 4, Msg: "expected a list, got null", Err: ErrType}},
		},
		{
			name: "toolScopes that is a list",
			yaml: lines("auth:", "  toolScopes: [echo]"),
			want: Errors{{Path: "auth.toolScopes", Line: 2, Msg: "expected a mapping, got a list", Err: ErrType}},
		},
		{
			name: "toolScopes scope of the wrong type",
			yaml: lines("auth:", "  scopes: [read]", "  toolScopes:", "    echo: [read, {a: b}]"),
			want: Errors{{Path: "auth.toolScopes.echo[1]", Line: 4, Msg: "expected a string, got a mapping", Err: ErrType}},
		},
		{
			name: "toolScopes duplicate tool",
			yaml: lines("auth:", "  scopes: [read]", "  toolScopes:", "    echo: [read]", "    echo: [read]"),
			want: Errors{{Path: "auth.toolScopes.echo", Line: 5, Msg: "duplicate key, first set at line 4", Err: ErrDuplicateKey}},
		},
		{
			name: "client scope not offered",
			yaml: lines(
				"auth:",                            // 1
				"  scopes: [read]",                 // 2
				"  clients:",                       // 3
				"    - clientId: c",                // 4
				"      redirectUris:",              // 5
				"        - https://app.example/cb", // 6
				"      scopes:",                    // 7
				"        - read",                   // 8
				"        - write",                  // 9
			),
			want: Errors{{Path: "auth.clients[0].scopes[1]", Line: 9, Msg: `scope "write" is not offered: add it to auth.scopes`, Err: ErrValue}},
		},
		{
			name: "toolScopes scope not offered",
			yaml: lines(
				"auth:",                     // 1
				"  scopes: [tools:read]",    // 2
				"  toolScopes:",             // 3
				"    echo: [tools:read]",    // 4
				"    delete: [tools:write]", // 5
				"    admin: [admin, 'a b']", // 6
			),
			want: Errors{
				{Path: "auth.toolScopes.delete[0]", Line: 5, Msg: `scope "tools:write" is not offered: add it to auth.scopes`, Err: ErrValue},
				{Path: "auth.toolScopes.admin[0]", Line: 6, Msg: `scope "admin" is not offered: add it to auth.scopes`, Err: ErrValue},
				{Path: "auth.toolScopes.admin[1]", Line: 6, Msg: "must be a scope token: printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)", Err: ErrValue},
			},
		},
		{
			name: "toolScopes without auth.scopes",
			yaml: lines("auth:", "  toolScopes:", "    echo: [read]"),
			want: Errors{{Path: "auth.toolScopes.echo[0]", Line: 3, Msg: `scope "read" is not offered: add it to auth.scopes`, Err: ErrValue}},
		},
		{
			name: "toolScopes with an empty tool name",
			yaml: lines("auth:", "  scopes: [read]", "  toolScopes:", "    '': [read]"),
			want: Errors{{Path: "auth.toolScopes.", Line: 4, Msg: "tool name must not be empty", Err: ErrValue}},
		},
		{
			name: "type with public mode",
			yaml: lines("auth:", "  mode: public", "  type: local"),
			want: Errors{{Path: "auth.type", Line: 3, Msg: "is only valid with mode orchestrated", Err: ErrValue}},
		},
		{
			name: "removed grant type",
			yaml: lines("auth:", "  clients:", "    - clientId: c", "      clientSecret: s", "      grantTypes: [client_credentials]"),
			want: Errors{{Path: "auth.clients[0].grantTypes[0]", Line: 5, Msg: `invalid value "client_credentials" (allowed: authorization_code, refresh_token)`, Err: ErrValue}},
		},
		{
			name: "user claim the server sets",
			yaml: lines(
				"auth:",                              // 1
				"  local:",                           // 2
				"    users:",                         // 3
				"      - username: alice",            // 4
				"        passwordHash: "+aliceBcrypt, // 5
				"        claims:",                    // 6
				"          sub: admin",               // 7
				"          email: a@example.com",     // 8
				"          scope: admin",             // 9
			),
			want: Errors{
				{Path: "auth.local.users[0].claims.sub", Line: 7, Msg: `claim "sub" is set by the server in every access token (RFC 9068 §2.2) and cannot be set per user`, Err: ErrValue},
				{Path: "auth.local.users[0].claims.scope", Line: 9, Msg: `claim "scope" is set by the server in every access token (RFC 9068 §2.2) and cannot be set per user`, Err: ErrValue},
			},
		},
		{
			name: "merge key",
			yaml: lines("http:", "  <<: {port: 1}"),
			want: Errors{{Path: "http.<<", Line: 2, Msg: "merge keys (<<) are not supported; write the keys out", Err: ErrUnknownKey}},
		},
		{
			name: "syntax error",
			yaml: lines("http:", "\tport: 1"),
			want: Errors{{Line: 2, Msg: "found character that cannot start any token", Err: ErrSyntax}},
		},
		{
			name: "two documents",
			yaml: lines("info: {}", "---", "info: {}"),
			want: Errors{{Line: 2, Msg: "a configuration file holds one YAML document; remove the second", Err: ErrSyntax}},
		},
		{
			name: "top level not a mapping",
			yaml: lines("- a"),
			want: Errors{{Line: 1, Msg: "the top level must be a mapping of keys (info, environment, http, auth, logging)", Err: ErrType}},
		},
		{
			name: "all errors collected in line order",
			yaml: lines(
				"logging:",        // 1
				"  level: loud",   // 2
				"http:",           // 3
				"  port: x",       // 4
				"  mcpPath: mcp",  // 5
				"  prot: 1",       // 6
				"info:",           // 7
				"  name: ${NAME}", // 8
			),
			want: Errors{
				{Path: "logging.level", Line: 2, Msg: `invalid value "loud" (allowed: debug, info, warn, error)`, Err: ErrValue},
				{Path: "http.port", Line: 4, Msg: `expected an integer, got "x"`, Err: ErrType},
				{Path: "http.mcpPath", Line: 5, Msg: "must start with /", Err: ErrValue},
				{Path: "http.prot", Line: 6, Msg: `unknown key; did you mean "port"?`, Err: ErrUnknownKey},
				{Path: "info.name", Line: 8, Msg: "environment variable NAME is not set (use ${NAME:-default} for a default)", Err: ErrVariable},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "c.yaml", envOpts(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded, want errors; config: %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			if diff := diffErrors(tt.want, asErrors(t, err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w.Err) {
					t.Errorf("errors.Is(err, %v) = false", w.Err)
				}
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse([]byte(lines("http:", "  port: abc", "  prot: 1")), "c.yaml", envOpts(nil))
	want := "config: 2 errors:\n\thttp.port: expected an integer, got \"abc\" (line 2)\n\thttp.prot: unknown key; did you mean \"port\"? (line 3)"
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Path != "http.port" {
		t.Errorf("errors.As(*Error) = %v, want the first error", e)
	}
}

func TestAliasBomb(t *testing.T) {
	// Each level references the previous one ten times: 10^7 values once
	// expanded, from a few hundred bytes.
	var b strings.Builder
	b.WriteString("auth:\n  local:\n    users:\n      - username: u\n        claims:\n")
	b.WriteString("          l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 7; i++ {
		b.WriteString("          l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := Parse([]byte(b.String()), "c.yaml", envOpts(nil))
	if !errors.Is(err, ErrValue) || !strings.Contains(err.Error(), "too many values or alias expansions") {
		t.Errorf("Parse error = %v, want the node limit", err)
	}
}

// TestRemoteKeys: orchestrated/remote mode and its keys load; they are
// refused, naming the key, where they do not apply.
func TestRemoteKeys(t *testing.T) {
	_, signKey := genKey(t, "ES256")
	vk := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	remote := []string{"auth:", "  mode: orchestrated", "  type: remote", "  provider: https://idp.example", "  remote:", "    clientId: x"}
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want Errors
	}{
		{"type remote", lines(append(remote, "  vault:", "    key: "+vk)...), nil, nil},
		{"remote without a vault key", lines(remote...), nil,
			Errors{{Path: "auth.vault.key", Line: 1, Err: ErrValue, Msg: "must be set (or VAULT_KEY) for type remote: the identity provider's tokens are stored encrypted with it (generate one with `frontmcp vault generate-key`)"}}},
		{"remote clientSecret from a variable", lines(append(remote, "    clientSecret: ${IDP_SECRET}")...), map[string]string{"IDP_SECRET": "s", "VAULT_KEY": vk}, nil},
		{"a copied claim the server sets", lines(append(remote, "    copyClaims: [email, sub]")...), map[string]string{"VAULT_KEY": vk},
			Errors{{Path: "auth.remote.copyClaims[1]", Line: 7, Err: ErrValue, Msg: `"sub" is set by this server and cannot be copied from the provider`}}},
		{"remote outside remote mode", lines("auth:", "  remote:", "    clientId: x"), nil,
			Errors{{Path: "auth.remote", Line: 2, Err: ErrValue, Msg: "is only used with mode orchestrated and type remote"}}},
		{"present but empty", lines("auth:", "  remote:"), nil,
			Errors{{Path: "auth.remote", Line: 2, Err: ErrValue, Msg: "is only used with mode orchestrated and type remote"}}},
		// skewSeconds is a refresh setting of the production checklist: any
		// orchestrated configuration may carry it.
		{"refresh skewSeconds", lines("auth:", "  refresh:", "    accessTokenTtl: 900", "    skewSeconds: 30"), nil, nil},
		{"signing keys", lines("auth:", "  local:", "    signKey: '"+signKey+"'", "    verifyKeys: ['"+signKey+"']", "    maxKeys: 3"), nil, nil},
		{"JWT_SIGNING_KEY fallback", lines("auth:", "  mode: orchestrated", "  local:", "    keyRotationDays: 0"),
			map[string]string{"JWT_SIGNING_KEY": signKey}, nil},
		{"remote fallbacks", lines("auth:", "  mode: orchestrated", "  type: remote"),
			map[string]string{"IDP_PROVIDER_URL": "https://idp.example", "IDP_CLIENT_ID": "id", "IDP_CLIENT_SECRET": "s", "VAULT_KEY": vk}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "c.yaml", envOpts(tt.env))
			if diff := diffErrors(tt.want, asErrors(t, err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChecklistExample(t *testing.T) {
	// The checklist's minimum production configuration: orchestrated mode
	// with local login, Redis storage, the signing key from
	// JWT_SIGNING_KEY, refresh (skewSeconds included) and consent all load.
	k, signKey := genKey(t, "ES256")
	env := map[string]string{"REDIS_HOST": "redis.example.com", "REDIS_PASSWORD": "pw", "JWT_SIGNING_KEY": signKey}
	errorsOf := func(err error) []string {
		var got []string
		for _, e := range asErrors(t, err) {
			got = append(got, e.Error())
		}
		return got
	}
	c, err := Load("testdata/checklist.yaml", envOpts(env))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Auth.Refresh.SkewSeconds != 60 {
		t.Errorf("skewSeconds = %d, want 60", c.Auth.Refresh.SkewSeconds)
	}

	// A public key in JWT_SIGNING_KEY is refused at the signKey line.
	env["JWT_SIGNING_KEY"] = publicJWK(t, k)
	_, err = Load("testdata/checklist.yaml", envOpts(env))
	want := []string{
		`auth.local.signKey: the JWK has no private part ("d"): this is a public key (line 19)`,
	}
	if diff := cmp.Diff(want, errorsOf(err)); diff != "" {
		t.Errorf("public key: mismatch (-want +got):\n%s", diff)
	}
}

func TestExpansion(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name       string
		value      string // the YAML value of info.name (line 2)
		env        map[string]string
		want       string
		wantSource string
	}{
		{"plain", "demo", nil, "demo", ""},
		{"variable", "${NAME}", map[string]string{"NAME": "svc"}, "svc", "env NAME via c.yaml:2"},
		{"inside text", "pre-${NAME}-post", map[string]string{"NAME": "svc"}, "pre-svc-post", "env NAME via c.yaml:2"},
		{"two variables", "${A}/${B}", map[string]string{"A": "a", "B": "b"}, "a/b", "env A, env B via c.yaml:2"},
		{"default when unset", "${NAME:-fallback}", nil, "fallback", ""},
		{"default when empty", "${NAME:-fallback}", map[string]string{"NAME": ""}, "fallback", ""},
		{"default not used when set", "${NAME:-fallback}", map[string]string{"NAME": "svc"}, "svc", "env NAME via c.yaml:2"},
		{"empty default", "x${NAME:-}y", nil, "xy", ""},
		{"default containing :-", "${NAME:-a:-b}", nil, "a:-b", ""},
		{"set but empty", "<${NAME}>", map[string]string{"NAME": ""}, "<>", "env NAME via c.yaml:2"},
		{"dollar escape", "'$${NAME}'", map[string]string{"NAME": "svc"}, "${NAME}", ""},
		{"lone dollars kept", "'cost $5, $x and $'", nil, "cost $5, $x and $", ""},
		{"quoted variable", `"${NAME}"`, map[string]string{"NAME": "svc"}, "svc", "env NAME via c.yaml:2"},
		{"VAR_FILE", "${NAME}", map[string]string{"NAME_FILE": write("a", "from-file\n")}, "from-file", "env NAME_FILE via c.yaml:2"},
		{"VAR_FILE CRLF", "${NAME}", map[string]string{"NAME_FILE": write("b", "from-file\r\n")}, "from-file", "env NAME_FILE via c.yaml:2"},
		{"VAR_FILE one newline trimmed", "${NAME}", map[string]string{"NAME_FILE": write("c", "two\n\n")}, "two\n", "env NAME_FILE via c.yaml:2"},
		{"VAR_FILE without newline", "${NAME}", map[string]string{"NAME_FILE": write("d", "raw")}, "raw", "env NAME_FILE via c.yaml:2"},
		{"VAR_FILE under a default", "${NAME:-x}", map[string]string{"NAME_FILE": write("e", "file\n")}, "file", "env NAME_FILE via c.yaml:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(lines("info:", "  name: "+tt.value)), "c.yaml", envOpts(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Info.Name != tt.want {
				t.Errorf("info.name = %q, want %q", c.Info.Name, tt.want)
			}
			want := map[string]string{}
			if tt.wantSource != "" {
				want["info.name"] = tt.wantSource
			}
			if diff := cmp.Diff(want, c.Sources()); diff != "" {
				t.Errorf("Sources mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTypedExpansion(t *testing.T) {
	yaml := lines(
		"http:",
		`  port: "${PORT}"`,
		`  allowedHosts: ["${HOST_A}", b.example]`,
		"logging:",
		"  level: ${LEVEL:-warn}",
	)
	c, err := Parse([]byte(yaml), "", envOpts(map[string]string{"PORT": "8080", "HOST_A": "a.example"}))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.HTTP.Port, c.HTTP.AllowedHosts, c.Logging.Level, c.Sources()}
	want := []any{8080, []string{"a.example", "b.example"}, LevelWarn, map[string]string{
		"http.port":            "env PORT via line 2",
		"http.allowedHosts[0]": "env HOST_A via line 3",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(c *Config)
	}{
		{"empty file", "", func(*Config) {}},
		{"comments only", "# nothing\n", func(*Config) {}},
		{"empty values keep defaults", lines("http:", "  port:", "logging: ~"), func(*Config) {}},
		{"config before type", lines("auth:", "  tokenStorage:", "    config:", "      path: /tmp/x.db", "    type: file"),
			func(c *Config) { c.Auth.TokenStorage.File.Path = "/tmp/x.db" }},
		{"memory with empty config", lines("auth:", "  tokenStorage:", "    type: memory", "    config: {}"),
			func(c *Config) { c.Auth.TokenStorage.Type = StorageMemory }},
		{"redis as the checklist writes it", lines(
			"auth:",
			"  tokenStorage:",
			"    type: redis",
			"    config: {host: redis.internal, port: 6380, password: pw, db: 2, tls: true, keyPrefix: 'app:'}",
		), func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis = RedisStorage{Host: "redis.internal", Port: 6380, Password: "pw", DB: 2,
				TLS: RedisTLS{Enabled: true}, KeyPrefix: "app:"}
		}},
		{"redis sentinel with private CA and client certificate", lines(
			"auth:",
			"  tokenStorage:",
			"    type: redis",
			"    config:",
			"      masterName: mymaster",
			"      sentinelAddrs: [s1.internal:26379, s2.internal:26379]",
			"      username: frontmcp",
			"      tls: {caFile: /etc/redis/ca.pem, certFile: /etc/redis/client.pem, keyFile: /etc/redis/client-key.pem, serverName: redis.internal}",
			"      poolSize: 20",
			"      dialTimeout: 2s",
			"      readTimeout: 500ms",
			"      writeTimeout: 1",
		), func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			r := &c.Auth.TokenStorage.Redis
			r.MasterName, r.SentinelAddrs, r.Username = "mymaster", []string{"s1.internal:26379", "s2.internal:26379"}, "frontmcp"
			r.TLS = RedisTLS{Enabled: true, CAFile: "/etc/redis/ca.pem", CertFile: "/etc/redis/client.pem",
				KeyFile: "/etc/redis/client-key.pem", ServerName: "redis.internal"}
			r.PoolSize, r.DialTimeout, r.ReadTimeout, r.WriteTimeout = 20, 2*time.Second, 500*time.Millisecond, time.Second
		}},
		{"redis cluster", lines(
			"auth:",
			"  tokenStorage:",
			"    type: redis",
			"    config: {clusterAddrs: ['10.0.0.1:6379', '10.0.0.2:6379', '10.0.0.3:6379']}",
		), func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.ClusterAddrs = []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"}
		}},
		{"redis URL", lines("auth:", "  tokenStorage:", "    type: redis", "    config: {url: 'rediss://user:pw@redis.internal:6380/1'}"),
			func(c *Config) {
				c.Auth.TokenStorage.Type = StorageRedis
				c.Auth.TokenStorage.Redis.URL = "rediss://user:pw@redis.internal:6380/1"
			}},
		{"aliases", lines("logging:", "  redact: &r [a.example]", "http:", "  allowedHosts: *r"),
			func(c *Config) {
				c.Logging.Redact = []string{"a.example"}
				c.HTTP.AllowedHosts = []string{"a.example"}
			}},
		{"flow style and quoting", lines(`{http: {port: "8080", host: '::1'}, info: {name: "x", version: 2}}`),
			func(c *Config) {
				c.HTTP.Port, c.HTTP.Host = 8080, "::1"
				c.Info = Info{Name: "x", Version: "2"}
			}},
		{"port zero leaves publicUrl empty", lines("http:", "  port: 0"),
			func(c *Config) { c.HTTP.Port, c.HTTP.PublicURL = 0, "" }},
		{"public mode and both session modes", lines("auth:", "  mode: public", "  sessionMode: stateless"),
			func(c *Config) { c.Auth.Mode, c.Auth.Type, c.Auth.SessionMode = ModePublic, "", SessionStateless }},
		{"orchestrated without a type is local", lines("auth:", "  mode: orchestrated"), func(*Config) {}},
		{"local users with bcrypt and argon2id hashes", lines(
			"auth:",
			"  local:",
			"    users:",
			"      - username: alice",
			"        passwordHash: "+aliceBcrypt,
			"        claims: {email: alice@example.com, tenant: 7, roles: [a, b]}",
			"      - {username: bob, passwordHash: '"+bobArgon2id+"'}",
			"      - username: carol",
			"        passwordHash: $2b$10$4PF4yNXFfox8Yo25QU9mh.TTORvwqgkjz0NC7R8yN9UgkVMCry5tG", // $2b$, cost 10
			"      - username: dave",
			"        passwordHash: $argon2id$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo", // no v=
		), func(c *Config) {
			c.Auth.Local.Users = []User{
				{Username: "alice", PasswordHash: aliceBcrypt, Claims: map[string]any{"email": "alice@example.com", "tenant": 7, "roles": []any{"a", "b"}}},
				{Username: "bob", PasswordHash: bobArgon2id},
				{Username: "carol", PasswordHash: "$2b$10$4PF4yNXFfox8Yo25QU9mh.TTORvwqgkjz0NC7R8yN9UgkVMCry5tG"},
				{Username: "dave", PasswordHash: "$argon2id$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"},
			}
		}},
		{"password hash from the environment", lines("auth:", "  local:", "    users:", "      - {username: alice, passwordHash: '${HASH}'}"),
			func(c *Config) { c.Auth.Local.Users = []User{{Username: "alice", PasswordHash: aliceBcrypt}} }},
		{"refresh TTLs as seconds", lines("auth:", "  refresh:", "    accessTokenTtl: 900", "    refreshTokenTtl: 86400", "    absoluteLifetime: 0"),
			func(c *Config) {
				c.Auth.Refresh.AccessTokenTTL, c.Auth.Refresh.RefreshTokenTTL, c.Auth.Refresh.AbsoluteLifetime = 15*time.Minute, 24*time.Hour, 0
			}},
		{"refresh TTLs as durations", lines("auth:", "  refresh:", "    accessTokenTtl: 5m", "    refreshTokenTtl: 36h", "    absoluteLifetime: 2160h"),
			func(c *Config) {
				c.Auth.Refresh.AccessTokenTTL, c.Auth.Refresh.RefreshTokenTTL, c.Auth.Refresh.AbsoluteLifetime = 5*time.Minute, 36*time.Hour, 90*24*time.Hour
			}},
		{"refresh off", lines("auth:", "  refresh: {enabled: false, rotateRefreshToken: false}"),
			func(c *Config) { c.Auth.Refresh.Enabled, c.Auth.Refresh.RotateRefreshToken = false, false }},
		{"consent, allowDefaultPublic and dcrEnabled", lines("auth:", "  consent: {enabled: false}", "  allowDefaultPublic: true", "  dcrEnabled: false"),
			func(c *Config) {
				c.Auth.Consent.Enabled, c.Auth.AllowDefaultPublic, c.Auth.DCREnabled = false, true, false
			}},
		{"clients, scopes and toolScopes", lines(
			"auth:",
			"  scopes: [tools:read, tools:write, 'admin']",
			"  clients:",
			"    - clientId: public-app",
			"      redirectUris: [http://127.0.0.1/cb, 'http://[::1]:8080/cb', https://app.example/cb]",
			"    - clientId: web",
			"      clientSecret: '${WEB_SECRET}'",
			"      tokenEndpointAuthMethod: client_secret_basic",
			"      redirectUris: [https://web.example/cb]",
			"      grantTypes: [authorization_code]",
			"      scopes: [tools:read]",
			"  toolScopes:",
			"    echo: [tools:read]",
			"    'files.delete': [tools:write, admin]",
			"    noscope: []",
		), func(c *Config) {
			c.Auth.Scopes = []string{"tools:read", "tools:write", "admin"}
			c.Auth.Clients = []Client{
				{ClientID: "public-app", RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]:8080/cb", "https://app.example/cb"}},
				{ClientID: "web", ClientSecret: "web-secret", TokenEndpointAuthMethod: AuthMethodClientSecretBasic,
					RedirectURIs: []string{"https://web.example/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"tools:read"}},
			}
			c.Auth.ToolScopes = map[string][]string{"echo": {"tools:read"}, "files.delete": {"tools:write", "admin"}, "noscope": {}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml), "c.yaml", envOpts(map[string]string{"HASH": aliceBcrypt, "WEB_SECRET": "web-secret"}))
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate of the parsed config: %v", err)
			}
			want := Default(Development)
			tt.want(want)
			if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"900", "15m0s", ""},
		{"0", "0s", ""},
		{"15m", "15m0s", ""},
		{"1h30m", "1h30m0s", ""},
		{"-1", "", "must not be negative, got -1"},
		{"-5m", "", "must not be negative, got -5m"},
		{"1.5", "", `expected a duration (seconds as an integer, or a string like "15m"), got "1.5"`},
		{"99999999999999", "", "duration 99999999999999 seconds is too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := parseDuration(tt.in)
			var got, gotErr string
			if err != nil {
				gotErr = err.Error()
			} else {
				got = d.String()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("parseDuration(%q) = %q, %q; want %q, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}

func TestLoadOptionsDefaults(t *testing.T) {
	public := func(c *Config) { c.Auth.Mode = ModePublic }
	tests := []struct {
		name     string
		defaults func(*Config)
		yaml     string
		env      map[string]string
		want     func(*Config) // applied to Default(environment)
		wantErrs Errors
	}{
		{name: "changes the default", defaults: public,
			want: func(c *Config) { c.Auth.Mode, c.Auth.Type = ModePublic, "" }},
		{name: "the file overrides it", defaults: public, yaml: lines("auth:", "  mode: orchestrated"),
			want: func(*Config) {}},
		{name: "the file adds to it", defaults: func(c *Config) { public(c); c.Logging.Level = LevelWarn },
			yaml: lines("logging:", "  format: json"),
			want: func(c *Config) {
				c.Auth.Mode, c.Auth.Type = ModePublic, ""
				c.Logging.Level, c.Logging.Format = LevelWarn, FormatJSON
			}},
		{name: "applied after the environment's defaults", env: map[string]string{"FRONTMCP_ENV": "staging"},
			defaults: func(c *Config) {
				if c.Environment == Staging && c.Auth.Refresh.AccessTokenTTL == 30*time.Minute {
					c.Auth.Refresh.AccessTokenTTL = 10 * time.Minute
				}
			},
			want: func(c *Config) { c.Auth.Refresh.AccessTokenTTL = 10 * time.Minute }},
		{name: "still validated with the file", defaults: public, yaml: lines("auth:", "  type: local"),
			wantErrs: Errors{{Path: "auth.type", Line: 2, Msg: "is only valid with mode orchestrated", Err: ErrValue}}},
		{name: "invalid value", defaults: func(c *Config) { c.HTTP.Port = -1 },
			wantErrs: Errors{{Path: "http.port", Msg: "must be between 1 and 65535, or 0 to pick a free port; got -1", Err: ErrValue}}},
		{name: "remote mode by default", defaults: func(c *Config) { c.Auth.Type = TypeRemote },
			yaml: lines("http:", "  port: 8080"),
			wantErrs: Errors{
				{Path: "auth.provider", Msg: "must be set (or IDP_PROVIDER_URL) for mode orchestrated", Err: ErrValue},
				{Path: "auth.remote.clientId", Msg: "must be set (or IDP_CLIENT_ID) for type remote", Err: ErrValue},
				{Path: "auth.vault.key", Msg: "must be set (or VAULT_KEY) for type remote: the identity provider's tokens are stored encrypted with it (generate one with `frontmcp vault generate-key`)", Err: ErrValue},
			}},
		{name: "skewSeconds by default", defaults: func(c *Config) { c.Auth.Refresh.SkewSeconds = 30 },
			want: func(c *Config) { c.Auth.Refresh.SkewSeconds = 30 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := envOpts(tt.env)
			opts.Defaults = tt.defaults
			got, err := Parse([]byte(tt.yaml), "c.yaml", opts)
			if diff := diffErrors(tt.wantErrs, asErrors(t, err)); diff != "" {
				t.Fatalf("errors mismatch (-want +got):\n%s", diff)
			}
			if tt.wantErrs != nil {
				return
			}
			want := Default(got.Environment)
			tt.want(want)
			if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate of the loaded config: %v", err)
			}
		})
	}
}
