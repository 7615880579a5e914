package frontmcp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver"
	"github.com/frontmcp-go/frontmcp/authserver/cimd"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/keys"
	"github.com/frontmcp-go/frontmcp/resource"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/frontmcp-go/frontmcp/vault"
	jose "github.com/go-jose/go-jose/v4"
)

// setupOrchestrated builds the embedded authorization server and the bearer
// middleware of orchestrated/local mode and mounts the OAuth endpoints on mux.
func (s *Server) setupOrchestrated(mux *http.ServeMux, opts *Options) error {
	cfg := s.cfg
	km, err := s.signingKeys()
	if err != nil {
		return err
	}
	// The verifier is built below; the authorization server and the remote
	// mode broker tell it of the revocations they store, so that they bite
	// in this process at once.
	var lv *resource.LocalVerifier
	revoked := func(r store.Revocation) { lv.AddRevocations(r) }
	fed, err := s.setupRemote(revoked) // nil unless type remote (remote.go)
	if err != nil {
		return err
	}
	authn, err := s.authenticator(opts)
	if err != nil {
		return err
	}
	clients, err := preRegisteredClients(cfg.Auth.Clients)
	if err != nil {
		return err
	}
	clientMetadata, err := s.clientMetadata()
	if err != nil {
		return err
	}
	as, err := authserver.New(&authserver.Options{
		Issuer:              cfg.BaseURL(),
		Resource:            cfg.MCPURL(),
		Store:               s.store,
		Keys:                km,
		Authenticator:       authn,
		Federation:          fed,
		Clients:             clients,
		Scopes:              cfg.Auth.Scopes,
		Consent:             cfg.Auth.Consent.Enabled,
		ClientMetadata:      clientMetadata,
		RegistrationEnabled: cfg.Auth.DCREnabled,
		Registration: authserver.RegistrationPolicy{
			AllowedRedirectURIs: cfg.Auth.DCR.AllowedRedirectURIs,
			InitialAccessToken:  cfg.Auth.DCR.InitialAccessToken,
			MaxClients:          cfg.Auth.DCR.MaxClients,
		},
		AccessTokenTTL:      cfg.Auth.Refresh.AccessTokenTTL,
		RefreshEnabled:      cfg.Auth.Refresh.Enabled,
		RefreshTokenTTL:     cfg.Auth.Refresh.RefreshTokenTTL,
		RotateRefreshTokens: cfg.Auth.Refresh.RotateRefreshToken,
		RefreshReuseGrace:   time.Duration(cfg.Auth.Refresh.ReuseGraceSeconds) * time.Second,
		GrantLifetime:       cfg.Auth.Refresh.AbsoluteLifetime,
		ServerName:          cfg.Info.Name,
		Clock:               s.now,
		Logger:              s.log,
		Revoked:             revoked,
	})
	if err != nil {
		return err
	}
	as.Register(mux)
	lv, err = resource.NewLocalVerifier(&resource.LocalVerifierOptions{
		Keys:        km,
		Issuer:      cfg.BaseURL(),
		Resource:    cfg.MCPURL(),
		Revocations: s.store,
		Clock:       s.now,
		Logger:      s.log,
	})
	if err != nil {
		return err
	}
	s.revocations = lv
	// Read the store's revocation log before serving, then follow it every
	// second: other instances and the operator commands revoke through the
	// store. A failed first read is logged, and MCP requests get 503 until
	// a read succeeds.
	syncCtx, cancel := context.WithTimeout(context.Background(), revocationSyncTimeout)
	_ = lv.SyncRevocations(syncCtx)
	cancel()
	go lv.Run(s.streams)
	// Verified tokens are cached (by SHA-256); the revocation and key checks
	// (in-memory lookups) still run on every hit, so revocation bites at once.
	cv, err := resource.NewCachedVerifier(lv, &resource.CacheOptions{Clock: s.now})
	if err != nil {
		return err
	}
	return s.setupResource(mux, []string{cfg.BaseURL()}, cv)
}

// clientMetadata returns the resolver of URL client ids (Client ID Metadata
// Documents) when auth.cimd.enabled, else nil.
func (s *Server) clientMetadata() (authserver.ClientResolver, error) {
	c := s.cfg.Auth.CIMD
	if !c.Enabled {
		return nil, nil
	}
	f, err := cimd.New(&cimd.Options{
		AllowedDomains:    c.AllowedDomains,
		AllowLoopbackHTTP: c.AllowLoopbackHTTP,
		CacheMin:          c.CacheTTL.Min,
		CacheMax:          c.CacheTTL.Max,
		Clock:             s.now,
		Logger:            s.log,
	})
	if err != nil {
		return nil, config.Errors{{Path: "auth.cimd", Err: config.ErrValue, Msg: err.Error()}}
	}
	return f, nil
}

// revocationSyncTimeout bounds the first read of the revocation log at startup.
const revocationSyncTimeout = 10 * time.Second

// keyRefreshInterval is how often a server reloads the shared key set; the
// pre-publication window covers two refreshes plus the JWKS cache lifetime.
const keyRefreshInterval = time.Minute

// signingKeys sets up the server's signing keys and keeps them fresh.
func (s *Server) signingKeys() (*keys.Manager, error) {
	_, canKeep := s.store.(store.Keys)
	switch {
	case len(s.cfg.Auth.Local.SignKey) > 0:
		// An operator-managed key: nothing is generated or kept.
	case !canKeep:
		s.log.Warn("signing keys: this store cannot keep keys; a new key is generated at every start, so a restart invalidates issued access tokens")
	case s.cfg.Auth.TokenStorage.Type == config.StorageMemory:
		s.log.Warn("signing keys: the memory store keeps the signing key only while this process runs; a restart invalidates issued access tokens")
	case s.cfg.Auth.Vault.Key == "" && s.cfg.Environment == config.Production:
		s.log.Warn("signing keys: generated private keys are stored in plaintext; set auth.vault.key / VAULT_KEY (frontmcp vault generate-key) to encrypt them at rest")
	}
	km, err := NewKeyManager(context.Background(), s.cfg, s.store, s.now, s.log)
	if err != nil {
		return nil, err
	}
	if id, err := vault.ParseKey(s.cfg.Auth.Vault.Key); err == nil && len(s.cfg.Auth.Local.SignKey) == 0 {
		s.log.Info("signing keys: stored private keys are encrypted at rest", "vault_key_id", id)
	}
	go km.Run(s.streams, keyRefreshInterval)
	return km, nil
}

// NewKeyManager returns the signing-key manager a server with cfg uses on st:
// keys generated once and kept in st (so restarts and every instance on the
// store share them), rotated per auth.local, their private parts encrypted
// with auth.vault when a vault key is set. A store that cannot keep keys
// gets keys for this process only. The frontmcp keys commands use it too.
func NewKeyManager(ctx context.Context, cfg *config.Config, st store.Store, clock func() time.Time, log *slog.Logger) (*keys.Manager, error) {
	ks, ok := st.(store.Keys)
	if !ok {
		ks = memstore.New(nil)
	}
	ring, err := cfg.Auth.Vault.Keyring()
	if err != nil {
		return nil, err
	}
	var signKey *jose.JSONWebKey
	if raw := cfg.Auth.Local.SignKey; len(raw) > 0 {
		k, err := keys.ParsePrivate(raw)
		if err != nil {
			return nil, config.Errors{{Path: "auth.local.signKey", Err: config.ErrValue, Msg: err.Error()}}
		}
		signKey = &k
	}
	verifyKeys := make([]jose.JSONWebKey, len(cfg.Auth.Local.VerifyKeys))
	for i, raw := range cfg.Auth.Local.VerifyKeys {
		k, err := keys.ParseVerify(raw)
		if err != nil {
			return nil, config.Errors{{Path: fmt.Sprintf("auth.local.verifyKeys[%d]", i), Err: config.ErrValue, Msg: err.Error()}}
		}
		verifyKeys[i] = k
	}
	km, err := keys.NewManager(ctx, &keys.ManagerOptions{
		Store:      ks,
		SignKey:    signKey,
		VerifyKeys: verifyKeys,
		Vault:      ring,
		Policy: keys.Policy{
			RotateEvery:   time.Duration(cfg.Auth.Local.KeyRotationDays) * 24 * time.Hour,
			PrePublish:    authserver.JWKSMaxAge + 2*keyRefreshInterval,
			TokenLifetime: cfg.Auth.Refresh.AccessTokenTTL,
			MaxKeys:       cfg.Auth.Local.MaxKeys,
		},
		Clock:  clock,
		Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return km, nil
}

// setupResource builds the bearer middleware for the MCP endpoint and serves
// the protected-resource metadata (RFC 9728) at its well-known paths.
func (s *Server) setupResource(mux *http.ServeMux, authServers []string, verify resource.Verifier) error {
	cfg := s.cfg
	prmPaths := resource.MetadataPaths(cfg.MCPURL())
	mw, err := resource.New(&resource.Options{
		Resource:             cfg.MCPURL(),
		MetadataURL:          cfg.BaseURL() + prmPaths[0],
		AuthorizationServers: authServers,
		ScopesSupported:      cfg.Auth.Scopes,
		Verifier:             verify,
		AllowAnonymous:       cfg.Auth.AllowDefaultPublic,
		ToolScopes:           cfg.Auth.ToolScopes,
		ResourceName:         cfg.Info.Name,
		Logger:               s.log,
	})
	if err != nil {
		return err
	}
	for _, p := range prmPaths {
		mux.Handle(p, mw.MetadataHandler())
	}
	s.bearer = mw
	return nil
}

// authenticator picks who can log in: the program's Authenticator, the
// configured users, or — outside production only — a demo user whose random
// password is printed once.
func (s *Server) authenticator(opts *Options) (authserver.Authenticator, error) {
	if s.cfg.UsesRemote() {
		if opts.Authenticator != nil {
			return nil, errors.New("frontmcp: Options.Authenticator is not used with auth.type remote: users sign in at the identity provider")
		}
		return nil, nil
	}
	if opts.Authenticator != nil {
		return opts.Authenticator, nil
	}
	if users := s.cfg.Auth.Local.Users; len(users) > 0 {
		list := make([]authserver.User, len(users))
		for i, u := range users {
			list[i] = authserver.User{Username: u.Username, PasswordHash: u.PasswordHash, Claims: u.Claims}
		}
		return authserver.NewUserList(list)
	}
	if s.cfg.Environment == config.Production {
		return nil, config.Errors{{Path: "auth.local.users", Err: config.ErrInsecure,
			Msg: "orchestrated/local mode in production needs users (or a Go Authenticator): the demo login is for development only"}}
	}
	authn, password, err := authserver.NewDemoUser()
	if err != nil {
		return nil, err
	}
	// Printed on the terminal, never logged: a log pipeline keeps it.
	fmt.Fprintf(s.stderr, "\n  Demo login (development only): user %q, password %q\n  Set auth.local.users to replace it.\n\n", "demo", password)
	return authn, nil
}

// preRegisteredClients converts configured clients. A clientSecret written as
// "sha256:<hex>" is already a hash (token.Hash); anything else is the secret
// itself (typically from ${ENV}) and is hashed here.
func preRegisteredClients(in []config.Client) ([]*store.Client, error) {
	out := make([]*store.Client, len(in))
	for i, c := range in {
		method := string(c.TokenEndpointAuthMethod)
		if method == "" {
			method = string(config.AuthMethodNone)
			if c.ClientSecret != "" {
				method = string(config.AuthMethodClientSecretBasic)
			}
		}
		sc := &store.Client{
			ID:                      c.ClientID,
			Name:                    c.ClientID,
			RedirectURIs:            c.RedirectURIs,
			GrantTypes:              c.GrantTypes,
			ResponseTypes:           []string{"code"},
			TokenEndpointAuthMethod: method,
			Scopes:                  c.Scopes,
		}
		if c.ClientSecret != "" {
			if h, ok := strings.CutPrefix(c.ClientSecret, "sha256:"); ok {
				if _, err := hex.DecodeString(h); err != nil || len(h) != 64 {
					return nil, config.Errors{{Path: fmt.Sprintf("auth.clients[%d].clientSecret", i), Err: config.ErrValue,
						Msg: "a sha256: secret must be 64 hex digits (the SHA-256 of the secret)"}}
				}
				sc.SecretHash = strings.ToLower(h)
			} else {
				sc.SecretHash = token.Hash(c.ClientSecret)
			}
		}
		out[i] = sc
	}
	return out, nil
}
