package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Several fallbacks fill parts of the schema that are not implemented yet,
// so loading fails; these tests drive the fallback step on a decoded Config to
// check the values it fills.
func TestFallbacks(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "redis-password")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, signKey := genKey(t, "ES256")
	signKeyFile := writeSecret(t, signKey)
	redis := func(c *Config) { c.Auth.TokenStorage.Type = StorageRedis }
	local := func(c *Config) { c.Auth.Mode = ModeOrchestrated }
	remote := func(c *Config) { c.Auth.Mode, c.Auth.Type = ModeOrchestrated, TypeRemote }
	transparent := func(c *Config) { c.Auth.Mode = ModeTransparent }

	tests := []struct {
		name        string
		setup       func(c *Config)
		inFile      []string // key paths the file set
		env         map[string]string
		want        func(c *Config)
		wantSources map[string]string
		wantErrs    Errors
	}{
		{
			name:  "redis",
			setup: redis,
			env:   map[string]string{"REDIS_HOST": "redis.example.com", "REDIS_PORT": "6380", "REDIS_PASSWORD": "pw"},
			want: func(c *Config) {
				c.Auth.TokenStorage.Redis.Host = "redis.example.com"
				c.Auth.TokenStorage.Redis.Port = 6380
				c.Auth.TokenStorage.Redis.Password = "pw"
			},
			wantSources: map[string]string{
				"auth.tokenStorage.config.host":     "env REDIS_HOST",
				"auth.tokenStorage.config.port":     "env REDIS_PORT",
				"auth.tokenStorage.config.password": "env REDIS_PASSWORD",
			},
		},
		{
			name:   "file wins over the environment",
			setup:  func(c *Config) { redis(c); c.Auth.TokenStorage.Redis.Host = "from-file" },
			inFile: []string{"auth.tokenStorage.config.host"},
			env:    map[string]string{"REDIS_HOST": "from-env"},
			want:   func(c *Config) { c.Auth.TokenStorage.Redis.Host = "from-file" },
		},
		{
			name:        "REDIS_PASSWORD_FILE",
			setup:       redis,
			env:         map[string]string{"REDIS_PASSWORD_FILE": pwFile},
			want:        func(c *Config) { c.Auth.TokenStorage.Redis.Password = "from-file" },
			wantSources: map[string]string{"auth.tokenStorage.config.password": "env REDIS_PASSWORD_FILE"},
		},
		{
			name:     "REDIS_PASSWORD and REDIS_PASSWORD_FILE",
			setup:    redis,
			env:      map[string]string{"REDIS_PASSWORD": "a", "REDIS_PASSWORD_FILE": pwFile},
			want:     func(*Config) {},
			wantErrs: Errors{{Path: "auth.tokenStorage.config.password", Msg: "both REDIS_PASSWORD and REDIS_PASSWORD_FILE are set; set only one", Err: ErrVariable}},
		},
		{
			name:     "REDIS_PORT not a number",
			setup:    redis,
			env:      map[string]string{"REDIS_PORT": "abc"},
			want:     func(*Config) {},
			wantErrs: Errors{{Path: "auth.tokenStorage.config.port", Msg: `expected an integer, got "abc" (from REDIS_PORT)`, Err: ErrType}},
		},
		{
			name:  "redis variables ignored for file storage",
			env:   map[string]string{"REDIS_HOST": "redis.example.com", "REDIS_PASSWORD": "pw"},
			want:  func(*Config) {},
			setup: func(*Config) {},
		},
		{
			name:        "JWT_SIGNING_KEY in local mode",
			setup:       local,
			env:         map[string]string{"JWT_SIGNING_KEY": signKey},
			want:        func(c *Config) { c.Auth.Local.SignKey = json.RawMessage(signKey) },
			wantSources: map[string]string{"auth.local.signKey": "env JWT_SIGNING_KEY"},
		},
		{
			name:        "JWT_SIGNING_KEY_FILE",
			setup:       local,
			env:         map[string]string{"JWT_SIGNING_KEY_FILE": signKeyFile},
			want:        func(c *Config) { c.Auth.Local.SignKey = json.RawMessage(signKey) },
			wantSources: map[string]string{"auth.local.signKey": "env JWT_SIGNING_KEY_FILE"},
		},
		{
			name:     "JWT_SIGNING_KEY and JWT_SIGNING_KEY_FILE",
			setup:    local,
			env:      map[string]string{"JWT_SIGNING_KEY": signKey, "JWT_SIGNING_KEY_FILE": signKeyFile},
			want:     func(*Config) {},
			wantErrs: Errors{{Path: "auth.local.signKey", Msg: "both JWT_SIGNING_KEY and JWT_SIGNING_KEY_FILE are set; set only one", Err: ErrVariable}},
		},
		{
			name:   "signKey in the file wins over JWT_SIGNING_KEY",
			setup:  func(c *Config) { local(c); c.Auth.Local.SignKey = json.RawMessage(`{"from":"file"}`) },
			inFile: []string{"auth.local.signKey"},
			env:    map[string]string{"JWT_SIGNING_KEY": signKey},
			want:   func(c *Config) { c.Auth.Local.SignKey = json.RawMessage(`{"from":"file"}`) },
		},
		{
			name:     "JWT_SIGNING_KEY not JSON",
			setup:    local,
			env:      map[string]string{"JWT_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----"},
			want:     func(*Config) {},
			wantErrs: Errors{{Path: "auth.local.signKey", Msg: `expected a JSON object such as a JWK ({"kty": ...}) (from JWT_SIGNING_KEY)`, Err: ErrType}},
		},
		{
			name:  "JWT_SIGNING_KEY ignored in remote and public modes",
			setup: remote,
			env:   map[string]string{"JWT_SIGNING_KEY": signKey},
			want:  func(*Config) {},
		},
		{
			name:  "IDP variables in transparent mode",
			setup: transparent,
			env: map[string]string{"IDP_PROVIDER_URL": "https://idp.example", "IDP_EXPECTED_AUDIENCE": "https://api.example",
				"IDP_CLIENT_ID": "ignored", "IDP_CLIENT_SECRET": "ignored", "VAULT_KEY": "ignored"},
			want: func(c *Config) {
				c.Auth.Provider = "https://idp.example"
				c.Auth.ExpectedAudience = "https://api.example"
			},
			wantSources: map[string]string{"auth.provider": "env IDP_PROVIDER_URL", "auth.expectedAudience": "env IDP_EXPECTED_AUDIENCE"},
		},
		{
			name:  "IDP variables in remote mode",
			setup: remote,
			env:   map[string]string{"IDP_CLIENT_ID": "id", "IDP_CLIENT_SECRET": "secret", "VAULT_KEY": "vk"},
			want: func(c *Config) {
				c.Auth.Remote.ClientID, c.Auth.Remote.ClientSecret, c.Auth.Vault.Key = "id", "secret", "vk"
			},
			wantSources: map[string]string{"auth.remote.clientId": "env IDP_CLIENT_ID", "auth.remote.clientSecret": "env IDP_CLIENT_SECRET", "auth.vault.key": "env VAULT_KEY"},
		},
		{
			name:        "VAULT_KEY in local mode",
			setup:       local,
			env:         map[string]string{"VAULT_KEY": "vk", "IDP_CLIENT_ID": "ignored"},
			want:        func(c *Config) { c.Auth.Vault.Key = "vk" },
			wantSources: map[string]string{"auth.vault.key": "env VAULT_KEY"},
		},
		{
			name:        "VAULT_KEY_FILE",
			setup:       local,
			env:         map[string]string{"VAULT_KEY_FILE": writeSecret(t, "vk-from-file")},
			want:        func(c *Config) { c.Auth.Vault.Key = "vk-from-file" },
			wantSources: map[string]string{"auth.vault.key": "env VAULT_KEY_FILE"},
		},
		{
			name:   "file vault key wins over VAULT_KEY",
			setup:  func(c *Config) { local(c); c.Auth.Vault.Key = "from-file" },
			inFile: []string{"auth.vault.key"},
			env:    map[string]string{"VAULT_KEY": "from-env"},
			want:   func(c *Config) { c.Auth.Vault.Key = "from-file" },
		},
		{
			name:  "IDP variables ignored in public mode",
			setup: func(c *Config) { c.Auth.Mode = ModePublic },
			env:   map[string]string{"IDP_PROVIDER_URL": "https://idp.example", "IDP_CLIENT_ID": "id", "VAULT_KEY": "vk"},
			want:  func(*Config) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Default(Development)
			tt.setup(got)
			want := Default(Development)
			tt.setup(want)
			tt.want(want)

			p := newParser(envOpts(tt.env), "c.yaml")
			for _, k := range tt.inFile {
				p.lines[k] = 1
			}
			p.applyFallbacks(got)
			if diff := cmp.Diff(want, got, ignoreUnexported); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
			wantSources := tt.wantSources
			if wantSources == nil {
				wantSources = map[string]string{}
			}
			if diff := cmp.Diff(wantSources, p.sources); diff != "" {
				t.Errorf("sources mismatch (-want +got):\n%s", diff)
			}
			if diff := diffErrors(tt.wantErrs, p.errs); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFallbackErrorThroughParse(t *testing.T) {
	// A fallback problem is reported by Parse with the key path and variable.
	yaml := lines("auth:", "  tokenStorage:", "    type: redis", "    config:", "      host: localhost")
	_, err := Parse([]byte(yaml), "c.yaml", envOpts(map[string]string{"REDIS_PORT": "six"}))
	want := Errors{
		{Path: "auth.tokenStorage.config.port", Msg: `expected an integer, got "six" (from REDIS_PORT)`, Err: ErrType},
	}
	if diff := diffErrors(want, asErrors(t, err)); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

func TestFrontMCPEnvFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(p, []byte("staging\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", envOpts(map[string]string{"FRONTMCP_ENV_FILE": p}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Environment != Staging || c.Sources()["environment"] != "env FRONTMCP_ENV_FILE" {
		t.Errorf("environment %q from %q, want staging from FRONTMCP_ENV_FILE", c.Environment, c.Sources()["environment"])
	}
}
