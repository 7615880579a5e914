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

	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/frontmcp-go/frontmcp/internal/gctune"
	"github.com/frontmcp-go/frontmcp/internal/whoami"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		gctune.Start(gctune.DefaultFloor) // as cmd/frontmcp, so profiles match it
	}
	if addr := os.Getenv("BENCH_PPROF_ADDR"); addr != "" {
		if err := servePprof(addr); err != nil {
			fmt.Fprintln(os.Stderr, "frontmcp-pprof:", err)
			os.Exit(cli.ExitUsage)
		}
	}
	code := cli.Main(ctx, os.Args[1:], &cli.Options{Setup: whoami.Add})
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
