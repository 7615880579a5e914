package token

import "errors"

// Errors returned by [Verifier.Verify], [Signer.Sign] and the constructors.
// Returned errors wrap one of these; test with errors.Is.
var (
	// ErrMalformed: the token is not a well-formed compact JWS carrying a
	// JSON claims object, or uses an unsupported header such as "crit".
	ErrMalformed = errors.New("token: malformed")
	// ErrAlgorithm: the "alg" header is not an allowed asymmetric algorithm
	// or does not fit the key (RFC 8725 §3.1).
	ErrAlgorithm = errors.New("token: algorithm not allowed")
	// ErrUnknownKey: no verification key has the token's "kid". The caller
	// may refresh its key set and retry.
	ErrUnknownKey = errors.New("token: unknown key id")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("token: invalid signature")
	// ErrType: the "typ" header is not the required one (RFC 9068 §4,
	// RFC 8725 §3.11).
	ErrType = errors.New("token: wrong type")
	// ErrIssuer: the "iss" claim is not the expected issuer.
	ErrIssuer = errors.New("token: wrong issuer")
	// ErrAudience: the "aud" claim does not contain the expected audience.
	ErrAudience = errors.New("token: wrong audience")
	// ErrExpired: the token is past its "exp" (plus leeway).
	ErrExpired = errors.New("token: expired")
	// ErrNotYetValid: "nbf" or "iat" is in the future (beyond leeway).
	ErrNotYetValid = errors.New("token: not yet valid")
	// ErrMissingClaim: a claim required by RFC 9068 §2.2 is absent.
	ErrMissingClaim = errors.New("token: missing required claim")
	// ErrReservedClaim: Claims.Extra contains a registered claim name.
	ErrReservedClaim = errors.New("token: extra claim uses a registered name")
	// ErrUnsupportedKey: the key type, size or algorithm is not supported.
	// Symmetric keys are never supported; RSA keys need 2048 bits or more.
	ErrUnsupportedKey = errors.New("token: unsupported key")
)
