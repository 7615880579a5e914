package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
)

// Claims is the claims set of a JWT access token (RFC 9068 §2.2, with the
// registered claims of RFC 7519 §4.1).
//
// Times are encoded as NumericDate (whole seconds since the Unix epoch); a
// zero time.Time means the claim is absent. Audience is encoded as a single
// string when it has one element and as an array otherwise. Extra holds any
// other claims; on decoding, its values are what encoding/json produces for
// an `any` (float64 for numbers). Extra must not use the names of the fields
// above.
type Claims struct {
	Issuer    string    // "iss"
	Subject   string    // "sub"
	Audience  []string  // "aud"
	ExpiresAt time.Time // "exp"
	IssuedAt  time.Time // "iat"
	NotBefore time.Time // "nbf"
	ID        string    // "jti"
	ClientID  string    // "client_id" (RFC 8693 §4.3)
	Scope     string    // "scope": space-separated (RFC 8693 §4.2)
	Extra     map[string]any
}

// ClaimGrantID is the private access-token claim in which the embedded
// authorization server names the grant a token was issued from. The resource
// server checks that the grant is still active, so revoking a grant also ends
// its access tokens before they expire.
const ClaimGrantID = "sid"

// registered lists the claim names that Claims has fields for.
var registered = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "iat": true,
	"nbf": true, "jti": true, "client_id": true, "scope": true,
}

// HasAudience reports whether aud is one of c.Audience (exact comparison).
func (c *Claims) HasAudience(aud string) bool {
	for _, a := range c.Audience {
		if a == aud {
			return true
		}
	}
	return false
}

// MarshalJSON encodes the claims set. Extra claims follow the registered
// ones, in key order. It fails with [ErrReservedClaim] if Extra reuses a
// registered name, and if a time is not after the Unix epoch.
//
// The output is what encoding/json produces for the same claims (a struct
// of the registered claims with omitempty, then the Extra map), written
// without reflection: an access token is encoded on every token request.
func (c Claims) MarshalJSON() ([]byte, error) {
	return c.appendJSON(make([]byte, 0, 256))
}

// appendJSON appends the JSON encoding of c (see MarshalJSON) to b.
func (c *Claims) appendJSON(b []byte) ([]byte, error) {
	exp, err := numericDate("exp", c.ExpiresAt)
	if err != nil {
		return nil, err
	}
	iat, err := numericDate("iat", c.IssuedAt)
	if err != nil {
		return nil, err
	}
	nbf, err := numericDate("nbf", c.NotBefore)
	if err != nil {
		return nil, err
	}
	start := len(b)
	b = append(b, '{')
	// member appends the name of the next member, after a comma unless it
	// is the first.
	member := func(name string) {
		if len(b) > start+1 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(name, v string) {
		if v != "" {
			member(name)
			b = AppendJSONString(b, v)
		}
	}
	date := func(name string, v int64) {
		if v != 0 {
			member(name)
			b = strconv.AppendInt(b, v, 10)
		}
	}
	str("iss", c.Issuer)
	str("sub", c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1:
		member("aud")
		b = AppendJSONString(b, c.Audience[0])
	default:
		member("aud")
		for i, a := range c.Audience {
			if i == 0 {
				b = append(b, '[')
			} else {
				b = append(b, ',')
			}
			b = AppendJSONString(b, a)
		}
		b = append(b, ']')
	}
	date("exp", exp)
	date("iat", iat)
	date("nbf", nbf)
	str("jti", c.ID)
	str("client_id", c.ClientID)
	str("scope", c.Scope)
	if len(c.Extra) > 0 {
		for k := range c.Extra {
			if registered[k] {
				return nil, fmt.Errorf("%w: %q", ErrReservedClaim, k)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(c.Extra)) {
			if len(b) > start+1 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, k)
			b = append(b, ':')
			if b, err = appendJSONValue(b, c.Extra[k]); err != nil {
				return nil, fmt.Errorf("token: encoding extra claims: %w", err)
			}
		}
	}
	return append(b, '}'), nil
}

// AppendJSONString appends s as encoding/json encodes a string. Strings of
// printable ASCII that need no escaping (encoding/json also escapes <, >
// and &) are copied as they are; any other string is left to encoding/json.
// The token endpoint writes its responses with it too.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONValue appends v as encoding/json encodes it.
func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return AppendJSONString(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

func numericDate(name string, t time.Time) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	u := t.Unix()
	if u <= 0 {
		return 0, fmt.Errorf("token: claim %s: time %v is not after the Unix epoch", name, t)
	}
	return u, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

// numericDateTime converts a decoded NumericDate (RFC 7519 §2: seconds since
// the epoch, fractions allowed) to a time. It reports false for a negative
// time or one after maxNumericDate.
func numericDateTime(f float64) (time.Time, bool) {
	if math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// UnmarshalJSON decodes a claims set. Registered claims must have their
// RFC 7519 types (strings; "aud" a string or an array of strings; times
// non-negative finite numbers, fractions allowed); otherwise the error wraps
// [ErrMalformed]. Claim names are case-sensitive. Unknown claims go to Extra
// (nil when there are none).
//
// The result is what decoding into a map[string]any with encoding/json and
// moving the registered claims out of it gives (see unmarshalSlow). The
// common case, a flat object with well-typed registered claims, is decoded
// in a single pass without that map (see decodeClaims); a token is verified
// on every request.
func (c *Claims) UnmarshalJSON(data []byte) error {
	if fast, ok := decodeClaims(data); ok {
		*c = fast
		return nil
	}
	return c.unmarshalSlow(data)
}

// unmarshalSlow is UnmarshalJSON by way of encoding/json and a
// map[string]any. It handles every input, and reports every error.
func (c *Claims) unmarshalSlow(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	*c = Claims{}
	var err error
	str := func(name string, dst *string) {
		v, ok := m[name]
		if !ok || err != nil {
			return
		}
		delete(m, name)
		s, isStr := v.(string)
		if !isStr {
			err = fmt.Errorf("%w: claim %s is not a string", ErrMalformed, name)
			return
		}
		*dst = s
	}
	date := func(name string, dst *time.Time) {
		v, ok := m[name]
		if !ok || err != nil {
			return
		}
		delete(m, name)
		f, isNum := v.(float64)
		t, valid := numericDateTime(f)
		if !isNum || !valid {
			err = fmt.Errorf("%w: claim %s is not a valid NumericDate", ErrMalformed, name)
			return
		}
		*dst = t
	}
	str("iss", &c.Issuer)
	str("sub", &c.Subject)
	str("jti", &c.ID)
	str("client_id", &c.ClientID)
	str("scope", &c.Scope)
	date("exp", &c.ExpiresAt)
	date("iat", &c.IssuedAt)
	date("nbf", &c.NotBefore)
	if err != nil {
		return err
	}
	if v, ok := m["aud"]; ok {
		delete(m, "aud")
		switch a := v.(type) {
		case string:
			c.Audience = []string{a}
		case []any:
			c.Audience = make([]string, len(a))
			for i, e := range a {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("%w: claim aud has a non-string element", ErrMalformed)
				}
				c.Audience[i] = s
			}
		default:
			return fmt.Errorf("%w: claim aud is neither a string nor an array", ErrMalformed)
		}
	}
	if len(m) > 0 {
		c.Extra = m
	}
	return nil
}
