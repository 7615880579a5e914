package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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

type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

type wireClaims struct {
	Iss      string   `json:"iss,omitempty"`
	Sub      string   `json:"sub,omitempty"`
	Aud      audience `json:"aud,omitempty"`
	Exp      int64    `json:"exp,omitempty"`
	Iat      int64    `json:"iat,omitempty"`
	Nbf      int64    `json:"nbf,omitempty"`
	Jti      string   `json:"jti,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	Scope    string   `json:"scope,omitempty"`
}

// MarshalJSON encodes the claims set. Extra claims follow the registered
// ones, in key order. It fails with [ErrReservedClaim] if Extra reuses a
// registered name, and if a time is not after the Unix epoch.
func (c Claims) MarshalJSON() ([]byte, error) {
	w := wireClaims{
		Iss: c.Issuer, Sub: c.Subject, Aud: audience(c.Audience),
		Jti: c.ID, ClientID: c.ClientID, Scope: c.Scope,
	}
	var err error
	if w.Exp, err = numericDate("exp", c.ExpiresAt); err != nil {
		return nil, err
	}
	if w.Iat, err = numericDate("iat", c.IssuedAt); err != nil {
		return nil, err
	}
	if w.Nbf, err = numericDate("nbf", c.NotBefore); err != nil {
		return nil, err
	}
	b, err := json.Marshal(&w)
	if err != nil || len(c.Extra) == 0 {
		return b, err
	}
	for k := range c.Extra {
		if registered[k] {
			return nil, fmt.Errorf("%w: %q", ErrReservedClaim, k)
		}
	}
	extra, err := json.Marshal(c.Extra)
	if err != nil {
		return nil, fmt.Errorf("token: encoding extra claims: %w", err)
	}
	// Splice {"iss":...} and {"k":...} into one object.
	out := b[:len(b)-1]
	if len(out) > 1 {
		out = append(out, ',')
	}
	return append(out, extra[1:]...), nil
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

// UnmarshalJSON decodes a claims set. Registered claims must have their
// RFC 7519 types (strings; "aud" a string or an array of strings; times
// non-negative finite numbers, fractions allowed); otherwise the error wraps
// [ErrMalformed]. Claim names are case-sensitive. Unknown claims go to Extra
// (nil when there are none).
func (c *Claims) UnmarshalJSON(data []byte) error {
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
		if !isNum || math.IsNaN(f) || f < 0 || f > maxNumericDate {
			err = fmt.Errorf("%w: claim %s is not a valid NumericDate", ErrMalformed, name)
			return
		}
		sec, frac := math.Modf(f)
		*dst = time.Unix(int64(sec), int64(frac*1e9)).UTC()
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
