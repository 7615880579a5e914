package redisstore

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// TestSessionKeyAndTTL: a session lives at {prefix}session:{id} with a TTL of
// the time left until its earlier expiry, idle or absolute, and a touch moves
// both with nanosecond-exact stored times (the clock's nanoseconds plus the
// idle timeout's milliseconds carry into the seconds).
func TestSessionKeyAndTTL(t *testing.T) {
	clock := newClock()
	s := open(t, singleOpts(t), clock.Now)
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	const idle = 30*time.Minute + 700*time.Millisecond
	now := clock.Now()
	ss := &store.Session{
		ID: "h1", Subject: "user-1", IdleTimeout: idle,
		CreatedAt: now, LastSeen: now,
		IdleExpiresAt: now.Add(idle), AbsoluteExpiresAt: now.Add(time.Hour),
	}
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	key := s.keys.prefix + "session:{h1}"
	if key != s.keys.session("h1") {
		t.Fatalf("key %q, want %q", s.keys.session("h1"), key)
	}
	pttl := func(id string) time.Duration {
		t.Helper()
		d, err := s.rdb.PTTL(ctx, s.keys.session(id)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// Redis's own clock runs during the test: allow a second.
	near := func(got, want time.Duration) bool { return got <= want+time.Millisecond && got > want-time.Second }
	if d := pttl("h1"); !near(d, idle) {
		t.Fatalf("TTL after create %v, want about %v (the idle timeout)", d, idle)
	}

	clock.Advance(40 * time.Minute)
	// Expired by the idle timeout for the store's clock, though Redis still
	// holds the key.
	if _, err := s.GetSession(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSession after the idle timeout: %v, want ErrNotFound", err)
	}
	if err := s.TouchSession(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TouchSession after the idle timeout: %v, want ErrNotFound", err)
	}

	ss.ID = "h2"
	ss.CreatedAt, ss.LastSeen = clock.Now(), clock.Now()
	ss.IdleExpiresAt, ss.AbsoluteExpiresAt = clock.Now().Add(idle), clock.Now().Add(time.Hour)
	if err := s.CreateSession(ctx, ss); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	if err := s.TouchSession(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSession(ctx, "h2")
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(idle); !got.IdleExpiresAt.Equal(want) || !got.LastSeen.Equal(clock.Now()) {
		t.Fatalf("after touch: idle expiry %v, last seen %v; want %v, %v", got.IdleExpiresAt, got.LastSeen, want, clock.Now())
	}
	if d := pttl("h2"); !near(d, idle) {
		t.Fatalf("TTL after touch %v, want about %v", d, idle)
	}
	// 25 minutes later 25 minutes of the absolute lifetime are left, less
	// than the idle timeout: the TTL follows the absolute expiry.
	clock.Advance(25 * time.Minute)
	if err := s.TouchSession(ctx, "h2"); err != nil {
		t.Fatal(err)
	}
	if d := pttl("h2"); !near(d, 25*time.Minute) {
		t.Fatalf("TTL near the absolute expiry %v, want about 25m", d)
	}
	got, err = s.GetSession(ctx, "h2")
	if err != nil {
		t.Fatal(err)
	}
	if !got.IdleExpiresAt.Equal(ss.AbsoluteExpiresAt) {
		t.Fatalf("idle expiry %v, want the absolute expiry %v", got.IdleExpiresAt, ss.AbsoluteExpiresAt)
	}
	// An update keeps the TTL.
	if err := s.UpdateSessionState(ctx, "h2", 1, json.RawMessage(`{"logLevel":"debug"}`)); err != nil {
		t.Fatal(err)
	}
	if d := pttl("h2"); !near(d, 25*time.Minute) {
		t.Fatalf("TTL after an update %v, want about 25m", d)
	}
}

// BenchmarkGetSession is the store read every request on a session costs.
func BenchmarkGetSession(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now()
	ss := &store.Session{
		ID: "bench", Subject: "user-1", ClientID: "client-1", IdleTimeout: time.Hour,
		State:     json.RawMessage(`{"initializeParams":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}},"logLevel":"info"}`),
		CreatedAt: now, LastSeen: now, IdleExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
	}
	if err := s.CreateSession(ctx, ss); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.GetSession(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
