package authserver

import (
	"context"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/store"
)

// Remembered consent. A user who approved a confidential client once is not
// asked again while that approval stands: after login, when the user already
// holds an active grant (not revoked, not expired) for the same client and
// resource whose scopes include every requested scope, the code is issued
// without the consent page. The login itself still happens: consent is
// remembered, the session is not.
//
// Only confidential clients are remembered. For a public client the
// client_id proves nothing about who sends the request (RFC 6749 §10.2): a
// URL client's id is a public URL, and a loopback redirect URI matches on any
// port (RFC 8252 §7.3), so a malicious application on the user's machine
// could start a request with a trusted client's id and its own port and,
// without the page, receive a code with no user interaction at all
// (RFC 8252 §8.6). A confidential client's code is of no use without its
// secret, so skipping the page for it gives nothing away. Public clients
// always see the page.
//
// The grants are the record: nothing else is stored. Revoking the grant
// (a replayed code, reuse of a rotated refresh token, an operator, the
// revocation endpoint) or its expiry forgets the consent; a request for a
// scope no grant covers, or from a client registered anew (a new client_id),
// shows the page again.

// consentRemembered reports whether subject already consented to p: p's
// client is confidential and an active grant of subject for it and p's
// resource covers p's scopes. A store failure is logged and answers false,
// so the page is shown.
func (s *Server) consentRemembered(ctx context.Context, subject string, p *store.PendingAuthorization) bool {
	if !s.isConfidentialClient(ctx, p.ClientID) {
		return false
	}
	grants, err := s.opts.Store.ListGrants(ctx, store.GrantFilter{Subject: subject, ClientID: p.ClientID})
	if err != nil {
		s.log.WarnContext(ctx, "listing grants for remembered consent failed; asking for consent", "client_id", p.ClientID, "err", err)
		return false
	}
	now := s.now()
	for _, g := range grants {
		if g.Subject == subject && g.ClientID == p.ClientID && g.Active(now) &&
			g.Resource == p.Resource && grant.ScopeSubset(p.Scopes, g.Scopes) {
			s.log.InfoContext(ctx, "consent remembered from an active grant", "client_id", p.ClientID, "sub", subject,
				"grant_id", g.ID, "request", logging.Fingerprint(p.ID), "scope", grant.FormatScope(p.Scopes))
			return true
		}
	}
	return false
}

// isConfidentialClient reports whether the client id authenticates at the
// token endpoint with a secret. URL clients are public without a look-up;
// a failed look-up answers false.
func (s *Server) isConfidentialClient(ctx context.Context, id string) bool {
	if s.isMetadataClient(id) {
		return false
	}
	c, err := s.lookupClient(ctx, id)
	if err != nil {
		s.log.WarnContext(ctx, "looking up the client for remembered consent failed; asking for consent", "client_id", id, "err", err)
		return false
	}
	return !isPublicClient(c) && clientAuthMethod(c) != grant.AuthNone
}
