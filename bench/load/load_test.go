package load

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The operations below stand for a server answering after a fixed service
// time; inside a synctest bubble time.Sleep advances the fake clock exactly,
// so the counts are deterministic.

func TestRun(t *testing.T) {
	errBroken := errors.New("broken")
	tests := []struct {
		name string
		opts Options
		op   func(supply *atomic.Int64) Op
		want Result
	}{
		{
			name: "steady service time: warm-up excluded, window full",
			opts: Options{Concurrency: 2, Warmup: 10 * time.Millisecond, Duration: 100 * time.Millisecond},
			op: func(*atomic.Int64) Op {
				return func(context.Context, int) error { time.Sleep(time.Millisecond); return nil }
			},
			// Each worker starts requests at 0,1,…; those starting at 10…99 ms
			// end by 110 ms: 100 per worker.
			want: Result{Concurrency: 2, Requests: 200, Window: 100 * time.Millisecond,
				P50: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond},
		},
		{
			name: "requests straddling the window's end are not measured",
			opts: Options{Concurrency: 1, Duration: 10 * time.Millisecond},
			op: func(*atomic.Int64) Op {
				return func(context.Context, int) error { time.Sleep(3 * time.Millisecond); return nil }
			},
			// Starts at 0, 3, 6 end by 9 ms; the one starting at 9 ends at 12.
			want: Result{Concurrency: 1, Requests: 3, Window: 10 * time.Millisecond,
				P50: 3 * time.Millisecond, P99: 3 * time.Millisecond, Max: 3 * time.Millisecond},
		},
		{
			name: "finite supply shortens the window",
			opts: Options{Concurrency: 2, Warmup: 2 * time.Millisecond, Duration: time.Second},
			op: func(supply *atomic.Int64) Op {
				supply.Store(10)
				return func(context.Context, int) error {
					if supply.Add(-1) < 0 {
						return ErrExhausted
					}
					time.Sleep(time.Millisecond)
					return nil
				}
			},
			// 10 requests on 2 workers end at 1,2,3,4,5 ms; the first two
			// pairs start in the warm-up.
			want: Result{Concurrency: 2, Requests: 6, Window: 3 * time.Millisecond, Exhausted: true,
				P50: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond},
		},
		{
			name: "a failure stops its worker and is counted",
			opts: Options{Concurrency: 3, Duration: 10 * time.Millisecond},
			op: func(*atomic.Int64) Op {
				return func(_ context.Context, w int) error {
					time.Sleep(time.Millisecond)
					if w == 1 {
						return errBroken
					}
					return nil
				}
			},
			want: Result{Concurrency: 3, Requests: 20, Window: 10 * time.Millisecond, Failures: 1,
				FirstFailure: errBroken, P50: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond},
		},
		{
			name: "max requests bounds each worker",
			opts: Options{Concurrency: 2, Duration: time.Hour, MaxRequests: 5},
			op: func(*atomic.Int64) Op {
				return func(context.Context, int) error { time.Sleep(time.Millisecond); return nil }
			},
			want: Result{Concurrency: 2, Requests: 10, Window: time.Hour,
				P50: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var supply atomic.Int64
				got, err := Run(t.Context(), &tt.opts, tt.op(&supply))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(&tt.want, got, cmpopts.EquateErrors()); diff != "" {
					t.Errorf("Run (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestRunLatencyPercentiles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One worker; every 100th request is slow (10 ms), the rest 1 ms.
		var n atomic.Int64
		op := func(context.Context, int) error {
			if n.Add(1)%100 == 0 {
				time.Sleep(10 * time.Millisecond)
			} else {
				time.Sleep(time.Millisecond)
			}
			return nil
		}
		got, err := Run(t.Context(), &Options{Duration: time.Second, MaxRequests: 1000}, op)
		if err != nil {
			t.Fatal(err)
		}
		if got.P50 != time.Millisecond || got.P99 != time.Millisecond || got.Max != 10*time.Millisecond {
			t.Errorf("p50 %v p99 %v max %v, want 1ms 1ms 10ms", got.P50, got.P99, got.Max)
		}
	})
}

func TestRunCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		op := func(context.Context, int) error {
			time.Sleep(time.Millisecond)
			cancel()
			return nil
		}
		if _, err := Run(ctx, &Options{Duration: time.Second}, op); !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v, want context.Canceled", err)
		}
	})
}

func TestRunRejectsNegativeOptions(t *testing.T) {
	for _, o := range []Options{{Concurrency: -1}, {Duration: -1}, {Warmup: -1}, {MaxRequests: -1}} {
		if _, err := Run(t.Context(), &o, func(context.Context, int) error { return nil }); err == nil {
			t.Errorf("Run(%+v) succeeded", o)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, time.Millisecond},
		{ms(1, 2, 3), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
		{ms(append(hundred, 101)...), 99, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
		}
	}
}

func TestThroughput(t *testing.T) {
	for _, tt := range []struct {
		r    Result
		want float64
	}{
		{Result{Requests: 500, Window: 250 * time.Millisecond}, 2000},
		{Result{Requests: 5}, 0},
	} {
		if got := tt.r.Throughput(); got != tt.want {
			t.Errorf("%+v.Throughput() = %v, want %v", tt.r, got, tt.want)
		}
	}
}

func TestRunWindowHooks(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		supply   int64
		wantOpen time.Duration // offset of WindowStart from the start; -1: not called
		wantEnd  time.Duration // offset of WindowEnd; -1: not called
	}{
		{"full window", Options{Warmup: 5 * time.Millisecond, Duration: 20 * time.Millisecond}, 1 << 30, 5 * time.Millisecond, 25 * time.Millisecond},
		{"supply runs out in the window", Options{Warmup: 5 * time.Millisecond, Duration: time.Second}, 10, 5 * time.Millisecond, 10 * time.Millisecond},
		{"supply runs out in the warm-up", Options{Warmup: 50 * time.Millisecond, Duration: time.Second}, 10, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				open, end := time.Duration(-1), time.Duration(-1)
				o := tt.opts
				o.WindowStart = func() { open = time.Since(start) }
				o.WindowEnd = func() {
					if open < 0 {
						t.Error("WindowEnd before WindowStart")
					}
					end = time.Since(start)
				}
				var supply atomic.Int64
				supply.Store(tt.supply)
				_, err := Run(t.Context(), &o, func(context.Context, int) error {
					if supply.Add(-1) < 0 {
						return ErrExhausted
					}
					time.Sleep(time.Millisecond)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				// Let a timer that fired as the run ended finish.
				synctest.Wait()
				if open != tt.wantOpen || end != tt.wantEnd {
					t.Errorf("WindowStart at %v, WindowEnd at %v; want %v, %v", open, end, tt.wantOpen, tt.wantEnd)
				}
			})
		})
	}
}

func TestAlternate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var active [2]atomic.Int32
		var hooks []string
		op := func(i int, service time.Duration) Op {
			return func(context.Context, int) error {
				active[i].Add(1)
				defer active[i].Add(-1)
				if active[1-i].Load() != 0 {
					t.Errorf("operation %d runs while %d does", i, 1-i)
				}
				time.Sleep(service)
				return nil
			}
		}
		got, err := Alternate(t.Context(), &AlternateOptions{
			Concurrency: 2, Warmup: 10 * time.Millisecond, Duration: 60 * time.Millisecond, Slice: 25 * time.Millisecond,
			SliceStart: func(i int) { hooks = append(hooks, fmt.Sprintf("start %d", i)) },
			SliceEnd:   func(i int) { hooks = append(hooks, fmt.Sprintf("end %d", i)) },
		}, op(0, time.Millisecond), op(1, 2*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Slices of 25, 25 and 10 ms: per worker, 25+25+10 requests of 1 ms,
		// and 12+12+5 of 2 ms (a request must end by its slice's end).
		want := []*Result{
			{Concurrency: 2, Requests: 120, Window: 60 * time.Millisecond, P50: time.Millisecond, P99: time.Millisecond, Max: time.Millisecond},
			{Concurrency: 2, Requests: 58, Window: 60 * time.Millisecond, P50: 2 * time.Millisecond, P99: 2 * time.Millisecond, Max: 2 * time.Millisecond},
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateErrors()); diff != "" {
			t.Errorf("Alternate (-want +got):\n%s", diff)
		}
		wantHooks := []string{"start 0", "end 0", "start 1", "end 1", "start 0", "end 0", "start 1", "end 1", "start 0", "end 0", "start 1", "end 1"}
		if diff := cmp.Diff(wantHooks, hooks); diff != "" {
			t.Errorf("slice hooks (-want +got):\n%s", diff)
		}
	})
}

func TestAlternateFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errBroken := errors.New("broken")
		var calls atomic.Int64
		flaky := func(context.Context, int) error {
			time.Sleep(time.Millisecond)
			if calls.Add(1) == 1 { // the first request, in the warm-up
				return errBroken
			}
			return nil
		}
		fine := func(context.Context, int) error { time.Sleep(time.Millisecond); return nil }
		got, err := Alternate(t.Context(), &AlternateOptions{Concurrency: 1, Warmup: 5 * time.Millisecond, Duration: 10 * time.Millisecond, Slice: 5 * time.Millisecond}, flaky, fine)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Failures != 1 || !errors.Is(got[0].FirstFailure, errBroken) || got[0].Requests != 10 || got[1].Failures != 0 || got[1].Requests != 10 {
			t.Errorf("results %+v %+v", got[0], got[1])
		}
	})
}

func TestAlternateRejects(t *testing.T) {
	if _, err := Alternate(t.Context(), nil); err == nil {
		t.Error("Alternate without operations succeeded")
	}
	op := func(context.Context, int) error { return nil }
	for _, o := range []AlternateOptions{{Duration: -1}, {Slice: -1}, {Warmup: -1}} {
		if _, err := Alternate(t.Context(), &o, op); err == nil {
			t.Errorf("Alternate(%+v) succeeded", o)
		}
	}
}
