package jwks

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/frontmcp-go/frontmcp/token"
)

// maxRSABits is the largest RSA modulus accepted: verifying with a larger
// one costs more than any provider needs to spend on a signature.
const maxRSABits = 8192

// Skipped names a key left out of a key set, and why.
type Skipped struct {
	// KeyID is the key's "kid" ("" when it has none or it is unreadable).
	KeyID string
	// Reason says why the key was left out.
	Reason string
}

// privateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// Parse reads a JWK Set (RFC 7517 §5) from untrusted input and returns a
// verifier holding its usable signature verification keys, and the keys it
// left out. A key is left out (RFC 7517 §5: "ignore JWKs ... that are not
// understood") when it:
//
//   - is not an object, or go-jose cannot read it;
//   - carries private or symmetric key material (HMAC keys are never used:
//     RFC 8725 §3.1, §3.2);
//   - is for encryption ("use" other than "sig", or "key_ops" without
//     "verify", RFC 7517 §4.2, §4.3);
//   - is not an ECDSA (P-256/384/521), Ed25519 or RSA key of 2048 to 8192
//     bits, or has an "alg" that does not fit it;
//   - shares its "kid" with another key: a token naming that kid could be
//     checked against either, so neither is used.
//
// The error wraps [ErrNoKeys] when no key is usable; it is also returned for
// input that is not a JSON object with a "keys" array.
func Parse(data []byte) (*token.Verifier, []Skipped, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if d := bytes.TrimSpace(data); len(d) == 0 || d[0] != '{' {
		return nil, nil, fmt.Errorf("%w: not a JWK Set (a JSON object)", ErrNoKeys)
	}
	if err := json.Unmarshal(data, &set); err != nil || set.Keys == nil {
		return nil, nil, fmt.Errorf("%w: not a JWK Set: want {\"keys\": [...]}", ErrNoKeys)
	}
	var (
		skipped []Skipped
		usable  []jose.JSONWebKey
		counts  = map[string]int{}
	)
	for _, raw := range set.Keys {
		k, reason := readKey(raw)
		if reason != "" {
			skipped = append(skipped, Skipped{KeyID: k.KeyID, Reason: reason})
			continue
		}
		counts[k.KeyID]++
		usable = append(usable, k)
	}
	usable = slices.DeleteFunc(usable, func(k jose.JSONWebKey) bool {
		if counts[k.KeyID] > 1 {
			skipped = append(skipped, Skipped{KeyID: k.KeyID, Reason: "key id used by more than one key"})
			return true
		}
		return false
	})
	if len(usable) == 0 {
		return nil, skipped, fmt.Errorf("%w (%d left out)", ErrNoKeys, len(skipped))
	}
	v, err := token.NewVerifier(usable...)
	if err != nil {
		// Not reached: every key passed NewVerifier on its own and the ids
		// are unique.
		return nil, skipped, fmt.Errorf("%w: %w", ErrNoKeys, err)
	}
	return v, skipped, nil
}

// readKey parses one member of "keys". reason is empty when the key is
// usable; otherwise k holds at most its kid.
func readKey(raw json.RawMessage) (k jose.JSONWebKey, reason string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return k, "not a JSON object"
	}
	var kid string
	if m, ok := members["kid"]; ok && json.Unmarshal(m, &kid) != nil {
		return k, `"kid" is not a string`
	}
	k.KeyID = kid
	for _, name := range privateMembers {
		if _, ok := members[name]; ok {
			return k, fmt.Sprintf("holds private or symmetric key material (%q)", name)
		}
	}
	if m, ok := members["use"]; ok {
		var use string
		if json.Unmarshal(m, &use) != nil || use != "sig" {
			return k, `"use" is not "sig"`
		}
	}
	if m, ok := members["key_ops"]; ok {
		var ops []string
		if json.Unmarshal(m, &ops) != nil || !slices.Contains(ops, "verify") {
			return k, `"key_ops" does not include "verify"`
		}
	}
	// With the private members refused above, go-jose's parser only reads
	// public keys and checks an x5c chain against them.
	var parsed jose.JSONWebKey
	if err := parsed.UnmarshalJSON(raw); err != nil {
		return k, "unreadable: " + err.Error()
	}
	if !parsed.IsPublic() {
		return k, "not a public key"
	}
	if rk, ok := parsed.Key.(*rsa.PublicKey); ok && rk.N.BitLen() > maxRSABits {
		return k, fmt.Sprintf("RSA key over %d bits", maxRSABits)
	}
	if _, err := token.NewVerifier(parsed); err != nil {
		return k, err.Error()
	}
	return parsed, ""
}

// Static is a fixed key set, configured inline instead of fetched. It has
// the methods of [Set] so that either can back a verifier.
type Static struct {
	v *token.Verifier
}

// NewStatic parses a JWK Set as [Parse] does. Keys left out are reported in
// the error, so that a configuration naming an unusable key fails at start.
func NewStatic(data []byte) (*Static, error) {
	v, skipped, err := Parse(data)
	if err == nil && len(skipped) > 0 {
		err = fmt.Errorf("key %q: %s", skipped[0].KeyID, skipped[0].Reason)
	}
	if err != nil {
		return nil, fmt.Errorf("jwks: inline key set: %w", err)
	}
	return &Static{v: v}, nil
}

// Keys returns the fixed keys.
func (s *Static) Keys(context.Context) (*token.Verifier, error) { return s.v, nil }

// Refresh returns the fixed keys: there is nothing to fetch.
func (s *Static) Refresh(context.Context, *token.Verifier) (*token.Verifier, error) {
	return s.v, nil
}
