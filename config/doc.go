// Package config is the configuration of a frontmcp server: one typed
// struct shared by "frontmcp serve" (from a YAML file and the environment)
// and by Go programs calling frontmcp.New.
//
// It exists so that every option either works or is rejected at load time
// with the key's path and line: unknown keys, wrong types, bad values and
// options that are not implemented yet all fail, and in production so do
// insecure settings. Nothing parsed is silently ignored.
//
// # Loading
//
// Load(path, nil) builds the effective configuration in this order:
//
//  1. The environment is resolved: FRONTMCP_ENV, else the file's
//     "environment", else development. Only the exact values development,
//     staging and production are accepted.
//  2. Defaults for that environment (Default), then LoadOptions.Defaults
//     when a program sets it.
//  3. The YAML file, decoded strictly.
//  4. Environment fallbacks for keys the file leaves unset.
//  5. Validate.
//
// An empty path skips the file. Every problem found is returned at once as
// Errors; each *Error names the dotted key path and the file line, and
// wraps a sentinel (ErrUnknownKey, ErrType, ErrNotImplemented, ErrInsecure,
// …) for errors.Is:
//
//	auth.tokenStorage.confg: unknown key; did you mean "config"? (line 7)
//	http.port: expected an integer, got "abc" (line 3)
//	auth.mode: invalid value "oauth" (allowed: public, transparent, orchestrated) (line 5)
//
// # Values
//
// Keys are camelCase. Scalars may reference the environment: ${VAR} is
// replaced by the variable (unset is an error), ${VAR:-default} falls back
// to default when VAR is unset or empty, and $$ is a literal $. A $ followed
// by anything else is kept. Keys are never expanded. For every variable,
// when VAR is unset and VAR_FILE is set, the value is read from the file
// VAR_FILE names, minus one trailing newline (Docker and Kubernetes
// secrets); setting both is an error. Inside flow collections ([a, b] or
// {k: v}) quote a value holding ${...}, since { is YAML syntax there.
//
// Durations (accessTokenTtl, clockLeeway, …) are an integer number of
// seconds (accessTokenTtl: 900) or a Go duration string ("15m", "168h").
// Negative durations are rejected. Keys given an empty value (key: or
// key: ~) keep their default.
//
// # Schema
//
//	info:        {name: frontmcp, version: 0.0.0}
//	environment: development | staging | production
//	http:
//	  host: 127.0.0.1
//	  port: 3001              # 0 picks a free port
//	  publicUrl: ""           # default http://{host}:{port}; https in production
//	  mcpPath: /mcp
//	  allowedHosts: []        # extra Host values (DNS rebinding protection)
//	  allowedOrigins: []      # extra Origin values for browser clients
//	auth:
//	  mode: public | transparent | orchestrated   # default orchestrated; none in production
//	  type: local | remote    # orchestrated only; default local
//	  sessionMode: stateful | stateless
//	  session: {idleTimeout: 30m, absoluteTimeout: 24h}   # stateful only; kept in tokenStorage
//	  tokenStorage:
//	    type: memory | file | redis           # default file
//	    config: {path: .frontmcp/store.db}    # file
//	    # redis: host, port, password, username, db, tls (bool or
//	    # {caFile, certFile, keyFile, serverName, insecureSkipVerify}),
//	    # keyPrefix, url, masterName, sentinelAddrs, clusterAddrs,
//	    # poolSize, dialTimeout, readTimeout, writeTimeout
//	    # (keyPrefix default "frontmcp:", without braces; see docs/deployment.md)
//	  local:
//	    users: [{username, passwordHash, claims}]   # bcrypt or argon2id hashes
//	    signKey: unset        # private JWK; unset: generated ES256 keys kept in the store
//	    verifyKeys: []        # more JWKs published and accepted, never signing
//	    keyRotationDays: 0    # rotate generated keys every N days; 0 = off
//	    maxKeys: 3            # at most this many generated keys published
//	  provider: ""            # transparent and remote: the identity provider's issuer URL
//	  expectedAudience: ""    # transparent: required "aud" of access tokens; remote: resource indicator sent upstream
//	  transparent: {additionalIssuers, requiredScopes, jwksUri, jwks, requireTyp, clockLeeway, jwksCacheTtl: {min, max, stale}}
//	  remote: {clientId, clientSecret, scopes, authorizationEndpoint, tokenEndpoint, subjectClaim, allowMutableSubjectClaim, copyClaims}
//	                          # remote: redirect URI {publicUrl}/oauth/upstream/callback; needs vault.key
//	  refresh: {enabled, accessTokenTtl, refreshTokenTtl, rotateRefreshToken, reuseGraceSeconds, skewSeconds, absoluteLifetime}
//	  consent: {enabled}
//	  allowDefaultPublic: false
//	  dcrEnabled: true        # false in production
//	  dcr: {allowedRedirectUris, initialAccessToken, maxClients}
//	  cimd: {enabled, allowedDomains, allowLoopbackHttp, cacheTtl: {min, max}}
//	  clients: [{clientId, clientSecret, redirectUris, tokenEndpointAuthMethod, grantTypes, scopes}]
//	  scopes: []              # offered scopes (scopes_supported)
//	  toolScopes: {}          # tool name: [scopes a token needs to call it]
//	  vault: {key, previousKeys}
//	logging:
//	  level: debug | info | warn | error
//	  format: text | json
//	  redact: []              # added to the built-in list
//
// The keys allowed under tokenStorage.config depend on tokenStorage.type; a
// Redis key under type file is an unknown key. The field documentation of
// Config and its parts gives each default; token lifetimes follow the
// production checklist: access tokens 1h in development, 30m in staging,
// 15m in production; refresh tokens 7 days; grants at most 30 days.
//
// Scopes named by a client (clients[].scopes) or a tool (toolScopes) must
// be among auth.scopes. Client grantTypes are authorization_code and
// refresh_token. A passwordHash is a complete bcrypt hash ($2b$, 60
// characters) or an argon2id hash in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash); a user's claims cannot
// replace the claims the server sets (iss, sub, aud, exp, iat, nbf, jti,
// client_id, scope). type applies to mode orchestrated only; in the
// effective configuration of another mode it is empty.
//
// Mode transparent (see docs/transparent.md) needs expectedAudience in every
// environment, and provider unless transparent.jwksUri or transparent.jwks
// gives the keys (then additionalIssuers names the accepted issuers; jwksUri
// and jwks exclude each other). requiredScopes must be among auth.scopes
// when that is set; jwksCacheTtl.min (the fetch rate limit) and max must be
// positive, min at most max; stale 0 turns stale keys off. provider,
// expectedAudience and the transparent section are refused in modes that do
// not use them.
//
// # Signing keys
//
// In mode orchestrated the server signs its access tokens. Without
// auth.local.signKey it generates an ES256 key and keeps it in the token
// store, so a restart and every instance on the same file or Redis store
// use the same keys (memory storage keeps them only while the process
// runs). keyRotationDays above 0 rotates generated keys on that schedule,
// with at most maxKeys (at least 2 then) published in the JWKS. signKey,
// or JWT_SIGNING_KEY (or JWT_SIGNING_KEY_FILE), sets the key instead: a
// private JWK written as a JSON string or a YAML mapping, of kty EC (P-256,
// P-384, P-521), OKP (Ed25519) or RSA (at least 2048 bits), with an
// optional alg that must fit it ("frontmcp keys generate" prints one). It
// is checked at load time and a bad key is refused with the problem named:
//
//	auth.local.signKey: the JWK has no private part ("d"): this is a public key (line 12)
//
// A configured key is rotated by hand, so keyRotationDays with signKey is
// refused: move the old key to verifyKeys (public or private JWKs,
// published and accepted for verification, never used to sign) and set a
// new signKey. Redacted never shows private key material.
//
// # Environment fallbacks
//
// These variables fill a key only when the file does not set it and only
// when that part of the configuration is in use; Sources reports which
// values came from the environment:
//
//	REDIS_HOST, REDIS_PORT, REDIS_PASSWORD  auth.tokenStorage.config.{host,port,password}   tokenStorage.type redis
//	JWT_SIGNING_KEY (a JSON JWK)            auth.local.signKey                                mode orchestrated, type local
//	IDP_PROVIDER_URL                        auth.provider                                     mode transparent, or orchestrated + remote
//	IDP_EXPECTED_AUDIENCE                   auth.expectedAudience                             mode transparent, or orchestrated + remote
//	IDP_CLIENT_ID, IDP_CLIENT_SECRET        auth.remote.{clientId,clientSecret}               mode orchestrated, type remote
//	VAULT_KEY                               auth.vault.key                                    mode orchestrated
//
// # Not implemented yet
//
// The whole schema is defined and every part of it works. The mechanism
// that refuses parts not implemented yet stays for future additions: a key
// tagged planned:"true" in the struct definitions, or a value listed in
// plannedValues (planned.go), present in the file (even with its default
// value) or filled by a fallback fails with
//
//	auth.example: not implemented yet (line 9)
//
// Validate applies the same rule to configs built in Go, comparing planned
// options to their defaults, and so does Load for LoadOptions.Defaults.
//
// # Production
//
// With environment production, Validate also refuses, saying why and what
// to do: a missing auth.mode (production must choose), memory token storage,
// a publicUrl that is not https (including the http default), Redis TLS
// insecureSkipVerify (or skip_verify in its url), Redis without TLS to
// another host, refresh without
// rotation, allowDefaultPublic, dcrEnabled without the consent page (in
// orchestrated mode), client redirect URIs and auth.dcr.allowedRedirectUris
// patterns other than https or http on a loopback host (custom schemes), DCR
// host wildcards with fewer than two literal labels, client secrets and the
// DCR initial access token shorter than 32 characters, bcrypt password hashes of cost below 10, transparent mode
// without expectedAudience, and http URLs for the identity provider and its
// endpoints.
//
// # Output
//
// Redacted renders the effective configuration as YAML with secrets
// replaced by short SHA-256 fingerprints, for "frontmcp config check".
// MCPURL and ListenAddr give the canonical MCP endpoint URL and the listen
// address.
package config
