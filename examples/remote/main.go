// Command remote is a frontmcp server in orchestrated/remote mode with a
// tool that calls the upstream identity provider's API on the user's
// behalf: users sign in at the company's identity provider, MCP clients get
// this server's own tokens, and the tool gets the provider's access token
// from frontmcp.UpstreamToken — it never reaches the client or the model.
//
//	IDP_PROVIDER_URL=https://login.example.com IDP_CLIENT_ID=frontmcp \
//	IDP_CLIENT_SECRET=... VAULT_KEY=$(frontmcp vault generate-key) \
//	go run ./examples/remote serve --config remote.yaml
//
// with remote.yaml setting auth.mode orchestrated and auth.type remote (see
// docs/remote.md). Register {publicUrl}/oauth/upstream/callback as the
// redirect URI at the provider; `config check` prints it. The commands are
// those of the frontmcp binary (serve, config check, …).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/cli"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], &cli.Options{Setup: setup})
	stop()
	os.Exit(code)
}

// profile is what the upstream_profile tool returns: facts about the user
// from the provider, never its tokens.
type profile struct {
	// Subject is this server's subject for the caller.
	Subject string `json:"subject"`
	// UpstreamSubject is the provider's "sub" from its userinfo endpoint.
	UpstreamSubject string `json:"upstream_subject"`
	// Email is the provider's "email" claim, when it releases one.
	Email string `json:"email,omitempty"`
}

// setup registers the tools.
func setup(srv *frontmcp.Server) error {
	up := srv.Upstream()
	if up == nil {
		return errors.New("examples/remote needs auth.mode orchestrated with auth.type remote")
	}
	userinfo := up.Metadata().UserinfoEndpoint
	mcp.AddTool(srv.MCP(), &mcp.Tool{
		Name:        "upstream_profile",
		Description: "Read the caller's profile from the company identity provider (its userinfo endpoint), with the caller's own upstream access token.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true},
	}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, profile, error) {
		if userinfo == "" {
			return nil, profile{}, errors.New("the identity provider publishes no userinfo endpoint")
		}
		// A fresh upstream access token for this caller: refreshed when it
		// is about to expire, once across all instances.
		tok, err := frontmcp.UpstreamToken(ctx)
		if errors.Is(err, frontmcp.ErrReauthorizationRequired) {
			// The client can run the authorization flow again.
			return nil, profile{}, fmt.Errorf("%w; reconnect to sign in at the identity provider", err)
		}
		if err != nil {
			return nil, profile{}, err
		}
		claims, err := getUserinfo(ctx, up.HTTPClient(), userinfo, tok)
		if err != nil {
			return nil, profile{}, err
		}
		out := profile{Subject: frontmcp.PrincipalOf(req).Subject}
		out.UpstreamSubject, _ = claims["sub"].(string)
		out.Email, _ = claims["email"].(string)
		return nil, out, nil
	})
	return nil
}

// getUserinfo calls the OpenID Connect userinfo endpoint (OpenID Connect
// Core §5.3) with a bearer token (RFC 6750 §2.1).
func getUserinfo(ctx context.Context, client *http.Client, endpoint, token string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("userinfo: the identity provider answered %d", resp.StatusCode)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	return claims, nil
}
