package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/go-jose/go-jose/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The user of testdata/local.yaml.
const (
	testUser     = "alice"
	testPassword = "alice-test-password"
	testEmail    = "alice@example.com"
)

// Scopes of testdata/local.yaml.
const (
	scopeTools = "mcp:tools"
	scopeAdmin = "mcp:admin"
)

// accessTokenTTL is refresh.accessTokenTtl of testdata/local.yaml.
const accessTokenTTL = 300 * time.Second

// testServer is a frontmcp server in orchestrated/local mode serving on a
// loopback port for the duration of a test.
type testServer struct {
	Issuer string // the public base URL, the authorization server's issuer
	MCPURL string // the canonical resource URL
}

// whoami is the structured result of the whoami tool: the principal the
// server derived from the bearer token.
type whoami struct {
	Subject   string   `json:"subject"`
	ClientID  string   `json:"clientId"`
	Scopes    []string `json:"scopes"`
	Anonymous bool     `json:"anonymous"`
	GrantID   string   `json:"grantId"`
	Email     string   `json:"email"`
}

// startServer runs the server of testdata/local.yaml on a free loopback port
// with three tools: whoami (any token), admin (needs mcp:admin, set from Go)
// and test_error_handling (needs mcp:admin, set by auth.toolScopes in the
// configuration). The server stops when the test ends.
func startServer(t *testing.T) *testServer {
	t.Helper()
	cfg, err := config.Load("testdata/local.yaml", nil)
	if err != nil {
		t.Fatalf("load testdata/local.yaml: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Port = ln.Addr().(*net.TCPAddr).Port
	logCfg := cfg.Logging
	logCfg.Level = "warn"
	logger, err := frontmcp.NewLogger(t.Output(), logCfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: logger})
	if err != nil {
		ln.Close()
		t.Fatalf("frontmcp.New: %v", err)
	}
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "whoami", Description: "Who the server thinks is calling."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami, error) {
			p := frontmcp.PrincipalOf(req)
			email, _ := p.Claims["email"].(string)
			return nil, whoami{Subject: p.Subject, ClientID: p.ClientID, Scopes: p.Scopes, Anonymous: p.Anonymous, GrantID: p.GrantID, Email: email}, nil
		})
	adminTool := func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "admin ok"}}}, nil, nil
	}
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "admin", Description: "Needs mcp:admin (set from Go)."}, adminTool)
	mcp.AddTool(srv.MCP(), &mcp.Tool{Name: "test_error_handling", Description: "Needs mcp:admin (set by auth.toolScopes)."}, adminTool)
	if err := srv.RequireToolScopes("admin", scopeAdmin); err != nil {
		t.Fatalf("RequireToolScopes: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Issuer: cfg.BaseURL(), MCPURL: cfg.MCPURL()}
}

// protectedResourceMetadata is the part of RFC 9728 §2 the tests read.
type protectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
}

// authServerMetadata is the part of RFC 8414 §2 the tests read.
type authServerMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RegistrationEndpoint              string   `json:"registration_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	IssParameterSupported             bool     `json:"authorization_response_iss_parameter_supported"`
}

// registeredClient is the part of an RFC 7591 §3.2.1 response the tests read.
type registeredClient struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
}

// getJSON fetches url and decodes a 200 JSON answer into v.
func getJSON(ctx context.Context, rawURL string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d: %s", rawURL, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("GET %s: Content-Type %q", rawURL, ct)
	}
	return json.Unmarshal(body, v)
}

// registerClient registers a public client for redirectURI by dynamic
// client registration (RFC 7591 §3.1).
func registerClient(ctx context.Context, endpoint, redirectURI string) (*registeredClient, error) {
	meta, err := json.Marshal(map[string]any{
		"client_name":                "frontmcp e2e (x/oauth2)",
		"redirect_uris":              []string{redirectURI},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"token_endpoint_auth_method": "none",
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(string(meta)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %d (want 201): %s", endpoint, resp.StatusCode, body)
	}
	var c registeredClient
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("POST %s: %v: %s", endpoint, err, body)
	}
	return &c, nil
}

// discover reads the protected resource metadata the MCP endpoint's 401
// points to and the metadata of its authorization server, as an MCP client
// does (MCP authorization spec, "Authorization Server Discovery").
func discover(ctx context.Context, mcpURL string) (*protectedResourceMetadata, *authServerMetadata, error) {
	resp, err := postMCP(ctx, mcpURL, "", initializeBody)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return nil, nil, fmt.Errorf("POST %s without a token: %d, want 401", mcpURL, resp.StatusCode)
	}
	ch, ok := bearerChallenge(resp.Header)
	if !ok || ch["resource_metadata"] == "" {
		return nil, nil, fmt.Errorf("POST %s without a token: WWW-Authenticate %q has no resource_metadata", mcpURL, resp.Header.Values("WWW-Authenticate"))
	}
	var prm protectedResourceMetadata
	if err := getJSON(ctx, ch["resource_metadata"], &prm); err != nil {
		return nil, nil, err
	}
	if len(prm.AuthorizationServers) == 0 {
		return nil, nil, errors.New("protected resource metadata names no authorization server")
	}
	// RFC 8414 §3.1: the well-known suffix goes between host and path.
	iss, err := url.Parse(prm.AuthorizationServers[0])
	if err != nil {
		return nil, nil, err
	}
	metaURL := iss.Scheme + "://" + iss.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(iss.Path, "/")
	var asm authServerMetadata
	if err := getJSON(ctx, metaURL, &asm); err != nil {
		return nil, nil, err
	}
	return &prm, &asm, nil
}

// initializeBody is an MCP initialize request.
const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`

// postMCP sends a JSON-RPC body to the MCP endpoint with the given
// Authorization header value (none when empty). The body of the response is
// read and closed.
func postMCP(ctx context.Context, mcpURL, authorization, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, mcpURL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// bearerChallenge returns the parameters of the Bearer challenge in the
// WWW-Authenticate headers of h (RFC 6750 §3, RFC 9110 §11.6.1). It handles
// quoted strings with escapes and one challenge per header line, which is
// how the server writes them.
func bearerChallenge(h http.Header) (map[string]string, bool) {
	for _, line := range h.Values("WWW-Authenticate") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			continue
		}
		params := map[string]string{}
		for rest = strings.TrimSpace(rest); rest != ""; {
			name, after, ok := strings.Cut(rest, "=")
			if !ok {
				break
			}
			name = strings.ToLower(strings.TrimSpace(name))
			after = strings.TrimSpace(after)
			var val string
			if strings.HasPrefix(after, `"`) {
				var b strings.Builder
				i := 1
				for ; i < len(after) && after[i] != '"'; i++ {
					if after[i] == '\\' && i+1 < len(after) {
						i++
					}
					b.WriteByte(after[i])
				}
				val, after = b.String(), after[min(i+1, len(after)):]
			} else {
				val, after, _ = strings.Cut(after, ",")
				val = strings.TrimSpace(val)
				after = "," + after
			}
			params[name] = val
			after = strings.TrimSpace(after)
			rest = strings.TrimSpace(strings.TrimPrefix(after, ","))
		}
		return params, true
	}
	return nil, false
}

// jwtParts decodes the header and claims of a compact JWS without checking
// its signature.
func jwtParts(tok string) (header, claims map[string]any, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("not a compact JWS: %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, nil, fmt.Errorf("JWS part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, nil, fmt.Errorf("JWS part %d: %v", i, err)
		}
	}
	return header, claims, nil
}

// verifyJWT checks the signature of tok against the published JWKS (RFC 7517)
// and returns its claims.
func verifyJWT(ctx context.Context, jwksURL, tok string) (map[string]any, error) {
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, jwksURL, &set); err != nil {
		return nil, err
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("JWKS publishes a private key (kid %q)", k.KeyID)
		}
	}
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.PS256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%d signatures", len(jws.Signatures))
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key %q in the JWKS", kid)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims)
}

// audience returns the "aud" claim as a list (RFC 7519 §4.1.3: a string or
// an array of strings).
func audience(claims map[string]any) []string {
	switch a := claims["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, v := range a {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// numericDate returns a NumericDate claim (RFC 7519 §2) as a time.
func numericDate(claims map[string]any, name string) time.Time {
	f, _ := claims[name].(float64)
	return time.Unix(int64(f), 0)
}

// responseRecorder is an http.RoundTripper that remembers the status and
// challenge of every response, so that tests can see what the server
// answered underneath a client library.
type responseRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	resp []recordedResponse
}

type recordedResponse struct {
	Method          string
	Status          int
	WWWAuthenticate []string
}

func (r *responseRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.resp = append(r.resp, recordedResponse{req.Method, resp.StatusCode, resp.Header.Values("WWW-Authenticate")})
		r.mu.Unlock()
	}
	return resp, err
}

// reset forgets the responses recorded so far.
func (r *responseRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resp = nil
}

// last returns the last response with the given status, if any.
func (r *responseRecorder) last(status int) (recordedResponse, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.resp) - 1; i >= 0; i-- {
		if r.resp[i].Status == status {
			return r.resp[i], true
		}
	}
	return recordedResponse{}, false
}

// callWhoami calls the whoami tool and decodes its structured result.
func callWhoami(ctx context.Context, cs *mcp.ClientSession) (*whoami, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		return nil, err
	}
	if res.IsError {
		return nil, fmt.Errorf("whoami: tool error: %v", res.Content)
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return nil, err
	}
	var w whoami
	return &w, json.Unmarshal(raw, &w)
}
