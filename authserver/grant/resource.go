package grant

import (
	"net/netip"
	"net/url"
	"strings"
)

// maxResourceLen bounds resource indicators.
const maxResourceLen = 2048

// CanonicalResource returns the canonical form of a resource indicator
// (RFC 8707 §2, MCP authorization spec "canonical server URI"), or an
// invalid_target *Error.
//
// The resource must be an absolute http or https URI with a host, without a
// fragment or user information, in printable ASCII. Canonicalisation:
//
//   - scheme and host are lowercased, an IPv6 address is written in its
//     RFC 5952 form;
//   - the default port (443 for https, 80 for http) and an empty port are
//     removed;
//   - a path consisting of a lone "/" is removed (https://mcp.example.com/
//     becomes https://mcp.example.com); any other path is kept exactly, so
//     a trailing slash after a path segment is significant;
//   - a port must be 1-65535 without leading zeros;
//   - a query is kept exactly (RFC 8707 §2 discourages but allows it).
func CanonicalResource(s string) (string, error) {
	if s == "" {
		return "", Errorf(CodeInvalidTarget, "resource is empty")
	}
	if len(s) > maxResourceLen {
		return "", Errorf(CodeInvalidTarget, "resource is longer than %d bytes", maxResourceLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c >= 0x7f {
			return "", Errorf(CodeInvalidTarget, "resource %s contains a space, control or non-ASCII character", quote(s))
		}
	}
	if strings.IndexByte(s, '#') >= 0 {
		return "", Errorf(CodeInvalidTarget, "resource %s must not contain a fragment", quote(s))
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", Errorf(CodeInvalidTarget, "resource %s is not a valid URI", quote(s))
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", Errorf(CodeInvalidTarget, "resource %s must be an absolute http or https URI", quote(s))
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return "", Errorf(CodeInvalidTarget, "resource %s has no host", quote(s))
	}
	if u.User != nil {
		return "", Errorf(CodeInvalidTarget, "resource %s must not contain user information", quote(s))
	}
	host := strings.ToLower(u.Hostname())
	if !validHost(host) {
		return "", Errorf(CodeInvalidTarget, "resource %s has an invalid host", quote(s))
	}
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + netip.MustParseAddr(host).String() + "]"
	}
	port := u.Port()
	if port != "" && !validPort(":"+port) {
		return "", Errorf(CodeInvalidTarget, "resource %s has an invalid port", quote(s))
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(path)
	if u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(u.RawQuery)
	}
	return b.String(), nil
}

// ResourceMatches reports whether presented, once canonicalised by
// [CanonicalResource], equals canonical, which must already be canonical
// (the server's own resource identifier). An invalid presented value never
// matches.
func ResourceMatches(canonical, presented string) bool {
	if presented == canonical {
		return presented != ""
	}
	c, err := CanonicalResource(presented)
	return err == nil && c == canonical
}

// validHost reports whether h (as returned by url.URL.Hostname) is an IPv6
// address without zone, or a name or IPv4 address made of
// [A-Za-z0-9-._~] (RFC 3986 §3.2.2 reg-name without percent-encoding or
// sub-delimiters).
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if strings.IndexByte(h, ':') >= 0 {
		a, err := netip.ParseAddr(h)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	for i := 0; i < len(h); i++ {
		if !isUnreserved(h[i]) {
			return false
		}
	}
	return true
}
