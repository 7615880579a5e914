package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver"
	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store"
)

const clientsUsage = `usage: frontmcp clients list [--config FILE] [--json]
       frontmcp clients add --redirect-uri URI [--redirect-uri URI …] [--name NAME]
                            [--confidential] [--scope SCOPE …] [--client-id ID]
                            [--config FILE] [--json]
       frontmcp clients remove [--config FILE] [--] CLIENT_ID

list    the clients the server knows: those of the configuration
        (auth.clients, source config) and those in the store, registered
        by clients (source dynamic) or with clients add (source cli);
        never secrets
add     register a client in the store, by the rules of dynamic
        registration; prints its client_id and, for --confidential, its
        secret: shown once, the store keeps only its hash
remove  delete a client from the store and revoke all its grants

The store is the one the configuration names (auth.tokenStorage: file or
redis), shared with running servers; the memory store is refused.
`

// Sources of a listed client.
const (
	sourceConfig  = "config"  // auth.clients of the configuration
	sourceDynamic = "dynamic" // registered by the client (RFC 7591)
	sourceCLI     = "cli"     // registered in the store by an operator
)

// clientInfo is a listed client: its metadata, never its secret or a hash.
type clientInfo struct {
	ClientID                string    `json:"client_id"`
	Name                    string    `json:"client_name,omitempty"`
	Type                    string    `json:"type"` // public or confidential
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	Source                  string    `json:"source"`
	RedirectURIs            []string  `json:"redirect_uris"`
	GrantTypes              []string  `json:"grant_types,omitempty"`
	Scopes                  []string  `json:"scopes,omitempty"`
	CreatedAt               time.Time `json:"created_at,omitzero"`
}

func clientsCmd(ctx context.Context, args []string, o *Options) int {
	return subcommand(ctx, "clients", clientsUsage, args, o, map[string]adminFunc{
		"list": clientsList, "add": clientsAdd, "remove": clientsRemove,
	})
}

func clientsList(ctx context.Context, args []string, o *Options) int {
	fs := flag.NewFlagSet("clients list", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	configPath := fs.String("config", "", "configuration file (YAML); empty: built-in defaults")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) > 0 {
		fmt.Fprint(o.Stderr, clientsUsage)
		return ExitUsage
	}
	env, code := openAdmin("clients list", *configPath, o)
	if env == nil {
		return code
	}
	defer env.st.Close()
	stored, err := env.st.ListClients(ctx)
	if err != nil {
		return env.storeFailed(o.Stderr, "clients list", "listing clients", err)
	}
	list := make([]clientInfo, 0, len(env.cfg.Auth.Clients)+len(stored))
	for _, c := range env.cfg.Auth.Clients {
		method := string(c.TokenEndpointAuthMethod)
		if method == "" {
			method = string(config.AuthMethodNone)
			if c.ClientSecret != "" {
				method = string(config.AuthMethodClientSecretBasic)
			}
		}
		list = append(list, clientInfo{
			ClientID: c.ClientID, Name: c.ClientID, Type: clientType(c.ClientSecret != ""),
			TokenEndpointAuthMethod: method, Source: sourceConfig,
			RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, Scopes: c.Scopes,
		})
	}
	for _, c := range stored {
		src := sourceCLI
		if c.Dynamic {
			src = sourceDynamic
		}
		list = append(list, clientInfo{
			ClientID: c.ID, Name: c.Name, Type: clientType(c.SecretHash != ""),
			TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, Source: src,
			RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, Scopes: c.Scopes,
			CreatedAt: c.CreatedAt,
		})
	}
	if *asJSON {
		writeJSONOut(o.Stdout, list)
		return ExitOK
	}
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\tSOURCE\tCREATED\tREDIRECT_URIS")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ClientID, orDash(c.Name), c.Type, c.Source, date(c.CreatedAt), strings.Join(c.RedirectURIs, ","))
	}
	tw.Flush()
	return ExitOK
}

func clientType(confidential bool) string {
	if confidential {
		return "confidential"
	}
	return "public"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// addedClient is the output of clients add (RFC 7591 §3.2.1 names).
type addedClient struct {
	ClientID                string    `json:"client_id"`
	ClientSecret            string    `json:"client_secret,omitempty"`
	Name                    string    `json:"client_name,omitempty"`
	RedirectURIs            []string  `json:"redirect_uris"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	GrantTypes              []string  `json:"grant_types"`
	Scope                   string    `json:"scope,omitempty"`
	CreatedAt               time.Time `json:"created_at"`
}

func clientsAdd(ctx context.Context, args []string, o *Options) int {
	fs := flag.NewFlagSet("clients add", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	configPath := fs.String("config", "", "configuration file (YAML); empty: built-in defaults")
	asJSON := fs.Bool("json", false, "print JSON")
	var redirects, scopes stringList
	fs.Var(&redirects, "redirect-uri", "redirect URI, matched exactly (repeatable; at least one)")
	fs.Var(&scopes, "scope", "a scope the client may request (repeatable; default: every offered scope)")
	name := fs.String("name", "", "client name shown on the consent page")
	confidential := fs.Bool("confidential", false, "issue a client secret (client_secret_basic); default: a public client")
	clientID := fs.String("client-id", "", "client_id (default: a random one)")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) > 0 {
		fmt.Fprint(o.Stderr, clientsUsage)
		return ExitUsage
	}
	if len(redirects) == 0 {
		fmt.Fprint(o.Stderr, "frontmcp clients add: --redirect-uri is required\n\n"+clientsUsage)
		return ExitUsage
	}
	env, code := openAdmin("clients add", *configPath, o)
	if env == nil {
		return code
	}
	defer env.st.Close()
	var scopeList []string
	for _, s := range scopes {
		scopeList = append(scopeList, strings.Fields(s)...)
	}
	configured := env.cfg.Auth.Clients
	c, secret, err := authserver.CreateClient(ctx, env.st, &authserver.ClientSpec{
		ID:           *clientID,
		Name:         *name,
		RedirectURIs: redirects,
		Confidential: *confidential,
		Scopes:       scopeList,
	}, &authserver.CreateClientOptions{
		Scopes: env.cfg.Auth.Scopes,
		Reserved: func(id string) bool {
			return slices.ContainsFunc(configured, func(c config.Client) bool { return c.ClientID == id })
		},
	})
	if e, ok := errors.AsType[*grant.Error](err); ok {
		fmt.Fprintf(o.Stderr, "frontmcp clients add: %s (nothing was stored)\n", e.Description)
		return ExitUsage
	}
	if errors.Is(err, store.ErrExists) {
		where := "the " + env.where
		if slices.ContainsFunc(configured, func(c config.Client) bool { return c.ClientID == *clientID }) {
			where = "the configuration (auth.clients)"
		}
		fmt.Fprintf(o.Stderr, "frontmcp clients add: client_id %s is already registered in %s; choose another --client-id or leave it out\n", *clientID, where)
		return ExitFailure
	}
	if err != nil {
		return env.storeFailed(o.Stderr, "clients add", "registering the client", err)
	}
	out := addedClient{
		ClientID: c.ID, ClientSecret: secret, Name: c.Name, RedirectURIs: c.RedirectURIs,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, GrantTypes: c.GrantTypes,
		Scope: grant.FormatScope(c.Scopes), CreatedAt: c.CreatedAt,
	}
	if *asJSON {
		writeJSONOut(o.Stdout, out)
		return ExitOK
	}
	fmt.Fprintf(o.Stdout, "client_id: %s\n", c.ID)
	if secret != "" {
		fmt.Fprintf(o.Stdout, "client_secret: %s\n", secret)
		fmt.Fprintln(o.Stdout, "# The secret is shown only this once; the store keeps only its hash.")
	}
	fmt.Fprintf(o.Stdout, "type: %s (token_endpoint_auth_method %s)\n", clientType(secret != ""), c.TokenEndpointAuthMethod)
	fmt.Fprintf(o.Stdout, "redirect_uris: %s\n", strings.Join(c.RedirectURIs, " "))
	if out.Scope != "" {
		fmt.Fprintf(o.Stdout, "scope: %s\n", out.Scope)
	}
	return ExitOK
}

func clientsRemove(ctx context.Context, args []string, o *Options) int {
	fs := flag.NewFlagSet("clients remove", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	configPath := fs.String("config", "", "configuration file (YAML); empty: built-in defaults")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) != 1 {
		fmt.Fprint(o.Stderr, clientsUsage)
		return ExitUsage
	}
	id := pos[0]
	env, code := openAdmin("clients remove", *configPath, o)
	if env == nil {
		return code
	}
	defer env.st.Close()
	for i, c := range env.cfg.Auth.Clients {
		if c.ClientID == id {
			fmt.Fprintf(o.Stderr, "frontmcp clients remove: client %s is pre-registered in the configuration (auth.clients[%d]); remove it there and restart the servers\n", id, i)
			return ExitFailure
		}
	}
	// The same deletion as a client's own (RFC 7592): grants revoked before
	// and again after the client is deleted. Running servers apply the
	// revocations at their next read of the revocation log.
	revoked, err := authserver.DeleteClient(ctx, env.st, id, nil)
	if isNotFound(err) {
		fmt.Fprintf(o.Stderr, "frontmcp clients remove: no client %s in the %s\n", id, env.where)
		if len(revoked) > 0 {
			fmt.Fprintf(o.Stdout, "%s left by client id %s revoked\n", grantCount(len(revoked)), id)
		}
		return ExitFailure
	}
	if err != nil {
		fmt.Fprintf(o.Stdout, "%s revoked\n", grantCount(len(revoked)))
		env.storeFailed(o.Stderr, "clients remove", "removing client "+id, err)
		cfgArg := ""
		if *configPath != "" {
			cfgArg = " --config " + *configPath
		}
		fmt.Fprintf(o.Stderr, "finish with: frontmcp clients remove%s %s (it may answer that the client is gone; its grants are revoked all the same)\n", cfgArg, id)
		return ExitFailure
	}
	fmt.Fprintf(o.Stdout, "client %s removed\n", id)
	fmt.Fprintf(o.Stdout, "%s revoked\n", grantCount(len(revoked)))
	return ExitOK
}
