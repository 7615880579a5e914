package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock store.Clock) store.Store {
		s, err := Open(filepath.Join(t.TempDir(), "store.db"), &Options{Clock: clock})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// clock is a settable test clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func openTest(t *testing.T, path string, opts *Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rawUpdate runs fn in one write transaction on the file of s, without the
// schema check of the store's own operations.
func rawUpdate(tb testing.TB, s *Store, fn func(*bolt.Tx) error) {
	tb.Helper()
	if err := s.withDB(context.Background(), true, false, func(db *bolt.DB) error { return db.Update(fn) }); err != nil {
		tb.Fatal(err)
	}
}

// count returns the number of keys in bucket.
func count(t *testing.T, s *Store, bucket []byte) int {
	t.Helper()
	n := 0
	must(t, s.withDB(t.Context(), false, false, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucket).ForEach(func(_, _ []byte) error { n++; return nil })
		})
	}))
	return n
}

// counts returns the data and index sizes of every expiring kind.
func counts(t *testing.T, s *Store) map[string][2]int {
	t.Helper()
	out := make(map[string][2]int)
	// The kinds these tests write; other kinds have their own tests.
	for _, k := range []kind{pendingKind, codeKind, grantKind} {
		out[string(k.data)] = [2]int{count(t, s, k.data), count(t, s, k.index)}
	}
	return out
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	c := newClock()
	ctx := t.Context()
	exp := c.now.Add(time.Hour)
	pending := &store.PendingAuthorization{ID: "p1", ClientID: "client-1", Scopes: []string{"a"}, CreatedAt: c.now, ExpiresAt: exp}
	code := &store.AuthCode{Hash: "code-1", GrantID: "g1", Subject: "user-1", ExpiresAt: exp}
	grant := &store.Grant{ID: "g1", Subject: "user-1", RefreshHash: "r0", RefreshExpiresAt: exp, CreatedAt: c.now, ExpiresAt: exp}
	client := &store.Client{ID: "client-1", RedirectURIs: []string{"https://app.example/cb"}, Metadata: store.Claims{"k": "v"}, CreatedAt: c.now}

	s, err := Open(path, &Options{Clock: c.Now})
	must(t, err)
	must(t, s.SavePending(ctx, pending))
	must(t, s.SaveCode(ctx, code))
	_, err = s.ConsumeCode(ctx, "code-1")
	must(t, err)
	must(t, s.CreateGrant(ctx, grant))
	_, err = s.RotateRefresh(ctx, "g1", "r0", "r1", exp)
	must(t, err)
	must(t, s.CreateClient(ctx, client))
	must(t, s.Close())

	s = openTest(t, path, &Options{Clock: c.Now})
	gotPending, err := s.GetPending(ctx, "p1")
	must(t, err)
	if diff := cmp.Diff(pending, gotPending); diff != "" {
		t.Errorf("pending after reopen (-want +got):\n%s", diff)
	}
	// The used marker survives a restart: a replayed code is still reuse.
	if _, err := s.ConsumeCode(ctx, "code-1"); !errors.Is(err, store.ErrReused) {
		t.Errorf("ConsumeCode after reopen = %v, want ErrReused", err)
	}
	// So does the rotation: the old refresh token is still recognised as reuse.
	if _, err := s.RotateRefresh(ctx, "g1", "r0", "r2", exp); !errors.Is(err, store.ErrReused) {
		t.Errorf("RotateRefresh with the old token after reopen = %v, want ErrReused", err)
	}
	gotGrant, err := s.GetGrant(ctx, "g1")
	must(t, err)
	if gotGrant.RevokedAt.IsZero() || gotGrant.RefreshHash != "r1" {
		t.Errorf("grant after reopen and reuse = %+v, want revoked with hash r1", gotGrant)
	}
	gotClient, err := s.GetClient(ctx, "client-1")
	must(t, err)
	if diff := cmp.Diff(client, gotClient); diff != "" {
		t.Errorf("client after reopen (-want +got):\n%s", diff)
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "frontmcp")
	path := filepath.Join(dir, "store.db")
	openTest(t, path, nil)
	for _, tt := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700 | os.ModeDir}, {path, 0o600}, {turnstilePath(path), 0o600}} {
		fi, err := os.Stat(tt.path)
		must(t, err)
		if fi.Mode() != tt.want {
			t.Errorf("%s mode = %v, want %v", tt.path, fi.Mode(), tt.want)
		}
	}
}

// TestSharedFile opens one file twice in this process: both Stores work,
// each sees the other's writes, and closing one leaves the other working.
func TestSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	ctx := t.Context()
	first, err := Open(path, &Options{SweepInterval: -1})
	must(t, err)
	second := openTest(t, path, &Options{SweepInterval: -1})
	must(t, first.CreateClient(ctx, &store.Client{ID: "from-first"}))
	must(t, second.CreateClient(ctx, &store.Client{ID: "from-second"}))
	if _, err := second.GetClient(ctx, "from-first"); err != nil {
		t.Fatalf("second store reading the first one's client: %v", err)
	}
	must(t, first.SaveCode(ctx, &store.AuthCode{Hash: "code", GrantID: "g", ExpiresAt: time.Now().Add(time.Hour)}))
	if _, err := second.ConsumeCode(ctx, "code"); err != nil {
		t.Fatalf("second store consuming the first one's code: %v", err)
	}
	if _, err := first.ConsumeCode(ctx, "code"); !errors.Is(err, store.ErrReused) {
		t.Fatalf("first store consuming the code again = %v, want ErrReused", err)
	}
	must(t, first.Close())
	if _, err := first.GetClient(ctx, "from-first"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("GetClient on the closed store = %v, want ErrUnavailable", err)
	}
	clients, err := second.ListClients(ctx)
	must(t, err)
	var ids []string
	for _, c := range clients {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]string{"from-first", "from-second"}, ids); diff != "" {
		t.Fatalf("clients seen by the open store (-want +got):\n%s", diff)
	}
	must(t, second.Ping(ctx))
}

// TestRemovedFile checks that operations never create a missing file: an
// empty file would be a store without its records.
func TestRemovedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openTest(t, path, nil)
	ctx := t.Context()
	must(t, os.Remove(path))
	for name, err := range map[string]error{
		"Ping":         s.Ping(ctx),
		"GetClient":    func() error { _, err := s.GetClient(ctx, "c"); return err }(),
		"CreateClient": s.CreateClient(ctx, &store.Client{ID: "c"}),
	} {
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s on a removed file = %v, want ErrUnavailable wrapping ErrNotExist", name, err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("store file after operations: %v, want it still absent", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	must(t, os.WriteFile(notDir, []byte("x"), 0o600))
	garbage := filepath.Join(dir, "garbage.db")
	must(t, os.WriteFile(garbage, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600))
	tests := []struct {
		name string
		path string
	}{
		{"ParentIsAFile", filepath.Join(notDir, "store.db")},
		{"NotABboltFile", garbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.path, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, store.ErrUnavailable) || errors.Is(err, ErrLocked) {
				t.Fatalf("Open = %v, want ErrUnavailable and not ErrLocked", err)
			}
		})
	}
}

func TestSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := Open(path, nil)
	must(t, err)
	ctx := t.Context()
	must(t, s.CreateClient(ctx, &store.Client{ID: "c"}))
	// Another process (a newer version) changes the schema under an open
	// store: every operation checks again.
	rawUpdate(t, s, func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(versionKey, []byte("99")) })
	for name, err := range map[string]error{
		"Ping":         s.Ping(ctx),
		"GetClient":    func() error { _, err := s.GetClient(ctx, "c"); return err }(),
		"DeleteClient": s.DeleteClient(ctx, "c"),
	} {
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), `unsupported schema version "99"`) {
			t.Errorf("%s on a newer schema = %v, want ErrUnavailable naming the version", name, err)
		}
	}
	must(t, s.Close())
	_, err = Open(path, nil)
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), `unsupported schema version "99"`) {
		t.Fatalf("Open of a newer schema = %v, want an unsupported schema error", err)
	}
	// The file replaced by a bbolt file that is no store: operations fail
	// instead of finding its buckets missing.
	s = openTest(t, path+".new", nil)
	db, err := bolt.Open(path+".other", 0o600, nil)
	must(t, err)
	must(t, db.Close())
	must(t, os.Rename(path+".other", path+".new"))
	for name, err := range map[string]error{
		"GetClient":    func() error { _, err := s.GetClient(ctx, "c"); return err }(),
		"CreateClient": s.CreateClient(ctx, &store.Client{ID: "c"}),
		"Sweep":        func() error { _, err := s.Sweep(); return err }(),
	} {
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "not a store file") {
			t.Errorf("%s on a file that is no store = %v, want ErrUnavailable saying so", name, err)
		}
	}
}

func TestSweep(t *testing.T) {
	c := newClock()
	s := openTest(t, filepath.Join(t.TempDir(), "store.db"), &Options{Clock: c.Now, SweepInterval: -1})
	ctx := t.Context()
	short, long := c.now.Add(time.Minute), c.now.Add(time.Hour)
	must(t, s.SavePending(ctx, &store.PendingAuthorization{ID: "p-short", ExpiresAt: short}))
	must(t, s.SavePending(ctx, &store.PendingAuthorization{ID: "p-long", ExpiresAt: long}))
	// Replaced with a longer life: the old index entry must not remove it.
	must(t, s.SavePending(ctx, &store.PendingAuthorization{ID: "p-extended", ExpiresAt: short}))
	must(t, s.SavePending(ctx, &store.PendingAuthorization{ID: "p-extended", ExpiresAt: long}))
	must(t, s.SaveCode(ctx, &store.AuthCode{Hash: "c-short", ExpiresAt: short}))
	must(t, s.SaveCode(ctx, &store.AuthCode{Hash: "c-long", ExpiresAt: long}))
	_, err := s.ConsumeCode(ctx, "c-short") // used markers expire too
	must(t, err)
	must(t, s.CreateGrant(ctx, &store.Grant{ID: "g-short", ExpiresAt: short}))
	must(t, s.CreateGrant(ctx, &store.Grant{ID: "g-long", ExpiresAt: long}))
	must(t, s.RevokeGrant(ctx, "g-short"))
	must(t, s.CreateClient(ctx, &store.Client{ID: "client"}))

	// One index entry per record: replacing moved p-extended's entry.
	want := map[string][2]int{"pending": {3, 3}, "codes": {2, 2}, "grants": {2, 2}}
	if diff := cmp.Diff(want, counts(t, s)); diff != "" {
		t.Fatalf("records and index entries before the sweep (-want +got):\n%s", diff)
	}
	n, err := s.Sweep()
	must(t, err)
	if n != 0 {
		t.Fatalf("Sweep before expiry removed %d records", n)
	}
	c.Set(short)
	n, err = s.Sweep()
	must(t, err)
	if n != 3 {
		t.Fatalf("Sweep removed %d records, want 3", n)
	}
	want = map[string][2]int{"pending": {2, 2}, "codes": {1, 1}, "grants": {1, 1}}
	if diff := cmp.Diff(want, counts(t, s)); diff != "" {
		t.Fatalf("records and index entries left (-want +got):\n%s", diff)
	}
	if got := count(t, s, clientKind.data); got != 1 {
		t.Fatalf("%d clients left, want 1", got)
	}
	if _, err := s.GetPending(ctx, "p-extended"); err != nil {
		t.Fatalf("GetPending of the extended request: %v", err)
	}
}

func TestSweepBatches(t *testing.T) {
	c := newClock()
	s := openTest(t, filepath.Join(t.TempDir(), "store.db"), &Options{Clock: c.Now, SweepInterval: -1})
	const n = 2*sweepBatch + 17
	exp := c.now.Add(time.Minute)
	rawUpdate(t, s, func(tx *bolt.Tx) error {
		for i := range n {
			hash := "code-" + strconv.Itoa(i)
			enc, err := encode(codeKind, hash, codeRecord{AuthCode: store.AuthCode{Hash: hash, ExpiresAt: exp}})
			if err != nil {
				return err
			}
			if err := put(tx, codeKind, hash, enc, exp, time.Time{}, false); err != nil {
				return err
			}
		}
		return nil
	})
	c.Set(exp)
	removed, err := s.Sweep()
	must(t, err)
	if removed != n {
		t.Fatalf("Sweep removed %d records, want %d", removed, n)
	}
	if got := counts(t, s)["codes"]; got != [2]int{0, 0} {
		t.Fatalf("codes and index entries left: %v", got)
	}
}

func TestStaleIndexEntryKeepsLiveRecord(t *testing.T) {
	c := newClock()
	s := openTest(t, filepath.Join(t.TempDir(), "store.db"), &Options{Clock: c.Now, SweepInterval: -1})
	ctx := t.Context()
	must(t, s.CreateGrant(ctx, &store.Grant{ID: "g", ExpiresAt: c.now.Add(time.Hour)}))
	rawUpdate(t, s, func(tx *bolt.Tx) error {
		return tx.Bucket(grantKind.index).Put(expiryKey(c.now, "g"), nil)
	})
	c.Set(c.now.Add(time.Minute))
	n, err := s.Sweep()
	must(t, err)
	if n != 0 {
		t.Fatalf("Sweep removed %d records, want 0", n)
	}
	if _, err := s.GetGrant(ctx, "g"); err != nil {
		t.Fatalf("GetGrant after sweeping a stale index entry: %v", err)
	}
	if got := counts(t, s)["grants"]; got != [2]int{1, 1} {
		t.Fatalf("grants and index entries = %v, want the record and its real entry", got)
	}
}

func TestExpiredRemovedOnWrite(t *testing.T) {
	c := newClock()
	s := openTest(t, filepath.Join(t.TempDir(), "store.db"), &Options{Clock: c.Now, SweepInterval: -1})
	ctx := t.Context()
	exp := c.now.Add(time.Minute)
	must(t, s.SavePending(ctx, &store.PendingAuthorization{ID: "p", ExpiresAt: exp}))
	must(t, s.SaveCode(ctx, &store.AuthCode{Hash: "c", ExpiresAt: exp}))
	must(t, s.CreateGrant(ctx, &store.Grant{ID: "g1", ExpiresAt: exp}))
	must(t, s.CreateGrant(ctx, &store.Grant{ID: "g2", ExpiresAt: exp}))
	c.Set(exp)
	for name, err := range map[string]error{
		"ConsumePending": func() error { _, err := s.ConsumePending(ctx, "p"); return err }(),
		"ConsumeCode":    func() error { _, err := s.ConsumeCode(ctx, "c"); return err }(),
		"RotateRefresh":  func() error { _, err := s.RotateRefresh(ctx, "g1", "a", "b", time.Time{}); return err }(),
		"RevokeGrant":    s.RevokeGrant(ctx, "g2"),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s of an expired record = %v, want ErrNotFound", name, err)
		}
	}
	want := map[string][2]int{"pending": {0, 0}, "codes": {0, 0}, "grants": {0, 0}}
	if diff := cmp.Diff(want, counts(t, s)); diff != "" {
		t.Fatalf("records and index entries left (-want +got):\n%s", diff)
	}
}

func TestPeriodicSweep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	synctest.Test(t, func(t *testing.T) {
		// Inside the bubble time.Now is the fake clock, so the store's
		// default clock and its sweeper's ticker share one timeline.
		s, err := Open(path, &Options{SweepInterval: time.Minute})
		must(t, err)
		ctx := t.Context()
		must(t, s.SavePending(ctx, &store.PendingAuthorization{ID: "p", ExpiresAt: time.Now().Add(30 * time.Second)}))
		must(t, s.SaveCode(ctx, &store.AuthCode{Hash: "c", ExpiresAt: time.Now().Add(90 * time.Second)}))

		time.Sleep(time.Minute + time.Second) // one tick
		synctest.Wait()
		want := map[string][2]int{"pending": {0, 0}, "codes": {1, 1}, "grants": {0, 0}}
		if diff := cmp.Diff(want, counts(t, s)); diff != "" {
			t.Fatalf("after one tick (-want +got):\n%s", diff)
		}
		time.Sleep(time.Minute) // second tick
		synctest.Wait()
		want["codes"] = [2]int{0, 0}
		if diff := cmp.Diff(want, counts(t, s)); diff != "" {
			t.Fatalf("after two ticks (-want +got):\n%s", diff)
		}
		// Close stops the sweeper; synctest.Test fails if it were left running.
		must(t, s.Close())
	})
}

func TestCorruptRecord(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "store.db"), nil)
	ctx := t.Context()
	rawUpdate(t, s, func(tx *bolt.Tx) error {
		if err := tx.Bucket(grantKind.data).Put([]byte("g"), []byte("{not json")); err != nil {
			return err
		}
		return tx.Bucket(clientKind.data).Put([]byte("c"), []byte("[]"))
	})
	for name, err := range map[string]error{
		"GetGrant":    func() error { _, err := s.GetGrant(ctx, "g"); return err }(),
		"ListGrants":  func() error { _, err := s.ListGrants(ctx, store.GrantFilter{}); return err }(),
		"RevokeGrant": s.RevokeGrant(ctx, "g"),
		"GetClient":   func() error { _, err := s.GetClient(ctx, "c"); return err }(),
		"ListClients": func() error { _, err := s.ListClients(ctx); return err }(),
	} {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s of a corrupt record = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestRejects(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "store.db"), nil)
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
			return s.CreateGrant(ctx, &store.Grant{ID: "g", Claims: store.Claims{"f": func() {}}, ExpiresAt: future})
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
	if _, err := s.GetGrant(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetGrant after a rejected create = %v, want ErrNotFound", err)
	}
}

func TestClosed(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "store.db"), nil)
	must(t, err)
	must(t, s.Close())
	must(t, s.Close())
	ctx := t.Context()
	for name, err := range map[string]error{
		"SavePending": s.SavePending(ctx, &store.PendingAuthorization{ID: "p"}),
		"GetPending":  func() error { _, err := s.GetPending(ctx, "p"); return err }(),
		"ConsumeCode": func() error { _, err := s.ConsumeCode(ctx, "c"); return err }(),
		"ListClients": func() error { _, err := s.ListClients(ctx); return err }(),
		"Sweep":       func() error { _, err := s.Sweep(); return err }(),
	} {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestExpiryKeyOrder(t *testing.T) {
	times := []time.Time{
		{}, // zero time, before 1970
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2030, 1, 1, 0, 0, 1, 0, time.UTC),
	}
	for i, tm := range times {
		k := expiryKey(tm, "id")
		got, id, ok := parseExpiryKey(k)
		if !ok || !got.Equal(tm) || string(id) != "id" {
			t.Errorf("parseExpiryKey(expiryKey(%v)) = %v, %q, %v", tm, got, id, ok)
		}
		if i > 0 && string(expiryKey(times[i-1], "zz")) >= string(k) {
			t.Errorf("key of %v does not sort before key of %v", times[i-1], tm)
		}
	}
}

func BenchmarkConsumeCode(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "store.db"), &Options{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	hashes := make([]string, b.N)
	rawUpdate(b, s, func(tx *bolt.Tx) error {
		for i := range hashes {
			hashes[i] = "code-" + strconv.Itoa(i)
			enc, err := encode(codeKind, hashes[i], codeRecord{AuthCode: store.AuthCode{Hash: hashes[i], GrantID: "g", Scopes: []string{"a"}, ExpiresAt: exp}})
			if err != nil {
				return err
			}
			if err := put(tx, codeKind, hashes[i], enc, exp, time.Time{}, false); err != nil {
				return err
			}
		}
		return nil
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.ConsumeCode(ctx, hashes[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// rotationsPerGrant bounds PreviousHashes in BenchmarkRotateRefresh so each
// iteration costs the same.
const rotationsPerGrant = 8

func BenchmarkRotateRefresh(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "store.db"), &Options{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	ids := make([]string, b.N/rotationsPerGrant+1)
	rawUpdate(b, s, func(tx *bolt.Tx) error {
		for i := range ids {
			ids[i] = "g" + strconv.Itoa(i)
			g := &store.Grant{ID: ids[i], RefreshHash: "r0", Scopes: []string{"a"}, ExpiresAt: exp}
			enc, err := encode(grantKind, g.ID, g)
			if err != nil {
				return err
			}
			if err := put(tx, grantKind, g.ID, enc, exp, time.Time{}, false); err != nil {
				return err
			}
		}
		return nil
	})
	hashes := make([]string, rotationsPerGrant+1)
	for i := range hashes {
		hashes[i] = "r" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		step := i % rotationsPerGrant
		if _, err := s.RotateRefresh(ctx, ids[i/rotationsPerGrant], hashes[step], hashes[step+1], exp); err != nil {
			b.Fatal(err)
		}
	}
}

// benchGrants opens a store holding n grants g0…g(n-1).
func benchGrants(b *testing.B, n int) *Store {
	s, err := Open(filepath.Join(b.TempDir(), "store.db"), &Options{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	exp := time.Now().Add(time.Hour)
	rawUpdate(b, s, func(tx *bolt.Tx) error {
		for i := range n {
			g := &store.Grant{ID: "g" + strconv.Itoa(i), RefreshHash: "r0", Scopes: []string{"a"}, ExpiresAt: exp}
			enc, err := encode(grantKind, g.ID, g)
			if err != nil {
				return err
			}
			if err := put(tx, grantKind, g.ID, enc, exp, time.Time{}, false); err != nil {
				return err
			}
		}
		return nil
	})
	return s
}

func BenchmarkGetGrant(b *testing.B) {
	const grants = 1000
	s := benchGrants(b, grants)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.GetGrant(ctx, "g"+strconv.Itoa(i%grants)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetGrantParallel reads from several goroutines: readers of one
// process share the file lock, passing the turnstile one at a time.
func BenchmarkGetGrantParallel(b *testing.B) {
	const grants = 1000
	s := benchGrants(b, grants)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.GetGrant(ctx, "g"+strconv.Itoa(i%grants)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestKeysConformance(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) store.Keys {
		s, err := Open(filepath.Join(t.TempDir(), "store.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// benchStore opens an empty store file for a benchmark.
func benchStore(b *testing.B) *Store {
	s, err := Open(filepath.Join(b.TempDir(), "store.db"), &Options{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkRotateRefreshFull(b *testing.B) { storetest.BenchRotateRefreshFull(b, benchStore(b)) }

func BenchmarkGetGrantFull(b *testing.B) { storetest.BenchGetGrantFull(b, benchStore(b)) }

func BenchmarkGetSession(b *testing.B) { storetest.BenchGetSession(b, benchStore(b)) }

func BenchmarkRotateRefreshParallel(b *testing.B) {
	storetest.BenchRotateRefreshParallel(b, benchStore(b))
}

// TestMigrateV1 opens a file of schema version 1, whose grants hold their
// rotated-out hashes in the record: Open moves them to the grant's bucket of
// previous hashes, where reuse detection finds them.
func TestMigrateV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	c := newClock()
	exp := c.now.Add(time.Hour)
	v1 := map[string]any{
		"id": "g1", "client_id": "c1", "subject": "user-1", "refresh_hash": "r2",
		"previous_hashes": []string{"r0", "r1"}, "created_at": c.now, "expires_at": exp,
	}
	enc, err := json.Marshal(v1)
	must(t, err)
	db, err := bolt.Open(path, 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(metaBucket)
		if err != nil {
			return err
		}
		if err := meta.Put(versionKey, []byte("1")); err != nil {
			return err
		}
		grants, err := tx.CreateBucket(grantKind.data)
		if err != nil {
			return err
		}
		if err := grants.Put([]byte("g1"), enc); err != nil {
			return err
		}
		idx, err := tx.CreateBucket(grantKind.index)
		if err != nil {
			return err
		}
		return idx.Put(expiryKey(exp, "g1"), nil)
	}))
	must(t, db.Close())

	s := openTest(t, path, &Options{Clock: c.Now, SweepInterval: -1})
	ctx := t.Context()
	prev, err := s.PreviousRefreshHashes(ctx, "g1")
	must(t, err)
	if diff := cmp.Diff([]string{"r0", "r1"}, prev); diff != "" {
		t.Fatalf("previous hashes after the migration (-want +got):\n%s", diff)
	}
	var version string
	var record map[string]any
	must(t, s.withDB(ctx, false, false, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			version = string(tx.Bucket(metaBucket).Get(versionKey))
			return json.Unmarshal(tx.Bucket(grantKind.data).Get([]byte("g1")), &record)
		})
	}))
	if version != schemaVersion {
		t.Fatalf("schema version after the migration %q, want %q", version, schemaVersion)
	}
	if _, ok := record["previous_hashes"]; ok {
		t.Fatalf("grant record still holds previous_hashes: %v", record)
	}
	got, err := s.RotateRefresh(ctx, "g1", "r2", "r3", exp)
	must(t, err)
	if got.RefreshHash != "r3" {
		t.Fatalf("rotation after the migration: refresh hash %q, want r3", got.RefreshHash)
	}
	if _, err := s.RotateRefresh(ctx, "g1", "r0", "r4", exp); !errors.Is(err, store.ErrReused) {
		t.Fatalf("RotateRefresh with a hash the migration moved = %v, want ErrReused", err)
	}
}

// TestPreviousBucketFollowsGrant: a grant's bucket of previous hashes is
// removed with the grant, by a write that finds it expired and by the sweep.
func TestPreviousBucketFollowsGrant(t *testing.T) {
	c := newClock()
	s := openTest(t, filepath.Join(t.TempDir(), "store.db"), &Options{Clock: c.Now, SweepInterval: -1})
	ctx := t.Context()
	exp := c.now.Add(time.Minute)
	for _, id := range []string{"g1", "g2"} {
		must(t, s.CreateGrant(ctx, &store.Grant{ID: id, RefreshHash: "r0", ExpiresAt: exp}))
		_, err := s.RotateRefresh(ctx, id, "r0", "r1", exp)
		must(t, err)
	}
	if n := count(t, s, prevBucket); n != 2 {
		t.Fatalf("%d buckets of previous hashes, want 2", n)
	}
	c.Set(exp)
	if _, err := s.RotateRefresh(ctx, "g1", "r1", "r2", time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RotateRefresh of an expired grant = %v, want ErrNotFound", err)
	}
	if n := count(t, s, prevBucket); n != 1 {
		t.Fatalf("%d buckets of previous hashes after removing an expired grant, want 1", n)
	}
	n, err := s.Sweep()
	must(t, err)
	if n != 1 {
		t.Fatalf("Sweep removed %d records, want 1", n)
	}
	if n := count(t, s, prevBucket); n != 0 {
		t.Fatalf("%d buckets of previous hashes after the sweep, want 0", n)
	}
}
