package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/cimd"
	"github.com/frontmcp-go/frontmcp/keys"
	"github.com/frontmcp-go/frontmcp/vault"
)

// Validate checks the semantic rules that YAML types cannot express: ranges,
// URL shapes, options that only make sense together, and, in production,
// the settings refused as insecure. It also rejects options that are not
// implemented yet when they differ from their defaults. The result is nil or
// Errors. Load and Parse call it.
func (c *Config) Validate() error {
	if errs := c.validate(true); len(errs) > 0 {
		sortErrors(errs)
		return errs
	}
	return nil
}

// validate runs every check; checkPlanned adds the not-implemented check for
// configs built in Go (the loader checks presence in the file instead).
func (c *Config) validate(checkPlanned bool) Errors {
	v := &validator{c: c, prod: c.Environment == Production}
	v.info()
	v.enum("environment", c.Environment, false)
	v.http()
	v.auth()
	v.logging()
	if checkPlanned {
		v.planned(reflect.ValueOf(c).Elem(), reflect.ValueOf(Default(c.Environment)).Elem(), "")
	}
	return v.errs
}

type validator struct {
	c    *Config
	prod bool
	errs Errors
}

func (v *validator) add(path string, kind error, format string, args ...any) {
	v.errs = append(v.errs, &Error{Path: path, Line: v.lineOf(path), Msg: fmt.Sprintf(format, args...), Err: kind})
}

// lineOf finds the file line of path or of its nearest parent in the file.
func (v *validator) lineOf(path string) int {
	for path != "" {
		if l, ok := v.c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// enum checks that val is one of its type's values (or empty when allowed).
func (v *validator) enum(path string, val enum, allowEmpty bool) {
	s := reflect.ValueOf(val).String()
	if s == "" && allowEmpty {
		return
	}
	if !slices.Contains(val.allowedValues(), s) {
		v.add(path, ErrValue, "invalid value %s (allowed: %s)", quote(s), strings.Join(val.allowedValues(), ", "))
	}
}

func (v *validator) info() {
	if v.c.Info.Name == "" {
		v.add("info.name", ErrValue, "must not be empty")
	}
	if v.c.Info.Version == "" {
		v.add("info.version", ErrValue, "must not be empty")
	}
}

func (v *validator) http() {
	h := &v.c.HTTP
	if !validListenHost(h.Host) {
		v.add("http.host", ErrValue, "must be a host name or IP address without a port (use http.port)")
	}
	if h.Port < 0 || h.Port > 65535 {
		v.add("http.port", ErrValue, "must be between 1 and 65535, or 0 to pick a free port; got %d", h.Port)
	}
	switch {
	case h.PublicURL != "":
		if u, ok := v.absURL("http.publicUrl", h.PublicURL); ok {
			if u.RawQuery != "" || u.ForceQuery {
				v.add("http.publicUrl", ErrValue, "must not have a query")
			}
			if v.prod && u.Scheme != "https" {
				v.add("http.publicUrl", ErrInsecure, "must use https in production: tokens and codes travel in requests; terminate TLS at a reverse proxy or load balancer and set publicUrl to its https address")
			}
		}
	case v.prod:
		v.add("http.publicUrl", ErrInsecure, "must be set in production to the https URL clients use; the default %s is plain http", v.c.BaseURL())
	}
	switch p := h.MCPPath; {
	case !strings.HasPrefix(p, "/"):
		v.add("http.mcpPath", ErrValue, "must start with /")
	case strings.ContainsAny(p, "?# \t") || strings.Contains(p, "//") || strings.Contains(p, ".."):
		v.add("http.mcpPath", ErrValue, "must be a plain path (no query, fragment, spaces, // or ..)")
	case p == "/.well-known" || strings.HasPrefix(p, "/.well-known/"):
		v.add("http.mcpPath", ErrValue, "must not be under /.well-known/, which holds the discovery documents")
	}
	for i, host := range h.AllowedHosts {
		path := fmt.Sprintf("http.allowedHosts[%d]", i)
		if host == "" || strings.ContainsAny(host, "/ \t*") {
			v.add(path, ErrValue, "must be a Host header value: a host name or host:port (no scheme, path or wildcard)")
		}
	}
	for i, origin := range h.AllowedOrigins {
		path := fmt.Sprintf("http.allowedOrigins[%d]", i)
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			v.add(path, ErrValue, "must be an origin such as https://app.example.com (scheme, host and optional port; no wildcard or path)")
		}
	}
}

// validListenHost accepts "" (all interfaces), an IP address or a DNS name.
func validListenHost(h string) bool {
	if h == "" || net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 || strings.HasPrefix(h, "-") || strings.HasPrefix(h, ".") {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}

// absURL checks an absolute http(s) URL without credentials or fragment.
func (v *validator) absURL(path, s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		v.add(path, ErrValue, "must be an absolute http or https URL")
		return nil, false
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		v.add(path, ErrValue, "must be an http or https URL")
		return nil, false
	}
	if u.Host == "" {
		v.add(path, ErrValue, "must include a host")
		return nil, false
	}
	if u.User != nil {
		v.add(path, ErrValue, "must not contain a user name or password")
		return nil, false
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		v.add(path, ErrValue, "must not have a fragment")
		return nil, false
	}
	return u, true
}

// remoteURL checks a URL of another server: absolute, and https in
// production.
func (v *validator) remoteURL(path, s string) {
	if s == "" {
		return
	}
	if u, ok := v.absURL(path, s); ok && v.prod && u.Scheme != "https" {
		v.add(path, ErrInsecure, "must use https in production")
	}
}

func isLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) auth() {
	a := &v.c.Auth
	switch {
	case a.Mode == "" && v.prod:
		v.add("auth.mode", ErrInsecure, "must be set explicitly in production (public, transparent or orchestrated), so the server never runs unauthenticated by accident")
	default:
		v.enum("auth.mode", a.Mode, false)
	}
	v.enum("auth.type", a.Type, true)
	// The default type (local) goes unremarked in other modes; a type the
	// file names, or remote, contradicts the mode.
	_, typeInFile := v.c.lines["auth.type"]
	if a.Type != "" && a.Mode != ModeOrchestrated && (a.Type != TypeLocal || typeInFile) {
		v.add("auth.type", ErrValue, "is only valid with mode orchestrated")
	}
	v.enum("auth.sessionMode", a.SessionMode, false)
	v.session()
	v.storage()
	v.local()
	switch {
	case a.Mode == ModeTransparent:
		v.transparentMode()
	case usesProvider(v.c) && a.Provider == "":
		v.add("auth.provider", ErrValue, "must be set (or IDP_PROVIDER_URL) for mode %s", a.Mode)
	case !usesProvider(v.c):
		// Nothing reads these outside transparent and remote: refuse them
		// rather than ignore them.
		if a.Provider != "" {
			v.add("auth.provider", ErrValue, "is only used with mode transparent (or orchestrated with type remote)")
		}
		if a.ExpectedAudience != "" {
			v.add("auth.expectedAudience", ErrValue, "is only used with mode transparent (or orchestrated with type remote)")
		}
	}
	if _, inFile := v.c.lines["auth.transparent"]; a.Mode != ModeTransparent &&
		(inFile || !equalValue(reflect.ValueOf(a.Transparent), reflect.ValueOf(Default(v.c.Environment).Auth.Transparent))) {
		v.add("auth.transparent", ErrValue, "is only used with mode transparent")
	}
	v.remoteURL("auth.provider", a.Provider)
	v.transparent()
	v.remote()
	v.refresh()
	if v.prod && a.AllowDefaultPublic {
		v.add("auth.allowDefaultPublic", ErrInsecure, "must be false in production: it lets requests without a token in")
	}
	if v.prod && a.Mode == ModeOrchestrated && a.DCREnabled && !a.Consent.Enabled {
		v.add("auth.consent.enabled", ErrInsecure, "must be true in production when dcrEnabled is true: anyone can register a client, and without the consent page naming it and its redirect host the user cannot tell whom the login is for")
	}
	v.dcr()
	v.cimd()
	v.clients()
	v.toolScopes()
	v.scopes("auth.scopes", a.Scopes)
	v.vault()
}

// cimd checks auth.cimd (Client ID Metadata Documents).
func (v *validator) cimd() {
	a := &v.c.Auth
	c := &a.CIMD
	for i, d := range c.AllowedDomains {
		if !cimd.ValidDomainPattern(d) {
			v.add(fmt.Sprintf("auth.cimd.allowedDomains[%d]", i), ErrValue, "must be a host name such as example.com, optionally *.example.com for its subdomains (no scheme, port or path)")
		}
	}
	v.ttlRange("auth.cimd.cacheTtl", c.CacheTTL.Min, c.CacheTTL.Max)
	if c.CacheTTL.Min == 0 {
		v.add("auth.cimd.cacheTtl.min", ErrValue, "must be positive: it bounds how often one client's document is fetched")
	}
	if c.CacheTTL.Max == 0 {
		v.add("auth.cimd.cacheTtl.max", ErrValue, "must be positive")
	}
	switch {
	case c.Enabled && a.Mode != ModeOrchestrated:
		v.add("auth.cimd.enabled", ErrValue, "is only used with mode orchestrated")
		return
	case !c.Enabled:
		// Nothing reads these settings: refuse them rather than ignore them.
		if !equalValue(reflect.ValueOf(*c), reflect.ValueOf(Default(v.c.Environment).Auth.CIMD)) {
			v.add("auth.cimd", ErrValue, "is only used with enabled: true (and mode orchestrated)")
		}
		return
	}
	if v.prod && c.AllowLoopbackHTTP {
		v.add("auth.cimd.allowLoopbackHttp", ErrInsecure, "must be false in production: it accepts http client ids and lets the server fetch from its own loopback interface")
	}
	if v.prod && a.Mode == ModeOrchestrated && !a.Consent.Enabled {
		v.add("auth.consent.enabled", ErrInsecure, "must be true in production when cimd.enabled is true: any https URL can name a client, and without the consent page naming it and its host the user cannot tell whom the login is for")
	}
}

// vault checks auth.vault: keys that parse (without echoing them), only in
// mode orchestrated.
func (v *validator) vault() {
	a := &v.c.Auth
	if _, inFile := v.c.lines["auth.vault"]; a.Mode != ModeOrchestrated &&
		(inFile || a.Vault.Key != "" || len(a.Vault.PreviousKeys) > 0) {
		v.add("auth.vault", ErrValue, "is only used with mode orchestrated")
		return
	}
	if a.Vault.Key == "" && len(a.Vault.PreviousKeys) > 0 {
		v.add("auth.vault.key", ErrValue, "must be set (or VAULT_KEY) when previousKeys is set")
	}
	if a.Vault.Key != "" {
		if _, err := vault.ParseKey(a.Vault.Key); err != nil {
			v.add("auth.vault.key", ErrValue, "%v", err)
		}
	}
	for i, k := range a.Vault.PreviousKeys {
		if _, err := vault.ParseKey(k); err != nil {
			v.add(fmt.Sprintf("auth.vault.previousKeys[%d]", i), ErrValue, "%v", err)
		}
	}
}

func (v *validator) storage() {
	ts := &v.c.Auth.TokenStorage
	v.enum("auth.tokenStorage.type", ts.Type, false)
	def := Default(v.c.Environment).Auth.TokenStorage
	switch ts.Type {
	case StorageMemory:
		// Transparent mode keeps only MCP sessions in the store: memory is
		// fine there for one instance.
		if v.prod && v.c.Auth.Mode != ModeTransparent {
			v.add("auth.tokenStorage.type", ErrInsecure, "memory storage is refused in production: it loses every token and session on restart and cannot be shared between instances; use file or redis")
		}
	case StorageFile:
		if ts.File.Path == "" {
			v.add("auth.tokenStorage.config.path", ErrValue, "must not be empty")
		}
	case StorageRedis:
		v.redis(&ts.Redis)
	}
	if ts.Type != StorageRedis && !equalValue(reflect.ValueOf(ts.Redis), reflect.ValueOf(def.Redis)) {
		v.add("auth.tokenStorage.config", ErrValue, "redis settings are set but type is %s", ts.Type)
	}
	if ts.Type != StorageFile && ts.File != def.File {
		v.add("auth.tokenStorage.config", ErrValue, "file settings are set but type is %s", ts.Type)
	}
}

func (v *validator) redis(r *RedisStorage) {
	const base = "auth.tokenStorage.config"
	var hosts []string
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		switch {
		case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix"):
			v.add(base+".url", ErrValue, "must be a redis://, rediss:// or unix:// URL")
		case r.Host != "" || len(r.SentinelAddrs) > 0 || len(r.ClusterAddrs) > 0:
			v.add(base+".url", ErrValue, "set either url or host/sentinelAddrs/clusterAddrs, not both")
		default:
			hosts = append(hosts, u.Hostname())
			if u.Scheme == "unix" {
				hosts[len(hosts)-1] = "localhost"
			}
		}
	}
	if r.Host != "" {
		hosts = append(hosts, r.Host)
	}
	addrs := func(name string, list []string) {
		for i, a := range list {
			h, _, err := net.SplitHostPort(a)
			if err != nil || h == "" {
				v.add(fmt.Sprintf("%s.%s[%d]", base, name, i), ErrValue, "must be host:port")
				continue
			}
			hosts = append(hosts, h)
		}
	}
	addrs("sentinelAddrs", r.SentinelAddrs)
	addrs("clusterAddrs", r.ClusterAddrs)
	switch {
	case r.URL == "" && r.Host == "" && len(r.SentinelAddrs) == 0 && len(r.ClusterAddrs) == 0:
		v.add(base+".host", ErrValue, "must be set (or REDIS_HOST), or use url, sentinelAddrs or clusterAddrs")
	case len(r.SentinelAddrs) > 0 && len(r.ClusterAddrs) > 0:
		v.add(base+".clusterAddrs", ErrValue, "cannot be combined with sentinelAddrs")
	case len(r.SentinelAddrs) > 0 && r.MasterName == "":
		v.add(base+".masterName", ErrValue, "must be set with sentinelAddrs")
	case r.MasterName != "" && len(r.SentinelAddrs) == 0:
		v.add(base+".sentinelAddrs", ErrValue, "must be set with masterName")
	case len(r.ClusterAddrs) > 0 && r.DB != 0:
		v.add(base+".db", ErrValue, "must be 0 with clusterAddrs (Redis Cluster has one database)")
	}
	if r.Port < 1 || r.Port > 65535 {
		v.add(base+".port", ErrValue, "must be between 1 and 65535; got %d", r.Port)
	}
	if strings.ContainsAny(r.KeyPrefix, "{}") {
		v.add(base+".keyPrefix", ErrValue, "must not contain '{' or '}': braces are Redis Cluster hash tags and would put every key in one slot")
	}
	if r.DB < 0 {
		v.add(base+".db", ErrValue, "must not be negative")
	}
	if r.PoolSize < 0 {
		v.add(base+".poolSize", ErrValue, "must not be negative")
	}
	for name, d := range map[string]time.Duration{"dialTimeout": r.DialTimeout, "readTimeout": r.ReadTimeout, "writeTimeout": r.WriteTimeout} {
		if d < 0 {
			v.add(base+"."+name, ErrValue, "must not be negative")
		}
	}
	t := r.TLS
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify) {
		v.add(base+".tls", ErrValue, "TLS settings are set but TLS is off")
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.add(base+".tls", ErrValue, "certFile and keyFile must be set together")
	}
	if !v.prod {
		return
	}
	if t.InsecureSkipVerify {
		v.add(base+".tls.insecureSkipVerify", ErrInsecure, "is refused in production: it accepts any certificate, so anyone on the path can read the tokens; trust the server's CA with caFile instead")
	}
	if u, err := url.Parse(r.URL); r.URL != "" && err == nil {
		if skip, _ := strconv.ParseBool(u.Query().Get("skip_verify")); skip {
			v.add(base+".url", ErrInsecure, "skip_verify is refused in production: it accepts any certificate, so anyone on the path can read the tokens; trust the server's CA with tls.caFile instead")
		}
	}
	tlsOn := t.Enabled || strings.HasPrefix(r.URL, "rediss://")
	if !tlsOn && slices.ContainsFunc(hosts, func(h string) bool { return !isLoopbackHost(h) }) {
		v.add(base+".tls", ErrInsecure, "must be on in production for a Redis that is not on this host: tokens cross the network; set tls: true")
	}
}

func (v *validator) local() {
	l := &v.c.Auth.Local
	if len(l.SignKey) > 0 {
		if _, err := keys.ParsePrivate(l.SignKey); err != nil {
			v.add("auth.local.signKey", ErrValue, "%s", strings.TrimPrefix(err.Error(), "invalid signing key: "))
		}
		if l.KeyRotationDays > 0 {
			v.add("auth.local.keyRotationDays", ErrValue, "rotates generated keys only; with signKey, rotate by hand: put the old key in verifyKeys and a new signKey")
		}
	}
	for i, k := range l.VerifyKeys {
		if _, err := keys.ParseVerify(k); err != nil {
			v.add(fmt.Sprintf("auth.local.verifyKeys[%d]", i), ErrValue, "%s", strings.TrimPrefix(err.Error(), "invalid signing key: "))
		}
	}
	if l.KeyRotationDays < 0 {
		v.add("auth.local.keyRotationDays", ErrValue, "must not be negative (0 turns rotation off)")
	}
	switch {
	case l.MaxKeys < 1:
		v.add("auth.local.maxKeys", ErrValue, "must be at least 1")
	case l.MaxKeys < 2 && l.KeyRotationDays > 0:
		v.add("auth.local.maxKeys", ErrValue, "must be at least 2 with keyRotationDays: a rotation publishes the next key beside the current one")
	}
	seen := map[string]bool{}
	for i, u := range l.Users {
		p := fmt.Sprintf("auth.local.users[%d]", i)
		switch {
		case u.Username == "":
			v.add(p+".username", ErrValue, "must not be empty")
		case seen[u.Username]:
			v.add(p+".username", ErrValue, "duplicate username %s", quote(u.Username))
		}
		seen[u.Username] = true
		v.passwordHash(p+".passwordHash", u.PasswordHash)
		for _, name := range slices.Sorted(maps.Keys(u.Claims)) {
			if slices.Contains(serverClaims, name) {
				v.add(p+".claims."+name, ErrValue, "claim %s is set by the server in every access token (RFC 9068 §2.2) and cannot be set per user", quote(name))
			}
		}
	}
}

// serverClaims are the access token claims the server sets itself
// (RFC 9068 §2.2, RFC 7519 §4.1); user claims cannot replace them.
var serverClaims = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"}

// minBcryptCost is the lowest bcrypt cost accepted in production (OWASP
// Password Storage Cheat Sheet).
const minBcryptCost = 10

var (
	bcryptHash   = regexp.MustCompile(`^\$2[aby]\$([0-9]{2})\$[./A-Za-z0-9]{53}$`)
	argon2idHash = regexp.MustCompile(`^\$argon2id\$(?:v=19\$)?m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,3})\$[A-Za-z0-9+/]{11,}={0,2}\$[A-Za-z0-9+/]{22,}={0,2}$`)
)

// passwordHash checks a bcrypt hash ($2b$, 60 characters) or an argon2id
// hash in the PHC string format; in production the bcrypt cost must be at
// least minBcryptCost.
func (v *validator) passwordHash(path, s string) {
	if m := bcryptHash.FindStringSubmatch(s); m != nil {
		cost, _ := strconv.Atoi(m[1])
		switch {
		case cost < 4 || cost > 31:
			v.add(path, ErrValue, "bcrypt cost %d is out of range (4 to 31)", cost)
		case v.prod && cost < minBcryptCost:
			v.add(path, ErrInsecure, "bcrypt cost %d is too low for production: use at least %d (for example: htpasswd -nbBC 12 user PASSWORD)", cost, minBcryptCost)
		}
		return
	}
	if m := argon2idHash.FindStringSubmatch(s); m != nil {
		for i, name := range []string{"m", "t", "p"} {
			bits := 32
			if name == "p" {
				bits = 8 // the parallelism is one byte (RFC 9106 §3.1)
			}
			if n, err := strconv.ParseUint(m[i+1], 10, bits); err != nil || n == 0 {
				v.add(path, ErrValue, "argon2id parameter %s=%s is out of range (1 to %d)", name, m[i+1], uint64(1)<<bits-1)
				return
			}
		}
		return
	}
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		v.add(path, ErrValue, "is not a complete bcrypt hash: expected 60 characters like $2b$12$ followed by 53 of [./A-Za-z0-9]")
	case strings.HasPrefix(s, "$argon2id$"):
		v.add(path, ErrValue, "is not a complete argon2id hash: expected $argon2id$v=19$m=...,t=...,p=...$salt$hash (PHC string format)")
	default:
		v.add(path, ErrValue, "must be a bcrypt ($2b$...) or argon2id ($argon2id$...) hash, never a plain password (for example: htpasswd -nbBC 12 user PASSWORD)")
	}
}

// jwk checks a JSON Web Key (RFC 7517 §4): an object with a "kty"; a
// signing key must hold its private part.
func (v *validator) jwk(path string, raw json.RawMessage, private bool) {
	var k map[string]any
	if err := json.Unmarshal(raw, &k); err != nil || k == nil {
		v.add(path, ErrValue, "must be a JSON object (a JWK)")
		return
	}
	kty, _ := k["kty"].(string)
	if kty == "" {
		v.add(path, ErrValue, `must be a JWK with a "kty" member (RFC 7517 §4.1)`)
		return
	}
	if !private {
		return
	}
	member := "d"
	if kty == "oct" {
		member = "k"
	}
	if _, ok := k[member]; !ok {
		v.add(path, ErrValue, "must be a private key: the JWK has no %q member", member)
	}
}

// transparentMode checks what mode transparent needs: whose tokens to accept
// (the provider, or keys given directly with the issuers named), and the
// audience they must be for.
func (v *validator) transparentMode() {
	a := &v.c.Auth
	t := &a.Transparent
	keysGiven := t.JWKSURI != "" || len(t.JWKS) > 0
	switch {
	case a.Provider == "" && !keysGiven:
		v.add("auth.provider", ErrValue, "must be set (or IDP_PROVIDER_URL) for mode transparent, unless auth.transparent.jwksUri or auth.transparent.jwks gives the provider's keys")
	case a.Provider == "" && len(t.AdditionalIssuers) == 0:
		v.add("auth.transparent.additionalIssuers", ErrValue, "must name the issuer of accepted tokens when auth.provider is not set")
	}
	if a.ExpectedAudience == "" {
		kind := ErrValue
		if v.prod {
			kind = ErrInsecure
		}
		v.add("auth.expectedAudience", kind, "must be set (or IDP_EXPECTED_AUDIENCE) for mode transparent: only tokens whose aud contains it are accepted, so that tokens the provider issued for other services are refused")
	}
	if t.JWKSURI != "" && len(t.JWKS) > 0 {
		v.add("auth.transparent.jwks", ErrValue, "must not be set together with jwksUri: the keys are either fetched or inline")
	}
	if t.JWKSCacheTTL.Min == 0 {
		v.add("auth.transparent.jwksCacheTtl.min", ErrValue, "must be positive: it is the rate limit of key set fetches")
	}
	if t.JWKSCacheTTL.Max == 0 {
		v.add("auth.transparent.jwksCacheTtl.max", ErrValue, "must be positive")
	}
}

func (v *validator) transparent() {
	t := &v.c.Auth.Transparent
	for i, iss := range t.AdditionalIssuers {
		p := fmt.Sprintf("auth.transparent.additionalIssuers[%d]", i)
		if iss == "" {
			v.add(p, ErrValue, "must not be empty")
			continue
		}
		v.remoteURL(p, iss)
	}
	v.scopeList("auth.transparent.requiredScopes", t.RequiredScopes, len(v.c.Auth.Scopes) > 0)
	v.remoteURL("auth.transparent.jwksUri", t.JWKSURI)
	if len(t.JWKS) > 0 {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(t.JWKS, &set); err != nil || set.Keys == nil {
			v.add("auth.transparent.jwks", ErrValue, `must be a JWK Set: {"keys": [...]} (RFC 7517 §5)`)
		}
		for i, k := range set.Keys {
			v.jwk(fmt.Sprintf("auth.transparent.jwks.keys[%d]", i), k, false)
		}
	}
	if t.ClockLeeway < 0 || t.ClockLeeway > 5*time.Minute {
		v.add("auth.transparent.clockLeeway", ErrValue, "must be between 0 and 5m; a larger leeway keeps expired tokens valid")
	}
	v.ttlRange("auth.transparent.jwksCacheTtl", t.JWKSCacheTTL.Min, t.JWKSCacheTTL.Max)
	if t.JWKSCacheTTL.Stale < 0 {
		v.add("auth.transparent.jwksCacheTtl.stale", ErrValue, "must not be negative")
	}
}

func (v *validator) ttlRange(path string, lo, hi time.Duration) {
	if lo < 0 || hi < 0 {
		v.add(path, ErrValue, "durations must not be negative")
	} else if lo > hi {
		v.add(path+".min", ErrValue, "must not exceed max")
	}
}

func (v *validator) remote() {
	r := &v.c.Auth.Remote
	if !usesRemote(v.c) {
		if _, inFile := v.c.lines["auth.remote"]; inFile ||
			!equalValue(reflect.ValueOf(*r), reflect.ValueOf(Default(v.c.Environment).Auth.Remote)) {
			v.add("auth.remote", ErrValue, "is only used with mode orchestrated and type remote")
		}
		return
	}
	if r.ClientID == "" {
		v.add("auth.remote.clientId", ErrValue, "must be set (or IDP_CLIENT_ID) for type remote")
	}
	if len(v.c.Auth.Local.Users) > 0 {
		v.add("auth.local.users", ErrValue, "is not used with type remote: users sign in at the identity provider (auth.provider)")
	}
	// The upstream tokens are kept for tools; they are never stored in
	// plaintext.
	if v.c.Auth.Vault.Key == "" {
		v.add("auth.vault.key", ErrValue, "must be set (or VAULT_KEY) for type remote: the identity provider's tokens are stored encrypted with it (generate one with `frontmcp vault generate-key`)")
	}
	v.remoteURL("auth.remote.authorizationEndpoint", r.AuthorizationEndpoint)
	v.remoteURL("auth.remote.tokenEndpoint", r.TokenEndpoint)
	switch r.SubjectClaim {
	case "":
		v.add("auth.remote.subjectClaim", ErrValue, "must not be empty")
	case "sub", "email":
	default:
		if !r.AllowMutableSubjectClaim {
			v.add("auth.remote.subjectClaim", ErrValue, "%s may change or be reassigned at the provider, and a new holder of the value would take over this user's grants; only sub is stable and unique (OpenID Connect Core §5.7). Use sub or email (which requires email_verified), or set auth.remote.allowMutableSubjectClaim: true to accept the risk", quote(r.SubjectClaim))
		}
	}
	v.scopes("auth.remote.scopes", r.Scopes)
	for i, c := range r.CopyClaims {
		if c == "" || remoteReservedClaims[c] {
			v.add(fmt.Sprintf("auth.remote.copyClaims[%d]", i), ErrValue, "%s is set by this server and cannot be copied from the provider", quote(c))
		}
	}
}

// remoteReservedClaims are the claims of this server's access tokens that
// auth.remote.copyClaims cannot name.
var remoteReservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true,
	"client_id": true, "scope": true, "auth_time": true, "cnf": true, "sid": true, "act": true,
}

// session checks auth.session: positive timeouts, idle within absolute,
// and only with sessionMode stateful.
func (v *validator) session() {
	a := &v.c.Auth
	if _, inFile := v.c.lines["auth.session"]; a.SessionMode == SessionStateless &&
		(inFile || a.Session != Default(v.c.Environment).Auth.Session) {
		v.add("auth.session", ErrValue, "is only used with sessionMode stateful (stateless keeps no sessions)")
		return
	}
	s := a.Session
	if s.IdleTimeout < time.Second {
		v.add("auth.session.idleTimeout", ErrValue, "must be at least 1s")
	}
	if s.AbsoluteTimeout < time.Second {
		v.add("auth.session.absoluteTimeout", ErrValue, "must be at least 1s")
	} else if s.IdleTimeout > s.AbsoluteTimeout {
		v.add("auth.session.idleTimeout", ErrValue, "must not exceed absoluteTimeout")
	}
}

func (v *validator) refresh() {
	r := &v.c.Auth.Refresh
	if r.AccessTokenTTL <= 0 {
		v.add("auth.refresh.accessTokenTtl", ErrValue, "must be positive")
	}
	if r.Enabled && r.RefreshTokenTTL <= 0 {
		v.add("auth.refresh.refreshTokenTtl", ErrValue, "must be positive")
	}
	if r.AbsoluteLifetime < 0 {
		v.add("auth.refresh.absoluteLifetime", ErrValue, "must not be negative (0 means no cap)")
	}
	if r.SkewSeconds < 0 {
		v.add("auth.refresh.skewSeconds", ErrValue, "must not be negative")
	}
	if r.ReuseGraceSeconds < 0 || r.ReuseGraceSeconds > 60 {
		v.add("auth.refresh.reuseGraceSeconds", ErrValue, "must be between 0 and 60")
	}
	if v.prod && r.Enabled && !r.RotateRefreshToken {
		v.add("auth.refresh.rotateRefreshToken", ErrInsecure, "must be true in production: without rotation a stolen refresh token stays usable until it expires (OAuth 2.1 §4.3.1)")
	}
}

// redirectURI checks a redirect URI against OAuth 2.1 §2.3.1 and RFC 8252
// §7: absolute, no fragment, http only for loopback hosts.
func (v *validator) redirectURI(path, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs():
		v.add(path, ErrValue, "must be an absolute URI")
	case u.Fragment != "" || strings.Contains(s, "#"):
		v.add(path, ErrValue, "must not have a fragment (OAuth 2.1 §2.3.1)")
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		v.add(path, ErrValue, "http is only allowed for loopback hosts (localhost, 127.0.0.1, [::1]); use https")
	case slices.Contains([]string{"javascript", "data", "file", "vbscript"}, strings.ToLower(u.Scheme)):
		v.add(path, ErrValue, "scheme %s is not allowed", u.Scheme)
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
		v.add(path, ErrValue, "must include a host")
	}
}

var grantTypes = []string{"authorization_code", "refresh_token"}

func (v *validator) clients() {
	seen := map[string]bool{}
	for i, c := range v.c.Auth.Clients {
		p := fmt.Sprintf("auth.clients[%d]", i)
		switch {
		case c.ClientID == "":
			v.add(p+".clientId", ErrValue, "must not be empty")
		case seen[c.ClientID]:
			v.add(p+".clientId", ErrValue, "duplicate clientId %s", quote(c.ClientID))
		}
		seen[c.ClientID] = true
		v.enum(p+".tokenEndpointAuthMethod", c.TokenEndpointAuthMethod, true)
		switch m := c.TokenEndpointAuthMethod; {
		case m == AuthMethodNone && c.ClientSecret != "":
			v.add(p+".clientSecret", ErrValue, "must not be set with tokenEndpointAuthMethod none (a public client)")
		case (m == AuthMethodClientSecretBasic || m == AuthMethodClientSecretPost) && c.ClientSecret == "":
			v.add(p+".clientSecret", ErrValue, "must be set with tokenEndpointAuthMethod %s", m)
		}
		codeFlow := len(c.GrantTypes) == 0
		for j, g := range c.GrantTypes {
			gp := fmt.Sprintf("%s.grantTypes[%d]", p, j)
			switch {
			case g == "implicit" || g == "password":
				v.add(gp, ErrValue, "grant type %s is removed in OAuth 2.1 (§10.1); use authorization_code", g)
			case !slices.Contains(grantTypes, g):
				v.add(gp, ErrValue, "invalid value %s (allowed: %s)", quote(g), strings.Join(grantTypes, ", "))
			case g == "authorization_code":
				codeFlow = true
			}
		}
		if codeFlow && len(c.RedirectURIs) == 0 {
			v.add(p+".redirectUris", ErrValue, "must list at least one URI for the authorization_code grant")
		}
		if v.prod && c.ClientSecret != "" && len(c.ClientSecret) < minClientSecretLen {
			v.add(p+".clientSecret", ErrInsecure, "must be at least %d characters in production: client secrets are stored as fast SHA-256 hashes and must be high-entropy (for example: openssl rand -base64 32)", minClientSecretLen)
		}
		for j, u := range c.RedirectURIs {
			up := fmt.Sprintf("%s.redirectUris[%d]", p, j)
			before := len(v.errs)
			v.redirectURI(up, u)
			if v.prod && len(v.errs) == before && !httpsOrLoopback(u) {
				v.add(up, ErrInsecure, "must be https, or http on a loopback address (RFC 8252 §7.3), in production: a custom scheme can be claimed by any app on the device")
			}
		}
		v.offeredScopes(p+".scopes", c.Scopes)
	}
}

// minClientSecretLen is the shortest client secret accepted in production:
// 32 characters, 128 bits or more from a random generator.
const minClientSecretLen = 32

// httpsOrLoopback reports whether a valid redirect URI is https, or http on
// a loopback host.
func httpsOrLoopback(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return u.Scheme == "https" || (u.Scheme == "http" && isLoopbackHost(u.Hostname()))
}

// toolScopes checks auth.toolScopes: scope tokens, each offered in
// auth.scopes.
func (v *validator) toolScopes() {
	for _, tool := range slices.Sorted(maps.Keys(v.c.Auth.ToolScopes)) {
		p := "auth.toolScopes." + tool
		if tool == "" {
			v.add(p, ErrValue, "tool name must not be empty")
		}
		v.offeredScopes(p, v.c.Auth.ToolScopes[tool])
	}
}

// offeredScopes checks scope tokens that must also be among auth.scopes.
func (v *validator) offeredScopes(path string, list []string) {
	v.scopeList(path, list, true)
}

// scopes checks scope tokens (RFC 6749 §3.3: no spaces, printable ASCII).
func (v *validator) scopes(path string, list []string) {
	v.scopeList(path, list, false)
}

// scopeList checks each scope in list: a valid token, not repeated, and,
// with offered, one of auth.scopes.
func (v *validator) scopeList(path string, list []string, offered bool) {
	seen := map[string]bool{}
	for i, s := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !validScope(s):
			v.add(p, ErrValue, "must be a scope token: printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)")
		case seen[s]:
			v.add(p, ErrValue, "duplicate scope %s", quote(s))
		case offered && !slices.Contains(v.c.Auth.Scopes, s):
			v.add(p, ErrValue, "scope %s is not offered: add it to auth.scopes", quote(s))
		}
		seen[s] = true
	}
}

// validScope reports whether s is a scope token (RFC 6749 §3.3).
func validScope(s string) bool {
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '"' || r == '\\' {
			return false
		}
	}
	return s != ""
}

func (v *validator) logging() {
	v.enum("logging.level", v.c.Logging.Level, false)
	v.enum("logging.format", v.c.Logging.Format, false)
	for i, k := range v.c.Logging.Redact {
		if k == "" {
			v.add(fmt.Sprintf("logging.redact[%d]", i), ErrValue, "must not be empty")
		}
	}
}

// planned rejects options that are not implemented yet when they differ
// from the defaults (see planned.go).
func (v *validator) planned(cur, def reflect.Value, path string) {
	for _, f := range fieldsOf(cur.Type()).list {
		p := joinPath(path, f.name)
		cv, dv := cur.Field(f.index), def.Field(f.index)
		if f.planned {
			if !equalValue(cv, dv) {
				v.add(p, ErrNotImplemented, "not implemented yet")
			}
			continue
		}
		if _, ok := cv.Interface().(enum); ok && isPlannedValue(cv) {
			v.add(p, ErrNotImplemented, "not implemented yet")
			continue
		}
		if cv.Kind() == reflect.Struct {
			v.planned(cv, dv, p)
		}
	}
}

// equalValue compares configuration values, treating nil and empty slices
// and maps as equal.
func equalValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if !equalValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
