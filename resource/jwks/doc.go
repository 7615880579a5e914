// Package jwks keeps the public signing keys of an external identity provider
// for a resource server that verifies the provider's JWT access tokens
// (frontmcp's transparent mode).
//
// It exists because fetching a JSON Web Key Set (RFC 7517 §5) is where a
// resource server most often fails in production: a provider that rotates its
// key is ignored for hours, a provider that is briefly unreachable takes the
// whole service down, or an attacker who sends tokens with made-up key ids
// turns every request into a fetch. A [Set] handles those cases:
//
//   - discovery of jwks_uri from the provider's metadata: OpenID Connect
//     Discovery 1.0 §4 ({issuer}/.well-known/openid-configuration) and RFC 8414
//     §3 (/.well-known/oauth-authorization-server, path-inserted for an issuer
//     with a path), checking that the document names the same issuer (RFC 8414
//     §3.3); or a configured jwks_uri;
//   - a cache whose lifetime comes from the response's Cache-Control max-age
//     (RFC 9111 §5.2.2.1), clamped to configured bounds;
//   - a token naming an unknown key id triggers one refetch, shared by every
//     request waiting for it (single flight) and rate-limited: at most one
//     successful fetch per minimum interval, whatever tokens arrive;
//   - when a fetch fails, the last good keys keep being used up to a stale
//     limit, after which verification fails closed; failed fetches are retried
//     with exponential backoff and jitter, never in a loop inside a request;
//   - every fetch has a timeout, a body-size cap, follows no redirect to
//     another host, and can be required to use https;
//   - keys are filtered as RFC 7517 §5 and RFC 8725 §3 ask: symmetric keys,
//     keys carrying private material, encryption keys, RSA keys under 2048
//     bits and key ids used twice are left out; the usable keys go into a
//     [token.Verifier], whose key map is built once per fetch.
//
// Every failed fetch is logged (the URL and the error; there are no tokens
// here to leak) and counted; see [Set.Stats] and [TotalStats].
//
// [Static] serves a fixed key set (configured inline) through the same
// methods.
package jwks
