package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/keys"
	"github.com/frontmcp-go/frontmcp/token"
)

const keysUsage = `usage: frontmcp keys generate [--alg ES256|EdDSA|RS256|PS256] [--kid KID]
       frontmcp keys list [--config FILE]
       frontmcp keys rotate [--config FILE]

generate  print a new private signing key as a one-line JWK (ready for
          JWT_SIGNING_KEY or auth.local.signKey) and its public JWK
list      the signing keys in the configured store: kid, alg, state, dates,
          and the vault key encrypting each (never private material)
rotate    start a rotation now on the configured store: a new key is
          published, and signs once every verifier can know it
`

func keysCmd(ctx context.Context, args []string, o *Options) int {
	if len(args) == 0 {
		fmt.Fprint(o.Stderr, keysUsage)
		return ExitUsage
	}
	switch args[0] {
	case "generate":
		return keysGenerate(args[1:], o)
	case "list", "rotate":
		return keysStore(ctx, args[0], args[1:], o)
	}
	fmt.Fprint(o.Stderr, keysUsage)
	return ExitUsage
}

// keysStore runs list and rotate against the store the configuration names,
// with the same key manager the server uses.
func keysStore(ctx context.Context, cmd string, args []string, o *Options) int {
	fs := flag.NewFlagSet("keys "+cmd, flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	configPath := fs.String("config", "", "configuration file (YAML); empty: built-in defaults")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprint(o.Stderr, keysUsage)
		return ExitUsage
	}
	cfg, err := config.Load(*configPath, &config.LoadOptions{LookupEnv: o.LookupEnv, Defaults: o.Defaults})
	if err != nil {
		printConfigError(o.Stderr, *configPath, err)
		return ExitUsage
	}
	st, err := frontmcp.OpenStore(cfg.Auth.TokenStorage)
	if err != nil {
		fmt.Fprintln(o.Stderr, "frontmcp:", err)
		return ExitFailure
	}
	defer st.Close()
	km, err := frontmcp.NewKeyManager(ctx, cfg, st, nil, nil)
	if err != nil {
		fmt.Fprintln(o.Stderr, "frontmcp:", err)
		return ExitFailure
	}
	if cmd == "rotate" {
		if err := km.Rotate(ctx); err != nil {
			fmt.Fprintln(o.Stderr, "frontmcp: keys rotate:", err)
			return ExitFailure
		}
	}
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tSIGNS FROM\tRETIRED\tREMOVED AT\tVAULT KEY")
	for _, k := range km.List() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, date(k.ActivateAt), date(k.RetireAt), date(k.RemoveAt), orDash(k.VaultKeyID))
	}
	tw.Flush()
	return ExitOK
}

func date(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func keysGenerate(args []string, o *Options) int {
	fs := flag.NewFlagSet("keys generate", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	alg := fs.String("alg", token.ES256, "signing algorithm: ES256, EdDSA, RS256 or PS256")
	kid := fs.String("kid", "", "key id (default: the RFC 7638 thumbprint)")
	if err := fs.Parse(args); err != nil {
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
