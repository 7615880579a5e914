package grant

import "net/http"

// HTTPStatus returns the HTTP status code for e when it is returned as a JSON
// error body (token, registration, revocation and resource endpoints):
//
//   - invalid_client, invalid_token: 401 (RFC 6749 §5.2, RFC 6750 §3.1)
//   - insufficient_scope: 403 (RFC 6750 §3.1)
//   - temporarily_unavailable: 503
//   - server_error: 500
//   - everything else: 400 (RFC 6749 §5.2, RFC 7591 §3.2.2)
//
// Errors from the authorization endpoint are redirected to the client
// instead (RFC 6749 §4.1.2.1) and do not use this status.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeInvalidClient, CodeInvalidToken:
		return http.StatusUnauthorized
	case CodeInsufficientScope:
		return http.StatusForbidden
	case CodeTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	case CodeServerError:
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}
