// Package grant holds the pure rules of the embedded OAuth 2.1 authorization
// server: the checks that decide whether an authorization or token request is
// acceptable, written as small functions with no storage and no HTTP writes.
//
// The package exists so that the security-relevant decisions (PKCE S256,
// exact redirect URI matching with the RFC 8252 loopback port exception,
// RFC 8707 resource binding, scope grammar and narrowing, token endpoint body
// and client credential parsing, bearer header parsing) live in one place
// that is table-tested and fuzzed independently of the HTTP handlers that
// apply them.
//
// Every failure is reported as an *Error, the protocol error value of
// RFC 6749 §4.1.2.1 and §5.2 (plus the codes of RFC 6750, RFC 7591 and
// RFC 8707). Handlers render it once, choosing the status with
// [Error.HTTPStatus]. Sentinel values such as [ErrInvalidRequest] match any
// *Error with the same code under errors.Is.
package grant
