package gctune

// The tests in this package change the process's GC percent, its environment
// and the package's hook: none of them may run in parallel.

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	tests := []struct {
		name               string
		live, roots, floor uint64
		want               int
	}{
		{"tiny live heap: the cap", 1 * mib, 0, 64 * mib, 1600},
		{"3 MiB live: still the cap", 3 * mib, 0, 64 * mib, 1600},
		{"8 MiB live", 8 * mib, 0, 64 * mib, 700},
		{"half the floor", 32 * mib, 0, 64 * mib, 100},
		{"over the floor", 100 * mib, 0, 64 * mib, 100},
		{"no live heap: the cap", 0, 0, 64 * mib, 1600},
		{"floor under the runtime's minimum", 1 * mib, 0, 2 * mib, 100},
		{"no floor", 1 * mib, 0, 0, 100},
		// Many connections: 20 MiB of stacks count toward the goal.
		{"large stacks", 4 * mib, 20 * mib, 64 * mib, 250},
		{"stacks beyond the floor", 4 * mib, 200 * mib, 64 * mib, 100},
	}
	for _, tt := range tests {
		got := Percent(tt.live, tt.roots, tt.floor)
		if got != tt.want {
			t.Errorf("%s: Percent(%d, %d, %d) = %d, want %d", tt.name, tt.live, tt.roots, tt.floor, got, tt.want)
		}
		// The runtime's goal (runtime/mgcpacer.go) never exceeds the floor
		// unless the percent is the stock 100.
		goal := max(tt.live+(tt.live+tt.roots)*uint64(got)/100, heapMinimum*uint64(got)/100)
		if got > 100 && goal > tt.floor {
			t.Errorf("%s: percent %d gives a goal of %d, over the floor %d", tt.name, got, goal, tt.floor)
		}
	}
}

func TestStart(t *testing.T) {
	unsetGOGC(t)
	const orig = 137
	setPercent(t, orig)
	events := watch(t)
	const floor = DefaultFloor

	stop := Start(floor)
	a := settle(t, events)
	if want := Percent(a.live, a.roots, floor); a.percent != want || read(t, "/gc/gogc:percent") != uint64(want) {
		t.Fatalf("live %d: tuner set %d, runtime has %d, want %d", a.live, a.percent, read(t, "/gc/gogc:percent"), want)
	}
	if a.live*17 > floor {
		t.Fatalf("live heap %d: too large for this test to see the floor", a.live)
	}
	goal := read(t, "/gc/heap/goal:bytes")
	t.Logf("live heap %d, percent %d, heap goal %d", a.live, a.percent, goal)
	if goal < floor || goal > floor+4*mib {
		t.Errorf("heap goal %d with live %d, want the floor %d (+4 MiB)", goal, a.live, floor)
	}

	big := make([]byte, 80*mib)
	a = settle(t, events)
	if a.percent != 100 || read(t, "/gc/gogc:percent") != 100 {
		t.Errorf("live %d: tuner set %d, runtime has %d, want 100", a.live, a.percent, read(t, "/gc/gogc:percent"))
	}
	runtime.KeepAlive(big)

	a = settle(t, events)
	if want := Percent(a.live, a.roots, floor); a.percent != want || want <= 100 {
		t.Errorf("live %d after the release: tuner set %d, want %d (> 100)", a.live, a.percent, want)
	}

	stop()
	if got := read(t, "/gc/gogc:percent"); got != orig {
		t.Errorf("after stop: percent %d, want %d", got, orig)
	}
	stop()
	runtime.GC()
	if got := read(t, "/gc/gogc:percent"); got != orig {
		t.Errorf("after a second stop and a collection: percent %d, want %d", got, orig)
	}
}

func TestStartWithGOGC(t *testing.T) {
	for _, v := range []string{"off", "400", ""} {
		t.Run("GOGC="+v, func(t *testing.T) {
			t.Setenv("GOGC", v)
			const orig = 137
			setPercent(t, orig)
			stop := Start(DefaultFloor)
			if got := read(t, "/gc/gogc:percent"); got != orig {
				t.Errorf("after Start: percent %d, want %d", got, orig)
			}
			stop()
			if got := read(t, "/gc/gogc:percent"); got != orig {
				t.Errorf("after stop: percent %d, want %d", got, orig)
			}
		})
	}
}

// unsetGOGC removes GOGC from the environment for the test (t.Setenv can
// only set it, and an empty GOGC counts as set).
func unsetGOGC(t *testing.T) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		os.Unsetenv("GOGC")
		t.Cleanup(func() { os.Setenv("GOGC", v) })
	}
}

// setPercent sets the GC percent for the test.
func setPercent(t *testing.T, p int) {
	prev := debug.SetGCPercent(p)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
}

type adjustment struct {
	live, roots uint64
	percent     int
}

// watch installs the hook for the tuners the test starts.
func watch(t *testing.T) <-chan adjustment {
	ch := make(chan adjustment, 100)
	adjusted = func(live, roots uint64, percent int) { ch <- adjustment{live, roots, percent} }
	t.Cleanup(func() { adjusted = nil })
	return ch
}

// settle runs a collection and waits for the tuner's re-evaluation of the
// live heap that collection left. Each collection is followed by at least
// one re-evaluation (a cleanup re-arms before it reports, so a sentinel is
// always there to collect or a report is on its way), so the receive cannot
// block for good; reports of earlier collections (a background one, or one
// that ran while the sentinel was being replaced) are drained and the
// collection repeated.
func settle(t *testing.T, events <-chan adjustment) adjustment {
	t.Helper()
	for range 20 {
		runtime.GC()
		live := read(t, "/gc/heap/live:bytes")
		var a adjustment
		select {
		case a = <-events:
		case <-time.After(time.Minute): // a bug, not a slow machine: see above
			t.Fatal("no re-evaluation within a minute of a collection")
		}
		for drained := false; !drained; {
			select {
			case a = <-events:
			default:
				drained = true
			}
		}
		if a.live == live {
			return a
		}
	}
	t.Fatal("the tuner never reported the live heap of the last collection")
	return adjustment{}
}

func read(t *testing.T, name string) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("metric %s: not supported", name)
	}
	return s[0].Value.Uint64()
}
