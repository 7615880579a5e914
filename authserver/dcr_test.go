package authserver

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/go-cmp/cmp"
)

// tkInitialToken is the initial access token of the registration policy
// tests.
const tkInitialToken = "initial-access-token-0123456789abcdef"

// registerAuth posts a registration request with an Authorization header
// (none when authz is "").
func (e *tkEnv) registerAuth(t testing.TB, authz, body string) tkResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+PathRegister, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	return e.do(t, req)
}

// configRequest sends a request to the client configuration endpoint of
// clientID (RFC 7592) with the registration access token rat ("" sends no
// Authorization header).
func (e *tkEnv) configRequest(t testing.TB, method, clientID, rat string) tkResp {
	t.Helper()
	req, err := http.NewRequest(method, e.base+PathRegister+"/"+url.PathEscape(clientID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rat != "" {
		req.Header.Set("Authorization", "Bearer "+rat)
	}
	return e.do(t, req)
}

// dynamicClients returns the dynamically registered clients in the store.
func (e *tkEnv) dynamicClients(t testing.TB) []*store.Client {
	t.Helper()
	all, err := e.store.ListClients(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []*store.Client
	for _, c := range all {
		if c.Dynamic {
			out = append(out, c)
		}
	}
	return out
}

// wantBearerChallenge checks a 401 invalid_token answer and its
// WWW-Authenticate challenge (RFC 6750 §3): with error="invalid_token"
// when a token was presented, without an error code when none was.
func wantBearerChallenge(t testing.TB, r tkResp, presented bool) {
	t.Helper()
	tkWantError(t, r, http.StatusUnauthorized, "invalid_token")
	ch := r.header.Get("WWW-Authenticate")
	if !strings.HasPrefix(ch, `Bearer realm="frontmcp"`) {
		t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", ch)
	}
	if got := strings.Contains(ch, `error="invalid_token"`); got != presented {
		t.Errorf("WWW-Authenticate = %q: has error=invalid_token %v, want %v", ch, got, presented)
	}
}

func TestRegisterInitialAccessToken(t *testing.T) {
	const body = `{"redirect_uris":["https://app.example.com/cb"]}`
	e := newTkEnv(t, func(o *Options) { o.Registration.InitialAccessToken = tkInitialToken })
	tests := []struct {
		name      string
		authz     string
		presented bool
	}{
		{"missing", "", false},
		{"wrong token", "Bearer " + tkInitialToken + "x", true},
		{"prefix of the token", "Bearer " + tkInitialToken[:10], true},
		{"Basic scheme", "Basic " + tkInitialToken, true},
		{"malformed bearer", "Bearer a b", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantBearerChallenge(t, e.registerAuth(t, tt.authz, body), tt.presented)
			if n := len(e.dynamicClients(t)); n != 0 {
				t.Errorf("a refused registration stored %d clients", n)
			}
		})
	}
	for _, authz := range []string{"Bearer " + tkInitialToken, "bearer " + tkInitialToken} {
		if r := e.registerAuth(t, authz, body); r.status != http.StatusCreated {
			t.Errorf("%q: %d %s, want 201", authz, r.status, r.raw)
		}
	}
	if n := len(e.dynamicClients(t)); n != 2 {
		t.Errorf("%d clients stored, want 2", n)
	}
}

func TestRegisterRedirectAllowlist(t *testing.T) {
	e := newTkEnv(t, func(o *Options) {
		o.Registration.AllowedRedirectURIs = []string{"https://*.example.com/callback", "http://127.0.0.1:*/callback", "com.example.app:/**"}
	})
	for _, uris := range [][]string{
		{"https://app.example.com/callback"},
		{"http://127.0.0.1:49152/callback", "https://b.example.com/callback"},
		{"com.example.app:/oauth/redirect"},
	} {
		r := e.register(t, "application/json", `{"redirect_uris":`+string(tkJSON(t, uris))+`}`)
		if r.status != http.StatusCreated {
			t.Errorf("%v: %d %s, want 201", uris, r.status, r.raw)
		}
	}
	for _, tt := range []struct {
		uris []string
		bad  string
	}{
		{[]string{"https://evil.example.org/callback"}, "https://evil.example.org/callback"},
		{[]string{"https://app.example.com/callback", "https://app.example.com/other"}, "https://app.example.com/other"},
		{[]string{"https://a.b.example.com/callback"}, "https://a.b.example.com/callback"},
		{[]string{"http://localhost:5000/callback"}, "http://localhost:5000/callback"},
		{[]string{"https://app.example.com/callback?x=1"}, "https://app.example.com/callback?x=1"},
	} {
		before := len(e.dynamicClients(t))
		r := e.register(t, "application/json", `{"redirect_uris":`+string(tkJSON(t, tt.uris))+`}`)
		tkWantError(t, r, http.StatusBadRequest, "invalid_redirect_uri")
		if d := r.str("error_description"); !strings.Contains(d, tt.bad) {
			t.Errorf("%v: error_description %q does not name %s", tt.uris, d, tt.bad)
		}
		if after := len(e.dynamicClients(t)); after != before {
			t.Errorf("%v: a refused registration stored a client", tt.uris)
		}
	}
}

// TestRegisterMaxClients: the cap counts dynamic clients only, refuses with
// 403 access_denied, and frees a slot when a client is deleted (RFC 7592).
func TestRegisterMaxClients(t *testing.T) {
	e := newTkEnv(t, func(o *Options) { o.Registration.MaxClients = 2 })
	const body = `{"redirect_uris":["https://app.example.com/cb"]}`
	var first tkResp
	for i := range 2 {
		r := e.register(t, "application/json", body)
		if r.status != http.StatusCreated {
			t.Fatalf("registration %d: %d %s", i+1, r.status, r.raw)
		}
		if i == 0 {
			first = r
		}
	}
	r := e.register(t, "application/json", body)
	tkWantError(t, r, http.StatusForbidden, "access_denied")
	if d := r.str("error_description"); !strings.Contains(d, "registration limit reached") {
		t.Errorf("error_description %q", d)
	}
	if n := len(e.dynamicClients(t)); n != 2 {
		t.Errorf("%d clients stored, want 2", n)
	}
	if r := e.configRequest(t, http.MethodDelete, first.str("client_id"), first.str("registration_access_token")); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.raw)
	}
	if r := e.register(t, "application/json", body); r.status != http.StatusCreated {
		t.Errorf("registration after a deletion: %d %s, want 201", r.status, r.raw)
	}
}

// TestRegisterMaxClientsOtherWriters: the cap is kept from an in-memory
// count, so clients added or removed in the store by others (another
// instance, frontmcp clients remove) are seen at the next count, at most
// recountInterval later.
func TestRegisterMaxClientsOtherWriters(t *testing.T) {
	e := newTkEnv(t, func(o *Options) { o.Registration.MaxClients = 2 })
	const body = `{"redirect_uris":["https://app.example.com/cb"]}`
	if r := e.register(t, "application/json", body); r.status != http.StatusCreated {
		t.Fatalf("registration: %d %s", r.status, r.raw)
	}
	// Another instance registers a client in the shared store.
	if err := e.store.CreateClient(context.Background(), &store.Client{ID: "elsewhere", Dynamic: true,
		RedirectURIs: []string{"https://app.example.com/cb"}, TokenEndpointAuthMethod: "none"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(recountInterval)
	tkWantError(t, e.register(t, "application/json", body), http.StatusForbidden, "access_denied")

	// An operator removes it; the count follows at the next recount.
	if _, err := DeleteClient(context.Background(), e.store, "elsewhere", nil); err != nil {
		t.Fatal(err)
	}
	tkWantError(t, e.register(t, "application/json", body), http.StatusForbidden, "access_denied")
	e.clock.Advance(recountInterval)
	if r := e.register(t, "application/json", body); r.status != http.StatusCreated {
		t.Fatalf("registration after the recount: %d %s, want 201", r.status, r.raw)
	}
	if n := len(e.dynamicClients(t)); n != 2 {
		t.Errorf("%d dynamic clients stored, want 2", n)
	}
}

// TestRegisterMaxClientsConcurrent: concurrent registrations on one server
// never exceed the cap, and all of it is used.
func TestRegisterMaxClientsConcurrent(t *testing.T) {
	const capacity, attempts = 5, 24
	e := newTkEnv(t, func(o *Options) { o.Registration.MaxClients = capacity })
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		refused int
	)
	start := make(chan struct{})
	for range attempts {
		wg.Go(func() {
			<-start
			r := e.register(t, "application/json", `{"redirect_uris":["https://app.example.com/cb"]}`)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.status == http.StatusCreated:
				created++
			case r.status == http.StatusForbidden && r.errCode() == "access_denied":
				refused++
			default:
				t.Errorf("unexpected answer %d %s", r.status, r.raw)
			}
		})
	}
	close(start)
	wg.Wait()
	if created != capacity || refused != attempts-capacity {
		t.Errorf("%d created, %d refused; want %d and %d", created, refused, capacity, attempts-capacity)
	}
	if n := len(e.dynamicClients(t)); n != capacity {
		t.Errorf("%d clients stored, want %d", n, capacity)
	}
}

// TestClientConfigurationRead: the registration response carries the
// RFC 7592 credentials, and GET returns the registered metadata without
// secrets.
func TestClientConfigurationRead(t *testing.T) {
	e := newTkEnv(t, nil)
	reg := e.register(t, "application/json", `{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"client_secret_basic","client_name":"Reader","scope":"mcp:read"}`)
	if reg.status != http.StatusCreated {
		t.Fatalf("register: %d %s", reg.status, reg.raw)
	}
	id, rat := reg.str("client_id"), reg.str("registration_access_token")
	if want := tkIssuer + PathRegister + "/" + id; reg.str("registration_client_uri") != want {
		t.Errorf("registration_client_uri = %q, want %q", reg.str("registration_client_uri"), want)
	}
	if len(rat) != token.SecretLen {
		t.Errorf("registration_access_token has %d characters, want %d", len(rat), token.SecretLen)
	}
	c, err := e.store.GetClient(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.RegistrationTokenHash != token.Hash(rat) {
		t.Error("the stored registration token hash is not the hash of the returned token")
	}
	if strings.Contains(string(tkJSON(t, c)), rat) {
		t.Error("the stored client contains the raw registration access token")
	}

	got := e.configRequest(t, http.MethodGet, id, rat)
	if got.status != http.StatusOK {
		t.Fatalf("GET: %d %s", got.status, got.raw)
	}
	want := map[string]any{}
	for k, v := range reg.body {
		switch k {
		case "client_secret", "client_secret_expires_at", "registration_access_token":
		default:
			want[k] = v
		}
	}
	if diff := cmp.Diff(want, got.body); diff != "" {
		t.Errorf("GET response (-want +got):\n%s", diff)
	}

	// Every failure is the same 401.
	other := e.register(t, "application/json", `{"redirect_uris":["https://app.example.com/cb"]}`)
	for _, tt := range []struct {
		name, id, rat string
		presented     bool
	}{
		{"no token", id, "", false},
		{"wrong token", id, rat + "x", true},
		{"another client's token", id, other.str("registration_access_token"), true},
		{"unknown client", "no-such-client", rat, true},
		{"pre-registered client", tkPublic, rat, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantBearerChallenge(t, e.configRequest(t, http.MethodGet, tt.id, tt.rat), tt.presented)
		})
	}
}

// TestClientConfigurationDelete: DELETE removes the client and revokes its
// grants, so its refresh tokens stop working; its registration access token
// stops working too.
func TestClientConfigurationDelete(t *testing.T) {
	var notified struct {
		sync.Mutex
		list []store.Revocation
	}
	e := newTkEnv(t, func(o *Options) {
		o.Revoked = func(r store.Revocation) {
			notified.Lock()
			notified.list = append(notified.list, r)
			notified.Unlock()
		}
	})
	reg := e.register(t, "application/json", `{"redirect_uris":["`+tkRedirect+`"]}`)
	if reg.status != http.StatusCreated {
		t.Fatalf("register: %d %s", reg.status, reg.raw)
	}
	id, rat := reg.str("client_id"), reg.str("registration_access_token")
	tr, code := e.redeem(t, id)
	rt := tr.str("refresh_token")
	if rt == "" {
		t.Fatal("no refresh token issued")
	}
	// A second grant from a pending code, redeemed before the deletion.
	tr2, code2 := e.redeem(t, id)
	// An unredeemed code.
	raw, verifier, _ := e.newCode(t, id, nil)

	if r := e.configRequest(t, http.MethodDelete, id, rat); r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("DELETE: %d %q, want 204 without a body", r.status, r.raw)
	}
	// This server applied both revocations at once.
	notified.Lock()
	var ids []string
	for _, rv := range notified.list {
		if rv.Kind == store.RevokedGrant {
			ids = append(ids, rv.ID)
		}
	}
	notified.Unlock()
	slices.Sort(ids)
	want := []string{code.GrantID, code2.GrantID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("Options.Revoked got grants %v, want %v", ids, want)
	}
	if _, err := e.store.GetClient(context.Background(), id); err == nil {
		t.Error("the client is still stored")
	}
	for _, gid := range []string{code.GrantID, code2.GrantID} {
		if g := e.getGrant(t, gid); g.RevokedAt.IsZero() {
			t.Errorf("grant %s is not revoked", gid)
		}
	}
	tkWantError(t, e.tokenAs(t, id, tkRefreshForm(rt)), http.StatusUnauthorized, "invalid_client")
	tkWantError(t, e.tokenAs(t, id, tkRefreshForm(tr2.str("refresh_token"))), http.StatusUnauthorized, "invalid_client")
	tkWantError(t, e.tokenAs(t, id, tkCodeForm(raw, verifier)), http.StatusUnauthorized, "invalid_client")
	wantBearerChallenge(t, e.configRequest(t, http.MethodGet, id, rat), true)
	wantBearerChallenge(t, e.configRequest(t, http.MethodDelete, id, rat), true)
}

// TestClientConfigurationOtherClientsUntouched: deleting one client leaves
// other clients' grants alone.
func TestClientConfigurationOtherClientsUntouched(t *testing.T) {
	e := newTkEnv(t, nil)
	reg := e.register(t, "application/json", `{"redirect_uris":["`+tkRedirect+`"]}`)
	if reg.status != http.StatusCreated {
		t.Fatalf("register: %d %s", reg.status, reg.raw)
	}
	e.redeem(t, reg.str("client_id"))
	tr, code := e.redeem(t, tkPublic)
	if r := e.configRequest(t, http.MethodDelete, reg.str("client_id"), reg.str("registration_access_token")); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.raw)
	}
	if !e.getGrant(t, code.GrantID).RevokedAt.IsZero() {
		t.Error("another client's grant was revoked")
	}
	if r := e.tokenAs(t, tkPublic, tkRefreshForm(tr.str("refresh_token"))); r.status != http.StatusOK {
		t.Errorf("other client's refresh: %d %s", r.status, r.raw)
	}
}

func TestClientConfigurationMethods(t *testing.T) {
	e := newTkEnv(t, nil)
	reg := e.register(t, "application/json", `{"redirect_uris":["https://app.example.com/cb"]}`)
	id, rat := reg.str("client_id"), reg.str("registration_access_token")
	for _, m := range []string{http.MethodPut, http.MethodPost, http.MethodPatch} {
		r := e.configRequest(t, m, id, rat)
		tkWantError(t, r, http.StatusMethodNotAllowed, "invalid_request")
		if a := r.header.Get("Allow"); a != clientConfigurationMethods {
			t.Errorf("%s: Allow = %q", m, a)
		}
	}
	if m := e.configRequest(t, http.MethodPut, id, rat).str("error_description"); !strings.Contains(m, "not supported") {
		t.Errorf("PUT error_description %q", m)
	}
	req, _ := http.NewRequest(http.MethodOptions, e.base+PathRegister+"/"+id, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "DELETE")
	r := e.do(t, req)
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Methods") != clientConfigurationMethods {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	// Nothing changed.
	if r := e.configRequest(t, http.MethodGet, id, rat); r.status != http.StatusOK {
		t.Errorf("GET after refused methods: %d %s", r.status, r.raw)
	}
}

func TestClientConfigurationDisabled(t *testing.T) {
	e := newTkEnv(t, func(o *Options) { o.RegistrationEnabled = false })
	res, err := e.client.Get(e.base + PathRegister + "/some-client")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("client configuration endpoint without registration: %d, want 404", res.StatusCode)
	}
}

// TestClientConfigurationStoreUnavailable: a store outage is 503 and
// nothing is reported deleted.
func TestClientConfigurationStoreUnavailable(t *testing.T) {
	e := newTkEnv(t, nil)
	reg := e.register(t, "application/json", `{"redirect_uris":["https://app.example.com/cb"]}`)
	e.store.Close()
	tkWantError(t, e.configRequest(t, http.MethodDelete, reg.str("client_id"), reg.str("registration_access_token")),
		http.StatusServiceUnavailable, "temporarily_unavailable")
}

func TestRegistrationPolicyInvalid(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    RegistrationPolicy
		want string
	}{
		{"bad pattern", RegistrationPolicy{AllowedRedirectURIs: []string{"https://app.*.com/cb"}}, "AllowedRedirectURIs[0]"},
		{"negative cap", RegistrationPolicy{MaxClients: -1}, "MaxClients"},
		{"token with a space", RegistrationPolicy{InitialAccessToken: "a b"}, "InitialAccessToken"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, nil)
			opts := e.opts
			opts.Registration = tt.p
			if _, err := New(&opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
