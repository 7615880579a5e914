// Command frontmcp runs an MCP server with built-in OAuth 2.1 authentication.
//
//	frontmcp serve [--config FILE] [--host HOST] [--port N]
//	frontmcp config check [FILE]
//	frontmcp version
//
// The server has one built-in tool, whoami, which describes the caller, so an
// operator can check authentication end to end with any MCP client. See
// package cli for the exit codes and package config for the options.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/frontmcp-go/frontmcp/internal/gctune"
	"github.com/frontmcp-go/frontmcp/internal/whoami"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		// A heap floor for the long-running server: see docs/deployment.md,
		// "Memory and garbage collection". The other commands are short-lived.
		gctune.Start(gctune.DefaultFloor)
	}
	code := cli.Main(ctx, os.Args[1:], &cli.Options{Setup: whoami.Add})
	stop()
	os.Exit(code)
}
