package authserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// consentClient is a client of the remembered-consent tests: its id, the
// redirect URI it uses and, for a confidential client, its secret.
type consentClient struct {
	id, redirectURI, secret string
}

const confSecret = "conf-secret-0123456789abcdefghijklmnop"

var (
	// confClient is a confidential client (client_secret_basic) with an
	// https and a loopback redirect URI.
	confClient = consentClient{"conf", "https://conf.example/cb", confSecret}
	// appClient is the harness's public client "app".
	appClient = consentClient{"app", "https://app.example/cb?tenant=1", ""}
)

// withConfidentialClient adds confClient to a harness.
func withConfidentialClient(o *Options) {
	o.Clients = append(o.Clients, &store.Client{
		ID: confClient.id, Name: "Confidential App", SecretHash: token.Hash(confSecret),
		TokenEndpointAuthMethod: "client_secret_basic",
		RedirectURIs:            []string{confClient.redirectURI, "http://127.0.0.1/callback"},
	})
}

// consentParams is an authorization request of c with scope.
func (h *browserHarness) consentParams(c consentClient, scope string) url.Values {
	q := h.authzParams()
	q.Set("client_id", c.id)
	q.Set("redirect_uri", c.redirectURI)
	q.Set("scope", scope)
	return q
}

// approveAndRedeem runs a full authorization of c with scope: login,
// consent when asked (reporting whether it was), and the code redeemed at
// the token endpoint, which creates the grant.
func (h *browserHarness) approveAndRedeem(c consentClient, scope string) (asked bool) {
	h.t.Helper()
	id, csrf := h.startLogin(h.browser, h.consentParams(c, scope))
	resp := h.login(h.browser, id, csrf, testUser, testPassword)
	if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, PathConsent) {
		asked = true
		resp = h.consent(h.browser, id, csrf, "approve")
	}
	sep := "?"
	if strings.Contains(c.redirectURI, "?") {
		sep = "&"
	}
	code := clientRedirect(h.t, resp, c.redirectURI+sep).Get("code")
	if code == "" {
		h.t.Fatal("no code")
	}
	if status, body := h.redeemCode(c, c.redirectURI, code); status != http.StatusOK {
		h.t.Fatalf("token: %d %s", status, body)
	}
	return asked
}

// redeemCode exchanges a code of c at the token endpoint, with c's secret
// (HTTP Basic) when it has one, and returns the status and the body.
func (h *browserHarness) redeemCode(c consentClient, redirectURI, code string) (int, string) {
	h.t.Helper()
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {redirectURI}, "code_verifier": {testVerifier},
	}
	if c.secret == "" {
		form.Set("client_id", c.id)
	}
	req, err := http.NewRequest(http.MethodPost, h.ts.URL+PathToken, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.secret != "" {
		req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	}
	resp := h.do(h.browser, req)
	return resp.StatusCode, resp.body
}

// grantsOf lists the grants of the test user for client id.
func (h *browserHarness) grantsOf(id string) []*store.Grant {
	h.t.Helper()
	gs, err := h.store.ListGrants(context.Background(), store.GrantFilter{Subject: testUser, ClientID: id})
	if err != nil {
		h.t.Fatal(err)
	}
	return gs
}

// Consent given once to a confidential client is remembered while its
// grant is active: the second sign-in skips the page (but not the login);
// revoking the grant makes the page come back.
func TestConsentRemembered(t *testing.T) {
	h := newBrowserHarness(t, false, withConfidentialClient)
	if !h.approveAndRedeem(confClient, "tools:read") {
		t.Fatal("first authorization: consent was not asked")
	}
	if h.approveAndRedeem(confClient, "tools:read") {
		t.Fatal("second authorization: consent asked again although an active grant covers it")
	}
	grants := h.grantsOf(confClient.id)
	if len(grants) != 2 {
		t.Fatalf("%d grants; want 2", len(grants))
	}
	for _, g := range grants {
		if err := h.store.RevokeGrant(context.Background(), g.ID); err != nil {
			t.Fatal(err)
		}
	}
	if !h.approveAndRedeem(confClient, "tools:read") {
		t.Fatal("after revocation: consent was not asked")
	}
}

// Remembered consent covers the scopes granted, not more: a wider request
// asks again; a narrower one does not.
func TestConsentRememberedScopes(t *testing.T) {
	h := newBrowserHarness(t, false, withConfidentialClient)
	if !h.approveAndRedeem(confClient, "tools:read") {
		t.Fatal("first authorization: consent was not asked")
	}
	if !h.approveAndRedeem(confClient, "tools:read tools:write") {
		t.Fatal("wider scope: consent was not asked")
	}
	if h.approveAndRedeem(confClient, "tools:write") {
		t.Fatal("a scope within the second grant: consent asked again")
	}
}

// Only an active grant counts: an approval whose code was never redeemed
// leaves no grant, and an expired grant is forgotten.
func TestConsentNotRemembered(t *testing.T) {
	h := newBrowserHarness(t, false, withConfidentialClient)
	id, csrf := h.loggedIn(h.browser, h.consentParams(confClient, "tools:read"))
	clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), confClient.redirectURI+"?")
	if !h.approveAndRedeem(confClient, "tools:read") {
		t.Fatal("after an unredeemed approval: consent was not asked")
	}
	h.clock.Advance(h.opts.GrantLifetime + time.Second)
	if !h.approveAndRedeem(confClient, "tools:read") {
		t.Fatal("after the grant expired: consent was not asked")
	}
	// Another client of the same user is asked for its own consent.
	q := h.authzParams()
	q.Set("client_id", "single")
	q.Set("redirect_uri", "https://single.example/cb")
	id, csrf = h.startLogin(h.browser, q)
	wantLocation(t, h.login(h.browser, id, csrf, testUser, testPassword), PathConsent+"?request="+id)
}

// A public client's id proves nothing about who asks (RFC 6749 §10.2), so
// its consent is never remembered: the page comes every time, active grant
// or not.
func TestConsentNotRememberedForPublicClients(t *testing.T) {
	h := newBrowserHarness(t, false, nil)
	for i := range 3 {
		if !h.approveAndRedeem(appClient, "tools:read") {
			t.Fatalf("authorization %d of a public client: consent was not asked", i+1)
		}
	}
	if n := len(h.grantsOf(appClient.id)); n != 3 {
		t.Fatalf("%d grants; want 3", n)
	}
}

// The attack remembered consent would open for a public client (RFC 8252
// §8.6): after the user approved a URL client whose redirect is on
// loopback, an application on the same machine starts a request with the
// same client_id and its own port. The user is shown the consent page,
// naming that port, and no code leaves before the user approves.
func TestConsentImpersonatedPublicClient(t *testing.T) {
	c := newCIMDClient(t)
	h := newBrowserHarness(t, false, withCIMD(t, c))
	// The genuine client's authorization, approved and redeemed.
	id, csrf := h.loggedIn(h.browser, h.cimdParams(c))
	code := clientRedirect(t, h.consent(h.browser, id, csrf, "approve"), "http://127.0.0.1:5555/callback?").Get("code")
	if status, body := h.redeemCode(consentClient{id: c.id}, "http://127.0.0.1:5555/callback", code); status != http.StatusOK {
		t.Fatalf("redeem: %d %s", status, body)
	}
	if n := len(h.grantsOf(c.id)); n != 1 {
		t.Fatalf("%d grants; want the genuine client's one", n)
	}

	// The impostor listens on port 6666.
	q := h.cimdParams(c)
	q.Set("redirect_uri", "http://127.0.0.1:6666/callback")
	id, csrf = h.startLogin(h.browser, q)
	resp := h.login(h.browser, id, csrf, testUser, testPassword)
	wantLocation(t, resp, PathConsent+"?request="+id)
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "code=") {
		t.Fatalf("a code left without consent: %s", loc)
	}
	page := h.get(h.browser, PathConsent+"?request="+url.QueryEscape(id))
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "127.0.0.1:6666") {
		t.Errorf("consent page: %d, does not name the impostor's redirect 127.0.0.1:6666:\n%s", page.StatusCode, page.body)
	}
	// Denying sends no code.
	if q := clientRedirect(t, h.consent(h.browser, id, csrf, "deny"), "http://127.0.0.1:6666/callback?"); q.Get("code") != "" || q.Get("error") != "access_denied" {
		t.Errorf("after deny: %v; want error=access_denied without a code", q)
	}
}

// A confidential client keeps remembered consent even on a loopback
// redirect of another port: the code that goes there without the page is
// useless to an impostor, which cannot redeem it without the secret.
func TestConsentRememberedConfidentialLoopback(t *testing.T) {
	h := newBrowserHarness(t, false, withConfidentialClient)
	loop := consentClient{confClient.id, "http://127.0.0.1:5555/callback", confSecret}
	if !h.approveAndRedeem(loop, "tools:read") {
		t.Fatal("first authorization: consent was not asked")
	}
	impostor := consentClient{confClient.id, "http://127.0.0.1:6666/callback", ""}
	id, csrf := h.startLogin(h.browser, h.consentParams(impostor, "tools:read"))
	code := clientRedirect(t, h.login(h.browser, id, csrf, testUser, testPassword), impostor.redirectURI+"?").Get("code")
	status, body := h.redeemCode(impostor, impostor.redirectURI, code)
	var e struct{ Error string }
	json.Unmarshal([]byte(body), &e)
	if status != http.StatusUnauthorized || e.Error != "invalid_client" {
		t.Errorf("code redeemed without the secret: %d %s; want 401 invalid_client", status, body)
	}
	if n := len(h.grantsOf(confClient.id)); n != 1 {
		t.Errorf("%d grants; want only the genuine one", n)
	}
}
