package grant

import "strings"

// ParseScope parses the space-delimited scope parameter of RFC 6749 §3.3.
// Each scope-token must be non-empty and made of %x21 / %x23-5B / %x5D-7E
// (printable ASCII except space, '"' and '\'). Tokens are separated by one
// or more spaces (leading and trailing spaces are tolerated). Duplicates are
// collapsed, keeping the first occurrence, so the result is in request order.
//
// An empty (or all-space) string yields a nil slice: the scope was omitted.
// A bad token yields an invalid_scope *Error naming it.
func ParseScope(s string) ([]string, error) {
	var out []string
	var seen map[string]struct{}
	for len(s) > 0 {
		i := strings.IndexByte(s, ' ')
		var tok string
		if i < 0 {
			tok, s = s, ""
		} else {
			tok, s = s[:i], s[i+1:]
		}
		if tok == "" {
			continue
		}
		for j := 0; j < len(tok); j++ {
			if !isScopeChar(tok[j]) {
				return nil, Errorf(CodeInvalidScope, "scope %s contains a character not allowed by RFC 6749 section 3.3", quote(tok))
			}
		}
		if containsScope(out, seen, tok) {
			continue
		}
		out = append(out, tok)
		if seen != nil {
			seen[tok] = struct{}{}
		} else if len(out) > 16 {
			// Switch from a linear scan to a set for long lists.
			seen = make(map[string]struct{}, len(out)*2)
			for _, t := range out {
				seen[t] = struct{}{}
			}
		}
	}
	return out, nil
}

func containsScope(list []string, set map[string]struct{}, tok string) bool {
	if set != nil {
		_, ok := set[tok]
		return ok
	}
	for _, t := range list {
		if t == tok {
			return true
		}
	}
	return false
}

// isScopeChar reports whether c may appear in a scope-token (RFC 6749 §3.3:
// %x21 / %x23-5B / %x5D-7E).
func isScopeChar(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

// FormatScope renders scopes as the space-delimited scope parameter of
// RFC 6749 §3.3, in the given order. The tokens are expected to be valid
// (as returned by [ParseScope]).
func FormatScope(scopes []string) string {
	return strings.Join(scopes, " ")
}

// ScopeSubset reports whether every scope in requested is also in granted.
// An empty request is a subset of anything. The refresh token grant uses it
// to allow narrowing and refuse widening (RFC 6749 §6: the requested scope
// "MUST NOT include any scope not originally granted").
func ScopeSubset(requested, granted []string) bool {
	if len(requested) == 0 {
		return true
	}
	if len(granted) > 16 && len(requested) > 4 {
		set := make(map[string]struct{}, len(granted))
		for _, g := range granted {
			set[g] = struct{}{}
		}
		for _, r := range requested {
			if _, ok := set[r]; !ok {
				return false
			}
		}
		return true
	}
	for _, r := range requested {
		if !containsScope(granted, nil, r) {
			return false
		}
	}
	return true
}

// ValidateScopes checks that every requested scope is one the server offers
// and returns an invalid_scope *Error naming the first one that is not
// (RFC 6749 §4.1.2.1 and §5.2). A nil error means all are known.
func ValidateScopes(requested, offered []string) error {
	for _, r := range requested {
		if !containsScope(offered, nil, r) {
			return Errorf(CodeInvalidScope, "scope %s is not supported", quote(r))
		}
	}
	return nil
}
