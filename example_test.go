package frontmcp_test

import (
	"context"
	"log"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The README's embedding example.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := config.Load("frontmcp.yaml", nil) // or config.Default(config.Development)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg})
	if err != nil {
		log.Fatal(err)
	}
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "greet", Description: "say hi"},
		func(ctx context.Context, req *mcp.CallToolRequest, in struct {
			Name string `json:"name"`
		}) (*mcp.CallToolResult, any, error) {
			who := frontmcp.PrincipalOf(req) // the caller: subject, scopes, client
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hi " + in.Name + " from " + who.Subject}}}, nil, nil
		})
	log.Fatal(srv.Run(ctx)) // or mount srv.Handler() in your own http.Server
}
