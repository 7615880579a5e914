package grant

import (
	"net/url"
	"strings"
	"testing"
)

func TestMatchRedirectURI(t *testing.T) {
	reg := []string{
		"https://app.example.com/cb",
		"http://127.0.0.1/callback",
		"http://[::1]:8080/cb?x=1",
		"http://localhost:3000/cb",
		"com.example.app:/oauth2redirect",
	}
	tests := []struct {
		name      string
		presented string
		want      string // "" = no match
	}{
		{"exact https", "https://app.example.com/cb", "https://app.example.com/cb"},
		{"exact private-use", "com.example.app:/oauth2redirect", "com.example.app:/oauth2redirect"},
		{"exact localhost", "http://localhost:3000/cb", "http://localhost:3000/cb"},
		{"loopback v4 any port", "http://127.0.0.1:53412/callback", "http://127.0.0.1/callback"},
		{"loopback v4 no port", "http://127.0.0.1/callback", "http://127.0.0.1/callback"},
		{"loopback v4 max port", "http://127.0.0.1:65535/callback", "http://127.0.0.1/callback"},
		{"loopback v6 other port", "http://[::1]:9999/cb?x=1", "http://[::1]:8080/cb?x=1"},
		{"loopback v6 no port", "http://[::1]/cb?x=1", "http://[::1]:8080/cb?x=1"},

		{"empty", "", ""},
		{"https trailing slash", "https://app.example.com/cb/", ""},
		{"https case differs", "https://APP.example.com/cb", ""},
		{"https extra query", "https://app.example.com/cb?a=1", ""},
		{"https other port", "https://app.example.com:8443/cb", ""},
		{"https prefix attack", "https://app.example.com/cb/../evil", ""},
		{"https suffix host", "https://app.example.com.evil.com/cb", ""},
		{"fragment", "https://app.example.com/cb#x", ""},
		{"localhost other port", "http://localhost:3001/cb", ""},
		{"loopback other path", "http://127.0.0.1:5000/callback2", ""},
		{"loopback path case", "http://127.0.0.1:5000/Callback", ""},
		{"loopback missing path", "http://127.0.0.1:5000", ""},
		{"loopback v6 query differs", "http://[::1]:9999/cb?x=2", ""},
		{"loopback v6 query dropped", "http://[::1]:9999/cb", ""},
		{"loopback fragment", "http://127.0.0.1:5000/callback#f", ""},
		{"loopback https", "https://127.0.0.1:5000/callback", ""},
		{"loopback family swap", "http://[::1]:5000/callback", ""},
		{"other loopback address", "http://127.0.0.2:5000/callback", ""},
		{"loopback userinfo", "http://127.0.0.1@evil.com:5000/callback", ""},
		{"loopback userinfo2", "http://evil@127.0.0.1:5000/callback", ""},
		{"loopback host prefix", "http://127.0.0.1.evil.com:5000/callback", ""},
		{"loopback port zero", "http://127.0.0.1:0/callback", ""},
		{"loopback port leading zero", "http://127.0.0.1:080/callback", ""},
		{"loopback port too big", "http://127.0.0.1:65536/callback", ""},
		{"loopback empty port", "http://127.0.0.1:/callback", ""},
		{"loopback port letters", "http://127.0.0.1:80a/callback", ""},
		{"uppercase scheme", "HTTP://127.0.0.1:5000/callback", ""},
		{"encoded path", "http://127.0.0.1:5000/%63allback", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MatchRedirectURI(reg, tt.presented)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("MatchRedirectURI(%q) = %q, %v; want %q", tt.presented, got, ok, tt.want)
			}
		})
	}
}

func TestMatchRedirectURIRegisteredPortVariants(t *testing.T) {
	tests := []struct {
		registered string
		presented  string
		want       bool
	}{
		{"http://127.0.0.1:8080/cb", "http://127.0.0.1:1234/cb", true},
		{"http://127.0.0.1:8080/cb", "http://127.0.0.1/cb", true},
		{"http://127.0.0.1:0/cb", "http://127.0.0.1:1234/cb", false}, // invalid registered port
		{"http://127.0.0.1:8080/cb#frag", "http://127.0.0.1:1234/cb", false},
		{"http://localhost/cb", "http://localhost:1234/cb", false},
		{"http://10.0.0.1/cb", "http://10.0.0.1:1234/cb", false},
	}
	for _, tt := range tests {
		_, ok := MatchRedirectURI([]string{tt.registered}, tt.presented)
		if ok != tt.want {
			t.Errorf("registered %q, presented %q: match = %v, want %v", tt.registered, tt.presented, ok, tt.want)
		}
	}
	if _, ok := MatchRedirectURI(nil, "https://a.example/cb"); ok {
		t.Error("matched against an empty registration list")
	}
}

func TestValidateRedirectURI(t *testing.T) {
	tests := []struct {
		name         string
		uri          string
		loopbackOnly bool
		code         string
	}{
		{"https", "https://app.example.com/cb", true, ""},
		{"https with port and query", "https://app.example.com:8443/cb?x=1", true, ""},
		{"http loopback v4", "http://127.0.0.1/cb", true, ""},
		{"http loopback v4 port", "http://127.0.0.1:8080/cb", true, ""},
		{"http loopback v6", "http://[::1]:8080/cb", true, ""},
		{"http localhost", "http://localhost:3000/cb", true, ""},
		{"http LOCALHOST", "http://LOCALHOST/cb", true, ""},
		{"private-use single slash", "com.example.app:/oauth2redirect", true, ""},
		{"private-use double slash", "com.example.app://callback", true, ""},
		{"private-use opaque", "com.example.app:callback", true, ""},
		{"http remote in dev", "http://dev.example.com/cb", false, ""},

		{"http remote in prod", "http://app.example.com/cb", true, CodeInvalidRedirectURI},
		{"http other private ip", "http://192.168.1.1/cb", true, CodeInvalidRedirectURI},
		{"http localhost suffix", "http://localhost.evil.com/cb", true, CodeInvalidRedirectURI},
		{"empty", "", true, CodeInvalidRedirectURI},
		{"relative", "/cb", true, CodeInvalidRedirectURI},
		{"scheme-relative", "//app.example.com/cb", true, CodeInvalidRedirectURI},
		{"fragment", "https://app.example.com/cb#frag", true, CodeInvalidRedirectURI},
		{"empty fragment", "https://app.example.com/cb#", true, CodeInvalidRedirectURI},
		{"javascript", "javascript:alert(1)", true, CodeInvalidRedirectURI},
		{"javascript mixed case", "JavaScript:alert(1)", false, CodeInvalidRedirectURI},
		{"data", "data:text/html,hi", true, CodeInvalidRedirectURI},
		{"file", "file:///etc/passwd", true, CodeInvalidRedirectURI},
		{"vbscript", "vbscript:msgbox", true, CodeInvalidRedirectURI},
		{"scheme without dot", "myapp:/cb", true, CodeInvalidRedirectURI},
		{"private-use empty", "com.example.app:", true, CodeInvalidRedirectURI},
		{"https no host", "https:///cb", true, CodeInvalidRedirectURI},
		{"https opaque", "https:app.example.com", true, CodeInvalidRedirectURI},
		{"https userinfo", "https://user:pw@app.example.com/cb", true, CodeInvalidRedirectURI},
		{"http userinfo loopback", "http://user@127.0.0.1/cb", true, CodeInvalidRedirectURI},
		{"space", "https://app.example.com/c b", true, CodeInvalidRedirectURI},
		{"newline", "https://app.example.com/cb\n", true, CodeInvalidRedirectURI},
		{"non-ascii", "https://app.exämple.com/cb", true, CodeInvalidRedirectURI},
		{"bad escape", "https://app.example.com/%zz", true, CodeInvalidRedirectURI},
		{"escaped host", "https://app%2Eexample.com/cb", true, CodeInvalidRedirectURI},
		{"host with sub-delims", "https://app!.example.com/cb", true, CodeInvalidRedirectURI},
		{"IPv6 zone", "http://[fe80::1%25eth0]/cb", false, CodeInvalidRedirectURI},
		{"bad port", "https://app.example.com:99999999999/cb", true, CodeInvalidRedirectURI},
		{"too long", "https://app.example.com/" + strings.Repeat("a", 2048), true, CodeInvalidRedirectURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, ValidateRedirectURI(tt.uri, tt.loopbackOnly), tt.code)
		})
	}
}

func FuzzMatchRedirectURI(f *testing.F) {
	f.Add("http://127.0.0.1/cb", "http://127.0.0.1:4000/cb")
	f.Add("http://[::1]:80/cb?q", "http://[::1]:81/cb?q")
	f.Add("https://a.example/cb", "https://a.example/cb")
	f.Add("http://localhost/cb", "http://localhost:1/cb")
	f.Add("http://127.0.0.1/cb", "http://127.0.0.1@evil/cb")
	f.Fuzz(func(t *testing.T, registered, presented string) {
		got, ok := MatchRedirectURI([]string{registered}, presented)
		if !ok {
			if got != "" {
				t.Fatalf("no match but returned %q", got)
			}
			return
		}
		if got != registered {
			t.Fatalf("returned %q, not the registered entry %q", got, registered)
		}
		if strings.Contains(presented, "#") {
			t.Fatalf("matched presented URI with fragment %q", presented)
		}
		if presented == registered {
			return
		}
		// A non-exact match must be the RFC 8252 §7.3 loopback exception:
		// same host literal, same everything else, only the port differs.
		pu, err := url.Parse(presented)
		if err != nil {
			t.Fatalf("matched unparsable %q: %v", presented, err)
		}
		ru, err := url.Parse(registered)
		if err != nil {
			t.Fatalf("matched unparsable registered %q: %v", registered, err)
		}
		if pu.Scheme != "http" || ru.Scheme != "http" || pu.User != nil || ru.User != nil {
			t.Fatalf("loopback match %q ~ %q is not plain http", presented, registered)
		}
		if h := pu.Hostname(); h != ru.Hostname() || (h != "127.0.0.1" && h != "::1") {
			t.Fatalf("loopback match %q ~ %q has host %q", presented, registered, h)
		}
		strip := func(u *url.URL) string { c := *u; c.Host = c.Hostname(); return c.String() }
		if strip(pu) != strip(ru) {
			t.Fatalf("%q and %q differ in more than the port", presented, registered)
		}
	})
}
