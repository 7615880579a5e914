package frontmcp

import (
	"context"
	"errors"

	"github.com/frontmcp-go/frontmcp/federation"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Errors of UpstreamToken; test with errors.Is.
var (
	// ErrReauthorizationRequired: the upstream identity provider's tokens
	// for the caller are gone or the provider refused to refresh them. The
	// caller's grant has been revoked: the client's next request gets 401,
	// and it runs the authorization flow anew, which signs in at the
	// provider again. A tool returns it, or a message saying so, to the
	// client.
	ErrReauthorizationRequired = federation.ErrReauthorizationRequired
	// ErrVaultKey: the caller's upstream tokens were sealed with a vault
	// key that is not configured (auth.vault.key, auth.vault.previousKeys).
	// The stored entry is left untouched; configuring the key fixes it.
	ErrVaultKey = federation.ErrVaultKey
	// ErrNoUpstream: UpstreamToken was called outside an MCP request of a
	// server in orchestrated/remote mode.
	ErrNoUpstream = errors.New("frontmcp: no upstream identity provider here: UpstreamToken works in MCP request handlers of a server with auth.type remote")
)

// upstreamKey is the context key of the current request's upstreamCall.
type upstreamKey struct{}

// upstreamCall is what a request handler's context carries in remote mode.
type upstreamCall struct {
	b   *federation.Broker
	req mcp.Request
}

// UpstreamToken returns an access token of the upstream identity provider
// for the user making the current MCP request, for a tool to call upstream
// APIs on the user's behalf (remote mode). Pass the context the tool, resource
// or prompt handler received. The token is fresh: it is refreshed with the
// provider's refresh token before it expires (auth.refresh.skewSeconds), once
// per grant across all instances.
//
// The token must never be returned to the MCP client or put in a tool
// result: the client holds only this server's tokens (MCP authorization
// specification, "Token Passthrough").
//
// While the provider cannot be reached, a token that has not expired yet is
// returned. Errors wrap ErrReauthorizationRequired (no upstream tokens for
// this grant, or the provider refused to refresh them; the grant is then
// revoked), ErrVaultKey (sealed with a key that is not configured),
// ErrNoUpstream, or a failure to reach the provider (with an expired token)
// or the store.
func UpstreamToken(ctx context.Context) (string, error) {
	call, ok := ctx.Value(upstreamKey{}).(*upstreamCall)
	if !ok || call.b == nil {
		return "", ErrNoUpstream
	}
	p := PrincipalOf(call.req)
	if p.Anonymous {
		return "", ErrReauthorizationRequired
	}
	return call.b.AccessToken(ctx, p.GrantID)
}
