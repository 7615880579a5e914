package token

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxTokenLen is the longest token [Verifier.Verify] will parse.
const MaxTokenLen = 16 << 10

// VerifyOptions says what a token must satisfy. Issuer and Audience are
// required: a verifier that skips either check accepts tokens minted for
// someone else.
type VerifyOptions struct {
	// Issuer must equal the "iss" claim exactly.
	Issuer string
	// Audience must be one of the "aud" values, compared exactly (pass the
	// canonical resource identifier).
	Audience string
	// Now is the time to check exp, nbf and iat against. Zero means
	// time.Now().
	Now time.Time
	// Leeway is the allowed clock skew for exp, nbf and iat. Zero means
	// none; negative values count as zero.
	Leeway time.Duration
	// RequireTyp is the required "typ" header. Empty means "at+jwt"
	// (RFC 9068 §4). Values are media types compared case-insensitively,
	// with an "application/" prefix optional (RFC 7515 §4.1.9), so
	// "application/at+jwt" also satisfies "at+jwt".
	RequireTyp string
	// SkipTyp turns the typ check off, for third-party issuers whose access
	// tokens are not explicitly typed. When the typ check is on and requires
	// at+jwt, the RFC 9068 §2.2 claims sub, client_id, iat and jti must be
	// present; iss, aud and exp are always required.
	SkipTyp bool
}

// Verifier checks JWT access tokens against a fixed set of public keys. Keys
// are looked up by "kid" in a map built once. It is safe for concurrent use.
//
// Verification follows RFC 8725 and RFC 9068 §4: only the asymmetric
// algorithms that fit the key are accepted ("none" and HMAC never are); key
// material named or embedded in the token ("jku", "x5u", "jwk", "x5c") is
// never used; a "crit" or "b64" header is refused; the token must be a
// canonical compact JWS (base64url without padding or line breaks).
type Verifier struct {
	byKID  map[string]*verifyKey
	single *verifyKey // the only key, for tokens without "kid"
	algs   []jose.SignatureAlgorithm
}

type verifyKey struct {
	key  crypto.PublicKey
	algs []jose.SignatureAlgorithm
}

// NewVerifier returns a Verifier for keys (public or private; only the
// public half is kept). Keys with "use" "enc" are skipped. Each key must be
// ECDSA (P-256/384/521), Ed25519 or RSA of at least 2048 bits; a JWK "alg"
// restricts the key to that algorithm. Key IDs must be unique. A token
// without "kid" is accepted only when the set has exactly one key.
func NewVerifier(keys ...jose.JSONWebKey) (*Verifier, error) {
	v := &Verifier{byKID: make(map[string]*verifyKey, len(keys))}
	seen := map[jose.SignatureAlgorithm]bool{}
	for _, k := range keys {
		if k.Use == "enc" {
			continue
		}
		pub, ok := publicKeyOf(k.Key)
		if !ok {
			return nil, fmt.Errorf("%w: key %q: type %T (only ECDSA, Ed25519 and RSA)", ErrUnsupportedKey, k.KeyID, k.Key)
		}
		algs, err := keyAlgorithms(pub, k.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.KeyID, err)
		}
		if _, dup := v.byKID[k.KeyID]; dup {
			return nil, fmt.Errorf("%w: duplicate key id %q", ErrUnsupportedKey, k.KeyID)
		}
		vk := &verifyKey{key: pub, algs: algs}
		v.byKID[k.KeyID] = vk
		v.single = vk
		for _, a := range algs {
			if !seen[a] {
				seen[a] = true
				v.algs = append(v.algs, a)
			}
		}
	}
	if len(v.byKID) != 1 {
		v.single = nil
	}
	if len(v.byKID) == 0 {
		return nil, fmt.Errorf("%w: no signature verification keys", ErrUnsupportedKey)
	}
	return v, nil
}

// Verify checks raw and returns its claims. Errors wrap one of
// [ErrMalformed], [ErrAlgorithm], [ErrType], [ErrUnknownKey],
// [ErrSignature], [ErrMissingClaim], [ErrIssuer], [ErrAudience],
// [ErrExpired] or [ErrNotYetValid].
//
// Checks (RFC 9068 §4, RFC 7519 §7.2): compact JWS syntax; "alg" allowed
// for the key named by "kid"; "typ" (see [VerifyOptions]); signature;
// required claims; "iss" equal to want.Issuer; want.Audience among "aud";
// now < exp + leeway; nbf - leeway <= now; iat - leeway <= now.
func (v *Verifier) Verify(raw string, want VerifyOptions) (*Claims, error) {
	if want.Issuer == "" {
		return nil, fmt.Errorf("%w: VerifyOptions.Issuer is empty", ErrIssuer)
	}
	if want.Audience == "" {
		return nil, fmt.Errorf("%w: VerifyOptions.Audience is empty", ErrAudience)
	}
	if err := checkCompact(raw); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, fmt.Errorf("%w: %q", ErrAlgorithm, algErr.Got)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: expected one signature", ErrMalformed)
	}
	h := jws.Signatures[0].Header
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, fmt.Errorf("%w: crit header is not supported", ErrMalformed)
	}
	if _, ok := h.ExtraHeaders["b64"]; ok {
		return nil, fmt.Errorf("%w: b64 header is not supported", ErrMalformed)
	}
	atJWT := false
	if !want.SkipTyp {
		required := want.RequireTyp
		if required == "" {
			required = TypAccessToken
		}
		typ, _ := h.ExtraHeaders["typ"].(string)
		if !sameMediaType(typ, required) {
			return nil, fmt.Errorf("%w: typ %q, want %q", ErrType, typ, required)
		}
		atJWT = sameMediaType(required, TypAccessToken)
	}
	vk := v.byKID[h.KeyID]
	if vk == nil && h.KeyID == "" {
		vk = v.single
	}
	if vk == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, h.KeyID)
	}
	alg := jose.SignatureAlgorithm(h.Algorithm)
	if !containsAlg(vk.algs, alg) {
		return nil, fmt.Errorf("%w: %q does not fit key %q", ErrAlgorithm, h.Algorithm, h.KeyID)
	}
	payload, err := jws.Verify(vk.key)
	if err != nil {
		return nil, ErrSignature
	}
	c := new(Claims)
	if err := c.UnmarshalJSON(payload); err != nil {
		return nil, err
	}
	if err := checkClaims(c, &want, atJWT); err != nil {
		return nil, err
	}
	return c, nil
}

func checkClaims(c *Claims, want *VerifyOptions, atJWT bool) error {
	switch {
	case c.Issuer == "":
		return fmt.Errorf("%w: iss", ErrMissingClaim)
	case len(c.Audience) == 0:
		return fmt.Errorf("%w: aud", ErrMissingClaim)
	case c.ExpiresAt.IsZero():
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	}
	if atJWT {
		switch {
		case c.Subject == "":
			return fmt.Errorf("%w: sub", ErrMissingClaim)
		case c.ClientID == "":
			return fmt.Errorf("%w: client_id", ErrMissingClaim)
		case c.IssuedAt.IsZero():
			return fmt.Errorf("%w: iat", ErrMissingClaim)
		case c.ID == "":
			return fmt.Errorf("%w: jti", ErrMissingClaim)
		}
	}
	if c.Issuer != want.Issuer {
		return fmt.Errorf("%w: %q", ErrIssuer, c.Issuer)
	}
	if !c.HasAudience(want.Audience) {
		return fmt.Errorf("%w: %q", ErrAudience, c.Audience)
	}
	now := want.Now
	if now.IsZero() {
		now = time.Now()
	}
	leeway := max(want.Leeway, 0)
	if !now.Before(c.ExpiresAt.Add(leeway)) {
		return fmt.Errorf("%w: at %v", ErrExpired, c.ExpiresAt)
	}
	if !c.NotBefore.IsZero() && now.Before(c.NotBefore.Add(-leeway)) {
		return fmt.Errorf("%w: nbf %v", ErrNotYetValid, c.NotBefore)
	}
	if !c.IssuedAt.IsZero() && now.Before(c.IssuedAt.Add(-leeway)) {
		return fmt.Errorf("%w: iat %v", ErrNotYetValid, c.IssuedAt)
	}
	return nil
}

// checkCompact checks the JWS compact serialization syntax (RFC 7515 §7.1):
// three non-empty segments of canonical unpadded base64url. Canonical means
// the unused low bits of the last character are zero, so every token has one
// spelling (no malleable variants of a valid token).
func checkCompact(raw string) error {
	if len(raw) > MaxTokenLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenLen)
	}
	segments, start := 0, 0
	for i := 0; i <= len(raw); i++ {
		if i < len(raw) && raw[i] != '.' {
			if b64Value(raw[i]) < 0 {
				return fmt.Errorf("%w: character %q not allowed", ErrMalformed, raw[i])
			}
			continue
		}
		if !canonicalB64(raw[start:i]) {
			return fmt.Errorf("%w: segment %d is not canonical base64url", ErrMalformed, segments+1)
		}
		segments++
		start = i + 1
	}
	if segments != 3 {
		return fmt.Errorf("%w: %d segments, want 3", ErrMalformed, segments)
	}
	return nil
}

// canonicalB64 reports whether a base64url segment (alphabet already
// checked) is non-empty, has a possible length, and has zero padding bits.
func canonicalB64(s string) bool {
	switch len(s) % 4 {
	case 0:
		return len(s) > 0
	case 1:
		return false
	case 2:
		return b64Value(s[len(s)-1])&0x0f == 0
	default: // 3
		return b64Value(s[len(s)-1])&0x03 == 0
	}
}

func b64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// sameMediaType compares two "typ" values as media types (RFC 7515 §4.1.9):
// case-insensitively, with "application/" implied when there is no '/'.
func sameMediaType(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return strings.EqualFold(shortMediaType(a), shortMediaType(b))
}

// shortMediaType removes an "application/" prefix when what remains has no
// '/', the inverse of the RFC 7515 §4.1.9 rule, without allocating.
func shortMediaType(t string) string {
	const app = "application/"
	if len(t) > len(app) && strings.EqualFold(t[:len(app)], app) && strings.IndexByte(t[len(app):], '/') < 0 {
		return t[len(app):]
	}
	return t
}

func containsAlg(list []jose.SignatureAlgorithm, a jose.SignatureAlgorithm) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}
