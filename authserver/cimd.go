package authserver

import (
	"context"
	"errors"
	"net/url"

	"github.com/frontmcp-go/frontmcp/authserver/cimd"
	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/store"
)

// ClientResolver resolves a URL client id to its client by fetching the
// Client ID Metadata Document published at that URL
// (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25). Package
// cimd's Fetcher is one. The client it returns must be public (method none)
// with ID equal to clientID; it is never stored. An error's text is shown to
// the user and returned as error_description, so it must not contain secrets.
//
// An error that matches cimd.ErrUnavailable (or a context error) is
// temporary: the token, revocation and introspection endpoints answer it
// with 503 temporarily_unavailable rather than 401 invalid_client, which MCP
// clients take as a reason to drop their credentials, and the authorization
// endpoint shows an error page asking to try again.
type ClientResolver interface {
	Resolve(ctx context.Context, clientID string) (*store.Client, error)
}

// clientMetadataError is a failure to resolve a URL client id; temporary
// when it may pass (see ClientResolver).
type clientMetadataError struct {
	err       error
	temporary bool
}

func (e *clientMetadataError) Error() string { return e.err.Error() }
func (e *clientMetadataError) Unwrap() error { return e.err }

// isMetadataClient reports whether id is resolved through its metadata
// document: ClientMetadata is set, id has the form of a URL, and no
// pre-registered client has that id.
func (s *Server) isMetadataClient(id string) bool {
	_, pre := s.clients[id]
	return s.opts.ClientMetadata != nil && !pre && cimd.IsURL(id)
}

// resolveMetadataClient resolves a URL client id. The client is forced to be
// public whatever the resolver returns: a document cannot carry a secret.
func (s *Server) resolveMetadataClient(ctx context.Context, id string) (*store.Client, error) {
	c, err := s.opts.ClientMetadata.Resolve(ctx, id)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		s.log.InfoContext(ctx, "client metadata document not resolved in time", "client_id", id, "err", err)
		return nil, &clientMetadataError{errors.New("the client metadata document could not be retrieved in time; try again later"), true}
	}
	if err != nil {
		temporary := errors.Is(err, cimd.ErrUnavailable)
		s.log.InfoContext(ctx, "client metadata document not usable", "client_id", id, "err", err, "temporary", temporary)
		return nil, &clientMetadataError{err, temporary}
	}
	if c == nil || c.ID != id {
		s.log.ErrorContext(ctx, "client metadata resolver returned another client", "client_id", id)
		return nil, &clientMetadataError{errors.New("the client metadata document could not be used"), false}
	}
	c.SecretHash, c.TokenEndpointAuthMethod, c.Dynamic = "", string(grant.AuthNone), false
	return c, nil
}

// metadataClientError returns the OAuth error for err if it is a failure to
// resolve a URL client id: code with the resolver's description of the
// problem, or temporarily_unavailable (503) when the failure is temporary.
func metadataClientError(err error, code string) (*grant.Error, bool) {
	e, ok := errors.AsType[*clientMetadataError](err)
	if !ok {
		return nil, false
	}
	if e.temporary {
		code = grant.CodeTemporarilyUnavailable
	}
	return grant.Errorf(code, "%s", e.err.Error()), true
}

// metadataHost returns the host of a URL client's id (where its metadata
// document is published), for the consent page; "" for other clients.
func (s *Server) metadataHost(c *store.Client) string {
	if !s.isMetadataClient(c.ID) {
		return ""
	}
	u, err := url.Parse(c.ID)
	if err != nil {
		return ""
	}
	return u.Host
}
