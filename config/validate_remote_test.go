package config

import (
	"strings"
	"testing"
)

// TestValidateRemoteSubjectClaim: the subject of remote mode comes from sub
// or a verified email; any other claim may be reassigned at the provider
// (OpenID Connect Core §5.7) and needs auth.remote.allowMutableSubjectClaim.
func TestValidateRemoteSubjectClaim(t *testing.T) {
	remote := func(claim string, allow bool) *Config {
		c := validOrchestratedProduction()
		c.Auth.Type = TypeRemote
		c.Auth.Local.Users = nil
		c.Auth.Provider = "https://idp.example"
		c.Auth.Remote.ClientID = "frontmcp"
		c.Auth.Vault.Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
		c.Auth.Remote.SubjectClaim = claim
		c.Auth.Remote.AllowMutableSubjectClaim = allow
		return c
	}
	for _, tc := range []struct {
		claim   string
		allow   bool
		wantErr string // "" for none
	}{
		{"sub", false, ""},
		{"email", false, ""},
		{"preferred_username", false, `"preferred_username" may change or be reassigned at the provider`},
		{"oid", false, "set auth.remote.allowMutableSubjectClaim: true"},
		{"preferred_username", true, ""},
		{"", true, "must not be empty"},
	} {
		errs := asErrors(t, remote(tc.claim, tc.allow).Validate())
		switch {
		case tc.wantErr == "" && len(errs) > 0:
			t.Errorf("subjectClaim %q, allow %t: %v", tc.claim, tc.allow, errs)
		case tc.wantErr != "":
			if len(errs) != 1 || errs[0].Path != "auth.remote.subjectClaim" || !strings.Contains(errs[0].Msg, tc.wantErr) {
				t.Errorf("subjectClaim %q, allow %t: %v, want one auth.remote.subjectClaim error saying %q", tc.claim, tc.allow, errs, tc.wantErr)
			}
		}
	}
}

// TestLoadAllowMutableSubjectClaim: the acknowledgement is a YAML key.
func TestLoadAllowMutableSubjectClaim(t *testing.T) {
	c, err := Parse([]byte(strings.Join([]string{
		"environment: development",
		"auth:",
		"  mode: orchestrated",
		"  type: remote",
		"  provider: https://idp.example",
		"  remote: {clientId: frontmcp, subjectClaim: preferred_username, allowMutableSubjectClaim: true}",
		"  vault: {key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=}",
		"",
	}, "\n")), "c.yaml", envOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auth.Remote.AllowMutableSubjectClaim || c.Auth.Remote.SubjectClaim != "preferred_username" {
		t.Fatalf("auth.remote = %+v", c.Auth.Remote)
	}
}
