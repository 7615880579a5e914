package config

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fillSecrets sets every field tagged secret (at any depth, including the
// storage configs that are not YAML-tagged) to a distinct value containing
// "s3cr3t" and returns the values it set.
func fillSecrets(t *testing.T, v reflect.Value) []string {
	t.Helper()
	var secrets []string
	n := 0
	next := func() string {
		n++
		return fmt.Sprintf("s3cr3t-%02d", n)
	}
	set := func(fv reflect.Value, s string) {
		fv.SetString(s)
		secrets = append(secrets, s)
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			sf, fv := v.Type().Field(i), v.Field(i)
			if !sf.IsExported() {
				continue
			}
			switch tag := sf.Tag.Get("secret"); {
			case tag == "url":
				set(fv, "redis://user:"+next()+"@redis.example.com:6379/0")
			case tag == "true" && fv.Type() == rawJSONType:
				jwk := `{"kty":"oct","k":"` + next() + `"}`
				fv.SetBytes([]byte(jwk))
				secrets = append(secrets, jwk)
			case tag == "true" && fv.Kind() == reflect.String:
				set(fv, next())
			case tag == "true" && fv.Kind() == reflect.Slice:
				a, b := next(), next()
				fv.Set(reflect.ValueOf([]string{a, b}))
				secrets = append(secrets, a, b)
			case tag != "":
				t.Fatalf("field %s: unhandled secret tag %q", sf.Name, tag)
			case fv.Kind() == reflect.Struct && fv.Type() != durationType:
				walk(fv)
			case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
				if fv.Len() == 0 {
					fv.Set(reflect.MakeSlice(fv.Type(), 1, 1))
				}
				walk(fv.Index(0))
			}
		}
	}
	walk(v)
	return secrets
}

func TestRedactedHidesSecrets(t *testing.T) {
	c := Default(Production)
	c.Auth.TokenStorage.Type = StorageRedis
	c.Auth.TokenStorage.Redis.Host = "redis.example.com"
	secrets := fillSecrets(t, reflect.ValueOf(c).Elem())
	if len(secrets) < 10 {
		t.Fatalf("filled %d secrets, expected every secret field (at least 10)", len(secrets))
	}
	// Private members of keys that are not secret fields.
	c.Auth.Local.VerifyKeys = []json.RawMessage{json.RawMessage(`{"kty":"RSA","n":"pub-n","e":"AQAB","d":"s3cr3t-d","p":"s3cr3t-p","q":"s3cr3t-q","dp":"s3cr3t-dp","dq":"s3cr3t-dq","qi":"s3cr3t-qi"}`)}
	c.Auth.Transparent.JWKS = json.RawMessage(`{"keys":[{"kty":"oct","kid":"k1","k":"s3cr3t-jwks"}]}`)

	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if i := strings.Index(string(out), "s3cr3t"); i >= 0 {
		t.Fatalf("Redacted output leaks a secret at byte %d:\n%s", i, out)
	}
	for i, s := range secrets {
		if !strings.Contains(string(out), fingerprint(s)) {
			t.Errorf("Redacted output lacks the fingerprint of secret %d", i)
		}
	}
	for _, public := range []string{"pub-n", "AQAB", "k1", "redis.example.com"} {
		if !strings.Contains(string(out), public) {
			t.Errorf("Redacted output lacks public value %q", public)
		}
	}
}

func TestFingerprint(t *testing.T) {
	got := fingerprint("hunter2")
	if !regexp.MustCompile(`^\[redacted sha256:[0-9a-f]{8}\]$`).MatchString(got) {
		t.Errorf("fingerprint = %q, want [redacted sha256:xxxxxxxx]", got)
	}
	// sha256("hunter2") begins f52fbd32.
	if want := "[redacted sha256:f52fbd32]"; got != want {
		t.Errorf("fingerprint = %q, want %q", got, want)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://redis.example.com:6379/0", "redis://redis.example.com:6379/0"},
		{"rediss://user@redis.example.com", "rediss://user@redis.example.com"},
		{"redis://:pw@redis.example.com", fingerprint("redis://:pw@redis.example.com")},
		{"redis://h/0?password=pw", fingerprint("redis://h/0?password=pw")},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactedOutput(t *testing.T) {
	c, err := Load("testdata/public.yaml", envOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := `info:
  name: demo
  version: 1.2.3
environment: development
http:
  host: 127.0.0.1
  port: 8080
  publicUrl: http://127.0.0.1:8080
  mcpPath: /mcp
  allowedHosts:
    - mcp.internal:8080
  allowedOrigins:
    - http://localhost:5173
auth:
  mode: public
  sessionMode: stateless
  tokenStorage:
    type: memory
  local:
    keyRotationDays: 0
    maxKeys: 3
  refresh:
    enabled: true
    accessTokenTtl: 1h
    refreshTokenTtl: 168h
    rotateRefreshToken: true
    reuseGraceSeconds: 0
    absoluteLifetime: 720h
  consent:
    enabled: true
  allowDefaultPublic: false
  dcrEnabled: true
logging:
  level: debug
  format: text
  redact:
    - session_id
`
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("Redacted mismatch (-want +got):\n%s", diff)
	}
}

func TestRedactedOrchestrated(t *testing.T) {
	c, err := Load("testdata/development.yaml", envOpts(testdataEnv))
	if err != nil {
		t.Fatal(err)
	}
	want := `auth:
  mode: orchestrated
  type: local
  sessionMode: stateless
  tokenStorage:
    type: memory
  local:
    keyRotationDays: 0
    maxKeys: 3
    users:
      - username: alice
        passwordHash: '` + fingerprint(aliceBcrypt) + `'
        claims:
          email: alice@example.com
          groups:
            - admin
            - dev
      - username: bob
        passwordHash: '` + fingerprint(bobArgon2id) + `'
  refresh:
    enabled: true
    accessTokenTtl: 15m
    refreshTokenTtl: 72h
    rotateRefreshToken: true
    reuseGraceSeconds: 0
    absoluteLifetime: 720h
  consent:
    enabled: false
  allowDefaultPublic: true
  dcrEnabled: true
  dcr:
    maxClients: 1000
  clients:
    - clientId: inspector
      redirectUris:
        - http://127.0.0.1:6276/oauth/callback
      tokenEndpointAuthMethod: none
      scopes:
        - tools:read
    - clientId: backend
      clientSecret: '` + fingerprint(backendSecret) + `'
      redirectUris:
        - https://app.example.com/callback
        - cursor://anysphere.cursor-retrieval/oauth/callback
      tokenEndpointAuthMethod: client_secret_post
      grantTypes:
        - authorization_code
        - refresh_token
  scopes:
    - tools:read
    - tools:write
  toolScopes:
    delete_file:
      - tools:read
      - tools:write
    echo:
      - tools:read
logging:
`
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if i, j := strings.Index(got, "auth:\n"), strings.Index(got, "logging:\n"); i >= 0 && j > i {
		got = got[i : j+len("logging:\n")]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redacted auth section mismatch (-want +got):\n%s", diff)
	}
	for _, secret := range []string{aliceBcrypt, bobArgon2id, backendSecret} {
		if strings.Contains(string(out), secret) {
			t.Errorf("Redacted output leaks %q", secret)
		}
	}
}

func TestRedactedShowsChangedPlannedOptions(t *testing.T) {
	c := Default(Development)
	c.Auth.Refresh.AccessTokenTTL = 90 * 60e9
	c.Auth.TokenStorage.Type = StorageRedis
	c.Auth.TokenStorage.Redis.Host = "r.example"
	c.Auth.TokenStorage.Redis.TLS = RedisTLS{Enabled: true, ServerName: "r.internal"}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"accessTokenTtl: 1h30m\n",
		"refreshTokenTtl: 168h\n",
		"absoluteLifetime: 720h\n",
		"      host: r.example\n",
		"      tls:\n        serverName: r.internal\n",
		"      keyPrefix: 'frontmcp:'\n",
		"  local:\n    keyRotationDays: 0\n    maxKeys: 3\n", // implemented: shown with their defaults
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Redacted output lacks %q:\n%s", want, out)
		}
	}
	// Unchanged planned options, and sections holding only those, are left
	// out.
	for _, planned := range []string{"skewSeconds", "cimd:", "transparent:", "remote:", "vault:", "provider:"} {
		if strings.Contains(string(out), planned) {
			t.Errorf("Redacted output shows the unchanged planned option %s:\n%s", planned, out)
		}
	}
	// A changed one is shown.
	c.Auth.Refresh.SkewSeconds = 30
	out, err = c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"    skewSeconds: 30\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Redacted output lacks the changed planned option %q:\n%s", want, out)
		}
	}
}

func TestRedactedRoundTrip(t *testing.T) {
	// Configs without secrets (Redacted replaces those by fingerprints).
	orchestrated := lines(
		"environment: staging",
		"http: {publicUrl: https://mcp.example.com}",
		"auth:",
		"  mode: orchestrated",
		"  refresh: {accessTokenTtl: 600, refreshTokenTtl: 36h, absoluteLifetime: 0}",
		"  consent: {enabled: false}",
		"  dcrEnabled: false",
		"  clients:",
		"    - clientId: app",
		"      redirectUris: [http://127.0.0.1/cb]",
		"      grantTypes: [authorization_code]",
		"      scopes: [read]",
		"  scopes: [read, write]",
		"  toolScopes: {echo: [read], 'files.write': [read, write]}",
	)
	public, err := os.ReadFile("testdata/public.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"public": public, "orchestrated": []byte(orchestrated)} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(data, "c.yaml", envOpts(nil))
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse(out, "redacted.yaml", envOpts(nil))
			if err != nil {
				t.Fatalf("Parse(Redacted()): %v\n%s", err, out)
			}
			c.HTTP.PublicURL = c.BaseURL() // Redacted prints the derived public URL
			if diff := cmp.Diff(c, again, ignoreUnexported); diff != "" {
				t.Errorf("round trip mismatch (-loaded +reparsed):\n%s", diff)
			}
		})
	}
}
