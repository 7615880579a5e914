package resource

import (
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Principal is who is making an MCP request, as a tool handler sees it.
type Principal struct {
	// Subject is a stable identifier of the user (the token's "sub").
	// Anonymous principals get "anonymous:" followed by their MCP session id.
	Subject string
	// Anonymous is true when the request carried no verified credentials
	// (public mode, or allowDefaultPublic without a token).
	Anonymous bool
	// ClientID is the OAuth client the token was issued to, if any.
	ClientID string
	// Scopes are the scopes granted to the token.
	Scopes []string
	// ExpiresAt is when the token expires (zero for anonymous principals).
	ExpiresAt time.Time
	// GrantID identifies the authorization grant behind the token, if any.
	GrantID string
	// TokenID is the token's own identifier (the JWT "jti", RFC 7519
	// §4.1.7), if any: what revoking this one access token names.
	TokenID string
	// Claims are further claims carried by the token.
	Claims map[string]any
}

// principalKey is the auth.TokenInfo.Extra key under which verified requests
// carry their *Principal.
const principalKey = "frontmcp.principal"

// TokenInfo returns the go-sdk TokenInfo that carries p into MCP handlers.
// UserID is the subject, so go-sdk binds each session to its user.
func (p *Principal) TokenInfo() *auth.TokenInfo {
	return &auth.TokenInfo{
		Scopes:     p.Scopes,
		Expiration: p.ExpiresAt,
		UserID:     p.Subject,
		Extra:      map[string]any{principalKey: p},
	}
}

// PrincipalOf returns the principal behind a server request (pass the request
// a tool, resource or prompt handler receives). It never returns nil: a request
// without verified credentials yields an anonymous principal bound to its session.
func PrincipalOf(req mcp.Request) *Principal {
	if extra := req.GetExtra(); extra != nil && extra.TokenInfo != nil {
		if p, ok := extra.TokenInfo.Extra[principalKey].(*Principal); ok {
			return p
		}
	}
	subject := "anonymous"
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok && ss != nil && ss.ID() != "" {
		subject += ":" + ss.ID()
	}
	return &Principal{Subject: subject, Anonymous: true}
}
