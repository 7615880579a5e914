package jwks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/token"
)

// TestKeysCachedForLifetime checks that keys are fetched once, used for the
// Cache-Control max-age, and fetched again after it.
func TestKeysCachedForLifetime(t *testing.T) {
	idp := newTestIdP(t)
	s1 := idp.addKey(t)
	clock := testclock.New(t0)
	set, _ := newTestSet(t, idp, clock, nil) // max-age=300 within [1m, 1h]
	ctx := t.Context()

	steps := []struct {
		advance     time.Duration
		wantFetches int64
	}{
		{0, 1},
		{0, 1},
		{299 * time.Second, 1},
		{time.Second, 2}, // 300 s: the lifetime has passed
		{time.Minute, 2},
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		v, err := set.Keys(ctx)
		if err != nil {
			t.Fatalf("step %d: Keys: %v", i, err)
		}
		if !v.HasKey(s1.KeyID()) {
			t.Errorf("step %d: keys lack %q", i, s1.KeyID())
		}
		if got := idp.jwksGets.Load(); got != st.wantFetches {
			t.Errorf("step %d: %d key set fetches, want %d", i, got, st.wantFetches)
		}
	}
	if got := idp.metaGets.Load(); got != 1 {
		t.Errorf("%d discovery requests, want 1 (jwks_uri is kept)", got)
	}
	if diff := cmp.Diff(Stats{Fetches: 2}, set.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

// TestLifetimeFromCacheControl checks the clamping of max-age to
// [MinRefresh, MaxAge] and the directives that shorten it.
func TestLifetimeFromCacheControl(t *testing.T) {
	set, err := New(&Options{JWKSURI: "https://idp.example/jwks", MinRefresh: time.Minute, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cc, age string
		want    time.Duration
	}{
		{"", "", time.Hour},
		{"public, max-age=600", "", 10 * time.Minute},
		{"max-age=600", "120", 8 * time.Minute},
		{"max-age=600", "590", time.Minute},
		{"max-age=5", "", time.Minute},
		{"max-age=86400", "", time.Hour},
		{"max-age=99999999999999", "", time.Hour},
		{`max-age="600"`, "", 10 * time.Minute},
		{"no-cache", "", time.Minute},
		{"no-store, max-age=600", "", time.Minute},
		{"max-age=-1", "", time.Minute},
		{"max-age=ten", "", time.Minute},
		{"public", "", time.Hour},
		{"MAX-AGE=600", "x", 10 * time.Minute},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.cc != "" {
			h.Set("Cache-Control", tt.cc)
		}
		if tt.age != "" {
			h.Set("Age", tt.age)
		}
		if got := set.lifetime(h); got != tt.want {
			t.Errorf("Cache-Control %q Age %q: lifetime %v, want %v", tt.cc, tt.age, got, tt.want)
		}
	}
}

// TestUnknownKeyOneRefetch checks that a token naming an unknown key id
// causes exactly one refetch, after which further unknown ids are refused
// without fetching until MinRefresh has passed.
func TestUnknownKeyOneRefetch(t *testing.T) {
	idp := newTestIdP(t)
	idp.addKey(t)
	clock := testclock.New(t0)
	set, _ := newTestSet(t, idp, clock, nil)
	ctx := t.Context()
	v, err := set.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute) // past MinRefresh, within the lifetime

	v2, err := set.Refresh(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if got := idp.jwksGets.Load(); got != 2 {
		t.Fatalf("%d fetches after one unknown kid, want 2", got)
	}
	for range 5 {
		v3, err := set.Refresh(ctx, v2)
		if err != nil {
			t.Fatal(err)
		}
		if v3 != v2 {
			t.Error("a rate-limited Refresh returned other keys")
		}
	}
	if got := idp.jwksGets.Load(); got != 2 {
		t.Errorf("%d fetches after repeated unknown kids, want still 2", got)
	}
	want := Stats{Fetches: 2, UnknownKeyFetches: 1, RateLimited: 5}
	if diff := cmp.Diff(want, set.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

// TestRotationPickedUp checks that a key the provider starts using is found
// by the refetch its first token causes, without waiting for the lifetime.
func TestRotationPickedUp(t *testing.T) {
	idp := newTestIdP(t)
	old := idp.addKey(t)
	clock := testclock.New(t0)
	set, _ := newTestSet(t, idp, clock, nil)
	ctx := t.Context()
	v, err := set.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}

	next := idp.addKey(t)
	clock.Advance(90 * time.Second)
	if v.HasKey(next.KeyID()) {
		t.Fatal("the cached keys already hold the new key")
	}
	v2, err := set.Refresh(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if !v2.HasKey(next.KeyID()) || !v2.HasKey(old.KeyID()) {
		t.Errorf("after rotation: has new %v, has old %v; want both", v2.HasKey(next.KeyID()), v2.HasKey(old.KeyID()))
	}
	// The old key is withdrawn: the next scheduled fetch drops it.
	idp.setKeys(t, next)
	clock.Advance(5 * time.Minute)
	v3, err := set.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v3.HasKey(old.KeyID()) || !v3.HasKey(next.KeyID()) {
		t.Errorf("after withdrawal: has old %v, has new %v; want only new", v3.HasKey(old.KeyID()), v3.HasKey(next.KeyID()))
	}
}

// TestStaleThenFailClosed checks that when the key set endpoint fails, the
// last good keys are used until lifetime + Stale, then Keys fails closed
// with ErrUnavailable; each failure is logged and counted; and keys come
// back when the endpoint does.
func TestStaleThenFailClosed(t *testing.T) {
	idp := newTestIdP(t)
	s1 := idp.addKey(t)
	clock := testclock.New(t0)
	set, logs := newTestSet(t, idp, clock, func(o *Options) { o.Stale = 30 * time.Minute })
	ctx := t.Context()
	if _, err := set.Keys(ctx); err != nil {
		t.Fatal(err)
	}

	idp.setStatus(http.StatusServiceUnavailable)
	// Lifetime 5 m, stale 30 m: usable until 35 m after the fetch.
	for _, at := range []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 34*time.Minute + 59*time.Second} {
		clock.Set(t0.Add(at))
		v, err := set.Keys(ctx)
		if err != nil {
			t.Fatalf("at %v: Keys: %v, want the stale keys", at, err)
		}
		if !v.HasKey(s1.KeyID()) {
			t.Fatalf("at %v: stale keys lack the key", at)
		}
	}
	clock.Set(t0.Add(35 * time.Minute))
	if _, err := set.Keys(ctx); !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrFetch) {
		t.Fatalf("at 35m: Keys error %v, want ErrUnavailable wrapping ErrFetch", err)
	}
	st := set.Stats()
	if st.Failures < 4 || st.Failures != uint64(strings.Count(logs.String(), "jwks fetch failed")) {
		t.Errorf("Failures = %d, %d logged; want at least 4, each logged", st.Failures, strings.Count(logs.String(), "jwks fetch failed"))
	}
	if st.StaleServed < 4 || st.Unavailable != 1 {
		t.Errorf("StaleServed = %d (want >= 4), Unavailable = %d (want 1)", st.StaleServed, st.Unavailable)
	}
	if !strings.Contains(logs.String(), "status 503") {
		t.Errorf("the failure log does not say why:\n%s", logs)
	}

	// The provider is back: after the backoff, keys are fetched again.
	idp.setStatus(http.StatusOK)
	clock.Advance(DefaultRetryMax)
	if _, err := set.Keys(ctx); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if got := set.Stats().Fetches; got != 2 {
		t.Errorf("Fetches = %d after recovery, want 2", got)
	}
}

// TestNoStale checks that a negative Stale fails closed as soon as the
// lifetime has passed and a fetch fails.
func TestNoStale(t *testing.T) {
	idp := newTestIdP(t)
	idp.addKey(t)
	clock := testclock.New(t0)
	set, _ := newTestSet(t, idp, clock, func(o *Options) { o.Stale = -1 })
	if _, err := set.Keys(t.Context()); err != nil {
		t.Fatal(err)
	}
	idp.setStatus(http.StatusInternalServerError)
	clock.Advance(5 * time.Minute)
	if _, err := set.Keys(t.Context()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Keys = %v, want ErrUnavailable", err)
	}
}

// TestBackoff checks that failed fetches are retried no sooner than the
// jittered exponential backoff allows, and that requests in between fail
// fast without fetching.
func TestBackoff(t *testing.T) {
	idp := newTestIdP(t)
	idp.addKey(t)
	idp.setStatus(http.StatusBadGateway)
	clock := testclock.New(t0)
	set, _ := newTestSet(t, idp, clock, func(o *Options) {
		o.RetryMin, o.RetryMax = 10*time.Second, 80*time.Second
	})
	ctx := t.Context()
	// Nominal delays 10, 20, 40, 80, 80 s; each actual delay is in [d/2, d].
	// Walking the clock in 1 s steps over 400 s allows at most one attempt
	// per half-delay and at least one per full delay.
	var attemptsAt []time.Duration
	for i := 0; i <= 400; i++ {
		before := idp.jwksGets.Load()
		if _, err := set.Keys(ctx); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("at %ds: Keys = %v, want ErrUnavailable", i, err)
		}
		if idp.jwksGets.Load() != before {
			attemptsAt = append(attemptsAt, time.Duration(i)*time.Second)
		}
		clock.Advance(time.Second)
	}
	for i := 1; i < len(attemptsAt); i++ {
		gap := attemptsAt[i] - attemptsAt[i-1]
		d := min(10*time.Second<<(i-1), 80*time.Second)
		if gap < d/2 || gap > d+time.Second {
			t.Errorf("gap %d = %v, want within [%v, %v]", i, gap, d/2, d)
		}
	}
	// Full delays put attempts at 0, 10, 30, 70, 150, 230, 310, 390 s (8);
	// half delays at 0, 5, 15, 35, 75, 115, ..., 395 s (13).
	if n := len(attemptsAt); n < 8 || n > 13 {
		t.Errorf("%d attempts in 400 s (%v), want 8..13", n, attemptsAt)
	}
	if got := set.Stats().Failures; got != uint64(len(attemptsAt)) {
		t.Errorf("Failures = %d, want %d", got, len(attemptsAt))
	}
}

// TestRandomKeyIDsRateLimited checks the defence against tokens with
// made-up key ids: 1000 of them, arriving over 10 simulated minutes, cause
// no more fetches than MinRefresh allows.
func TestRandomKeyIDsRateLimited(t *testing.T) {
	idp := newTestIdP(t)
	idp.addKey(t)
	clock := testclock.New(t0)
	set, _ := newTestSet(t, idp, clock, nil)
	ctx := t.Context()
	v, err := set.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const requests = 1000
	const span = 10 * time.Minute
	for i := range requests {
		clock.Set(t0.Add(span * time.Duration(i) / requests))
		// Any token with an unknown kid leads here; the kid itself is
		// not the Set's concern, only that it was unknown.
		if v, err = set.Refresh(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	// One fetch at 0 by Keys, then at most one per MinRefresh.
	maxFetches := 1 + int64(span/DefaultMinRefresh)
	if got := idp.jwksGets.Load(); got > maxFetches || got < 2 {
		t.Errorf("%d fetches for %d unknown kids over %v, want 2..%d", got, requests, span, maxFetches)
	}
	st := set.Stats()
	if st.UnknownKeyFetches+st.RateLimited != requests {
		t.Errorf("UnknownKeyFetches %d + RateLimited %d != %d", st.UnknownKeyFetches, st.RateLimited, requests)
	}
}

// TestSingleFlight checks that concurrent refreshes share one fetch and all
// see its keys, and that a waiting caller can give up with its context.
func TestSingleFlight(t *testing.T) {
	idp := newTestIdP(t)
	idp.addKey(t)
	clock := testclock.New(t0)
	set, _ := newTestSet(t, idp, clock, nil)
	ctx := t.Context()
	v, err := set.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := idp.addKey(t)
	clock.Advance(2 * time.Minute)

	arrived, release := idp.hold()
	defer release()
	const n = 50
	type result struct {
		v   *token.Verifier
		err error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			v2, err := set.Refresh(ctx, v)
			results <- result{v2, err}
		})
	}
	<-arrived // one caller's fetch is in flight, held by the provider
	// A caller whose context ends stops waiting; the fetch goes on.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := set.Refresh(cctx, v); !errors.Is(err, context.Canceled) {
		t.Errorf("Refresh with a cancelled context while a fetch is in flight = %v, want context.Canceled", err)
	}
	release()
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if !r.v.HasKey(next.KeyID()) {
			t.Error("a concurrent caller did not get the refetched keys")
		}
	}
	if got := idp.jwksGets.Load(); got != 2 {
		t.Errorf("%d fetches for %d concurrent unknown kids, want 2 (the first and one refetch)", got, n)
	}
}

// TestFirstFetchFailsClosed checks that before any key set was fetched, a
// failure is ErrUnavailable, not an empty key set.
func TestFirstFetchFailsClosed(t *testing.T) {
	idp := newTestIdP(t)
	idp.addKey(t)
	idp.setStatus(http.StatusNotFound)
	clock := testclock.New(t0)
	set, logs := newTestSet(t, idp, clock, nil)
	for range 3 {
		if _, err := set.Keys(t.Context()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Keys = %v, want ErrUnavailable", err)
		}
	}
	if got, logged := set.Stats().Failures, strings.Count(logs.String(), "jwks fetch failed"); got != 1 || logged != 1 {
		t.Errorf("Failures = %d, logged %d; want 1 and 1 (the others are backing off)", got, logged)
	}
	// A 404 from a discovered jwks_uri discovers again next time.
	idp.setStatus(http.StatusOK)
	clock.Advance(DefaultRetryMin)
	if _, err := set.Keys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := idp.metaGets.Load(); got != 2 {
		t.Errorf("%d discovery requests, want 2", got)
	}
}

// TestNew checks option validation.
func TestNew(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
		ok   bool
	}{
		{"nil", nil, false},
		{"neither issuer nor jwks_uri", &Options{}, false},
		{"issuer", &Options{Issuer: "https://idp.example"}, true},
		{"jwks_uri", &Options{JWKSURI: "https://idp.example/keys"}, true},
		{"http issuer", &Options{Issuer: "http://idp.example"}, true},
		{"http issuer with RequireHTTPS", &Options{Issuer: "http://idp.example", RequireHTTPS: true}, false},
		{"http jwks_uri with RequireHTTPS", &Options{Issuer: "https://idp.example", JWKSURI: "http://idp.example/k", RequireHTTPS: true}, false},
		{"relative issuer", &Options{Issuer: "/idp"}, false},
		{"user info", &Options{Issuer: "https://u:p@idp.example"}, false},
		{"ftp", &Options{JWKSURI: "ftp://idp.example/k"}, false},
		{"min above max", &Options{Issuer: "https://idp.example", MinRefresh: 2 * time.Hour}, false},
		{"negative", &Options{Issuer: "https://idp.example", Timeout: -1}, false},
		{"retry min above max", &Options{Issuer: "https://idp.example", RetryMin: time.Hour}, false},
	}
	for _, tt := range tests {
		_, err := New(tt.opts)
		if (err == nil) != tt.ok {
			t.Errorf("%s: New error %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestFetchLimits checks what a fetch refuses: oversized bodies, cross-host
// and downgrading redirects, http under RequireHTTPS, non-JSON bodies, and
// slow answers (Timeout); a same-host redirect is followed.
func TestFetchLimits(t *testing.T) {
	key, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	jwksBody := fmt.Sprintf(`{"keys":[%s]}`, mustJSON(t, key.Public()))
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(jwksBody))
	}))
	t.Cleanup(other.Close)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(jwksBody)) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("x", 2048) + `"}`))
	})
	mux.HandleFunc("/redirect-same", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/redirect-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/ok", http.StatusFound)
	})
	mux.HandleFunc("/redirect-loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/redirect-loop", http.StatusFound)
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(jwksBody))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tlsSrv := httptest.NewTLSServer(mux)
	t.Cleanup(tlsSrv.Close)
	tlsDowngrade := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/ok", http.StatusFound)
	}))
	t.Cleanup(tlsDowngrade.Close)

	tests := []struct {
		name    string
		opts    Options
		wantErr string // "" = success
	}{
		{"ok", Options{JWKSURI: srv.URL + "/ok"}, ""},
		{"same-host redirect", Options{JWKSURI: srv.URL + "/redirect-same"}, ""},
		{"cross-host redirect", Options{JWKSURI: srv.URL + "/redirect-other"}, "another host"},
		{"redirect loop", Options{JWKSURI: srv.URL + "/redirect-loop"}, "redirects"},
		{"body over MaxBytes", Options{JWKSURI: srv.URL + "/big", MaxBytes: 1024}, "too large"},
		{"html", Options{JWKSURI: srv.URL + "/html"}, "not JSON"},
		{"timeout", Options{JWKSURI: srv.URL + "/slow", Timeout: 50 * time.Millisecond}, "deadline exceeded"},
		{"https", Options{JWKSURI: tlsSrv.URL + "/ok", RequireHTTPS: true, Transport: tlsSrv.Client().Transport}, ""},
		{"https to http redirect", Options{JWKSURI: tlsDowngrade.URL + "/", Transport: tlsDowngrade.Client().Transport}, "https to http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Clock = testclock.New(t0).Now
			set, err := New(&opts)
			if err != nil {
				t.Fatal(err)
			}
			v, err := set.Keys(t.Context())
			if tt.wantErr == "" {
				if err != nil || !v.HasKey(key.KeyID) {
					t.Fatalf("Keys = %v; want the key", err)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Keys error %v, want ErrUnavailable mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestDiscovery checks jwks_uri discovery: the OpenID document first, the
// path-inserted RFC 8414 document for an issuer with a path, and refusal of
// documents naming another issuer or an http jwks_uri under RequireHTTPS.
func TestDiscovery(t *testing.T) {
	key, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	jwksBody := fmt.Sprintf(`{"keys":[%s]}`, mustJSON(t, key.Public()))
	var srv *httptest.Server
	var mu sync.Mutex
	var paths []string
	docs := map[string]func() string{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		doc := docs[r.URL.Path]
		mu.Unlock()
		if r.URL.Path == "/keys" {
			w.Write([]byte(jwksBody))
			return
		}
		if doc == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(doc()))
	}))
	t.Cleanup(srv.Close)
	meta := func(iss, jwks string) func() string {
		return func() string { return fmt.Sprintf(`{"issuer":%q,"jwks_uri":%q}`, iss, jwks) }
	}
	tests := []struct {
		name      string
		issuer    func() string
		docs      func() map[string]func() string
		wantPaths []string
		wantErr   string
	}{
		{
			name:   "openid configuration",
			issuer: func() string { return srv.URL },
			docs: func() map[string]func() string {
				return map[string]func() string{"/.well-known/openid-configuration": meta(srv.URL, srv.URL+"/keys")}
			},
			wantPaths: []string{"/.well-known/openid-configuration", "/keys"},
		},
		{
			name:   "RFC 8414 without a path",
			issuer: func() string { return srv.URL },
			docs: func() map[string]func() string {
				return map[string]func() string{"/.well-known/oauth-authorization-server": meta(srv.URL, srv.URL+"/keys")}
			},
			wantPaths: []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/keys"},
		},
		{
			name:   "RFC 8414 path-inserted",
			issuer: func() string { return srv.URL + "/tenant/a" },
			docs: func() map[string]func() string {
				return map[string]func() string{"/.well-known/oauth-authorization-server/tenant/a": meta(srv.URL+"/tenant/a", srv.URL+"/keys")}
			},
			wantPaths: []string{"/tenant/a/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant/a", "/keys"},
		},
		{
			name:   "OpenID path-inserted",
			issuer: func() string { return srv.URL + "/tenant/a" },
			docs: func() map[string]func() string {
				return map[string]func() string{"/.well-known/openid-configuration/tenant/a": meta(srv.URL+"/tenant/a", srv.URL+"/keys")}
			},
			wantPaths: []string{"/tenant/a/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant/a", "/.well-known/openid-configuration/tenant/a", "/keys"},
		},
		{
			name:   "issuer mismatch",
			issuer: func() string { return srv.URL },
			docs: func() map[string]func() string {
				return map[string]func() string{"/.well-known/openid-configuration": meta("https://evil.example", srv.URL+"/keys")}
			},
			wantPaths: []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"},
			wantErr:   `issuer "https://evil.example"`,
		},
		{
			name:   "trailing slash is another issuer",
			issuer: func() string { return srv.URL },
			docs: func() map[string]func() string {
				return map[string]func() string{"/.well-known/openid-configuration": meta(srv.URL+"/", srv.URL+"/keys")}
			},
			wantPaths: []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"},
			wantErr:   "want",
		},
		{
			name:   "no jwks_uri",
			issuer: func() string { return srv.URL },
			docs: func() map[string]func() string {
				return map[string]func() string{"/.well-known/openid-configuration": func() string { return fmt.Sprintf(`{"issuer":%q}`, srv.URL) }}
			},
			wantPaths: []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"},
			wantErr:   "no jwks_uri",
		},
		{
			name:      "no metadata",
			issuer:    func() string { return srv.URL },
			docs:      func() map[string]func() string { return nil },
			wantPaths: []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"},
			wantErr:   "status 404",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			paths, docs = nil, tt.docs()
			mu.Unlock()
			set, err := New(&Options{Issuer: tt.issuer(), Clock: testclock.New(t0).Now})
			if err != nil {
				t.Fatal(err)
			}
			_, err = set.Keys(t.Context())
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Keys: %v", err)
			}
			if tt.wantErr != "" && (!errors.Is(err, ErrDiscovery) || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Keys error %v, want ErrDiscovery mentioning %q", err, tt.wantErr)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiscoveryURLs checks the candidate metadata URLs.
func TestDiscoveryURLs(t *testing.T) {
	tests := []struct {
		issuer string
		want   []string
	}{
		{"https://idp.example", []string{
			"https://idp.example/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server",
		}},
		{"https://idp.example/", []string{
			"https://idp.example/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server",
		}},
		{"https://idp.example:8443/realms/mcp", []string{
			"https://idp.example:8443/realms/mcp/.well-known/openid-configuration",
			"https://idp.example:8443/.well-known/oauth-authorization-server/realms/mcp",
			"https://idp.example:8443/.well-known/openid-configuration/realms/mcp",
		}},
		{"https://idp.example/a%20b/", []string{
			"https://idp.example/a%20b/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server/a%20b",
			"https://idp.example/.well-known/openid-configuration/a%20b",
		}},
		{"https://idp.example?x=1", nil},
		{"idp.example", nil},
	}
	for _, tt := range tests {
		got, err := DiscoveryURLs(tt.issuer)
		if tt.want == nil {
			if err == nil {
				t.Errorf("DiscoveryURLs(%q) = %q, want an error", tt.issuer, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("DiscoveryURLs(%q): %v", tt.issuer, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("DiscoveryURLs(%q) (-want +got):\n%s", tt.issuer, diff)
		}
	}
}

// TestTotalStats checks that the process-wide counters include each Set's.
func TestTotalStats(t *testing.T) {
	before := TotalStats()
	idp := newTestIdP(t)
	idp.addKey(t)
	set, _ := newTestSet(t, idp, testclock.New(t0), nil)
	if _, err := set.Keys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := TotalStats(); after.Fetches < before.Fetches+1 {
		t.Errorf("TotalStats().Fetches = %d, want at least %d", after.Fetches, before.Fetches+1)
	}
}

// FuzzCacheControl feeds arbitrary Cache-Control and Age values to the
// lifetime computation: it must never panic and always stay within
// [MinRefresh, MaxAge].
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=300", "no-cache", "public, max-age=-1", `max-age="9"`, "max-age=99999999999999999999", ",,=,", "MAX-AGE = 5"} {
		f.Add(s, "10")
	}
	set, err := New(&Options{JWKSURI: "https://idp.example/jwks", MinRefresh: time.Minute, MaxAge: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cc, age string) {
		h := http.Header{"Cache-Control": {cc}, "Age": {age}}
		if got := set.lifetime(h); got < time.Minute || got > time.Hour {
			t.Fatalf("lifetime(%q, Age %q) = %v, outside [1m, 1h]", cc, age, got)
		}
	})
}
