package grant

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultMaxTokenBody is the body size limit ParseTokenRequest applies when
// maxBody is zero or negative. Token requests are a handful of short
// parameters; 16 KiB leaves room for long codes and assertions.
const DefaultMaxTokenBody = 16 << 10

// ParseTokenRequest reads the parameters of a token endpoint request
// (RFC 6749 §3.2, §4.1.3, §6; OAuth 2.1 §3.2.2).
//
// The method must be POST. The body is read up to maxBody bytes
// ([DefaultMaxTokenBody] when maxBody <= 0); a larger body is an
// invalid_request. The body is decoded according to Content-Type:
//
//   - application/x-www-form-urlencoded (or no Content-Type): the form
//     encoding RFC 6749 Appendix B specifies;
//   - application/json: tolerated because some clients send it; the body
//     must be one JSON object whose members are all strings (numbers,
//     booleans, null, arrays and objects are an invalid_request).
//
// Any other media type is an invalid_request. Parameters must not be
// repeated (RFC 6749 §3.2) and must have non-empty names; names and values
// must be valid UTF-8. Query parameters of the request URL are ignored:
// credentials and grants are only accepted from the body. Each parameter in
// the result has exactly one value.
func ParseTokenRequest(r *http.Request, maxBody int64) (url.Values, *Error) {
	if r.Method != http.MethodPost {
		return nil, Errorf(CodeInvalidRequest, "token requests must use POST")
	}
	if maxBody <= 0 {
		maxBody = DefaultMaxTokenBody
	}
	kind, e := tokenBodyKind(r.Header.Get("Content-Type"))
	if e != nil {
		return nil, e
	}
	if r.ContentLength > maxBody {
		return nil, Errorf(CodeInvalidRequest, "request body is larger than %d bytes", maxBody)
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return nil, Errorf(CodeInvalidRequest, "cannot read request body")
		}
		if int64(len(body)) > maxBody {
			return nil, Errorf(CodeInvalidRequest, "request body is larger than %d bytes", maxBody)
		}
	}
	if kind == bodyJSON {
		return parseJSONParams(body)
	}
	return parseFormParams(string(body))
}

type bodyKind int

const (
	bodyForm bodyKind = iota
	bodyJSON
)

func tokenBodyKind(contentType string) (bodyKind, *Error) {
	if strings.TrimSpace(contentType) == "" {
		return bodyForm, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, Errorf(CodeInvalidRequest, "malformed Content-Type")
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		return bodyForm, nil
	case "application/json":
		return bodyJSON, nil
	}
	return 0, Errorf(CodeInvalidRequest, "Content-Type %s is not supported; use application/x-www-form-urlencoded", quote(mt))
}

// parseFormParams decodes an application/x-www-form-urlencoded body and
// rejects repeated and empty names.
func parseFormParams(body string) (url.Values, *Error) {
	v, err := url.ParseQuery(body)
	if err != nil {
		return nil, Errorf(CodeInvalidRequest, "malformed form body")
	}
	for name, vals := range v {
		if e := checkParam(name, vals[0]); e != nil {
			return nil, e
		}
		if len(vals) > 1 {
			return nil, Errorf(CodeInvalidRequest, "parameter %s is repeated", quote(name))
		}
	}
	return v, nil
}

// parseJSONParams decodes a JSON object of string members, rejecting
// repeated members and non-string values.
func parseJSONParams(body []byte) (url.Values, *Error) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, Errorf(CodeInvalidRequest, "JSON body must be an object")
	}
	v := url.Values{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, Errorf(CodeInvalidRequest, "malformed JSON body")
		}
		name, ok := tok.(string)
		if !ok {
			return nil, Errorf(CodeInvalidRequest, "malformed JSON body")
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, Errorf(CodeInvalidRequest, "malformed JSON body")
		}
		val, ok := tok.(string)
		if !ok {
			return nil, Errorf(CodeInvalidRequest, "parameter %s must be a JSON string", quote(name))
		}
		if e := checkParam(name, val); e != nil {
			return nil, e
		}
		if _, dup := v[name]; dup {
			return nil, Errorf(CodeInvalidRequest, "parameter %s is repeated", quote(name))
		}
		v[name] = []string{val}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, Errorf(CodeInvalidRequest, "malformed JSON body")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Errorf(CodeInvalidRequest, "JSON body must contain exactly one object")
	}
	return v, nil
}

func checkParam(name, val string) *Error {
	if name == "" {
		return Errorf(CodeInvalidRequest, "parameter with an empty name")
	}
	if !utf8.ValidString(name) || !utf8.ValidString(val) {
		return Errorf(CodeInvalidRequest, "parameter %s is not valid UTF-8", quote(name))
	}
	return nil
}

// AuthMethod is a token endpoint client authentication method, named as in
// the token_endpoint_auth_method client metadata of RFC 7591 §2.
type AuthMethod string

// Client authentication methods.
const (
	// AuthNone: a public client identified by client_id only (RFC 7591 §2).
	AuthNone AuthMethod = "none"
	// AuthClientSecretBasic: HTTP Basic with the client_id and secret (RFC 6749 §2.3.1).
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	// AuthClientSecretPost: client_id and client_secret in the body (RFC 6749 §2.3.1).
	AuthClientSecretPost AuthMethod = "client_secret_post"
)

// ClientCredentials is what a token request presented to identify the
// client. Secret is empty for [AuthNone]. Its String, GoString and LogValue
// methods never reveal Secret.
type ClientCredentials struct {
	ID     string
	Secret string
	Method AuthMethod
}

// String returns the client id and method, with the secret redacted.
func (c ClientCredentials) String() string {
	return "client " + c.ID + " (" + string(c.Method) + ")"
}

// GoString keeps %#v from printing the secret.
func (c ClientCredentials) GoString() string {
	return "grant.ClientCredentials{ID: " + strconv.Quote(c.ID) + ", Method: " + strconv.Quote(string(c.Method)) + ", Secret: <redacted>}"
}

// LogValue implements slog.LogValuer without the secret.
func (c ClientCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("method", string(c.Method)))
}

// ParseClientCredentials extracts the client identification of a token
// request from the Authorization header and the parsed body form
// (RFC 6749 §2.3.1, §3.2.1).
//
//   - Authorization: Basic — the user-id and password are the client_id and
//     client_secret, each application/x-www-form-urlencoded before base64
//     (RFC 6749 §2.3.1), so they are unescaped here. A malformed header is an
//     invalid_client. If the body also carries client_secret, the client
//     used two methods: invalid_request (RFC 6749 §2.3). A client_id in the
//     body must equal the Basic one.
//   - client_id and client_secret in the body: client_secret_post.
//   - client_id alone: none (a public client).
//
// An empty secret (Basic "id:" as golang.org/x/oauth2 sends for public
// clients, or client_secret=) is treated as no secret: method none. No
// client_id at all, or an Authorization scheme other than Basic, is an
// invalid_client: "no client authentication included" (RFC 6749 §5.2).
// Several Authorization headers are an invalid_request.
//
// The caller still has to check the result against the registered client
// and its token_endpoint_auth_method.
func ParseClientCredentials(r *http.Request, form url.Values) (ClientCredentials, *Error) {
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	auth := r.Header.Values("Authorization")
	switch {
	case len(auth) > 1:
		return ClientCredentials{}, Errorf(CodeInvalidRequest, "multiple Authorization headers")
	case len(auth) == 1:
		id, secret, e := parseBasic(auth[0])
		if e != nil {
			return ClientCredentials{}, e
		}
		if formSecret != "" {
			return ClientCredentials{}, Errorf(CodeInvalidRequest, "client authenticated with both HTTP Basic and client_secret; use one method")
		}
		if formID != "" && formID != id {
			return ClientCredentials{}, Errorf(CodeInvalidRequest, "client_id in the body does not match the Authorization header")
		}
		if secret == "" {
			return ClientCredentials{ID: id, Method: AuthNone}, nil
		}
		return ClientCredentials{ID: id, Secret: secret, Method: AuthClientSecretBasic}, nil
	}
	if formID == "" {
		if formSecret != "" {
			return ClientCredentials{}, Errorf(CodeInvalidClient, "client_secret without client_id")
		}
		return ClientCredentials{}, Errorf(CodeInvalidClient, "client authentication is required: send client_id")
	}
	if formSecret == "" {
		return ClientCredentials{ID: formID, Method: AuthNone}, nil
	}
	return ClientCredentials{ID: formID, Secret: formSecret, Method: AuthClientSecretPost}, nil
}

// parseBasic decodes an "Authorization: Basic" value per RFC 7617 §2 and
// RFC 6749 §2.3.1. The scheme name is case-insensitive.
func parseBasic(h string) (id, secret string, e *Error) {
	const scheme = "basic "
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", "", Errorf(CodeInvalidClient, "unsupported Authorization scheme; use Basic")
	}
	enc := strings.TrimLeft(h[len(scheme):], " ")
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", "", Errorf(CodeInvalidClient, "malformed Basic credentials")
	}
	encID, encSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", Errorf(CodeInvalidClient, "malformed Basic credentials")
	}
	id, err1 := url.QueryUnescape(encID)
	secret, err2 := url.QueryUnescape(encSecret)
	if err1 != nil || err2 != nil || id == "" || !utf8.ValidString(id) || !utf8.ValidString(secret) {
		return "", "", Errorf(CodeInvalidClient, "malformed Basic credentials")
	}
	return id, secret, nil
}
