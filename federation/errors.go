package federation

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them (or
// ErrDiscovery); test with errors.Is.
var (
	// ErrState: the callback's state is missing or does not belong to the
	// login it claims (a forged or replayed callback). Nothing was changed.
	ErrState = errors.New("federation: the callback state does not match a login in progress")
	// ErrDenied: the provider answered the authorization request with an
	// error (RFC 6749 §4.1.2.1), such as access_denied when the user
	// declined. See [DeniedError].
	ErrDenied = errors.New("federation: the identity provider denied the sign-in")
	// ErrTokenEndpoint: the provider's token endpoint failed or refused the
	// request (other than refusing a refresh token).
	ErrTokenEndpoint = errors.New("federation: the identity provider's token endpoint failed")
	// ErrIdentity: the provider's answer does not prove who logged in (ID
	// token signature, iss, aud, nonce, exp; or the subject claim).
	ErrIdentity = errors.New("federation: the identity provider's login could not be verified")
	// ErrUnavailable: the provider could not be reached (connection
	// refused, timeout, TLS failure), answered HTTP 503, or answered
	// temporarily_unavailable (RFC 6749 §4.1.2.1, §5.2). Trying again later
	// may work; nothing was changed.
	ErrUnavailable = errors.New("federation: the identity provider is unreachable or temporarily unavailable")
	// ErrServerError: the provider answered server_error (RFC 6749
	// §4.1.2.1) or failed with another HTTP 5xx status.
	ErrServerError = errors.New("federation: the identity provider failed with a server error")
	// ErrRefused: the provider refused the refresh token (invalid_grant).
	ErrRefused = errors.New("federation: the identity provider refused the refresh token")
	// ErrReauthorizationRequired: there are no usable upstream tokens for
	// the grant (none stored, or the provider refused to refresh them). The
	// user must authorize again: the MCP client runs the authorization flow
	// anew, which logs in at the provider again.
	ErrReauthorizationRequired = errors.New("re-authorization required: the identity provider's tokens for this user are gone or were refused; sign in again")
	// ErrVaultKey: a vault entry cannot be opened with the configured keys
	// (auth.vault.key and previousKeys). The entry is left as it is.
	ErrVaultKey = errors.New("federation: the vault entry cannot be opened with the configured vault keys")
)

// DeniedError is the provider's error response to an authorization request
// (RFC 6749 §4.1.2.1). It wraps [ErrDenied], except that
// temporarily_unavailable wraps [ErrUnavailable] and server_error wraps
// [ErrServerError]: those are the provider's failures, not a refusal.
type DeniedError struct {
	Code        string // the "error" parameter, such as access_denied
	Description string // the "error_description" parameter, if any
}

func (e *DeniedError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("federation: the identity provider answered %s: %s", e.Code, e.Description)
	}
	return "federation: the identity provider answered " + e.Code
}

// Unwrap makes errors.Is(err, ErrDenied) true, or ErrUnavailable or
// ErrServerError for those codes.
func (e *DeniedError) Unwrap() error {
	switch e.Code {
	case "temporarily_unavailable":
		return ErrUnavailable
	case "server_error":
		return ErrServerError
	}
	return ErrDenied
}
