package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/frontmcp-go/frontmcp/authserver/dcr"
)

// minInitialAccessTokenLen is the shortest DCR initial access token accepted
// in production: 32 characters, 128 bits or more from a random generator.
const minInitialAccessTokenLen = 32

// dcr checks auth.dcr: only where registration runs (mode orchestrated with
// dcrEnabled), redirect URI patterns that parse and can match a URI that
// registration accepts, a usable initial access token, and a cap that is not
// negative. In production it refuses patterns other than https or loopback
// http, host wildcards with fewer than two literal labels, and initial
// access tokens shorter than 32 characters.
func (v *validator) dcr() {
	a := &v.c.Auth
	d := &a.DCR
	if _, inFile := v.c.lines["auth.dcr"]; (a.Mode != ModeOrchestrated || !a.DCREnabled) &&
		(inFile || !equalValue(reflect.ValueOf(*d), reflect.ValueOf(Default(v.c.Environment).Auth.DCR))) {
		v.add("auth.dcr", ErrValue, "is only used with mode orchestrated and dcrEnabled: true")
		return
	}
	for i, s := range d.AllowedRedirectURIs {
		v.dcrPattern(fmt.Sprintf("auth.dcr.allowedRedirectUris[%d]", i), s)
	}
	if t := d.InitialAccessToken; t != "" {
		switch {
		case !validBearerToken(t):
			v.add("auth.dcr.initialAccessToken", ErrValue, "must be usable as a bearer token (RFC 6750 §2.1): letters, digits and - . _ ~ + /, optionally ending in =")
		case v.prod && len(t) < minInitialAccessTokenLen:
			v.add("auth.dcr.initialAccessToken", ErrInsecure, "must be at least %d characters in production: anyone who guesses it can register clients (for example: openssl rand -base64 32)", minInitialAccessTokenLen)
		}
	}
	if d.MaxClients < 0 {
		v.add("auth.dcr.maxClients", ErrValue, "must not be negative (0 means no cap)")
	}
}

// dcrPattern checks one redirect URI pattern of auth.dcr.allowedRedirectUris.
func (v *validator) dcrPattern(path, s string) {
	p, err := dcr.ParsePattern(s)
	if err != nil {
		v.add(path, ErrValue, "%v", err)
		return
	}
	host := strings.TrimSuffix(strings.TrimPrefix(p.Host(), "["), "]")
	switch scheme := p.Scheme(); scheme {
	case "https":
		if host == "" {
			v.add(path, ErrValue, "must include a host")
			return
		}
	case "http":
		if host == "" || p.HostWildcards() || !isLoopbackHost(host) {
			v.add(path, ErrValue, "http is only allowed for loopback hosts (localhost, 127.0.0.1, [::1]); use https")
			return
		}
	case "javascript", "data", "file", "vbscript", "blob", "about", "filesystem":
		v.add(path, ErrValue, "scheme %s is not allowed", scheme)
		return
	default:
		if !strings.Contains(scheme, ".") {
			v.add(path, ErrValue, "can never match: registration accepts private-use schemes only with a dot, such as com.example.app (RFC 8252 §7.1)")
			return
		}
		if v.prod {
			v.add(path, ErrInsecure, "must be https, or http on a loopback address (RFC 8252 §7.3), in production: a custom scheme can be claimed by any app on the device")
			return
		}
	}
	if v.prod && p.HostWildcards() && p.LiteralHostLabels() < 2 {
		v.add(path, ErrInsecure, "host %s is too broad for production: a wildcard needs at least two literal labels after it, such as *.example.com", p.Host())
	}
}

// validBearerToken reports whether s is a b64token (RFC 6750 §2.1), the
// form a bearer token takes in an Authorization header.
func validBearerToken(s string) bool {
	i := 0
	for i < len(s) {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
