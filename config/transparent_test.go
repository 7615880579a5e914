package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// transparentMode makes c a valid transparent-mode configuration.
func transparentMode(c *Config) {
	c.Auth.Mode, c.Auth.Type = ModeTransparent, ""
	c.Auth.Provider = "https://idp.example"
	c.Auth.ExpectedAudience = "https://mcp.example.com/mcp"
}

// TestValidateTransparent checks the rules of mode transparent: whose tokens
// to accept, the required audience in every environment, how the keys are
// given, the cache bounds, and the required scopes.
func TestValidateTransparent(t *testing.T) {
	const audienceMsg = "must be set (or IDP_EXPECTED_AUDIENCE) for mode transparent: only tokens whose aud contains it are accepted, so that tokens the provider issued for other services are refused"
	tests := []struct {
		name   string
		modify func(c *Config)
		want   Errors
	}{
		{"provider and audience", func(*Config) {}, nil},
		{"no provider", func(c *Config) { c.Auth.Provider = "" }, Errors{
			{Path: "auth.provider", Err: ErrValue, Msg: "must be set (or IDP_PROVIDER_URL) for mode transparent, unless auth.transparent.jwksUri or auth.transparent.jwks gives the provider's keys"},
		}},
		{"jwksUri and issuers instead of a provider", func(c *Config) {
			c.Auth.Provider = ""
			c.Auth.Transparent.JWKSURI = "https://idp.example/keys"
			c.Auth.Transparent.AdditionalIssuers = []string{"https://idp.example"}
		}, nil},
		{"inline keys without an issuer", func(c *Config) {
			c.Auth.Provider = ""
			c.Auth.Transparent.JWKS = json.RawMessage(`{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}`)
		}, Errors{
			{Path: "auth.transparent.additionalIssuers", Err: ErrValue, Msg: "must name the issuer of accepted tokens when auth.provider is not set"},
		}},
		{"jwksUri and inline keys", func(c *Config) {
			c.Auth.Transparent.JWKSURI = "https://idp.example/keys"
			c.Auth.Transparent.JWKS = json.RawMessage(`{"keys":[]}`)
		}, Errors{
			{Path: "auth.transparent.jwks", Err: ErrValue, Msg: "must not be set together with jwksUri: the keys are either fetched or inline"},
		}},
		{"no audience", func(c *Config) { c.Auth.ExpectedAudience = "" }, Errors{
			{Path: "auth.expectedAudience", Err: ErrValue, Msg: audienceMsg},
		}},
		{"no rate limit", func(c *Config) { c.Auth.Transparent.JWKSCacheTTL.Min = 0 }, Errors{
			{Path: "auth.transparent.jwksCacheTtl.min", Err: ErrValue, Msg: "must be positive: it is the rate limit of key set fetches"},
		}},
		{"zero max", func(c *Config) {
			c.Auth.Transparent.JWKSCacheTTL.Min, c.Auth.Transparent.JWKSCacheTTL.Max = time.Second, 0
		}, Errors{
			{Path: "auth.transparent.jwksCacheTtl.max", Err: ErrValue, Msg: "must be positive"},
			{Path: "auth.transparent.jwksCacheTtl.min", Err: ErrValue, Msg: "must not exceed max"},
		}},
		{"no stale use", func(c *Config) { c.Auth.Transparent.JWKSCacheTTL.Stale = 0 }, nil},
		{"issuers must be URLs", func(c *Config) {
			c.Auth.Transparent.AdditionalIssuers = []string{"idp", "", "ftp://idp.example"}
		}, Errors{
			{Path: "auth.transparent.additionalIssuers[0]", Err: ErrValue, Msg: "must be an absolute http or https URL"},
			{Path: "auth.transparent.additionalIssuers[1]", Err: ErrValue, Msg: "must not be empty"},
			{Path: "auth.transparent.additionalIssuers[2]", Err: ErrValue, Msg: "must be an http or https URL"},
		}},
		{"required scopes any when scopes are not listed", func(c *Config) {
			c.Auth.Transparent.RequiredScopes = []string{"mcp:tools"}
		}, nil},
		{"required scopes among the offered ones", func(c *Config) {
			c.Auth.Scopes = []string{"mcp:tools"}
			c.Auth.Transparent.RequiredScopes = []string{"mcp:tools", "mcp:admin", "bad scope"}
		}, Errors{
			{Path: "auth.transparent.requiredScopes[1]", Err: ErrValue, Msg: `scope "mcp:admin" is not offered: add it to auth.scopes`},
			{Path: "auth.transparent.requiredScopes[2]", Err: ErrValue, Msg: "must be a scope token: printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)"},
		}},
		{"provider outside transparent and remote", func(c *Config) {
			c.Auth.Mode, c.Auth.Type = ModePublic, ""
		}, Errors{
			{Path: "auth.provider", Err: ErrValue, Msg: "is only used with mode transparent (or orchestrated with type remote)"},
			{Path: "auth.expectedAudience", Err: ErrValue, Msg: "is only used with mode transparent (or orchestrated with type remote)"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default(Development)
			transparentMode(c)
			tt.modify(c)
			if diff := diffErrors(tt.want, asErrors(t, c.Validate())); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidateTransparentProduction: the audience is insecure to leave out
// in production, and every URL must be https.
func TestValidateTransparentProduction(t *testing.T) {
	c := validProduction()
	transparentMode(c)
	c.Auth.Provider = "http://idp.example"
	c.Auth.ExpectedAudience = ""
	want := Errors{
		{Path: "auth.expectedAudience", Err: ErrInsecure, Msg: "must be set (or IDP_EXPECTED_AUDIENCE) for mode transparent: only tokens whose aud contains it are accepted, so that tokens the provider issued for other services are refused"},
		{Path: "auth.provider", Err: ErrInsecure, Msg: "must use https in production"},
	}
	if diff := diffErrors(want, asErrors(t, c.Validate())); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}
}

// Transparent mode stores nothing, so production accepts the memory store
// there (and still refuses it in orchestrated mode).
func TestTransparentProductionMemoryStore(t *testing.T) {
	c := validProduction()
	transparentMode(c)
	c.Auth.TokenStorage.Type = StorageMemory
	if err := c.Validate(); err != nil {
		t.Fatalf("transparent production with memory storage: %v", err)
	}
	c.Auth.Mode, c.Auth.Provider, c.Auth.ExpectedAudience = ModeOrchestrated, "", ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "memory storage is refused in production") {
		t.Fatalf("orchestrated production with memory storage: %v", err)
	}
}

// TestLoadTransparent loads a transparent-mode file with the IDP_*
// fallbacks, and checks that a transparent section in another mode is
// refused even when it repeats the defaults.
func TestLoadTransparent(t *testing.T) {
	c, err := Parse([]byte(lines(
		"auth:",
		"  mode: transparent",
		"  tokenStorage: {type: memory}",
		"  transparent:",
		"    additionalIssuers: [https://legacy.idp.example]",
		"    requiredScopes: [mcp:tools]",
		"    requireTyp: true",
		"    clockLeeway: 10s",
		"    jwksCacheTtl: {min: 30s, max: 10m, stale: 0}",
	)), "c.yaml", envOpts(map[string]string{"IDP_PROVIDER_URL": "https://idp.example/realms/mcp", "IDP_EXPECTED_AUDIENCE": "https://mcp.example.com/mcp"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Transparent{
		AdditionalIssuers: []string{"https://legacy.idp.example"},
		RequiredScopes:    []string{"mcp:tools"},
		RequireTyp:        true,
		ClockLeeway:       10 * time.Second,
		JWKSCacheTTL:      JWKSCacheTTL{Min: 30 * time.Second, Max: 10 * time.Minute},
	}
	if diff := cmp.Diff(want, c.Auth.Transparent); diff != "" {
		t.Errorf("auth.transparent (-want +got):\n%s", diff)
	}
	if c.Auth.Provider != "https://idp.example/realms/mcp" || c.Auth.ExpectedAudience != "https://mcp.example.com/mcp" {
		t.Errorf("provider %q audience %q, want the IDP_* values", c.Auth.Provider, c.Auth.ExpectedAudience)
	}

	_, err = Parse([]byte(lines("auth:", "  mode: orchestrated", "  transparent:", "    clockLeeway: 30s")), "c.yaml", envOpts(nil))
	if diff := diffErrors(Errors{{Path: "auth.transparent", Line: 3, Err: ErrValue, Msg: "is only used with mode transparent"}}, asErrors(t, err)); diff != "" {
		t.Errorf("transparent section in orchestrated mode (-want +got):\n%s", diff)
	}
}

// TestRedactedTransparent: the transparent section is shown in mode
// transparent and left out of other modes while it holds its defaults.
func TestRedactedTransparent(t *testing.T) {
	c := Default(Development)
	transparentMode(c)
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  provider: https://idp.example\n", "  expectedAudience: https://mcp.example.com/mcp\n", "  transparent:\n", "      stale: 24h\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Redacted output lacks %q:\n%s", want, out)
		}
	}
	out, err = Default(Development).Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "transparent:") {
		t.Errorf("orchestrated mode shows the transparent defaults:\n%s", out)
	}
}
