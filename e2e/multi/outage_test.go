package multi

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
)

// outageRedisTimeout is the store's dialTimeout, readTimeout and
// writeTimeout in TestRedisOutage.
const outageRedisTimeout = 500 * time.Millisecond

// outageAnswerBound bounds how long a request may take while Redis is down:
// one connection attempt, write and read (docs/deployment.md, "Failure
// behaviour"), plus room for a loaded machine.
const outageAnswerBound = 3*outageRedisTimeout + 2*time.Second

// TestRedisOutage: four clients refresh and call tools against two servers on
// one Redis. When Redis dies, refreshes answer 503 temporarily_unavailable
// and MCP requests 503 or, when served without the store, 200 — each within
// the store timeouts, never 500 and never invalid_grant (an outage must not
// look like token reuse); /readyz answers 503. When Redis is back on the same port, the same two processes serve
// again without a restart and /readyz answers 200.
//
// Redis runs with appendonly yes and appendfsync always, so what it
// acknowledged survives the crash; a refresh whose reply the crash cut off
// may still have been applied, and its retry is accepted through the reuse
// grace (auth.refresh.reuseGraceSeconds).
func TestRedisOutage(t *testing.T) {
	redis, err := redistest.StartPersistent(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.Close() })
	d := deploy(t, redis, settings{Instances: 2, ReuseGraceSeconds: 60, RedisTimeout: outageRedisTimeout})
	pids := []int{d.instances[0].pid(), d.instances[1].pid()}
	l := startLoad(t, d, 4, true)

	// Healthy: every worker refreshes and calls tools.
	if err := l.waitEach(60*time.Second, 3, func(r result) bool { return r.kind == kindMCP && ok(r) }); err != nil {
		t.Fatalf("before the outage: %v", err)
	}

	l.phase.Store(phaseKilling)
	if err := redis.Kill(); err != nil {
		t.Fatal(err)
	}
	l.phase.Store(phaseDown)
	down := func(kind string) func(result) bool {
		return func(r result) bool { return r.kind == kind && r.startPhase == phaseDown && r.phase == phaseDown }
	}
	if err := l.waitEach(60*time.Second, 3, down(kindRefresh)); err != nil {
		t.Fatalf("refreshes during the outage: %v", err)
	}
	if err := l.waitEach(60*time.Second, 3, down(kindMCP)); err != nil {
		t.Fatalf("tools/call during the outage: %v", err)
	}
	for _, in := range d.instances {
		if st, err := d.readyz(t.Context(), in); err != nil || st != http.StatusServiceUnavailable {
			t.Errorf("/readyz at %s during the outage: %d, %v; want 503", in.name, st, err)
		}
	}

	l.phase.Store(phaseRestored)
	restartedAt := time.Now()
	if err := redis.Restart(); err != nil {
		t.Fatal(err)
	}
	back := func(kind string) func(result) bool {
		return func(r result) bool { return r.kind == kind && r.startPhase == phaseRestored && ok(r) }
	}
	if err := l.waitEach(60*time.Second, 3, back(kindRefresh)); err != nil {
		t.Errorf("refreshes after Redis came back: %v", err)
	}
	if err := l.waitEach(60*time.Second, 3, back(kindMCP)); err != nil {
		t.Errorf("tools/call after Redis came back: %v", err)
	}
	recovered := time.Since(restartedAt)
	for _, in := range d.instances {
		if err := d.waitReady(in, 30*time.Second); err != nil {
			t.Errorf("/readyz at %s after Redis came back: %v", in.name, err)
		}
	}
	l.stop()

	for i, in := range d.instances {
		if !in.running() || in.pid() != pids[i] {
			t.Errorf("%s is not the process that started the test (pid %d, was %d, running %v)", in.name, in.pid(), pids[i], in.running())
		}
	}
	counts := map[string]int{}
	failures := 0
	for _, r := range l.results() {
		fail := func(why string) {
			if failures++; failures <= 20 {
				t.Errorf("%s: %v", why, r)
			}
		}
		if err := neverAllowed(r); err != nil {
			fail(err.Error())
			continue
		}
		switch {
		case r.startPhase == phaseUp && r.phase == phaseUp:
			if !ok(r) {
				fail("failed while Redis was up")
			}
			counts["up "+r.kind]++
		case r.startPhase == phaseDown && r.phase == phaseDown:
			// A refresh needs the store. An MCP request may not (the
			// session and the verified token can be in memory): it is
			// served or refused with 503.
			if !unavailable(r) && (r.kind == kindRefresh || !ok(r)) {
				fail("neither served nor a 503 (temporarily_unavailable for refresh) while Redis was down")
			}
			if r.latency > outageAnswerBound {
				fail("answered after the store timeouts")
			}
			counts[fmt.Sprintf("down %s %d", r.kind, r.status)]++
		case r.startPhase == phaseRestored && ok(r):
			counts["after "+r.kind]++
		}
	}
	if failures > 20 {
		t.Errorf("… %d failures in all", failures)
	}
	retries := 0
	for _, in := range d.instances {
		retries += in.countLog("refresh token retried within its reuse grace")
	}
	t.Logf("requests: %v; back to 200s within %v of the restart; refreshes retried within the reuse grace: %d", counts, recovered.Round(time.Millisecond), retries)
}
