package authserver

import (
	"context"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/frontmcp-go/frontmcp/store"
)

// Remembered consent. A user who approved a client once is not asked again
// while that approval stands: after login, when the user already holds an
// active grant (not revoked, not expired) for the same client and resource
// whose scopes include every requested scope, the code is issued without the
// consent page. The login itself still happens: consent is remembered, the
// session is not.
//
// The grants are the record: nothing else is stored. Revoking the grant
// (a replayed code, reuse of a rotated refresh token, an operator, the
// revocation endpoint) or its expiry forgets the consent; a request for a
// scope no grant covers, or from a client registered anew (a new client_id),
// shows the page again. Consent is per client_id, so a client identified by
// a metadata document URL keeps its consent while it keeps its URL.

// consentRemembered reports whether subject already consented to p: an active
// grant of subject for p's client and resource covers p's scopes. A store
// failure is logged and answers false, so the page is shown.
func (s *Server) consentRemembered(ctx context.Context, subject string, p *store.PendingAuthorization) bool {
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
