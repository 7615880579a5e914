package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// TestGoSDKOAuthHandler lets the go-sdk client's own OAuth handler do the
// whole MCP authorization flow: on the first 401 it discovers the protected
// resource metadata and the authorization server, registers by DCR, and
// sends the user to the authorization URL (here the scripted user agent in
// place of a browser); then it exchanges the code and retries. A tool that
// needs more scope makes it step up through a second authorization.
func TestGoSDKOAuthHandler(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ctx := t.Context()

	var opened []string
	handler, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				ClientName:              "frontmcp e2e (go-sdk)",
				RedirectURIs:            []string{redirectURI},
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				TokenEndpointAuthMethod: "none",
			},
		},
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			opened = append(opened, args.URL)
			ua := newUserAgent(t)
			loc, err := ua.authorize(ctx, args.URL, redirectURI)
			if err != nil {
				t.Errorf("user agent: %v (trace %+v)", err, ua.trace)
				return nil, err
			}
			q := loc.Query()
			return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
		Client: &http.Client{Timeout: 20 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}

	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-go-sdk", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: ts.MCPURL, OAuthHandler: handler}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer cs.Close()
	if len(opened) != 1 {
		t.Fatalf("the handler opened %d authorization URLs, want 1", len(opened))
	}

	who, err := callWhoami(ctx, cs)
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	if who.Subject != testUser || who.Anonymous || who.ClientID == "" || who.Email != testEmail {
		t.Errorf("whoami = %+v, want subject %q (%s) with a client id", who, testUser, testEmail)
	}
	// The 401 challenge names the scopes no tool needs beyond the base
	// (MCP authorization, scope selection), so the first grant is mcp:tools.
	if diff := cmp.Diff([]string{scopeTools}, who.Scopes); diff != "" {
		t.Errorf("scopes granted first (-want +got):\n%s", diff)
	}

	// admin needs mcp:admin: the 403 insufficient_scope makes the handler
	// step up (MCP 2025-11-25, step-up authorization flow), asking for the
	// union of the granted and the challenged scopes, and retry.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "admin"})
	if err != nil || res.IsError {
		t.Fatalf("admin after step-up: %v %+v", err, res)
	}
	if len(opened) != 2 {
		t.Fatalf("the handler opened %d authorization URLs, want 2 (login, step-up)", len(opened))
	}
	stepUp, err := url.Parse(opened[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(strings.Fields(stepUp.Query().Get("scope")))); !slices.Equal(got, []string{scopeAdmin, scopeTools}) {
		t.Errorf("step-up authorization asked for scope %q, want %s and %s", got, scopeAdmin, scopeTools)
	}
	who2, err := callWhoami(ctx, cs)
	if err != nil {
		t.Fatalf("whoami after step-up: %v", err)
	}
	if diff := cmp.Diff([]string{scopeAdmin, scopeTools}, slices.Sorted(slices.Values(who2.Scopes))); diff != "" {
		t.Errorf("scopes after step-up (-want +got):\n%s", diff)
	}
	if who2.Subject != testUser || who2.GrantID == who.GrantID {
		t.Errorf("after step-up: subject %q grant %q, want %q on a new grant (before: %q)", who2.Subject, who2.GrantID, testUser, who.GrantID)
	}
}
