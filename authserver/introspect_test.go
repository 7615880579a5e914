package authserver

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/google/go-cmp/cmp"
)

// introspect asks about tok as clientID and requires a 200 answer.
func (e *rvEnv) introspect(t testing.TB, clientID, tok string) map[string]any {
	t.Helper()
	r := e.postAs(t, PathIntrospect, clientID, url.Values{"token": {tok}})
	if r.status != http.StatusOK {
		t.Fatalf("introspection: %d %s", r.status, r.raw)
	}
	return r.body
}

// wantInactive checks the RFC 7662 §2.2 answer for an unusable token:
// {"active": false} and nothing else, whatever the reason.
func wantInactive(t testing.TB, got map[string]any) {
	t.Helper()
	if diff := cmp.Diff(map[string]any{"active": false}, got); diff != "" {
		t.Fatalf("introspection (-want +got):\n%s", diff)
	}
}

func TestIntrospectActive(t *testing.T) {
	for _, caller := range []string{tkBasic, tkPost} {
		t.Run(caller, func(t *testing.T) {
			e := newRvEnv(t, nil)
			at, rt, grantID := e.tokens(t, caller)
			c := e.verify(t, at)
			want := map[string]any{
				"active":     true,
				"scope":      "mcp:read mcp:write",
				"client_id":  caller,
				"sub":        "alice",
				"token_type": "Bearer",
				"exp":        float64(c.ExpiresAt.Unix()),
				"iat":        float64(c.IssuedAt.Unix()),
				"iss":        tkIssuer,
				"aud":        tkResource,
				"jti":        c.ID,
				"sid":        grantID,
			}
			if diff := cmp.Diff(want, e.introspect(t, caller, at)); diff != "" {
				t.Errorf("access token (-want +got):\n%s", diff)
			}
			g := e.getGrant(t, grantID)
			want = map[string]any{
				"active":    true,
				"scope":     "mcp:read mcp:write",
				"client_id": caller,
				"sub":       "alice",
				"exp":       float64(g.RefreshExpiresAt.Unix()),
				"iss":       tkIssuer,
				"aud":       tkResource,
				"sid":       grantID,
			}
			if diff := cmp.Diff(want, e.introspect(t, caller, rt)); diff != "" {
				t.Errorf("refresh token (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIntrospectInactive: every unusable token is {"active": false}.
func TestIntrospectInactive(t *testing.T) {
	e := newRvEnv(t, nil)
	t.Run("unknown and malformed", func(t *testing.T) {
		for _, tok := range []string{"nope", "a.b.c", "x.y", "AAAA." + "B"} {
			wantInactive(t, e.introspect(t, tkBasic, tok))
		}
	})
	t.Run("revoked access token", func(t *testing.T) {
		at, rt, _ := e.tokens(t, tkBasic)
		e.revoke(t, tkBasic, at, "")
		wantInactive(t, e.introspect(t, tkBasic, at))
		if got := e.introspect(t, tkBasic, rt); got["active"] != true {
			t.Errorf("the refresh token after its access token was revoked: %v", got)
		}
	})
	t.Run("revoked grant", func(t *testing.T) {
		at, rt, _ := e.tokens(t, tkBasic)
		e.revoke(t, tkBasic, rt, "")
		wantInactive(t, e.introspect(t, tkBasic, rt))
		wantInactive(t, e.introspect(t, tkBasic, at))
	})
	t.Run("rotated out", func(t *testing.T) {
		_, rt, _ := e.tokens(t, tkBasic)
		r := e.tokenAs(t, tkBasic, tkRefreshForm(rt))
		if r.status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
		wantInactive(t, e.introspect(t, tkBasic, rt))
		if got := e.introspect(t, tkBasic, r.str("refresh_token")); got["active"] != true {
			t.Errorf("the new refresh token: %v", got)
		}
	})
	t.Run("expired", func(t *testing.T) {
		at, rt, _ := e.tokens(t, tkBasic)
		e.clock.Advance(e.opts.AccessTokenTTL)
		wantInactive(t, e.introspect(t, tkBasic, at))
		e.clock.Advance(e.opts.RefreshTokenTTL)
		wantInactive(t, e.introspect(t, tkBasic, rt))
	})
}

// TestIntrospectOtherClients: access tokens are described to any
// confidential client (a resource server introspects other clients'
// tokens); refresh tokens only to their own client.
func TestIntrospectOtherClients(t *testing.T) {
	e := newRvEnv(t, nil)
	at, rt, _ := e.tokens(t, tkPublic)
	got := e.introspect(t, tkBasic, at)
	if got["active"] != true || got["client_id"] != tkPublic {
		t.Errorf("a public client's access token introspected by a resource server: %v", got)
	}
	wantInactive(t, e.introspect(t, tkBasic, rt))
}

func TestIntrospectAuthentication(t *testing.T) {
	e := newRvEnv(t, nil)
	at, _, _ := e.tokens(t, tkPublic)
	for name, r := range map[string]tkResp{
		"public client": e.postAs(t, PathIntrospect, tkPublic, url.Values{"token": {at}}),
		"no client":     e.postAs(t, PathIntrospect, "", url.Values{"token": {at}}),
		"wrong secret":  e.post(t, PathIntrospect, url.Values{"token": {at}}.Encode(), tkBasicAuth(tkBasic, "wrong")),
		"wrong method":  e.post(t, PathIntrospect, url.Values{"token": {at}, "client_id": {tkBasic}, "client_secret": {e.secrets[tkBasic]}}.Encode(), nil),
	} {
		t.Run(name, func(t *testing.T) {
			tkWantError(t, r, http.StatusUnauthorized, grant.CodeInvalidClient)
			if got := r.header.Get("WWW-Authenticate"); got != basicChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, basicChallenge)
			}
			if _, ok := r.body["active"]; ok {
				t.Errorf("a refused caller learned about the token: %s", r.raw)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		tkWantError(t, e.postAs(t, PathIntrospect, tkBasic, url.Values{}), http.StatusBadRequest, grant.CodeInvalidRequest)
	})
	t.Run("GET", func(t *testing.T) {
		res, err := e.client.Get(e.base + PathIntrospect)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET: %d", res.StatusCode)
		}
	})
}

func TestIntrospectStoreUnavailable(t *testing.T) {
	e := newRvEnv(t, nil)
	at, rt, _ := e.tokens(t, tkBasic)
	e.store.Close()
	for _, tok := range []string{at, rt} {
		r := e.postAs(t, PathIntrospect, tkBasic, url.Values{"token": {tok}})
		tkWantError(t, r, http.StatusServiceUnavailable, grant.CodeTemporarilyUnavailable)
	}
}
