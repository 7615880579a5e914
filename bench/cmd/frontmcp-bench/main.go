// Command frontmcp-bench measures frontmcp servers on loopback: token
// endpoint throughput (refresh_token with rotation, authorization_code) and
// MCP tools/call with and without authentication, for each token store, and
// prints one table with the targets of the performance issue.
//
//	frontmcp-bench [flags]          # make bench: 1 s warm-up + 5 s per cell
//	frontmcp-bench -smoke           # make bench-smoke: CI check, ~2.5 s of load
//
// It must run inside the frontmcp checkout (it builds ./cmd/frontmcp and
// runs go test -bench ./token). The exit status is 1 when any request
// failed or the harness could not run, 2 on bad flags; missed targets do
// not change it. See docs/benchmarks.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/frontmcp-go/frontmcp/bench/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("frontmcp-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		smoke       = fs.Bool("smoke", false, "CI smoke run: memory store and the reference endpoint, concurrency 1 and 4, ~2.5 s of load, tiny crypto benchmarks")
		duration    = fs.Duration("duration", 5*time.Second, "measured window per cell")
		warmup      = fs.Duration("warmup", time.Second, "warm-up per cell (not measured)")
		conc        = fs.String("c", "1,16,64", "concurrency levels, comma-separated")
		stores      = fs.String("stores", "", "stores, comma-separated (memory,file,redis); empty: all available")
		workloads   = fs.String("workloads", "", "workloads, comma-separated ("+strings.Join(harness.Workloads, ",")+"); empty: all")
		serverProcs = fs.Int("server-procs", 1, "GOMAXPROCS of each server process")
		clientProcs = fs.Int("client-procs", 1, "GOMAXPROCS of the load generator (this process)")
		crypto      = fs.Bool("crypto", true, "run the token package's sign/verify benchmarks")
		benchtime   = fs.String("crypto-benchtime", "500ms", "-benchtime of the crypto benchmarks")
		count       = fs.Int("crypto-count", 5, "-count of the crypto benchmarks (the median is used)")
		maxCodes    = fs.Int("max-codes", 50000, "at most this many authorization codes per cell")
		serverBin   = fs.String("server-bin", "", "frontmcp binary to run (default: build ./cmd/frontmcp)")
		redisBin    = fs.String("redis-server", "", "redis-server binary (default: from PATH)")
		cpuprofile  = fs.String("cpuprofile", "", "run frontmcp-pprof and write a CPU profile of the server per cell into this directory")
		keep        = fs.Bool("keep", false, "keep the temporary directory (configurations, logs, stores)")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "frontmcp-bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	opts := &harness.Options{
		Warmup: *warmup, Duration: *duration, ServerProcs: *serverProcs, MaxCodes: *maxCodes,
		Crypto: *crypto, CryptoBenchtime: *benchtime, CryptoCount: *count,
		ServerBinary: *serverBin, RedisServer: *redisBin, CPUProfileDir: *cpuprofile,
		KeepTemp: *keep, Progress: stderr,
	}
	var err error
	if opts.Concurrency, err = parseInts(*conc); err != nil {
		fmt.Fprintf(stderr, "frontmcp-bench: -c: %v\n", err)
		return 2
	}
	opts.Stores, opts.Workloads = parseList(*stores), parseList(*workloads)
	if *smoke {
		// Ten cells of 50 ms warm-up + 200 ms: two and a half seconds of load.
		opts.Stores = []string{harness.StoreMemory}
		opts.Concurrency = []int{1, 4}
		opts.Warmup, opts.Duration = 50*time.Millisecond, 200*time.Millisecond
		opts.MaxCodes = 1000
		opts.CryptoBenchtime, opts.CryptoCount = "20x", 1
	}
	runtime.GOMAXPROCS(*clientProcs)

	rep, err := harness.Run(ctx, opts)
	if rep != nil {
		if werr := rep.Write(stdout); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "frontmcp-bench: %v\n", err)
		return 1
	}
	if rep.Failed() {
		fmt.Fprintln(stderr, "frontmcp-bench: some requests failed")
		return 1
	}
	return 0
}

func parseList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range parseList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no concurrency level")
	}
	return out, nil
}
