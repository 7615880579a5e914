// Package rebind protects the server against DNS-rebinding and cross-origin
// requests by checking the Host and Origin headers.
//
// The MCP transport specification (2025-06-18 and 2025-11-25, "Security
// Warning" under Streamable HTTP) requires servers to validate Origin on every
// incoming connection; a rebinding attack also shows up as a Host the server
// does not serve. go-sdk rejects non-localhost Hosts on connections that arrive
// on a loopback address; this guard applies the same rule to every listener
// address with the server's own names.
package rebind

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Options list what is allowed besides the defaults.
type Options struct {
	// PublicURL is the server's public base URL. Its host is an allowed Host
	// and its origin an allowed Origin.
	PublicURL string
	// Hosts are more allowed Host header values (host names, with or without
	// port; a port-less entry allows any port).
	Hosts []string
	// Origins are more allowed Origin values ("https://app.example").
	Origins []string
}

// Guard checks requests' Host and Origin headers.
type Guard struct {
	hosts          map[string]bool // lower-case host names (no port)
	hostPorts      map[string]bool // lower-case host:port
	origins        map[string]bool
	loopbackOrigin bool // loopback origins allowed (the server itself is local)
}

// New builds a guard. Loopback host names (localhost, 127.0.0.1, ::1) are always
// allowed as Host; loopback Origins are allowed only when the public URL is
// itself on loopback, so a deployed server does not trust local web pages.
func New(opts Options) *Guard {
	g := &Guard{
		hosts:     map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true},
		hostPorts: map[string]bool{},
		origins:   map[string]bool{},
	}
	if u, err := url.Parse(opts.PublicURL); err == nil && u.Host != "" {
		g.hostPorts[strings.ToLower(u.Host)] = true
		if u.Port() == "" {
			g.hosts[strings.ToLower(u.Hostname())] = true
		}
		g.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
		g.loopbackOrigin = isLoopbackName(u.Hostname())
	}
	for _, h := range opts.Hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, _, err := net.SplitHostPort(h); err == nil {
			g.hostPorts[h] = true
		} else {
			g.hosts[strings.Trim(h, "[]")] = true
		}
	}
	for _, o := range opts.Origins {
		g.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return g
}

// AllowHost reports whether a Host header value is one this server serves.
func (g *Guard) AllowHost(host string) bool {
	host = strings.ToLower(host)
	if g.hostPorts[host] {
		return true
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	return g.hosts[strings.Trim(name, "[]")]
}

// AllowOrigin reports whether an Origin header value may call the server.
// An absent Origin (non-browser clients) is allowed.
func (g *Guard) AllowOrigin(origin string) bool {
	if origin == "" {
		return true
	}
	origin = strings.ToLower(origin)
	if g.origins[origin] {
		return true
	}
	if !g.loopbackOrigin {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" {
		return false
	}
	return isLoopbackName(u.Hostname())
}

// Hosts wraps h so that requests with a Host this server does not serve get
// 403 Forbidden: the answer to a DNS-rebinding attempt.
func (g *Guard) Hosts(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.AllowHost(r.Host) {
			http.Error(w, "Forbidden: Host header not allowed", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Origins wraps h so that browser requests from origins not allowed get 403.
// Requests from allowed origins get CORS headers (Fetch standard), so that
// browser-based MCP clients can read responses, the WWW-Authenticate challenge
// and Mcp-Session-Id; their preflight requests are answered here, before any
// authentication, since preflights never carry credentials.
func (g *Guard) Origins(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if !g.AllowOrigin(origin) {
			http.Error(w, "Forbidden: Origin not allowed", http.StatusForbidden)
			return
		}
		if origin != "" {
			hdr := w.Header()
			hdr.Set("Access-Control-Allow-Origin", origin)
			hdr.Add("Vary", "Origin")
			hdr.Set("Access-Control-Expose-Headers", "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				hdr.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID")
				hdr.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func isLoopbackName(h string) bool {
	h = strings.Trim(strings.ToLower(h), "[]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
