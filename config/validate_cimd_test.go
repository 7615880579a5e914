package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateCIMD(t *testing.T) {
	const domainMsg = "must be a host name such as example.com, optionally *.example.com for its subdomains (no scheme, port or path)"
	tests := []struct {
		name   string
		prod   bool
		modify func(c *Config)
		want   Errors
	}{
		{"enabled with domains", false, func(c *Config) {
			c.Auth.CIMD = CIMD{Enabled: true, AllowedDomains: []string{"example.com", "*.clients.example"}, AllowLoopbackHTTP: true,
				CacheTTL: CacheTTL{Min: 30 * time.Second, Max: time.Hour}}
		}, nil},
		{"production", true, func(c *Config) { c.Auth.CIMD.Enabled = true }, nil},
		{"bad domains", false, func(c *Config) {
			c.Auth.CIMD.Enabled = true
			c.Auth.CIMD.AllowedDomains = []string{"https://example.com", "example.com:443", "", "*", "a.*.example", "example.com/"}
		}, Errors{
			{Path: "auth.cimd.allowedDomains[0]", Err: ErrValue, Msg: domainMsg},
			{Path: "auth.cimd.allowedDomains[1]", Err: ErrValue, Msg: domainMsg},
			{Path: "auth.cimd.allowedDomains[2]", Err: ErrValue, Msg: domainMsg},
			{Path: "auth.cimd.allowedDomains[3]", Err: ErrValue, Msg: domainMsg},
			{Path: "auth.cimd.allowedDomains[4]", Err: ErrValue, Msg: domainMsg},
			{Path: "auth.cimd.allowedDomains[5]", Err: ErrValue, Msg: domainMsg},
		}},
		{"cache bounds reversed", false, func(c *Config) {
			c.Auth.CIMD.Enabled = true
			c.Auth.CIMD.CacheTTL = CacheTTL{Min: time.Hour, Max: time.Minute}
		}, Errors{{Path: "auth.cimd.cacheTtl.min", Err: ErrValue, Msg: "must not exceed max"}}},
		{"zero cache bounds", false, func(c *Config) {
			c.Auth.CIMD.Enabled = true
			c.Auth.CIMD.CacheTTL = CacheTTL{}
		}, Errors{
			{Path: "auth.cimd.cacheTtl.min", Err: ErrValue, Msg: "must be positive: it bounds how often one client's document is fetched"},
			{Path: "auth.cimd.cacheTtl.max", Err: ErrValue, Msg: "must be positive"},
		}},
		{"production: loopback http and no consent", true, func(c *Config) {
			c.Auth.CIMD.Enabled = true
			c.Auth.CIMD.AllowLoopbackHTTP = true
			c.Auth.Consent.Enabled = false
		}, Errors{
			{Path: "auth.cimd.allowLoopbackHttp", Err: ErrInsecure, Msg: "must be false in production: it accepts http client ids and lets the server fetch from its own loopback interface"},
			{Path: "auth.consent.enabled", Err: ErrInsecure, Msg: "must be true in production when cimd.enabled is true: any https URL can name a client, and without the consent page naming it and its host the user cannot tell whom the login is for"},
		}},
		{"enabled in another mode", false, func(c *Config) {
			c.Auth.Mode = ModePublic
			c.Auth.CIMD.Enabled = true
		}, Errors{{Path: "auth.cimd.enabled", Err: ErrValue, Msg: "is only used with mode orchestrated"}}},
		{"settings while disabled", false, func(c *Config) {
			c.Auth.CIMD.AllowedDomains = []string{"example.com"}
		}, Errors{{Path: "auth.cimd", Err: ErrValue, Msg: "is only used with enabled: true (and mode orchestrated)"}}},
		{"defaults while disabled", false, func(*Config) {}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default(Development)
			if tt.prod {
				c = validOrchestratedProduction()
			}
			tt.modify(c)
			if diff := diffErrors(tt.want, asErrors(t, c.Validate())); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadCIMD(t *testing.T) {
	yaml := lines(
		"auth:",
		"  mode: orchestrated",
		"  cimd:",
		"    enabled: true",
		"    allowedDomains: [example.com, '*.clients.example']",
		"    allowLoopbackHttp: true",
		"    cacheTtl: {min: 30s, max: 3600}",
	)
	c, err := Parse([]byte(yaml), "cimd.yaml", envOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := CIMD{Enabled: true, AllowedDomains: []string{"example.com", "*.clients.example"}, AllowLoopbackHTTP: true,
		CacheTTL: CacheTTL{Min: 30 * time.Second, Max: time.Hour}}
	got := c.Auth.CIMD
	if !got.Enabled || strings.Join(got.AllowedDomains, ",") != "example.com,*.clients.example" || !got.AllowLoopbackHTTP || got.CacheTTL != want.CacheTTL {
		t.Errorf("auth.cimd = %+v; want %+v", got, want)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "cimd:\n    enabled: true\n") {
		t.Errorf("Redacted output lacks the cimd section:\n%s", out)
	}

	_, err = Parse([]byte(lines("auth:", "  mode: orchestrated", "  cimd:", "    allowedDomains: [bad/domain]")), "cimd.yaml", envOpts(nil))
	if diff := diffErrors(Errors{
		{Path: "auth.cimd", Line: 3, Err: ErrValue, Msg: "is only used with enabled: true (and mode orchestrated)"},
		{Path: "auth.cimd.allowedDomains[0]", Line: 4, Err: ErrValue, Msg: "must be a host name such as example.com, optionally *.example.com for its subdomains (no scheme, port or path)"},
	}, asErrors(t, err)); diff != "" {
		t.Errorf("bad cimd (-want +got):\n%s", diff)
	}
}
