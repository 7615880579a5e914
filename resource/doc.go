// Package resource is the resource-server side of frontmcp: it decides who may
// call the MCP endpoint, in every authenticated mode.
//
// It exists because the go-sdk's own bearer middleware (auth.RequireBearerToken)
// is the only way to hand a verified identity to tool handlers, yet it does not
// speak the challenge protocol MCP clients depend on: it emits neither
// error="invalid_token" nor error="insufficient_scope" (RFC 6750 §3), and it
// cannot require scopes per tool. [Middleware] does the verification and every
// challenge itself, then passes the verified [Principal] through an inner
// RequireBearerToken so that go-sdk binds sessions to the principal's subject
// and tool handlers see it through [PrincipalOf]. Before the request reaches
// go-sdk, the Authorization and Cookie headers are removed, so no tool can read
// (and pass on) the caller's raw credentials.
//
// The package implements:
//
//   - bearer tokens in the Authorization header only (RFC 6750 §2.1); tokens
//     in the query string or a form body are refused (RFC 6750 §2.2 and §2.3
//     are not supported, as OAuth 2.1 §5.2 recommends);
//   - the WWW-Authenticate challenges of RFC 6750 §3 with the
//     resource_metadata parameter of RFC 9728 §5.1;
//   - per-tool scopes with the step-up challenge of the MCP authorization
//     specification (403 insufficient_scope naming the scopes to request);
//   - the protected resource metadata document of RFC 9728 §2-§3.
//
// Token verification is a dependency (a [Verifier]) so that each mode supplies
// its own: [LocalVerifier] checks the JWT access tokens of the embedded
// authorization server (RFC 9068) and, optionally, that neither the token nor
// the grant behind it was revoked, against an in-memory copy of the store's
// revocation log, so revocation takes effect before the token expires without
// a store read per request.
package resource
