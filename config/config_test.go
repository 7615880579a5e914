package config

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// envOpts returns LoadOptions reading variables from m instead of the
// process environment.
func envOpts(m map[string]string) *LoadOptions {
	return &LoadOptions{LookupEnv: func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}}
}

var ignoreUnexported = cmpopts.IgnoreUnexported(Config{})

func TestDefault(t *testing.T) {
	want := &Config{
		Info:        Info{Name: "frontmcp", Version: "0.0.0"},
		Environment: Development,
		HTTP:        HTTP{Host: "127.0.0.1", Port: 3001, MCPPath: "/mcp"},
		Auth: Auth{
			Mode:        ModeOrchestrated,
			Type:        TypeLocal,
			SessionMode: SessionStateful,
			Session:     Session{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 24 * time.Hour},
			TokenStorage: TokenStorage{
				Type:  StorageFile,
				File:  FileStorage{Path: ".frontmcp/store.db"},
				Redis: RedisStorage{Port: 6379, KeyPrefix: "frontmcp:"},
			},
			Local: Local{MaxKeys: 3},
			Transparent: Transparent{
				ClockLeeway:  30 * time.Second,
				JWKSCacheTTL: JWKSCacheTTL{Min: time.Minute, Max: time.Hour, Stale: 24 * time.Hour},
			},
			Remote: Remote{SubjectClaim: "sub"},
			Refresh: Refresh{
				Enabled:            true,
				AccessTokenTTL:     time.Hour,
				RefreshTokenTTL:    7 * 24 * time.Hour,
				RotateRefreshToken: true,
				SkewSeconds:        60,
				AbsoluteLifetime:   30 * 24 * time.Hour,
			},
			Consent:    Consent{Enabled: true},
			DCREnabled: true,
			DCR:        DCR{MaxClients: 1000},
			CIMD:       CIMD{CacheTTL: CacheTTL{Min: time.Minute, Max: 24 * time.Hour}},
		},
		Logging: Logging{Level: LevelInfo, Format: FormatText},
	}
	if diff := cmp.Diff(want, Default(Development), ignoreUnexported); diff != "" {
		t.Errorf("Default(development) mismatch (-want +got):\n%s", diff)
	}

	// The environment-dependent defaults (checklist "Token Lifetime
	// Guidelines"; DCR off and no implicit mode in production).
	type envDefaults struct {
		Mode            AuthMode
		Type            AuthType
		AccessTokenTTL  time.Duration
		RefreshTokenTTL time.Duration
		DCREnabled      bool
	}
	tests := []struct {
		env  Environment
		want envDefaults
	}{
		{Development, envDefaults{ModeOrchestrated, TypeLocal, time.Hour, 7 * 24 * time.Hour, true}},
		{Staging, envDefaults{ModeOrchestrated, TypeLocal, 30 * time.Minute, 7 * 24 * time.Hour, true}},
		{Production, envDefaults{"", TypeLocal, 15 * time.Minute, 7 * 24 * time.Hour, false}},
	}
	for _, tt := range tests {
		t.Run(string(tt.env), func(t *testing.T) {
			c := Default(tt.env)
			got := envDefaults{c.Auth.Mode, c.Auth.Type, c.Auth.Refresh.AccessTokenTTL, c.Auth.Refresh.RefreshTokenTTL, c.Auth.DCREnabled}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if c.Environment != tt.env {
				t.Errorf("Environment = %q, want %q", c.Environment, tt.env)
			}
		})
	}
}

func TestLoadNoFileGivesDefaults(t *testing.T) {
	for _, env := range []Environment{Development, Staging} {
		t.Run(string(env), func(t *testing.T) {
			got, err := Load("", envOpts(map[string]string{"FRONTMCP_ENV": string(env)}))
			if err != nil {
				t.Fatal(err)
			}
			want := Default(env)
			if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate of loaded defaults: %v", err)
			}
		})
	}
}

func TestEnvironmentResolution(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		want    Environment
		wantTTL time.Duration
	}{
		{"default", "", nil, Development, time.Hour},
		{"file", "environment: staging\n", nil, Staging, 30 * time.Minute},
		{"FRONTMCP_ENV overrides file", "environment: development\n", map[string]string{"FRONTMCP_ENV": "staging"}, Staging, 30 * time.Minute},
		{"FRONTMCP_ENV without file key", "info: {name: x}\n", map[string]string{"FRONTMCP_ENV": "staging"}, Staging, 30 * time.Minute},
		{"expanded in file", "environment: ${STAGE}\n", map[string]string{"STAGE": "staging"}, Staging, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "c.yaml", envOpts(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Environment != tt.want || c.Auth.Refresh.AccessTokenTTL != tt.wantTTL {
				t.Errorf("got environment %q ttl %v, want %q %v", c.Environment, c.Auth.Refresh.AccessTokenTTL, tt.want, tt.wantTTL)
			}
		})
	}
}

func TestEnvironmentProductionDefaultsApplyBeforeFile(t *testing.T) {
	// Production defaults are chosen from FRONTMCP_ENV before the file is
	// read, so the file's missing auth.mode is reported.
	yaml := "http:\n  publicUrl: https://mcp.example.com\n"
	_, err := Parse([]byte(yaml), "c.yaml", envOpts(map[string]string{"FRONTMCP_ENV": "production"}))
	want := Errors{{Path: "auth.mode", Msg: "must be set explicitly in production (public, transparent or orchestrated), so the server never runs unauthenticated by accident", Err: ErrInsecure}}
	if diff := diffErrors(want, asErrors(t, err)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestMCPURLAndListenAddr(t *testing.T) {
	tests := []struct {
		name       string
		http       HTTP
		wantMCP    string
		wantListen string
	}{
		{"defaults", HTTP{Host: "127.0.0.1", Port: 3001, MCPPath: "/mcp"}, "http://127.0.0.1:3001/mcp", "127.0.0.1:3001"},
		{"public URL with slash", HTTP{Host: "0.0.0.0", Port: 8080, PublicURL: "https://api.example.com/tools/", MCPPath: "/mcp"}, "https://api.example.com/tools/mcp", "0.0.0.0:8080"},
		{"unspecified host", HTTP{Host: "0.0.0.0", Port: 80, MCPPath: "/"}, "http://localhost:80/", "0.0.0.0:80"},
		{"IPv6", HTTP{Host: "::1", Port: 3001, MCPPath: "/mcp"}, "http://[::1]:3001/mcp", "[::1]:3001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default(Development)
			c.HTTP = tt.http
			if got := c.MCPURL(); got != tt.wantMCP {
				t.Errorf("MCPURL() = %q, want %q", got, tt.wantMCP)
			}
			if got := c.ListenAddr(); got != tt.wantListen {
				t.Errorf("ListenAddr() = %q, want %q", got, tt.wantListen)
			}
		})
	}
}

// Password hashes and secrets of the testdata files.
const (
	aliceBcrypt = "$2a$12$4PF4yNXFfox8Yo25QU9mh.TTORvwqgkjz0NC7R8yN9UgkVMCry5tG"                                      // "alice-password"
	bobArgon2id = "$argon2id$v=19$m=65536,t=3,p=4$JpZDESYCBhshj1xQHf36Cw$6mc9KaXRGdItD03D14NNSSuitRX92XV4ywT0TvySAVM" // "bob-password"
	// backendSecret is a high-entropy client secret, as from
	// openssl rand -base64 32.
	backendSecret = "q0Zt6v1yR4mJ8dWc2LxN5pHs9KfB3gUa7eTiVoYr1Ck="
)

// testdataEnv is the environment the testdata files reference.
var testdataEnv = map[string]string{"BACKEND_CLIENT_SECRET": backendSecret, "ALICE_PASSWORD_HASH": aliceBcrypt}

func TestLoadTestdata(t *testing.T) {
	tests := []struct {
		file string
		want func(c *Config)
	}{
		{"testdata/development.yaml", func(c *Config) {
			c.Info = Info{Name: "demo", Version: "1.2.3"}
			c.HTTP = HTTP{Host: "127.0.0.1", Port: 8080, MCPPath: "/mcp",
				AllowedHosts: []string{"mcp.internal:8080"}, AllowedOrigins: []string{"http://localhost:5173"}}
			c.Auth.Mode, c.Auth.Type = ModeOrchestrated, TypeLocal
			c.Auth.SessionMode = SessionStateless
			c.Auth.TokenStorage.Type = StorageMemory
			c.Auth.Local.Users = []User{
				{Username: "alice", PasswordHash: aliceBcrypt, Claims: map[string]any{"email": "alice@example.com", "groups": []any{"admin", "dev"}}},
				{Username: "bob", PasswordHash: bobArgon2id},
			}
			c.Auth.Refresh = Refresh{Enabled: true, AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 72 * time.Hour,
				RotateRefreshToken: true, SkewSeconds: 60, AbsoluteLifetime: 720 * time.Hour}
			c.Auth.Consent.Enabled = false
			c.Auth.AllowDefaultPublic = true
			c.Auth.DCREnabled = true
			c.Auth.Clients = []Client{
				{ClientID: "inspector", RedirectURIs: []string{"http://127.0.0.1:6276/oauth/callback"},
					TokenEndpointAuthMethod: AuthMethodNone, Scopes: []string{"tools:read"}},
				{ClientID: "backend", ClientSecret: backendSecret,
					RedirectURIs:            []string{"https://app.example.com/callback", "cursor://anysphere.cursor-retrieval/oauth/callback"},
					TokenEndpointAuthMethod: AuthMethodClientSecretPost, GrantTypes: []string{"authorization_code", "refresh_token"}},
			}
			c.Auth.Scopes = []string{"tools:read", "tools:write"}
			c.Auth.ToolScopes = map[string][]string{"echo": {"tools:read"}, "delete_file": {"tools:read", "tools:write"}}
			c.Logging = Logging{Level: LevelDebug, Format: FormatText, Redact: []string{"session_id"}}
		}},
		{"testdata/public.yaml", func(c *Config) {
			c.Info = Info{Name: "demo", Version: "1.2.3"}
			c.HTTP = HTTP{Host: "127.0.0.1", Port: 8080, MCPPath: "/mcp",
				AllowedHosts: []string{"mcp.internal:8080"}, AllowedOrigins: []string{"http://localhost:5173"}}
			c.Auth.Mode = ModePublic
			c.Auth.Type = "" // the login type applies to orchestrated mode only
			c.Auth.SessionMode = SessionStateless
			c.Auth.TokenStorage.Type = StorageMemory
			c.Logging = Logging{Level: LevelDebug, Format: FormatText, Redact: []string{"session_id"}}
		}},
		{"testdata/production.yaml", func(c *Config) {
			c.Info = Info{Name: "ProductionServer", Version: "1.0.0"}
			c.HTTP = HTTP{Host: "0.0.0.0", Port: 3001, PublicURL: "https://mcp.example.com", MCPPath: "/mcp"}
			c.Auth.Mode, c.Auth.Type = ModeOrchestrated, TypeLocal
			c.Auth.TokenStorage.File.Path = "/var/lib/frontmcp/store.db"
			c.Auth.Local.Users = []User{{Username: "alice", PasswordHash: aliceBcrypt}}
			c.Auth.Refresh.AccessTokenTTL = 15 * time.Minute
			c.Auth.Refresh.RefreshTokenTTL = 7 * 24 * time.Hour
			c.Auth.Clients = []Client{
				{ClientID: "claude", RedirectURIs: []string{"https://claude.ai/api/mcp/auth_callback"}, Scopes: []string{"mcp:tools"}},
				{ClientID: "cli", RedirectURIs: []string{"http://127.0.0.1/callback"}},
				{ClientID: "backend", ClientSecret: backendSecret, RedirectURIs: []string{"https://app.example.com/callback"}},
			}
			c.Auth.Scopes = []string{"mcp:tools", "mcp:admin"}
			c.Auth.ToolScopes = map[string][]string{"admin_reset": {"mcp:admin"}}
			c.Logging = Logging{Level: LevelInfo, Format: FormatJSON, Redact: []string{"access_token", "refresh_token", "client_secret"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Load(tt.file, envOpts(testdataEnv))
			if err != nil {
				t.Fatal(err)
			}
			want := Default(got.Environment)
			tt.want(want)
			if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate of loaded config: %v", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml", envOpts(nil))
	if err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load error = %v, want one wrapping fs.ErrNotExist", err)
	}
	var errs Errors
	if errors.As(err, &errs) {
		t.Errorf("a read failure is not a configuration error: %v", err)
	}
}
