package cli

import (
	"fmt"

	"github.com/frontmcp-go/frontmcp/vault"
)

const vaultUsage = `usage: frontmcp vault generate-key

generate-key  print a new random vault key (32 bytes, base64) for VAULT_KEY or
              auth.vault.key; stderr shows its key id. To rotate, make the new
              key current and move the old one to auth.vault.previousKeys
`

// vaultCmd runs the vault subcommands.
func vaultCmd(args []string, o *Options) int {
	if len(args) != 1 || args[0] != "generate-key" {
		fmt.Fprint(o.Stderr, vaultUsage)
		return ExitUsage
	}
	key, err := vault.GenerateKey()
	if err != nil {
		fmt.Fprintln(o.Stderr, "vault generate-key:", err)
		return ExitFailure
	}
	id, err := vault.ParseKey(key)
	if err != nil {
		fmt.Fprintln(o.Stderr, "vault generate-key:", err)
		return ExitFailure
	}
	// Only the key on stdout, so VAULT_KEY=$(frontmcp vault generate-key) works.
	fmt.Fprintln(o.Stdout, key)
	fmt.Fprintf(o.Stderr, "# vault key id %s (secret key above: keep it in a secrets manager)\n", id)
	return ExitOK
}
