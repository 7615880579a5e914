package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// resolver reads environment variables with the *_FILE convention.
type resolver struct {
	lookup   func(string) (string, bool)
	readFile func(string) ([]byte, error)
}

func newResolver(opts *LoadOptions) *resolver {
	r := &resolver{lookup: os.LookupEnv, readFile: os.ReadFile}
	if opts != nil && opts.LookupEnv != nil {
		r.lookup = opts.LookupEnv
	}
	if opts != nil && opts.ReadFile != nil {
		r.readFile = opts.ReadFile
	}
	return r
}

// get returns the value of name. When name is unset and name_FILE is set,
// the value is that file's contents with one trailing newline removed
// (the Docker and Kubernetes secrets convention). Setting both is an error.
// src is the variable the value came from.
func (r *resolver) get(name string) (val, src string, ok bool, err error) {
	v, set := r.lookup(name)
	path, fileSet := r.lookup(name + "_FILE")
	switch {
	case set && fileSet:
		return "", "", false, fmt.Errorf("both %s and %s_FILE are set; set only one", name, name)
	case set:
		return v, name, true, nil
	case fileSet:
		b, err := r.readFile(path)
		if err != nil {
			return "", "", false, fmt.Errorf("cannot read the file named by %s_FILE: %v", name, err)
		}
		s := string(b)
		if strings.HasSuffix(s, "\r\n") {
			s = s[:len(s)-2]
		} else if strings.HasSuffix(s, "\n") {
			s = s[:len(s)-1]
		}
		return s, name + "_FILE", true, nil
	}
	return "", "", false, nil
}

// expand replaces ${VAR} and ${VAR:-default} with variable values and $$
// with a literal $. A $ followed by anything else is kept as is. A
// referenced variable that is unset (and has no default) is an error;
// ${VAR:-default} uses default when VAR is unset or empty. used lists the
// variables that supplied a value.
func (r *resolver) expand(s string) (out string, used []string, err error) {
	var b strings.Builder
	var errs []string
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", nil, fmt.Errorf("unterminated variable reference %s (write $$ for a literal $)", quote(s[i:]))
		}
		ref := s[i+2 : i+2+end]
		i += 2 + end + 1
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validVarName(name) {
			return "", nil, fmt.Errorf("invalid variable reference %s (use ${NAME} or ${NAME:-default}; $$ for a literal $)", quote("${"+ref+"}"))
		}
		val, src, ok, gerr := r.get(name)
		switch {
		case gerr != nil:
			errs = append(errs, gerr.Error())
		case hasDef && (!ok || val == ""):
			b.WriteString(def)
		case !ok:
			errs = append(errs, fmt.Sprintf("environment variable %s is not set (use ${%s:-default} for a default)", name, name))
		default:
			b.WriteString(val)
			used = append(used, src)
		}
	}
	if len(errs) > 0 {
		return "", nil, errors.New(strings.Join(errs, "; "))
	}
	return b.String(), used, nil
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// fallback is an environment variable named by the production checklist
// that fills a key the file leaves unset, when that part of the
// configuration is in use.
type fallback struct {
	env   string
	path  string
	inUse func(*Config) bool
	set   func(c *Config, val string) error
}

func usesRedis(c *Config) bool { return c.Auth.TokenStorage.Type == StorageRedis }

func usesLocal(c *Config) bool {
	return c.Auth.Mode == ModeOrchestrated && c.Auth.effectiveType() == TypeLocal
}

func usesRemote(c *Config) bool {
	return c.Auth.Mode == ModeOrchestrated && c.Auth.effectiveType() == TypeRemote
}

func usesOrchestrated(c *Config) bool { return c.Auth.Mode == ModeOrchestrated }

func usesProvider(c *Config) bool { return c.Auth.Mode == ModeTransparent || usesRemote(c) }

func setString(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

// fallbacks are applied in this order after the file is decoded.
var fallbacks = []fallback{
	{"REDIS_HOST", "auth.tokenStorage.config.host", usesRedis,
		setString(func(c *Config) *string { return &c.Auth.TokenStorage.Redis.Host })},
	{"REDIS_PORT", "auth.tokenStorage.config.port", usesRedis, func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("expected an integer, got %s", quote(v))
		}
		c.Auth.TokenStorage.Redis.Port = n
		return nil
	}},
	{"REDIS_PASSWORD", "auth.tokenStorage.config.password", usesRedis,
		setString(func(c *Config) *string { return &c.Auth.TokenStorage.Redis.Password })},
	{"JWT_SIGNING_KEY", "auth.local.signKey", usesLocal, func(c *Config, v string) error {
		var obj map[string]any
		if err := json.Unmarshal([]byte(v), &obj); err != nil || obj == nil {
			return errors.New(`expected a JSON object such as a JWK ({"kty": ...})`)
		}
		c.Auth.Local.SignKey = json.RawMessage(v)
		return nil
	}},
	{"IDP_PROVIDER_URL", "auth.provider", usesProvider,
		setString(func(c *Config) *string { return &c.Auth.Provider })},
	{"IDP_EXPECTED_AUDIENCE", "auth.expectedAudience", usesProvider,
		setString(func(c *Config) *string { return &c.Auth.ExpectedAudience })},
	{"IDP_CLIENT_ID", "auth.remote.clientId", usesRemote,
		setString(func(c *Config) *string { return &c.Auth.Remote.ClientID })},
	{"IDP_CLIENT_SECRET", "auth.remote.clientSecret", usesRemote,
		setString(func(c *Config) *string { return &c.Auth.Remote.ClientSecret })},
	{"VAULT_KEY", "auth.vault.key", usesOrchestrated,
		setString(func(c *Config) *string { return &c.Auth.Vault.Key })},
}

// applyFallbacks fills keys the file left unset from the checklist's
// environment variables.
func (p *parser) applyFallbacks(c *Config) {
	for _, f := range fallbacks {
		if !f.inUse(c) {
			continue
		}
		if _, inFile := p.lines[f.path]; inFile {
			continue
		}
		val, src, ok, err := p.env.get(f.env)
		if err != nil {
			p.errorf(f.path, 0, ErrVariable, "%v", err)
			continue
		}
		if !ok {
			continue
		}
		if err := f.set(c, val); err != nil {
			p.errorf(f.path, 0, ErrType, "%v (from %s)", err, src)
			continue
		}
		p.sources[f.path] = "env " + src
		if isPlannedPath(f.path) {
			p.errorf(f.path, 0, ErrNotImplemented, "not implemented yet (set from %s)", src)
		}
	}
}
