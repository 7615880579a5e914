package token

import (
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TypAccessToken is the "typ" header of JWT access tokens (RFC 9068 §2.1).
const TypAccessToken = "at+jwt"

// SignerOptions configures a [Signer]. A nil *SignerOptions means defaults.
type SignerOptions struct {
	// Now returns the current time, used for "iat" when the claims leave it
	// zero. Nil means time.Now.
	Now func() time.Time
}

// Signer issues JWT access tokens (RFC 9068) with one private key. It is
// safe for concurrent use.
type Signer struct {
	signer jose.Signer
	alg    string
	kid    string
	public jose.JSONWebKey
	now    func() time.Time
}

// NewSigner returns a Signer for the private key in key: ECDSA (P-256,
// P-384, P-521), Ed25519 or RSA of at least 2048 bits. The algorithm is
// key.Algorithm if set (it must fit the key type), otherwise ES256/ES384/
// ES512 by curve, EdDSA, or RS256 for RSA. The "kid" header is key.KeyID,
// or the key's RFC 7638 thumbprint when KeyID is empty.
func NewSigner(key jose.JSONWebKey, opts *SignerOptions) (*Signer, error) {
	pub, ok := publicKeyOf(key.Key)
	if !ok || key.IsPublic() {
		return nil, fmt.Errorf("%w: a private ECDSA, Ed25519 or RSA key is required", ErrUnsupportedKey)
	}
	algs, err := keyAlgorithms(pub, key.Algorithm)
	if err != nil {
		return nil, err
	}
	alg := algs[0] // the curve's ES*, EdDSA, RS256, or key.Algorithm
	kid := key.KeyID
	if kid == "" {
		if kid, err = Thumbprint(key); err != nil {
			return nil, err
		}
	}
	js, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key.Key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(TypAccessToken),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	s := &Signer{
		signer: js,
		alg:    string(alg),
		kid:    kid,
		public: jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"},
		now:    time.Now,
	}
	if opts != nil && opts.Now != nil {
		s.now = opts.Now
	}
	return s, nil
}

// KeyID returns the "kid" header value of tokens from s.
func (s *Signer) KeyID() string { return s.kid }

// Algorithm returns the "alg" header value of tokens from s.
func (s *Signer) Algorithm() string { return s.alg }

// PublicKey returns the public key that verifies tokens from s, with its
// kid, alg and use set, for a JWK Set or a [Verifier].
func (s *Signer) PublicKey() jose.JSONWebKey { return s.public }

// Sign returns a JWT access token (RFC 9068 §2) for c: a compact JWS with
// header {"alg", "kid", "typ": "at+jwt"}.
//
// The claims required by RFC 9068 §2.2 must be present: iss, sub, aud, exp
// and client_id; otherwise the error wraps [ErrMissingClaim]. Sign fills in
// c.IssuedAt (now) and c.ID (a random [NewID]) when they are zero, so the
// caller sees the values used. exp must be after iat.
func (s *Signer) Sign(c *Claims) (string, error) {
	switch {
	case c.Issuer == "":
		return "", fmt.Errorf("%w: iss", ErrMissingClaim)
	case c.Subject == "":
		return "", fmt.Errorf("%w: sub", ErrMissingClaim)
	case len(c.Audience) == 0:
		return "", fmt.Errorf("%w: aud", ErrMissingClaim)
	case c.ExpiresAt.IsZero():
		return "", fmt.Errorf("%w: exp", ErrMissingClaim)
	case c.ClientID == "":
		return "", fmt.Errorf("%w: client_id", ErrMissingClaim)
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = s.now()
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	if !c.ExpiresAt.After(c.IssuedAt) {
		return "", fmt.Errorf("token: exp %v is not after iat %v", c.ExpiresAt, c.IssuedAt)
	}
	payload, err := c.MarshalJSON()
	if err != nil {
		return "", err
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("token: signing: %w", err)
	}
	return jws.CompactSerialize()
}
