package authserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestGrantCacheReads: a refresh rotates the token without reading the grant
// when the server knows the grant (it created it, or read it for an earlier
// refresh); a grant revoked behind the server's back (another instance, the
// operator command) is still refused, by the rotation, and read again next
// time.
func TestGrantCacheReads(t *testing.T) {
	var reads *storeReads
	e := newTkEnv(t, func(o *Options) {
		reads = &storeReads{Store: o.Store}
		o.Store = reads
	})
	first, code := e.redeem(t, tkPublic)
	rt := first.str("refresh_token")
	for range 3 {
		rt = e.refreshOK(t, tkPublic, rt)
	}
	if n := reads.grants.Load(); n != 0 {
		t.Errorf("3 refreshes of a grant this server created read it %d times, want 0", n)
	}

	// A second server on the same store (another instance) reads it once.
	other, err := New(&e.opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	other.Register(mux)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	firstURL := e.base
	e.base = ts.URL
	for range 3 {
		rt = e.refreshOK(t, tkPublic, rt)
	}
	if n := reads.grants.Load(); n != 1 {
		t.Errorf("3 refreshes on another instance read the grant %d times, want 1", n)
	}
	e.base = firstURL

	// Revoked in the store, not through this server.
	if err := e.store.RevokeGrant(context.Background(), code.GrantID); err != nil {
		t.Fatal(err)
	}
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(rt)), http.StatusBadRequest, "invalid_grant")
	before := reads.grants.Load()
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(rt)), http.StatusBadRequest, "invalid_grant")
	if reads.grants.Load() != before+1 {
		t.Error("a refused rotation left the grant's facts cached")
	}
}

// TestGrantCacheRevokedHere: revoking a grant through this server forgets
// its facts, so the next refresh reads the revoked grant and is refused
// before any rotation.
func TestGrantCacheRevokedHere(t *testing.T) {
	e := newRvEnv(t, nil)
	first, code := e.redeem(t, tkPublic)
	if _, ok := e.srv.grantCache.get(code.GrantID); !ok {
		t.Fatal("the redeemed grant's facts are not cached")
	}
	e.revoke(t, tkPublic, first.str("refresh_token"), "refresh_token")
	if _, ok := e.srv.grantCache.get(code.GrantID); ok {
		t.Fatal("the revoked grant's facts are still cached")
	}
	tkWantError(t, e.tokenAs(t, tkPublic, tkRefreshForm(first.str("refresh_token"))), http.StatusBadRequest, "invalid_grant")
	if _, ok := e.srv.grantCache.get(code.GrantID); ok {
		t.Fatal("a refresh of a revoked grant cached its facts")
	}
}
