// Package federation is the upstream side of orchestrated/remote mode: users
// log in at the company's identity provider, and this server issues its own
// codes and tokens to MCP clients, never passing the provider's tokens
// through (MCP authorization specification, "Access Token Privilege
// Restriction" and "Token Passthrough").
//
// [Provider] is the OAuth 2.0 client of the provider (golang.org/x/oauth2
// with PKCE S256, state and nonce), configured by discovery — OpenID
// Connect Discovery, then RFC 8414 — and never by guessed endpoints; logins
// are proven with github.com/coreos/go-oidc/v3 (ID token signature, iss,
// aud, nonce, exp).
//
// [Broker] ties it to the authorization server and the store: the login in
// progress and the provider's tokens are sealed with package vault
// (AES-256-GCM, one subkey per purpose, bound to their record) before they
// are stored in the pending request, the code and, once the code is
// redeemed, the vault entry of the grant. Tools get a fresh upstream access
// token from [Broker.AccessToken], which refreshes it before it expires,
// once per grant across every instance sharing the store. When the provider
// refuses the refresh, or the tokens are gone, the broker revokes the grant:
// this server's access lasts only as long as the provider's.
package federation
