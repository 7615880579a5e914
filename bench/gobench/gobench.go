// Package gobench runs Go benchmarks with `go test -bench` and reads their
// results, so that the harness can print in-process costs (signing and
// verifying one token) next to the throughput it measures over HTTP.
//
// It reads the standard benchmark output format
// (https://go.dev/design/14313-benchmark-format): a result line is the
// benchmark name, the iteration count, and value-unit pairs.
package gobench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// ErrNoResults is returned when the output holds no benchmark result.
var ErrNoResults = errors.New("gobench: no benchmark results")

// Result is one benchmark result line.
type Result struct {
	// Name without the "Benchmark" prefix and without the -GOMAXPROCS
	// suffix, sub-benchmarks included: "SignES256/token".
	Name string
	// Procs is the GOMAXPROCS suffix (1 when absent).
	Procs int
	N     int64
	// NsPerOp, BytesPerOp and AllocsPerOp are the standard metrics; the
	// memory ones are -1 when not reported.
	NsPerOp     float64
	BytesPerOp  float64
	AllocsPerOp float64
}

// Parse reads benchmark output and returns its result lines in order. Lines
// that are not results (package headers, PASS, ok, logs) are skipped.
func Parse(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if res, ok := parseLine(sc.Text()); ok {
			out = append(out, res)
		}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	if len(out) == 0 {
		return nil, ErrNoResults
	}
	return out, nil
}

func parseLine(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") {
		return Result{}, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		return Result{}, false
	}
	res := Result{Name: name, Procs: 1, NsPerOp: -1, BytesPerOp: -1, AllocsPerOp: -1}
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if p, err := strconv.Atoi(name[i+1:]); err == nil && p > 0 {
			res.Name, res.Procs = name[:i], p
		}
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n <= 0 {
		return Result{}, false
	}
	res.N = n
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || v < 0 {
			return Result{}, false
		}
		switch f[i+1] {
		case "ns/op":
			res.NsPerOp = v
		case "B/op":
			res.BytesPerOp = v
		case "allocs/op":
			res.AllocsPerOp = v
		}
	}
	if res.NsPerOp < 0 {
		return Result{}, false
	}
	return res, true
}

// Median returns the median ns/op of the results named name (over -count
// repetitions), and false when there is none.
func Median(results []Result, name string) (Result, bool) {
	var same []Result
	for _, r := range results {
		if r.Name == name {
			same = append(same, r)
		}
	}
	if len(same) == 0 {
		return Result{}, false
	}
	slices.SortFunc(same, func(a, b Result) int {
		switch {
		case a.NsPerOp < b.NsPerOp:
			return -1
		case a.NsPerOp > b.NsPerOp:
			return 1
		}
		return 0
	})
	return same[(len(same)-1)/2], true
}

// Options configure [Run].
type Options struct {
	// Go is the go command. Empty means "go" from PATH.
	Go string
	// Dir is the directory to run in (the module root).
	Dir string
	// Packages to benchmark, e.g. "./token".
	Packages []string
	// Bench is the -bench regular expression.
	Bench string
	// Benchtime is the -benchtime value ("1s", "100x"); empty means the
	// go test default.
	Benchtime string
	// Count is -count; zero means 1.
	Count int
	// CPU is the -cpu value (GOMAXPROCS for the benchmarks); zero means
	// the go test default.
	CPU int
	// Env is added to the environment of the go command.
	Env []string
}

// Run runs `go test -run=^$ -bench` and returns the parsed results. A
// failing go test is an error carrying the end of its output.
func Run(ctx context.Context, o *Options) ([]Result, error) {
	goCmd := o.Go
	if goCmd == "" {
		goCmd = "go"
	}
	args := []string{"test", "-run=^$", "-bench=" + o.Bench, "-benchmem"}
	if o.Benchtime != "" {
		args = append(args, "-benchtime="+o.Benchtime)
	}
	args = append(args, "-count="+strconv.Itoa(max(o.Count, 1)))
	if o.CPU > 0 {
		args = append(args, "-cpu="+strconv.Itoa(o.CPU))
	}
	args = append(args, o.Packages...)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = o.Dir
	cmd.Env = append(cmd.Environ(), o.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("gobench: %s: %w\n%s%s", strings.Join(cmd.Args, " "), err, tail(stdout.String()), tail(stderr.String()))
	}
	return Parse(&stdout)
}

func tail(s string) string {
	const n = 2000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
