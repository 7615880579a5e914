// Package dcr holds the registration policy rules of Dynamic Client
// Registration (RFC 7591) that are pure functions of their input: the
// redirect URI patterns of the registration allowlist.
//
// It exists apart from package authserver so that configuration validation
// (package config) and the registration endpoint parse a pattern with the
// same code: a pattern the configuration accepts is exactly a pattern the
// server enforces.
package dcr

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxPatternLen bounds the length of a pattern; it equals the longest
// redirect URI a client may register.
const MaxPatternLen = 2048

// Pattern is a redirect URI pattern of the registration allowlist: a URI
// whose components may use wildcards. A redirect URI matches when every
// component matches:
//
//   - scheme: exactly (schemes are lower case in patterns; a redirect URI's
//     scheme is compared case-insensitively, RFC 3986 §3.1).
//   - authority: a pattern with an authority ("scheme://host...") matches
//     only URIs with one, and a pattern without ("com.example.app:/cb", a
//     private-use scheme of RFC 8252 §7.1) only URIs without. User
//     information is never allowed.
//   - host, label by label, case-insensitively. A label "*" matches exactly
//     one non-empty label; a first label "**" matches one or more labels.
//     Wildcards are whole labels and stand left of every literal label:
//     "*.example.com" matches "app.example.com" but neither "example.com"
//     nor "a.b.example.com"; "**.example.com" matches both "app.example.com"
//     and "a.b.example.com". An IP literal ("127.0.0.1", "[::1]") is
//     compared as written.
//   - port: none matches only a URI without a port; "*" matches any port or
//     none; a number matches that port as written (":443" is not the same
//     as no port).
//   - path, segment by segment ("/"-separated, compared as written, so
//     percent-encoding is not decoded): within a segment "*" matches any run
//     of characters, possibly empty; a whole segment "**" matches zero or
//     more segments. "/cb" matches only "/cb"; "/cb/*" matches "/cb/x" and
//     "/cb/" but not "/cb/x/y"; "/app/**" matches "/app", "/app/" and
//     "/app/x/y"; "/*.html" matches "/a.html".
//   - query: none matches only a URI without a query (not even "?"); a
//     query matches only the same query, exactly. Queries take no
//     wildcards.
//
// A redirect URI with a dot segment ("." or "..", percent-encoded or not)
// or a backslash in it matches no pattern, since a browser would resolve it
// to another path than the one matched.
type Pattern struct {
	raw          string
	scheme       string
	hasAuthority bool
	host         []string // labels, lower case; "*" and "**" are wildcards
	ipLiteral    bool
	port         string // "", "*" or digits
	path         []string
	hasQuery     bool
	query        string
}

// ParsePattern parses an allowlist pattern (see [Pattern]). Its errors
// describe the problem without repeating the pattern.
func ParsePattern(s string) (*Pattern, error) {
	if s == "" {
		return nil, errors.New("must not be empty")
	}
	if len(s) > MaxPatternLen {
		return nil, fmt.Errorf("must be at most %d bytes", MaxPatternLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return nil, errors.New("must be printable ASCII without spaces or backslashes")
		}
	}
	if strings.IndexByte(s, '#') >= 0 {
		return nil, errors.New("must not have a fragment (OAuth 2.1 §2.3.1)")
	}
	parts, ok := split(s)
	if !ok {
		return nil, errors.New(`must be an absolute URI such as https://app.example.com/callback (a scheme, then ":")`)
	}
	if !validScheme(parts.scheme) {
		return nil, errors.New("must start with a lower-case scheme (letters, digits, +, -, .; no wildcards)")
	}
	p := &Pattern{raw: s, scheme: parts.scheme, hasAuthority: parts.hasAuthority, hasQuery: parts.hasQuery, query: parts.query}
	if parts.hasAuthority {
		if err := p.parseAuthority(parts.authority); err != nil {
			return nil, err
		}
		if parts.path != "" && parts.path[0] != '/' {
			return nil, errors.New(`path must start with "/"`)
		}
	} else if parts.path == "" {
		return nil, errors.New("must have a host or a path after the scheme")
	}
	if parts.path != "" {
		p.path = strings.Split(parts.path, "/")
		for _, seg := range p.path {
			switch {
			case seg == "**":
			case strings.Contains(seg, "**"):
				return nil, errors.New(`"**" must be a whole path segment`)
			case isDotSegment(seg):
				return nil, errors.New(`path must not have dot segments ("." or "..")`)
			}
		}
	}
	if strings.IndexByte(p.query, '*') >= 0 {
		return nil, errors.New("query must not have wildcards (it is matched exactly)")
	}
	return p, nil
}

// parseAuthority parses "host[:port]" of a pattern.
func (p *Pattern) parseAuthority(a string) error {
	if strings.IndexByte(a, '@') >= 0 {
		return errors.New("must not have user information")
	}
	host, port := splitHostPort(a)
	switch {
	case port == "*":
	case port != "":
		if !validPort(port) {
			return errors.New(`port must be a number from 1 to 65535 (no leading zero) or "*"`)
		}
	case strings.HasSuffix(a, ":"):
		return errors.New(`port must be a number from 1 to 65535 (no leading zero) or "*"`)
	}
	p.port = port
	if host == "" {
		return errors.New("must have a host")
	}
	if host[0] == '[' {
		if host[len(host)-1] != ']' || strings.IndexByte(host, '*') >= 0 || len(host) < 3 {
			return errors.New("IP literal host must be [address] without wildcards")
		}
		p.host, p.ipLiteral = []string{strings.ToLower(host)}, true
		return nil
	}
	labels := strings.Split(strings.ToLower(host), ".")
	literal := false
	for i, l := range labels {
		switch {
		case l == "":
			return errors.New("host must not have empty labels")
		case l == "**":
			if i != 0 {
				return errors.New(`"**" may only be the first host label`)
			}
		case l == "*":
			if literal {
				return errors.New("host wildcards must stand left of every literal label (*.example.com)")
			}
		case strings.IndexByte(l, '*') >= 0:
			return errors.New(`a host wildcard must be a whole label ("*" or "**")`)
		default:
			if !validHostLabel(l) {
				return errors.New("host has an invalid character")
			}
			literal = true
		}
	}
	p.host = labels
	return nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.raw }

// Scheme returns the pattern's scheme, in lower case.
func (p *Pattern) Scheme() string { return p.scheme }

// Host returns the pattern's host as written but in lower case (IP
// literals keep their brackets), or "" when it has no authority.
func (p *Pattern) Host() string { return strings.Join(p.host, ".") }

// HostWildcards reports whether the host has a wildcard label.
func (p *Pattern) HostWildcards() bool {
	return len(p.host) > 0 && (p.host[0] == "*" || p.host[0] == "**")
}

// LiteralHostLabels returns how many host labels are not wildcards.
func (p *Pattern) LiteralHostLabels() int {
	n := 0
	for _, l := range p.host {
		if l != "*" && l != "**" {
			n++
		}
	}
	return n
}

// Match reports whether the redirect URI uri matches the pattern. uri is
// expected to have passed the registration rules for redirect URIs; Match
// itself refuses anything that is not a valid absolute URI without a
// fragment, user information, dot segments or backslashes.
func (p *Pattern) Match(uri string) bool {
	if uri == "" || len(uri) > MaxPatternLen || strings.ContainsAny(uri, "#\\") {
		return false
	}
	if _, err := url.Parse(uri); err != nil {
		return false
	}
	parts, ok := split(uri)
	if !ok || !strings.EqualFold(parts.scheme, p.scheme) || parts.hasAuthority != p.hasAuthority {
		return false
	}
	if p.hasAuthority {
		if strings.IndexByte(parts.authority, '@') >= 0 {
			return false
		}
		host, port := splitHostPort(parts.authority)
		if !p.matchPort(port) || !p.matchHost(strings.ToLower(host)) {
			return false
		}
	}
	if parts.hasQuery != p.hasQuery || parts.query != p.query {
		return false
	}
	var segs []string
	if parts.path != "" {
		segs = strings.Split(parts.path, "/")
	}
	for _, s := range segs {
		if isDotSegment(s) {
			return false
		}
	}
	return matchSegments(p.path, segs)
}

func (p *Pattern) matchPort(port string) bool {
	return p.port == "*" || port == p.port
}

func (p *Pattern) matchHost(host string) bool {
	if host == "" {
		return false
	}
	if p.ipLiteral {
		return host == p.host[0]
	}
	labels := strings.Split(host, ".")
	pat := p.host
	if pat[0] == "**" {
		// "**" takes every label left of the rest, at least one.
		extra := len(labels) - (len(pat) - 1)
		if extra < 1 {
			return false
		}
		for _, l := range labels[:extra] {
			if l == "" {
				return false
			}
		}
		labels, pat = labels[extra:], pat[1:]
	}
	if len(labels) != len(pat) {
		return false
	}
	for i, l := range labels {
		switch pat[i] {
		case "*":
			if l == "" {
				return false
			}
		default:
			if l != pat[i] {
				return false
			}
		}
	}
	return true
}

// matchSegments matches path segments against pattern segments, where a
// pattern segment "**" matches zero or more segments and any other pattern
// segment matches exactly one segment (matchSegment). It backtracks only to
// the last "**", so it runs in O(len(pat) × len(segs)) segment matches.
func matchSegments(pat, segs []string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(segs) {
		switch {
		case pi < len(pat) && pat[pi] == "**":
			star, mark = pi, si
			pi++
		case pi < len(pat) && matchSegment(pat[pi], segs[si]):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == "**" {
		pi++
	}
	return pi == len(pat)
}

// matchSegment matches one path segment against a pattern segment in which
// "*" matches any run of characters, possibly empty (the same greedy
// algorithm as matchSegments, on bytes).
func matchSegment(pat, seg string) bool {
	if strings.IndexByte(pat, '*') < 0 {
		return pat == seg
	}
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(seg) {
		switch {
		case pi < len(pat) && pat[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pat) && pat[pi] == seg[si]:
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}

// uriParts are the raw components of "scheme:[//authority]path[?query]".
type uriParts struct {
	scheme       string
	hasAuthority bool
	authority    string
	path         string
	hasQuery     bool
	query        string
}

// split splits an absolute URI without fragment into its raw components
// (RFC 3986 §3). It reports false when there is no scheme.
func split(s string) (uriParts, bool) {
	var p uriParts
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || strings.ContainsAny(s[:colon], "/?") {
		return p, false
	}
	p.scheme, s = s[:colon], s[colon+1:]
	if i := strings.IndexByte(s, '?'); i >= 0 {
		p.hasQuery, p.query, s = true, s[i+1:], s[:i]
	}
	if strings.HasPrefix(s, "//") {
		s = s[2:]
		end := strings.IndexByte(s, '/')
		if end < 0 {
			end = len(s)
		}
		p.hasAuthority, p.authority, s = true, s[:end], s[end:]
	}
	p.path = s
	return p, true
}

// splitHostPort splits "host[:port]", where host may be an IP literal in
// brackets.
func splitHostPort(a string) (host, port string) {
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return a, ""
		}
		host, rest := a[:end+1], a[end+1:]
		if strings.HasPrefix(rest, ":") {
			return host, rest[1:]
		}
		if rest != "" {
			return a, "" // junk after the literal: no host matches it
		}
		return host, ""
	}
	if i := strings.LastIndexByte(a, ':'); i >= 0 {
		return a[:i], a[i+1:]
	}
	return a, ""
}

// validScheme checks scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
// (RFC 3986 §3.1), lower case only.
func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validHostLabel checks a literal host label: unreserved and sub-delims
// characters of a reg-name (RFC 3986 §3.2.2), and percent signs.
func validHostLabel(l string) bool {
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_~%!$&'()+,;=", c) >= 0) {
			return false
		}
	}
	return true
}

// validPort checks a decimal port 1..65535 without a leading zero.
func validPort(p string) bool {
	if len(p) == 0 || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// isDotSegment reports whether a path segment is "." or "..", also
// percent-encoded ("%2e", ".%2E", ...), which browsers resolve (URL
// Standard, path state).
func isDotSegment(s string) bool {
	switch strings.ToLower(s) {
	case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
		return true
	}
	return false
}
