package multi

import (
	"net/http"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
)

// revocationDeadline bounds how long an instance may keep accepting the
// access token of a grant another instance revoked.
const revocationDeadline = 30 * time.Second

// TestThreeInstances: three frontmcp serve processes on different ports
// share one Redis. A client registered and authorized at A redeems its code
// at B and refreshes at C; the access tokens work at every instance; an MCP
// session opened at A continues at B and ends everywhere when C deletes it;
// replaying the rotated-out refresh token at B revokes the grant at all
// three (RFC 9700 §4.14.2).
func TestThreeInstances(t *testing.T) {
	redis, err := redistest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.Close() })
	d := deploy(t, redis, settings{Instances: 3})
	a, b, c := d.instances[0], d.instances[1], d.instances[2]
	ctx := t.Context()

	clientID, err := d.register(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	code, verifier, err := d.authorize(ctx, clientID, a)
	if err != nil {
		t.Fatal(err)
	}
	// The code was issued by A; B redeems it (codes and pending requests are
	// in Redis).
	first, err := d.exchange(ctx, clientID, b, code, verifier)
	if err != nil {
		t.Fatalf("redeeming A's code at B: %v", err)
	}
	if first.RefreshToken == "" || first.AccessToken == "" {
		t.Fatal("the code exchange at B returned no refresh or access token")
	}
	// C rotates the refresh token B issued.
	second, err := d.refresh(ctx, clientID, c, first.RefreshToken)
	if err != nil {
		t.Fatalf("refreshing B's refresh token at C: %v", err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh at C did not rotate the refresh token (%s → %s)", fingerprint(first.RefreshToken), fingerprint(second.RefreshToken))
	}

	t.Run("access tokens work at every instance", func(t *testing.T) {
		for _, in := range d.instances {
			for name, tok := range map[string]string{"B's": first.AccessToken, "C's": second.AccessToken} {
				sid, err := d.openSession(ctx, in, tok)
				if err != nil {
					t.Errorf("%s access token at %s: %v", name, in.name, err)
					continue
				}
				r, err := d.mcp(ctx, in, http.MethodPost, tok, sid, toolsCallBody(2), 2)
				if err != nil || r.status != http.StatusOK {
					t.Errorf("tools/call at %s with %s access token: %v %+v", in.name, name, err, r)
					continue
				}
				if sub, err := whoamiSubject(r.rpc); err != nil || sub != testUser {
					t.Errorf("whoami at %s with %s access token: subject %q, %v; want %q", in.name, name, sub, err, testUser)
				}
			}
		}
	})

	t.Run("MCP session opened on A continues on B", func(t *testing.T) {
		// Stateful sessions are kept in the store, so any instance serves
		// them (docs/deployment.md, "Sessions").
		sid, err := d.openSession(ctx, a, second.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.mcp(ctx, b, http.MethodPost, second.AccessToken, sid, toolsCallBody(2), 2)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusOK || r.rpc == nil {
			t.Fatalf("tools/call at B on A's session: %d %.300s, want 200 with a result", r.status, r.body)
		}
		if sub, err := whoamiSubject(r.rpc); err != nil || sub != testUser {
			t.Fatalf("whoami at B on A's session: subject %q, %v; want %q", sub, err, testUser)
		}
		del, err := d.mcp(ctx, c, http.MethodDelete, second.AccessToken, sid, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if del.status != http.StatusOK && del.status != http.StatusNoContent {
			t.Fatalf("DELETE of A's session at C: %d %.300s, want 200 or 204", del.status, del.body)
		}
		r, err = d.mcp(ctx, a, http.MethodPost, second.AccessToken, sid, toolsCallBody(3), 3)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusNotFound {
			t.Fatalf("tools/call at A on the session C deleted: %d %.300s, want 404", r.status, r.body)
		}
	})

	t.Run("refresh token replay at B revokes the grant everywhere", func(t *testing.T) {
		// first's refresh token was rotated out at C; presenting it again
		// is reuse.
		_, err := d.refresh(ctx, clientID, b, first.RefreshToken)
		if st, code := oauthError(err); st != http.StatusBadRequest || code != "invalid_grant" {
			t.Fatalf("replay at B: %v, want 400 invalid_grant", err)
		}
		// The current refresh token is dead at every instance.
		for _, in := range d.instances {
			_, err := d.refresh(ctx, clientID, in, second.RefreshToken)
			if st, code := oauthError(err); st != http.StatusBadRequest || code != "invalid_grant" {
				t.Errorf("current refresh token at %s after the replay: %v, want 400 invalid_grant", in.name, err)
			}
		}
		// So are the grant's access tokens.
		for _, in := range d.instances {
			lastStatus := 0
			err := poll(revocationDeadline, func() (bool, error) {
				r, err := d.mcp(ctx, in, http.MethodPost, second.AccessToken, "", initializeBody, 1)
				if err != nil {
					return false, err
				}
				lastStatus = r.status
				return r.status == http.StatusUnauthorized, nil
			})
			if err != nil {
				t.Errorf("access token of the revoked grant at %s: %v (last answer %d), want 401", in.name, err, lastStatus)
			}
		}
	})
}
