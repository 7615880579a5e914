// Package e2e holds end-to-end tests that drive a real frontmcp server from
// the outside, the way MCP clients do: a server in orchestrated/local mode on
// a loopback port, the embedded OAuth 2.1 authorization server's HTML login
// and consent pages submitted by a scripted user agent, and real OAuth and
// MCP clients (golang.org/x/oauth2 and the go-sdk client with its OAuth
// handler) doing discovery, dynamic client registration (RFC 7591), the
// authorization code flow with PKCE (RFC 7636) and resource indicators
// (RFC 8707), refresh token rotation, and MCP calls with the resulting
// bearer tokens.
//
// The package exists so that the pieces tested in isolation elsewhere are
// also shown to work together over HTTP with clients nobody here wrote. It
// contains no code besides its tests.
package e2e
