package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Serve(ctx, os.Args[1:], &cli.Options{
		ServerOptions: serverOptions(),
		Setup: func(srv *frontmcp.Server) error {
			register(srv.MCP())
			return nil
		},
	})
	stop()
	os.Exit(code)
}
