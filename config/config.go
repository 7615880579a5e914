package config

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"
)

// Environment selects the defaults and how strict validation is.
type Environment string

// The environments. Only these exact values are accepted.
const (
	Development Environment = "development"
	Staging     Environment = "staging"
	Production  Environment = "production"
)

func (Environment) allowedValues() []string {
	return []string{string(Development), string(Staging), string(Production)}
}

// AuthMode says who authenticates MCP clients.
type AuthMode string

// The authorization modes.
const (
	// ModePublic serves MCP without authentication.
	ModePublic AuthMode = "public"
	// ModeTransparent verifies access tokens issued by an external identity
	// provider (this server is only an OAuth resource server, RFC 9728).
	ModeTransparent AuthMode = "transparent"
	// ModeOrchestrated runs the embedded OAuth 2.1 authorization server.
	ModeOrchestrated AuthMode = "orchestrated"
)

func (AuthMode) allowedValues() []string {
	return []string{string(ModePublic), string(ModeTransparent), string(ModeOrchestrated)}
}

// AuthType says how the embedded authorization server (orchestrated mode)
// logs users in.
type AuthType string

// The orchestrated login types.
const (
	// TypeLocal logs users in against the configured local users.
	TypeLocal AuthType = "local"
	// TypeRemote federates login to an upstream identity provider.
	TypeRemote AuthType = "remote"
)

func (AuthType) allowedValues() []string {
	return []string{string(TypeLocal), string(TypeRemote)}
}

// SessionMode says whether MCP sessions keep server-side state.
type SessionMode string

// The session modes.
const (
	SessionStateful  SessionMode = "stateful"
	SessionStateless SessionMode = "stateless"
)

func (SessionMode) allowedValues() []string {
	return []string{string(SessionStateful), string(SessionStateless)}
}

// StorageType names the backend holding codes, grants, clients and sessions.
type StorageType string

// The storage backends.
const (
	// StorageMemory keeps everything in process memory: lost on restart and
	// not shared between instances.
	StorageMemory StorageType = "memory"
	// StorageFile keeps everything in one embedded database file (bbolt).
	StorageFile StorageType = "file"
	// StorageRedis keeps everything in Redis (single, Sentinel or Cluster).
	StorageRedis StorageType = "redis"
)

func (StorageType) allowedValues() []string {
	return []string{string(StorageMemory), string(StorageFile), string(StorageRedis)}
}

// TokenEndpointAuthMethod is how a client authenticates at the token
// endpoint (RFC 7591 §2, OAuth 2.1 §2.4).
type TokenEndpointAuthMethod string

// The supported client authentication methods.
const (
	AuthMethodNone              TokenEndpointAuthMethod = "none"
	AuthMethodClientSecretBasic TokenEndpointAuthMethod = "client_secret_basic"
	AuthMethodClientSecretPost  TokenEndpointAuthMethod = "client_secret_post"
)

func (TokenEndpointAuthMethod) allowedValues() []string {
	return []string{string(AuthMethodNone), string(AuthMethodClientSecretBasic), string(AuthMethodClientSecretPost)}
}

// LogLevel is the minimum level written to the log.
type LogLevel string

// The log levels.
const (
	LevelDebug LogLevel = "debug"
	LevelInfo  LogLevel = "info"
	LevelWarn  LogLevel = "warn"
	LevelError LogLevel = "error"
)

func (LogLevel) allowedValues() []string {
	return []string{string(LevelDebug), string(LevelInfo), string(LevelWarn), string(LevelError)}
}

// LogFormat is the log line encoding.
type LogFormat string

// The log formats.
const (
	FormatText LogFormat = "text"
	FormatJSON LogFormat = "json"
)

func (LogFormat) allowedValues() []string {
	return []string{string(FormatText), string(FormatJSON)}
}

// enum is implemented by the string types above; the loader and validator
// accept only the listed values.
type enum interface {
	allowedValues() []string
}

// Config is the complete configuration of a frontmcp server. Obtain one with
// Default, Load or Parse; a Config built by hand should be checked with
// Validate before use.
type Config struct {
	// Info identifies the server in the MCP initialize result.
	Info Info `yaml:"info"`
	// Environment selects defaults (token lifetimes, DCR) and production
	// strictness. The FRONTMCP_ENV environment variable overrides it.
	Environment Environment `yaml:"environment"`
	// HTTP configures the listener and the public address.
	HTTP HTTP `yaml:"http"`
	// Auth configures authentication and the OAuth 2.1 authorization server.
	Auth Auth `yaml:"auth"`
	// Logging configures log/slog output.
	Logging Logging `yaml:"logging"`

	// lines maps dotted key paths to the file line that set them.
	lines map[string]int
	// sources maps dotted key paths to the environment variable that set them.
	sources map[string]string
}

// Info identifies the server implementation (MCP initialize result
// serverInfo).
type Info struct {
	// Name is the implementation name. Default "frontmcp".
	Name string `yaml:"name"`
	// Version is the implementation version. Default "0.0.0".
	Version string `yaml:"version"`
}

// HTTP configures the HTTP listener.
type HTTP struct {
	// Host is the interface to listen on. Default "127.0.0.1".
	Host string `yaml:"host"`
	// Port is the TCP port, 1..65535, or 0 to pick a free port. Default 3001.
	Port int `yaml:"port"`
	// PublicURL is the absolute http(s) URL clients use to reach this server
	// (no query or fragment; a trailing slash is trimmed). It is the base of
	// the canonical resource URI (RFC 8707 §2) and the issuer. Default
	// http://{host}:{port}. Production requires an https URL.
	PublicURL string `yaml:"publicUrl"`
	// MCPPath is the path of the Streamable HTTP endpoint. Default "/mcp".
	MCPPath string `yaml:"mcpPath"`
	// AllowedHosts are Host header values accepted besides the localhost
	// names and the PublicURL host (DNS rebinding protection).
	AllowedHosts []string `yaml:"allowedHosts"`
	// AllowedOrigins are Origin header values accepted from browser clients
	// besides the PublicURL origin.
	AllowedOrigins []string `yaml:"allowedOrigins"`
}

// Auth configures authentication. Fields tagged planned:"true" are part of
// the schema but not implemented yet; see the package documentation.
type Auth struct {
	// Mode is public, transparent or orchestrated. Default orchestrated (with
	// type local), except in production, which has no default: the mode must
	// be set explicitly.
	Mode AuthMode `yaml:"mode"`
	// Type is local or remote; only valid with mode orchestrated, where it
	// defaults to local.
	Type AuthType `yaml:"type"`
	// SessionMode is stateful or stateless. Default stateful.
	SessionMode SessionMode `yaml:"sessionMode"`
	// Session configures the MCP sessions of SessionMode stateful.
	Session Session `yaml:"session"`
	// TokenStorage selects the storage backend.
	TokenStorage TokenStorage `yaml:"tokenStorage"`
	// Local configures signing keys and users of the embedded server.
	Local Local `yaml:"local"`
	// Provider is the identity provider (issuer) URL for transparent and
	// remote modes. Environment fallback: IDP_PROVIDER_URL.
	Provider string `yaml:"provider"`
	// ExpectedAudience is the required "aud" of incoming access tokens;
	// required in mode transparent. Environment fallback:
	// IDP_EXPECTED_AUDIENCE.
	ExpectedAudience string `yaml:"expectedAudience"`
	// Transparent configures access token verification in transparent mode.
	Transparent Transparent `yaml:"transparent"`
	// Remote configures the upstream identity provider in remote mode.
	Remote Remote `yaml:"remote"`
	// Refresh configures token lifetimes and refresh token rotation.
	Refresh Refresh `yaml:"refresh"`
	// Consent configures the consent page.
	Consent Consent `yaml:"consent"`
	// AllowDefaultPublic lets requests without a token through as anonymous.
	// Default false; refused in production.
	AllowDefaultPublic bool `yaml:"allowDefaultPublic"`
	// DCREnabled turns on Dynamic Client Registration (RFC 7591). Default true
	// outside production, false in production.
	DCREnabled bool `yaml:"dcrEnabled"`
	// DCR restricts Dynamic Client Registration.
	DCR DCR `yaml:"dcr"`
	// CIMD configures Client ID Metadata Documents (URL client ids).
	CIMD CIMD `yaml:"cimd"`
	// Clients are pre-registered OAuth clients.
	Clients []Client `yaml:"clients"`
	// Scopes are the scopes this server offers (RFC 8414 and RFC 9728
	// scopes_supported); requests for others get invalid_scope.
	Scopes []string `yaml:"scopes"`
	// ToolScopes maps a tool name to the scopes a token needs to call it; a
	// call without them gets 403 insufficient_scope (MCP step-up). Each scope
	// must be one of Scopes.
	ToolScopes map[string][]string `yaml:"toolScopes"`
	// Vault configures encryption at rest of stored secrets (generated
	// signing keys; upstream tokens in remote mode). Mode orchestrated only.
	Vault Vault `yaml:"vault"`
}

// Session configures MCP sessions (SessionMode stateful). Sessions are
// kept in the token storage, so that every instance on a shared store
// continues them; package session explains.
type Session struct {
	// IdleTimeout ends a session no request has used for this long. In YAML
	// an integer is seconds and a string is a Go duration. Default 30m.
	IdleTimeout time.Duration `yaml:"idleTimeout"`
	// AbsoluteTimeout ends a session this long after it began, however busy.
	// Default 24h.
	AbsoluteTimeout time.Duration `yaml:"absoluteTimeout"`
}

// TokenStorage selects the storage backend. In YAML it is
// {type, config}; the keys valid under config depend on type.
type TokenStorage struct {
	// Type is memory, file or redis. Default file.
	Type StorageType `yaml:"type"`
	// File is the YAML "config" when Type is file.
	File FileStorage `yaml:"-"`
	// Redis is the YAML "config" when Type is redis.
	Redis RedisStorage `yaml:"-"`
}

// FileStorage configures the embedded database file.
type FileStorage struct {
	// Path of the database file. Default ".frontmcp/store.db".
	Path string `yaml:"path"`
}

// RedisStorage configures the Redis client. Set Host/Port for a single
// server, MasterName with SentinelAddrs for Sentinel, ClusterAddrs for a
// cluster, or URL (redis:// or rediss://) instead of the discrete fields.
type RedisStorage struct {
	// Host of a single server. Environment fallback: REDIS_HOST.
	Host string `yaml:"host"`
	// Port of a single server. Default 6379. Environment fallback: REDIS_PORT.
	Port int `yaml:"port"`
	// Password for AUTH. Environment fallback: REDIS_PASSWORD.
	Password string `yaml:"password" secret:"true"`
	// Username for ACL AUTH (Redis 6+).
	Username string `yaml:"username"`
	// DB is the database number (single and Sentinel only).
	DB int `yaml:"db"`
	// TLS is true, false or a mapping of TLS settings (which implies true).
	TLS RedisTLS `yaml:"tls"`
	// KeyPrefix is prepended to every key. Default "frontmcp:".
	KeyPrefix string `yaml:"keyPrefix"`
	// URL is a redis:// or rediss:// URL; its password is a secret.
	URL string `yaml:"url" secret:"url"`
	// MasterName is the Sentinel master name.
	MasterName string `yaml:"masterName"`
	// SentinelAddrs are host:port addresses of Sentinels.
	SentinelAddrs []string `yaml:"sentinelAddrs"`
	// ClusterAddrs are host:port seed addresses of a cluster.
	ClusterAddrs []string `yaml:"clusterAddrs"`
	// PoolSize is the connection pool size per node; 0 means 10 per CPU,
	// at least 64 (redisstore.DefaultPoolSize).
	PoolSize int `yaml:"poolSize"`
	// DialTimeout; 0 uses the client default.
	DialTimeout time.Duration `yaml:"dialTimeout"`
	// ReadTimeout; 0 uses the client default.
	ReadTimeout time.Duration `yaml:"readTimeout"`
	// WriteTimeout; 0 uses the client default.
	WriteTimeout time.Duration `yaml:"writeTimeout"`
}

// RedisTLS configures TLS to Redis. In YAML it is either a boolean or a
// mapping of the fields below; a mapping turns TLS on.
type RedisTLS struct {
	// Enabled turns TLS on.
	Enabled bool `yaml:"-"`
	// CAFile is a PEM bundle of CAs to trust instead of the system pool.
	CAFile string `yaml:"caFile"`
	// CertFile is the PEM client certificate for mutual TLS.
	CertFile string `yaml:"certFile"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"keyFile"`
	// ServerName overrides the name checked in the server certificate.
	ServerName string `yaml:"serverName"`
	// InsecureSkipVerify disables certificate checks. Refused in production.
	InsecureSkipVerify bool `yaml:"insecureSkipVerify"`
}

// Local configures the embedded authorization server's keys and users.
type Local struct {
	// SignKey is the private JWK that signs access tokens, written as a JSON
	// string or a YAML mapping. Environment fallback: JWT_SIGNING_KEY.
	SignKey json.RawMessage `yaml:"signKey" secret:"true"`
	// VerifyKeys are extra public JWKs published in the JWKS and accepted for
	// verification (keys being rotated out).
	VerifyKeys []json.RawMessage `yaml:"verifyKeys"`
	// KeyRotationDays is the signing key lifetime in days; 0 disables
	// automatic rotation.
	KeyRotationDays int `yaml:"keyRotationDays"`
	// MaxKeys is how many keys (current and retired) the JWKS keeps. Default 3.
	MaxKeys int `yaml:"maxKeys"`
	// Users are the accounts of local login.
	Users []User `yaml:"users"`
}

// User is one local login account.
type User struct {
	// Username is the login name and the token subject.
	Username string `yaml:"username"`
	// PasswordHash is a bcrypt ($2a$/$2b$/$2y$; cost 10 or more in
	// production) or argon2id (PHC string $argon2id$v=19$m=,t=,p=$salt$hash)
	// hash; plain passwords are rejected.
	PasswordHash string `yaml:"passwordHash" secret:"true"`
	// Claims are extra claims put in this user's access tokens; they cannot
	// replace the claims the server sets (iss, sub, aud, exp, iat, nbf, jti,
	// client_id, scope).
	Claims map[string]any `yaml:"claims"`
}

// Transparent configures verification of external access tokens.
type Transparent struct {
	// AdditionalIssuers are accepted "iss" values besides Provider (http(s)
	// URLs; listed in the protected resource metadata too). Without
	// Provider, they name the accepted issuers.
	AdditionalIssuers []string `yaml:"additionalIssuers"`
	// RequiredScopes must all be present in every access token; a token
	// without them gets 403 insufficient_scope. When Auth.Scopes is set,
	// each must be one of them.
	RequiredScopes []string `yaml:"requiredScopes"`
	// JWKSURI overrides the jwks_uri found by discovery.
	JWKSURI string `yaml:"jwksUri"`
	// JWKS is an inline JSON Web Key Set used instead of fetching one.
	JWKS json.RawMessage `yaml:"jwks"`
	// RequireTyp requires the "at+jwt" header type (RFC 9068 §2.1) and the
	// RFC 9068 claims. When false, tokens typed at+jwt, JWT or not typed
	// are accepted; other types (such as ID tokens typed id_token+jwt) never.
	RequireTyp bool `yaml:"requireTyp"`
	// ClockLeeway is the tolerated clock skew for exp/nbf/iat. Default 30s.
	ClockLeeway time.Duration `yaml:"clockLeeway"`
	// JWKSCacheTTL bounds caching of the fetched JWKS.
	JWKSCacheTTL JWKSCacheTTL `yaml:"jwksCacheTtl"`
}

// JWKSCacheTTL bounds caching of a remote JWKS.
type JWKSCacheTTL struct {
	// Min is the minimum time between successful fetches, also on an
	// unknown kid (the rate limit), and the shortest a fetched JWKS is
	// used. Must be positive. Default 1m.
	Min time.Duration `yaml:"min"`
	// Max is the longest a fetched JWKS is used before refetching, whatever
	// its Cache-Control max-age says. Default 1h.
	Max time.Duration `yaml:"max"`
	// Stale is how long an expired JWKS is still used while the provider
	// cannot be reached; after it, requests fail closed (503). 0 means no
	// stale use. Default 24h.
	Stale time.Duration `yaml:"stale"`
}

// Remote configures the upstream identity provider of remote mode
// (orchestrated, type remote): users log in at Provider, this server issues
// its own tokens, and the provider's tokens are kept encrypted in the vault
// (auth.vault.key is required) for tools. Register
// {publicUrl}/oauth/upstream/callback as the redirect URI at the provider.
// The provider is found by discovery (OpenID Connect, then RFC 8414); see
// docs/remote.md.
type Remote struct {
	// ClientID at the provider. Required. Environment fallback:
	// IDP_CLIENT_ID.
	ClientID string `yaml:"clientId"`
	// ClientSecret at the provider; empty for a public client (PKCE only).
	// Environment fallback: IDP_CLIENT_SECRET.
	ClientSecret string `yaml:"clientSecret" secret:"true"`
	// Scopes requested from the provider. Default "openid offline_access"
	// for an OpenID provider ("openid" is always added there); none for a
	// plain OAuth provider.
	Scopes []string `yaml:"scopes"`
	// AuthorizationEndpoint overrides the discovered one.
	AuthorizationEndpoint string `yaml:"authorizationEndpoint"`
	// TokenEndpoint overrides the discovered one.
	TokenEndpoint string `yaml:"tokenEndpoint"`
	// SubjectClaim is the upstream claim (of the ID token, or of the JWT
	// access token of a plain OAuth provider) that becomes the subject of
	// this server's tokens. Default "sub", the only claim OpenID Connect
	// Core §5.7 makes stable and unique. "email" is accepted, and a login
	// is refused unless the provider says email_verified: true; any other
	// claim needs AllowMutableSubjectClaim.
	SubjectClaim string `yaml:"subjectClaim"`
	// AllowMutableSubjectClaim acknowledges a SubjectClaim other than
	// "sub" or "email": such a claim may change or be reassigned at the
	// provider (OpenID Connect Core §5.7), and a new holder of the value
	// would receive the grants, remembered consent and sessions of the old
	// one.
	AllowMutableSubjectClaim bool `yaml:"allowMutableSubjectClaim"`
	// CopyClaims are upstream claims copied into issued access tokens
	// (never registered claims such as iss, sub, aud, exp, scope).
	CopyClaims []string `yaml:"copyClaims"`
}

// UpstreamCallbackPath is the path of remote mode's redirect URI, below
// the public URL.
const UpstreamCallbackPath = "/oauth/upstream/callback"

// UpstreamCallbackURL returns the redirect URI to register at the upstream
// identity provider in remote mode: BaseURL plus UpstreamCallbackPath.
func (c *Config) UpstreamCallbackURL() string {
	return c.BaseURL() + UpstreamCallbackPath
}

// UsesRemote reports whether the configuration runs orchestrated/remote
// mode.
func (c *Config) UsesRemote() bool { return usesRemote(c) }

// Refresh configures token lifetimes and refresh token rotation
// (OAuth 2.1 §4.3, §6.1).
type Refresh struct {
	// Enabled issues refresh tokens. Default true.
	Enabled bool `yaml:"enabled"`
	// AccessTokenTTL is the access token lifetime. In YAML an integer is
	// seconds and a string is a Go duration. Default 1h (development), 30m
	// (staging), 15m (production).
	AccessTokenTTL time.Duration `yaml:"accessTokenTtl"`
	// RefreshTokenTTL is the refresh token lifetime. Default 7 days.
	RefreshTokenTTL time.Duration `yaml:"refreshTokenTtl"`
	// RotateRefreshToken issues a new refresh token on each use and revokes
	// the grant when an old one is reused. Default true; required in
	// production.
	RotateRefreshToken bool `yaml:"rotateRefreshToken"`
	// ReuseGraceSeconds lets a client present the refresh token it just
	// rotated out again for this many seconds, as a retry after a lost reply:
	// the retry rotates again (the token of the lost reply dies) instead of
	// revoking the grant as reuse (RFC 9700 §4.14.2). 0 to 60; default 0 (every
	// reuse revokes). Applies to grants issued after the setting.
	ReuseGraceSeconds int `yaml:"reuseGraceSeconds"`
	// SkewSeconds refreshes upstream tokens (remote mode) this many seconds
	// before they expire. Default 60.
	SkewSeconds int `yaml:"skewSeconds"`
	// AbsoluteLifetime caps a grant's total life across refreshes. Default 30
	// days.
	AbsoluteLifetime time.Duration `yaml:"absoluteLifetime"`
}

// Consent configures the consent page.
type Consent struct {
	// Enabled shows the consent page before issuing a code. Default true;
	// required in production when DCREnabled is true.
	Enabled bool `yaml:"enabled"`
}

// DCR restricts Dynamic Client Registration (RFC 7591) and its client
// configuration endpoint (RFC 7592). Used only in mode orchestrated with
// dcrEnabled.
type DCR struct {
	// AllowedRedirectURIs are patterns every redirect URI of a registration
	// must match; empty allows any that pass the OAuth 2.1 rules. A pattern
	// is a URI whose host may start with wildcard labels ("*" one label,
	// "**" one or more), whose port may be "*", and whose path may use "*"
	// within a segment and "**" as a whole segment (any number of
	// segments); scheme and query match exactly. See authserver/dcr.Pattern.
	AllowedRedirectURIs []string `yaml:"allowedRedirectUris"`
	// InitialAccessToken, when set, is required as a bearer token to register
	// (RFC 7591 §3). At least 32 characters in production.
	InitialAccessToken string `yaml:"initialAccessToken" secret:"true"`
	// MaxClients caps the number of dynamically registered clients; 0 means
	// no cap. Default 1000.
	MaxClients int `yaml:"maxClients"`
}

// CIMD configures Client ID Metadata Documents: https URLs as client ids.
type CIMD struct {
	// Enabled accepts https URLs as client ids and fetches the client
	// metadata document each names (mode orchestrated). Default false.
	Enabled bool `yaml:"enabled"`
	// AllowedDomains restricts the hosts of URL client ids: "example.com"
	// allows that host, "*.example.com" its subdomains. Empty allows any.
	AllowedDomains []string `yaml:"allowedDomains"`
	// AllowLoopbackHTTP also accepts http://localhost (127.0.0.1, [::1])
	// client ids and lets the fetcher connect to loopback addresses, for
	// clients developed on the same machine. Default false; refused in
	// production.
	AllowLoopbackHTTP bool `yaml:"allowLoopbackHttp"`
	// CacheTTL bounds caching of fetched metadata documents: their
	// Cache-Control max-age or Expires, clamped to [min, max].
	CacheTTL CacheTTL `yaml:"cacheTtl"`
}

// CacheTTL bounds how long fetched documents are cached.
type CacheTTL struct {
	// Min is the shortest caching time, whatever the response says.
	// Default 1m.
	Min time.Duration `yaml:"min"`
	// Max is the longest caching time. Default 24h.
	Max time.Duration `yaml:"max"`
}

// Client is a pre-registered OAuth client.
type Client struct {
	// ClientID is the client identifier.
	ClientID string `yaml:"clientId"`
	// ClientSecret is the secret of a confidential client; in production at
	// least 32 characters.
	ClientSecret string `yaml:"clientSecret" secret:"true"`
	// RedirectURIs are matched exactly (OAuth 2.1 §2.3.1). In production
	// each is https, or http on a loopback host (RFC 8252 §7.3).
	RedirectURIs []string `yaml:"redirectUris"`
	// TokenEndpointAuthMethod defaults to client_secret_basic when
	// ClientSecret is set and none otherwise.
	TokenEndpointAuthMethod TokenEndpointAuthMethod `yaml:"tokenEndpointAuthMethod"`
	// GrantTypes are authorization_code and refresh_token (the default: both).
	GrantTypes []string `yaml:"grantTypes"`
	// Scopes the client may request; empty allows all offered scopes.
	Scopes []string `yaml:"scopes"`
}

// Vault configures encryption at rest (AES-256-GCM envelopes, package vault)
// of the secrets the server stores: generated signing keys, and upstream
// tokens in remote mode. A key is 32 random bytes as base64 or 64 hex
// characters (frontmcp vault generate-key). Without a key, those secrets are
// stored in plaintext.
type Vault struct {
	// Key encrypts new entries. Environment fallback: VAULT_KEY (or
	// VAULT_KEY_FILE).
	Key string `yaml:"key" secret:"true"`
	// PreviousKeys still decrypt older entries during key rotation; entries
	// they open are re-encrypted with Key.
	PreviousKeys []string `yaml:"previousKeys" secret:"true"`
}

// Logging configures log output.
type Logging struct {
	// Level is debug, info, warn or error. Default info.
	Level LogLevel `yaml:"level"`
	// Format is text or json. Default text.
	Format LogFormat `yaml:"format"`
	// Redact lists extra attribute keys whose values are never logged, added
	// to the built-in list.
	Redact []string `yaml:"redact"`
}

// Default returns the defaults for env. An unknown env gets the development
// defaults and keeps its value, so Validate reports it.
func Default(env Environment) *Config {
	c := &Config{
		Info:        Info{Name: "frontmcp", Version: "0.0.0"},
		Environment: env,
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
	switch env {
	case Staging:
		c.Auth.Refresh.AccessTokenTTL = 30 * time.Minute
	case Production:
		c.Auth.Mode = "" // production must choose a mode explicitly
		c.Auth.Refresh.AccessTokenTTL = 15 * time.Minute
		c.Auth.DCREnabled = false
	}
	return c
}

// BaseURL returns the public base URL without a trailing slash: PublicURL,
// or http://{host}:{port} when it is empty (an unspecified listen address
// becomes localhost).
func (c *Config) BaseURL() string {
	if c.HTTP.PublicURL != "" {
		return strings.TrimRight(c.HTTP.PublicURL, "/")
	}
	return "http://" + net.JoinHostPort(urlHost(c.HTTP.Host), strconv.Itoa(c.HTTP.Port))
}

// MCPURL returns the canonical URL of the MCP endpoint: BaseURL plus
// MCPPath. It is this server's resource identifier (RFC 8707 §2, RFC 9728
// §3 "resource").
func (c *Config) MCPURL() string {
	return c.BaseURL() + c.HTTP.MCPPath
}

// ListenAddr returns the host:port to listen on.
func (c *Config) ListenAddr() string {
	return net.JoinHostPort(c.HTTP.Host, strconv.Itoa(c.HTTP.Port))
}

// Sources reports which values came from the environment: dotted key path →
// description such as "env REDIS_HOST" (fallback), "env REDIS_PASSWORD_FILE"
// (fallback read from a file) or "env PORT via config.yaml:3" (${PORT} in the
// file). Paths not listed come from the file or the defaults.
func (c *Config) Sources() map[string]string {
	out := make(map[string]string, len(c.sources))
	for k, v := range c.sources {
		out[k] = v
	}
	return out
}

// urlHost maps an unspecified listen address to a name a client can use.
func urlHost(host string) string {
	switch host {
	case "", "0.0.0.0", "::":
		return "localhost"
	}
	return host
}

// effectiveType is the orchestrated login type, local when unset.
func (a *Auth) effectiveType() AuthType {
	if a.Type == "" {
		return TypeLocal
	}
	return a.Type
}
