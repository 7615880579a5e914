package config

import (
	"strings"
	"testing"
	"time"
)

// TestValidateSession checks auth.session: positive timeouts, the idle one
// within the absolute one, and only with sessionMode stateful.
func TestValidateSession(t *testing.T) {
	tests := []struct {
		name   string
		modify func(c *Config)
		want   Errors
	}{
		{"defaults", func(*Config) {}, nil},
		{"stateless with defaults", func(c *Config) { c.Auth.SessionMode = SessionStateless }, nil},
		{"short and long", func(c *Config) {
			c.Auth.Session = Session{IdleTimeout: time.Second, AbsoluteTimeout: 90 * 24 * time.Hour}
		}, nil},
		{"zero", func(c *Config) { c.Auth.Session = Session{} }, Errors{
			{Path: "auth.session.idleTimeout", Err: ErrValue, Msg: "must be at least 1s"},
			{Path: "auth.session.absoluteTimeout", Err: ErrValue, Msg: "must be at least 1s"},
		}},
		{"negative", func(c *Config) { c.Auth.Session.IdleTimeout = -time.Minute }, Errors{
			{Path: "auth.session.idleTimeout", Err: ErrValue, Msg: "must be at least 1s"},
		}},
		{"idle beyond absolute", func(c *Config) { c.Auth.Session = Session{IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour} }, Errors{
			{Path: "auth.session.idleTimeout", Err: ErrValue, Msg: "must not exceed absoluteTimeout"},
		}},
		{"stateless with timeouts", func(c *Config) {
			c.Auth.SessionMode = SessionStateless
			c.Auth.Session.IdleTimeout = time.Hour
		}, Errors{
			{Path: "auth.session", Err: ErrValue, Msg: "is only used with sessionMode stateful (stateless keeps no sessions)"},
		}},
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

// TestParseSession reads auth.session from YAML: seconds or Go durations,
// and refuses the section with sessionMode stateless.
func TestParseSession(t *testing.T) {
	c, err := Parse([]byte("auth:\n  session:\n    idleTimeout: 600\n    absoluteTimeout: 12h\n"), "config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Session{IdleTimeout: 10 * time.Minute, AbsoluteTimeout: 12 * time.Hour}); c.Auth.Session != want {
		t.Fatalf("session = %+v, want %+v", c.Auth.Session, want)
	}
	_, err = Parse([]byte("auth:\n  sessionMode: stateless\n  session:\n    idleTimeout: 30m\n"), "config.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "auth.session: is only used with sessionMode stateful") {
		t.Fatalf("session with stateless: %v", err)
	}
	_, err = Parse([]byte("auth:\n  session:\n    idleTimeot: 30m\n"), "config.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "idleTimeot") {
		t.Fatalf("misspelt key: %v", err)
	}
}
