package frontmcp_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/internal/testclock"
	"github.com/frontmcp-go/frontmcp/resource"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
)

// revocationOutage is fault injection: a memory store whose revocation log
// cannot be read while down is set; everything else works.
type revocationOutage struct {
	store.Store
	down atomic.Bool
}

func (r *revocationOutage) RevocationsSince(ctx context.Context, after int64) ([]store.Revocation, int64, error) {
	if r.down.Load() {
		return nil, 0, store.ErrUnavailable
	}
	return r.Store.RevocationsSince(ctx, after)
}

// TestReadyzFollowsRevocations: in orchestrated mode, /readyz answers 503
// once the revocation log has not been read for longer than the maximum
// staleness (MCP requests get 503 too), and 200 again once it is read.
func TestReadyzFollowsRevocations(t *testing.T) {
	clock := testclock.New(time.Now())
	st := &revocationOutage{Store: memstore.New(&memstore.Options{Clock: clock.Now})}
	cfg := config.Default(config.Development)
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	cfg.Auth.Mode = config.ModeOrchestrated
	s, err := frontmcp.New(&frontmcp.Options{Config: cfg, Store: st, Clock: clock.Now,
		Logger: slog.New(slog.DiscardHandler), Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	readyz := func() (int, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The log is read every second (real time); wait for the reads.
	waitReady := func(want int) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			code, body := readyz()
			if code == want {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz still %d (%s), want %d", code, body, want)
			}
			<-tick.C
		}
	}
	if code, body := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	st.down.Store(true)
	clock.Advance(resource.DefaultMaxStaleness)
	if body := waitReady(http.StatusServiceUnavailable); !strings.Contains(body, "revocations") {
		t.Fatalf("/readyz body %s does not name the revocation list", body)
	}
	st.down.Store(false)
	waitReady(http.StatusOK)
}
