package authserver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/go-cmp/cmp"
)

// register posts body to the registration endpoint.
func (e *tkEnv) register(t testing.TB, contentType, body string) tkResp {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+PathRegister, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.do(t, req)
}

func TestRegister(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		want       map[string]any // the response without client_id, client_secret
		wantSecret bool
		wantClient *store.Client // without ID, SecretHash
	}{
		{
			name: "public, defaults",
			body: `{"redirect_uris":["http://127.0.0.1:33418/callback"]}`,
			want: map[string]any{
				"client_id_issued_at":        float64(tkStart.Unix()),
				"redirect_uris":              []any{"http://127.0.0.1:33418/callback"},
				"token_endpoint_auth_method": "none",
				"grant_types":                []any{"authorization_code", "refresh_token"},
				"response_types":             []any{"code"},
			},
			wantClient: &store.Client{
				RedirectURIs:            []string{"http://127.0.0.1:33418/callback"},
				TokenEndpointAuthMethod: "none",
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				Dynamic:                 true,
				CreatedAt:               tkStart,
			},
		},
		{
			name: "MCP client metadata as the TypeScript SDK sends it",
			body: `{"redirect_uris":["http://localhost:6274/oauth/callback"],"token_endpoint_auth_method":"none",
				"grant_types":["authorization_code","refresh_token"],"response_types":["code"],
				"client_name":"MCP Inspector","client_uri":"https://github.com/modelcontextprotocol/inspector",
				"scope":"mcp:read mcp:write","software_id":"inspector","software_version":"2.12.0",
				"logo_uri":"https://example.com/logo.png","tos_uri":"https://example.com/tos",
				"policy_uri":"http://localhost:6274/policy","contacts":["ops@example.com"],"unknown_member":{"x":1}}`,
			want: map[string]any{
				"client_id_issued_at":        float64(tkStart.Unix()),
				"redirect_uris":              []any{"http://localhost:6274/oauth/callback"},
				"token_endpoint_auth_method": "none",
				"grant_types":                []any{"authorization_code", "refresh_token"},
				"response_types":             []any{"code"},
				"client_name":                "MCP Inspector",
				"client_uri":                 "https://github.com/modelcontextprotocol/inspector",
				"scope":                      "mcp:read mcp:write",
				"software_id":                "inspector",
				"software_version":           "2.12.0",
				"logo_uri":                   "https://example.com/logo.png",
				"tos_uri":                    "https://example.com/tos",
				"policy_uri":                 "http://localhost:6274/policy",
				"contacts":                   []any{"ops@example.com"},
			},
			wantClient: &store.Client{
				Name:                    "MCP Inspector",
				RedirectURIs:            []string{"http://localhost:6274/oauth/callback"},
				TokenEndpointAuthMethod: "none",
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				Scopes:                  []string{"mcp:read", "mcp:write"},
				Dynamic:                 true,
				Metadata: store.Claims{
					"client_uri": "https://github.com/modelcontextprotocol/inspector", "logo_uri": "https://example.com/logo.png",
					"tos_uri": "https://example.com/tos", "policy_uri": "http://localhost:6274/policy",
					"software_id": "inspector", "software_version": "2.12.0", "contacts": []any{"ops@example.com"},
				},
				CreatedAt: tkStart,
			},
		},
		{
			name: "confidential, basic",
			body: `{"redirect_uris":["https://app.example.com/cb","https://app.example.com/cb"],"token_endpoint_auth_method":"client_secret_basic","grant_types":["authorization_code"]}`,
			want: map[string]any{
				"client_id_issued_at":        float64(tkStart.Unix()),
				"client_secret_expires_at":   float64(0),
				"redirect_uris":              []any{"https://app.example.com/cb"},
				"token_endpoint_auth_method": "client_secret_basic",
				"grant_types":                []any{"authorization_code"},
				"response_types":             []any{"code"},
			},
			wantSecret: true,
			wantClient: &store.Client{
				RedirectURIs:            []string{"https://app.example.com/cb"},
				TokenEndpointAuthMethod: "client_secret_basic",
				GrantTypes:              []string{"authorization_code"},
				ResponseTypes:           []string{"code"},
				Dynamic:                 true,
				CreatedAt:               tkStart,
			},
		},
		{
			name: "confidential, post, private-use scheme",
			body: `{"redirect_uris":["com.example.app:/oauth2redirect"],"token_endpoint_auth_method":"client_secret_post"}`,
			want: map[string]any{
				"client_id_issued_at":        float64(tkStart.Unix()),
				"client_secret_expires_at":   float64(0),
				"redirect_uris":              []any{"com.example.app:/oauth2redirect"},
				"token_endpoint_auth_method": "client_secret_post",
				"grant_types":                []any{"authorization_code", "refresh_token"},
				"response_types":             []any{"code"},
			},
			wantSecret: true,
			wantClient: &store.Client{
				RedirectURIs:            []string{"com.example.app:/oauth2redirect"},
				TokenEndpointAuthMethod: "client_secret_post",
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				ResponseTypes:           []string{"code"},
				Dynamic:                 true,
				CreatedAt:               tkStart,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, nil)
			r := e.register(t, "application/json", tt.body)
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			id, secret, rat := r.str("client_id"), r.str("client_secret"), r.str("registration_access_token")
			got := map[string]any{}
			for k, v := range r.body {
				switch k {
				case "client_id", "client_secret", "registration_access_token", "registration_client_uri":
				default:
					got[k] = v
				}
			}
			if want := tkIssuer + PathRegister + "/" + id; r.str("registration_client_uri") != want {
				t.Errorf("registration_client_uri = %q, want %q", r.str("registration_client_uri"), want)
			}
			if len(rat) != token.SecretLen {
				t.Errorf("registration_access_token %q, want %d characters", rat, token.SecretLen)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("registration response (-want +got):\n%s", diff)
			}
			if _, has := r.body["client_secret"]; has != tt.wantSecret {
				t.Errorf("client_secret present = %v, want %v", has, tt.wantSecret)
			}
			if tt.wantSecret && len(secret) < token.SecretLen {
				t.Errorf("client_secret %d characters, want ≥ %d", len(secret), token.SecretLen)
			}
			if r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("Access-Control-Allow-Origin = %q", r.header.Get("Access-Control-Allow-Origin"))
			}

			c, err := e.store.GetClient(context.Background(), id)
			if err != nil {
				t.Fatalf("registered client %q not persisted: %v", id, err)
			}
			want := *tt.wantClient
			want.ID = id
			want.RegistrationTokenHash = token.Hash(rat)
			if tt.wantSecret {
				want.SecretHash = token.Hash(secret)
			}
			if diff := cmp.Diff(&want, c); diff != "" {
				t.Errorf("stored client (-want +got):\n%s", diff)
			}
			if tt.wantSecret && strings.Contains(string(tkJSON(t, c)), secret) {
				t.Error("the stored client contains the raw secret")
			}
		})
	}
}

// TestRegisterThenToken: a registered client completes a code exchange and
// a refresh with the credentials registration returned.
func TestRegisterThenToken(t *testing.T) {
	for _, method := range []string{"none", "client_secret_basic", "client_secret_post"} {
		t.Run(method, func(t *testing.T) {
			e := newTkEnv(t, nil)
			r := e.register(t, "application/json", `{"redirect_uris":["`+tkRedirect+`"],"token_endpoint_auth_method":"`+method+`"}`)
			if r.status != http.StatusCreated {
				t.Fatalf("register: %d %s", r.status, r.raw)
			}
			id, secret := r.str("client_id"), r.str("client_secret")
			raw, verifier, _ := e.newCode(t, id, nil)
			f := tkCodeForm(raw, verifier)
			var hdr http.Header
			switch method {
			case "none":
				f.Set("client_id", id)
			case "client_secret_basic":
				hdr = tkBasicAuth(id, secret)
			case "client_secret_post":
				f.Set("client_id", id)
				f.Set("client_secret", secret)
			}
			tr := e.send(t, "application/x-www-form-urlencoded", f.Encode(), hdr)
			if tr.status != http.StatusOK {
				t.Fatalf("code exchange: %d %s", tr.status, tr.raw)
			}
			if got := e.verify(t, tr.str("access_token")).ClientID; got != id {
				t.Errorf("client_id claim %q, want %q", got, id)
			}
		})
	}
}

func TestRegisterInvalid(t *testing.T) {
	const ok = `"redirect_uris":["https://app.example.com/cb"]`
	tests := []struct {
		name        string
		contentType string // default application/json
		body        string
		wantStatus  int // default 400
		wantCode    string
	}{
		{name: "no redirect_uris", body: `{}`, wantCode: "invalid_redirect_uri"},
		{name: "empty redirect_uris", body: `{"redirect_uris":[]}`, wantCode: "invalid_redirect_uri"},
		{name: "http non-loopback redirect", body: `{"redirect_uris":["http://app.example.com/cb"]}`, wantCode: "invalid_redirect_uri"},
		{name: "javascript redirect", body: `{"redirect_uris":["javascript:alert(1)"]}`, wantCode: "invalid_redirect_uri"},
		{name: "redirect with fragment", body: `{"redirect_uris":["https://app.example.com/cb#x"]}`, wantCode: "invalid_redirect_uri"},
		{name: "relative redirect", body: `{"redirect_uris":["/cb"]}`, wantCode: "invalid_redirect_uri"},
		{name: "one bad redirect among good", body: `{"redirect_uris":["https://app.example.com/cb","data:text/html,x"]}`, wantCode: "invalid_redirect_uri"},
		{name: "too many redirects", body: `{"redirect_uris":[` + strings.Repeat(`"https://app.example.com/cb",`, 20) + `"https://app.example.com/cb"]}`, wantCode: "invalid_redirect_uri"},
		{name: "redirect_uris not an array", body: `{"redirect_uris":"https://app.example.com/cb"}`, wantCode: "invalid_client_metadata"},
		{name: "private_key_jwt", body: `{` + ok + `,"token_endpoint_auth_method":"private_key_jwt"}`, wantCode: "invalid_client_metadata"},
		{name: "empty auth method", body: `{` + ok + `,"token_endpoint_auth_method":""}`, wantCode: "invalid_client_metadata"},
		{name: "implicit grant", body: `{` + ok + `,"grant_types":["authorization_code","implicit"]}`, wantCode: "invalid_client_metadata"},
		{name: "password grant", body: `{` + ok + `,"grant_types":["password"]}`, wantCode: "invalid_client_metadata"},
		{name: "client_credentials grant", body: `{` + ok + `,"grant_types":["client_credentials"]}`, wantCode: "invalid_client_metadata"},
		{name: "refresh_token only", body: `{` + ok + `,"grant_types":["refresh_token"]}`, wantCode: "invalid_client_metadata"},
		{name: "empty grant_types", body: `{` + ok + `,"grant_types":[]}`, wantCode: "invalid_client_metadata"},
		{name: "response_type token", body: `{` + ok + `,"response_types":["token"]}`, wantCode: "invalid_client_metadata"},
		{name: "response_types code and token", body: `{` + ok + `,"response_types":["code","token"]}`, wantCode: "invalid_client_metadata"},
		{name: "empty response_types", body: `{` + ok + `,"response_types":[]}`, wantCode: "invalid_client_metadata"},
		{name: "scope not offered", body: `{` + ok + `,"scope":"mcp:read admin:all"}`, wantCode: "invalid_client_metadata"},
		{name: "malformed scope", body: `{` + ok + `,"scope":"mcp:read bad\\scope"}`, wantCode: "invalid_client_metadata"},
		{name: "client_uri http non-loopback", body: `{` + ok + `,"client_uri":"http://app.example.com"}`, wantCode: "invalid_client_metadata"},
		{name: "logo_uri javascript", body: `{` + ok + `,"logo_uri":"javascript:alert(1)"}`, wantCode: "invalid_client_metadata"},
		{name: "tos_uri relative", body: `{` + ok + `,"tos_uri":"/tos"}`, wantCode: "invalid_client_metadata"},
		{name: "policy_uri with user info", body: `{` + ok + `,"policy_uri":"https://user@app.example.com/p"}`, wantCode: "invalid_client_metadata"},
		{name: "client_name with control character", body: `{` + ok + `,"client_name":"a\u0000b"}`, wantCode: "invalid_client_metadata"},
		{name: "client_name too long", body: `{` + ok + `,"client_name":"` + strings.Repeat("n", 300) + `"}`, wantCode: "invalid_client_metadata"},
		{name: "client_name a number", body: `{` + ok + `,"client_name":7}`, wantCode: "invalid_client_metadata"},
		{name: "contacts not strings", body: `{` + ok + `,"contacts":[1]}`, wantCode: "invalid_client_metadata"},
		{name: "empty contact", body: `{` + ok + `,"contacts":[""]}`, wantCode: "invalid_client_metadata"},
		{name: "not JSON", body: `redirect_uris=x`, wantCode: "invalid_client_metadata"},
		{name: "JSON array", body: `[{` + ok + `}]`, wantCode: "invalid_client_metadata"},
		{name: "trailing garbage", body: `{` + ok + `} {}`, wantCode: "invalid_client_metadata"},
		{name: "too large", body: `{` + ok + `,"pad":"` + strings.Repeat("x", 64<<10) + `"}`, wantCode: "invalid_client_metadata"},
		{name: "form content type", contentType: "application/x-www-form-urlencoded", body: `{` + ok + `}`, wantStatus: http.StatusUnsupportedMediaType, wantCode: "invalid_client_metadata"},
		{name: "no content type", contentType: "-", body: `{` + ok + `}`, wantStatus: http.StatusUnsupportedMediaType, wantCode: "invalid_client_metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, nil)
			ct := tt.contentType
			switch ct {
			case "":
				ct = "application/json"
			case "-":
				ct = ""
			}
			r := e.register(t, ct, tt.body)
			status := tt.wantStatus
			if status == 0 {
				status = http.StatusBadRequest
			}
			tkWantError(t, r, status, tt.wantCode)
			if _, has := r.body["client_id"]; has {
				t.Error("error response carries a client_id")
			}
			clients, err := e.store.ListClients(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(clients) != 0 {
				t.Errorf("a refused registration stored %d clients", len(clients))
			}
		})
	}
}

func TestRegisterMethodAndCORS(t *testing.T) {
	e := newTkEnv(t, nil)
	req, _ := http.NewRequest(http.MethodGet, e.base+PathRegister, nil)
	if r := e.do(t, req); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("GET: %d Allow %q", r.status, r.header.Get("Allow"))
	}
	req, _ = http.NewRequest(http.MethodOptions, e.base+PathRegister, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	r := e.do(t, req)
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		r.header.Get("Access-Control-Allow-Methods") != "POST, OPTIONS" || r.header.Get("Access-Control-Allow-Headers") != "content-type" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
}

func TestRegisterDisabled(t *testing.T) {
	e := newTkEnv(t, func(o *Options) { o.RegistrationEnabled = false })
	res, err := e.client.Post(e.base+PathRegister, "application/json", strings.NewReader(`{"redirect_uris":["https://app.example.com/cb"]}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("registration with RegistrationEnabled=false: %d, want 404", res.StatusCode)
	}
	clients, err := e.store.ListClients(context.Background())
	if err != nil || len(clients) != 0 {
		t.Errorf("clients after a refused registration: %v, %v", clients, err)
	}
}

// TestRegisterCannotTakePreRegistered: registration always assigns a fresh
// random client_id; a client_id in the request is ignored, so a
// pre-registered client can never be replaced.
func TestRegisterCannotTakePreRegistered(t *testing.T) {
	e := newTkEnv(t, nil)
	r := e.register(t, "application/json", `{"client_id":"`+tkBasic+`","redirect_uris":["https://evil.example/cb"],"token_endpoint_auth_method":"client_secret_post"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	if id := r.str("client_id"); id == tkBasic || len(id) != 22 {
		t.Errorf("client_id = %q, want a fresh random ID", id)
	}
	// The pre-registered client still authenticates with its own secret
	// only, not with the secret registration returned.
	raw, verifier, _ := e.newCode(t, tkBasic, nil)
	f := tkCodeForm(raw, verifier)
	tkWantError(t, e.send(t, "application/x-www-form-urlencoded", f.Encode(), tkBasicAuth(tkBasic, r.str("client_secret"))), http.StatusUnauthorized, "invalid_client")
	if tr := e.tokenAs(t, tkBasic, f); tr.status != http.StatusOK {
		t.Errorf("pre-registered client: %d %s", tr.status, tr.raw)
	}
	if _, err := e.store.GetClient(context.Background(), tkBasic); err == nil {
		t.Error("a client with the pre-registered ID was stored")
	}
}

// TestRegisterStoreUnavailable: a store outage is 503 temporarily_unavailable
// and no client_id is handed out.
func TestRegisterStoreUnavailable(t *testing.T) {
	e := newTkEnv(t, nil)
	e.store.Close()
	r := e.register(t, "application/json", `{"redirect_uris":["https://app.example.com/cb"]}`)
	tkWantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
	if _, has := r.body["client_id"]; has {
		t.Error("a client_id was returned although nothing was stored")
	}
}
