// Package logging builds the server's slog logger with redaction on by default.
//
// An auth server handles bearer tokens, authorization codes, client secrets and
// passwords; none of them may reach a log line. The handler returned by
// [NewHandler] replaces the value of every attribute whose key names a secret
// (built-in list plus the configured logging.redact keys), scrubs the values of
// URL query strings, and masks "Bearer …"/"Basic …" credentials wherever they
// appear. To correlate log lines about one secret without logging it, log
// [Fingerprint] of it.
package logging

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces a secret value in logs.
const Redacted = "[REDACTED]"

// DefaultRedactKeys are the attribute keys (case-insensitive; "-" and "_" are
// equivalent) that are always redacted.
var DefaultRedactKeys = []string{
	"access_token", "refresh_token", "id_token", "token", "code", "code_verifier",
	"client_secret", "password", "passwd", "secret", "authorization", "proxy_authorization",
	"cookie", "set_cookie", "assertion", "client_assertion", "registration_access_token",
	"initial_access_token", "private_key", "sign_key", "signkey", "api_key", "apikey",
	"vault_key", "password_hash", "passwordhash", "clientsecret",
}

// Options configure [NewHandler].
type Options struct {
	// Level is the minimum level logged; the zero value is Info.
	Level slog.Leveler
	// JSON selects the JSON format; the default is slog's text format.
	JSON bool
	// Redact lists more attribute keys to redact, added to DefaultRedactKeys.
	Redact []string
}

// NewHandler returns a text or JSON handler writing to w that redacts secrets.
func NewHandler(w io.Writer, opts *Options) slog.Handler {
	if opts == nil {
		opts = &Options{}
	}
	r := newRedactor(opts.Redact)
	ho := &slog.HandlerOptions{Level: opts.Level, ReplaceAttr: r.replace}
	if opts.JSON {
		return slog.NewJSONHandler(w, ho)
	}
	return slog.NewTextHandler(w, ho)
}

// ParseLevel maps debug|info|warn|error to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
	}
	return l, nil
}

// Fingerprint returns a short, non-reversible identifier for a secret: the
// first 12 hex digits of its SHA-256. Use it to correlate log lines.
func Fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:6])
}

type redactor struct {
	keys map[string]bool
}

func newRedactor(extra []string) *redactor {
	r := &redactor{keys: make(map[string]bool, len(DefaultRedactKeys)+len(extra))}
	for _, k := range DefaultRedactKeys {
		r.keys[normKey(k)] = true
	}
	for _, k := range extra {
		r.keys[normKey(k)] = true
	}
	return r
}

func normKey(k string) string {
	return strings.ReplaceAll(strings.ToLower(k), "-", "_")
}

func (r *redactor) replace(groups []string, a slog.Attr) slog.Attr {
	if r.keys[normKey(a.Key)] {
		if a.Value.Kind() == slog.KindGroup {
			return slog.Attr{Key: a.Key, Value: slog.StringValue(Redacted)}
		}
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); s != "" {
			if clean := ScrubString(s); clean != s {
				return slog.String(a.Key, clean)
			}
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case *url.URL:
			if v != nil {
				return slog.String(a.Key, ScrubString(v.String()))
			}
		case url.Values:
			return slog.Any(a.Key, scrubValues(v))
		case http.Header:
			return slog.Any(a.Key, r.scrubHeader(v))
		case error:
			if s := v.Error(); ScrubString(s) != s {
				return slog.String(a.Key, ScrubString(s))
			}
		}
	}
	return a
}

func (r *redactor) scrubHeader(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if r.keys[normKey(k)] {
			out[k] = Redacted
			continue
		}
		out[k] = ScrubString(strings.Join(vs, ", "))
	}
	return out
}

func scrubValues(v url.Values) map[string]string {
	out := make(map[string]string, len(v))
	for k := range v {
		out[k] = Redacted
	}
	return out
}

// userinfoPassword matches the password of a URL's userinfo ("://user:pass@").
var userinfoPassword = regexp.MustCompile(`(://[^/\s:@]*:)[^/\s@]+@`)

// ScrubString masks credentials inside free text: the query values of any URL
// (keys are kept, values become [REDACTED]), a URL's userinfo password, and the
// credential after a "Bearer " or "Basic " scheme.
func ScrubString(s string) string {
	if strings.IndexByte(s, '?') >= 0 {
		s = scrubQueries(s)
	}
	if strings.IndexByte(s, '@') >= 0 {
		s = userinfoPassword.ReplaceAllString(s, "${1}"+Redacted+"@")
	}
	return scrubSchemes(s)
}

// scrubQueries rewrites every "?k=v&k2=v2" run in s, ending at whitespace or a
// quote, to "?k=[REDACTED]&k2=[REDACTED]".
func scrubQueries(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '?')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+1])
		s = s[i+1:]
		end := strings.IndexAny(s, " \t\r\n\"'<>")
		if end < 0 {
			end = len(s)
		}
		q, frag := s[:end], ""
		if h := strings.IndexByte(q, '#'); h >= 0 {
			q, frag = q[:h], q[h:]
		}
		for j, pair := range strings.Split(q, "&") {
			if j > 0 {
				b.WriteByte('&')
			}
			k, _, hasValue := strings.Cut(pair, "=")
			b.WriteString(k)
			if hasValue {
				b.WriteString("=" + Redacted)
			}
		}
		if frag != "" {
			b.WriteString("#" + Redacted)
		}
		s = s[end:]
	}
}

func scrubSchemes(s string) string {
	for _, scheme := range []string{"bearer ", "basic "} {
		lower := strings.ToLower(s)
		if !strings.Contains(lower, scheme) {
			continue
		}
		var b strings.Builder
		for {
			i := strings.Index(lower, scheme)
			if i < 0 {
				b.WriteString(s)
				break
			}
			j := i + len(scheme)
			b.WriteString(s[:j])
			end := strings.IndexAny(s[j:], " \t\r\n\"',;")
			if end < 0 {
				end = len(s) - j
			}
			if end > 0 {
				b.WriteString(Redacted)
			}
			s, lower = s[j+end:], lower[j+end:]
		}
		s = b.String()
	}
	return s
}
