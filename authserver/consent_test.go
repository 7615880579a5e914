package authserver

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

// approveAndRedeem runs a full authorization of client "app" with scope:
// login, consent when asked (reporting whether it was), and the code
// redeemed at the token endpoint, which creates the grant.
func (h *browserHarness) approveAndRedeem(scope string) (asked bool) {
	h.t.Helper()
	q := h.authzParams()
	q.Set("scope", scope)
	id, csrf := h.startLogin(h.browser, q)
	resp := h.login(h.browser, id, csrf, testUser, testPassword)
	if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, PathConsent) {
		asked = true
		resp = h.consent(h.browser, id, csrf, "approve")
	}
	code := clientRedirect(h.t, resp, "https://app.example/cb?tenant=1&").Get("code")
	if code == "" {
		h.t.Fatal("no code")
	}
	h.redeemCode(code)
	return asked
}

// redeemCode exchanges a code of client "app" at the token endpoint.
func (h *browserHarness) redeemCode(code string) {
	h.t.Helper()
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"app"},
		"redirect_uri": {"https://app.example/cb?tenant=1"}, "code_verifier": {testVerifier},
	}
	resp := h.post(h.browser, PathToken, form)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("token: %d %s", resp.StatusCode, resp.body)
	}
}

// grantsOf lists the grants of the test user for client "app".
func (h *browserHarness) grantsOf() []*store.Grant {
	h.t.Helper()
	gs, err := h.store.ListGrants(context.Background(), store.GrantFilter{Subject: testUser, ClientID: "app"})
	if err != nil {
		h.t.Fatal(err)
	}
	return gs
}

// Consent given once is remembered while its grant is active: the second
// sign-in skips the page (but not the login); revoking the grant makes the
// page come back.
func TestConsentRemembered(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	if !h.approveAndRedeem("tools:read") {
		t.Fatal("first authorization: consent was not asked")
	}
	if h.approveAndRedeem("tools:read") {
		t.Fatal("second authorization: consent asked again although an active grant covers it")
	}
	grants := h.grantsOf()
	if len(grants) != 2 {
		t.Fatalf("%d grants; want 2", len(grants))
	}
	for _, g := range grants {
		if err := h.store.RevokeGrant(context.Background(), g.ID); err != nil {
			t.Fatal(err)
		}
	}
	if !h.approveAndRedeem("tools:read") {
		t.Fatal("after revocation: consent was not asked")
	}
}

// Remembered consent covers the scopes granted, not more: a wider request
// asks again; a narrower one does not.
func TestConsentRememberedScopes(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	if !h.approveAndRedeem("tools:read") {
		t.Fatal("first authorization: consent was not asked")
	}
	if !h.approveAndRedeem("tools:read tools:write") {
		t.Fatal("wider scope: consent was not asked")
	}
	if h.approveAndRedeem("tools:write") {
		t.Fatal("a scope within the second grant: consent asked again")
	}
}

// Only an active grant counts: an approval whose code was never redeemed
// leaves no grant, and an expired grant is forgotten.
func TestConsentNotRemembered(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	id, csrf := h.loggedIn(h.browser, h.authzParams())
	clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), "https://app.example/cb?tenant=1&")
	if !h.approveAndRedeem("tools:read") {
		t.Fatal("after an unredeemed approval: consent was not asked")
	}
	h.clock.Advance(h.opts.GrantLifetime + time.Second)
	if !h.approveAndRedeem("tools:read") {
		t.Fatal("after the grant expired: consent was not asked")
	}
	// Another client of the same user is asked for its own consent.
	q := h.authzParams()
	q.Set("client_id", "single")
	q.Set("redirect_uri", "https://single.example/cb")
	id, csrf = h.startLogin(h.browser, q)
	wantLocation(t, h.login(h.browser, id, csrf, testUser, testPassword), PathConsent+"?request="+id)
}
