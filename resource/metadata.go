package resource

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// WellKnownPath is the well-known URI suffix of protected resource metadata
// (RFC 9728 §3).
const WellKnownPath = "/.well-known/oauth-protected-resource"

// MetadataCacheControl is the Cache-Control of the metadata document. The
// document is public, the same for every caller and changes only when the
// server is reconfigured, so clients and shared caches may keep it; five
// minutes bounds how long a client keeps using a changed authorization server
// or scope list, while sparing the discovery round trip on every reconnect.
const MetadataCacheControl = "public, max-age=300"

// metadata is the protected resource metadata document (RFC 9728 §2).
type metadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

// MetadataPaths returns the paths at which the protected resource metadata of
// resource is served, most specific first:
//
//   - the path-inserted well-known URI of RFC 9728 §3.1: WellKnownPath followed
//     by the resource's path ("/.well-known/oauth-protected-resource/mcp" for
//     https://example.com/mcp), which clients try first;
//   - WellKnownPath itself, at the root, which clients try next.
//
// For a resource without a path (or with "/") both are the same, and one path
// is returned. A query in the resource is not part of a path and is ignored.
// A resource that is not an absolute URL yields the root path only.
func MetadataPaths(resource string) []string {
	u, err := url.Parse(resource)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return []string{WellKnownPath}
	}
	p := u.EscapedPath()
	if p == "" || p == "/" {
		return []string{WellKnownPath}
	}
	return []string{WellKnownPath + p, WellKnownPath}
}

// defaultMetadataURL is the URL of the path-inserted metadata document of
// resource, an absolute URL (RFC 9728 §3.1).
func defaultMetadataURL(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil {
		return "", err
	}
	m := &url.URL{Scheme: u.Scheme, Host: u.Host}
	p := MetadataPaths(resource)[0]
	m.RawPath = p
	m.Path, err = url.PathUnescape(p)
	if err != nil {
		return "", err
	}
	return m.String(), nil
}

// MetadataHandler serves the protected resource metadata document (RFC 9728
// §3.2): resource, authorization_servers, scopes_supported,
// bearer_methods_supported ["header"] and resource_name when set.
//
// It answers GET and HEAD with the document, and OPTIONS (a CORS preflight)
// with 204; other methods get 405. Every response allows any origin, as the
// document is public and browser-based MCP clients fetch it cross-origin; it
// never reads cookies. See [MetadataCacheControl] for the caching policy.
// Mount it at each path of [MetadataPaths].
func (m *Middleware) MetadataHandler() http.Handler {
	body := m.metadata
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodOptions:
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
			h.Set("Access-Control-Allow-Headers", allowedRequestHeaders(r))
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			h.Set("Allow", "GET, HEAD, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", MetadataCacheControl)
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(body)
		}
	})
}

// allowedRequestHeaders answers a preflight's Access-Control-Request-Headers.
// The document needs no request headers, but clients commonly send
// MCP-Protocol-Version or Content-Type; any header is harmless on a public
// GET, so the request is echoed when it is a plain token list.
func allowedRequestHeaders(r *http.Request) string {
	req := r.Header.Get("Access-Control-Request-Headers")
	for _, c := range []byte(req) {
		if !(c == ',' || c == ' ' || c == '-' || c == '_' || c == '.' ||
			(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return "Content-Type"
		}
	}
	if strings.TrimSpace(req) == "" {
		return "Content-Type"
	}
	return req
}
