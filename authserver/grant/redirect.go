package grant

import (
	"net/url"
	"strings"
)

// maxRedirectURILen bounds registered redirect URIs.
const maxRedirectURILen = 2048

// MatchRedirectURI finds the registered redirect URI that presented matches
// and returns it.
//
// Matching is exact string comparison (OAuth 2.1 §4.1.3, RFC 6749 §3.1.2.3
// as tightened by RFC 9700 §2.1), with one exception from RFC 8252 §7.3: for
// a loopback IP literal redirect URI (http://127.0.0.1 or http://[::1]), the
// port is ignored, so a native client may listen on any ephemeral port. The
// URIs must then be identical except for the port (present or not on either
// side). The name "localhost" gets no such exception (RFC 8252 §8.3), nor
// does https or any other IP address.
//
// A presented URI that is empty or contains a fragment never matches. The
// caller redirects to presented (with its port), not to the returned entry.
func MatchRedirectURI(registered []string, presented string) (string, bool) {
	if presented == "" || strings.IndexByte(presented, '#') >= 0 {
		return "", false
	}
	for _, r := range registered {
		if r == presented {
			return r, true
		}
	}
	pHost, pRest, ok := splitLoopback(presented)
	if !ok {
		return "", false
	}
	for _, r := range registered {
		rHost, rRest, ok := splitLoopback(r)
		if ok && rHost == pHost && rRest == pRest {
			return r, true
		}
	}
	return "", false
}

// splitLoopback splits an http URI whose host is the IP literal 127.0.0.1
// or [::1] into that host and everything after the authority, dropping a
// valid port (1-65535). It reports false for any other URI, including ones
// with user information, an invalid port or a fragment.
func splitLoopback(u string) (host, rest string, ok bool) {
	const prefix = "http://"
	if !strings.HasPrefix(u, prefix) {
		return "", "", false
	}
	s := u[len(prefix):]
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	authority, rest := s[:end], s[end:]
	var port string
	switch {
	case strings.HasPrefix(authority, "127.0.0.1"):
		host, port = "127.0.0.1", authority[len("127.0.0.1"):]
	case strings.HasPrefix(authority, "[::1]"):
		host, port = "[::1]", authority[len("[::1]"):]
	default:
		return "", "", false
	}
	if port != "" && !validPort(port) {
		return "", "", false
	}
	if strings.IndexByte(rest, '#') >= 0 {
		return "", "", false
	}
	return host, rest, true
}

// validPort reports whether p is ":" followed by a decimal port in 1..65535
// without leading zeros.
func validPort(p string) bool {
	if len(p) < 2 || len(p) > 6 || p[0] != ':' || p[1] == '0' {
		return false
	}
	n := 0
	for i := 1; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// ValidateRedirectURI checks a redirect URI offered for registration
// (RFC 7591 §2, RFC 8252 §7, OAuth 2.1 §2.3.1) and returns an
// invalid_redirect_uri *Error if it is not acceptable. The URI must be
// absolute, printable ASCII, at most 2048 bytes and without a fragment
// (RFC 6749 §3.1.2), and use one of:
//
//   - https with a host and no user information;
//   - http with a host and no user information. When allowHTTPLoopbackOnly is
//     true (the production rule), the host must be a loopback host:
//     127.0.0.1, [::1] or localhost (RFC 8252 §7.3). When false, any host is
//     accepted (for development setups only);
//   - a private-use scheme containing a '.', such as com.example.app:/cb
//     (RFC 8252 §7.1), with a non-empty remainder.
//
// Script- and content-bearing schemes (javascript, data, file, vbscript,
// blob, about) and other schemes without a '.' are refused.
func ValidateRedirectURI(uri string, allowHTTPLoopbackOnly bool) error {
	if uri == "" {
		return Errorf(CodeInvalidRedirectURI, "redirect URI is empty")
	}
	if len(uri) > maxRedirectURILen {
		return Errorf(CodeInvalidRedirectURI, "redirect URI is longer than %d bytes", maxRedirectURILen)
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= 0x20 || c >= 0x7f {
			return Errorf(CodeInvalidRedirectURI, "redirect URI %s contains a space, control or non-ASCII character", quote(uri))
		}
	}
	if strings.IndexByte(uri, '#') >= 0 {
		return Errorf(CodeInvalidRedirectURI, "redirect URI %s must not contain a fragment", quote(uri))
	}
	u, err := url.Parse(uri)
	if err != nil {
		return Errorf(CodeInvalidRedirectURI, "redirect URI %s is not a valid URI", quote(uri))
	}
	if u.Scheme == "" {
		return Errorf(CodeInvalidRedirectURI, "redirect URI %s must be absolute", quote(uri))
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "https", "http":
		if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
			return Errorf(CodeInvalidRedirectURI, "redirect URI %s has no host", quote(uri))
		}
		if !validHost(u.Hostname()) {
			return Errorf(CodeInvalidRedirectURI, "redirect URI %s has an invalid host", quote(uri))
		}
		if u.User != nil {
			return Errorf(CodeInvalidRedirectURI, "redirect URI %s must not contain user information", quote(uri))
		}
		if p := u.Port(); p != "" && !validPort(":"+p) {
			return Errorf(CodeInvalidRedirectURI, "redirect URI %s has an invalid port", quote(uri))
		}
		if scheme == "http" && allowHTTPLoopbackOnly && !isLoopbackHost(u.Hostname()) {
			return Errorf(CodeInvalidRedirectURI, "redirect URI %s uses http on a non-loopback host; use https", quote(uri))
		}
		return nil
	case "javascript", "data", "file", "vbscript", "blob", "about", "filesystem":
		return Errorf(CodeInvalidRedirectURI, "redirect URI scheme %s is not allowed", quote(scheme))
	}
	if strings.IndexByte(scheme, '.') < 0 {
		return Errorf(CodeInvalidRedirectURI, "redirect URI scheme %s is not allowed; private-use schemes must contain a dot (RFC 8252 section 7.1)", quote(scheme))
	}
	if u.Opaque == "" && u.Host == "" && u.Path == "" {
		return Errorf(CodeInvalidRedirectURI, "redirect URI %s has nothing after the scheme", quote(uri))
	}
	return nil
}

// isLoopbackHost reports whether h (as returned by url.URL.Hostname) names
// the loopback interface.
func isLoopbackHost(h string) bool {
	return h == "127.0.0.1" || h == "::1" || strings.EqualFold(h, "localhost")
}
