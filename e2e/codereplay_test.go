package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// tokenResponse is an RFC 6749 §5.1 success or §5.2 error response.
type tokenResponse struct {
	Status       int
	CacheControl string
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// postToken sends a form to the token endpoint.
func postToken(ctx context.Context, endpoint string, form url.Values) (*tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	tr := &tokenResponse{Status: resp.StatusCode, CacheControl: resp.Header.Get("Cache-Control")}
	if err := json.Unmarshal(body, tr); err != nil {
		return nil, err
	}
	return tr, nil
}

// TestConcurrentCodeRedemption redeems one authorization code twice at the
// same time. At most one redemption may succeed (OAuth 2.1 §4.1.3: codes are
// single-use), and the attempt to reuse the code revokes the tokens issued
// for it (RFC 6749 §4.1.2), so a winner's refresh and access tokens stop
// working.
func TestConcurrentCodeRedemption(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := t.Context()
	_, asm, err := discover(ctx, ts.MCPURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := registerClient(ctx, asm.RegistrationEndpoint, redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: c.ClientID, Endpoint: oauth2.Endpoint{AuthURL: asm.AuthorizationEndpoint, TokenURL: asm.TokenEndpoint}, RedirectURL: redirectURI, Scopes: []string{scopeTools}}

	verifier := oauth2.GenerateVerifier()
	ua := newUserAgent(t)
	loc, err := ua.authorize(ctx, cfg.AuthCodeURL("st-3", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", ts.MCPURL)), redirectURI)
	if err != nil {
		t.Fatalf("authorize: %v (trace %+v)", err, ua.trace)
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {loc.Query().Get("code")},
		"redirect_uri":  {redirectURI},
		"client_id":     {c.ClientID},
		"code_verifier": {verifier},
	}

	const racers = 2
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results [racers]*tokenResponse
		errs    [racers]error
	)
	for i := range racers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = postToken(ctx, asm.TokenEndpoint, form)
		})
	}
	close(start)
	wg.Wait()

	var winner *tokenResponse
	var statuses, errCodes []any
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("redemption %d: %v", i, errs[i])
		}
		// RFC 6749 §5.1, §5.2.
		if r.CacheControl != "no-store" {
			t.Errorf("redemption %d: Cache-Control %q, want no-store", i, r.CacheControl)
		}
		statuses = append(statuses, r.Status)
		if r.Status == http.StatusOK {
			winner = r
		} else {
			errCodes = append(errCodes, r.Error)
		}
	}
	// At most one redemption gets tokens. Which one is a race: when the
	// replay is seen before the first redemption has created its grant, the
	// grant is revoked in advance and the first redemption fails too.
	if winner == nil && len(errCodes) != racers || winner != nil && len(errCodes) != racers-1 {
		t.Fatalf("statuses %v: want at most one 200", statuses)
	}
	for _, code := range errCodes {
		if code != "invalid_grant" {
			t.Fatalf("statuses %v, error codes %v: every refused redemption must be invalid_grant", statuses, errCodes)
		}
	}
	if winner == nil {
		return
	}
	if winner.AccessToken == "" || winner.RefreshToken == "" {
		t.Fatalf("the successful redemption lacks tokens: %+v", winner)
	}

	refresh, err := postToken(ctx, asm.TokenEndpoint, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {winner.RefreshToken},
		"client_id":     {c.ClientID},
	})
	if err != nil {
		t.Fatal(err)
	}
	if refresh.Status != http.StatusBadRequest || refresh.Error != "invalid_grant" {
		t.Errorf("refresh with the winner's token after the code was replayed: %d %q, want 400 invalid_grant", refresh.Status, refresh.Error)
	}
	checkTokenRefused(t, ctx, ts.MCPURL, winner.AccessToken)
}
