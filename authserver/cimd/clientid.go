package cimd

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxClientIDLen bounds the length of a client identifier URL.
const MaxClientIDLen = 2048

// IsURL reports whether clientID has the form of a URL client identifier
// (it starts with "https://" or "http://"), which an authorization server
// resolves through its metadata document rather than its client registry.
// It does not check that the URL is valid; [ParseClientID] does.
func IsURL(clientID string) bool {
	return strings.HasPrefix(clientID, "https://") || strings.HasPrefix(clientID, "http://")
}

// ParseClientID checks a client identifier URL against the rules of
// draft-ietf-oauth-client-id-metadata-document ("Client Identifier"): the URL
// uses the https scheme, contains a path component, contains no single-dot or
// double-dot path segments, no fragment and no user information; it may
// contain a query and a port. Beyond the draft, it must be printable ASCII of
// at most MaxClientIDLen bytes and in the form Go's URL parser writes back
// unchanged (so the string compared with the document's client_id is the
// one fetched), and its host must be a DNS name or an IP address without zone.
//
// With allowLoopbackHTTP (development only), http URLs whose host is
// localhost, 127.0.0.1 or [::1] are accepted too.
//
// Errors are *Error with Kind ErrClientID.
func ParseClientID(clientID string, allowLoopbackHTTP bool) (*url.URL, error) {
	bad := func(format string, args ...any) (*url.URL, error) {
		return nil, newError(ErrClientID, nil, "client_id is not a valid client identifier URL: "+fmt.Sprintf(format, args...))
	}
	if len(clientID) > MaxClientIDLen {
		return bad("it is longer than %d bytes", MaxClientIDLen)
	}
	for i := 0; i < len(clientID); i++ {
		if c := clientID[i]; c <= 0x20 || c >= 0x7f {
			return bad("it contains a space, control or non-ASCII character")
		}
	}
	if !IsURL(clientID) {
		return bad("it must be an https URL")
	}
	if strings.IndexByte(clientID, '#') >= 0 {
		return bad("it must not contain a fragment")
	}
	u, err := url.Parse(clientID)
	if err != nil {
		return bad("it does not parse as a URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowLoopbackHTTP || !isLoopbackName(u.Hostname()) {
			return bad("it must use https")
		}
	default:
		return bad("it must use https")
	}
	if u.Opaque != "" || u.Host == "" {
		return bad("it has no host")
	}
	if u.User != nil {
		return bad("it must not contain a user name or password")
	}
	if !validHost(u.Hostname()) {
		return bad("its host is not a valid DNS name or IP address")
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || p[0] == '0' {
			return bad("its port is not valid")
		}
	}
	if u.Path == "" {
		return bad("it must contain a path, such as https://example.com/client.json")
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return bad("its path must not contain . or .. segments")
		}
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		if dec, err := url.PathUnescape(seg); err != nil || dec == "." || dec == ".." {
			return bad("its path must not contain . or .. segments")
		}
	}
	if u.String() != clientID {
		return bad("it is not in normalized form")
	}
	return u, nil
}

// validHost reports whether h (url.URL.Hostname) is an IP address without
// zone or a DNS name of letters, digits, hyphens and underscores in non-empty
// labels whose last label is not all digits (which resolvers might read as a
// numeric address).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.ContainsFunc(last, func(r rune) bool { return r < '0' || r > '9' })
}

// isLoopbackName reports whether h (url.URL.Hostname) names the loopback
// interface: localhost, 127.0.0.1 or ::1.
func isLoopbackName(h string) bool {
	return strings.EqualFold(h, "localhost") || h == "127.0.0.1" || h == "::1"
}

// ValidDomainPattern reports whether p is a valid Options.AllowedDomains
// entry: a DNS name such as example.com, optionally preceded by "*." (any
// subdomain), or an IP address.
func ValidDomainPattern(p string) bool {
	p = strings.TrimPrefix(p, "*.")
	return validHost(p) && !strings.Contains(p, "*")
}

// domainAllowed reports whether host (url.URL.Hostname) matches one of
// patterns: "example.com" matches that host only, "*.example.com" matches
// every subdomain of example.com but not example.com itself. Names compare
// case-insensitively. No patterns allow every host.
func domainAllowed(host string, patterns []string) bool {
	if len(patterns) == 0 {
		return true
	}
	host = strings.ToLower(host)
	for _, p := range patterns {
		p = strings.ToLower(p)
		if suffix, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if host == p {
			return true
		}
	}
	return false
}
