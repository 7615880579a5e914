package authserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/go-cmp/cmp"
)

// rvEnv is a tkEnv that records what Options.Revoked is told.
type rvEnv struct {
	*tkEnv
	mu      sync.Mutex
	notices []store.Revocation
}

func newRvEnv(t testing.TB, mod func(*Options)) *rvEnv {
	t.Helper()
	e := &rvEnv{}
	e.tkEnv = newTkEnv(t, func(o *Options) {
		o.Revoked = func(r store.Revocation) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.notices = append(e.notices, r)
		}
		if mod != nil {
			mod(o)
		}
	})
	return e
}

func (e *rvEnv) revocationNotices() []store.Revocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]store.Revocation(nil), e.notices...)
}

// postAs posts form to path authenticated as clientID with its registered
// method (see tokenAs) and checks the headers every revocation and
// introspection response has.
func (e *rvEnv) postAs(t testing.TB, path, clientID string, form url.Values) tkResp {
	t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	var hdr http.Header
	switch {
	case clientID == "":
	case clientID == tkPost:
		f.Set("client_id", clientID)
		f.Set("client_secret", e.secrets[clientID])
	case e.secrets[clientID] != "":
		hdr = tkBasicAuth(clientID, e.secrets[clientID])
	default:
		f.Set("client_id", clientID)
	}
	return e.post(t, path, f.Encode(), hdr)
}

func (e *rvEnv) post(t testing.TB, path, body string, hdr http.Header) tkResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := tkResp{status: res.StatusCode, header: res.Header, raw: raw}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("POST %s: Cache-Control = %q, want no-store", path, cc)
	}
	if len(raw) > 0 {
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("POST %s: Content-Type = %q, want application/json", path, ct)
		}
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Errorf("POST %s: body %q is not a JSON object: %v", path, raw, err)
		}
	}
	return r
}

// revoke posts a revocation request and requires the RFC 7009 §2.2 success
// answer: 200 with an empty body.
func (e *rvEnv) revoke(t testing.TB, clientID, tok, hint string) {
	t.Helper()
	form := url.Values{"token": {tok}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	r := e.postAs(t, PathRevoke, clientID, form)
	if r.status != http.StatusOK || len(r.raw) != 0 {
		t.Fatalf("revocation: %d %q, want 200 and an empty body", r.status, r.raw)
	}
}

// log returns the store's revocation log and its head.
func (e *rvEnv) log(t testing.TB) ([]store.Revocation, int64) {
	t.Helper()
	rs, head, err := e.store.RevocationsSince(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs, head
}

// tokens redeems a code for clientID and returns the access and refresh
// tokens and the grant id.
func (e *rvEnv) tokens(t testing.TB, clientID string) (at, rt, grantID string) {
	t.Helper()
	r, c := e.redeem(t, clientID)
	return r.str("access_token"), r.str("refresh_token"), c.GrantID
}

func TestRevokeRefreshToken(t *testing.T) {
	for _, clientID := range []string{tkPublic, tkBasic, tkPost} {
		t.Run(clientID, func(t *testing.T) {
			e := newRvEnv(t, nil)
			_, rt, grantID := e.tokens(t, clientID)
			e.revoke(t, clientID, rt, "refresh_token")
			g := e.getGrant(t, grantID)
			if g.RevokedAt.IsZero() {
				t.Fatal("the grant is not revoked")
			}
			want := []store.Revocation{{Kind: store.RevokedGrant, ID: grantID, ExpiresAt: g.ExpiresAt}}
			if diff := cmp.Diff(want, e.revocationNotices()); diff != "" {
				t.Errorf("Options.Revoked notices (-want +got):\n%s", diff)
			}
			logged, _ := e.log(t)
			if len(logged) != 1 || logged[0].Kind != store.RevokedGrant || logged[0].ID != grantID {
				t.Errorf("revocation log %+v, want the grant", logged)
			}
			// RFC 7009 §2.1: the refresh token is dead.
			tkWantError(t, e.tokenAs(t, clientID, tkRefreshForm(rt)), http.StatusBadRequest, grant.CodeInvalidGrant)
			// Revoking again changes nothing and still answers 200.
			e.revoke(t, clientID, rt, "")
			if n := len(e.revocationNotices()); n != 1 {
				t.Errorf("%d notices after a second revocation, want 1", n)
			}
		})
	}
}

func TestRevokeAccessToken(t *testing.T) {
	e := newRvEnv(t, nil)
	at, rt, grantID := e.tokens(t, tkPublic)
	claims := e.verify(t, at)
	e.revoke(t, tkPublic, at, "access_token")
	revoked, err := e.store.TokenRevoked(context.Background(), claims.ID)
	if err != nil || !revoked {
		t.Fatalf("TokenRevoked(jti) = %t, %v; want true", revoked, err)
	}
	want := []store.Revocation{{Kind: store.RevokedToken, ID: claims.ID, ExpiresAt: claims.ExpiresAt}}
	if diff := cmp.Diff(want, e.revocationNotices()); diff != "" {
		t.Errorf("Options.Revoked notices (-want +got):\n%s", diff)
	}
	// The grant and its refresh token live on (RFC 7009 §2.1 leaves it to
	// the server; an access token revocation ends that token only).
	if g := e.getGrant(t, grantID); !g.RevokedAt.IsZero() {
		t.Error("revoking an access token revoked its grant")
	}
	if r := e.tokenAs(t, tkPublic, tkRefreshForm(rt)); r.status != http.StatusOK {
		t.Fatalf("refresh after an access token revocation: %d %s", r.status, r.raw)
	}
}

// TestRevokeHintIsOnlyAHint: a wrong or unknown token_type_hint does not
// stop the revocation (RFC 7009 §2.1).
func TestRevokeHintIsOnlyAHint(t *testing.T) {
	for _, hint := range []string{"access_token", "id_token", "nonsense"} {
		t.Run(hint, func(t *testing.T) {
			e := newRvEnv(t, nil)
			_, rt, grantID := e.tokens(t, tkPublic)
			e.revoke(t, tkPublic, rt, hint)
			if g := e.getGrant(t, grantID); g.RevokedAt.IsZero() {
				t.Fatal("the grant is not revoked")
			}
		})
	}
	e := newRvEnv(t, nil)
	at, _, _ := e.tokens(t, tkPublic)
	e.revoke(t, tkPublic, at, "refresh_token")
	if logged, _ := e.log(t); len(logged) != 1 || logged[0].Kind != store.RevokedToken {
		t.Fatalf("access token with a refresh_token hint: log %+v", logged)
	}
}

// TestRevokeRotatedOutRefreshToken: a refresh token of the grant that was
// rotated out still names the grant, and revokes it.
func TestRevokeRotatedOutRefreshToken(t *testing.T) {
	e := newRvEnv(t, nil)
	_, rt, grantID := e.tokens(t, tkPublic)
	if r := e.tokenAs(t, tkPublic, tkRefreshForm(rt)); r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	e.revoke(t, tkPublic, rt, "")
	if g := e.getGrant(t, grantID); g.RevokedAt.IsZero() {
		t.Fatal("the grant is not revoked")
	}
}

// TestRevokeNothing: tokens that are unknown, malformed, expired, forged or
// another client's answer 200 and change nothing (RFC 7009 §2.2).
func TestRevokeNothing(t *testing.T) {
	e := newRvEnv(t, nil)
	at, rt, grantID := e.tokens(t, tkPublic)
	otherAT, _, _ := e.tokens(t, tkPublic2)
	forgedSecret, _ := token.NewRefreshToken(grantID) // right grant, wrong secret
	foreign, err := token.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	foreignSigner, err := token.NewSigner(foreign, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.verify(t, at)
	c.ID = ""
	forgedAT, err := foreignSigner.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ client, tok string }{
		"garbage":                         {tkPublic, "not-a-token"},
		"three dots":                      {tkPublic, "a.b.c"},
		"unknown grant":                   {tkPublic, token.NewID() + "." + strings.Repeat("A", token.SecretLen)},
		"wrong secret":                    {tkPublic, forgedSecret},
		"signed by another key":           {tkPublic, forgedAT},
		"another client's refresh token":  {tkPublic2, rt},
		"another client's access token":   {tkPublic2, at},
		"its own token, another's client": {tkPublic, otherAT},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e.revoke(t, tc.client, tc.tok, "")
			if logged, head := e.log(t); len(logged) != 0 || head != 0 {
				t.Fatalf("revocation log %+v (head %d), want empty", logged, head)
			}
		})
	}
	if g := e.getGrant(t, grantID); !g.RevokedAt.IsZero() {
		t.Fatal("the grant was revoked")
	}
	if n := len(e.revocationNotices()); n != 0 {
		t.Fatalf("%d notices, want none", n)
	}
	// An expired access token has nothing left to revoke.
	e.clock.Advance(e.opts.AccessTokenTTL)
	e.revoke(t, tkPublic, at, "access_token")
	if logged, _ := e.log(t); len(logged) != 0 {
		t.Fatalf("an expired access token was logged: %+v", logged)
	}
}

func TestRevokeErrors(t *testing.T) {
	e := newRvEnv(t, nil)
	_, rt, _ := e.tokens(t, tkPublic)
	t.Run("no token", func(t *testing.T) {
		tkWantError(t, e.postAs(t, PathRevoke, tkPublic, url.Values{}), http.StatusBadRequest, grant.CodeInvalidRequest)
	})
	t.Run("no client", func(t *testing.T) {
		tkWantError(t, e.postAs(t, PathRevoke, "", url.Values{"token": {rt}}), http.StatusUnauthorized, grant.CodeInvalidClient)
	})
	t.Run("unknown client", func(t *testing.T) {
		tkWantError(t, e.postAs(t, PathRevoke, "nobody", url.Values{"token": {rt}}), http.StatusUnauthorized, grant.CodeInvalidClient)
	})
	t.Run("wrong secret", func(t *testing.T) {
		r := e.post(t, PathRevoke, url.Values{"token": {rt}}.Encode(), tkBasicAuth(tkBasic, "wrong"))
		tkWantError(t, r, http.StatusUnauthorized, grant.CodeInvalidClient)
		if got := r.header.Get("WWW-Authenticate"); got != basicChallenge {
			t.Errorf("WWW-Authenticate = %q, want %q", got, basicChallenge)
		}
	})
	t.Run("repeated parameter", func(t *testing.T) {
		r := e.post(t, PathRevoke, "client_id="+tkPublic+"&token=a&token=b", nil)
		tkWantError(t, r, http.StatusBadRequest, grant.CodeInvalidRequest)
	})
	if logged, _ := e.log(t); len(logged) != 0 {
		t.Fatalf("refused requests changed the log: %+v", logged)
	}
	t.Run("GET", func(t *testing.T) {
		res, err := e.client.Get(e.base + PathRevoke)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST, OPTIONS" {
			t.Fatalf("GET: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
		}
	})
	t.Run("preflight", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodOptions, PathRevoke, nil)
		req.Header.Set("Origin", "https://app.example")
		w := httptest.NewRecorder()
		e.srv.handleRevoke(w, req)
		if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("preflight: %d %v", w.Code, w.Header())
		}
	})
}

func TestRevokeStoreUnavailable(t *testing.T) {
	e := newRvEnv(t, nil)
	at, rt, _ := e.tokens(t, tkPublic)
	e.store.Close()
	for _, tok := range []string{at, rt} {
		r := e.postAs(t, PathRevoke, tkPublic, url.Values{"token": {tok}})
		tkWantError(t, r, http.StatusServiceUnavailable, grant.CodeTemporarilyUnavailable)
		if r.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After (RFC 7009 §2.2.1)")
		}
	}
	if n := len(e.revocationNotices()); n != 0 {
		t.Fatalf("%d notices for failed revocations", n)
	}
}

func TestClassifyToken(t *testing.T) {
	rt, _ := token.NewRefreshToken(token.NewID())
	for raw, want := range map[string]tokenKind{
		rt:                        kindRefresh,
		"eyJh.eyJp.c2ln":          kindAccess,
		"":                        kindUnknown,
		"one.dot":                 kindUnknown,
		"a.b.c.d":                 kindUnknown,
		rt + "x":                  kindUnknown,
		"grant." + rt[len(rt)-5:]: kindUnknown,
	} {
		if got := classifyToken(raw); got != want {
			t.Errorf("classifyToken(%q) = %d, want %d", raw, got, want)
		}
	}
}

// FuzzRevokeIntrospect sends arbitrary token parameters to the revocation
// and introspection endpoints of one server: they must answer 200, never
// describe a token that was not issued as active, and never log a
// revocation for one.
func FuzzRevokeIntrospect(f *testing.F) {
	e := newRvEnv(f, nil)
	at, rt, _ := e.tokens(f, tkBasic)
	f.Add(at, "access_token")
	f.Add(rt, "refresh_token")
	f.Add(at+"x", "")
	f.Add(rt[:len(rt)-1]+"A", "refresh_token")
	f.Add("a.b.c", "x")
	f.Add(strings.Repeat(".", 3), "")
	issued := map[string]bool{at: true, rt: true}
	auth := tkBasicAuth(tkBasic, e.secrets[tkBasic])["Authorization"][0]
	f.Fuzz(func(t *testing.T, tok, hint string) {
		if tok == "" || issued[tok] {
			return
		}
		form := url.Values{"token": {tok}, "token_type_hint": {hint}}.Encode()
		for _, path := range []string{PathIntrospect, PathRevoke} {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", auth)
			w := httptest.NewRecorder()
			if path == PathRevoke {
				e.srv.handleRevoke(w, req)
			} else {
				e.srv.handleIntrospect(w, req)
			}
			if w.Code == http.StatusBadRequest {
				continue // not valid UTF-8 or the like: refused before any lookup
			}
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body)
			}
			if path == PathIntrospect && w.Body.String() != `{"active":false}`+"\n" {
				t.Fatalf("introspection of a token never issued: %s", w.Body)
			}
		}
		if logged, _ := e.log(t); len(logged) != 0 {
			t.Fatalf("a token never issued was revoked: %+v", logged)
		}
	})
}
