package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontmcp-go/frontmcp/store"
)

const grantsUsage = `usage: frontmcp grants list [--user USER] [--client CLIENT_ID] [--config FILE] [--json]
       frontmcp grants revoke [--config FILE] [--json] [--] GRANT_ID
       frontmcp grants revoke --user USER [--client CLIENT_ID] [--config FILE] [--json]
       frontmcp grants revoke --client CLIENT_ID [--config FILE] [--json]

list    the grants in the store (what a user authorized a client to do):
        id, user, client, scopes, dates and status (active, revoked or
        expired); never token hashes
revoke  revoke one grant, or every active grant of a user (of one client
        with --client), or of a client; prints how many. A revoked grant's
        refresh token is refused at once and its access tokens as soon as
        each server checks the store. Revoking by --user or --client exits 0
        also when nothing matched ("0 grants revoked"); an unknown GRANT_ID
        exits 1.

The store is the one the configuration names (auth.tokenStorage: file or
redis), shared with running servers; the memory store is refused.
`

// Status of a listed grant.
const (
	statusActive  = "active"
	statusRevoked = "revoked"
	statusExpired = "expired"
)

// grantInfo is a listed grant, without its refresh token hashes.
type grantInfo struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	Resource  string    `json:"resource,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Status    string    `json:"status"`
}

func grantStatus(g *store.Grant, now time.Time) string {
	switch {
	case !g.RevokedAt.IsZero():
		return statusRevoked
	case !now.Before(g.ExpiresAt):
		return statusExpired
	}
	return statusActive
}

func grantsCmd(ctx context.Context, args []string, o *Options) int {
	return subcommand(ctx, "grants", grantsUsage, args, o, map[string]adminFunc{
		"list": grantsList, "revoke": grantsRevoke,
	})
}

func grantsList(ctx context.Context, args []string, o *Options) int {
	fs := flag.NewFlagSet("grants list", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	configPath := fs.String("config", "", "configuration file (YAML); empty: built-in defaults")
	asJSON := fs.Bool("json", false, "print JSON")
	user := fs.String("user", "", "only the grants of this user (subject)")
	client := fs.String("client", "", "only the grants of this client_id")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) > 0 {
		fmt.Fprint(o.Stderr, grantsUsage)
		return ExitUsage
	}
	env, code := openAdmin("grants list", *configPath, o)
	if env == nil {
		return code
	}
	defer env.st.Close()
	grants, err := env.st.ListGrants(ctx, store.GrantFilter{Subject: *user, ClientID: *client})
	if err != nil {
		return env.storeFailed(o.Stderr, "grants list", "listing grants", err)
	}
	now := time.Now()
	list := make([]grantInfo, len(grants))
	for i, g := range grants {
		list[i] = grantInfo{
			ID: g.ID, User: g.Subject, ClientID: g.ClientID, Scopes: g.Scopes, Resource: g.Resource,
			CreatedAt: g.CreatedAt, ExpiresAt: g.ExpiresAt, RevokedAt: g.RevokedAt, Status: grantStatus(g, now),
		}
		if list[i].Scopes == nil {
			list[i].Scopes = []string{}
		}
	}
	if *asJSON {
		writeJSONOut(o.Stdout, list)
		return ExitOK
	}
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GRANT_ID\tUSER\tCLIENT_ID\tSCOPES\tCREATED\tEXPIRES\tSTATUS")
	for _, g := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, g.User, g.ClientID, orDash(strings.Join(g.Scopes, " ")), date(g.CreatedAt), date(g.ExpiresAt), g.Status)
	}
	tw.Flush()
	return ExitOK
}

// revokeResult is the JSON output of grants revoke.
type revokeResult struct {
	Revoked []string `json:"revoked"`
}

func grantsRevoke(ctx context.Context, args []string, o *Options) int {
	fs := flag.NewFlagSet("grants revoke", flag.ContinueOnError)
	fs.SetOutput(o.Stderr)
	configPath := fs.String("config", "", "configuration file (YAML); empty: built-in defaults")
	asJSON := fs.Bool("json", false, "print JSON")
	user := fs.String("user", "", "revoke every active grant of this user (subject)")
	client := fs.String("client", "", "revoke every active grant of this client_id (with --user: of that user only)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		fmt.Fprint(o.Stderr, grantsUsage)
		return ExitUsage
	}
	byFilter := *user != "" || *client != ""
	if len(pos) > 1 || (len(pos) == 1) == byFilter {
		fmt.Fprint(o.Stderr, "frontmcp grants revoke: give either one GRANT_ID or --user/--client\n\n"+grantsUsage)
		return ExitUsage
	}
	env, code := openAdmin("grants revoke", *configPath, o)
	if env == nil {
		return code
	}
	defer env.st.Close()

	var revoked []string
	if byFilter {
		revoked, err = revokeGrantIDs(ctx, env.st, store.GrantFilter{Subject: *user, ClientID: *client})
		if err != nil {
			env.storeFailed(o.Stderr, "grants revoke", "revoking grants", err)
		}
	} else {
		id := pos[0]
		g, gerr := env.st.GetGrant(ctx, id)
		switch {
		case isNotFound(gerr):
			fmt.Fprintf(o.Stderr, "frontmcp grants revoke: no grant %s in the %s (unknown or expired)\n", id, env.where)
			return ExitFailure
		case gerr != nil:
			return env.storeFailed(o.Stderr, "grants revoke", "reading grant "+id, gerr)
		case !g.RevokedAt.IsZero():
			fmt.Fprintf(o.Stderr, "frontmcp grants revoke: grant %s was already revoked at %s\n", id, date(g.RevokedAt))
			// Revoking again is a no-op for the grant but records the
			// revocation in the store's log once more (idempotent), in case
			// the first record was lost, so every instance enforces it.
			if err = env.st.RevokeGrant(ctx, id); isNotFound(err) {
				err = nil
			} else if err != nil {
				env.storeFailed(o.Stderr, "grants revoke", "revoking grant "+id, err)
			}
		default:
			err = env.st.RevokeGrant(ctx, id)
			if err == nil {
				revoked = append(revoked, id)
			} else if !isNotFound(err) { // expired in between: nothing to revoke
				env.storeFailed(o.Stderr, "grants revoke", "revoking grant "+id, err)
			}
		}
	}
	if *asJSON {
		writeJSONOut(o.Stdout, revokeResult{Revoked: append([]string{}, revoked...)})
	} else {
		fmt.Fprintf(o.Stdout, "%s revoked\n", grantCount(len(revoked)))
	}
	if err != nil && !isNotFound(err) {
		return ExitFailure
	}
	return ExitOK
}

// revokeGrants revokes every active grant matching f and returns how many it
// revoked, also when it fails part way.
func revokeGrants(ctx context.Context, st store.Grants, f store.GrantFilter) (int, error) {
	ids, err := revokeGrantIDs(ctx, st, f)
	return len(ids), err
}

// revokeGrantIDs revokes every grant matching f and returns the IDs of those
// that were active, also when it fails part way. A grant that expires or
// disappears meanwhile is skipped.
func revokeGrantIDs(ctx context.Context, st store.Grants, f store.GrantFilter) ([]string, error) {
	grants, err := st.ListGrants(ctx, f)
	if err != nil {
		return nil, err
	}
	var revoked []string
	for _, g := range grants {
		// Grants already revoked are revoked again, uncounted: a no-op for
		// the grant that records the revocation in the store's log once
		// more (idempotent), in case the first record was lost.
		if err := st.RevokeGrant(ctx, g.ID); err != nil {
			if isNotFound(err) {
				continue
			}
			return revoked, err
		}
		if g.RevokedAt.IsZero() {
			revoked = append(revoked, g.ID)
		}
	}
	return revoked, nil
}

func grantCount(n int) string {
	if n == 1 {
		return "1 grant"
	}
	return fmt.Sprintf("%d grants", n)
}
