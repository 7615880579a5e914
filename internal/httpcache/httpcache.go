// Package httpcache reads the freshness a server gave a response (RFC 9111
// §4.2.1), for the fetchers that cache documents from other servers: key
// sets (resource/jwks) and client metadata documents (authserver/cimd).
package httpcache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxAge returns the freshness lifetime a response with header h has left:
// its Cache-Control max-age (RFC 9111 §5.2.2.1) less its Age (§5.1), which
// may be negative. no-store, no-cache and an invalid max-age yield 0 (an
// invalid max-age makes the response stale, §4.2.1). ok is false when the
// Cache-Control fields have none of these directives.
func MaxAge(h http.Header) (d time.Duration, ok bool) {
	for _, field := range h.Values("Cache-Control") {
		for dir := range strings.SplitSeq(field, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				secs, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
				if err != nil || secs < 0 {
					return 0, true
				}
				d, ok = time.Duration(min(secs, 1<<31))*time.Second, true
			}
		}
	}
	if !ok {
		return 0, false
	}
	if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
		d -= time.Duration(min(age, 1<<31)) * time.Second
	}
	return d, true
}
