package resource

import "errors"

// ErrInvalidToken is wrapped by the errors a [Verifier] returns for a token
// that must be refused: malformed, badly signed, expired, issued by someone
// else, for another audience, or revoked. The middleware answers it with
// 401 and error="invalid_token" (RFC 6750 §3.1). Any other error from a
// Verifier is treated as a failure of the verifier itself (503).
var ErrInvalidToken = errors.New("resource: invalid token")

// TokenError is an invalid-token error with a description that is safe to
// show to the client in error_description. It matches [ErrInvalidToken] under
// errors.Is, and also the underlying cause Err.
type TokenError struct {
	// Description is shown to the client. It must never contain the token.
	Description string
	// Err is the underlying cause, for logs and errors.Is; it may be nil.
	Err error
}

// Error returns a message for logs: the description and the cause.
func (e *TokenError) Error() string {
	if e.Err == nil {
		return "resource: invalid token: " + e.Description
	}
	return "resource: invalid token: " + e.Description + ": " + e.Err.Error()
}

// Unwrap returns ErrInvalidToken and the cause.
func (e *TokenError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidToken}
	}
	return []error{ErrInvalidToken, e.Err}
}

// invalidToken returns a *TokenError.
func invalidToken(description string, cause error) error {
	return &TokenError{Description: description, Err: cause}
}
