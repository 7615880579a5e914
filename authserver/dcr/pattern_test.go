package dcr

import (
	"net/url"
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{
			pattern: "https://app.example.com/callback",
			match:   []string{"https://app.example.com/callback", "HTTPS://APP.example.com/callback"},
			noMatch: []string{
				"https://app.example.com/callback/", "https://app.example.com/Callback", "https://app.example.com/callback?x=1",
				"https://app.example.com/callback?", "https://app.example.com:443/callback", "http://app.example.com/callback",
				"https://evil.example.com/callback", "https://app.example.com.evil.com/callback", "https://user@app.example.com/callback",
				"https://app.example.com/callback#f", "https://app.example.com", "app.example.com/callback", "",
			},
		},
		{
			pattern: "https://*.example.com/cb",
			match:   []string{"https://a.example.com/cb", "https://A-1.Example.COM/cb"},
			noMatch: []string{"https://example.com/cb", "https://a.b.example.com/cb", "https://.example.com/cb", "https://a.example.org/cb", "https://aexample.com/cb"},
		},
		{
			pattern: "https://**.example.com/cb",
			match:   []string{"https://a.example.com/cb", "https://a.b.c.example.com/cb"},
			noMatch: []string{"https://example.com/cb", "https://a..example.com/cb", "https://a.example.com.evil/cb"},
		},
		{
			pattern: "https://*.*.example.com/cb",
			match:   []string{"https://a.b.example.com/cb"},
			noMatch: []string{"https://a.example.com/cb", "https://a.b.c.example.com/cb"},
		},
		{
			pattern: "http://127.0.0.1:*/callback",
			match:   []string{"http://127.0.0.1:33418/callback", "http://127.0.0.1/callback", "http://127.0.0.1:1/callback"},
			noMatch: []string{"http://127.0.0.2:33418/callback", "http://localhost:33418/callback", "http://127.0.0.1:33418/callback/x"},
		},
		{
			pattern: "http://localhost:8080/cb",
			match:   []string{"http://localhost:8080/cb", "http://LOCALHOST:8080/cb"},
			noMatch: []string{"http://localhost:8081/cb", "http://localhost/cb"},
		},
		{
			pattern: "http://[::1]:*/cb",
			match:   []string{"http://[::1]:5000/cb", "http://[::1]/cb"},
			noMatch: []string{"http://[::2]:5000/cb", "http://127.0.0.1:5000/cb"},
		},
		{
			pattern: "https://app.example.com/cb/*",
			match:   []string{"https://app.example.com/cb/x", "https://app.example.com/cb/"},
			noMatch: []string{"https://app.example.com/cb", "https://app.example.com/cb/x/y", "https://app.example.com/cb/.."},
		},
		{
			pattern: "https://app.example.com/app/**",
			match:   []string{"https://app.example.com/app", "https://app.example.com/app/", "https://app.example.com/app/x/y/z"},
			noMatch: []string{
				"https://app.example.com/application", "https://app.example.com/other/app/x",
				"https://app.example.com/app/../admin", "https://app.example.com/app/%2e%2e/admin", "https://app.example.com/app/.%2E/admin",
				"https://app.example.com/app/./x",
			},
		},
		{
			pattern: "https://app.example.com/**/done",
			match:   []string{"https://app.example.com/done", "https://app.example.com/a/b/done"},
			noMatch: []string{"https://app.example.com/a/b/done/x", "https://app.example.com/a/b/notdone"},
		},
		{
			pattern: "https://app.example.com/oauth/*.html",
			match:   []string{"https://app.example.com/oauth/cb.html", "https://app.example.com/oauth/.html"},
			noMatch: []string{"https://app.example.com/oauth/cb.htm", "https://app.example.com/oauth/a/cb.html"},
		},
		{
			pattern: "https://app.example.com/a*b*c",
			match:   []string{"https://app.example.com/abc", "https://app.example.com/aXbYc", "https://app.example.com/abbbcbc"},
			noMatch: []string{"https://app.example.com/acb", "https://app.example.com/abcd"},
		},
		{
			pattern: "https://app.example.com/cb?tenant=1",
			match:   []string{"https://app.example.com/cb?tenant=1"},
			noMatch: []string{"https://app.example.com/cb", "https://app.example.com/cb?tenant=2", "https://app.example.com/cb?tenant=1&x=2"},
		},
		{
			pattern: "https://app.example.com:*/cb",
			match:   []string{"https://app.example.com/cb", "https://app.example.com:8443/cb"},
		},
		{
			pattern: "https://app.example.com/a%2Fb",
			match:   []string{"https://app.example.com/a%2Fb"},
			noMatch: []string{"https://app.example.com/a/b"},
		},
		{
			pattern: "com.example.app:/oauth2redirect",
			match:   []string{"com.example.app:/oauth2redirect", "COM.EXAMPLE.APP:/oauth2redirect"},
			noMatch: []string{"com.example.app://oauth2redirect", "com.example.app:/oauth2redirect/x", "com.example.other:/oauth2redirect"},
		},
		{
			pattern: "com.example.app:/**",
			match:   []string{"com.example.app:/", "com.example.app:/a/b"},
			noMatch: []string{"com.example.app://host/a"},
		},
		{
			pattern: "cursor://anysphere.cursor-retrieval/oauth/*/callback",
			match:   []string{"cursor://anysphere.cursor-retrieval/oauth/x/callback"},
			noMatch: []string{"cursor://anysphere.cursor-retrieval/oauth/callback"},
		},
		{
			pattern: "https://*/callback",
			match:   []string{"https://a/callback", "https://anything/callback"},
			noMatch: []string{"https://a.b/callback"},
		},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tt.pattern, err)
			continue
		}
		if p.String() != tt.pattern {
			t.Errorf("String() = %q, want %q", p.String(), tt.pattern)
		}
		for _, u := range tt.match {
			if !p.Match(u) {
				t.Errorf("%q does not match %q, want a match", tt.pattern, u)
			}
		}
		for _, u := range tt.noMatch {
			if p.Match(u) {
				t.Errorf("%q matches %q, want no match", tt.pattern, u)
			}
		}
	}
}

func TestParsePatternErrors(t *testing.T) {
	tests := []struct {
		pattern string
		want    string // substring of the error
	}{
		{"", "empty"},
		{"https://app.example.com/" + strings.Repeat("a", MaxPatternLen), "at most"},
		{"https://app.example.com/a b", "printable"},
		{`https://app.example.com\cb`, "backslash"},
		{"https://app.example.com/cb#x", "fragment"},
		{"/callback", "absolute"},
		{"app.example.com/cb", "absolute"},
		{"HTTPS://app.example.com/cb", "lower-case scheme"},
		{"http*://app.example.com/cb", "lower-case scheme"},
		{"https://user@app.example.com/cb", "user information"},
		{"https://app.example.com:0/cb", "port"},
		{"https://app.example.com:65536/cb", "port"},
		{"https://app.example.com:08/cb", "port"},
		{"https://app.example.com:8*/cb", "port"},
		{"https://app.example.com:/cb", "port"},
		{"https:///cb", "host"},
		{"https://:443/cb", "host"},
		{"https://app..example.com/cb", "empty labels"},
		{"https://app-*.example.com/cb", "whole label"},
		{"https://app.**.com/cb", "first host label"},
		{"https://app.*.com/cb", "left of every literal"},
		{"https://[::1/cb", "IP literal"},
		{"https://[*]/cb", "IP literal"},
		{"https://app.example.com/a**/cb", "whole path segment"},
		{"https://app.example.com/***", "whole path segment"},
		{"https://app.example.com/a/../b", "dot"},
		{"https://app.example.com/./b", "dot"},
		{"https://app.example.com/cb?x=*", "query"},
		{"https://app.exa<mple.com/cb", "invalid character"},
		{"com.example.app:", "host or a path"},
	}
	for _, tt := range tests {
		_, err := ParsePattern(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParsePattern(%q) = %v, want an error containing %q", tt.pattern, err, tt.want)
		}
	}
}

func TestPatternHostFacts(t *testing.T) {
	tests := []struct {
		pattern   string
		host      string
		wildcards bool
		literal   int
	}{
		{"https://app.example.com/cb", "app.example.com", false, 3},
		{"https://*.Example.com/cb", "*.example.com", true, 2},
		{"https://**.com/cb", "**.com", true, 1},
		{"https://*/cb", "*", true, 0},
		{"http://[::1]:*/cb", "[::1]", false, 1},
		{"com.example.app:/cb", "", false, 0},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", tt.pattern, err)
		}
		if p.Host() != tt.host || p.HostWildcards() != tt.wildcards || p.LiteralHostLabels() != tt.literal {
			t.Errorf("%q: Host %q, HostWildcards %v, LiteralHostLabels %d; want %q, %v, %d",
				tt.pattern, p.Host(), p.HostWildcards(), p.LiteralHostLabels(), tt.host, tt.wildcards, tt.literal)
		}
	}
}

// FuzzPattern checks that parsing and matching never panic, that a pattern
// without wildcards matches itself, and that a match is never a URI with a
// fragment, user information, backslash or dot segment.
func FuzzPattern(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://app.example.com/callback", "https://app.example.com/callback"},
		{"https://*.example.com/cb", "https://a.example.com/cb"},
		{"https://**.example.com/cb/**", "https://a.b.example.com/cb/x/y"},
		{"http://127.0.0.1:*/callback", "http://127.0.0.1:5000/callback"},
		{"http://[::1]:*/cb", "http://[::1]:1/cb"},
		{"https://app.example.com/a*b*c?x=1", "https://app.example.com/aXbYc?x=1"},
		{"com.example.app:/**", "com.example.app:/a/../b"},
		{"https://app.example.com/**", "https://app.example.com/%2e%2e/x"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, uri string) {
		p, err := ParsePattern(pattern)
		if err != nil {
			return
		}
		if !strings.Contains(pattern, "*") && !strings.ContainsAny(pattern, "\\#") && !hasDotSegment(pattern) {
			if _, ok := split(pattern); ok && p.Match(pattern) != parsesAsURL(pattern) {
				t.Errorf("literal pattern %q: Match(itself) = %v", pattern, p.Match(pattern))
			}
		}
		if !p.Match(uri) {
			return
		}
		if strings.ContainsAny(uri, "#\\") || hasDotSegment(uri) {
			t.Errorf("%q matches %q, which has a fragment, backslash or dot segment", pattern, uri)
		}
		if parts, _ := split(uri); parts.hasAuthority && strings.Contains(parts.authority, "@") {
			t.Errorf("%q matches %q, which has user information", pattern, uri)
		}
	})
}

func hasDotSegment(uri string) bool {
	parts, ok := split(uri)
	if !ok {
		return false
	}
	for _, s := range strings.Split(parts.path, "/") {
		if isDotSegment(s) {
			return true
		}
	}
	return false
}

// parsesAsURL reports whether net/url accepts s, as Match requires.
func parsesAsURL(s string) bool {
	_, err := url.Parse(s)
	return err == nil
}
