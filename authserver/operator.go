package authserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
// invalid_client_metadata) and stores nothing; a spec.ID already taken, in
// st or by Reserved, is an error wrapping store.ErrExists.
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
