// Package gctune gives the frontmcp server binary a heap floor: the garbage
// collector's goal is at least a fixed number of bytes while the live heap is
// small, and the stock GOGC=100 behaviour once it is large.
//
// Why: a server's live heap is small (1–3 MB) but it allocates ~200 KiB per
// MCP request (go-sdk v1.8.0 allocates a 32 KiB buffer per JSON unmarshal).
// With the runtime's defaults (GOGC=100, a 4 MiB minimum heap) that is a
// collection every few milliseconds under load, about a third of the CPU
// (profiles in docs/benchmarks.md); GOGC=400 raised authenticated tools/call
// throughput by 50%. A fixed GOGC=400 would let a server with a large live
// heap (a memory store with many grants) grow to 5x it, hence a floor that
// only matters while the live heap is small.
//
// How: after every collection, read the live heap (runtime/metrics
// "/gc/heap/live:bytes") and set the GOGC percent (debug.SetGCPercent) that
// puts the next goal at the floor. GOMEMLIMIT keeps working on top: the
// runtime takes the smaller of the GOGC goal and the memory-limit goal
// (heapGoalInternal in runtime/mgcpacer.go; https://go.dev/doc/gc-guide),
// whatever the percent.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// DefaultFloor is the heap floor of `frontmcp serve`: 64 MiB. At ~200 KiB
// allocated per MCP request and a live heap of 1–3 MB, it means a collection
// every ~300 requests instead of every ~10 (the default goal is 4 MiB), for
// at most 64 MiB of heap: little for a server host or container, and an
// operator who cannot spare it sets GOGC (or GOMEMLIMIT).
const DefaultFloor = 64 << 20

// heapMinimum is the runtime's minimum heap goal at GOGC=100
// (defaultHeapMinimum in runtime/mgcpacer.go); it scales with GOGC.
const heapMinimum = 4 << 20

// Percent returns the GOGC percent that puts the GC goal at floor for a live
// heap of live bytes and roots bytes of goroutine stacks and globals to scan,
// and never below 100.
//
// The runtime's goal is live + (live+roots)*GOGC/100, but at least its
// minimum heap, 4 MiB*GOGC/100 (runtime/mgcpacer.go: heapGoalInternal,
// commit). So the percent is (floor-live)*100/(live+roots), capped at
// floor*100/(4 MiB) so that the scaled minimum does not overshoot the floor;
// nothing to scan gives the cap. Once the live heap and its roots are about
// half the floor this is 100, the runtime's default, and the goal is the
// stock one.
func Percent(live, roots, floor uint64) int {
	p := floor * 100 / heapMinimum // the cap
	switch {
	case live >= floor:
		p = 100
	case live+roots > 0:
		p = min(p, (floor-live)*100/(live+roots))
	}
	return int(max(p, 100))
}

// adjusted, when set (by tests, before Start), is called after every
// re-evaluation with the live heap and roots read and the percent then in
// force.
var adjusted func(live, roots uint64, percent int)

// Start sets the GC percent for floor now and after every collection, until
// stop is called; stop restores the percent there was before Start and may
// be called more than once. Start is meant to be called once, at process
// start.
//
// If the GOGC environment variable is set, to any value ("off", or even
// empty, which the runtime reads as 100), the operator chose: Start does
// nothing and stop is a no-op.
func Start(floor uint64) (stop func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	t := &tuner{
		floor:  floor,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}},
		hook:   adjusted,
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	live, roots := t.read()
	t.percent = Percent(live, roots, floor)
	t.orig = debug.SetGCPercent(t.percent)
	t.arm()
	return t.stop
}

// tuner re-evaluates the percent after each collection: a sentinel object
// with a cleanup becomes unreachable at once, so the next collection runs
// the cleanup, which re-arms with a new sentinel.
type tuner struct {
	floor  uint64
	sample []metrics.Sample // allocated once; read on every collection
	hook   func(live, roots uint64, percent int)

	mu      sync.Mutex
	stopped bool
	orig    int // the percent before Start
	percent int // the percent set last
}

// sentinel is 16 bytes: smaller pointer-free objects may share an allocation
// with live ones (the tiny allocator), and then their cleanup never runs
// (see runtime.AddCleanup).
type sentinel [16]byte

func (t *tuner) arm() {
	runtime.AddCleanup(new(sentinel), (*tuner).onGC, t)
}

// read returns the live heap and the roots (stacks and globals) the last
// collection scanned.
func (t *tuner) read() (live, roots uint64) {
	metrics.Read(t.sample)
	v := func(i int) uint64 {
		if t.sample[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return t.sample[i].Value.Uint64()
	}
	return v(0), v(1) + v(2)
}

// onGC runs after a collection (on a runtime cleanup goroutine).
func (t *tuner) onGC() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	live, roots := t.read()
	if p := Percent(live, roots, t.floor); p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
	t.arm() // before the hook, so a test's next collection finds a sentinel
	percent, hook := t.percent, t.hook
	t.mu.Unlock()
	if hook != nil {
		hook(live, roots, percent)
	}
}

func (t *tuner) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.stopped = true
		debug.SetGCPercent(t.orig)
	}
}
