package frontmcp

import (
	"github.com/frontmcp-go/frontmcp/resource"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Principal is who is making an MCP request, as a tool handler sees it.
type Principal = resource.Principal

// PrincipalOf returns the principal behind a server request (pass the request
// a tool, resource or prompt handler receives). It never returns nil: a request
// without verified credentials yields an anonymous principal bound to its session.
func PrincipalOf(req mcp.Request) *Principal { return resource.PrincipalOf(req) }
