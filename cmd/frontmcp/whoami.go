package main

import (
	"context"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// whoamiOut is what the whoami tool returns: who the server thinks the caller
// is. It lets an operator check authentication end to end with any MCP client.
type whoamiOut struct {
	Subject   string    `json:"subject"`
	Anonymous bool      `json:"anonymous"`
	ClientID  string    `json:"client_id,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// addWhoami registers the binary's one built-in tool.
func addWhoami(srv *frontmcp.Server) error {
	mcp.AddTool(srv.MCP(), &mcp.Tool{
		Name:        "whoami",
		Description: "Describe the authenticated caller: subject, client, scopes and token expiry.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoamiOut, error) {
		p := frontmcp.PrincipalOf(req)
		return nil, whoamiOut{Subject: p.Subject, Anonymous: p.Anonymous, ClientID: p.ClientID, Scopes: p.Scopes, ExpiresAt: p.ExpiresAt}, nil
	})
	return nil
}
