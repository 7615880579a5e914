package jwks

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/token"
)

// t0 is the start of every test clock.
var t0 = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// testIdP is an identity provider's discovery and key set endpoints over
// real HTTP on loopback. Its keys, status and Cache-Control can change
// between requests, and it counts the key set requests it answers.
type testIdP struct {
	srv      *httptest.Server
	jwksGets atomic.Int64
	metaGets atomic.Int64

	mu           sync.Mutex
	keys         []jose.JSONWebKey // private keys; the public halves are served
	status       int               // of the key set endpoint; 0 = 200
	cacheControl string
	issuer       string // in the metadata; "" = the server URL
	release      chan struct{}
	arrived      chan struct{}
}

func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	idp := &testIdP{cacheControl: "public, max-age=300"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		idp.metaGets.Add(1)
		idp.mu.Lock()
		iss := idp.issuer
		idp.mu.Unlock()
		if iss == "" {
			iss = idp.srv.URL
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": idp.srv.URL + "/jwks.json"})
	})
	mux.HandleFunc("GET /jwks.json", func(w http.ResponseWriter, r *http.Request) {
		idp.jwksGets.Add(1)
		idp.mu.Lock()
		status, cc, release, arrived := idp.status, idp.cacheControl, idp.release, idp.arrived
		set := token.PublicJWKS(idp.keys...)
		idp.mu.Unlock()
		if release != nil {
			select {
			case arrived <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		if status != 0 && status != http.StatusOK {
			http.Error(w, "unavailable", status)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		json.NewEncoder(w).Encode(set)
	})
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

// addKey generates a signing key, publishes it and returns its signer.
func (idp *testIdP) addKey(t testing.TB) *token.Signer {
	t.Helper()
	k, err := token.GenerateKey(token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSigner(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	idp.mu.Lock()
	idp.keys = append(idp.keys, k)
	idp.mu.Unlock()
	return s
}

// setKeys replaces the published keys by those of signers.
func (idp *testIdP) setKeys(t testing.TB, signers ...*token.Signer) {
	t.Helper()
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.keys = nil
	for _, s := range signers {
		idp.keys = append(idp.keys, s.PublicKey())
	}
}

func (idp *testIdP) setStatus(code int) {
	idp.mu.Lock()
	idp.status = code
	idp.mu.Unlock()
}

func (idp *testIdP) setCacheControl(cc string) {
	idp.mu.Lock()
	idp.cacheControl = cc
	idp.mu.Unlock()
}

// hold makes key set requests wait until release is called; arrived
// receives a value when a held request has arrived.
func (idp *testIdP) hold() (arrived <-chan struct{}, release func()) {
	ch := make(chan struct{})
	arr := make(chan struct{}, 1)
	idp.mu.Lock()
	idp.release, idp.arrived = ch, arr
	idp.mu.Unlock()
	var once sync.Once
	return arr, func() {
		once.Do(func() {
			idp.mu.Lock()
			idp.release = nil
			idp.mu.Unlock()
			close(ch)
		})
	}
}

// logBuffer is a concurrency-safe log destination.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestSet returns a Set for idp on clock, logging to the returned buffer.
func newTestSet(t *testing.T, idp *testIdP, clock *testclock.Clock, edit func(*Options)) (*Set, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts := &Options{
		Issuer: idp.srv.URL,
		Clock:  clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}
