package cli

import (
	"encoding/json"
	"flag"
	"fmt"

	"github.com/frontmcp-go/frontmcp/keys"
	"github.com/frontmcp-go/frontmcp/token"
)

const keysUsage = `usage: frontmcp keys generate [--alg ES256|EdDSA|RS256|PS256] [--kid KID]

generate  print a new private signing key as a one-line JWK (ready for
          JWT_SIGNING_KEY or auth.local.signKey) and its public JWK
`

func keysCmd(args []string, o *Options) int {
	if len(args) == 0 || args[0] != "generate" {
		fmt.Fprint(o.Stderr, keysUsage)
		return ExitUsage
	}
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	alg := fs.String("alg", token.ES256, "signing algorithm: ES256, EdDSA, RS256 or PS256")
	kid := fs.String("kid", "", "key id (default: the RFC 7638 thumbprint)")
	if err := fs.Parse(args[1:]); err != nil {
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprint(o.Stderr, keysUsage)
		return ExitUsage
	}
	switch *alg {
	case token.ES256, token.EdDSA, token.RS256, token.PS256:
	default:
		fmt.Fprintf(o.Stderr, "keys generate: unsupported --alg %q (ES256, EdDSA, RS256 or PS256)\n", *alg)
		return ExitUsage
	}
	k, err := keys.Generate(*alg, *kid)
	if err != nil {
		fmt.Fprintln(o.Stderr, "keys generate:", err)
		return ExitFailure
	}
	pub, err := keys.Public(k)
	if err != nil {
		fmt.Fprintln(o.Stderr, "keys generate:", err)
		return ExitFailure
	}
	priv, err := json.Marshal(k)
	if err != nil {
		fmt.Fprintln(o.Stderr, "keys generate:", err)
		return ExitFailure
	}
	pubJSON, _ := json.Marshal(pub)
	fmt.Fprintf(o.Stdout, "# Private signing key (secret) for JWT_SIGNING_KEY or auth.local.signKey:\n%s\n# Public key (JWK):\n%s\n", priv, pubJSON)
	return ExitOK
}
