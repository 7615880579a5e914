package token

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// registeredNames lists the names in registered in a fixed order, so that
// decodeClaims can track the ones it has seen in the bits of an integer.
var registeredNames = []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"}

// maxDecodeDepth bounds the nesting of extra claims that decodeClaims takes;
// deeper values go to the slow path, which applies encoding/json's own limit.
const maxDecodeDepth = 100

// decodeClaims decodes a claims set in one pass, without reflection or an
// intermediate map. It gives up, reporting false, on any input it cannot
// decode to exactly what unmarshalSlow gives: invalid JSON (RFC 8259), a
// registered claim (RFC 7519 §4.1) of the wrong type or given twice (with
// encoding/json the last one wins), a number out of range, deep nesting.
// Every error is thus left to unmarshalSlow, and so reported as before.
//
// The input is copied to one string, and decoded strings without escapes
// are substrings of it: a claims set is small, and one allocation is
// cheaper than one for each claim.
func decodeClaims(data []byte) (Claims, bool) {
	data = bytes.TrimSpace(data) // as unmarshalSlow does
	d := &claimsDecoder{data: data, s: string(data)}
	var c Claims
	var seen uint // bit i: registeredNames[i] was seen
	done := d.members(func(name string) bool {
		if i := slices.Index(registeredNames, name); i >= 0 {
			if seen&(1<<i) != 0 {
				return false
			}
			seen |= 1 << i
		}
		var ok bool
		switch name {
		case "iss":
			c.Issuer, ok = d.string()
		case "sub":
			c.Subject, ok = d.string()
		case "jti":
			c.ID, ok = d.string()
		case "client_id":
			c.ClientID, ok = d.string()
		case "scope":
			c.Scope, ok = d.string()
		case "exp":
			c.ExpiresAt, ok = d.numericDate()
		case "iat":
			c.IssuedAt, ok = d.numericDate()
		case "nbf":
			c.NotBefore, ok = d.numericDate()
		case "aud":
			c.Audience, ok = d.audience()
		default:
			var v any
			if v, ok = d.value(1); ok {
				if c.Extra == nil {
					c.Extra = make(map[string]any)
				}
				c.Extra[name] = v
			}
		}
		return ok
	})
	return c, done && d.i == len(data)
}

// claimsDecoder reads JSON from data, which s holds too, starting at i.
type claimsDecoder struct {
	data []byte
	s    string
	i    int
}

// skipSpace skips JSON whitespace (RFC 8259 §2).
func (d *claimsDecoder) skipSpace() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// consume skips the byte b if it is next, and reports whether it was.
func (d *claimsDecoder) consume(b byte) bool {
	if d.i < len(d.data) && d.data[d.i] == b {
		d.i++
		return true
	}
	return false
}

// members reads the object that is next, calling member for the name of
// each member with the decoder at its value, which member reads.
func (d *claimsDecoder) members(member func(name string) bool) bool {
	if !d.consume('{') {
		return false
	}
	d.skipSpace()
	if d.consume('}') {
		return true
	}
	for {
		d.skipSpace()
		name, ok := d.string()
		if !ok {
			return false
		}
		d.skipSpace()
		if !d.consume(':') {
			return false
		}
		d.skipSpace()
		if !member(name) {
			return false
		}
		d.skipSpace()
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// elements reads the array that is next, calling element with the decoder
// at each element, which element reads.
func (d *claimsDecoder) elements(element func() bool) bool {
	if !d.consume('[') {
		return false
	}
	d.skipSpace()
	if d.consume(']') {
		return true
	}
	for {
		d.skipSpace()
		if !element() {
			return false
		}
		d.skipSpace()
		if d.consume(']') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// string reads a string (RFC 8259 §7). One without escapes that is valid
// UTF-8 is returned as it is; any other is decoded by encoding/json, which
// also replaces invalid UTF-8 with U+FFFD.
func (d *claimsDecoder) string() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start := d.i
	plain, ascii := true, true
	for i := start; i < len(d.data); i++ {
		switch c := d.data[i]; {
		case c == '"':
			d.i = i + 1
			if s := d.s[start:i]; plain && (ascii || utf8.ValidString(s)) {
				return s, true
			}
			var s string
			err := json.Unmarshal(d.data[start-1:i+1], &s)
			return s, err == nil
		case c == '\\':
			plain = false
			i++ // the escaped byte does not end the string
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// number reads a number (RFC 8259 §6) and converts it as encoding/json
// does. It fails for a number out of the range of float64.
func (d *claimsDecoder) number() (float64, bool) {
	start := d.i
	d.consume('-')
	if !d.consume('0') && !d.digits() {
		return 0, false
	}
	if d.consume('.') && !d.digits() {
		return 0, false
	}
	if d.consume('e') || d.consume('E') {
		if !d.consume('+') {
			d.consume('-')
		}
		if !d.digits() {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(d.s[start:d.i], 64)
	return f, err == nil
}

// digits skips one or more decimal digits, and reports whether there were.
func (d *claimsDecoder) digits() bool {
	start := d.i
	for d.i < len(d.data) && '0' <= d.data[d.i] && d.data[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// literal skips word (true, false or null) if it is next.
func (d *claimsDecoder) literal(word string) bool {
	if strings.HasPrefix(d.s[d.i:], word) {
		d.i += len(word)
		return true
	}
	return false
}

// numericDate reads a NumericDate claim: a number of seconds that
// numericDateTime accepts.
func (d *claimsDecoder) numericDate() (time.Time, bool) {
	f, ok := d.number()
	if !ok {
		return time.Time{}, false
	}
	return numericDateTime(f)
}

// audience reads the "aud" claim: a string or an array of strings
// (RFC 7519 §4.1.3).
func (d *claimsDecoder) audience() ([]string, bool) {
	if d.i < len(d.data) && d.data[d.i] == '"' {
		s, ok := d.string()
		return []string{s}, ok
	}
	aud := []string{} // not nil, as with an empty array in unmarshalSlow
	ok := d.elements(func() bool {
		s, ok := d.string()
		aud = append(aud, s)
		return ok
	})
	return aud, ok
}

// value reads any value at nesting depth depth, giving what encoding/json
// gives for an any: string, float64, bool, nil, []any or map[string]any.
func (d *claimsDecoder) value(depth int) (any, bool) {
	if d.i >= len(d.data) {
		return nil, false
	}
	switch d.data[d.i] {
	case '"':
		return d.string()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	case '[':
		if depth >= maxDecodeDepth {
			return nil, false
		}
		a := []any{}
		ok := d.elements(func() bool {
			v, ok := d.value(depth + 1)
			a = append(a, v)
			return ok
		})
		return a, ok
	case '{':
		if depth >= maxDecodeDepth {
			return nil, false
		}
		m := make(map[string]any)
		ok := d.members(func(name string) bool {
			v, ok := d.value(depth + 1)
			m[name] = v // as with encoding/json, the last of equal names wins
			return ok
		})
		return m, ok
	}
	return d.number()
}
