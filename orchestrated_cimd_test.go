package frontmcp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/frontmcp-go/frontmcp/config"
	"golang.org/x/crypto/bcrypt"
)

// auth.cimd.enabled wires a metadata-document fetcher into the embedded
// authorization server: the metadata advertises it, and a URL client id
// (here a loopback http one, allowed by allowLoopbackHttp) reaches the login
// page under the name its document gives.
func TestCIMDFromConfig(t *testing.T) {
	var doc *httptest.Server
	doc = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"client_id":     doc.URL + r.URL.Path,
			"client_name":   "Config Test Client",
			"redirect_uris": []string{"http://127.0.0.1/callback"},
		})
	}))
	t.Cleanup(doc.Close)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	base, _, _ := startServer(t, func(c *config.Config) {
		c.Auth.Mode = config.ModeOrchestrated
		c.Auth.Local.Users = []config.User{{Username: "alice", PasswordHash: string(hash)}}
		c.Auth.CIMD.Enabled = true
		c.Auth.CIMD.AllowLoopbackHTTP = true
	}, nil)

	resp, err := http.Get(base + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	err = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if err != nil || meta["client_id_metadata_document_supported"] != true {
		t.Fatalf("metadata client_id_metadata_document_supported = %v (%v)", meta["client_id_metadata_document_supported"], err)
	}

	q := url.Values{
		"response_type": {"code"}, "client_id": {doc.URL + "/client.json"}, "redirect_uri": {"http://127.0.0.1:7000/callback"},
		"state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}
	resp, err = http.Get(base + "/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Config Test Client") {
		t.Fatalf("authorize: %d\n%s", resp.StatusCode, body)
	}
}
