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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], &cli.Options{Setup: addWhoami})
	stop()
	os.Exit(code)
}
