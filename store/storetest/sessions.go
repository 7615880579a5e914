package storetest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// Session timeouts of the suite's sessions.
const (
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 24 * time.Hour
)

func (h *harness) session(id string) *store.Session {
	now := h.clock.Now()
	return &store.Session{
		ID:                id,
		Subject:           "user-1",
		ClientID:          "client-1",
		State:             json.RawMessage(`{"initializeParams":{"protocolVersion":"2025-11-25","clientInfo":{"name":"c","version":"1"}},"logLevel":""}`),
		IdleTimeout:       sessionIdle,
		CreatedAt:         now,
		LastSeen:          now,
		IdleExpiresAt:     now.Add(sessionIdle),
		AbsoluteExpiresAt: now.Add(sessionAbsolute),
	}
}

func (h *harness) getSession(id string) *store.Session {
	h.t.Helper()
	ss, err := h.s.GetSession(h.ctx, id)
	h.must("GetSession "+id, err)
	return ss
}

// wantSessionGone checks that every method reports session id absent.
func (h *harness) wantSessionGone(id string) {
	h.t.Helper()
	_, err := h.s.GetSession(h.ctx, id)
	h.wantErr("GetSession", err, store.ErrNotFound)
	h.wantErr("TouchSession", h.s.TouchSession(h.ctx, id), store.ErrNotFound)
	h.wantErr("UpdateSessionState", h.s.UpdateSessionState(h.ctx, id, 1, json.RawMessage(`{}`)), store.ErrNotFound)
	h.wantErr("DeleteSession", h.s.DeleteSession(h.ctx, id), store.ErrNotFound)
}

func testSessions(t *testing.T, open func(*testing.T, store.Clock) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		h := setup(t, open)
		ss := h.session("s1")
		ss.Version = 7 // ignored: a new session is version 1
		h.must("CreateSession", h.s.CreateSession(h.ctx, ss))
		want := h.session("s1")
		want.Version = 1
		h.wantEqual("GetSession", h.getSession("s1"), want)
		// Reading neither touches nor consumes.
		h.clock.Advance(time.Minute)
		h.wantEqual("GetSession again", h.getSession("s1"), want)
	})
	t.Run("Anonymous", func(t *testing.T) {
		h := setup(t, open)
		ss := h.session("s1")
		ss.Subject, ss.ClientID, ss.State = "", "", nil
		h.must("CreateSession", h.s.CreateSession(h.ctx, ss))
		ss.Version = 1
		h.wantEqual("GetSession", h.getSession("s1"), ss)
	})
	t.Run("Unknown", func(t *testing.T) {
		h := setup(t, open)
		h.wantSessionGone("nope")
	})
	t.Run("CreateExists", func(t *testing.T) {
		h := setup(t, open)
		h.must("CreateSession", h.s.CreateSession(h.ctx, h.session("s1")))
		other := h.session("s1")
		other.Subject = "user-2"
		h.wantErr("CreateSession again", h.s.CreateSession(h.ctx, other), store.ErrExists)
		if got := h.getSession("s1"); got.Subject != "user-1" {
			t.Fatalf("a refused create replaced the session: subject %q", got.Subject)
		}
		// Once the session has expired, its id can be used again.
		h.clock.Advance(sessionIdle)
		h.must("CreateSession after expiry", h.s.CreateSession(h.ctx, h.session("s1")))
		if got := h.getSession("s1"); got.CreatedAt.Before(h.clock.Now()) {
			t.Fatalf("got the expired session back: created %v", got.CreatedAt)
		}
	})
	t.Run("CreateExpired", func(t *testing.T) {
		h := setup(t, open)
		ss := h.session("s1")
		ss.AbsoluteExpiresAt = h.clock.Now()
		h.must("CreateSession", h.s.CreateSession(h.ctx, ss))
		h.wantSessionGone("s1")
	})
	t.Run("Invalid", func(t *testing.T) {
		h := setup(t, open)
		for name, change := range map[string]func(*store.Session){
			"EmptyID":       func(ss *store.Session) { ss.ID = "" },
			"NoIdleTimeout": func(ss *store.Session) { ss.IdleTimeout = 0 },
			"StateNotJSON":  func(ss *store.Session) { ss.State = json.RawMessage(`{"logLevel":`) },
		} {
			ss := h.session("s1")
			change(ss)
			if err := h.s.CreateSession(h.ctx, ss); err == nil || errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s: CreateSession error = %v, want a refusal", name, err)
			}
		}
		h.wantSessionGone("s1")
		h.must("CreateSession", h.s.CreateSession(h.ctx, h.session("s1")))
		err := h.s.UpdateSessionState(h.ctx, "s1", 1, json.RawMessage(`not json`))
		if err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("UpdateSessionState with state that is not JSON: %v, want a refusal", err)
		}
		if got := h.getSession("s1"); got.Version != 1 {
			t.Fatalf("a refused update changed the session: version %d", got.Version)
		}
	})
	t.Run("StateIsCompacted", func(t *testing.T) {
		h := setup(t, open)
		ss := h.session("s1")
		ss.State = json.RawMessage("{ \"logLevel\" : \"info\" }\n")
		h.must("CreateSession", h.s.CreateSession(h.ctx, ss))
		if got := string(h.getSession("s1").State); got != `{"logLevel":"info"}` {
			t.Fatalf("state = %s", got)
		}
	})
	t.Run("IdleExpiry", func(t *testing.T) {
		h := setup(t, open)
		h.must("CreateSession", h.s.CreateSession(h.ctx, h.session("s1")))
		h.clock.Advance(sessionIdle - time.Millisecond)
		h.getSession("s1")
		h.clock.Advance(time.Millisecond)
		h.wantSessionGone("s1")
	})
	t.Run("TouchExtends", func(t *testing.T) {
		h := setup(t, open)
		ss := h.session("s1")
		h.must("CreateSession", h.s.CreateSession(h.ctx, ss))
		h.clock.Advance(20 * time.Minute)
		h.must("TouchSession", h.s.TouchSession(h.ctx, "s1"))
		now := h.clock.Now()
		want := h.session("s1")
		want.CreatedAt, want.AbsoluteExpiresAt = ss.CreatedAt, ss.AbsoluteExpiresAt
		want.Version = 1
		want.LastSeen, want.IdleExpiresAt = now, now.Add(sessionIdle)
		h.wantEqual("GetSession after touch", h.getSession("s1"), want)
		// 40 minutes after creation, 20 after the touch: still there.
		h.clock.Advance(20 * time.Minute)
		h.getSession("s1")
		h.clock.Advance(10*time.Minute - time.Millisecond)
		h.getSession("s1")
		h.clock.Advance(time.Millisecond)
		h.wantSessionGone("s1")
	})
	t.Run("AbsoluteExpiry", func(t *testing.T) {
		h := setup(t, open)
		ss := h.session("s1")
		ss.AbsoluteExpiresAt = h.clock.Now().Add(time.Hour)
		h.must("CreateSession", h.s.CreateSession(h.ctx, ss))
		// Touched every 15 minutes, the session still ends after an hour.
		for range 3 {
			h.clock.Advance(15 * time.Minute)
			h.must("TouchSession", h.s.TouchSession(h.ctx, "s1"))
		}
		h.clock.Advance(14 * time.Minute)
		h.must("TouchSession", h.s.TouchSession(h.ctx, "s1"))
		if got := h.getSession("s1"); !got.IdleExpiresAt.Equal(ss.AbsoluteExpiresAt) {
			t.Fatalf("idle expiry %v, want it capped at the absolute expiry %v", got.IdleExpiresAt, ss.AbsoluteExpiresAt)
		}
		h.clock.Advance(time.Minute - time.Millisecond)
		h.getSession("s1")
		h.clock.Advance(time.Millisecond)
		h.wantSessionGone("s1")
	})
	t.Run("UpdateState", func(t *testing.T) {
		h := setup(t, open)
		ss := h.session("s1")
		h.must("CreateSession", h.s.CreateSession(h.ctx, ss))
		h.clock.Advance(time.Minute)
		next := json.RawMessage(`{"logLevel":"debug"}`)
		h.must("UpdateSessionState", h.s.UpdateSessionState(h.ctx, "s1", 1, next))
		got := h.getSession("s1")
		if got.Version != 2 || string(got.State) != string(next) {
			t.Fatalf("after update: version %d, state %s", got.Version, got.State)
		}
		if !got.LastSeen.Equal(ss.LastSeen) || !got.IdleExpiresAt.Equal(ss.IdleExpiresAt) {
			t.Fatalf("an update touched the session: last seen %v, idle expiry %v", got.LastSeen, got.IdleExpiresAt)
		}
		// A writer that read version 1 lost the race.
		h.wantErr("UpdateSessionState at a stale version", h.s.UpdateSessionState(h.ctx, "s1", 1, json.RawMessage(`{}`)), store.ErrConflict)
		h.wantErr("UpdateSessionState at a future version", h.s.UpdateSessionState(h.ctx, "s1", 3, json.RawMessage(`{}`)), store.ErrConflict)
		// A touch changes neither state nor version.
		h.must("TouchSession", h.s.TouchSession(h.ctx, "s1"))
		if got := h.getSession("s1"); got.Version != 2 || string(got.State) != string(next) {
			t.Fatalf("after touch: version %d, state %s", got.Version, got.State)
		}
		h.must("UpdateSessionState to empty", h.s.UpdateSessionState(h.ctx, "s1", 2, nil))
		if got := h.getSession("s1"); got.Version != 3 || len(got.State) != 0 {
			t.Fatalf("after clearing: version %d, state %s", got.Version, got.State)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		h := setup(t, open)
		h.must("CreateSession", h.s.CreateSession(h.ctx, h.session("s1")))
		h.must("CreateSession", h.s.CreateSession(h.ctx, h.session("s2")))
		h.must("DeleteSession", h.s.DeleteSession(h.ctx, "s1"))
		h.wantSessionGone("s1")
		h.getSession("s2")
		// An ended session's id can be used again.
		h.must("CreateSession after delete", h.s.CreateSession(h.ctx, h.session("s1")))
	})
	t.Run("Copies", func(t *testing.T) {
		h := setup(t, open)
		ss := h.session("s1")
		h.must("CreateSession", h.s.CreateSession(h.ctx, ss))
		ss.State[2] = 'X'
		got := h.getSession("s1")
		want := string(got.State)
		got.State[2] = 'Y'
		if again := string(h.getSession("s1").State); again != want || want[2] != 'i' {
			t.Fatalf("store shares state memory with callers: %s", again)
		}
	})
	t.Run("Concurrency", func(t *testing.T) {
		h := setup(t, open)
		var wg sync.WaitGroup
		race := func(op func(i int) error) (wins int, errs []error) {
			var mu sync.Mutex
			for i := range Workers {
				wg.Go(func() {
					err := op(i)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						wins++
					} else {
						errs = append(errs, err)
					}
				})
			}
			wg.Wait()
			return wins, errs
		}
		check := func(op string, wins int, errs []error, lost error) {
			t.Helper()
			if wins != 1 {
				t.Fatalf("%s: %d of %d callers won, want exactly 1", op, wins, Workers)
			}
			for _, err := range errs {
				if !errors.Is(err, lost) {
					t.Fatalf("%s: loser got %v, want %v", op, err, lost)
				}
			}
		}
		wins, errs := race(func(int) error { return h.s.CreateSession(h.ctx, h.session("s1")) })
		check("CreateSession", wins, errs, store.ErrExists)

		// Updates at one version race with touches: exactly one update wins,
		// and no touch undoes it.
		wins, errs = race(func(i int) error {
			if i%2 == 0 {
				return h.s.TouchSession(h.ctx, "s1")
			}
			return h.s.UpdateSessionState(h.ctx, "s1", 1, json.RawMessage(`{"writer":`+string(rune('0'+i%10))+`}`))
		})
		touches := (Workers + 1) / 2
		if wins != touches+1 || len(errs) != Workers-wins {
			t.Fatalf("touches and updates: %d succeeded, want %d touches and 1 update", wins, touches)
		}
		for _, err := range errs {
			if !errors.Is(err, store.ErrConflict) {
				t.Fatalf("losing update: %v, want ErrConflict", err)
			}
		}
		if got := h.getSession("s1"); got.Version != 2 || len(got.State) == 0 {
			t.Fatalf("after the race: version %d, state %s", got.Version, got.State)
		}

		wins, errs = race(func(int) error { return h.s.DeleteSession(h.ctx, "s1") })
		check("DeleteSession", wins, errs, store.ErrNotFound)
		h.wantSessionGone("s1")
	})
}
