package grant

import (
	"fmt"
	"strings"
)

// OAuth error codes.
//
// RFC 6749 §4.1.2.1 (authorization endpoint) and §5.2 (token endpoint).
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeInvalidScope            = "invalid_scope"
	CodeAccessDenied            = "access_denied"
	CodeServerError             = "server_error"
	CodeTemporarilyUnavailable  = "temporarily_unavailable"
)

// Further OAuth error codes from the extensions the server implements.
const (
	// CodeInvalidTarget: the resource parameter is not acceptable (RFC 8707 §2).
	CodeInvalidTarget = "invalid_target"
	// CodeInvalidToken: the bearer token is expired, revoked or malformed (RFC 6750 §3.1).
	CodeInvalidToken = "invalid_token"
	// CodeInsufficientScope: the bearer token lacks a required scope (RFC 6750 §3.1).
	CodeInsufficientScope = "insufficient_scope"
	// CodeInvalidRedirectURI: a registered redirect URI is not acceptable (RFC 7591 §3.2.2).
	CodeInvalidRedirectURI = "invalid_redirect_uri"
	// CodeInvalidClientMetadata: a client metadata value is not acceptable (RFC 7591 §3.2.2).
	CodeInvalidClientMetadata = "invalid_client_metadata"
	// CodeUnsupportedTokenType: revocation of this token type is not supported (RFC 7009 §2.2.1).
	CodeUnsupportedTokenType = "unsupported_token_type"
)

// Error is an OAuth protocol error: the "error", "error_description" and
// "error_uri" members of RFC 6749 §5.2 (also used, as query parameters, by
// §4.1.2.1). Its JSON encoding is the token endpoint error body.
//
// Description and URI are shown to clients; they never contain secrets.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	URI         string `json:"error_uri,omitempty"`
}

// Sentinel errors, one per code. errors.Is(err, ErrInvalidGrant) reports
// whether err is (or wraps) an *Error with code invalid_grant, whatever its
// description.
var (
	ErrInvalidRequest          = &Error{Code: CodeInvalidRequest}
	ErrInvalidClient           = &Error{Code: CodeInvalidClient}
	ErrInvalidGrant            = &Error{Code: CodeInvalidGrant}
	ErrUnauthorizedClient      = &Error{Code: CodeUnauthorizedClient}
	ErrUnsupportedGrantType    = &Error{Code: CodeUnsupportedGrantType}
	ErrUnsupportedResponseType = &Error{Code: CodeUnsupportedResponseType}
	ErrInvalidScope            = &Error{Code: CodeInvalidScope}
	ErrAccessDenied            = &Error{Code: CodeAccessDenied}
	ErrServerError             = &Error{Code: CodeServerError}
	ErrTemporarilyUnavailable  = &Error{Code: CodeTemporarilyUnavailable}
	ErrInvalidTarget           = &Error{Code: CodeInvalidTarget}
	ErrInvalidToken            = &Error{Code: CodeInvalidToken}
	ErrInsufficientScope       = &Error{Code: CodeInsufficientScope}
	ErrInvalidRedirectURI      = &Error{Code: CodeInvalidRedirectURI}
	ErrInvalidClientMetadata   = &Error{Code: CodeInvalidClientMetadata}
	ErrUnsupportedTokenType    = &Error{Code: CodeUnsupportedTokenType}
)

// Errorf returns an *Error with the given code and a description built from
// format and args. Characters that RFC 6749 §5.2 does not allow in
// error_description (anything outside %x20-21 / %x23-5B / %x5D-7E, i.e.
// controls, non-ASCII, '"' and '\') are replaced with '?', and the
// description is cut to 200 bytes, so echoing client input is safe.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: sanitizeDescription(fmt.Sprintf(format, args...))}
}

// Error returns "code: description", or just the code.
func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Is reports whether target is an *Error with the same code, so that the
// sentinel values work with errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && e != nil && t.Code == e.Code
}

const maxDescription = 200

// sanitizeDescription maps s onto the error_description character set of
// RFC 6749 §5.2 (NQSCHAR: %x20-21 / %x23-5B / %x5D-7E).
func sanitizeDescription(s string) string {
	if len(s) > maxDescription {
		s = s[:maxDescription]
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !isNQSChar(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; isNQSChar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

func isNQSChar(c byte) bool {
	return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

// quote shortens client-supplied text for use inside a description.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return "'" + s + "'"
}
