package memstore

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock store.Clock) store.Store {
		return New(&Options{Clock: clock})
	})
}

func TestNilOptions(t *testing.T) {
	s := New(nil)
	ctx := t.Context()
	p := &store.PendingAuthorization{ID: "p", ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.SavePending(ctx, p); err != nil {
		t.Fatalf("SavePending: %v", err)
	}
	if _, err := s.GetPending(ctx, "p"); err != nil {
		t.Fatalf("GetPending with the wall clock: %v", err)
	}
}

// clock is a settable test clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestSweepRemovesExpired(t *testing.T) {
	c := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(&Options{Clock: c.Now})
	ctx := t.Context()
	short, long := c.now.Add(time.Minute), c.now.Add(time.Hour)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SavePending(ctx, &store.PendingAuthorization{ID: "p-short", ExpiresAt: short}))
	must(s.SavePending(ctx, &store.PendingAuthorization{ID: "p-long", ExpiresAt: long}))
	must(s.SaveCode(ctx, &store.AuthCode{Hash: "c-short", ExpiresAt: short}))
	must(s.SaveCode(ctx, &store.AuthCode{Hash: "c-long", ExpiresAt: long}))
	must(s.CreateGrant(ctx, &store.Grant{ID: "g-short", ExpiresAt: short}))
	must(s.CreateGrant(ctx, &store.Grant{ID: "g-long", ExpiresAt: long}))
	must(s.CreateClient(ctx, &store.Client{ID: "client"}))

	c.now = short
	if n := s.Sweep(); n != 3 {
		t.Fatalf("Sweep removed %d records, want 3", n)
	}
	got := []int{len(s.pending), len(s.codes), len(s.grants), len(s.clients)}
	if diff := cmp.Diff([]int{1, 1, 1, 1}, got); diff != "" {
		t.Fatalf("records left (pending, codes, grants, clients) (-want +got):\n%s", diff)
	}
}

func TestAmortisedSweepBoundsMemory(t *testing.T) {
	c := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(&Options{Clock: c.Now})
	ctx := t.Context()
	// Write many short-lived codes that are never read again; without the
	// amortised sweep they would accumulate.
	const total = 20 * minSweepWrites
	for i := range total {
		err := s.SaveCode(ctx, &store.AuthCode{Hash: strconv.Itoa(i), ExpiresAt: c.now.Add(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		c.now = c.now.Add(time.Second)
	}
	if n := len(s.codes); n > 2*minSweepWrites {
		t.Fatalf("%d codes held after %d writes of codes expiring within a second, want at most %d", n, total, 2*minSweepWrites)
	}
}

func TestExpiredRemovedOnAccess(t *testing.T) {
	c := &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(&Options{Clock: c.Now})
	ctx := t.Context()
	exp := c.now.Add(time.Minute)
	if err := s.SavePending(ctx, &store.PendingAuthorization{ID: "p", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGrant(ctx, &store.Grant{ID: "g", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	c.now = exp
	if _, err := s.GetPending(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPending = %v, want ErrNotFound", err)
	}
	if _, err := s.GetGrant(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetGrant = %v, want ErrNotFound", err)
	}
	if len(s.pending) != 0 || len(s.grants) != 0 {
		t.Fatalf("expired records still held: %d pending, %d grants", len(s.pending), len(s.grants))
	}
}

func TestRejects(t *testing.T) {
	s := New(nil)
	ctx := t.Context()
	future := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		op   func() error
	}{
		{"EmptyPendingID", func() error { return s.SavePending(ctx, &store.PendingAuthorization{ExpiresAt: future}) }},
		{"EmptyCodeHash", func() error { return s.SaveCode(ctx, &store.AuthCode{ExpiresAt: future}) }},
		{"EmptyGrantID", func() error { return s.CreateGrant(ctx, &store.Grant{ExpiresAt: future}) }},
		{"EmptyClientID", func() error { return s.CreateClient(ctx, &store.Client{}) }},
		{"NonJSONClaims", func() error {
			return s.SavePending(ctx, &store.PendingAuthorization{ID: "p", Claims: store.Claims{"f": func() {}}, ExpiresAt: future})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("error %v wraps ErrUnavailable; the caller is at fault, not the backend", err)
			}
		})
	}
	if _, err := s.GetPending(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPending after a rejected save = %v, want ErrNotFound", err)
	}
}

func TestClaimsNormalised(t *testing.T) {
	s := New(nil)
	ctx := t.Context()
	type addr struct {
		Country string `json:"country"`
	}
	in := store.Claims{"n": 3, "tags": []string{"a"}, "addr": addr{"NZ"}}
	if err := s.CreateGrant(ctx, &store.Grant{ID: "g", Claims: in, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	g, err := s.GetGrant(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Claims{"n": float64(3), "tags": []any{"a"}, "addr": map[string]any{"country": "NZ"}}
	if diff := cmp.Diff(want, g.Claims); diff != "" {
		t.Fatalf("claims not returned as JSON values (-want +got):\n%s", diff)
	}
}

func TestClosed(t *testing.T) {
	s := New(nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := t.Context()
	ops := map[string]func() error{
		"SavePending": func() error { return s.SavePending(ctx, &store.PendingAuthorization{ID: "p"}) },
		"ConsumeCode": func() error { _, err := s.ConsumeCode(ctx, "c"); return err },
		"RotateRefresh": func() error {
			_, err := s.RotateRefresh(ctx, "g", "a", "b", time.Time{})
			return err
		},
		"ListClients": func() error { _, err := s.ListClients(ctx); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
}

func BenchmarkConsumeCode(b *testing.B) { storetest.BenchConsumeCode(b, New(nil)) }

func BenchmarkRotateRefresh(b *testing.B) { storetest.BenchRotateRefresh(b, New(nil)) }

func TestKeysConformance(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) store.Keys { return New(nil) })
}

func BenchmarkRotateRefreshFull(b *testing.B) { storetest.BenchRotateRefreshFull(b, New(nil)) }

func BenchmarkGetGrantFull(b *testing.B) { storetest.BenchGetGrantFull(b, New(nil)) }

func BenchmarkGetSession(b *testing.B) { storetest.BenchGetSession(b, New(nil)) }

func BenchmarkRotateRefreshParallel(b *testing.B) { storetest.BenchRotateRefreshParallel(b, New(nil)) }
