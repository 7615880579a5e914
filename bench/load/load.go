// Package load is the closed-loop load generator of the benchmark harness:
// a fixed number of workers each send one request at a time, as fast as the
// server answers, for a warm-up and then a measured window. It reports the
// throughput and latency percentiles of the requests that both started and
// finished inside the window, so that neither the ramp-up nor the stragglers
// at the end skew the figures.
//
// A closed loop measures what a server sustains at a given concurrency; it
// is the model of MCP clients and OAuth clients, which wait for an answer
// before sending the next request.
package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrExhausted is returned by an [Op] whose worker has no work left (for
// example, a finite supply of authorization codes). The worker stops; it is
// not a failure.
var ErrExhausted = errors.New("load: no work left")

// Op sends one request for worker (0 ≤ worker < Concurrency) and waits for
// the answer. Any error other than [ErrExhausted] is a failed request and
// stops the worker: a failure usually breaks the worker's state (a refresh
// token chain, a session), and the run is failed anyway.
type Op func(ctx context.Context, worker int) error

// DefaultMaxRequests is the default bound on the requests of one worker.
const DefaultMaxRequests = 1 << 22

// Options configure [Run]. The zero value runs one worker for one second
// with no warm-up.
type Options struct {
	// Concurrency is the number of workers. Zero means 1.
	Concurrency int
	// Warmup is run before the measured window; its requests are not
	// measured (their failures still count).
	Warmup time.Duration
	// Duration is the measured window. Zero means one second.
	Duration time.Duration
	// MaxRequests bounds the requests of one worker, warm-up included, so
	// that a run is finite whatever the clock does. Zero means
	// DefaultMaxRequests.
	MaxRequests int
	// WindowStart, when set, is called when the measured window opens, and
	// WindowEnd when it closes or every worker has stopped, whichever comes
	// first; each at most once, and WindowEnd only after WindowStart. They
	// run on their own goroutine; use them to sample CPU time or to start
	// and stop a profile.
	WindowStart, WindowEnd func()
}

// Result is the outcome of [Run].
type Result struct {
	Concurrency int
	// Requests is the number of measured requests: started and finished
	// successfully inside the window.
	Requests int
	// Window is the measured window: Options.Duration, or less when every
	// worker ran out of work before its end (Exhausted).
	Window time.Duration
	// Exhausted reports that the workers ran out of work (ErrExhausted)
	// before the window ended.
	Exhausted bool
	// Failures counts failed requests, warm-up included; FirstFailure is
	// the first of them.
	Failures     int
	FirstFailure error
	// Latency percentiles of the measured requests (zero when none).
	P50, P99, Max time.Duration
}

// Throughput is the measured requests per second.
func (r *Result) Throughput() float64 {
	if r.Window <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Window.Seconds()
}

// worker is the record of one worker.
type worker struct {
	lat       []time.Duration
	lastEnd   time.Time // end of the last measured request
	exhausted bool
	failures  int
	first     error
}

// Run runs op on Concurrency workers for Warmup + Duration and returns the
// measurements. It returns an error only for invalid options or when ctx
// ends before the window does; failed requests are reported in the Result.
func Run(ctx context.Context, opts *Options, op Op) (*Result, error) {
	res, _, err := run(ctx, opts, op)
	return res, err
}

// run is Run that also returns the sorted latencies of the measured
// requests.
func run(ctx context.Context, opts *Options, op Op) (*Result, []time.Duration, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if o.Duration == 0 {
		o.Duration = time.Second
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.Concurrency < 0 || o.Duration < 0 || o.Warmup < 0 || o.MaxRequests < 0 {
		return nil, nil, fmt.Errorf("load: negative option in %+v", o)
	}
	start := time.Now()
	from := start.Add(o.Warmup)
	until := from.Add(o.Duration)
	workers := make([]worker, o.Concurrency)
	h := &hooks{start: o.WindowStart, end: o.WindowEnd}
	startTimer := time.AfterFunc(o.Warmup, h.open)
	endTimer := time.AfterFunc(o.Warmup+o.Duration, h.close)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { workers[i].run(ctx, i, op, from, until, o.MaxRequests) })
	}
	wg.Wait()
	startTimer.Stop()
	endTimer.Stop()
	h.close()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	res := &Result{Concurrency: o.Concurrency, Window: o.Duration}
	var all []time.Duration
	allExhausted := true
	var lastEnd time.Time
	for i := range workers {
		w := &workers[i]
		all = append(all, w.lat...)
		res.Failures += w.failures
		if res.FirstFailure == nil {
			res.FirstFailure = w.first
		}
		allExhausted = allExhausted && w.exhausted
		if w.lastEnd.After(lastEnd) {
			lastEnd = w.lastEnd
		}
	}
	if allExhausted {
		res.Exhausted = true
		res.Window = max(lastEnd.Sub(from), 0)
	}
	slices.Sort(all)
	res.setLatencies(all)
	return res, all, nil
}

// setLatencies sets Requests and the percentiles from the sorted
// latencies of the measured requests.
func (r *Result) setLatencies(sorted []time.Duration) {
	r.Requests = len(sorted)
	if len(sorted) > 0 {
		r.P50 = Percentile(sorted, 50)
		r.P99 = Percentile(sorted, 99)
		r.Max = sorted[len(sorted)-1]
	}
}

// AlternateOptions configure [Alternate]. Concurrency and MaxRequests are
// as in [Options] (MaxRequests bounds a worker in one slice).
type AlternateOptions struct {
	Concurrency int
	// Warmup is run for each operation in turn before the first slice; its
	// requests are not measured (their failures still count).
	Warmup time.Duration
	// Duration is the measured window of each operation: the sum of its
	// slices. Zero means one second.
	Duration time.Duration
	// Slice is the length of one turn. Zero means 500 ms.
	Slice       time.Duration
	MaxRequests int
	// SliceStart and SliceEnd, when set, are called with the operation's
	// index when one of its slices opens and closes, as
	// Options.WindowStart and WindowEnd are.
	SliceStart, SliceEnd func(op int)
}

// Alternate measures several operations in turns: after a warm-up of each,
// the workers run ops[0] for a slice, then ops[1], and so on round the list,
// until each operation has had Duration. Between two slices the workers
// finish their requests, so two operations never overlap; every worker
// keeps its index, so that per-worker state (a session) carries over. A
// worker that failed stops for the rest of its slice only: a broken
// worker fails (and is counted) again in each later slice. It returns one
// Result per operation, over all its slices.
//
// On a machine whose speed drifts from second to second, operations
// measured in alternation see the same machine, which consecutive runs of
// several seconds each do not: their ratio is the steadier figure.
func Alternate(ctx context.Context, opts *AlternateOptions, ops ...Op) ([]*Result, error) {
	var o AlternateOptions
	if opts != nil {
		o = *opts
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if o.Duration == 0 {
		o.Duration = time.Second
	}
	if o.Slice == 0 {
		o.Slice = 500 * time.Millisecond
	}
	if len(ops) == 0 || o.Duration < 0 || o.Slice < 0 || o.Warmup < 0 {
		return nil, fmt.Errorf("load: Alternate needs operations and non-negative durations (%+v)", o)
	}
	out := make([]*Result, len(ops))
	lat := make([][]time.Duration, len(ops))
	for i := range ops {
		out[i] = &Result{Concurrency: o.Concurrency}
	}
	add := func(i int, res *Result, l []time.Duration) {
		r := out[i]
		r.Window += res.Window
		r.Exhausted = r.Exhausted || res.Exhausted
		r.Failures += res.Failures
		if r.FirstFailure == nil {
			r.FirstFailure = res.FirstFailure
		}
		lat[i] = append(lat[i], l...)
	}
	if o.Warmup > 0 {
		for i, op := range ops {
			res, _, err := run(ctx, &Options{Concurrency: o.Concurrency, Duration: o.Warmup, MaxRequests: o.MaxRequests}, op)
			if err != nil {
				return nil, err
			}
			out[i].Failures, out[i].FirstFailure = res.Failures, res.FirstFailure
		}
	}
	for done := time.Duration(0); done < o.Duration; done += o.Slice {
		d := min(o.Slice, o.Duration-done)
		for i, op := range ops {
			so := &Options{Concurrency: o.Concurrency, Duration: d, MaxRequests: o.MaxRequests}
			if o.SliceStart != nil {
				so.WindowStart = func() { o.SliceStart(i) }
			}
			if o.SliceEnd != nil {
				so.WindowEnd = func() { o.SliceEnd(i) }
			}
			res, l, err := run(ctx, so, op)
			if err != nil {
				return nil, err
			}
			add(i, res, l)
		}
	}
	for i, r := range out {
		slices.Sort(lat[i])
		r.setLatencies(lat[i])
	}
	return out, nil
}

// hooks calls the window callbacks in order, at most once each.
type hooks struct {
	mu             sync.Mutex
	start, end     func()
	opened, closed bool
}

func (h *hooks) open() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.opened || h.closed {
		return
	}
	h.opened = true
	if h.start != nil {
		h.start()
	}
}

func (h *hooks) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	if h.opened && h.end != nil {
		h.end()
	}
}

func (w *worker) run(ctx context.Context, id int, op Op, from, until time.Time, maxRequests int) {
	for range maxRequests {
		t0 := time.Now()
		if !t0.Before(until) || ctx.Err() != nil {
			return
		}
		err := op(ctx, id)
		t1 := time.Now()
		switch {
		case errors.Is(err, ErrExhausted):
			w.exhausted = true
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			w.failures++
			if w.first == nil {
				w.first = fmt.Errorf("worker %d: %w", id, err)
			}
			return
		}
		if !t0.Before(from) && !t1.After(until) {
			w.lat = append(w.lat, t1.Sub(t0))
			w.lastEnd = t1
		}
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// Nearest rank: ceil(p/100 × n), computed in integers where p is whole.
	rank := int(p * float64(n) / 100)
	if float64(rank)*100 < p*float64(n) {
		rank++
	}
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}
