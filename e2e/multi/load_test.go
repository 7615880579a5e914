package multi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The phases of a load run around a Redis crash.
const (
	phaseUp       int32 = iota // Redis running
	phaseKilling               // Redis being killed
	phaseDown                  // Redis killed (set once Kill has returned)
	phaseRestored              // Redis restarting or restarted
)

// Request kinds.
const (
	kindRefresh = "refresh"
	kindMCP     = "tools/call"
)

// result is the outcome of one request of a load run.
type result struct {
	kind               string
	instance           string
	startPhase, phase  int32 // at the start and at the end of the request
	status             int   // HTTP status; 0 when no HTTP answer came
	code               string
	err                error
	latency            time.Duration
	refreshed, tokenIn string // refresh: the token received (if 200) and the one presented
}

func (r result) String() string {
	return fmt.Sprintf("%s at %s (phase %d→%d): status %d %q after %v: %v", r.kind, r.instance, r.startPhase, r.phase, r.status, r.code, r.latency.Round(time.Millisecond), r.err)
}

// worker is one client of a load run: its own grant, refreshing its refresh
// token at the instances in turn and calling whoami with the newest access
// token on a session it keeps per instance.
type worker struct {
	id       int
	clientID string
	// tokens are the refresh tokens the worker received, oldest first:
	// from the code exchange, then from each refresh answered 200.
	tokens      []string
	accessToken string
	sessions    map[*instance]string

	mu      sync.Mutex
	results []result
	bad     error // the first result no phase allows
}

// load drives workers against the deployment until stop is closed.
type load struct {
	d       *deployment
	phase   atomic.Int32
	workers []*worker
	mcp     bool // also call whoami after each refresh
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// startLoad logs n clients in at the first instance and starts them.
func startLoad(t *testing.T, d *deployment, n int, withMCP bool) *load {
	t.Helper()
	l := &load{d: d, mcp: withMCP}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	t.Cleanup(l.stop)
	for i := range n {
		clientID, tok, err := d.login(t.Context(), d.instances[0])
		if err != nil {
			t.Fatalf("worker %d: log in: %v", i, err)
		}
		w := &worker{id: i, clientID: clientID, tokens: []string{tok.RefreshToken}, accessToken: tok.AccessToken, sessions: map[*instance]string{}}
		l.workers = append(l.workers, w)
	}
	for _, w := range l.workers {
		l.wg.Go(func() { l.run(ctx, w) })
	}
	return l
}

// stop ends the workers and waits for them.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// run is a worker's loop, paced at one round every 20 ms so that the
// failing requests of an outage do not spin the shared CPUs.
func (l *load) run(ctx context.Context, w *worker) {
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	for round := 0; ; round++ {
		select {
		case <-ctx.Done():
			return
		case <-pace.C:
		}
		in := l.d.instances[(w.id+round)%len(l.d.instances)]
		if r, ok := l.refresh(ctx, w, in); ok {
			w.record(r)
		}
		if l.mcp {
			other := l.d.instances[(w.id+round+1)%len(l.d.instances)]
			if r, ok := l.call(ctx, w, other); ok {
				w.record(r)
			}
		}
	}
}

// refresh presents the worker's newest refresh token at in. ok is false
// when the request was cut short by the end of the run.
func (l *load) refresh(ctx context.Context, w *worker, in *instance) (result, bool) {
	r := result{kind: kindRefresh, instance: in.name, startPhase: l.phase.Load(), tokenIn: w.tokens[len(w.tokens)-1]}
	start := time.Now()
	tok, err := l.d.refresh(ctx, w.clientID, in, r.tokenIn)
	r.latency, r.phase = time.Since(start), l.phase.Load()
	if ctx.Err() != nil {
		return r, false
	}
	r.err = err
	if err == nil {
		r.status = http.StatusOK
		r.refreshed = tok.RefreshToken
		w.tokens = append(w.tokens, tok.RefreshToken)
		w.accessToken = tok.AccessToken
	} else {
		r.status, r.code = oauthError(err)
	}
	return r, true
}

// call sends tools/call whoami at in on the worker's session there, opening
// one first when it has none or the old one is gone (404). ok is false when
// the request was cut short by the end of the run.
func (l *load) call(ctx context.Context, w *worker, in *instance) (result, bool) {
	r := result{kind: kindMCP, instance: in.name, startPhase: l.phase.Load()}
	start := time.Now()
	r.status, r.err = l.callOnce(ctx, w, in)
	r.latency, r.phase = time.Since(start), l.phase.Load()
	return r, ctx.Err() == nil
}

func (l *load) callOnce(ctx context.Context, w *worker, in *instance) (status int, err error) {
	sid := w.sessions[in]
	if sid == "" {
		rep, err := l.d.mcp(ctx, in, http.MethodPost, w.accessToken, "", initializeBody, 1)
		if err != nil {
			return 0, err
		}
		if rep.status != http.StatusOK {
			return rep.status, nil
		}
		sid = rep.sessionID
		n, err := l.d.mcp(ctx, in, http.MethodPost, w.accessToken, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, 0)
		if err != nil {
			return 0, err
		}
		if n.status != http.StatusAccepted {
			return n.status, nil
		}
		w.sessions[in] = sid
	}
	rep, err := l.d.mcp(ctx, in, http.MethodPost, w.accessToken, sid, toolsCallBody(2), 2)
	if err != nil {
		if rep != nil {
			return rep.status, err
		}
		return 0, err
	}
	switch rep.status {
	case http.StatusNotFound:
		delete(w.sessions, in)
	case http.StatusOK:
		if sub, err := whoamiSubject(rep.rpc); err != nil || sub != testUser {
			return rep.status, fmt.Errorf("whoami subject %q: %v", sub, err)
		}
	}
	return rep.status, nil
}

func (w *worker) record(r result) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.results = append(w.results, r)
	if err := neverAllowed(r); err != nil && w.bad == nil {
		w.bad = fmt.Errorf("worker %d: %v: %v", w.id, err, r)
	}
}

// count counts the worker's results that satisfy f.
func (w *worker) count(f func(result) bool) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.results {
		if f(r) {
			n++
		}
	}
	return n
}

// waitEach polls until every worker has at least n results satisfying f.
// It gives up at once when a worker got an answer no phase allows.
func (l *load) waitEach(timeout time.Duration, n int, f func(result) bool) error {
	return poll(timeout, func() (bool, error) {
		done := true
		for _, w := range l.workers {
			w.mu.Lock()
			bad := w.bad
			w.mu.Unlock()
			if bad != nil {
				return false, bad
			}
			done = done && w.count(f) >= n
		}
		return done, nil
	})
}

// results returns every worker's results.
func (l *load) results() []result {
	var all []result
	for _, w := range l.workers {
		w.mu.Lock()
		all = append(all, w.results...)
		w.mu.Unlock()
	}
	return all
}

// ok reports a request answered 200 without error.
func ok(r result) bool { return r.status == http.StatusOK && r.err == nil }

// unavailable reports a 503 answer; for the token endpoint, with the
// error code temporarily_unavailable (RFC 6749 §5.2 has no such code for
// the token endpoint, but servers use the one of §4.1.2.1 for 503s).
func unavailable(r result) bool {
	if r.status != http.StatusServiceUnavailable {
		return false
	}
	return r.kind != kindRefresh || r.code == "temporarily_unavailable"
}

// neverAllowed returns an error for an answer no phase may produce: a 500
// (or any 5xx but 503), or a refresh refused as invalid (a lost write or a
// retry taken for reuse).
func neverAllowed(r result) error {
	switch {
	case r.status >= 500 && r.status != http.StatusServiceUnavailable:
		return errors.New("server error")
	case r.kind == kindRefresh && r.code == "invalid_grant":
		return errors.New("refresh token refused as invalid (a lost rotation or a retry taken for reuse)")
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		return errors.New("access token refused")
	}
	return nil
}
