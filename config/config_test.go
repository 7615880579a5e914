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
			Mode:        ModePublic,
			SessionMode: SessionStateful,
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
		AccessTokenTTL  time.Duration
		RefreshTokenTTL time.Duration
		DCREnabled      bool
	}
	tests := []struct {
		env  Environment
		want envDefaults
	}{
		{Development, envDefaults{ModePublic, time.Hour, 7 * 24 * time.Hour, true}},
		{Staging, envDefaults{ModePublic, 30 * time.Minute, 7 * 24 * time.Hour, true}},
		{Production, envDefaults{"", 15 * time.Minute, 7 * 24 * time.Hour, false}},
	}
	for _, tt := range tests {
		t.Run(string(tt.env), func(t *testing.T) {
			c := Default(tt.env)
			got := envDefaults{c.Auth.Mode, c.Auth.Refresh.AccessTokenTTL, c.Auth.Refresh.RefreshTokenTTL, c.Auth.DCREnabled}
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

func TestLoadTestdata(t *testing.T) {
	tests := []struct {
		file string
		want func(c *Config)
	}{
		{"testdata/development.yaml", func(c *Config) {
			c.Info = Info{Name: "demo", Version: "1.2.3"}
			c.HTTP = HTTP{Host: "127.0.0.1", Port: 8080, MCPPath: "/mcp",
				AllowedHosts: []string{"mcp.internal:8080"}, AllowedOrigins: []string{"http://localhost:5173"}}
			c.Auth.SessionMode = SessionStateless
			c.Auth.TokenStorage.Type = StorageMemory
			c.Logging = Logging{Level: LevelDebug, Format: FormatText, Redact: []string{"session_id"}}
		}},
		{"testdata/production.yaml", func(c *Config) {
			c.Info = Info{Name: "ProductionServer", Version: "1.0.0"}
			c.HTTP = HTTP{Host: "0.0.0.0", Port: 3001, PublicURL: "https://mcp.example.com", MCPPath: "/mcp"}
			c.Auth.Mode = ModePublic
			c.Auth.TokenStorage.File.Path = "/var/lib/frontmcp/store.db"
			c.Logging = Logging{Level: LevelInfo, Format: FormatJSON, Redact: []string{"access_token", "refresh_token", "client_secret"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Load(tt.file, envOpts(nil))
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
