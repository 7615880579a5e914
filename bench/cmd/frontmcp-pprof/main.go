// Command frontmcp-pprof is the frontmcp binary (the same command line and
// the same built-in whoami tool) with Go's profiling endpoints
// (net/http/pprof) on a second, loopback-only listener, so that the
// benchmark harness can take a CPU profile of a server under load without
// the load generator in it.
//
//	BENCH_PPROF_ADDR=127.0.0.1:6060 frontmcp-pprof serve --config FILE
//
// It exists for `frontmcp-bench -cpuprofile DIR` only; production servers
// run cmd/frontmcp, which has no profiling endpoint.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if addr := os.Getenv("BENCH_PPROF_ADDR"); addr != "" {
		if err := servePprof(addr); err != nil {
			fmt.Fprintln(os.Stderr, "frontmcp-pprof:", err)
			os.Exit(cli.ExitUsage)
		}
	}
	code := cli.Main(ctx, os.Args[1:], &cli.Options{Setup: addWhoami})
	stop()
	os.Exit(code)
}

// servePprof serves the profiling endpoints on addr, which must be a
// loopback address.
func servePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("BENCH_PPROF_ADDR: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("BENCH_PPROF_ADDR %s: must be a loopback IP address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	return nil
}

// whoamiOut is the result of the whoami tool, as in cmd/frontmcp.
type whoamiOut struct {
	Subject   string    `json:"subject"`
	Anonymous bool      `json:"anonymous"`
	ClientID  string    `json:"client_id,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// addWhoami registers the whoami tool exactly as cmd/frontmcp does.
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
