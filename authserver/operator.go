package authserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/cimd"
	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/token"
)

// maxClientID caps an operator-chosen client_id.
const maxClientID = 128

// ClientSpec is a client an operator registers directly in the store (the
// frontmcp clients add command) instead of through dynamic registration.
type ClientSpec struct {
	// ID is the client_id; "" generates a random one, as registration does.
	ID string
	// Name is the client_name shown on the consent page.
	Name string
	// RedirectURIs are the redirect URIs, matched exactly. Required.
	RedirectURIs []string
	// Confidential gives the client a secret it authenticates with by
	// client_secret_basic (RFC 6749 §2.3.1); otherwise it is a public client
	// (token_endpoint_auth_method none, OAuth 2.1 §2.1).
	Confidential bool
	// Scopes the client may request; empty allows every offered scope.
	Scopes []string
}

// CreateClientOptions configure CreateClient. A nil *CreateClientOptions is
// valid: no scopes offered, no reserved IDs, time.Now.
type CreateClientOptions struct {
	// Scopes are the scopes the server offers (auth.scopes); ClientSpec.Scopes
	// must be among them.
	Scopes []string
	// Reserved reports whether a client_id is taken outside the store (a
	// pre-registered client of the configuration, which would shadow it).
	Reserved func(id string) bool
	// Clock returns the creation time; nil means time.Now.
	Clock func() time.Time
}

// CreateClient validates spec by the rules of dynamic client registration
// (RFC 7591 §2: redirect URIs per OAuth 2.1 §2.3.1 and RFC 8252 §7, scopes
// among those offered, printable client_name) and stores the client in st.
// It returns the stored client and, for a confidential client, its secret:
// the only copy, since st keeps token.Hash of it.
//
// Invalid metadata is a *grant.Error (invalid_redirect_uri or
// invalid_client_metadata) and stores nothing; so is a spec.ID in the form
// of a URL, which the server would resolve as a client metadata document
// URL instead of looking it up in the store. A spec.ID already taken, in st
// or by Reserved, is an error wrapping store.ErrExists.
func CreateClient(ctx context.Context, st store.Clients, spec *ClientSpec, opts *CreateClientOptions) (*store.Client, string, error) {
	var o CreateClientOptions
	if opts != nil {
		o = *opts
	}
	if o.Reserved == nil {
		o.Reserved = func(string) bool { return false }
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if spec.ID != "" && !validClientID(spec.ID) {
		return nil, "", grant.Errorf(grant.CodeInvalidClientMetadata,
			"client_id must be 1 to %d printable ASCII characters without spaces (RFC 6749 Appendix A.1)", maxClientID)
	}
	if urlShapedClientID(spec.ID) {
		return nil, "", grant.Errorf(grant.CodeInvalidClientMetadata,
			"client_id %s has the form of a URL: the server treats such ids as client metadata document URLs (auth.cimd) and would never look this client up; choose an id without \"://\"", spec.ID)
	}
	req := &registrationRequest{RedirectURIs: spec.RedirectURIs}
	if spec.Name != "" {
		req.ClientName = &spec.Name
	}
	if len(spec.Scopes) > 0 {
		scope := strings.Join(spec.Scopes, " ")
		req.Scope = &scope
	}
	method := string(grant.AuthNone)
	if spec.Confidential {
		method = string(grant.AuthClientSecretBasic)
	}
	req.TokenEndpointAuthMethod = &method
	c, e := validateClientMetadata(req, o.Scopes)
	if e != nil {
		return nil, "", e
	}

	var secret string
	if spec.Confidential {
		var err error
		if secret, err = token.NewSecret(); err != nil {
			return nil, "", fmt.Errorf("generating a client secret: %w", err)
		}
		c.SecretHash = token.Hash(secret)
	}
	c.CreatedAt = o.Clock().UTC()
	if spec.ID != "" {
		c.ID = spec.ID
		if o.Reserved(c.ID) {
			return nil, "", fmt.Errorf("client %s is pre-registered in the configuration: %w", c.ID, store.ErrExists)
		}
		if err := st.CreateClient(ctx, c); err != nil {
			if errors.Is(err, store.ErrExists) {
				return nil, "", fmt.Errorf("client %s is already registered: %w", c.ID, store.ErrExists)
			}
			return nil, "", err
		}
		return c, secret, nil
	}
	// Random IDs collide only by accident; retry like registration does.
	for attempt := 0; ; attempt++ {
		c.ID = token.NewID()
		err := fmt.Errorf("generated client_id taken: %w", store.ErrExists)
		if !o.Reserved(c.ID) {
			err = st.CreateClient(ctx, c)
		}
		if err == nil {
			return c, secret, nil
		}
		if !errors.Is(err, store.ErrExists) || attempt >= 2 {
			return nil, "", err
		}
	}
}

// urlShapedClientID reports whether id looks like a URL client identifier:
// one cimd.IsURL takes for a metadata document URL, or any id with "://".
func urlShapedClientID(id string) bool {
	return cimd.IsURL(id) || strings.Contains(id, "://")
}

// ClientDeleter is the part of a store that DeleteClient uses.
type ClientDeleter interface {
	store.Clients
	store.Grants
}

// DeleteClientOptions configure DeleteClient. A nil *DeleteClientOptions is
// valid.
type DeleteClientOptions struct {
	// Revoked, when set, is called for each grant revoked, so that a server
	// applies the revocation at once rather than at its next read of the
	// store's revocation log (Options.Revoked).
	Revoked func(store.Revocation)
}

// DeleteClient deletes a registered client from st and revokes every grant
// it holds: the client's refresh tokens stop working at once, and its access
// tokens wherever the revocation log is read (RFC 7592 §2.3 for dynamic
// clients; the frontmcp clients remove command for any stored one). It
// returns the ids of the grants it revoked, also on failure.
//
// Grants are revoked before and again after the deletion. A token request
// that authenticated the client just before the deletion may still create a
// grant: the second pass revokes one created by then. One created after the
// second pass (a window of a few store round trips) survives with its first
// access token; its refresh fails once no server has the client cached any
// more (clientCacheTTL), since the client no longer exists, and
// `frontmcp grants revoke --client` ends it.
//
// A client that does not exist (or was deleted concurrently) is an error
// wrapping store.ErrNotFound, returned after both passes, so leftover
// grants of the id are revoked all the same.
func DeleteClient(ctx context.Context, st ClientDeleter, id string, opts *DeleteClientOptions) (revoked []string, err error) {
	var o DeleteClientOptions
	if opts != nil {
		o = *opts
	}
	if revoked, err = revokeClientGrants(ctx, st, id, o.Revoked, revoked); err != nil {
		return revoked, err
	}
	deleteErr := st.DeleteClient(ctx, id)
	if deleteErr != nil && !errors.Is(deleteErr, store.ErrNotFound) {
		return revoked, fmt.Errorf("deleting client %s: %w", id, deleteErr)
	}
	if revoked, err = revokeClientGrants(ctx, st, id, o.Revoked, revoked); err != nil {
		return revoked, err
	}
	if deleteErr != nil {
		return revoked, fmt.Errorf("client %s: %w", id, deleteErr)
	}
	return revoked, nil
}

// revokeClientGrants revokes the active grants of client id, appending
// their ids to revoked and reporting each to notify. A grant that expires
// meanwhile is skipped.
func revokeClientGrants(ctx context.Context, st store.Grants, id string, notify func(store.Revocation), revoked []string) ([]string, error) {
	grants, err := st.ListGrants(ctx, store.GrantFilter{ClientID: id})
	if err != nil {
		return revoked, fmt.Errorf("listing the grants of client %s: %w", id, err)
	}
	for _, g := range grants {
		if !g.RevokedAt.IsZero() || g.ClientID != id {
			continue
		}
		if err := st.RevokeGrant(ctx, g.ID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return revoked, fmt.Errorf("revoking grant %s: %w", g.ID, err)
		}
		revoked = append(revoked, g.ID)
		if notify != nil {
			notify(store.Revocation{Kind: store.RevokedGrant, ID: g.ID, ExpiresAt: g.ExpiresAt})
		}
	}
	return revoked, nil
}

// validClientID reports whether id is a client_id an operator may choose:
// VSCHAR (RFC 6749 Appendix A.1) without space, at most maxClientID bytes.
func validClientID(id string) bool {
	if id == "" || len(id) > maxClientID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
