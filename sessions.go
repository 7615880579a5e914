package frontmcp

import (
	"context"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/resource"
	"github.com/frontmcp-go/frontmcp/session"
)

// streamableHandler is the Streamable HTTP endpoint before authentication.
// With auth.sessionMode stateless it is go-sdk's stateless handler: no
// session state anywhere. With stateful it is package session's handler,
// which keeps sessions in the store so that every instance on it continues
// them.
func (s *Server) streamableHandler(opts *Options) (http.Handler, error) {
	if s.cfg.Auth.SessionMode == config.SessionStateless {
		return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp },
			&mcp.StreamableHTTPOptions{
				Stateless: true,
				Logger:    s.log,
				// The rebind guard checks every Host against the server's own
				// names, a superset of go-sdk's loopback-only check, which would
				// also refuse a same-machine reverse proxy that keeps the public Host.
				DisableLocalhostProtection: true,
			}), nil
	}
	var versions []string
	if opts.ServerOptions != nil {
		versions = opts.ServerOptions.SupportedProtocolVersions
	}
	h, err := session.New(&session.Options{
		Server:                    s.mcp,
		Store:                     s.store,
		IdleTimeout:               s.cfg.Auth.Session.IdleTimeout,
		AbsoluteTimeout:           s.cfg.Auth.Session.AbsoluteTimeout,
		Principal:                 sessionPrincipal,
		Revocations:               serverRevocations{s},
		SupportedProtocolVersions: versions,
		Clock:                     s.now,
		Logger:                    s.log,
	})
	if err != nil {
		return nil, err
	}
	// Shutdown ends this instance's copies of the sessions (and their
	// streams); the sessions stay in the store.
	context.AfterFunc(s.streams, h.Close)
	return h, nil
}

// sessionPrincipal is who a request comes from, as the bearer middleware
// verified it. A session is bound to the token's subject, not to the token,
// so it survives a refresh; the client is recorded but not bound, because
// go-sdk's OAuth client registers a new client for a step-up authorization
// and goes on with its session. Requests without a verified token (public
// mode, allowDefaultPublic) are anonymous. The token's expiry, grant and id
// end a request that stays open (an event stream, a long call) when the
// token expires or is revoked.
func sessionPrincipal(r *http.Request) session.Principal {
	if p, ok := resource.FromContext(r.Context()); ok && !p.Anonymous {
		return session.Principal{Subject: p.Subject, ClientID: p.ClientID,
			ExpiresAt: p.ExpiresAt, GrantID: p.GrantID, TokenID: p.TokenID}
	}
	return session.Principal{}
}

// serverRevocations is the revocation set of orchestrated mode as the
// session handler asks it. The handler is built before the verifier that
// holds the set (orchestrated.go), so it is looked up on each question;
// without one (other modes) nothing is revoked.
type serverRevocations struct{ s *Server }

func (r serverRevocations) Revoked(grantID, tokenID string) bool {
	lv := r.s.revocations
	return lv != nil && lv.Revoked(grantID, tokenID)
}
