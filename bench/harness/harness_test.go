package harness

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/bench/gobench"
	"github.com/frontmcp-go/frontmcp/bench/load"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/google/go-cmp/cmp"
)

func TestServerConfig(t *testing.T) {
	dir := t.TempDir()
	hash := "$argon2id$v=19$m=8,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$9Q0B9q0hE4kq0w1p6wTgqj8eH0yBX3xM1C8M1mPz2bA"
	type summary struct {
		Mode, Storage, FilePath string
		Users                   []string
		Scopes                  []string
		AccessTTL               time.Duration
		Consent                 bool
	}
	tests := []struct {
		cfg  serverConfig
		want summary
	}{
		{serverConfig{store: StoreMemory, passwordHash: hash},
			summary{Mode: "orchestrated", Storage: "memory", Users: []string{benchUser}, Scopes: []string{benchScope}, AccessTTL: time.Hour, Consent: true}},
		{serverConfig{store: StoreFile, dir: dir, passwordHash: hash},
			summary{Mode: "orchestrated", Storage: "file", FilePath: filepath.Join(dir, "store.db"), Users: []string{benchUser}, Scopes: []string{benchScope}, AccessTTL: time.Hour, Consent: true}},
		{serverConfig{store: StoreMemory, public: true},
			summary{Mode: "public", Storage: "memory", Consent: true}},
	}
	for _, tt := range tests {
		name := tt.cfg.store
		if tt.cfg.public {
			name += "-public"
		}
		t.Run(name, func(t *testing.T) {
			path, err := writeConfig(dir, name, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			c, err := config.Load(path, &config.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatalf("config.Load:\n%s\n%v", tt.cfg.yaml(), err)
			}
			got := summary{
				Mode: string(c.Auth.Mode), Storage: string(c.Auth.TokenStorage.Type),
				Scopes: c.Auth.Scopes, Consent: c.Auth.Consent.Enabled,
			}
			if c.Auth.TokenStorage.Type == config.StorageFile {
				got.FilePath = c.Auth.TokenStorage.File.Path
			}
			if !tt.cfg.public {
				got.AccessTTL = c.Auth.Refresh.AccessTokenTTL
				for _, u := range c.Auth.Local.Users {
					got.Users = append(got.Users, u.Username)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("configuration (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServerConfigRedis(t *testing.T) {
	y := serverConfig{store: StoreRedis, redisPort: 6399, passwordHash: "x"}.yaml()
	if !strings.Contains(y, "tokenStorage: {type: redis, config: {host: 127.0.0.1, port: 6399}}") {
		t.Errorf("redis configuration:\n%s", y)
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		stat    string
		want    time.Duration
		wantErr bool
	}{
		// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
		{"1234 (frontmcp) S 1 1234 1234 0 -1 4194304 500 0 0 0 250 30 0 0 20 0 3 0", 2800 * time.Millisecond, false},
		{"1234 (a b) c)) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0", 100 * time.Millisecond, false},
		{"1234 frontmcp S 1", 0, true},
		{"1234 (x) S 1 2 3", 0, true},
		{"1234 (x) S 1 1 1 0 -1 0 0 0 0 0 -5 3", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStatCPU(tt.stat)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v, error %v", tt.stat, got, err, tt.want, tt.wantErr)
		}
	}
	// The harness's own entry parses.
	if d, err := cpuTime(os.Getpid()); err != nil || d < 0 {
		t.Errorf("cpuTime(self) = %v, %v", d, err)
	}
}

func TestCryptoRows(t *testing.T) {
	var out strings.Builder
	for _, alg := range cryptoAlgs {
		for _, sub := range []string{"token", "go-jose"} {
			ns := map[string]int{"token": 50000, "go-jose": 40000}[sub]
			out.WriteString("BenchmarkSign" + alg + "/" + sub + " 100 " + strconv.Itoa(ns) + " ns/op\n")
		}
		for _, sub := range []string{"token", "go-jose", "go-jose-jwt"} {
			ns := map[string]int{"token": 66000, "go-jose": 60000, "go-jose-jwt": 70000}[sub]
			out.WriteString("BenchmarkVerify" + alg + "/" + sub + " 100 " + strconv.Itoa(ns) + " ns/op\n")
		}
	}
	res, err := gobench.Parse(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	rows, ceiling, err := cryptoRows(res, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || ceiling != 40000 {
		t.Fatalf("%d rows, ceiling %v; want 6, 40000 (2 cores / 50 µs)", len(rows), ceiling)
	}
	if r := rows[0]; r.Op != "sign" || r.Alg != "ES256" || r.Ratio() != 1.25 || r.JoseJWT != 0 {
		t.Errorf("first row %+v", r)
	}
	if r := rows[5]; r.Op != "verify" || r.Alg != "RS256" || r.Ratio() != 1.1 || r.JoseJWT != 70000 {
		t.Errorf("last row %+v", r)
	}
	if _, _, err := cryptoRows(res[:3], 1); err == nil {
		t.Error("cryptoRows with missing benchmarks succeeded")
	}
}

// cellOf builds a cell whose window is one second.
func cellOf(store, work string, c, requests int, p99 time.Duration) Cell {
	return Cell{Store: store, Workload: work, Concurrency: c, Wall: time.Second,
		ServerCPU: 900 * time.Millisecond, HelperCPU: -1, ClientCPU: 500 * time.Millisecond,
		Result: load.Result{Concurrency: c, Requests: requests, Window: time.Second, P50: p99 / 2, P99: p99, Max: p99}}
}

func TestTargets(t *testing.T) {
	rep := &Report{
		Settings: Settings{Concurrency: []int{1, 64}, ServerProcs: 1},
		Ceiling:  20000,
		Cells: []Cell{
			cellOf(StoreMemory, WorkRefresh, 1, 6000, time.Millisecond),
			cellOf(StoreMemory, WorkRefresh, 64, 12000, 8*time.Millisecond),
			cellOf(StoreMemory, WorkCode, 64, 13000, 12*time.Millisecond),
			cellOf(StoreMemory, WorkTools, 64, 9500, 5*time.Millisecond),
			cellOf(StoreMemory, WorkPublic, 64, 10000, 4*time.Millisecond),
			cellOf(StoreRedis, WorkRefresh, 64, 5000, 10*time.Millisecond),
			cellOf(StoreRedis, WorkTools, 64, 3000, 9*time.Millisecond),
			cellOf(StoreRedis, WorkPublic, 64, 10000, 4*time.Millisecond),
		},
		Crypto: []Crypto{{Op: "sign", Alg: "ES256", Token: 36000, Raw: 30000}, {Op: "verify", Alg: "ES256", Token: 40000, Raw: 30000}},
	}
	type verdict struct {
		Prefix string
		Value  float64
		Pass   bool
	}
	var got []verdict
	for _, tg := range targets(rep) {
		name, _, _ := strings.Cut(tg.Name, " (")
		got = append(got, verdict{name, float64(int(tg.Measured*1000+0.5)) / 1000, tg.Pass})
	}
	want := []verdict{
		{"memory: authenticated tools/call peak", 0.95, true},
		{"redis: authenticated tools/call peak", 0.3, false},
		{"memory: refresh grants peak", 0.6, true},
		{"redis: refresh grants peak", 0.25, false},
		{"redis refresh peak", 0.417, false},
		{"memory: refresh_token", 8, true},
		{"memory: authorization_code p99 latency at c=64", 12, false},
		{"redis: refresh_token", 10, false}, // < 10 ms is strict
		{"sign ES256: token package vs raw go-jose", 1.2, true},
		{"verify ES256: token package vs raw go-jose", 1.333, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

func TestReportWrite(t *testing.T) {
	exhausted := cellOf(StoreMemory, WorkCode, 1, 500, time.Millisecond)
	exhausted.Result.Exhausted, exhausted.Result.Window = true, 250*time.Millisecond
	failed := cellOf(StoreFile, WorkTools, 1, 10, time.Millisecond)
	failed.Result.Failures, failed.Result.FirstFailure = 1, os.ErrDeadlineExceeded
	rep := &Report{
		Machine:  Machine{GoVersion: "go1.26.0", OS: "linux", Arch: "amd64", CPUs: 2, CPU: "Test CPU"},
		Settings: Settings{Warmup: time.Second, Duration: 5 * time.Second, ServerProcs: 1, ClientProcs: 1, Concurrency: []int{1}},
		Cells: []Cell{failed, exhausted, cellOf(StoreMemory, WorkRefresh, 1, 5000, 300*time.Microsecond),
			cellOf("", WorkFloor, 1, 6250, 250*time.Microsecond)},
		Crypto:  []Crypto{{Op: "sign", Alg: "ES256", Token: 40000, Raw: 32000}},
		Ceiling: 25000,
		Notes:   []string{"redis store not measured: test"},
	}
	rep.Targets = targets(rep)
	if !rep.Failed() {
		t.Error("Failed() = false with a failed cell")
	}
	var b bytes.Buffer
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"go1.26.0 linux/amd64, 2 CPUs (Test CPU)",
		"server GOMAXPROCS=1 (separate process), load generator GOMAXPROCS=1; 1s warm-up + 5s per cell",
		"memory  refresh_token (rotation)  1   5000",
		"2000*",
		"* the prepared authorization codes ran out",
		"FAILED file tools c=1: 1 failed requests",
		"sign  ES256    40.0 µs      32.0 µs  1.25×",
		"ES256 sign-bound ceiling: 1 server core(s) / 40.0 µs per signed token = 25000 tokens/s",
		"MISS  1.25×    ≤ 1.20×     sign ES256",
		"MISS  0.20×    ≥ 0.50×     memory: refresh grants peak",
		"note: redis store not measured: test",
		"-      reference: sign only  1   6250",
		"  reference peak 6250 grants/s (c=1) = 0.25× the ES256 sign-bound ceiling\n",
		"  memory refresh_token: peak 5000/s (c=1) = 0.80× the reference; p99 at c=1 300 µs (reference 250 µs)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Rows are in table order: the reference first, memory before file,
	// refresh before code.
	if h, i, j, k := strings.Index(out, "reference: sign only"), strings.Index(out, "refresh_token (rotation)"), strings.Index(out, "authorization_code"), strings.Index(out, "file "); !(h < i && i < j && j < k) {
		t.Errorf("rows out of order:\n%s", out)
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []Options{
		{Workloads: []string{"nope"}},
		{Stores: []string{"mongo"}},
		{Concurrency: []int{0}},
		{Concurrency: []int{}},
		{Workloads: []string{}},
		{Duration: -time.Second},
	}
	for _, o := range bad {
		d := o.withDefaults()
		if err := d.validate(); err == nil {
			t.Errorf("validate(%+v) succeeded", o)
		}
	}
	d := (*Options)(nil).withDefaults()
	if err := d.validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	if !slices.Equal(d.Concurrency, []int{1, 16, 64}) || d.Duration != 5*time.Second || d.Warmup != time.Second {
		t.Errorf("defaults %+v", d)
	}
}

// checkCells asserts one measured, failure-free cell per workload.
func checkCells(t *testing.T, rep *Report, workloads []string) {
	t.Helper()
	var got []string
	for _, c := range rep.Cells {
		got = append(got, c.Workload)
		if c.Result.Failures > 0 {
			t.Errorf("%s/%s c=%d: %d failures: %v", c.Store, c.Workload, c.Concurrency, c.Result.Failures, c.Result.FirstFailure)
		}
		if c.Result.Requests == 0 {
			t.Errorf("%s/%s c=%d: no measured request", c.Store, c.Workload, c.Concurrency)
		}
	}
	if diff := cmp.Diff(workloads, got); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}
	if rep.Failed() {
		t.Error("Failed() = true")
	}
}

// TestRunProfiles runs every workload against frontmcp-pprof with a CPU
// profile per cell, as `frontmcp-bench -cpuprofile DIR` does.
func TestRunProfiles(t *testing.T) {
	profiles := t.TempDir()
	rep, err := Run(t.Context(), &Options{
		Stores: []string{StoreMemory}, Concurrency: []int{2},
		Warmup: 20 * time.Millisecond, Duration: 150 * time.Millisecond,
		CPUProfileDir: profiles, MaxCodes: 3000,
	})
	if err != nil {
		t.Fatal(err)
	}
	// MCP calls are measured first, on a nearly empty store, with and
	// without auth one after the other.
	// The reference endpoint follows the refresh cell of its concurrency.
	checkCells(t, rep, []string{WorkTools, WorkPublic, WorkRefresh, WorkFloor, WorkCode})
	for _, w := range Workloads {
		if w == WorkFloor {
			continue // the reference endpoint has no profiling endpoint
		}
		fi, err := os.Stat(filepath.Join(profiles, "memory-"+w+"-c2.pprof"))
		if err != nil || fi.Size() == 0 {
			t.Errorf("profile of %s: %v", w, err)
		}
	}
	if !rep.Settings.Profiled || slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.HasPrefix(n, "no CPU profile") }) {
		t.Errorf("Profiled %v, notes %q", rep.Settings.Profiled, rep.Notes)
	}
}

// TestRunProcesses builds frontmcp and measures it in child processes, as
// `make bench-smoke` does, with the crypto benchmarks.
func TestRunProcesses(t *testing.T) {
	rep, err := Run(t.Context(), &Options{
		Stores: []string{StoreMemory}, Workloads: []string{WorkRefresh, WorkTools, WorkFloor}, Concurrency: []int{1},
		Warmup: 20 * time.Millisecond, Duration: 150 * time.Millisecond,
		Crypto: true, CryptoBenchtime: "3x", CryptoCount: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCells(t, rep, []string{WorkTools, WorkRefresh, WorkFloor})
	if lines := rep.floorLines(); len(lines) != 2 || !strings.HasPrefix(lines[1], "memory refresh_token: peak ") {
		t.Errorf("comparison with the reference endpoint: %q", lines)
	}
	for _, c := range rep.Cells {
		if c.ServerCPU <= 0 || c.Wall <= 0 {
			t.Errorf("%s: server CPU %v over %v, want measured", c.Workload, c.ServerCPU, c.Wall)
		}
	}
	if len(rep.Crypto) != 6 || rep.Ceiling <= 0 {
		t.Errorf("crypto: %d rows, ceiling %v", len(rep.Crypto), rep.Ceiling)
	}
	if !slices.ContainsFunc(rep.Targets, func(tg Target) bool { return strings.HasPrefix(tg.Name, "memory: refresh grants peak") }) {
		t.Errorf("no refresh target in %+v", rep.Targets)
	}
}

func TestRunServerDoesNotStart(t *testing.T) {
	bin, err := exec.LookPath("false")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(t.Context(), &Options{
		ServerBinary: bin, Stores: []string{StoreMemory}, Concurrency: []int{1},
		Warmup: time.Millisecond, Duration: time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("Run with a server that exits: %v", err)
	}
	if rep != nil && len(rep.Cells) != 0 {
		t.Errorf("cells measured: %+v", rep.Cells)
	}
}
