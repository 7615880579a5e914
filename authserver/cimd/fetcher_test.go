package cimd

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/google/go-cmp/cmp"
)

// docServer is a real HTTPS server (httptest's self-signed certificate,
// trusted by the fetchers the tests build) that publishes client metadata
// documents. handle, when set, answers instead of the default, which serves
// a valid document whose client_id is the request URL.
type docServer struct {
	ts       *httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	handle   func(w http.ResponseWriter, r *http.Request)
	lastReq  *http.Request
}

func newDocServer(t testing.TB) *docServer {
	t.Helper()
	d := &docServer{}
	d.ts = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.requests.Add(1)
		d.mu.Lock()
		h := d.handle
		d.lastReq = r.Clone(context.Background())
		d.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		serveDoc(w, d.ts.URL+r.URL.RequestURI(), nil, "max-age=300")
	}))
	t.Cleanup(d.ts.Close)
	return d
}

func (d *docServer) setHandler(h func(w http.ResponseWriter, r *http.Request)) {
	d.mu.Lock()
	d.handle = h
	d.mu.Unlock()
}

// url returns the client identifier URL of path on the server.
func (d *docServer) url(path string) string { return d.ts.URL + path }

// validDoc is a valid document of clientID as a JSON object.
func validDoc(clientID string) map[string]any {
	return map[string]any{
		"client_id":                  clientID,
		"client_name":                "Example MCP Client",
		"redirect_uris":              []string{"http://127.0.0.1/callback", "https://app.example/cb"},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
		"client_uri":                 "https://app.example/",
	}
}

// serveDoc writes validDoc(clientID), changed by mod, with cacheControl.
func serveDoc(w http.ResponseWriter, clientID string, mod func(map[string]any), cacheControl string) {
	doc := validDoc(clientID)
	if mod != nil {
		mod(doc)
	}
	b, _ := json.Marshal(doc)
	w.Header().Set("Content-Type", "application/json")
	if cacheControl != "" {
		w.Header().Set("Cache-Control", cacheControl)
	}
	w.Write(b)
}

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newTestFetcher returns a fetcher that trusts d's certificate and may
// connect to loopback (where d listens); mod changes the options.
func newTestFetcher(t testing.TB, d *docServer, clock *testclock.Clock, mod func(*Options)) *Fetcher {
	t.Helper()
	opts := &Options{
		TLSConfig: d.ts.Client().Transport.(*http.Transport).TLSClientConfig,
		AllowAddr: func(a netip.Addr) bool { return a.IsLoopback() },
		Clock:     clock.Now,
	}
	if mod != nil {
		mod(opts)
	}
	f, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestResolve(t *testing.T) {
	d := newDocServer(t)
	clock := testclock.New(testStart)
	f := newTestFetcher(t, d, clock, nil)
	id := d.url("/oauth/client.json?v=1")
	c, err := f.Resolve(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := &store.Client{
		ID:                      id,
		Name:                    "Example MCP Client",
		RedirectURIs:            []string{"http://127.0.0.1/callback", "https://app.example/cb"},
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: "none",
		Metadata:                store.Claims{"client_uri": "https://app.example/"},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("client (-want +got):\n%s", diff)
	}
	d.mu.Lock()
	req := d.lastReq
	d.mu.Unlock()
	if req.Method != http.MethodGet || req.URL.RequestURI() != "/oauth/client.json?v=1" ||
		req.Header.Get("Accept") != "application/json" || !strings.HasPrefix(req.Header.Get("User-Agent"), "frontmcp-cimd") ||
		req.Header.Get("Cookie") != "" || req.Header.Get("Authorization") != "" {
		t.Errorf("request = %s %s, headers %v", req.Method, req.URL.RequestURI(), req.Header)
	}
	// The caller owns the returned client: changing it does not change the
	// cached one.
	c.RedirectURIs[0] = "https://evil.example/cb"
	c.Metadata["client_uri"] = "x"
	again, err := f.Resolve(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("cached client changed by the caller (-want +got):\n%s", diff)
	}
	if n := d.requests.Load(); n != 1 {
		t.Errorf("%d requests; want 1 (the second Resolve is served from the cache)", n)
	}
}

// Documents that are retrieved but wrong are refused with ErrDocument.
func TestResolveDocumentErrors(t *testing.T) {
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter, id string)
		msg   string
	}{
		{"client_id mismatch", func(w http.ResponseWriter, id string) {
			serveDoc(w, id+"/other", nil, "")
		}, "does not equal the URL"},
		{"client_id differs in case", func(w http.ResponseWriter, id string) {
			serveDoc(w, strings.ToUpper(id[:5])+id[5:], nil, "")
		}, "does not equal the URL"},
		{"client_id missing", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { delete(m, "client_id") }, "")
		}, "client_id is required"},
		{"client_id not a string", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["client_id"] = 1 }, "")
		}, "client_id must be a string"},
		{"client_name missing", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { delete(m, "client_name") }, "")
		}, "client_name is required"},
		{"client_name blank", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["client_name"] = "  " }, "")
		}, "client_name must be"},
		{"redirect_uris missing", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { delete(m, "redirect_uris") }, "")
		}, "redirect_uris is required"},
		{"redirect_uris empty", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["redirect_uris"] = []string{} }, "")
		}, "redirect_uris is required"},
		{"redirect_uri http on a public host", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["redirect_uris"] = []string{"http://app.example/cb"} }, "")
		}, "redirect_uris"},
		{"redirect_uri javascript", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["redirect_uris"] = []string{"javascript:alert(1)"} }, "")
		}, "redirect_uris"},
		{"client_secret present", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["client_secret"] = "s3cret" }, "")
		}, "client_secret must not be present"},
		{"shared-secret auth method", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["token_endpoint_auth_method"] = "client_secret_basic" }, "")
		}, "shared secret"},
		{"private_key_jwt", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["token_endpoint_auth_method"] = "private_key_jwt" }, "")
		}, "not supported"},
		{"grant_types without authorization_code", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["grant_types"] = []string{"client_credentials"} }, "")
		}, "authorization_code"},
		{"response_types without code", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["response_types"] = []string{"token"} }, "")
		}, "response_types"},
		{"logo_uri http", func(w http.ResponseWriter, id string) {
			serveDoc(w, id, func(m map[string]any) { m["logo_uri"] = "http://app.example/logo.png" }, "")
		}, "logo_uri"},
		{"array", func(w http.ResponseWriter, id string) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`[{"client_id":"` + id + `"}]`))
		}, "not a JSON object"},
		{"trailing data", func(w http.ResponseWriter, id string) {
			b, _ := json.Marshal(validDoc(id))
			w.Header().Set("Content-Type", "application/json")
			w.Write(append(b, "{}"...))
		}, "not a single JSON object"},
		{"not JSON", func(w http.ResponseWriter, id string) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("client_id=" + id))
		}, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDocServer(t)
			d.setHandler(func(w http.ResponseWriter, r *http.Request) { tt.serve(w, d.url(r.URL.RequestURI())) })
			f := newTestFetcher(t, d, testclock.New(testStart), nil)
			c, err := f.Resolve(context.Background(), d.url("/client.json"))
			if !errors.Is(err, ErrDocument) || errors.Is(err, ErrFetch) {
				t.Fatalf("Resolve = %v, %v; want ErrDocument", c, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// Responses other than a 200 JSON document of bounded size are refused with
// ErrFetch, and redirects are never followed.
func TestResolveFetchErrors(t *testing.T) {
	big := strings.Repeat("x", DefaultMaxBytes)
	tests := []struct {
		name   string
		handle func(d *docServer) http.HandlerFunc
		msg    string
	}{
		{"not found", func(*docServer) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
		}, "status 404"},
		{"redirect", func(d *docServer) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/moved.json" {
					serveDoc(w, d.url("/moved.json"), nil, "")
					return
				}
				http.Redirect(w, r, "/moved.json", http.StatusFound)
			}
		}, "redirect (status 302)"},
		{"permanent redirect", func(d *docServer) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, d.url("/moved.json"), http.StatusPermanentRedirect)
			}
		}, "redirect (status 308)"},
		{"html", func(d *docServer) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				b, _ := json.Marshal(validDoc(d.url(r.URL.RequestURI())))
				w.Header().Set("Content-Type", "text/html")
				w.Write(b)
			}
		}, "application/json"},
		{"no content type", func(d *docServer) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				b, _ := json.Marshal(validDoc(d.url(r.URL.RequestURI())))
				w.Header()["Content-Type"] = nil
				w.Write(b)
			}
		}, "application/json"},
		{"oversize with Content-Length", func(d *docServer) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				b, _ := json.Marshal(validDoc(d.url(r.URL.RequestURI())))
				b = append(b[:len(b)-1], `,"padding":"`+big+`"}`...)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", strconv.Itoa(len(b)))
				w.Write(b)
			}
		}, "larger than 5120 bytes"},
		{"oversize chunked", func(d *docServer) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				b, _ := json.Marshal(validDoc(d.url(r.URL.RequestURI())))
				w.Header().Set("Content-Type", "application/json")
				w.Write(b[:len(b)-1])
				w.(http.Flusher).Flush() // no Content-Length: the size is found while reading
				w.Write([]byte(`,"padding":"` + big + `"}`))
			}
		}, "larger than 5120 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDocServer(t)
			d.setHandler(tt.handle(d))
			f := newTestFetcher(t, d, testclock.New(testStart), nil)
			c, err := f.Resolve(context.Background(), d.url("/client.json"))
			if !errors.Is(err, ErrFetch) {
				t.Fatalf("Resolve = %v, %v; want ErrFetch", c, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if n := d.requests.Load(); n != 1 {
				t.Errorf("%d requests; want 1 (no redirect followed)", n)
			}
		})
	}
}

// A document of exactly MaxBytes is accepted; one byte more is not.
func TestResolveSizeLimit(t *testing.T) {
	for _, extra := range []int{0, 1} {
		d := newDocServer(t)
		d.setHandler(func(w http.ResponseWriter, r *http.Request) {
			b, _ := json.Marshal(validDoc(d.url(r.URL.RequestURI())))
			pad := 1000 - len(b) - len(`,"p":""`) + extra
			b = append(b[:len(b)-1], `,"p":"`+strings.Repeat("x", pad)+`"}`...)
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		})
		f := newTestFetcher(t, d, testclock.New(testStart), func(o *Options) { o.MaxBytes = 1000 })
		_, err := f.Resolve(context.Background(), d.url("/client.json"))
		if extra == 0 && err != nil {
			t.Errorf("document of MaxBytes: %v", err)
		}
		if extra == 1 && !errors.Is(err, ErrFetch) {
			t.Errorf("document of MaxBytes+1: err = %v; want ErrFetch", err)
		}
	}
}

// The default fetcher connects to public addresses only: names and literals
// that lead to loopback, private or link-local addresses are refused after
// resolution, before any connection, and nothing reaches the server.
func TestResolveRefusesNonPublicAddresses(t *testing.T) {
	d := newDocServer(t)
	port := d.ts.URL[strings.LastIndexByte(d.ts.URL, ':')+1:]
	f, err := New(&Options{
		TLSConfig: d.ts.Client().Transport.(*http.Transport).TLSClientConfig,
		Timeout:   2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{
		d.url("/client.json"),                             // 127.0.0.1, where the document is served
		"https://localhost:" + port + "/client.json",      // a name resolving to loopback
		"https://[::1]:" + port + "/client.json",          // IPv6 loopback
		"https://[::ffff:127.0.0.1]:" + port + "/c.json",  // IPv4-mapped loopback
		"https://10.1.2.3/client.json",                    // RFC 1918
		"https://192.168.0.10:" + port + "/client.json",   // RFC 1918
		"https://169.254.169.254/latest/meta-data/x.json", // link-local (cloud metadata)
		"https://100.64.0.1/client.json",                  // carrier-grade NAT
		"https://0.0.0.0:" + port + "/client.json",        // unspecified
		"https://[fd00::1]/client.json",                   // unique local
	} {
		c, err := f.Resolve(context.Background(), id)
		if !errors.Is(err, ErrFetch) || !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("Resolve(%s) = %v, %v; want ErrFetch with ErrForbiddenAddress", id, c, err)
		}
	}
	if n := d.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server; want 0", n)
	}
}

func TestResolveAllowedDomains(t *testing.T) {
	d := newDocServer(t)
	clock := testclock.New(testStart)
	f := newTestFetcher(t, d, clock, func(o *Options) { o.AllowedDomains = []string{"example.com", "*.clients.example"} })
	for _, id := range []string{d.url("/client.json"), "https://evil.example/client.json", "https://clients.example/c.json", "https://example.com.evil.example/c.json"} {
		if c, err := f.Resolve(context.Background(), id); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Resolve(%s) = %v, %v; want ErrNotAllowed", id, c, err)
		}
	}
	if n := d.requests.Load(); n != 0 {
		t.Errorf("%d requests; a refused host must not be fetched", n)
	}
	f = newTestFetcher(t, d, clock, func(o *Options) { o.AllowedDomains = []string{"127.0.0.1"} })
	if _, err := f.Resolve(context.Background(), d.url("/client.json")); err != nil {
		t.Errorf("allowed host: %v", err)
	}
}

func TestDomainAllowed(t *testing.T) {
	patterns := []string{"example.com", "*.Clients.Example"}
	for host, want := range map[string]bool{
		"example.com":            true,
		"EXAMPLE.com":            true,
		"www.example.com":        false,
		"a.clients.example":      true,
		"a.b.clients.example":    true,
		"clients.example":        false,
		"evilclients.example":    false,
		"example.com.evil":       false,
		"a.clients.example.evil": false,
	} {
		if got := domainAllowed(host, patterns); got != want {
			t.Errorf("domainAllowed(%q) = %v; want %v", host, got, want)
		}
	}
	if !domainAllowed("anything.example", nil) {
		t.Error("no patterns must allow every host")
	}
}

// A second Resolve within the document's max-age does not reach the server;
// after it, the document is fetched again.
func TestResolveCacheHonoured(t *testing.T) {
	d := newDocServer(t) // max-age=300
	clock := testclock.New(testStart)
	f := newTestFetcher(t, d, clock, nil)
	id := d.url("/client.json")
	resolve := func(wantRequests int64) {
		t.Helper()
		if _, err := f.Resolve(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if n := d.requests.Load(); n != wantRequests {
			t.Fatalf("at +%v: %d requests; want %d", clock.Now().Sub(testStart), n, wantRequests)
		}
	}
	resolve(1)
	resolve(1)
	clock.Advance(299 * time.Second)
	resolve(1)
	clock.Advance(2 * time.Second)
	resolve(2)
	resolve(2)
}

// Cache lifetimes come from Cache-Control or Expires, clamped to
// [CacheMin, CacheMax].
func TestResolveCacheBounds(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		cached time.Duration // still cached just before this
	}{
		{"max-age below CacheMin", http.Header{"Cache-Control": {"public, max-age=5"}}, time.Minute},
		{"max-age above CacheMax", http.Header{"Cache-Control": {"max-age=99999999"}}, time.Hour},
		{"max-age less Age", http.Header{"Cache-Control": {"max-age=600"}, "Age": {"300"}}, 5 * time.Minute},
		{"no-store", http.Header{"Cache-Control": {"no-store"}}, time.Minute},
		{"no-cache wins over max-age", http.Header{"Cache-Control": {"max-age=600", "no-cache"}}, time.Minute},
		{"invalid max-age", http.Header{"Cache-Control": {"max-age=soon"}}, time.Minute},
		{"no caching headers", http.Header{}, time.Minute},
		{"Expires", http.Header{"Expires": {testStart.Add(20 * time.Minute).Format(http.TimeFormat)}, "Date": {testStart.Format(http.TimeFormat)}}, 20 * time.Minute},
		{"invalid Expires", http.Header{"Expires": {"0"}}, time.Minute},
		{"max-age wins over Expires", http.Header{"Cache-Control": {"max-age=120"}, "Expires": {testStart.Add(50 * time.Minute).Format(http.TimeFormat)}}, 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDocServer(t)
			d.setHandler(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				serveDoc(w, d.url(r.URL.RequestURI()), nil, "")
			})
			clock := testclock.New(testStart)
			f := newTestFetcher(t, d, clock, func(o *Options) { o.CacheMin, o.CacheMax = time.Minute, time.Hour })
			id := d.url("/client.json")
			for _, step := range []struct {
				at   time.Duration
				want int64
			}{{0, 1}, {tt.cached - time.Second, 1}, {tt.cached, 2}} {
				clock.Set(testStart.Add(step.at))
				if _, err := f.Resolve(context.Background(), id); err != nil {
					t.Fatal(err)
				}
				if n := d.requests.Load(); n != step.want {
					t.Fatalf("at +%v: %d requests; want %d", step.at, n, step.want)
				}
			}
		})
	}
}

// Definite failures are remembered for ErrorTTL, then the URL is tried
// again.
func TestResolveErrorCached(t *testing.T) {
	d := newDocServer(t)
	d.setHandler(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	clock := testclock.New(testStart)
	f := newTestFetcher(t, d, clock, func(o *Options) { o.ErrorTTL = 30 * time.Second })
	id := d.url("/client.json")
	for range 3 {
		if _, err := f.Resolve(context.Background(), id); !errors.Is(err, ErrFetch) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v; want ErrFetch, not ErrUnavailable", err)
		}
	}
	if n := d.requests.Load(); n != 1 {
		t.Fatalf("%d requests; want 1 while the failure is remembered", n)
	}
	d.setHandler(nil) // fixed
	clock.Advance(30 * time.Second)
	if _, err := f.Resolve(context.Background(), id); err != nil {
		t.Fatalf("after ErrorTTL: %v", err)
	}
	if n := d.requests.Load(); n != 2 {
		t.Fatalf("%d requests; want 2", n)
	}
}

// Temporary failures (5xx, 408, 429, an unreachable host) are ErrUnavailable
// and are not remembered: the next request tries again.
func TestResolveTemporaryErrors(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusRequestTimeout} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			d := newDocServer(t)
			d.setHandler(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", status) })
			f := newTestFetcher(t, d, testclock.New(testStart), nil)
			id := d.url("/client.json")
			for i := range 2 {
				_, err := f.Resolve(context.Background(), id)
				if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "try again") {
					t.Fatalf("Resolve %d: err = %v; want ErrUnavailable with ErrFetch saying to try again", i, err)
				}
			}
			if n := d.requests.Load(); n != 2 {
				t.Fatalf("%d requests; want 2 (a temporary failure is not cached)", n)
			}
			d.setHandler(nil)
			if _, err := f.Resolve(context.Background(), id); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		d := newDocServer(t)
		f := newTestFetcher(t, d, testclock.New(testStart), nil)
		id := d.url("/client.json")
		d.ts.Close()
		if _, err := f.Resolve(context.Background(), id); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v; want ErrUnavailable", err)
		}
	})
}

// A document held from an earlier fetch stands in when a re-fetch fails
// temporarily (stale-if-error), for ErrorTTL at a time and for at most
// CacheMax after it was fetched; a definite failure replaces it.
func TestResolveStaleIfError(t *testing.T) {
	d := newDocServer(t)
	d.setHandler(func(w http.ResponseWriter, r *http.Request) {
		serveDoc(w, d.url(r.URL.RequestURI()), nil, "max-age=60")
	})
	clock := testclock.New(testStart)
	f := newTestFetcher(t, d, clock, func(o *Options) {
		o.CacheMax, o.ErrorTTL = 10*time.Minute, 30*time.Second
	})
	id := d.url("/client.json")
	resolve := func(wantRequests int64) (*store.Client, error) {
		t.Helper()
		c, err := f.Resolve(context.Background(), id)
		if n := d.requests.Load(); n != wantRequests {
			t.Fatalf("at +%v: %d requests; want %d", clock.Now().Sub(testStart), n, wantRequests)
		}
		return c, err
	}
	if _, err := resolve(1); err != nil {
		t.Fatal(err)
	}
	down := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusBadGateway) }
	d.setHandler(down)
	clock.Advance(61 * time.Second)
	if c, err := resolve(2); err != nil || c.Name != "Example MCP Client" {
		t.Fatalf("host down, copy 61s old: %v, %v; want the copy", c, err)
	}
	clock.Advance(29 * time.Second)
	if _, err := resolve(2); err != nil {
		t.Fatalf("within ErrorTTL of the failure: %v; want the copy without a fetch", err)
	}
	clock.Advance(time.Second)
	if _, err := resolve(3); err != nil {
		t.Fatalf("after ErrorTTL: %v; want the copy after a new attempt", err)
	}
	// CacheMax after the fetch, the copy is too old to stand in.
	clock.Set(testStart.Add(10 * time.Minute))
	if _, err := resolve(4); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("copy CacheMax old: err = %v; want ErrUnavailable", err)
	}

	// A definite failure is not papered over: the document is gone.
	d.setHandler(nil) // max-age=300
	if _, err := resolve(5); err != nil {
		t.Fatal(err)
	}
	d.setHandler(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	clock.Advance(301 * time.Second)
	if _, err := resolve(6); !errors.Is(err, ErrFetch) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("document removed: err = %v; want a definite ErrFetch", err)
	}
	d.setHandler(down)
	clock.Advance(30 * time.Second)
	if _, err := resolve(7); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after a definite failure the copy is gone: err = %v; want ErrUnavailable", err)
	}
}

// blockingHost serves documents, except that requests for paths starting
// with /slow wait until release is called (or the fetcher gives up). Each
// request to a slow path is reported on arrived.
func blockingHost(t *testing.T, d *docServer) (arrived chan string, release func()) {
	arrived = make(chan string, 16)
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the server closes
	d.setHandler(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slow") {
			arrived <- r.URL.Path
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		serveDoc(w, d.url(r.URL.RequestURI()), nil, "max-age=60")
	})
	return arrived, release
}

// A slow host gets at most MaxPerHost fetches at once; another fetch for it
// waits SlotWait for a slot and then fails with ErrUnavailable, which is not
// cached, while a document already held is served from its stale copy and
// other hosts are fetched as usual.
func TestResolvePerHostLimit(t *testing.T) {
	d := newDocServer(t)
	clock := testclock.New(testStart)
	// A second host: the same test certificate is valid for ::1.
	var other *httptest.Server
	if ln, err := net.Listen("tcp", "[::1]:0"); err == nil {
		other = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			serveDoc(w, other.URL+r.URL.RequestURI(), nil, "")
		}))
		other.Listener.Close()
		other.Listener = ln
		other.StartTLS()
		t.Cleanup(other.Close)
	}
	f := newTestFetcher(t, d, clock, func(o *Options) { o.SlotWait = 200 * time.Millisecond })
	held := d.url("/held.json")
	if _, err := f.Resolve(context.Background(), held); err != nil {
		t.Fatal(err)
	}
	clock.Advance(61 * time.Second) // the held copy is now stale
	arrived, release := blockingHost(t, d)

	var wg sync.WaitGroup
	for _, p := range []string{"/slow1.json", "/slow2.json"} {
		wg.Go(func() {
			if _, err := f.Resolve(context.Background(), d.url(p)); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		})
	}
	<-arrived
	<-arrived // both of the host's slots are taken

	_, err := f.Resolve(context.Background(), d.url("/slow3.json"))
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("third fetch to a busy host: err = %v; want ErrUnavailable saying the server is busy", err)
	}
	if c, err := f.Resolve(context.Background(), held); err != nil || c.ID != held {
		t.Fatalf("held document while its host is busy: %v, %v; want the stale copy", c, err)
	}
	if other != nil {
		if _, err := f.Resolve(context.Background(), other.URL+"/client.json"); err != nil {
			t.Errorf("another host while the first is busy: %v", err)
		}
	}
	if n := d.requests.Load(); n != 3 {
		t.Errorf("%d requests to the busy host; want 3 (held, slow1, slow2)", n)
	}
	release()
	wg.Wait()
	// "Busy" was not remembered.
	if _, err := f.Resolve(context.Background(), d.url("/slow3.json")); err != nil {
		t.Fatalf("after the host is free: %v", err)
	}
}

// A server that does not answer makes Resolve fail after Timeout; a caller
// whose context ends stops waiting at once.
func TestResolveTimeout(t *testing.T) {
	d := newDocServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	arrived := make(chan struct{}, 16)
	d.setHandler(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		// Never answer: the fetch must end by its own timeout, not on an
		// empty 200 written as the handler returns.
		panic(http.ErrAbortHandler)
	})
	f := newTestFetcher(t, d, testclock.New(testStart), func(o *Options) { o.Timeout = 300 * time.Millisecond })
	_, err := f.Resolve(context.Background(), d.url("/slow.json"))
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "within 300ms") {
		t.Fatalf("err = %v; want ErrFetch naming the timeout", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.Resolve(ctx, d.url("/slow2.json"))
		done <- err
	}()
	<-arrived // the first request
	<-arrived // this one's fetch is at the server
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
}

// Concurrent resolutions of one URL share one fetch.
func TestResolveSingleFlight(t *testing.T) {
	d := newDocServer(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	d.setHandler(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		serveDoc(w, d.url(r.URL.RequestURI()), nil, "max-age=60")
	})
	f := newTestFetcher(t, d, testclock.New(testStart), nil)
	id := d.url("/client.json")
	const n = 8
	var wg sync.WaitGroup
	names := make(chan string, n)
	for range n {
		wg.Go(func() {
			c, err := f.Resolve(context.Background(), id)
			if err != nil {
				t.Error(err)
				return
			}
			names <- c.Name
		})
	}
	<-arrived
	close(release)
	wg.Wait()
	close(names)
	for name := range names {
		if name != "Example MCP Client" {
			t.Errorf("name = %q", name)
		}
	}
	if got := d.requests.Load(); got != 1 {
		t.Errorf("%d requests; want 1", got)
	}
}

// The cache holds at most MaxEntries results.
func TestResolveCacheBounded(t *testing.T) {
	d := newDocServer(t)
	clock := testclock.New(testStart)
	f := newTestFetcher(t, d, clock, func(o *Options) { o.MaxEntries = 2 })
	for i := range 5 {
		if _, err := f.Resolve(context.Background(), d.url("/c"+strconv.Itoa(i)+".json")); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	f.mu.Lock()
	n := len(f.cache)
	_, newest := f.cache[d.url("/c4.json")]
	f.mu.Unlock()
	if n != 2 || !newest {
		t.Errorf("cache holds %d entries (newest present: %v); want 2 with the newest", n, newest)
	}
}

// http client identifiers on loopback are accepted only with
// AllowLoopbackHTTP.
func TestResolveLoopbackHTTP(t *testing.T) {
	var requests atomic.Int64
	var ts *httptest.Server
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		serveDoc(w, ts.URL+r.URL.RequestURI(), nil, "")
	}))
	t.Cleanup(ts.Close)
	id := ts.URL + "/client.json"

	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Resolve(context.Background(), id); !errors.Is(err, ErrClientID) {
		t.Errorf("default: err = %v; want ErrClientID", err)
	}
	f, err = New(&Options{AllowLoopbackHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := f.Resolve(context.Background(), id); err != nil || c.ID != id {
		t.Errorf("AllowLoopbackHTTP: %v, %v", c, err)
	}
	// Loopback is allowed; private addresses are still not.
	if _, err := f.Resolve(context.Background(), "https://10.0.0.1/c.json"); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("private address with AllowLoopbackHTTP: err = %v; want ErrForbiddenAddress", err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests; want 1", n)
	}
}

func TestNewOptions(t *testing.T) {
	for _, o := range []*Options{
		{CacheMin: time.Hour, CacheMax: time.Minute},
		{Timeout: -1},
		{MaxPerHost: -1},
		{MaxPerSite: -1},
		{SlotWait: -1},
		{AllowedDomains: []string{"https://example.com"}},
		{AllowedDomains: []string{"*"}},
		{AllowedDomains: []string{"a.*.example"}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func TestSiteOf(t *testing.T) {
	for _, tc := range []struct{ host, wantHost, wantSite string }{
		{"client.example.com", "client.example.com", "example.com"},
		{"A.B.Example.COM", "a.b.example.com", "example.com"},
		{"example.com", "example.com", "example.com"},
		{"app.example.co.uk", "app.example.co.uk", "example.co.uk"},
		{"alice.github.io", "alice.github.io", "alice.github.io"}, // a private suffix: one site per user
		{"bob.github.io", "bob.github.io", "bob.github.io"},
		{"co.uk", "co.uk", "co.uk"}, // a public suffix is its own site
		{"localhost", "localhost", "localhost"},
		{"127.0.0.1", "127.0.0.1", "127.0.0.1"},
		{"::ffff:127.0.0.1", "127.0.0.1", "127.0.0.1"},
		{"::1", "::1", "::/64"},
		{"2600:1f18::1", "2600:1f18::1", "2600:1f18::/64"},
		{"2600:1f18:0::0:1", "2600:1f18::1", "2600:1f18::/64"}, // one address, spelled otherwise
		{"2600:1f18::ab:1", "2600:1f18::ab:1", "2600:1f18::/64"},
		{"2600:1f18:0:1::1", "2600:1f18:0:1::1", "2600:1f18:0:1::/64"},
	} {
		if got := hostOf(tc.host); got != tc.wantHost {
			t.Errorf("hostOf(%q) = %q, want %q", tc.host, got, tc.wantHost)
		}
		if got := siteOf(tc.host); got != tc.wantSite {
			t.Errorf("siteOf(%q) = %q, want %q", tc.host, got, tc.wantSite)
		}
	}
}

// A host gets MaxPerHost fetches at once and its site MaxPerSite: with
// both of a.evil.example's slots taken a third fetch to it waits SlotWait
// and is told the server is busy; b.evil.example takes the site's last
// slot, after which c.evil.example is busy too, while another site gets a
// slot at once.
func TestAcquirePerSite(t *testing.T) {
	d := newDocServer(t)
	f := newTestFetcher(t, d, testclock.New(testStart), func(o *Options) {
		o.SlotWait = 50 * time.Millisecond
		o.MaxPerSite = 3
	})
	var releases []func()
	take := func(host string) error {
		release, err := f.acquire(context.Background(), f.fetchLimits(host)...)
		if err == nil {
			releases = append(releases, release)
		}
		return err
	}
	for _, host := range []string{"a.evil.example", "A.evil.example"} {
		if err := take(host); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
	}
	if err := take("a.evil.example"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("third fetch to a busy host: err = %v; want ErrUnavailable", err)
	}
	if err := take("b.evil.example"); err != nil {
		t.Fatalf("another host of the site: %v", err)
	}
	if err := take("c.evil.example"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a host of a busy site: err = %v; want ErrUnavailable", err)
	}
	if err := take("client.good.example"); err != nil {
		t.Fatalf("another site: %v", err)
	}
	for _, r := range releases {
		r()
	}
	if err := take("c.evil.example"); err != nil {
		t.Errorf("after the site's fetches end: %v", err)
	}
	releases[len(releases)-1]()
	if n := len(f.hosts); n != 0 {
		t.Errorf("%d limits left after every fetch ended", n)
	}
}
