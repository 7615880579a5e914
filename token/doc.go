// Package token defines the token formats of the authorization server and
// the resource side: opaque secrets (authorization codes, refresh tokens,
// client secrets), which are stored only as SHA-256 hashes, and JWT access
// tokens in the RFC 9068 profile, signed and verified with asymmetric keys
// through go-jose.
//
// The package exists so that token issuance and bearer verification, the two
// hot paths of the server, are implemented once, with the security rules of
// RFC 8725 (explicit typing, algorithm bound to the key, no key material
// taken from the token) and with the costs measured by its benchmarks:
// [Verifier] looks keys up in a prebuilt map by kid instead of scanning a
// key set, and claims are decoded with encoding/json in one pass.
package token
