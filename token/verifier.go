package token

import (
	"crypto"
	"errors"
	"fmt"
	"slices"
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
	// AcceptTyp, when non-empty (and SkipTyp is false), replaces RequireTyp
	// with a list: "typ" must match one of these values (compared as
	// RequireTyp is), and an empty string in the list accepts a token
	// without "typ". It lets a resource server take the access tokens of an
	// issuer that types them "JWT" or not at all while still refusing JWTs
	// explicitly typed for another purpose, such as "id_token+jwt" or
	// "logout+jwt" (RFC 8725 §3.11). The RFC 9068 §2.2 claims are required
	// when the token's own typ is at+jwt.
	AcceptTyp []string
	// AdditionalIssuers are further exact "iss" values accepted besides
	// Issuer, for an identity provider known under several issuer URLs.
	AdditionalIssuers []string
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
}

// supportedAlgs are the algorithms any key may verify (see keyAlgorithms).
var supportedAlgs = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
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
// required claims; "iss" equal to want.Issuer or one of
// want.AdditionalIssuers; want.Audience among "aud";
// now < exp + leeway; nbf - leeway <= now; iat - leeway <= now.
func (v *Verifier) Verify(raw string, want VerifyOptions) (*Claims, error) {
	c, _, err := v.VerifyKeyID(raw, want)
	return c, err
}

// VerifyKeyID is [Verifier.Verify] that also returns the key id ("kid"
// header) of the key that verified the token: "" when a single-key set
// verified a token without "kid". A caller that caches the outcome can check
// with [Verifier.HasKey] that a later key set still holds that key.
func (v *Verifier) VerifyKeyID(raw string, want VerifyOptions) (*Claims, string, error) {
	if want.Issuer == "" {
		return nil, "", fmt.Errorf("%w: VerifyOptions.Issuer is empty", ErrIssuer)
	}
	if want.Audience == "" {
		return nil, "", fmt.Errorf("%w: VerifyOptions.Audience is empty", ErrAudience)
	}
	if err := checkCompact(raw); err != nil {
		return nil, "", err
	}
	// Parse with every supported asymmetric algorithm, not only those of
	// this key set: a token from a key this set does not hold yet must
	// yield ErrUnknownKey (which a caller answers by refetching its keys),
	// even when the new key uses another algorithm. The algorithm is then
	// checked against the key the kid names. "none" and HMAC fail here.
	jws, err := jose.ParseSignedCompact(raw, supportedAlgs)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, "", fmt.Errorf("%w: %q", ErrAlgorithm, algErr.Got)
		}
		return nil, "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, "", fmt.Errorf("%w: expected one signature", ErrMalformed)
	}
	h := jws.Signatures[0].Header
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, "", fmt.Errorf("%w: crit header is not supported", ErrMalformed)
	}
	if _, ok := h.ExtraHeaders["b64"]; ok {
		return nil, "", fmt.Errorf("%w: b64 header is not supported", ErrMalformed)
	}
	atJWT, err := checkTyp(h.ExtraHeaders, &want)
	if err != nil {
		return nil, "", err
	}
	vk := v.lookup(h.KeyID)
	if vk == nil {
		return nil, "", fmt.Errorf("%w: %q", ErrUnknownKey, h.KeyID)
	}
	alg := jose.SignatureAlgorithm(h.Algorithm)
	if !containsAlg(vk.algs, alg) {
		return nil, "", fmt.Errorf("%w: %q does not fit key %q", ErrAlgorithm, h.Algorithm, h.KeyID)
	}
	payload, err := jws.Verify(vk.key)
	if err != nil {
		return nil, "", ErrSignature
	}
	c := new(Claims)
	if err := c.UnmarshalJSON(payload); err != nil {
		return nil, "", err
	}
	if err := checkClaims(c, &want, atJWT); err != nil {
		return nil, "", err
	}
	return c, h.KeyID, nil
}

// HasKey reports whether v verifies tokens whose "kid" header is kid; ""
// stands for a token without "kid", which only a single-key set verifies.
func (v *Verifier) HasKey(kid string) bool {
	return v.lookup(kid) != nil
}

// SameKey reports whether v and w verify tokens naming kid ("" for no kid,
// as in [Verifier.HasKey]) with the same public key and the same algorithms,
// so that a token one of them accepted the other accepts too. A cache of
// verified tokens uses it to keep an entry across a key set refresh that
// still publishes the token's key.
func (v *Verifier) SameKey(w *Verifier, kid string) bool {
	a, b := v.lookup(kid), w.lookup(kid)
	if a == nil || b == nil {
		return false
	}
	if a == b {
		return true
	}
	eq, ok := a.key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b.key) && slices.Equal(a.algs, b.algs)
}

// lookup returns the key that verifies a token naming kid.
func (v *Verifier) lookup(kid string) *verifyKey {
	if vk := v.byKID[kid]; vk != nil || kid != "" {
		return vk
	}
	return v.single
}

// checkTyp applies the "typ" rules of want (RFC 9068 §4, RFC 8725 §3.11) to
// the protected header and reports whether the RFC 9068 §2.2 claims are
// required.
func checkTyp(headers map[jose.HeaderKey]any, want *VerifyOptions) (atJWT bool, err error) {
	if want.SkipTyp {
		return false, nil
	}
	rawTyp, present := headers["typ"]
	typ, _ := rawTyp.(string)
	if len(want.AcceptTyp) > 0 {
		for _, accepted := range want.AcceptTyp {
			// Only an absent header counts as "no typ"; an empty or
			// non-string value is malformed and matches nothing.
			if (accepted == "" && !present) || sameMediaType(typ, accepted) {
				return sameMediaType(typ, TypAccessToken), nil
			}
		}
		return false, fmt.Errorf("%w: typ %q, want one of %q", ErrType, typ, want.AcceptTyp)
	}
	required := want.RequireTyp
	if required == "" {
		required = TypAccessToken
	}
	if !sameMediaType(typ, required) {
		return false, fmt.Errorf("%w: typ %q, want %q", ErrType, typ, required)
	}
	return sameMediaType(required, TypAccessToken), nil
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
	if c.Issuer != want.Issuer && !slices.Contains(want.AdditionalIssuers, c.Issuer) {
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
