package authserver

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// storeReads counts the client and grant reads of a real store (it
// observes; the memstore does the work).
type storeReads struct {
	store.Store
	clients, grants atomic.Int64
}

func (c *storeReads) GetClient(ctx context.Context, id string) (*store.Client, error) {
	c.clients.Add(1)
	return c.Store.GetClient(ctx, id)
}

func (c *storeReads) GetGrant(ctx context.Context, id string) (*store.Grant, error) {
	c.grants.Add(1)
	return c.Store.GetGrant(ctx, id)
}

// registerDynamic registers a client through RFC 7591 and returns its id,
// secret ("" for a public client) and registration access token.
func (e *tkEnv) registerDynamic(t *testing.T, method string) (id, secret, rat string) {
	t.Helper()
	r := e.register(t, "application/json", `{"redirect_uris":["`+tkRedirect+`"],"token_endpoint_auth_method":"`+method+`"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	id, secret = r.str("client_id"), r.str("client_secret")
	if secret != "" {
		e.secrets[id] = secret
	}
	return id, secret, r.str("registration_access_token")
}

// refreshOK refreshes rt as clientID and returns the next refresh token.
func (e *tkEnv) refreshOK(t *testing.T, clientID, rt string) string {
	t.Helper()
	r := e.tokenAs(t, clientID, tkRefreshForm(rt))
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	return r.str("refresh_token")
}

// TestClientCacheReads: refresh_token requests read a registered client
// from the store once per clientCacheTTL; authorization codes read it every
// time.
func TestClientCacheReads(t *testing.T) {
	var reads *storeReads
	e := newTkEnv(t, func(o *Options) {
		reads = &storeReads{Store: o.Store}
		o.Store = reads
	})
	for _, method := range []string{"none", "client_secret_basic"} {
		t.Run(method, func(t *testing.T) {
			id, _, _ := e.registerDynamic(t, method)
			before := reads.clients.Load()
			tr, _ := e.redeem(t, id)
			rt := tr.str("refresh_token")
			for range 3 {
				rt = e.refreshOK(t, id, rt)
			}
			if n := reads.clients.Load() - before; n != 2 {
				t.Errorf("code + 3 refreshes read the client %d times, want 2", n)
			}
			e.clock.Advance(clientCacheTTL)
			rt = e.refreshOK(t, id, rt)
			if n := reads.clients.Load() - before; n != 3 {
				t.Errorf("a refresh after clientCacheTTL did not read the client again (%d reads)", n)
			}
			e.redeem(t, id)
			if n := reads.clients.Load() - before; n != 4 {
				t.Errorf("a code redemption did not read the client (%d reads)", n)
			}
		})
	}
}

// TestClientCacheRefusals: credentials the cached client would refuse are
// checked against the store, with the same answer as without the cache.
func TestClientCacheRefusals(t *testing.T) {
	e := newTkEnv(t, nil)
	id, secret, _ := e.registerDynamic(t, "client_secret_basic")
	tr, _ := e.redeem(t, id)
	rt := e.refreshOK(t, id, tr.str("refresh_token"))

	wrong := tkBasicAuth(id, secret+"x")
	r := e.send(t, "application/x-www-form-urlencoded", tkRefreshForm(rt).Encode(), wrong)
	tkWantError(t, r, http.StatusUnauthorized, "invalid_client")
	if r.header.Get("WWW-Authenticate") != basicChallenge {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	form := tkRefreshForm(rt)
	form.Set("client_id", id)
	form.Set("client_secret", secret)
	tkWantError(t, e.send(t, "application/x-www-form-urlencoded", form.Encode(), nil), http.StatusUnauthorized, "invalid_client")
	e.refreshOK(t, id, rt)
}

// TestClientCacheDeletion: deleting a client ends its refreshes at once,
// with invalid_client as without the cache, whether it is deleted through
// RFC 7592 on this server or in the store by another process (which revokes
// its grants, as `frontmcp clients remove` does).
func TestClientCacheDeletion(t *testing.T) {
	e := newTkEnv(t, nil)

	id, _, rat := e.registerDynamic(t, "none")
	tr, _ := e.redeem(t, id)
	rt := e.refreshOK(t, id, tr.str("refresh_token"))
	if r := e.configRequest(t, http.MethodDelete, id, rat); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.raw)
	}
	tkWantError(t, e.tokenAs(t, id, tkRefreshForm(rt)), http.StatusUnauthorized, "invalid_client")

	id, _, _ = e.registerDynamic(t, "none")
	tr, code := e.redeem(t, id)
	rt = e.refreshOK(t, id, tr.str("refresh_token"))
	ctx := context.Background()
	if err := e.store.DeleteClient(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RevokeGrant(ctx, code.GrantID); err != nil {
		t.Fatal(err)
	}
	tkWantError(t, e.tokenAs(t, id, tkRefreshForm(rt)), http.StatusUnauthorized, "invalid_client")

	// Deleted without its grants (their revocation failed): the cached
	// copy accepts the client for at most clientCacheTTL.
	id, _, _ = e.registerDynamic(t, "none")
	tr, _ = e.redeem(t, id)
	rt = e.refreshOK(t, id, tr.str("refresh_token"))
	if err := e.store.DeleteClient(ctx, id); err != nil {
		t.Fatal(err)
	}
	rt = e.refreshOK(t, id, rt)
	e.clock.Advance(clientCacheTTL)
	tkWantError(t, e.tokenAs(t, id, tkRefreshForm(rt)), http.StatusUnauthorized, "invalid_client")
}

// TestClientCacheBound: the cache never holds more than clientCacheMax
// clients, prefers dropping expired ones, and never returns one.
func TestClientCacheBound(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cc := newClientCache(func() time.Time { return now })
	put := func(id string) { cc.put(id, &store.Client{ID: id}, now.Add(clientCacheTTL)) }
	for i := range clientCacheMax {
		put("c" + strconv.Itoa(i))
	}
	put("fresh")
	if len(cc.entries) != clientCacheMax {
		t.Fatalf("%d entries, want %d", len(cc.entries), clientCacheMax)
	}
	if _, ok := cc.get("fresh"); !ok {
		t.Fatal("the client put last is not cached")
	}
	now = now.Add(clientCacheTTL)
	if _, ok := cc.get("fresh"); ok {
		t.Error("an expired client was returned")
	}
	put("later")
	if _, ok := cc.get("later"); !ok || len(cc.entries) > clientCacheMax-evictionSample+1 {
		t.Errorf("after expiry: %d entries, want the sampled expired ones dropped", len(cc.entries))
	}
	cc.forget("later")
	if _, ok := cc.get("later"); ok {
		t.Error("forget left the client")
	}
}

// BenchmarkBoundedCachePutFull: a put into a full cache costs the same
// whatever its size.
func BenchmarkBoundedCachePutFull(b *testing.B) {
	for _, size := range []int{clientCacheMax, grantCacheMax} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			now := time.Unix(1_800_000_000, 0)
			bc := newBoundedCache[int](func() time.Time { return now }, size)
			ids := make([]string, size+b.N)
			for i := range ids {
				ids[i] = "id" + strconv.Itoa(i)
			}
			for i := range size {
				bc.put(ids[i], i, now.Add(time.Hour))
			}
			b.ResetTimer()
			for i := range b.N {
				bc.put(ids[size+i], i, now.Add(time.Hour))
			}
		})
	}
}
