package cimd

import "errors"

// Kinds of failure. Every error [Fetcher.Resolve] returns is an *[Error] whose
// Kind is one of these; test with errors.Is.
var (
	// ErrClientID: the client_id is not a valid client identifier URL.
	ErrClientID = errors.New("cimd: invalid client identifier URL")
	// ErrNotAllowed: the URL's host is not one of Options.AllowedDomains.
	ErrNotAllowed = errors.New("cimd: client identifier host not allowed")
	// ErrFetch: the document could not be retrieved (connection, timeout,
	// status, redirect, content type, size).
	ErrFetch = errors.New("cimd: client metadata document not retrieved")
	// ErrUnavailable: the failure is temporary and the request may succeed
	// later: the host could not be reached or did not answer in time, it
	// answered 5xx, 408 or 429, or every fetch slot for it was busy. It
	// comes together with ErrFetch. Such failures are never cached; an
	// authorization server answers them with temporarily_unavailable rather
	// than invalid_client, so that a client keeps its credentials.
	ErrUnavailable = errors.New("cimd: client metadata document temporarily unavailable")
	// ErrForbiddenAddress: the host resolved to an address the fetcher does
	// not connect to. It comes together with ErrFetch.
	ErrForbiddenAddress = errors.New("cimd: address not allowed")
	// ErrDocument: the document was retrieved but is not a valid client
	// metadata document for this client_id.
	ErrDocument = errors.New("cimd: invalid client metadata document")
)

// Error is a failure to resolve a client_id. Msg is written for the person
// who sees the authorization error page or the token endpoint's
// error_description: it says what is wrong with the URL or the document, and
// never contains the document itself.
type Error struct {
	// Kind is ErrClientID, ErrNotAllowed, ErrFetch or ErrDocument.
	Kind error
	// Msg describes the problem.
	Msg string
	// Err is the underlying cause, if any (for logs).
	Err error
	// Temporary marks a failure that may not recur (see ErrUnavailable).
	Temporary bool
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns Kind, ErrUnavailable when Temporary, and Err, so that
// errors.Is matches any of them.
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Temporary {
		errs = append(errs, ErrUnavailable)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func newError(kind error, cause error, msg string) *Error {
	return &Error{Kind: kind, Msg: msg, Err: cause}
}

// temporaryError is a temporary ErrFetch (see ErrUnavailable).
func temporaryError(cause error, msg string) *Error {
	return &Error{Kind: ErrFetch, Msg: msg, Err: cause, Temporary: true}
}
