package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestWhoami(t *testing.T) {
	cfg := config.Default(config.Development)
	cfg.Auth.Mode = config.ModePublic
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := addWhoami(srv); err != nil {
		t.Fatal(err)
	}
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := res.StructuredContent.(map[string]any)
	if out["anonymous"] != true || out["subject"] == "" {
		t.Fatalf("whoami = %v, want an anonymous subject", res.StructuredContent)
	}
}
