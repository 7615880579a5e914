package authserver

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/frontmcp-go/frontmcp/authserver/grant"
	"github.com/frontmcp-go/frontmcp/token"
)

// The pages are server-rendered HTML (html/template escapes every value),
// styled by one <style> block that the Content-Security-Policy admits by a
// per-response nonce. They contain no script: login and consent work in any
// browser, and the policy can forbid scripts altogether.
//
//go:embed templates/*.html
var templateFS embed.FS

// defaultServerName is shown when Options.ServerName is empty.
const defaultServerName = "frontmcp"

// maxDisplayName bounds client-chosen names shown on the pages, so that a
// dynamically registered client cannot flood the page.
const maxDisplayName = 80

// pages holds the parsed page templates.
type pages struct {
	serverName string
	login      *template.Template
	consent    *template.Template
	error      *template.Template
}

// newPages parses the embedded templates once, at startup.
func newPages(serverName string) (*pages, error) {
	if serverName == "" {
		serverName = defaultServerName
	}
	p := &pages{serverName: serverName}
	for _, t := range []struct {
		dst  **template.Template
		file string
	}{
		{&p.login, "templates/login.html"},
		{&p.consent, "templates/consent.html"},
		{&p.error, "templates/error.html"},
	} {
		tmpl, err := template.ParseFS(templateFS, "templates/layout.html", t.file)
		if err != nil {
			return nil, fmt.Errorf("authserver: page template %s: %w", t.file, err)
		}
		*t.dst = tmpl
	}
	return p, nil
}

// pageCommon is what every page shows.
type pageCommon struct {
	ServerName string
	Nonce      string
}

// loginPage is the data of the login form.
type loginPage struct {
	pageCommon
	Action       string // form action, a path on this server
	RequestID    string
	CSRF         string
	ClientName   string
	RedirectHost string
	Failed       bool // show the generic "invalid username or password"
}

// consentPage is the data of the consent form.
type consentPage struct {
	pageCommon
	Action       string
	RequestID    string
	CSRF         string
	ClientName   string
	ClientID     string
	RedirectHost string
	Subject      string
	Resource     string
	Scopes       []string
	Unverified   bool // the client registered itself (RFC 7591)
	// IdentifiedBy is the host of a URL client id (Client ID Metadata
	// Document), whose name the document at that host asserts; "" for
	// registered clients.
	IdentifiedBy string
}

// errorPage is the data of the error page.
type errorPage struct {
	pageCommon
	Code        string
	Description string
}

// Security headers of every page and redirect served by the browser-facing
// endpoints.
//
//   - X-Frame-Options and CSP frame-ancestors forbid framing (clickjacking,
//     RFC 6749 §10.13, RFC 9700 §4.16).
//   - default-src 'none' forbids scripts, images, fonts and connections; the
//     one inline <style> is allowed by its nonce.
//   - form-action limits where the forms may post and, in browsers that apply
//     it to the redirects after a form submission (Chromium does), where those
//     redirects may go: this server and the client's redirect URI origin.
//   - Referrer-Policy no-referrer keeps request URLs out of other sites' logs.
//   - Cache-Control no-store keeps pages with form tokens out of caches.
func setPageHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// redirectCSP is the policy of bodiless redirect responses.
const redirectCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

// pageCSP returns the policy of an HTML page whose style block carries nonce
// and whose forms may submit to formAction sources (none when empty).
func pageCSP(nonce string, formAction []string) string {
	fa := "'none'"
	if len(formAction) > 0 {
		fa = strings.Join(formAction, " ")
	}
	return "default-src 'none'; style-src 'nonce-" + nonce + "'; form-action " + fa +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// render executes tmpl with data into a buffer and writes it with status and
// the page headers. The nonce must be the one stored in data.
func (p *pages) render(w http.ResponseWriter, status int, tmpl *template.Template, nonce string, formAction []string, data any) error {
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "layout", data); err != nil {
		return err
	}
	h := w.Header()
	setPageHeaders(h, pageCSP(nonce, formAction))
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// common returns the shared page data with a fresh CSP nonce.
func (p *pages) common() pageCommon {
	return pageCommon{ServerName: p.serverName, Nonce: token.NewID()}
}

// writeErrorPage shows an authorization error to the user instead of
// redirecting it (RFC 6749 §4.1.2.1: when the client or redirect URI is not
// valid, or the request cannot be tied to one). Status is 400 unless e is a
// server-side failure.
func (s *Server) writeErrorPage(w http.ResponseWriter, r *http.Request, status int, e *grant.Error) {
	if status == 0 {
		status = http.StatusBadRequest
		if c := e.HTTPStatus(); c >= 500 {
			status = c
		}
	}
	desc := e.Description
	if desc == "" {
		desc = "The authorization request is not valid."
	}
	data := errorPage{pageCommon: s.pages.common(), Code: e.Code, Description: desc}
	if err := s.pages.render(w, status, s.pages.error, data.Nonce, nil, data); err != nil {
		s.log.ErrorContext(r.Context(), "rendering the error page failed", "err", err)
	}
}

// displayName shortens a client-chosen name for display.
func displayName(s string) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD")
	if utf8.RuneCountInString(s) <= maxDisplayName {
		return s
	}
	r := []rune(s)
	return string(r[:maxDisplayName-1]) + "…"
}

// redirectHost names where a redirect URI leads, for the pages: its host
// (with port), or its scheme for a private-use URI scheme (RFC 8252 §7.1).
func redirectHost(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "an unknown address"
	}
	if u.Host != "" {
		return u.Host
	}
	return u.Scheme + ":"
}

// cspSource returns the CSP source expression (CSP3 §2.3.1) of the origin of
// a redirect URI: scheme://host[:port] for URIs with an authority, scheme: for
// private-use schemes. It returns "" when the URI would not make a safe source
// expression.
func cspSource(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return ""
	}
	src := u.Scheme + ":"
	if u.Host != "" {
		src = u.Scheme + "://" + u.Host
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+-.:/[]", c) >= 0) {
			return ""
		}
	}
	return src
}
