package multi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
)

// TestDurabilityKill9: with appendonly yes and appendfsync always, Redis is
// killed with SIGKILL in the middle of a stream of refreshes from four
// clients against two servers, and restarted on the same port (three times). Afterwards
// the refresh token each client received last still works, and no token it
// received before (all rotated out) works again. No refresh is ever refused
// as invalid_grant: an acknowledged rotation lost in the crash would make the
// next one fail, and so would a retry taken for reuse.
//
// The crash can fall between Redis applying a rotation and the server
// answering: the client never sees the new token and retries with the one it
// has, which the store already rotated out. That retry is accepted through
// the reuse grace (auth.refresh.reuseGraceSeconds, store.Grant.Rotate), which
// rotates again; without the grace it would revoke the grant
// (TestLostReply shows both).
func TestDurabilityKill9(t *testing.T) {
	const crashes = 10
	redis, err := redistest.StartPersistent(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.Close() })
	d := deploy(t, redis, settings{Instances: 2, ReuseGraceSeconds: 60, RedisTimeout: time.Second})
	l := startLoad(t, d, 4, false)

	// Several crashes, each after every client has refreshed a few more
	// times, make it likelier that one falls between a rotation and its
	// reply. l.phase counts the crashes.
	for crash := 1; crash <= crashes; crash++ {
		served := func(r result) bool { return r.startPhase == int32(crash-1) && ok(r) }
		if err := l.waitEach(60*time.Second, 5, served); err != nil {
			t.Fatalf("before crash %d: %v", crash, err)
		}
		if err := redis.Kill(); err != nil {
			t.Fatal(err)
		}
		l.phase.Store(int32(crash))
		if err := redis.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.waitEach(60*time.Second, 5, func(r result) bool { return r.startPhase == crashes && ok(r) }); err != nil {
		t.Errorf("after the last restart: %v", err)
	}
	l.stop()

	failures := 0
	for _, r := range l.results() {
		if err := neverAllowed(r); err != nil {
			if failures++; failures <= 20 {
				t.Errorf("%v: %v", err, r)
			}
			continue
		}
		if !ok(r) && !unavailable(r) {
			if failures++; failures <= 20 {
				t.Errorf("neither 200 nor 503 temporarily_unavailable: %v", r)
			}
		}
	}
	if t.Failed() {
		return
	}

	ctx := t.Context()
	a := d.instances[0]
	for _, w := range l.workers {
		// Presented again within the reuse grace, last would rotate again
		// as a retry; "once" is what holds after the grace.
		last := w.tokens[len(w.tokens)-1]
		if err := refreshRetrying(ctx, d, w.clientID, a, last); err != nil {
			t.Errorf("worker %d: the last refresh token it received (%s, %d received) does not work: %v (Redis: %v)", w.id, fingerprint(last), len(w.tokens), err, redis.Client().Ping(ctx).Err())
			continue
		}
		// Every earlier token was presented in a refresh that succeeded:
		// all are rotated out. The first presented revokes the grant; each
		// must be refused.
		for i, old := range w.tokens[:len(w.tokens)-1] {
			_, err := d.refresh(ctx, w.clientID, a, old)
			if st, code := oauthError(err); st != http.StatusBadRequest || code != "invalid_grant" {
				t.Errorf("worker %d: rotated-out token %d of %d (%s) works again: %v", w.id, i+1, len(w.tokens), fingerprint(old), err)
			}
		}
	}
	retries := 0
	for _, in := range d.instances {
		retries += in.countLog("refresh token retried within its reuse grace")
	}
	n := 0
	for _, w := range l.workers {
		n += len(w.tokens)
	}
	t.Logf("%d crashes, %d refresh tokens received; refreshes whose reply a crash cut off and that were retried within the reuse grace: %d", crashes, n, retries)
}

// refreshRetrying refreshes with refreshToken as a client does: an answer of
// 503 temporarily_unavailable (the store did not answer in time, which a
// loaded machine can cause right after a restart) is retried until a
// deadline. A retry is safe: a rotation whose reply was lost is accepted
// again within the reuse grace.
func refreshRetrying(ctx context.Context, d *deployment, clientID string, in *instance, refreshToken string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := d.refresh(ctx, clientID, in, refreshToken)
		st, code := oauthError(err)
		if err == nil || st != http.StatusServiceUnavailable || code != "temporarily_unavailable" || time.Now().After(deadline) {
			return err
		}
		// A client's back-off between retries, not a synchronisation.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
