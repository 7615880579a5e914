package grant

import "strings"

// ParseBearer extracts the access token from an Authorization header value
// (RFC 6750 §2.1):
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme name is case-insensitive (RFC 9110 §11.1). Anything else,
// including a second token, trailing spaces or other schemes, reports false.
func ParseBearer(header string) (string, bool) {
	const scheme = "bearer"
	if len(header) <= len(scheme)+1 || !strings.EqualFold(header[:len(scheme)], scheme) || header[len(scheme)] != ' ' {
		return "", false
	}
	tok := strings.TrimLeft(header[len(scheme):], " ")
	if !validB64Token(tok) {
		return "", false
	}
	return tok, true
}

// validB64Token checks the b64token production of RFC 6750 §2.1.
func validB64Token(t string) bool {
	i := 0
	for i < len(t) && isB64TokenChar(t[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(t); i++ {
		if t[i] != '=' {
			return false
		}
	}
	return true
}

func isB64TokenChar(c byte) bool { return b64TokenChars[c] }

// b64TokenChars marks the characters of RFC 6750 §2.1 b64token other than
// '=': ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/". A table, because
// every authenticated request checks each character of its token.
var b64TokenChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()
