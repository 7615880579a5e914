package cli_test

import (
	"strings"
	"testing"
)

// TestConfigCheckRemote: config check accepts a remote-mode configuration,
// prints the redirect URI to register at the identity provider, and never
// prints the client secret or the vault key.
func TestConfigCheckRemote(t *testing.T) {
	const clientSecret = "upstream-client-secret-do-not-print"
	const vaultKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	p := writeFile(t, strings.Join([]string{
		"environment: development",
		"http:",
		"  publicUrl: https://mcp.example.com",
		"auth:",
		"  mode: orchestrated",
		"  type: remote",
		"  provider: https://login.example.com",
		"  remote:",
		"    clientId: frontmcp",
		"    clientSecret: " + clientSecret,
		"  vault:",
		"    key: " + vaultKey,
		"  tokenStorage:",
		"    type: memory",
	}, "\n")+"\n")
	code, stdout, stderr := runMain(t, "config", "check", p)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "register this redirect URI at the identity provider: https://mcp.example.com/oauth/upstream/callback") {
		t.Errorf("the upstream redirect URI is not printed:\n%s", stdout)
	}
	if strings.Contains(stdout, clientSecret) || strings.Contains(stdout, vaultKey) {
		t.Errorf("a secret was printed:\n%s", stdout)
	}

	// Without a vault key the configuration is refused, naming the key.
	p = writeFile(t, "auth:\n  mode: orchestrated\n  type: remote\n  provider: https://login.example.com\n  remote:\n    clientId: frontmcp\n")
	code, _, stderr = runMain(t, "config", "check", p)
	if code == 0 || !strings.Contains(stderr, "auth.vault.key") {
		t.Errorf("without a vault key: exit %d\n%s", code, stderr)
	}
}
