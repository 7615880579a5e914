package resource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/internal/logging"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Verifier checks a bearer access token taken from the Authorization header
// and returns the principal it stands for. Each authentication mode supplies
// one: [LocalVerifier] for the embedded authorization server, a JWKS-based
// verifier for an external identity provider. The principal must have a
// non-empty Subject: go-sdk binds sessions to it.
//
// A token that must be refused yields an error wrapping [ErrInvalidToken]
// (use a [*TokenError] to give the client a description); the middleware
// answers 401 invalid_token. Any other error means the verifier could not
// decide (for example its store or key source is unreachable); the middleware
// answers 503 and logs it.
type Verifier interface {
	Verify(ctx context.Context, raw string) (*Principal, error)
}

// VerifierFunc adapts a function to [Verifier].
type VerifierFunc func(ctx context.Context, raw string) (*Principal, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, raw string) (*Principal, error) {
	return f(ctx, raw)
}

// Options configure a [Middleware]. Fields marked required must be set.
type Options struct {
	// Resource is the canonical URL of the protected MCP endpoint (RFC 8707
	// §2, RFC 9728 §2 "resource"), in the form grant.CanonicalResource
	// returns. Required.
	Resource string
	// MetadataURL is the absolute URL of this resource's protected resource
	// metadata document, sent as resource_metadata in every challenge (RFC
	// 9728 §5.1). Empty means the path-inserted well-known URL on the
	// resource's origin (see [MetadataPaths]).
	MetadataURL string
	// AuthorizationServers are the issuer URLs of the authorization servers
	// that issue tokens for this resource (RFC 9728 §2). Required.
	AuthorizationServers []string
	// ScopesSupported are the scopes this resource understands, advertised
	// in the metadata and in the scope parameter of a 401 challenge.
	ScopesSupported []string
	// ResourceName is a human-readable name for the metadata (RFC 9728 §2).
	ResourceName string
	// Verifier checks tokens. Required.
	Verifier Verifier
	// AllowAnonymous lets requests without any credentials through as the
	// anonymous principal (config auth.allowDefaultPublic). A request that
	// does present a bearer token must still present a valid one.
	AllowAnonymous bool
	// ToolScopes maps a tool name to the scopes a token must hold to call it
	// (config auth.toolScopes). More can be added with
	// [Middleware.RequireToolScopes]. When ScopesSupported is set, each scope
	// must be one of them.
	ToolScopes map[string][]string
	// MaxBodyBytes bounds how much of a POST body is read to find tools/call
	// requests when tool scopes are configured. It must be at least the
	// go-sdk handler's StreamableHTTPOptions.MaxRequestBodyBytes: a larger
	// body is refused with 413 rather than passed on unchecked. Zero means
	// mcp.DefaultMaxRequestBodyBytes, go-sdk's default.
	MaxBodyBytes int64
	// Logger receives one line per refused request (never a token; see
	// logging.Fingerprint). Nil discards.
	Logger *slog.Logger
}

// Middleware protects an MCP endpoint with bearer tokens (RFC 6750) and
// serves its protected resource metadata (RFC 9728). It is safe for concurrent
// use.
type Middleware struct {
	resource    string
	metadataURL string
	supported   []string
	verifier    Verifier
	anonymous   bool
	maxBody     int64
	log         *slog.Logger
	metadata    []byte

	mu     sync.Mutex                 // serialises writers of policy
	policy atomic.Pointer[toolPolicy] // read on every request
}

// toolPolicy is an immutable snapshot of the per-tool scopes.
type toolPolicy struct {
	tools map[string][]string
	// all is the union of every tool's scopes: a principal holding all of
	// them can call any tool, and its request bodies are not inspected.
	all []string
}

// New checks opts and returns a Middleware.
func New(opts *Options) (*Middleware, error) {
	if opts == nil {
		return nil, errors.New("resource: nil Options")
	}
	if opts.Resource == "" {
		return nil, errors.New("resource: Options.Resource is required")
	}
	canon, err := grant.CanonicalResource(opts.Resource)
	if err != nil {
		return nil, fmt.Errorf("resource: Options.Resource %q: %v", opts.Resource, err)
	}
	if canon != opts.Resource {
		return nil, fmt.Errorf("resource: Options.Resource %q is not canonical (want %q)", opts.Resource, canon)
	}
	if opts.Verifier == nil {
		return nil, errors.New("resource: Options.Verifier is required")
	}
	if len(opts.AuthorizationServers) == 0 {
		return nil, errors.New("resource: Options.AuthorizationServers is required")
	}
	for _, as := range opts.AuthorizationServers {
		if err := checkURL(as); err != nil {
			return nil, fmt.Errorf("resource: authorization server %q: %v", as, err)
		}
	}
	metadataURL := opts.MetadataURL
	if metadataURL == "" {
		if metadataURL, err = defaultMetadataURL(opts.Resource); err != nil {
			return nil, fmt.Errorf("resource: metadata URL: %v", err)
		}
	}
	if err := checkURL(metadataURL); err != nil {
		return nil, fmt.Errorf("resource: Options.MetadataURL %q: %v", metadataURL, err)
	}
	if !quotable(metadataURL) {
		return nil, fmt.Errorf("resource: Options.MetadataURL %q cannot be quoted in a challenge", metadataURL)
	}
	supported, err := checkScopes(opts.ScopesSupported)
	if err != nil {
		return nil, fmt.Errorf("resource: Options.ScopesSupported: %v", err)
	}
	if opts.MaxBodyBytes < 0 {
		return nil, errors.New("resource: Options.MaxBodyBytes is negative")
	}
	m := &Middleware{
		resource:    opts.Resource,
		metadataURL: metadataURL,
		supported:   supported,
		verifier:    opts.Verifier,
		anonymous:   opts.AllowAnonymous,
		maxBody:     opts.MaxBodyBytes,
		log:         opts.Logger,
	}
	if m.maxBody == 0 {
		m.maxBody = mcp.DefaultMaxRequestBodyBytes
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.metadata, err = json.Marshal(metadata{
		Resource:               opts.Resource,
		AuthorizationServers:   slices.Clone(opts.AuthorizationServers),
		ScopesSupported:        supported,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           opts.ResourceName,
	})
	if err != nil {
		return nil, fmt.Errorf("resource: metadata: %v", err)
	}
	policy := &toolPolicy{tools: map[string][]string{}}
	for _, tool := range slices.Sorted(maps.Keys(opts.ToolScopes)) {
		if policy, err = m.addToolScopes(policy, tool, opts.ToolScopes[tool]); err != nil {
			return nil, fmt.Errorf("resource: Options.ToolScopes: %v", err)
		}
	}
	m.policy.Store(policy)
	return m, nil
}

// checkURL accepts an absolute http or https URL without a fragment.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return errors.New("not an absolute http(s) URL without user information or fragment")
	}
	return nil
}

// quotable reports whether s can be a quoted-string in a challenge without
// escaping (RFC 9110 §5.6.4; RFC 6750 §3 restricts values to %x20-21 /
// %x23-5B / %x5D-7E).
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// checkScopes validates scope tokens (RFC 6749 §3.3) and removes duplicates.
func checkScopes(scopes []string) ([]string, error) {
	var out []string
	for _, s := range scopes {
		parsed, err := grant.ParseScope(s)
		if err != nil {
			return nil, err
		}
		if len(parsed) != 1 {
			return nil, fmt.Errorf("%q is not a single scope token", s)
		}
		if !slices.Contains(out, parsed[0]) {
			out = append(out, parsed[0])
		}
	}
	return out, nil
}

// addToolScopes returns a copy of p in which tool also requires scopes.
func (m *Middleware) addToolScopes(p *toolPolicy, tool string, scopes []string) (*toolPolicy, error) {
	if tool == "" {
		return nil, errors.New("empty tool name")
	}
	checked, err := checkScopes(scopes)
	if err != nil {
		return nil, fmt.Errorf("tool %q: %v", tool, err)
	}
	if len(m.supported) > 0 {
		for _, s := range checked {
			if !slices.Contains(m.supported, s) {
				return nil, fmt.Errorf("tool %q: scope %q is not one of the supported scopes", tool, s)
			}
		}
	}
	next := &toolPolicy{tools: make(map[string][]string, len(p.tools)+1), all: slices.Clone(p.all)}
	for k, v := range p.tools {
		next.tools[k] = v
	}
	merged := slices.Clone(p.tools[tool])
	for _, s := range checked {
		if !slices.Contains(merged, s) {
			merged = append(merged, s)
		}
		if !slices.Contains(next.all, s) {
			next.all = append(next.all, s)
		}
	}
	if len(merged) > 0 {
		next.tools[tool] = merged
	}
	return next, nil
}

// RequireToolScopes adds scopes that a token must hold to call tool; they are
// added to any already required (from Options.ToolScopes or earlier calls).
// It may be called while the middleware serves requests.
//
// It fails, changing nothing, if a scope is not a valid scope token or, when
// ScopesSupported is set, not one of them: such a policy could never be met.
func (m *Middleware) RequireToolScopes(tool string, scopes ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, err := m.addToolScopes(m.policy.Load(), tool, scopes)
	if err != nil {
		return fmt.Errorf("resource: RequireToolScopes: %w", err)
	}
	m.policy.Store(next)
	return nil
}

// baseScope is the scope parameter of a 401 challenge (MCP authorization,
// scope selection): the supported scopes that no tool policy gates. A client
// asks for those first and steps up with a 403 insufficient_scope when it
// calls a gated tool, so no token holds more than it needs.
func (m *Middleware) baseScope() string {
	gated := m.policy.Load().all
	var base []string
	for _, s := range m.supported {
		if !slices.Contains(gated, s) {
			base = append(base, s)
		}
	}
	return grant.FormatScope(base)
}

// ToolScopes returns the scopes required to call tool, or nil.
func (m *Middleware) ToolScopes(tool string) []string {
	return slices.Clone(m.policy.Load().tools[tool])
}

// Resource returns the canonical resource identifier the middleware protects.
func (m *Middleware) Resource() string { return m.resource }

// MetadataURL returns the resource_metadata URL sent in challenges.
func (m *Middleware) MetadataURL() string { return m.metadataURL }

type ctxPrincipalKey struct{}

// FromContext returns the verified principal of a request that passed the
// middleware, for plain HTTP handlers behind [Middleware.Wrap]; MCP handlers
// use [PrincipalOf]. It reports false for anonymous requests.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxPrincipalKey{}).(*Principal)
	return p, ok
}

// Wrap returns next protected by the middleware. next is normally go-sdk's
// mcp.StreamableHTTPHandler.
//
// For every request, in this order:
//
//  1. an access_token in the query string, or in a form-encoded body, is
//     refused with 400 invalid_request (RFC 6750 §2.2 and §2.3 are not
//     supported);
//  2. several Authorization headers, or a Bearer header that is not exactly
//     one b64token (RFC 6750 §2.1), are refused with 400 invalid_request;
//  3. no Bearer credentials: 401 with a challenge naming resource_metadata
//     and the supported scopes (RFC 6750 §3, RFC 9728 §5.1), unless
//     AllowAnonymous, in which case the request goes on without a principal;
//  4. the token is verified: a refused token gets 401 invalid_token;
//  5. on POST, when tools have required scopes the principal lacks, the
//     JSON-RPC body (one message or a batch) is read and each tools/call is
//     checked: a missing scope gets 403 insufficient_scope (401 for an
//     anonymous request) naming the scopes to ask for; the body is then
//     restored byte for byte;
//  6. the principal is handed to go-sdk through auth.RequireBearerToken, so
//     sessions are bound to its subject and handlers see it in
//     RequestExtra.TokenInfo; the Authorization and Cookie headers are
//     removed before next sees the request.
//
// CORS preflight requests carry no credentials; answer them before Wrap.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	verified := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// r's header is the copy serve made for this request: take the
		// placeholder credentials out of it.
		delete(r.Header, "Authorization")
		if p, ok := FromContext(r.Context()); ok {
			// See passPrincipal: restore the expiry the inner middleware
			// was not asked to judge.
			if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
				ti.Expiration = p.ExpiresAt
			}
		}
		next.ServeHTTP(w, r)
	})
	inner := auth.RequireBearerToken(passPrincipal, &auth.RequireBearerTokenOptions{
		ResourceMetadataURL:    m.metadataURL,
		AllowMissingExpiration: true,
	})(verified)
	anonymous := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, withoutCredentials(r))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.serve(w, r, inner, anonymous)
	})
}

// placeholderAuthorization stands for the verified token in the request
// handed to auth.RequireBearerToken, which needs a Bearer header to call
// passPrincipal but not the token: the principal travels in the context.
// Lowercase and short, go-sdk parses it without allocating.
const placeholderAuthorization = "bearer -"

// placeholderValues is the placeholder header's value list, shared by every
// request: nothing writes to it, and it is removed before next runs.
var placeholderValues = []string{placeholderAuthorization}

// verifiedRequest returns the request passed on for principal p: one
// shallow copy of r carrying p in its context, with its own header in which
// the Cookie header is removed and the Authorization header is the
// placeholder (removed in turn after auth.RequireBearerToken).
func verifiedRequest(r *http.Request, p *Principal) *http.Request {
	h := make(http.Header, len(r.Header))
	for k, v := range r.Header {
		if k != "Authorization" && k != "Cookie" {
			h[k] = v
		}
	}
	h["Authorization"] = placeholderValues
	r2 := r.WithContext(context.WithValue(r.Context(), ctxPrincipalKey{}, p))
	r2.Header = h
	return r2
}

// passPrincipal is the TokenVerifier of the inner auth.RequireBearerToken:
// the token has been verified already, and the principal travels in the
// context. The expiry is left out so that RequireBearerToken, which reads the
// wall clock, does not judge it a second time with another clock and no
// leeway; the handler after it puts the expiry back.
func passPrincipal(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	ti := p.TokenInfo()
	ti.Expiration = time.Time{}
	return ti, nil
}

// withoutCredentials returns r without its Authorization and Cookie headers,
// so that handlers cannot read or forward the caller's credentials.
func withoutCredentials(r *http.Request) *http.Request {
	_, hasAuth := r.Header["Authorization"]
	_, hasCookie := r.Header["Cookie"]
	if !hasAuth && !hasCookie {
		return r
	}
	h := make(http.Header, len(r.Header))
	for k, v := range r.Header {
		if k != "Authorization" && k != "Cookie" {
			h[k] = v
		}
	}
	r2 := r.WithContext(r.Context()) // a shallow copy
	r2.Header = h
	return r2
}

func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, inner, anonymous http.Handler) {
	if r.URL.RawQuery != "" && hasAccessTokenParam(r.URL.RawQuery) {
		m.refuse(w, r, http.StatusBadRequest, grant.CodeInvalidRequest,
			"access tokens are accepted only in the Authorization header", "", nil)
		return
	}
	if r.Method == http.MethodPost && isForm(r.Header.Get("Content-Type")) {
		found, err := m.formHasAccessToken(r)
		if err != nil {
			m.refuseBody(w, r, err)
			return
		}
		if found {
			m.refuse(w, r, http.StatusBadRequest, grant.CodeInvalidRequest,
				"access tokens are accepted only in the Authorization header", "", nil)
			return
		}
	}

	values := r.Header.Values("Authorization")
	if len(values) > 1 {
		m.refuse(w, r, http.StatusBadRequest, grant.CodeInvalidRequest,
			"more than one Authorization header", "", nil)
		return
	}
	if len(values) == 0 || !isBearerScheme(values[0]) {
		// RFC 6750 §3: no authentication information, or an unsupported
		// scheme: a challenge without an error code.
		if !m.anonymous {
			m.refuse(w, r, http.StatusUnauthorized, "", "", m.baseScope(), nil)
			return
		}
		if required := m.missingToolScopes(w, r, nil); required != nil {
			if len(required) > 0 {
				m.refuse(w, r, http.StatusUnauthorized, "", "", grant.FormatScope(required), nil)
			}
			return
		}
		anonymous.ServeHTTP(w, r)
		return
	}
	raw, ok := grant.ParseBearer(values[0])
	if !ok {
		m.refuse(w, r, http.StatusBadRequest, grant.CodeInvalidRequest,
			"the Authorization header is not a single Bearer token", "", nil)
		return
	}

	p, err := m.verifier.Verify(r.Context(), raw)
	switch {
	case err == nil && (p == nil || p.Subject == ""):
		err = invalidToken("the access token has no subject", nil)
		fallthrough
	case errors.Is(err, ErrInvalidToken):
		desc := "the access token is invalid"
		var te *TokenError
		if errors.As(err, &te) && te.Description != "" {
			desc = te.Description
		}
		m.refuse(w, r, http.StatusUnauthorized, grant.CodeInvalidToken, desc, "",
			[]slog.Attr{slog.String("token_fingerprint", logging.Fingerprint(raw)), slog.String("reason", err.Error())})
		return
	case err != nil:
		m.log.LogAttrs(r.Context(), slog.LevelError, "bearer token verification failed",
			slog.String("token_fingerprint", logging.Fingerprint(raw)), slog.String("error", err.Error()))
		writeError(w, http.StatusServiceUnavailable, grant.CodeTemporarilyUnavailable,
			"the token could not be verified; retry later")
		return
	}

	if required := m.missingToolScopes(w, r, p); required != nil {
		if len(required) > 0 {
			m.refuse(w, r, http.StatusForbidden, grant.CodeInsufficientScope,
				"the access token lacks scopes this tool requires", stepUpScope(p.Scopes, required),
				[]slog.Attr{slog.String("sub", p.Subject), slog.String("client_id", p.ClientID)})
		}
		return
	}
	inner.ServeHTTP(w, verifiedRequest(r, p))
}

// stepUpScope is the scope parameter of an insufficient_scope challenge: the
// scopes already granted followed by the missing ones. The MCP authorization
// specification (scope challenge handling) recommends naming both, so that the
// client's new authorization request does not lose the scopes it has.
func stepUpScope(granted, required []string) string {
	out := slices.Clone(granted)
	for _, s := range required {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return grant.FormatScope(out)
}

// missingToolScopes checks the tools/call requests in a POST body against the
// scopes of p (nil: anonymous, no scopes). It returns nil when the request may
// go on, the missing scopes when it may not, and an empty non-nil slice when
// it has already answered the request (the body could not be read).
func (m *Middleware) missingToolScopes(w http.ResponseWriter, r *http.Request, p *Principal) []string {
	if r.Method != http.MethodPost {
		return nil
	}
	policy := m.policy.Load()
	if len(policy.all) == 0 {
		return nil
	}
	var have []string
	if p != nil {
		have = p.Scopes
	}
	if containsAll(have, policy.all) {
		return nil
	}
	body, err := m.readBody(r)
	if err != nil {
		m.refuseBody(w, r, err)
		return []string{}
	}
	names, ok := toolCalls(body)
	if !ok {
		return nil // go-sdk answers the malformed body
	}
	var missing []string
	for _, name := range names {
		for _, s := range policy.tools[name] {
			if !slices.Contains(have, s) && !slices.Contains(missing, s) {
				missing = append(missing, s)
			}
		}
	}
	return missing
}

func containsAll(have, want []string) bool {
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

// errBodyTooLarge reports a body over Options.MaxBodyBytes.
var errBodyTooLarge = errors.New("resource: request body too large")

// readBody reads r's body up to the limit and puts an identical body back,
// so that the next handler reads the same bytes.
func (m *Middleware) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= m.maxBody {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, m.maxBody+1))
	body := buf.Bytes()
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > m.maxBody {
		return nil, errBodyTooLarge
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// refuseBody answers a request whose body could not be read.
func (m *Middleware) refuseBody(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errBodyTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, grant.CodeInvalidRequest,
			fmt.Sprintf("the request body exceeds %d bytes", m.maxBody))
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, grant.CodeInvalidRequest,
			fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit))
		return
	}
	m.log.LogAttrs(r.Context(), slog.LevelDebug, "reading request body failed", slog.String("error", err.Error()))
	writeError(w, http.StatusBadRequest, grant.CodeInvalidRequest, "the request body could not be read")
}

// hasAccessTokenParam reports whether a query string carries access_token
// (RFC 6750 §2.3), however it is escaped.
func hasAccessTokenParam(rawQuery string) bool {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, _, _ := strings.Cut(kv, "=")
		if k == "access_token" {
			return true
		}
		if strings.ContainsAny(k, "%+") {
			if u, err := url.QueryUnescape(k); err == nil && u == "access_token" {
				return true
			}
		}
	}
	return false
}

func isForm(contentType string) bool {
	// mime.ParseMediaType lowercases and trims the media type before the
	// first ';'. An ASCII one that does not fold to the form type is not
	// one, and needs no parsing (MCP requests are application/json).
	base, _, _ := strings.Cut(contentType, ";")
	if isASCII(base) && !strings.EqualFold(strings.TrimSpace(base), "application/x-www-form-urlencoded") {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// formHasAccessToken reads a form-encoded body (restoring it) and reports
// whether it carries access_token (RFC 6750 §2.2).
func (m *Middleware) formHasAccessToken(r *http.Request) (bool, error) {
	body, err := m.readBody(r)
	if err != nil {
		return false, err
	}
	return hasAccessTokenParam(string(body)), nil
}

// isBearerScheme reports whether an Authorization value uses the Bearer
// scheme (case-insensitive, RFC 9110 §11.1), well-formed or not.
func isBearerScheme(v string) bool {
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return false
	}
	return len(v) == len(scheme) || v[len(scheme)] == ' ' || v[len(scheme)] == '\t'
}

// refuse answers with a Bearer challenge (RFC 6750 §3) carrying
// resource_metadata (RFC 9728 §5.1) and a JSON body. code is empty for a
// request without credentials.
func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, status int, code, desc, scope string, attrs []slog.Attr) {
	w.Header().Set("WWW-Authenticate", m.challenge(code, desc, scope))
	level := slog.LevelInfo
	if code == "" {
		level = slog.LevelDebug
	}
	attrs = append(attrs, slog.Int("status", status), slog.String("error", code), slog.String("description", desc))
	m.log.LogAttrs(r.Context(), level, "request refused", attrs...)
	bodyCode, bodyDesc := code, desc
	if code == "" {
		// RFC 6750 §3.1 keeps the error code out of the challenge of a
		// request that had no credentials; the body still says why.
		bodyCode, bodyDesc = grant.CodeInvalidToken, "a bearer token is required"
	}
	writeError(w, status, bodyCode, bodyDesc)
}

// challenge builds a WWW-Authenticate value: Bearer with error,
// error_description, scope and resource_metadata, each when present.
func (m *Middleware) challenge(code, desc, scope string) string {
	var b strings.Builder
	b.WriteString("Bearer ")
	param := func(name, value string) {
		if value == "" {
			return
		}
		if b.Len() > len("Bearer ") {
			b.WriteString(", ")
		}
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(value)
		b.WriteByte('"')
	}
	if code != "" {
		param("error", code)
		// grant.Errorf replaces the characters RFC 6750 §3 forbids.
		param("error_description", grant.Errorf(code, "%s", desc).Description)
	}
	param("scope", scope)
	param("resource_metadata", m.metadataURL)
	return b.String()
}

// writeError writes an OAuth error body (RFC 6750 §3, RFC 6749 §5.2).
func writeError(w http.ResponseWriter, status int, code, desc string) {
	body, _ := json.Marshal(grant.Errorf(code, "%s", desc))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
