package config

import (
	"strings"
	"testing"
)

func TestValidateDCR(t *testing.T) {
	const (
		httpMsg     = "http is only allowed for loopback hosts (localhost, 127.0.0.1, [::1]); use https"
		redirectMsg = "must be https, or http on a loopback address (RFC 8252 §7.3), in production: a custom scheme can be claimed by any app on the device"
		tokenMsg    = "must be at least 32 characters in production: anyone who guesses it can register clients (for example: openssl rand -base64 32)"
	)
	longToken := strings.Repeat("t", 32)
	tests := []struct {
		name   string
		prod   bool
		modify func(c *Config)
		want   Errors
	}{
		{"patterns, token and cap", false, func(c *Config) {
			c.Auth.DCR = DCR{
				AllowedRedirectURIs: []string{"https://*.example.com/cb", "http://127.0.0.1:*/callback", "http://[::1]/cb", "http://localhost:8080/**", "com.example.app:/oauth/*", "https://*/cb"},
				InitialAccessToken:  "short",
				MaxClients:          0,
			}
		}, nil},
		{"production patterns and token", true, func(c *Config) {
			c.Auth.DCR = DCR{
				AllowedRedirectURIs: []string{"https://**.apps.example.com/cb/**", "http://127.0.0.1:*/callback"},
				InitialAccessToken:  longToken,
			}
		}, nil},
		{"unparsable pattern", false, func(c *Config) {
			c.Auth.DCR.AllowedRedirectURIs = []string{"https://app.*.com/cb", "/cb"}
		}, Errors{
			{Path: "auth.dcr.allowedRedirectUris[0]", Err: ErrValue, Msg: "host wildcards must stand left of every literal label (*.example.com)"},
			{Path: "auth.dcr.allowedRedirectUris[1]", Err: ErrValue, Msg: `must be an absolute URI such as https://app.example.com/callback (a scheme, then ":")`},
		}},
		{"http on another host", false, func(c *Config) {
			c.Auth.DCR.AllowedRedirectURIs = []string{"http://app.example.com/cb", "http://*.localhost/cb"}
		}, Errors{
			{Path: "auth.dcr.allowedRedirectUris[0]", Err: ErrValue, Msg: httpMsg},
			{Path: "auth.dcr.allowedRedirectUris[1]", Err: ErrValue, Msg: httpMsg},
		}},
		{"schemes registration refuses", false, func(c *Config) {
			c.Auth.DCR.AllowedRedirectURIs = []string{"javascript:alert(1)", "cursor://host/cb", "https:/cb"}
		}, Errors{
			{Path: "auth.dcr.allowedRedirectUris[0]", Err: ErrValue, Msg: "scheme javascript is not allowed"},
			{Path: "auth.dcr.allowedRedirectUris[1]", Err: ErrValue, Msg: "can never match: registration accepts private-use schemes only with a dot, such as com.example.app (RFC 8252 §7.1)"},
			{Path: "auth.dcr.allowedRedirectUris[2]", Err: ErrValue, Msg: "must include a host"},
		}},
		{"production: custom scheme, broad hosts, short token", true, func(c *Config) {
			c.Auth.DCR = DCR{
				AllowedRedirectURIs: []string{"com.example.app:/cb", "https://*/cb", "https://**.com/cb", "https://*.example.com/cb"},
				InitialAccessToken:  longToken[:31],
				MaxClients:          10,
			}
		}, Errors{
			{Path: "auth.dcr.allowedRedirectUris[0]", Err: ErrInsecure, Msg: redirectMsg},
			{Path: "auth.dcr.allowedRedirectUris[1]", Err: ErrInsecure, Msg: "host * is too broad for production: a wildcard needs at least two literal labels after it, such as *.example.com"},
			{Path: "auth.dcr.allowedRedirectUris[2]", Err: ErrInsecure, Msg: "host **.com is too broad for production: a wildcard needs at least two literal labels after it, such as *.example.com"},
			{Path: "auth.dcr.initialAccessToken", Err: ErrInsecure, Msg: tokenMsg},
		}},
		{"token that cannot be a bearer token", false, func(c *Config) { c.Auth.DCR.InitialAccessToken = "two words" }, Errors{
			{Path: "auth.dcr.initialAccessToken", Err: ErrValue, Msg: "must be usable as a bearer token (RFC 6750 §2.1): letters, digits and - . _ ~ + /, optionally ending in ="},
		}},
		{"base64 token", true, func(c *Config) { c.Auth.DCR.InitialAccessToken = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=" }, nil},
		{"negative cap", false, func(c *Config) { c.Auth.DCR.MaxClients = -1 }, Errors{
			{Path: "auth.dcr.maxClients", Err: ErrValue, Msg: "must not be negative (0 means no cap)"},
		}},
		{"settings while registration is off", false, func(c *Config) {
			c.Auth.DCREnabled = false
			c.Auth.DCR.MaxClients = 5
		}, Errors{{Path: "auth.dcr", Err: ErrValue, Msg: "is only used with mode orchestrated and dcrEnabled: true"}}},
		{"settings in another mode", false, func(c *Config) {
			c.Auth.Mode = ModePublic
			c.Auth.DCR.InitialAccessToken = "x"
		}, Errors{{Path: "auth.dcr", Err: ErrValue, Msg: "is only used with mode orchestrated and dcrEnabled: true"}}},
		{"defaults while registration is off", false, func(c *Config) { c.Auth.DCREnabled = false }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default(Development)
			if tt.prod {
				c = validOrchestratedProduction()
				c.Auth.DCREnabled = true
			}
			tt.modify(c)
			if diff := diffErrors(tt.want, asErrors(t, c.Validate())); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadDCR(t *testing.T) {
	yaml := lines(
		"auth:",
		"  mode: orchestrated",
		"  dcrEnabled: true",
		"  dcr:",
		"    allowedRedirectUris:",
		"      - https://*.example.com/cb",
		"      - http://127.0.0.1:*/callback",
		"    initialAccessToken: ${DCR_TOKEN}",
		"    maxClients: 7",
	)
	c, err := Parse([]byte(yaml), "dcr.yaml", envOpts(map[string]string{"DCR_TOKEN": "from-the-environment"}))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Auth.DCR
	if len(d.AllowedRedirectURIs) != 2 || d.InitialAccessToken != "from-the-environment" || d.MaxClients != 7 {
		t.Errorf("auth.dcr = %+v", d)
	}
	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "from-the-environment") || !strings.Contains(string(out), "initialAccessToken: '"+fingerprint("from-the-environment")+"'") {
		t.Errorf("Redacted does not hide the initial access token:\n%s", out)
	}

	_, err = Parse([]byte(lines("auth:", "  mode: orchestrated", "  dcrEnabled: false", "  dcr:", "    maxClients: 1000")), "dcr.yaml", envOpts(nil))
	if diff := diffErrors(Errors{{Path: "auth.dcr", Line: 4, Err: ErrValue, Msg: "is only used with mode orchestrated and dcrEnabled: true"}}, asErrors(t, err)); diff != "" {
		t.Errorf("dcr with registration off (-want +got):\n%s", diff)
	}
}
