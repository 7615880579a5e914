package grant

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE (RFC 7636) rules. Only the S256 method is accepted: OAuth 2.1 §7.5.2
// and the MCP authorization spec require it, and "plain" offers no
// protection when the authorization request leaks.

// MethodS256 is the only code_challenge_method the server accepts.
const MethodS256 = "S256"

// s256Len is the length of BASE64URL(SHA256(verifier)) without padding.
const s256Len = 43

// ValidateCodeChallenge checks the code_challenge and code_challenge_method
// parameters of an authorization request (RFC 7636 §4.3). The method must be
// exactly "S256": an absent method (which RFC 7636 §4.3 defaults to
// "plain"), "plain" or anything else is an invalid_request, as is a missing
// challenge. An S256 challenge is BASE64URL(SHA256(verifier)) (RFC 7636
// §4.2): exactly 43 characters of the base64url alphabet, canonically
// encoded.
func ValidateCodeChallenge(challenge, method string) error {
	if challenge == "" {
		return Errorf(CodeInvalidRequest, "code_challenge is required (PKCE with S256)")
	}
	switch method {
	case MethodS256:
	case "":
		return Errorf(CodeInvalidRequest, "code_challenge_method is required and must be S256")
	case "plain":
		return Errorf(CodeInvalidRequest, "code_challenge_method plain is not allowed; use S256")
	default:
		return Errorf(CodeInvalidRequest, "code_challenge_method %s is not supported; use S256", quote(method))
	}
	if !validChallengeSyntax(challenge) {
		return Errorf(CodeInvalidRequest, "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]")
	}
	if len(challenge) != s256Len {
		return Errorf(CodeInvalidRequest, "code_challenge must be exactly 43 base64url characters for S256")
	}
	var sum [sha256.Size]byte
	n, err := base64.RawURLEncoding.Strict().Decode(sum[:], []byte(challenge))
	if err != nil || n != sha256.Size {
		return Errorf(CodeInvalidRequest, "code_challenge is not a base64url-encoded SHA-256 value")
	}
	return nil
}

// validChallengeSyntax applies the generic code_challenge rule of
// RFC 7636 §4.2: 43 to 128 characters of [A-Za-z0-9-._~].
func validChallengeSyntax(c string) bool {
	return ValidCodeVerifier(c)
}

// ValidCodeVerifier reports whether v is a syntactically valid
// code_verifier: 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1).
func ValidCodeVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isUnreserved(v[i]) {
			return false
		}
	}
	return true
}

// VerifyPKCE reports whether verifier matches an S256 challenge
// (RFC 7636 §4.6): BASE64URL(SHA256(ASCII(verifier))) == challenge, compared
// in constant time. A verifier that is not valid per RFC 7636 §4.1 never
// matches.
func VerifyPKCE(verifier, challenge string) bool {
	if !ValidCodeVerifier(verifier) || len(challenge) != s256Len {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	var enc [s256Len]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	return subtle.ConstantTimeCompare(enc[:], []byte(challenge)) == 1
}

// isUnreserved reports whether c is an RFC 3986 §2.3 unreserved character,
// the alphabet of PKCE verifiers.
func isUnreserved(c byte) bool {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
