package harness

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontmcp-go/frontmcp/bench/gobench"
	"github.com/frontmcp-go/frontmcp/bench/load"
)

// Report is the outcome of [Run].
type Report struct {
	Machine  Machine
	Settings Settings
	// Cells are the measurements in the order they ran.
	Cells []Cell
	// Crypto holds the in-process signing and verification costs, when
	// measured.
	Crypto []Crypto
	// Ceiling is the ES256 sign-bound ceiling of token issuance:
	// ServerProcs / (one full JWT signature, ES256). Zero when the crypto
	// benchmarks did not run.
	Ceiling float64
	// Targets are the targets evaluated on this run.
	Targets []Target
	// Notes explain what was not measured.
	Notes []string
}

// Machine describes where the run happened.
type Machine struct {
	GoVersion, OS, Arch, CPU string
	CPUs                     int
	// LoadAvg is the 1, 5 and 15 minute load average when the run
	// started (/proc/loadavg): other work on the machine skews the figures.
	LoadAvg string
}

// Settings are the run's parameters.
type Settings struct {
	Warmup, Duration time.Duration
	// ServerProcs is GOMAXPROCS of the servers; ClientProcs the harness's.
	ServerProcs, ClientProcs int
	// Profiled: the servers were frontmcp-pprof with a CPU profile taken
	// per cell.
	Profiled    bool
	Concurrency []int
}

// Cell is one measurement: a workload against a store at a concurrency.
type Cell struct {
	Store, Workload string
	Concurrency     int
	Result          load.Result
	// Wall is the measured window by the wall clock; ServerCPU, HelperCPU
	// (redis-server) and ClientCPU (the harness) the CPU time each used in
	// it, or -1 when unknown.
	Wall                            time.Duration
	ServerCPU, HelperCPU, ClientCPU time.Duration
}

// Crypto is the in-process cost of one operation with one algorithm, in
// nanoseconds: this project's token package, the raw go-jose operation
// (sign and serialize / parse and verify the same bytes), and for
// verification the usual go-jose/jwt path (parse, verify, decode and
// validate claims).
type Crypto struct {
	Op, Alg             string
	Token, Raw, JoseJWT float64
}

// Ratio is Token / Raw.
func (c Crypto) Ratio() float64 { return c.Token / c.Raw }

// Target is one of the targets.
type Target struct {
	Name            string
	Measured, Limit float64
	// AtMost: the target is Measured ≤ Limit; otherwise Measured ≥ Limit.
	AtMost bool
	// Unit is "×" (a ratio) or "ms".
	Unit string
	Pass bool
}

// Failed reports whether any request failed.
func (r *Report) Failed() bool {
	for _, c := range r.Cells {
		if c.Result.Failures > 0 {
			return true
		}
	}
	return false
}

func machine() Machine {
	return Machine{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPU: cpuModel(), CPUs: runtime.NumCPU(), LoadAvg: loadAvg()}
}

// cryptoAlgs are the signing algorithms the token package benchmarks.
var cryptoAlgs = []string{"ES256", "EdDSA", "RS256"}

// crypto runs the token package's benchmarks on one core and fills
// Report.Crypto and Report.Ceiling.
func (h *harness) crypto(ctx context.Context) error {
	res, err := gobench.Run(ctx, &gobench.Options{
		Go: h.o.Go, Dir: h.root, Packages: []string{"./token"},
		Bench:     "^Benchmark(Sign|Verify)(" + strings.Join(cryptoAlgs, "|") + ")$",
		Benchtime: h.o.CryptoBenchtime, Count: h.o.CryptoCount, CPU: 1,
	})
	if err != nil {
		return err
	}
	h.rep.Crypto, h.rep.Ceiling, err = cryptoRows(res, h.o.ServerProcs)
	return err
}

// cryptoRows turns benchmark results into rows and the ES256 ceiling.
func cryptoRows(res []gobench.Result, serverProcs int) ([]Crypto, float64, error) {
	var rows []Crypto
	ns := func(name string) (float64, error) {
		r, ok := gobench.Median(res, name)
		if !ok {
			return 0, fmt.Errorf("harness: benchmark %s missing from the output", name)
		}
		return r.NsPerOp, nil
	}
	for _, op := range []string{"Sign", "Verify"} {
		for _, alg := range cryptoAlgs {
			row := Crypto{Op: strings.ToLower(op), Alg: alg}
			var err error
			if row.Token, err = ns(op + alg + "/token"); err != nil {
				return nil, 0, err
			}
			if row.Raw, err = ns(op + alg + "/go-jose"); err != nil {
				return nil, 0, err
			}
			if op == "Verify" {
				if row.JoseJWT, err = ns(op + alg + "/go-jose-jwt"); err != nil {
					return nil, 0, err
				}
			}
			rows = append(rows, row)
		}
	}
	sign := rows[slices.IndexFunc(rows, func(c Crypto) bool { return c.Op == "sign" && c.Alg == "ES256" })]
	return rows, float64(serverProcs) * 1e9 / sign.Token, nil
}

// The targets.
const (
	targetAuthVsPublic  = 0.90 // authenticated tools/call ≥ 90% of auth off
	targetRefreshCeil   = 0.50 // refresh ≥ 50% of the ES256 ceiling
	targetRedisVsMemory = 0.50 // Redis refresh ≥ 50% of memory
	targetP99           = 10.0 // p99 token latency < 10 ms at c=64
	targetCrypto        = 1.20 // sign/verify ≤ 1.2× raw go-jose
	targetP99C          = 64
)

// peak returns the highest throughput of workload on store over the
// concurrencies, and whether there was a measurement.
func (r *Report) peak(store, work string) (float64, int, bool) {
	best, at, ok := 0.0, 0, false
	for _, c := range r.Cells {
		if c.Store == store && c.Workload == work && c.Result.Requests > 0 {
			if t := c.Result.Throughput(); !ok || t > best {
				best, at, ok = t, c.Concurrency, true
			}
		}
	}
	return best, at, ok
}

func (r *Report) cell(store, work string, c int) (Cell, bool) {
	for _, x := range r.Cells {
		if x.Store == store && x.Workload == work && x.Concurrency == c {
			return x, true
		}
	}
	return Cell{}, false
}

// targets evaluates every target the report has the measurements for.
func targets(r *Report) []Target {
	var out []Target
	add := func(t Target) {
		switch {
		case t.AtMost && t.Unit == "ms":
			t.Pass = t.Measured < t.Limit
		case t.AtMost:
			t.Pass = t.Measured <= t.Limit
		default:
			t.Pass = t.Measured >= t.Limit
		}
		out = append(out, t)
	}
	stores := storesOf(r)
	for _, st := range stores {
		// Against auth off at the same concurrency: the two cells were
		// measured in alternation.
		auth, ac, ok1 := r.peak(st, WorkTools)
		pub, ok2 := r.cell(st, WorkPublic, ac)
		if ok1 && ok2 && pub.Result.Throughput() > 0 {
			p := pub.Result.Throughput()
			add(Target{Name: fmt.Sprintf("%s: authenticated tools/call peak (%.0f/s, c=%d) vs auth off at c=%d (%.0f/s)", st, auth, ac, ac, p),
				Measured: auth / p, Limit: targetAuthVsPublic, Unit: "×"})
		}
	}
	if r.Ceiling > 0 {
		for _, st := range stores {
			if ref, c, ok := r.peak(st, WorkRefresh); ok {
				add(Target{Name: fmt.Sprintf("%s: refresh grants peak (%.0f/s, c=%d) vs ES256 sign-bound ceiling (%.0f/s)", st, ref, c, r.Ceiling),
					Measured: ref / r.Ceiling, Limit: targetRefreshCeil, Unit: "×"})
			}
		}
	}
	redis, rc, ok1 := r.peak(StoreRedis, WorkRefresh)
	mem, mc, ok2 := r.peak(StoreMemory, WorkRefresh)
	if ok1 && ok2 && mem > 0 {
		add(Target{Name: fmt.Sprintf("redis refresh peak (%.0f/s, c=%d) vs memory (%.0f/s, c=%d)", redis, rc, mem, mc),
			Measured: redis / mem, Limit: targetRedisVsMemory, Unit: "×"})
	}
	pc := targetP99C
	if !slices.Contains(r.Settings.Concurrency, pc) && len(r.Settings.Concurrency) > 0 {
		pc = slices.Max(r.Settings.Concurrency)
	}
	for _, st := range stores {
		for _, w := range []string{WorkRefresh, WorkCode} {
			if c, ok := r.cell(st, w, pc); ok && c.Result.Requests > 0 {
				add(Target{Name: fmt.Sprintf("%s: %s p99 latency at c=%d (ms)", st, workloadLabel(w), pc),
					Measured: ms(c.Result.P99), Limit: targetP99, AtMost: true, Unit: "ms"})
			}
		}
	}
	for _, c := range r.Crypto {
		add(Target{Name: fmt.Sprintf("%s %s: token package vs raw go-jose", c.Op, c.Alg),
			Measured: c.Ratio(), Limit: targetCrypto, AtMost: true, Unit: "×"})
	}
	return out
}

// floorLines compares each store's refresh cells with the reference
// endpoint's: peak throughput, and p99 at the highest concurrency both
// measured.
func (r *Report) floorLines() []string {
	fl, fc, ok := r.peak("", WorkFloor)
	if !ok || fl <= 0 {
		return nil
	}
	out := []string{fmt.Sprintf("reference peak %.0f grants/s (c=%d)", fl, fc)}
	if r.Ceiling > 0 {
		out[0] += fmt.Sprintf(" = %.2f× the ES256 sign-bound ceiling", fl/r.Ceiling)
	}
	for _, st := range storesOf(r) {
		ref, c, ok := r.peak(st, WorkRefresh)
		if !ok {
			continue
		}
		l := fmt.Sprintf("%s refresh_token: peak %.0f/s (c=%d) = %.2f× the reference", st, ref, c, ref/fl)
		for _, cc := range slices.Backward(r.Settings.Concurrency) {
			a, ok1 := r.cell(st, WorkRefresh, cc)
			b, ok2 := r.cell("", WorkFloor, cc)
			if ok1 && ok2 && a.Result.Requests > 0 && b.Result.Requests > 0 {
				l += fmt.Sprintf("; p99 at c=%d %s (reference %s)", cc, fmtDur(a.Result.P99), fmtDur(b.Result.P99))
				break
			}
		}
		out = append(out, l)
	}
	return out
}

func storesOf(r *Report) []string {
	var out []string
	for _, st := range Stores {
		if slices.ContainsFunc(r.Cells, func(c Cell) bool { return c.Store == st }) {
			out = append(out, st)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// workloadLabel is the table name of a workload.
func workloadLabel(w string) string {
	switch w {
	case WorkRefresh:
		return "refresh_token (rotation)"
	case WorkCode:
		return "authorization_code"
	case WorkTools:
		return "tools/call (auth)"
	case WorkPublic:
		return "tools/call (auth off)"
	case WorkFloor:
		return "reference: sign only"
	}
	return w
}

// Write prints the report: the settings, one table of every cell, the
// crypto costs and the targets with PASS or MISS.
func (r *Report) Write(w io.Writer) error {
	m, s := r.Machine, r.Settings
	fmt.Fprintf(w, "frontmcp benchmark — %s %s/%s, %d CPUs", m.GoVersion, m.OS, m.Arch, m.CPUs)
	if m.CPU != "" {
		fmt.Fprintf(w, " (%s)", m.CPU)
	}
	if m.LoadAvg != "" {
		fmt.Fprintf(w, ", load average %s at start", m.LoadAvg)
	}
	fmt.Fprintln(w)
	where := fmt.Sprintf("server GOMAXPROCS=%d (separate process)", s.ServerProcs)
	if s.Profiled {
		where = fmt.Sprintf("server GOMAXPROCS=%d (separate process, CPU profile per cell)", s.ServerProcs)
	}
	fmt.Fprintf(w, "%s, load generator GOMAXPROCS=%d; %v warm-up + %v per cell; closed loop, keep-alive HTTP/1.1 on loopback\n\n",
		where, s.ClientProcs, s.Warmup, s.Duration)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tworkload\tc\treq/s\tp50\tp99\trequests\tfailed\tserver cores\tserver µs/req\tredis cores\tclient cores\t")
	cells := slices.Clone(r.Cells)
	slices.SortStableFunc(cells, func(a, b Cell) int {
		if d := slices.Index(Stores, a.Store) - slices.Index(Stores, b.Store); d != 0 {
			return d
		}
		if d := slices.Index(Workloads, a.Workload) - slices.Index(Workloads, b.Workload); d != 0 {
			return d
		}
		return a.Concurrency - b.Concurrency
	})
	for _, c := range cells {
		res := &c.Result
		if c.Store == "" {
			c.Store = "-"
		}
		tput := fmt.Sprintf("%.0f", res.Throughput())
		if res.Exhausted {
			tput += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n",
			c.Store, workloadLabel(c.Workload), c.Concurrency, tput, fmtDur(res.P50), fmtDur(res.P99),
			res.Requests, res.Failures, cores(c.ServerCPU, c.Wall), perReq(c.ServerCPU, res.Requests, res.Window, c.Wall),
			cores(c.HelperCPU, c.Wall), cores(c.ClientCPU, c.Wall))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if slices.ContainsFunc(cells, func(c Cell) bool { return c.Result.Exhausted }) {
		fmt.Fprintln(w, "* the prepared authorization codes ran out before the window ended; req/s is over the shorter window")
	}
	for _, c := range cells {
		if c.Result.Failures > 0 {
			fmt.Fprintf(w, "FAILED %s %s c=%d: %d failed requests; first: %v\n", c.Store, c.Workload, c.Concurrency, c.Result.Failures, c.Result.FirstFailure)
		}
	}

	if len(r.Crypto) > 0 {
		fmt.Fprintf(w, "\nIn-process cost of one access token (go test -bench ./token, one core, median):\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "operation\talg\ttoken pkg\traw go-jose\tratio\tgo-jose/jwt\t")
		for _, c := range r.Crypto {
			jwt := "-"
			if c.JoseJWT > 0 {
				jwt = fmtNs(c.JoseJWT)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f×\t%s\t\n", c.Op, c.Alg, fmtNs(c.Token), fmtNs(c.Raw), c.Ratio(), jwt)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "ES256 sign-bound ceiling: %d server core(s) / %s per signed token = %.0f tokens/s\n",
			s.ServerProcs, fmtNs(float64(s.ServerProcs)*1e9/r.Ceiling), r.Ceiling)
	}

	if lines := r.floorLines(); len(lines) > 0 {
		fmt.Fprintf(w, "\nAgainst the reference endpoint (bench/floor: reads the form, signs one ES256 token, writes the answer; nothing else):\n")
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}

	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "\nTargets:\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range r.Targets {
			verdict := "MISS"
			if t.Pass {
				verdict = "PASS"
			}
			op := "≥"
			if t.AtMost {
				op = "≤"
				if t.Unit == "ms" {
					op = "<"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\n", verdict, fmtVal(t.Measured, t.Unit), op, fmtVal(t.Limit, t.Unit), t.Name)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

func fmtVal(v float64, unit string) string {
	if unit == "ms" {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.2f×", v)
}

func fmtDur(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmtNs(float64(d))
}

// fmtNs prints nanoseconds with three significant digits in µs or ms.
func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e5:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
}

// cores prints CPU time over the wall-clock window as cores used.
func cores(cpu, wall time.Duration) string {
	if cpu < 0 || wall <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", cpu.Seconds()/wall.Seconds())
}

// perReq prints server CPU per measured request. CPU is sampled over the
// wall-clock window, requests over the measured window; the ratio scales
// the request count to the wall window.
func perReq(cpu time.Duration, n int, window, wall time.Duration) string {
	if cpu < 0 || n == 0 || window <= 0 || wall <= 0 {
		return "-"
	}
	reqs := float64(n) * wall.Seconds() / window.Seconds()
	v := cpu.Seconds() / reqs * 1e6
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}
