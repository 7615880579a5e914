package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// SecretLen is the length of a secret from [NewSecret]: 32 bytes in
// unpadded base64url.
const SecretLen = 43

// NewSecret returns a new opaque secret: 32 bytes (256 bits) from
// crypto/rand, base64url-encoded without padding (RFC 4648 §5), so it is
// safe in URLs, form bodies and HTTP Basic credentials without escaping.
// Use it for authorization codes, refresh token secrets and client secrets.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewID returns a random identifier of 16 bytes (128 bits) in unpadded
// base64url (22 characters), for grant IDs, "jti" values and client IDs.
// It never contains '.', and never starts with '-', so that an operator can
// pass it to a command (frontmcp clients remove ID) without it reading as a
// flag.
func NewID() string {
	var b [16]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+).
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id
		}
	}
}

// Hash returns the storage form of a secret: the SHA-256 digest, as 64
// lowercase hexadecimal characters. Secrets are high-entropy (see
// [NewSecret]), so a fast unsalted hash is sufficient; human passwords need
// a slow hash instead.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Equal reports whether a and b are equal, in time that depends only on
// their lengths, not on their contents.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// CheckSecret reports whether secret hashes to storedHash (a value from
// [Hash]), comparing in constant time.
func CheckSecret(secret, storedHash string) bool {
	return Equal(Hash(secret), storedHash)
}

// maxGrantIDLen bounds the grant ID part of a refresh token.
const maxGrantIDLen = 128

// ValidGrantID reports whether id can be the grant ID of a refresh token:
// 1 to 128 characters of the base64url alphabet [A-Za-z0-9-_].
func ValidGrantID(id string) bool {
	return len(id) > 0 && len(id) <= maxGrantIDLen && isB64URL(id)
}

// NewRefreshToken returns a new refresh token "<grantID>.<secret>" and the
// hash of its secret part, which is what the store keeps under grantID. The
// grant ID makes lookup a single key; the secret is a [NewSecret].
//
// grantID must satisfy [ValidGrantID] (for example a [NewID]); otherwise
// NewRefreshToken panics, as that is a programming error.
func NewRefreshToken(grantID string) (raw string, hash string) {
	if !ValidGrantID(grantID) {
		panic("token: NewRefreshToken: invalid grant ID")
	}
	secret, err := NewSecret()
	if err != nil {
		panic("token: NewRefreshToken: " + err.Error())
	}
	return grantID + "." + secret, Hash(secret)
}

// SplitRefreshToken splits a refresh token made by [NewRefreshToken] into
// its grant ID and secret. It reports false if raw does not have that shape:
// a valid grant ID, one '.', and a 43-character base64url secret. The caller
// compares Hash(secret) with the stored hash.
func SplitRefreshToken(raw string) (grantID, secret string, ok bool) {
	grantID, secret, found := strings.Cut(raw, ".")
	if !found || !ValidGrantID(grantID) || len(secret) != SecretLen || !isB64URL(secret) {
		return "", "", false
	}
	return grantID, secret, true
}

// isB64URL reports whether s consists of base64url alphabet characters
// (RFC 4648 §5) only.
func isB64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
