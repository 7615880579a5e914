package grant

import (
	"net/url"
	"strings"
	"testing"
)

func TestCanonicalResource(t *testing.T) {
	tests := []struct {
		in   string
		want string
		code string
	}{
		{"https://mcp.example.com", "https://mcp.example.com", ""},
		{"https://mcp.example.com/", "https://mcp.example.com", ""},
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp", ""},
		{"https://mcp.example.com/mcp/", "https://mcp.example.com/mcp/", ""},
		{"HTTPS://MCP.Example.COM/MCP", "https://mcp.example.com/MCP", ""},
		{"https://mcp.example.com:443/mcp", "https://mcp.example.com/mcp", ""},
		{"https://mcp.example.com:8443/mcp", "https://mcp.example.com:8443/mcp", ""},
		{"https://mcp.example.com:80/mcp", "https://mcp.example.com:80/mcp", ""},
		{"http://localhost:80/mcp", "http://localhost/mcp", ""},
		{"http://localhost:3000/mcp", "http://localhost:3000/mcp", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"https://mcp.example.com:/mcp", "https://mcp.example.com/mcp", ""},
		{"https://[::1]:443/", "https://[::1]", ""},
		{"https://[2001:DB8::1]:8443/x", "https://[2001:db8::1]:8443/x", ""},
		{"https://mcp.example.com/a%2Fb", "https://mcp.example.com/a%2Fb", ""},
		{"https://mcp.example.com/mcp?tenant=a", "https://mcp.example.com/mcp?tenant=a", ""},
		{"https://mcp.example.com/?", "https://mcp.example.com", ""},

		{"", "", CodeInvalidTarget},
		{"mcp.example.com", "", CodeInvalidTarget},
		{"/mcp", "", CodeInvalidTarget},
		{"//mcp.example.com/mcp", "", CodeInvalidTarget},
		{"urn:example:mcp", "", CodeInvalidTarget},
		{"ftp://mcp.example.com/", "", CodeInvalidTarget},
		{"https:///mcp", "", CodeInvalidTarget},
		{"https:mcp.example.com", "", CodeInvalidTarget},
		{"https://mcp.example.com/mcp#frag", "", CodeInvalidTarget},
		{"https://mcp.example.com/mcp#", "", CodeInvalidTarget},
		{"https://user@mcp.example.com/mcp", "", CodeInvalidTarget},
		{"https://mcp.example.com/m cp", "", CodeInvalidTarget},
		{"https://mcp.example.com/mcp\x00", "", CodeInvalidTarget},
		{"https://mcp.exämple.com/", "", CodeInvalidTarget},
		{"https://[fe80::1%25en0]/", "", CodeInvalidTarget},
		{"https://mcp.example.com:99999999/", "", CodeInvalidTarget},
		{"https://mcp.example.com/%zz", "", CodeInvalidTarget},
		{"https://mcp.example.com/" + strings.Repeat("a", 2048), "", CodeInvalidTarget},
		{"HTTP://0%80", "", CodeInvalidTarget},
		{"https://mcp%2Eexample.com/", "", CodeInvalidTarget},
		{"https://a,b.example.com/", "", CodeInvalidTarget},
		{"https://[::ffff:1.2.3.4]/", "https://[::ffff:1.2.3.4]", ""},
		{"https://[2001:DB8:0:0::1]:443/", "https://[2001:db8::1]", ""},
		{"https://[fe80::1]/", "https://[fe80::1]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CanonicalResource(tt.in)
			wantCode(t, err, tt.code)
			if got != tt.want {
				t.Errorf("CanonicalResource(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestResourceMatches(t *testing.T) {
	const canonical = "https://mcp.example.com/mcp"
	tests := []struct {
		presented string
		want      bool
	}{
		{"https://mcp.example.com/mcp", true},
		{"HTTPS://mcp.EXAMPLE.com:443/mcp", true},
		{"https://mcp.example.com/mcp/", false},
		{"https://mcp.example.com/MCP", false},
		{"https://mcp.example.com", false},
		{"https://mcp.example.com/mcp#x", false},
		{"http://mcp.example.com/mcp", false},
		{"https://mcp.example.com.evil.com/mcp", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ResourceMatches(canonical, tt.presented); got != tt.want {
			t.Errorf("ResourceMatches(%q) = %v, want %v", tt.presented, got, tt.want)
		}
	}
	if ResourceMatches("", "") {
		t.Error("empty resource matched")
	}
	if !ResourceMatches("https://mcp.example.com", "https://mcp.example.com/") {
		t.Error("lone trailing slash not ignored")
	}
}

func FuzzCanonicalResource(f *testing.F) {
	for _, s := range []string{"https://mcp.example.com/", "HTTP://A:80/b?c", "https://[::1]:443", "https://a/#", "urn:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalResource(s)
		if err != nil {
			wantCode(t, err, CodeInvalidTarget)
			if ResourceMatches(c, s) && c != "" {
				t.Fatalf("invalid %q matches %q", s, c)
			}
			return
		}
		again, err := CanonicalResource(c)
		if err != nil || again != c {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, c, again, err)
		}
		if !ResourceMatches(c, s) {
			t.Fatalf("%q does not match its canonical form %q", s, c)
		}
		u, err := url.Parse(c)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" || u.User != nil || u.Hostname() == "" {
			t.Fatalf("canonical %q is not an absolute http(s) URI without fragment: %v", c, err)
		}
		if strings.HasSuffix(c, ":443") && u.Scheme == "https" {
			t.Fatalf("default port kept in %q", c)
		}
	})
}

func FuzzValidateRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "http://127.0.0.1:1/cb", "com.example.app:/cb", "javascript:alert(1)", "http://evil.example/"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, loopbackOnly bool) {
		err := ValidateRedirectURI(s, loopbackOnly)
		if err != nil {
			wantCode(t, err, CodeInvalidRedirectURI)
			return
		}
		if strings.ContainsAny(s, "# \t\r\n") {
			t.Fatalf("accepted %q", s)
		}
		u, perr := url.Parse(s)
		if perr != nil || u.Scheme == "" {
			t.Fatalf("accepted unparsable or relative %q", s)
		}
		switch scheme := strings.ToLower(u.Scheme); scheme {
		case "https":
		case "http":
			if loopbackOnly && !isLoopbackHost(u.Hostname()) {
				t.Fatalf("accepted non-loopback http %q", s)
			}
		default:
			if !strings.Contains(scheme, ".") {
				t.Fatalf("accepted scheme %q", scheme)
			}
		}
	})
}
