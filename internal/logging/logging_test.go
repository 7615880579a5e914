package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRedactsSecretKeys(t *testing.T) {
	const secret = "s3cr3t-value-that-must-not-appear"
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(NewHandler(&buf, &Options{JSON: format == "json", Redact: []string{"X-Custom-Secret"}}))
			h := http.Header{"Authorization": {"Bearer " + secret}, "Cookie": {"sid=" + secret}, "Accept": {"text/html"}}
			u, _ := url.Parse("https://as.example/cb?code=" + secret + "&state=" + secret)
			log.Info("request",
				"access_token", secret, "Refresh-Token", secret, "client_secret", secret,
				"password", secret, "x_custom_secret", secret, "header", h, "url", u,
				"form", url.Values{"code_verifier": {secret}},
				"msg2", "redirecting to https://c.example/cb?code="+secret+"&state=xyz now",
				"auth", "bearer "+secret, "dsn", "redis://user:"+secret+"@redis:6379/0",
				"err", errors.New("fetch https://idp.example/token?client_secret="+secret+" failed"),
				slog.Group("nested", "token", secret),
			)
			out := buf.String()
			if strings.Contains(out, secret) {
				t.Fatalf("secret leaked into log output:\n%s", out)
			}
			for _, want := range []string{"text/html", "code=" + Redacted, "redirecting to https://c.example/cb?", "user:" + Redacted + "@redis"} {
				want := want
				if format == "json" {
					b, _ := json.Marshal(want)
					want = strings.Trim(string(b), `"`)
				}
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestScrubString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain message", "plain message"},
		{"GET /oauth/authorize?client_id=a&code_challenge=b", "GET /oauth/authorize?client_id=[REDACTED]&code_challenge=[REDACTED]"},
		{"url=https://x/y?flag#frag", "url=https://x/y?flag#[REDACTED]"},
		{"Authorization: Bearer abc.def.ghi, next", "Authorization: Bearer [REDACTED], next"},
		{"Basic dXNlcjpwYXNz", "Basic [REDACTED]"},
		{"is it? yes", "is it? yes"},
		{"postgres://u:p4ss@db/x", "postgres://u:[REDACTED]@db/x"},
	}
	for _, tt := range tests {
		if got := ScrubString(tt.in); got != tt.want {
			t.Errorf("ScrubString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFingerprintStableAndShort(t *testing.T) {
	a, b := Fingerprint("token-1"), Fingerprint("token-1")
	if a != b || len(a) != len("sha256:")+12 || a == Fingerprint("token-2") {
		t.Fatalf("Fingerprint: %q %q", a, b)
	}
}

func TestParseLevel(t *testing.T) {
	if l, err := ParseLevel("warn"); err != nil || l != slog.LevelWarn {
		t.Fatalf("ParseLevel(warn) = %v, %v", l, err)
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Fatal("ParseLevel(loud) succeeded")
	}
}

func FuzzScrubString(f *testing.F) {
	for _, s := range []string{"a?b=c", "Bearer x", "x://u:p@h", "??&&==", "basic  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := ScrubString(s)
		if strings.Contains(strings.ToLower(s), "bearer ") && !strings.Contains(out, Redacted) {
			// "Bearer " followed by a delimiter has nothing to mask.
			i := strings.Index(strings.ToLower(s), "bearer ")
			rest := s[i+len("bearer "):]
			if rest != "" && !strings.ContainsAny(rest[:1], " \t\r\n\"',;") {
				t.Fatalf("credential after Bearer not masked: %q -> %q", s, out)
			}
		}
	})
}
