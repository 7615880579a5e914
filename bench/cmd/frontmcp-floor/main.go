// Command frontmcp-floor serves the benchmark harness's reference token
// endpoint (package bench/floor) on a loopback port: a refresh_token grant
// that only reads the form, signs one ES256 access token and writes the
// answer. It runs with the HTTP server settings and the heap floor of
// `frontmcp serve`, so that the two differ only in what the token endpoint
// does.
//
//	frontmcp-floor --port 8080
//
// It exists for `frontmcp-bench` only: it accepts any refresh token.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/frontmcp-go/frontmcp/bench/floor"
	"github.com/frontmcp-go/frontmcp/internal/gctune"
	"github.com/frontmcp-go/frontmcp/token"
	jose "github.com/go-jose/go-jose/v4"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], nil); err != nil {
		fmt.Fprintln(os.Stderr, "frontmcp-floor:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; ready, when set, is called with the base URL
// once the server listens.
func run(ctx context.Context, args []string, ready func(base string)) error {
	fs := flag.NewFlagSet("frontmcp-floor", flag.ContinueOnError)
	port := fs.Int("port", 0, "loopback port to listen on (0: any free port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	signer, err := token.NewSigner(jose.JSONWebKey{Key: key}, nil)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	defer gctune.Start(gctune.DefaultFloor)()
	base := "http://" + ln.Addr().String()
	hs := &http.Server{ // the settings of frontmcp serve
		Handler: floor.Handler(floor.Options{
			Signer: signer, Issuer: base, Audience: base + "/mcp", Subject: "bench", Scope: "mcp:tools",
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "frontmcp-floor listening on %s\n", ln.Addr())
	if ready != nil {
		ready(base)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
