package config

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// validProduction is a production config that passes Validate today.
func validProduction() *Config {
	c := Default(Production)
	c.Auth.Mode = ModePublic
	c.HTTP.PublicURL = "https://mcp.example.com"
	return c
}

func TestValidateProduction(t *testing.T) {
	notImpl := func(path string) *Error {
		return &Error{Path: path, Msg: "not implemented yet", Err: ErrNotImplemented}
	}
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
			notImpl("auth.tokenStorage.type"),
		}},
		{"redis without TLS to another host", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.Host = "redis.example.com"
		}, Errors{
			{Path: "auth.tokenStorage.config.tls", Err: ErrInsecure,
				Msg: "must be on in production for a Redis that is not on this host: tokens cross the network; set tls: true"},
			notImpl("auth.tokenStorage.type"),
		}},
		{"redis without TLS on loopback", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.Host = "127.0.0.1"
		}, Errors{notImpl("auth.tokenStorage.type")}},
		{"rediss URL counts as TLS", func(c *Config) {
			c.Auth.TokenStorage.Type = StorageRedis
			c.Auth.TokenStorage.Redis.URL = "rediss://redis.example.com:6380/0"
		}, Errors{notImpl("auth.tokenStorage.type")}},
		{"refresh without rotation", func(c *Config) { c.Auth.Refresh.RotateRefreshToken = false }, Errors{
			{Path: "auth.refresh.rotateRefreshToken", Err: ErrInsecure,
				Msg: "must be true in production: without rotation a stolen refresh token stays usable until it expires (OAuth 2.1 §4.3.1)"},
			notImpl("auth.refresh"),
		}},
		{"allowDefaultPublic", func(c *Config) { c.Auth.AllowDefaultPublic = true }, Errors{
			{Path: "auth.allowDefaultPublic", Err: ErrInsecure, Msg: "must be false in production: it lets requests without a token in"},
			notImpl("auth.allowDefaultPublic"),
		}},
		{"transparent without audience", func(c *Config) {
			c.Auth.Mode = ModeTransparent
			c.Auth.Provider = "http://idp.example"
		}, Errors{
			{Path: "auth.provider", Err: ErrInsecure, Msg: "must use https in production"},
			{Path: "auth.expectedAudience", Err: ErrInsecure,
				Msg: "must be set in production (or IDP_EXPECTED_AUDIENCE): without it tokens issued for other services are accepted"},
			notImpl("auth.mode"),
			notImpl("auth.provider"),
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
		{"type without orchestrated", func(c *Config) { c.Auth.Type = TypeLocal }, Errors{
			{Path: "auth.type", Err: ErrValue, Msg: "is only valid with mode orchestrated"},
			{Path: "auth.type", Err: ErrNotImplemented, Msg: "not implemented yet"},
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
			{Path: "auth.tokenStorage.type", Err: ErrNotImplemented, Msg: "not implemented yet"},
		}},
		{"redis missing address", func(c *Config) { c.Auth.TokenStorage.Type = StorageRedis }, Errors{
			{Path: "auth.tokenStorage.config.host", Err: ErrValue, Msg: "must be set (or REDIS_HOST), or use url, sentinelAddrs or clusterAddrs"},
			{Path: "auth.tokenStorage.type", Err: ErrNotImplemented, Msg: "not implemented yet"},
		}},
		{"plain password and bad keys", func(c *Config) {
			c.Auth.Local.SignKey = json.RawMessage(`{"kty":"EC","crv":"P-256","x":"a","y":"b"}`)
			c.Auth.Local.VerifyKeys = []json.RawMessage{json.RawMessage(`{"use":"sig"}`)}
			c.Auth.Local.Users = []User{{Username: "alice", PasswordHash: "hunter2"}, {Username: "bob", PasswordHash: "$2b$12$abcdefghijklmnopqrstuv"}}
		}, Errors{
			{Path: "auth.local.signKey", Err: ErrValue, Msg: `must be a private key: the JWK has no "d" member`},
			{Path: "auth.local.verifyKeys[0]", Err: ErrValue, Msg: `must be a JWK with a "kty" member (RFC 7517 §4.1)`},
			{Path: "auth.local.users[0].passwordHash", Err: ErrValue, Msg: "must be a bcrypt ($2b$...) or argon2id ($argon2id$...) hash, never a plain password (for example: htpasswd -nbBC 12 user PASSWORD)"},
			{Path: "auth.local", Err: ErrNotImplemented, Msg: "not implemented yet"},
		}},
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
			{Path: "auth.clients", Err: ErrNotImplemented, Msg: "not implemented yet"},
		}},
		{"scopes", func(c *Config) { c.Auth.Scopes = []string{"read", "write all", "read"} }, Errors{
			{Path: "auth.scopes[1]", Err: ErrValue, Msg: "must be a scope token: printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)"},
			{Path: "auth.scopes[2]", Err: ErrValue, Msg: `duplicate scope "read"`},
			{Path: "auth.scopes", Err: ErrNotImplemented, Msg: "not implemented yet"},
		}},
		{"durations", func(c *Config) {
			c.Auth.Refresh.AccessTokenTTL = 0
			c.Auth.Transparent.ClockLeeway = time.Hour
			c.Auth.Transparent.JWKSCacheTTL.Min = 2 * time.Hour
		}, Errors{
			{Path: "auth.transparent.clockLeeway", Err: ErrValue, Msg: "must be between 0 and 5m; a larger leeway keeps expired tokens valid"},
			{Path: "auth.transparent.jwksCacheTtl.min", Err: ErrValue, Msg: "must not exceed max"},
			{Path: "auth.refresh.accessTokenTtl", Err: ErrValue, Msg: "must be positive"},
			{Path: "auth.transparent", Err: ErrNotImplemented, Msg: "not implemented yet"},
			{Path: "auth.refresh", Err: ErrNotImplemented, Msg: "not implemented yet"},
		}},
		{"inline JWKS", func(c *Config) { c.Auth.Transparent.JWKS = json.RawMessage(`{"kty":"RSA"}`) }, Errors{
			{Path: "auth.transparent.jwks", Err: ErrValue, Msg: `must be a JWK Set: {"keys": [...]} (RFC 7517 §5)`},
			{Path: "auth.transparent", Err: ErrNotImplemented, Msg: "not implemented yet"},
		}},
		{"empty slices equal the nil defaults", func(c *Config) {
			c.Auth.Scopes = []string{}
			c.Auth.Clients = []Client{}
			c.Auth.Local.Users = nil
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
