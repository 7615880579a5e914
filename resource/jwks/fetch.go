package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/frontmcp-go/frontmcp/internal/httpcache"
	"github.com/frontmcp-go/frontmcp/token"
)

// fetch discovers the key set's URL when needed and fetches the set. It runs
// inside a flight, so it alone reads and writes s.jwksURI.
func (s *Set) fetch(ctx context.Context) (*token.Verifier, time.Duration, error) {
	if s.jwksURI == "" {
		u, err := s.discover(ctx)
		if err != nil {
			return nil, 0, err
		}
		s.jwksURI = u
	}
	body, header, status, err := s.httpGet(ctx, s.jwksURI, "application/jwk-set+json, application/json")
	if err != nil {
		return nil, 0, err
	}
	if status != http.StatusOK {
		if s.configured == "" && (status == http.StatusNotFound || status == http.StatusGone) {
			// The provider may have moved its keys: discover again next time.
			s.jwksURI = ""
		}
		return nil, 0, fmt.Errorf("%w: GET %s: status %d", ErrFetch, s.jwksURIOr(), status)
	}
	v, skipped, err := Parse(body)
	for _, sk := range skipped {
		s.count(cKeysSkipped)
		s.log.Warn("jwks key left out", "issuer", s.issuer, "jwks_uri", s.jwksURI, "kid", sk.KeyID, "reason", sk.Reason)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrFetch, s.jwksURI, err)
	}
	return v, s.lifetime(header), nil
}

func (s *Set) jwksURIOr() string {
	if s.jwksURI == "" {
		return "(discovered jwks_uri)"
	}
	return s.jwksURI
}

// DiscoveryURLs returns the metadata URLs tried for issuer, in order:
//
//   - {issuer}/.well-known/openid-configuration (OpenID Connect Discovery
//     1.0 §4.1), which the identity providers transparent mode is used with
//     all serve;
//   - /.well-known/oauth-authorization-server on the issuer's origin, with
//     the issuer's path appended (the path-inserted form of RFC 8414 §3.1);
//   - for an issuer with a path, /.well-known/openid-configuration with the
//     path appended (the path-inserted OpenID form the MCP authorization
//     specification also tries).
func DiscoveryURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("issuer %q is not an absolute URL without query or fragment", issuer)
	}
	origin := u.Scheme + "://" + u.Host
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	urls := []string{
		origin + path + "/.well-known/openid-configuration",
		origin + "/.well-known/oauth-authorization-server" + path,
	}
	if path != "" {
		urls = append(urls, origin+"/.well-known/openid-configuration"+path)
	}
	return urls, nil
}

// discover returns the jwks_uri of the first metadata document, in
// [DiscoveryURLs] order, that names s.issuer as its issuer (RFC 8414 §3.3,
// OpenID Connect Discovery 1.0 §4.3) and a usable jwks_uri.
func (s *Set) discover(ctx context.Context) (string, error) {
	candidates, err := DiscoveryURLs(s.issuer)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrDiscovery, err)
	}
	var problems []string
	for _, c := range candidates {
		body, _, status, err := s.httpGet(ctx, c, "application/json")
		if err != nil {
			// The provider is unreachable: the other URLs would fail too.
			return "", fmt.Errorf("%w: %w", ErrDiscovery, err)
		}
		if status != http.StatusOK {
			problems = append(problems, fmt.Sprintf("%s: status %d", c, status))
			continue
		}
		var meta struct {
			Issuer  *string `json:"issuer"`
			JWKSURI *string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &meta); err != nil {
			problems = append(problems, fmt.Sprintf("%s: not a JSON object", c))
			continue
		}
		switch {
		case meta.Issuer == nil || *meta.Issuer != s.issuer:
			problems = append(problems, fmt.Sprintf("%s: issuer %s, want %q", c, quoteOrAbsent(meta.Issuer), s.issuer))
			continue
		case meta.JWKSURI == nil || *meta.JWKSURI == "":
			problems = append(problems, fmt.Sprintf("%s: no jwks_uri", c))
			continue
		}
		if err := s.checkURL(*meta.JWKSURI); err != nil {
			problems = append(problems, fmt.Sprintf("%s: jwks_uri: %v", c, err))
			continue
		}
		return *meta.JWKSURI, nil
	}
	return "", fmt.Errorf("%w for issuer %q: %s", ErrDiscovery, s.issuer, strings.Join(problems, "; "))
}

func quoteOrAbsent(s *string) string {
	if s == nil {
		return "absent"
	}
	return strconv.Quote(*s)
}

// errTooLarge is wrapped when a body exceeds MaxBytes.
var errTooLarge = errors.New("body too large")

// httpGet fetches rawURL and returns the body of a 200 response (bounded by
// MaxBytes), the response header and the status. err is set for transport
// failures, refused redirects, oversized bodies and http URLs under
// RequireHTTPS; other statuses are the caller's to judge.
func (s *Set) httpGet(ctx context.Context, rawURL, accept string) ([]byte, http.Header, int, error) {
	if err := s.checkURL(rawURL); err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", accept)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; the rest is dropped.
		io.CopyN(io.Discard, resp.Body, 4<<10)
		return nil, resp.Header, resp.StatusCode, nil
	}
	if resp.ContentLength > s.maxBytes {
		return nil, nil, 0, fmt.Errorf("%w: GET %s: %w (%d bytes, limit %d)", ErrFetch, rawURL, errTooLarge, resp.ContentLength, s.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBytes+1))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: GET %s: %w", ErrFetch, rawURL, err)
	}
	if int64(len(body)) > s.maxBytes {
		return nil, nil, 0, fmt.Errorf("%w: GET %s: %w (limit %d bytes)", ErrFetch, rawURL, errTooLarge, s.maxBytes)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && !isJSONMediaType(mt) {
			return nil, nil, 0, fmt.Errorf("%w: GET %s: Content-Type %q is not JSON", ErrFetch, rawURL, mt)
		}
	}
	return body, resp.Header, resp.StatusCode, nil
}

// isJSONMediaType accepts application/json and the +json structured
// syntax suffix (RFC 6839 §3.1), such as application/jwk-set+json, and
// text/plain, which some providers send.
func isJSONMediaType(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) || mt == "text/plain"
}

// lifetime returns how long a key set fetched with header h is used: its
// Cache-Control max-age (RFC 9111 §5.2.2.1) less its Age (§5.1), clamped to
// [MinRefresh, MaxAge]. no-store and no-cache mean MinRefresh; no max-age
// means MaxAge.
func (s *Set) lifetime(h http.Header) time.Duration {
	maxAge, ok := httpcache.MaxAge(h)
	if !ok {
		return s.maxAge
	}
	return min(max(maxAge, s.minRefresh), s.maxAge)
}
