package gobench

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/frontmcp-go/frontmcp/token
cpu: AMD EPYC 7B13
BenchmarkSignES256/token         	   24312	     48952 ns/op	    3488 B/op	      40 allocs/op
BenchmarkSignES256/go-jose       	   26000	     45010.5 ns/op	    3000 B/op	      35 allocs/op
BenchmarkSignES256/token-2       	   30000	     40000 ns/op
BenchmarkVerifyES256/token       	   14000	     85000 ns/op	    5000 B/op	      60 allocs/op
BenchmarkVerifyES256/token       	   14000	     80000 ns/op	    5000 B/op	      60 allocs/op
BenchmarkVerifyES256/token       	   14000	     90000 ns/op	    5000 B/op	      60 allocs/op
--- BENCH: BenchmarkX
    x_test.go:1: log line
Benchmarklower 10 5 ns/op
BenchmarkOdd 10 5 ns/op 7
BenchmarkNoNs 10 5 B/op
BenchmarkNeg 10 -5 ns/op
PASS
ok  	github.com/frontmcp-go/frontmcp/token	12.3s
`

func TestParse(t *testing.T) {
	got, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := []Result{
		{Name: "SignES256/token", Procs: 1, N: 24312, NsPerOp: 48952, BytesPerOp: 3488, AllocsPerOp: 40},
		{Name: "SignES256/go-jose", Procs: 1, N: 26000, NsPerOp: 45010.5, BytesPerOp: 3000, AllocsPerOp: 35},
		{Name: "SignES256/token", Procs: 2, N: 30000, NsPerOp: 40000, BytesPerOp: -1, AllocsPerOp: -1},
		{Name: "VerifyES256/token", Procs: 1, N: 14000, NsPerOp: 85000, BytesPerOp: 5000, AllocsPerOp: 60},
		{Name: "VerifyES256/token", Procs: 1, N: 14000, NsPerOp: 80000, BytesPerOp: 5000, AllocsPerOp: 60},
		{Name: "VerifyES256/token", Procs: 1, N: 14000, NsPerOp: 90000, BytesPerOp: 5000, AllocsPerOp: 60},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestParseNoResults(t *testing.T) {
	for _, in := range []string{"", "PASS\nok x 1s\n", "BenchmarkX 0 5 ns/op\n"} {
		if _, err := Parse(strings.NewReader(in)); !errors.Is(err, ErrNoResults) {
			t.Errorf("Parse(%q) error %v, want ErrNoResults", in, err)
		}
	}
}

func TestMedian(t *testing.T) {
	rs, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		wantNs float64
		wantOK bool
	}{
		{"VerifyES256/token", 85000, true},
		{"SignES256/go-jose", 45010.5, true},
		// Two results (procs 1 and 2): the lower middle.
		{"SignES256/token", 40000, true},
		{"VerifyEdDSA/token", 0, false},
	}
	for _, tt := range tests {
		got, ok := Median(rs, tt.name)
		if ok != tt.wantOK || got.NsPerOp != tt.wantNs {
			t.Errorf("Median(%q) = %v, %v; want %v, %v", tt.name, got.NsPerOp, ok, tt.wantNs, tt.wantOK)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("BenchmarkA-4 1 1 ns/op\n")
	f.Add("BenchmarkA/b-c-1000000000000000000000 1 1 ns/op 2 B/op\n")
	f.Fuzz(func(t *testing.T, in string) {
		rs, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Name == "" || r.N <= 0 || r.Procs <= 0 || r.NsPerOp < 0 {
				t.Fatalf("invalid result %+v from %q", r, in)
			}
			if _, ok := Median(rs, r.Name); !ok {
				t.Fatalf("Median(%q) found nothing", r.Name)
			}
		}
	})
}
