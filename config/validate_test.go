package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// validProduction is a production config in public mode that passes
// Validate.
func validProduction() *Config {
	c := Default(Production)
	c.Auth.Mode = ModePublic
	c.HTTP.PublicURL = "https://mcp.example.com"
	return c
}

// validOrchestratedProduction is a production config of the embedded
// authorization server that passes Validate.
func validOrchestratedProduction() *Config {
	c := Default(Production)
	c.Auth.Mode = ModeOrchestrated
	c.HTTP.PublicURL = "https://mcp.example.com"
	c.Auth.Local.Users = []User{{Username: "alice", PasswordHash: aliceBcrypt}, {Username: "bob", PasswordHash: bobArgon2id}}
	c.Auth.Scopes = []string{"tools:read", "tools:write"}
	c.Auth.ToolScopes = map[string][]string{"delete": {"tools:write"}}
	c.Auth.Clients = []Client{
		{ClientID: "web", ClientSecret: backendSecret, RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"tools:read"}},
		{ClientID: "cli", RedirectURIs: []string{"http://127.0.0.1/cb", "http://[::1]/cb", "http://localhost:8080/cb"}},
	}
	return c
}

func TestValidateProduction(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   Errors
	}{
		{"valid", func(*Config) {}, nil},
		{"memory storage", func(c *Config) { c.Auth.TokenStorage.Type = StorageMemory }, Errors{{
			Path: "auth.tokenStorage.type", Err: ErrInsecure,
			Msg: "memory storage is refused in production: it loses every token and session on restart and cannot be shared between instances; use file or redis"}}},
		{"http public URL", func(c *Config) { c.HTTP.PublicURL = "http://mcp.example.com" }, Errors{{
			Path: "http.publicUrl", Err: ErrInsecure,
			Msg: "must use https in production: tokens and codes travel in requests; terminate TLS at a reverse proxy or load balancer and set publicUrl to its https address"}}},
		{"default public URL", func(c *Config) { c.HTTP.PublicURL = "" }, Errors{{
			Path: "http.publicUrl", Err: ErrInsecure,
			Msg: "must be set in production to the https URL clients use; the default http://127.0.0.1:3001 is plain http"}}},
		{"no explicit mode", func(c *Config) { c.Auth.Mode = "" }, Errors{{
			Path: "auth.mode", Err: ErrInsecure,
			Msg: "must be set explicitly in production (public, transparent or orchestrated), so the server never runs unauthenticated by accident"}}},
		{"redis insecureSkipVerify", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.Host = "redis.example.com"
			c.Auth.TokenStorage.Redis.TLS = RedisTLS{Enabled: true, InsecureSkipVerify: true}
		}, Errors{
			{Path: "auth.tokenStorage.config.tls.insecureSkipVerify", Err: ErrInsecure,
				Msg: "is refused in production: it accepts any certificate, so anyone on the path can read the tokens; trust the server's CA with caFile instead"},
		}},
		{"redis URL with skip_verify", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.URL = "rediss://redis.example.com:6380/0?skip_verify=true"
		}, Errors{
			{Path: "auth.tokenStorage.config.url", Err: ErrInsecure,
				Msg: "skip_verify is refused in production: it accepts any certificate, so anyone on the path can read the tokens; trust the server's CA with tls.caFile instead"},
		}},
		{"redis without TLS to another host", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.Host = "redis.example.com"
		}, Errors{
			{Path: "auth.tokenStorage.config.tls", Err: ErrInsecure,
				Msg: "must be on in production for a Redis that is not on this host: tokens cross the network; set tls: true"},
		}},
		{"redis without TLS on loopback", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.Host = "127.0.0.1"
		}, nil},
		{"redis with TLS to another host", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.ClusterAddrs = []string{"redis-0.example.com:6379", "redis-1.example.com:6379"}
			c.Auth.TokenStorage.Redis.TLS = RedisTLS{Enabled: true, CAFile: "/etc/redis/ca.pem"}
		}, nil},
		{"rediss URL counts as TLS", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.URL = "rediss://redis.example.com:6380/0"
		}, nil},
		{"refresh without rotation", func(c *Config) { c.Auth.Refresh.RotateRefreshToken = false }, Errors{
			{Path: "auth.refresh.rotateRefreshToken", Err: ErrInsecure,
				Msg: "must be true in production: without rotation a stolen refresh token stays usable until it expires (OAuth 2.1 §4.3.1)"},
		}},
		{"refresh off needs no rotation", func(c *Config) { c.Auth.Refresh.Enabled, c.Auth.Refresh.RotateRefreshToken = false, false }, nil},
		{"reuse grace", func(c *Config) { c.Auth.Refresh.ReuseGraceSeconds = 60 }, nil},
		{"reuse grace too long", func(c *Config) { c.Auth.Refresh.ReuseGraceSeconds = 61 }, Errors{
			{Path: "auth.refresh.reuseGraceSeconds", Err: ErrValue, Msg: "must be between 0 and 60"},
		}},
		{"negative reuse grace", func(c *Config) { c.Auth.Refresh.ReuseGraceSeconds = -1 }, Errors{
			{Path: "auth.refresh.reuseGraceSeconds", Err: ErrValue, Msg: "must be between 0 and 60"},
		}},
		{"allowDefaultPublic", func(c *Config) { c.Auth.AllowDefaultPublic = true }, Errors{
			{Path: "auth.allowDefaultPublic", Err: ErrInsecure, Msg: "must be false in production: it lets requests without a token in"},
		}},
		{"transparent without audience", func(c *Config) {
			c.Auth.Mode = ModeTransparent
			c.Auth.Provider = "http://idp.example"
		}, Errors{
			{Path: "auth.expectedAudience", Err: ErrInsecure,
				Msg: "must be set (or IDP_EXPECTED_AUDIENCE) for mode transparent: only tokens whose aud contains it are accepted, so that tokens the provider issued for other services are refused"},
			{Path: "auth.provider", Err: ErrInsecure, Msg: "must use https in production"},
		}},
		{"transparent over http", func(c *Config) {
			c.Auth.Mode = ModeTransparent
			c.Auth.Provider = "https://idp.example"
			c.Auth.ExpectedAudience = "https://mcp.example.com/mcp"
			c.Auth.Transparent.JWKSURI = "http://idp.example/keys"
			c.Auth.Transparent.AdditionalIssuers = []string{"http://old.idp.example"}
		}, Errors{
			{Path: "auth.transparent.additionalIssuers[0]", Err: ErrInsecure, Msg: "must use https in production"},
			{Path: "auth.transparent.jwksUri", Err: ErrInsecure, Msg: "must use https in production"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validProduction()
			tt.modify(c)
			err := c.Validate()
			if diff := diffErrors(tt.want, asErrors(t, err)); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			// The same settings are accepted outside production, apart from
			// the options that are not implemented yet.
			c.Environment = Staging
			for _, e := range asErrors(t, c.Validate()) {
				if errors.Is(e, ErrInsecure) {
					t.Errorf("staging: %v", e)
				}
			}
		})
	}
}

func TestValidateOrchestratedProduction(t *testing.T) {
	const (
		consentMsg  = "must be true in production when dcrEnabled is true: anyone can register a client, and without the consent page naming it and its redirect host the user cannot tell whom the login is for"
		redirectMsg = "must be https, or http on a loopback address (RFC 8252 §7.3), in production: a custom scheme can be claimed by any app on the device"
		secretMsg   = "must be at least 32 characters in production: client secrets are stored as fast SHA-256 hashes and must be high-entropy (for example: openssl rand -base64 32)"
	)
	tests := []struct {
		name   string
		modify func(c *Config)
		want   Errors
	}{
		{"valid", func(*Config) {}, nil},
		{"DCR with consent", func(c *Config) { c.Auth.DCREnabled = true }, nil},
		{"no consent without DCR", func(c *Config) { c.Auth.Consent.Enabled = false }, nil},
		{"DCR without consent", func(c *Config) { c.Auth.DCREnabled, c.Auth.Consent.Enabled = true, false }, Errors{
			{Path: "auth.consent.enabled", Err: ErrInsecure, Msg: consentMsg}}},
		{"allowDefaultPublic", func(c *Config) { c.Auth.AllowDefaultPublic = true }, Errors{
			{Path: "auth.allowDefaultPublic", Err: ErrInsecure, Msg: "must be false in production: it lets requests without a token in"}}},
		{"refresh without rotation", func(c *Config) { c.Auth.Refresh.RotateRefreshToken = false }, Errors{
			{Path: "auth.refresh.rotateRefreshToken", Err: ErrInsecure,
				Msg: "must be true in production: without rotation a stolen refresh token stays usable until it expires (OAuth 2.1 §4.3.1)"}}},
		{"memory storage", func(c *Config) { c.Auth.TokenStorage.Type = StorageMemory }, Errors{{
			Path: "auth.tokenStorage.type", Err: ErrInsecure,
			Msg: "memory storage is refused in production: it loses every token and session on restart and cannot be shared between instances; use file or redis"}}},
		{"custom scheme redirect URI", func(c *Config) {
			c.Auth.Clients[1].RedirectURIs = append(c.Auth.Clients[1].RedirectURIs, "cursor://anysphere.cursor-retrieval/oauth/callback", "com.example.app:/cb")
		}, Errors{
			{Path: "auth.clients[1].redirectUris[3]", Err: ErrInsecure, Msg: redirectMsg},
			{Path: "auth.clients[1].redirectUris[4]", Err: ErrInsecure, Msg: redirectMsg},
		}},
		{"http redirect URI to another host is refused everywhere", func(c *Config) {
			c.Auth.Clients[0].RedirectURIs = []string{"http://app.example.com/cb"}
		}, Errors{{Path: "auth.clients[0].redirectUris[0]", Err: ErrValue,
			Msg: "http is only allowed for loopback hosts (localhost, 127.0.0.1, [::1]); use https"}}},
		{"short client secret", func(c *Config) { c.Auth.Clients[0].ClientSecret = "hunter2" }, Errors{
			{Path: "auth.clients[0].clientSecret", Err: ErrInsecure, Msg: secretMsg}}},
		{"client secret of 32 characters", func(c *Config) { c.Auth.Clients[0].ClientSecret = strings.Repeat("x", 32) }, nil},
		{"low bcrypt cost", func(c *Config) {
			c.Auth.Local.Users[0].PasswordHash = "$2a$04$urGuj/de7cDHyr.oEoAKwOuxswj9xBJD7PLUegvCisFIQHAm4tLg."
		}, Errors{{Path: "auth.local.users[0].passwordHash", Err: ErrInsecure,
			Msg: "bcrypt cost 4 is too low for production: use at least 10 (for example: htpasswd -nbBC 12 user PASSWORD)"}}},
		{"type remote", func(c *Config) {
			c.Auth.Type = TypeRemote
			c.Auth.Local.Users = nil
			c.Auth.Provider = "http://idp.example"
			c.Auth.Remote.TokenEndpoint = "http://idp.example/token"
		}, Errors{
			{Path: "auth.provider", Err: ErrInsecure, Msg: "must use https in production"},
			{Path: "auth.remote.clientId", Err: ErrValue, Msg: "must be set (or IDP_CLIENT_ID) for type remote"},
			{Path: "auth.vault.key", Err: ErrValue, Msg: "must be set (or VAULT_KEY) for type remote: the identity provider's tokens are stored encrypted with it (generate one with `frontmcp vault generate-key`)"},
			{Path: "auth.remote.tokenEndpoint", Err: ErrInsecure, Msg: "must use https in production"},
		}},
		{"type remote complete", func(c *Config) {
			c.Auth.Type = TypeRemote
			c.Auth.Local.Users = nil
			c.Auth.Provider = "https://idp.example"
			c.Auth.Remote.ClientID = "frontmcp"
			c.Auth.Remote.ClientSecret = "upstream-secret"
			c.Auth.Vault.Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
		}, nil},
		{"type remote with local users", func(c *Config) {
			c.Auth.Type = TypeRemote
			c.Auth.Provider = "https://idp.example"
			c.Auth.Remote.ClientID = "frontmcp"
			c.Auth.Vault.Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
		}, Errors{
			{Path: "auth.local.users", Err: ErrValue, Msg: "is not used with type remote: users sign in at the identity provider (auth.provider)"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validOrchestratedProduction()
			tt.modify(c)
			if diff := diffErrors(tt.want, asErrors(t, c.Validate())); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			// Outside production only the insecure findings go away.
			var wantStaging Errors
			for _, e := range tt.want {
				if !errors.Is(e, ErrInsecure) {
					wantStaging = append(wantStaging, e)
				}
			}
			c.Environment = Staging
			if diff := diffErrors(wantStaging, asErrors(t, c.Validate())); diff != "" {
				t.Errorf("staging: errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   Errors
	}{
		{"defaults", func(*Config) {}, nil},
		{"port range", func(c *Config) { c.HTTP.Port = 70000 }, Errors{{Path: "http.port", Err: ErrValue, Msg: "must be between 1 and 65535, or 0 to pick a free port; got 70000"}}},
		{"host with port", func(c *Config) { c.HTTP.Host = "example.com:80" }, Errors{{Path: "http.host", Err: ErrValue, Msg: "must be a host name or IP address without a port (use http.port)"}}},
		{"IPv6 host", func(c *Config) { c.HTTP.Host = "::" }, nil},
		{"host with URL characters", func(c *Config) { c.HTTP.Host = "?0" }, Errors{{Path: "http.host", Err: ErrValue, Msg: "must be a host name or IP address without a port (use http.port)"}}},
		{"relative public URL", func(c *Config) { c.HTTP.PublicURL = "/mcp" }, Errors{{Path: "http.publicUrl", Err: ErrValue, Msg: "must be an absolute http or https URL"}}},
		{"ftp public URL", func(c *Config) { c.HTTP.PublicURL = "ftp://x.example" }, Errors{{Path: "http.publicUrl", Err: ErrValue, Msg: "must be an http or https URL"}}},
		{"public URL with query", func(c *Config) { c.HTTP.PublicURL = "https://x.example/?a=b" }, Errors{{Path: "http.publicUrl", Err: ErrValue, Msg: "must not have a query"}}},
		{"public URL with fragment", func(c *Config) { c.HTTP.PublicURL = "https://x.example/#a" }, Errors{{Path: "http.publicUrl", Err: ErrValue, Msg: "must not have a fragment"}}},
		{"public URL with credentials", func(c *Config) { c.HTTP.PublicURL = "https://u:p@x.example" }, Errors{{Path: "http.publicUrl", Err: ErrValue, Msg: "must not contain a user name or password"}}},
		{"public URL with path and slash", func(c *Config) { c.HTTP.PublicURL = "https://x.example/base/" }, nil},
		{"mcpPath without slash", func(c *Config) { c.HTTP.MCPPath = "mcp" }, Errors{{Path: "http.mcpPath", Err: ErrValue, Msg: "must start with /"}}},
		{"mcpPath with query", func(c *Config) { c.HTTP.MCPPath = "/mcp?x" }, Errors{{Path: "http.mcpPath", Err: ErrValue, Msg: "must be a plain path (no query, fragment, spaces, // or ..)"}}},
		{"mcpPath under well-known", func(c *Config) { c.HTTP.MCPPath = "/.well-known/mcp" }, Errors{{Path: "http.mcpPath", Err: ErrValue, Msg: "must not be under /.well-known/, which holds the discovery documents"}}},
		{"allowed host with scheme", func(c *Config) { c.HTTP.AllowedHosts = []string{"ok.example", "https://bad.example"} }, Errors{{Path: "http.allowedHosts[1]", Err: ErrValue, Msg: "must be a Host header value: a host name or host:port (no scheme, path or wildcard)"}}},
		{"allowed origins", func(c *Config) {
			c.HTTP.AllowedOrigins = []string{"https://app.example", "*", "https://app.example/path"}
		}, Errors{
			{Path: "http.allowedOrigins[1]", Err: ErrValue, Msg: "must be an origin such as https://app.example.com (scheme, host and optional port; no wildcard or path)"},
			{Path: "http.allowedOrigins[2]", Err: ErrValue, Msg: "must be an origin such as https://app.example.com (scheme, host and optional port; no wildcard or path)"},
		}},
		{"bad enums", func(c *Config) {
			c.Environment = "prod"
			c.Auth.SessionMode = "sticky"
			c.Logging.Format = "xml"
		}, Errors{
			{Path: "environment", Err: ErrValue, Msg: `invalid value "prod" (allowed: development, staging, production)`},
			{Path: "auth.sessionMode", Err: ErrValue, Msg: `invalid value "sticky" (allowed: stateful, stateless)`},
			{Path: "logging.format", Err: ErrValue, Msg: `invalid value "xml" (allowed: text, json)`},
		}},
		{"empty mode outside production", func(c *Config) { c.Auth.Mode = "" }, Errors{{Path: "auth.mode", Err: ErrValue, Msg: `invalid value "" (allowed: public, transparent, orchestrated)`}}},
		{"public mode keeps the default type", func(c *Config) { c.Auth.Mode = ModePublic }, nil},
		{"orchestrated without a type", func(c *Config) { c.Auth.Type = "" }, nil},
		{"type remote without orchestrated", func(c *Config) { c.Auth.Mode, c.Auth.Type = ModePublic, TypeRemote }, Errors{
			{Path: "auth.type", Err: ErrValue, Msg: "is only valid with mode orchestrated"},
		}},
		{"remote settings in local mode", func(c *Config) { c.Auth.Remote.ClientID = "x" }, Errors{
			{Path: "auth.remote", Err: ErrValue, Msg: "is only used with mode orchestrated and type remote"},
		}},
		{"unknown type", func(c *Config) { c.Auth.Type = "ldap" }, Errors{
			{Path: "auth.type", Err: ErrValue, Msg: `invalid value "ldap" (allowed: local, remote)`},
		}},
		{"mode transparent", transparentMode, nil},
		{"mode transparent without audience", func(c *Config) {
			transparentMode(c)
			c.Auth.ExpectedAudience = ""
		}, Errors{
			{Path: "auth.expectedAudience", Err: ErrValue, Msg: "must be set (or IDP_EXPECTED_AUDIENCE) for mode transparent: only tokens whose aud contains it are accepted, so that tokens the provider issued for other services are refused"},
		}},
		{"empty file path", func(c *Config) { c.Auth.TokenStorage.File.Path = "" }, Errors{{Path: "auth.tokenStorage.config.path", Err: ErrValue, Msg: "must not be empty"}}},
		{"redis settings with file storage", func(c *Config) { c.Auth.TokenStorage.Redis.Host = "r.example" }, Errors{{Path: "auth.tokenStorage.config", Err: ErrValue, Msg: "redis settings are set but type is file"}}},
		{"file settings with memory storage", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageMemory
			c.Auth.TokenStorage.File.Path = "/x.db"
		}, Errors{{Path: "auth.tokenStorage.config", Err: ErrValue, Msg: "file settings are set but type is memory"}}},
		{"redis shapes", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			r := &c.Auth.TokenStorage.Redis
			r.SentinelAddrs = []string{"s1:26379", "nope"}
			r.Port = 0
			r.TLS.CAFile = "/ca.pem"
		}, Errors{
			{Path: "auth.tokenStorage.config.sentinelAddrs[1]", Err: ErrValue, Msg: "must be host:port"},
			{Path: "auth.tokenStorage.config.masterName", Err: ErrValue, Msg: "must be set with sentinelAddrs"},
			{Path: "auth.tokenStorage.config.port", Err: ErrValue, Msg: "must be between 1 and 65535; got 0"},
			{Path: "auth.tokenStorage.config.tls", Err: ErrValue, Msg: "TLS settings are set but TLS is off"},
		}},
		{"redis missing address", func(c *Config) { c.Auth.TokenStorage.Type = StorageRedis }, Errors{
			{Path: "auth.tokenStorage.config.host", Err: ErrValue, Msg: "must be set (or REDIS_HOST), or use url, sentinelAddrs or clusterAddrs"},
		}},
		{"redis key prefix with a hash tag", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.Host = "localhost"
			c.Auth.TokenStorage.Redis.KeyPrefix = "app{1}:"
		}, Errors{
			{Path: "auth.tokenStorage.config.keyPrefix", Err: ErrValue,
				Msg: "must not contain '{' or '}': braces are Redis Cluster hash tags and would put every key in one slot"},
		}},
		{"bad keys", func(c *Config) {
			c.Auth.Local.SignKey = json.RawMessage(`{"kty":"EC","crv":"P-256","x":"a","y":"b"}`)
			c.Auth.Local.VerifyKeys = []json.RawMessage{json.RawMessage(`{"use":"sig"}`)}
		}, Errors{
			{Path: "auth.local.signKey", Err: ErrValue, Msg: `the JWK has no private part ("d"): this is a public key`},
			{Path: "auth.local.verifyKeys[0]", Err: ErrValue, Msg: "go-jose/go-jose: missing json web key type"},
		}},
		{"key rotation beside skewSeconds", func(c *Config) {
			c.Auth.Local.KeyRotationDays = 30
			c.Auth.Local.MaxKeys = 5
			c.Auth.Refresh.SkewSeconds = 30
		}, nil},
		{"key rotation with signKey and one key", func(c *Config) {
			_, raw := genKey(t, "ES256")
			c.Auth.Local.SignKey = json.RawMessage(raw)
			c.Auth.Local.KeyRotationDays = 30
			c.Auth.Local.MaxKeys = 1
		}, Errors{
			{Path: "auth.local.keyRotationDays", Err: ErrValue, Msg: "rotates generated keys only; with signKey, rotate by hand: put the old key in verifyKeys and a new signKey"},
			{Path: "auth.local.maxKeys", Err: ErrValue, Msg: "must be at least 2 with keyRotationDays: a rotation publishes the next key beside the current one"},
		}},
		{"users", func(c *Config) {
			c.Auth.Local.Users = []User{
				{Username: "alice", PasswordHash: aliceBcrypt, Claims: map[string]any{"email": "a@example.com", "groups": []any{"x"}}},
				{Username: "bob", PasswordHash: bobArgon2id},
			}
		}, nil},
		{"bad users", func(c *Config) {
			c.Auth.Local.Users = []User{
				{Username: "alice", PasswordHash: "hunter2"},
				{Username: "alice", PasswordHash: "$2b$12$abcdefghijklmnopqrstuv"},
				{Username: "", PasswordHash: "$2b$99$" + aliceBcrypt[7:]},
				{Username: "dave", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA"},
				{Username: "erin", PasswordHash: "$argon2id$v=19$m=65536,t=0,p=4$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"},
				{Username: "frank", PasswordHash: "$argon2i$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"},
				{Username: "grace", PasswordHash: aliceBcrypt, Claims: map[string]any{"aud": "x", "iss": "y", "client_id": "z", "role": "ok"}},
			}
		}, Errors{
			{Path: "auth.local.users[0].passwordHash", Err: ErrValue, Msg: "must be a bcrypt ($2b$...) or argon2id ($argon2id$...) hash, never a plain password (for example: htpasswd -nbBC 12 user PASSWORD)"},
			{Path: "auth.local.users[1].username", Err: ErrValue, Msg: `duplicate username "alice"`},
			{Path: "auth.local.users[1].passwordHash", Err: ErrValue, Msg: "is not a complete bcrypt hash: expected 60 characters like $2b$12$ followed by 53 of [./A-Za-z0-9]"},
			{Path: "auth.local.users[2].username", Err: ErrValue, Msg: "must not be empty"},
			{Path: "auth.local.users[2].passwordHash", Err: ErrValue, Msg: "bcrypt cost 99 is out of range (4 to 31)"},
			{Path: "auth.local.users[3].passwordHash", Err: ErrValue, Msg: "is not a complete argon2id hash: expected $argon2id$v=19$m=...,t=...,p=...$salt$hash (PHC string format)"},
			{Path: "auth.local.users[4].passwordHash", Err: ErrValue, Msg: "argon2id parameter t=0 is out of range (1 to 4294967295)"},
			{Path: "auth.local.users[5].passwordHash", Err: ErrValue, Msg: "must be a bcrypt ($2b$...) or argon2id ($argon2id$...) hash, never a plain password (for example: htpasswd -nbBC 12 user PASSWORD)"},
			{Path: "auth.local.users[6].claims.aud", Err: ErrValue, Msg: `claim "aud" is set by the server in every access token (RFC 9068 §2.2) and cannot be set per user`},
			{Path: "auth.local.users[6].claims.client_id", Err: ErrValue, Msg: `claim "client_id" is set by the server in every access token (RFC 9068 §2.2) and cannot be set per user`},
			{Path: "auth.local.users[6].claims.iss", Err: ErrValue, Msg: `claim "iss" is set by the server in every access token (RFC 9068 §2.2) and cannot be set per user`},
		}},
		{"argon2id parallelism is one byte", func(c *Config) {
			c.Auth.Local.Users = []User{{Username: "a", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=256$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo"}}
		}, Errors{{Path: "auth.local.users[0].passwordHash", Err: ErrValue, Msg: "argon2id parameter p=256 is out of range (1 to 255)"}}},
		{"clients", func(c *Config) {
			c.Auth.Clients = []Client{
				{ClientID: "a", RedirectURIs: []string{"http://evil.example/cb", "https://ok.example/cb#frag"}, GrantTypes: []string{"implicit"}},
				{ClientID: "a", ClientSecret: "s", TokenEndpointAuthMethod: AuthMethodNone, RedirectURIs: []string{"http://127.0.0.1:9999/cb", "cursor://callback"}},
				{ClientID: "b", TokenEndpointAuthMethod: AuthMethodClientSecretPost},
			}
		}, Errors{
			{Path: "auth.clients[0].grantTypes[0]", Err: ErrValue, Msg: "grant type implicit is removed in OAuth 2.1 (§10.1); use authorization_code"},
			{Path: "auth.clients[0].redirectUris[0]", Err: ErrValue, Msg: "http is only allowed for loopback hosts (localhost, 127.0.0.1, [::1]); use https"},
			{Path: "auth.clients[0].redirectUris[1]", Err: ErrValue, Msg: "must not have a fragment (OAuth 2.1 §2.3.1)"},
			{Path: "auth.clients[1].clientId", Err: ErrValue, Msg: `duplicate clientId "a"`},
			{Path: "auth.clients[1].clientSecret", Err: ErrValue, Msg: "must not be set with tokenEndpointAuthMethod none (a public client)"},
			{Path: "auth.clients[2].clientSecret", Err: ErrValue, Msg: "must be set with tokenEndpointAuthMethod client_secret_post"},
			{Path: "auth.clients[2].redirectUris", Err: ErrValue, Msg: "must list at least one URI for the authorization_code grant"},
		}},
		{"client grant types and scopes", func(c *Config) {
			c.Auth.Scopes = []string{"read"}
			c.Auth.Clients = []Client{
				{ClientID: "a", ClientSecret: "s", GrantTypes: []string{"refresh_token", "client_credentials", "password"}, Scopes: []string{"read", "write", "read"}},
				{ClientID: "b", RedirectURIs: []string{"https://b.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"read"}},
			}
		}, Errors{
			{Path: "auth.clients[0].grantTypes[1]", Err: ErrValue, Msg: `invalid value "client_credentials" (allowed: authorization_code, refresh_token)`},
			{Path: "auth.clients[0].grantTypes[2]", Err: ErrValue, Msg: "grant type password is removed in OAuth 2.1 (§10.1); use authorization_code"},
			{Path: "auth.clients[0].scopes[1]", Err: ErrValue, Msg: `scope "write" is not offered: add it to auth.scopes`},
			{Path: "auth.clients[0].scopes[2]", Err: ErrValue, Msg: `duplicate scope "read"`},
		}},
		{"scopes", func(c *Config) { c.Auth.Scopes = []string{"read", "write all", "read"} }, Errors{
			{Path: "auth.scopes[1]", Err: ErrValue, Msg: "must be a scope token: printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)"},
			{Path: "auth.scopes[2]", Err: ErrValue, Msg: `duplicate scope "read"`},
		}},
		{"toolScopes", func(c *Config) {
			c.Auth.Scopes = []string{"read", "write"}
			c.Auth.ToolScopes = map[string][]string{"echo": {"read"}, "rm": {"write", "admin"}, "": {"read"}, "dup": {"read", "read"}}
		}, Errors{
			{Path: "auth.toolScopes.", Err: ErrValue, Msg: "tool name must not be empty"},
			{Path: "auth.toolScopes.dup[1]", Err: ErrValue, Msg: `duplicate scope "read"`},
			{Path: "auth.toolScopes.rm[1]", Err: ErrValue, Msg: `scope "admin" is not offered: add it to auth.scopes`},
		}},
		{"toolScopes without scopes", func(c *Config) { c.Auth.ToolScopes = map[string][]string{"echo": {"read"}} }, Errors{
			{Path: "auth.toolScopes.echo[0]", Err: ErrValue, Msg: `scope "read" is not offered: add it to auth.scopes`},
		}},
		{"orchestrated options", func(c *Config) {
			c.Auth.Refresh = Refresh{Enabled: true, AccessTokenTTL: time.Minute, RefreshTokenTTL: time.Hour, RotateRefreshToken: false, SkewSeconds: 60}
			c.Auth.Consent.Enabled = false
			c.Auth.AllowDefaultPublic = true
			c.Auth.DCREnabled = false
		}, nil},
		{"refresh TTL", func(c *Config) { c.Auth.Refresh.RefreshTokenTTL = 0 }, Errors{
			{Path: "auth.refresh.refreshTokenTtl", Err: ErrValue, Msg: "must be positive"},
		}},
		{"refresh TTL unused when refresh is off", func(c *Config) { c.Auth.Refresh.Enabled, c.Auth.Refresh.RefreshTokenTTL = false, 0 }, nil},
		{"durations", func(c *Config) {
			transparentMode(c)
			c.Auth.Refresh.AccessTokenTTL = 0
			c.Auth.Transparent.ClockLeeway = time.Hour
			c.Auth.Transparent.JWKSCacheTTL.Min = 2 * time.Hour
		}, Errors{
			{Path: "auth.transparent.clockLeeway", Err: ErrValue, Msg: "must be between 0 and 5m; a larger leeway keeps expired tokens valid"},
			{Path: "auth.transparent.jwksCacheTtl.min", Err: ErrValue, Msg: "must not exceed max"},
			{Path: "auth.refresh.accessTokenTtl", Err: ErrValue, Msg: "must be positive"},
		}},
		{"inline JWKS", func(c *Config) {
			transparentMode(c)
			c.Auth.Transparent.JWKS = json.RawMessage(`{"kty":"RSA"}`)
		}, Errors{
			{Path: "auth.transparent.jwks", Err: ErrValue, Msg: `must be a JWK Set: {"keys": [...]} (RFC 7517 §5)`},
		}},
		{"transparent settings in another mode", func(c *Config) { c.Auth.Transparent.ClockLeeway = time.Minute }, Errors{
			{Path: "auth.transparent", Err: ErrValue, Msg: "is only used with mode transparent"},
		}},
		{"empty slices equal the nil defaults", func(c *Config) {
			c.Auth.Local.VerifyKeys = []json.RawMessage{}
			c.Auth.Transparent.AdditionalIssuers = []string{}
			c.Auth.DCR.AllowedRedirectURIs = []string{}
		}, nil},
		{"empty redact key", func(c *Config) { c.Logging.Redact = []string{""} }, Errors{{Path: "logging.redact[0]", Err: ErrValue, Msg: "must not be empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default(Development)
			tt.modify(c)
			if diff := diffErrors(tt.want, asErrors(t, c.Validate())); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadReportsValidationWithLines(t *testing.T) {
	yaml := lines(
		"environment: production",             // 1
		"http:",                               // 2
		"  publicUrl: http://mcp.example.com", // 3
		"auth:",                               // 4
		"  tokenStorage:",                     // 5
		"    type: memory",                    // 6
	)
	_, err := Parse([]byte(yaml), "c.yaml", envOpts(nil))
	want := Errors{
		{Path: "http.publicUrl", Line: 3, Err: ErrInsecure, Msg: "must use https in production: tokens and codes travel in requests; terminate TLS at a reverse proxy or load balancer and set publicUrl to its https address"},
		{Path: "auth.mode", Line: 4, Err: ErrInsecure, Msg: "must be set explicitly in production (public, transparent or orchestrated), so the server never runs unauthenticated by accident"},
		{Path: "auth.tokenStorage.type", Line: 6, Err: ErrInsecure, Msg: "memory storage is refused in production: it loses every token and session on restart and cannot be shared between instances; use file or redis"},
	}
	if diff := diffErrors(want, asErrors(t, err)); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadReportsOrchestratedProductionWithLines(t *testing.T) {
	yaml := lines(
		"environment: production",              // 1
		"http:",                                // 2
		"  publicUrl: https://mcp.example.com", // 3
		"auth:",                                // 4
		"  mode: orchestrated",                 // 5
		"  dcrEnabled: true",                   // 6
		"  consent:",                           // 7
		"    enabled: false",                   // 8
		"  allowDefaultPublic: true",           // 9
		"  local:",                             // 10
		"    users:",                           // 11
		"      - username: alice",              // 12
		"        passwordHash: ${WEAK_HASH}",   // 13
		"  clients:",                           // 14
		"    - clientId: app",                  // 15
		"      clientSecret: ${APP_SECRET}",    // 16
		"      redirectUris:",                  // 17
		"        - https://app.example.com/cb", // 18
		"        - myapp://cb",                 // 19
		"      scopes: [read]",                 // 20
		"  toolScopes:",                        // 21
		"    echo: [read]",                     // 22
	)
	env := map[string]string{"WEAK_HASH": "$2a$04$urGuj/de7cDHyr.oEoAKwOuxswj9xBJD7PLUegvCisFIQHAm4tLg.", "APP_SECRET": "short"}
	_, err := Parse([]byte(yaml), "c.yaml", envOpts(env))
	var got []string
	for _, e := range asErrors(t, err) {
		got = append(got, e.Error())
	}
	want := []string{
		"auth.consent.enabled: must be true in production when dcrEnabled is true: anyone can register a client, and without the consent page naming it and its redirect host the user cannot tell whom the login is for (line 8)",
		"auth.allowDefaultPublic: must be false in production: it lets requests without a token in (line 9)",
		"auth.local.users[0].passwordHash: bcrypt cost 4 is too low for production: use at least 10 (for example: htpasswd -nbBC 12 user PASSWORD) (line 13)",
		"auth.clients[0].clientSecret: must be at least 32 characters in production: client secrets are stored as fast SHA-256 hashes and must be high-entropy (for example: openssl rand -base64 32) (line 16)",
		"auth.clients[0].redirectUris[1]: must be https, or http on a loopback address (RFC 8252 §7.3), in production: a custom scheme can be claimed by any app on the device (line 19)",
		"auth.clients[0].scopes[0]: scope \"read\" is not offered: add it to auth.scopes (line 20)",
		"auth.toolScopes.echo[0]: scope \"read\" is not offered: add it to auth.scopes (line 22)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	// No secret reaches the error text.
	if strings.Contains(err.Error(), "short") || strings.Contains(err.Error(), "urGuj") {
		t.Errorf("an error shows a secret: %v", err)
	}
}
