package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/frontmcp-go/frontmcp/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Serve(ctx, os.Args[1:], &cli.Options{
		ServerOptions: serverOptions(),
		// Public by default, so the conformance suite (which sends no token)
		// can connect; a --config file can still choose another mode.
		Defaults: func(c *config.Config) { c.Auth.Mode = config.ModePublic },
		Setup: func(srv *frontmcp.Server) error {
			register(srv.MCP())
			return nil
		},
	})
	stop()
	os.Exit(code)
}
