package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
	"unsafe"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
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
//
// The protected header never changes, so it is encoded once; each token
// costs the claims encoding and one signature of the JWS signing input
// (RFC 7515 §5.1), computed with the standard library as RFC 7518 §3
// defines it for the key's algorithm. Tokens are compact JWS that go-jose
// (and any JOSE library) verifies.
type Signer struct {
	sign   func(signingInput []byte) ([]byte, error)
	header string // BASE64URL(UTF8(JWS Protected Header)), then "."
	sigLen int    // length of a signature, to size the token
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
	sign, sigLen, err := signFunc(key.Key, alg)
	if err != nil {
		return nil, err
	}
	// The header go-jose writes for this key and typ, members in the same
	// (sorted) order.
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), kid, TypAccessToken})
	if err != nil {
		return nil, err
	}
	s := &Signer{
		sign:   sign,
		header: base64.RawURLEncoding.EncodeToString(header) + ".",
		sigLen: sigLen,
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

// signFunc returns the function that signs a JWS signing input with priv
// for alg (RFC 7518 §3.3-3.5, RFC 8037 §3.1) and the length of its
// signatures. keyAlgorithms has checked that alg fits the key.
func signFunc(priv any, alg jose.SignatureAlgorithm) (func([]byte) ([]byte, error), int, error) {
	var h crypto.Hash
	switch alg {
	case jose.ES256, jose.RS256, jose.PS256:
		h = crypto.SHA256
	case jose.ES384, jose.RS384, jose.PS384:
		h = crypto.SHA384
	case jose.ES512, jose.RS512, jose.PS512:
		h = crypto.SHA512
	}
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		// RFC 7518 §3.4: R and S as fixed-length big-endian octet strings.
		size := (k.Curve.Params().BitSize + 7) / 8
		return func(in []byte) ([]byte, error) {
			der, err := ecdsa.SignASN1(rand.Reader, k, digest(h, in))
			if err != nil {
				return nil, err
			}
			return ecdsaRawSignature(der, size)
		}, 2 * size, nil
	case ed25519.PrivateKey:
		return func(in []byte) ([]byte, error) {
			return ed25519.Sign(k, in), nil
		}, ed25519.SignatureSize, nil
	case *rsa.PrivateKey:
		pss := alg == jose.PS256 || alg == jose.PS384 || alg == jose.PS512
		return func(in []byte) ([]byte, error) {
			if pss {
				return rsa.SignPSS(rand.Reader, k, h, digest(h, in), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			}
			return rsa.SignPKCS1v15(rand.Reader, k, h, digest(h, in))
		}, k.Size(), nil
	}
	return nil, 0, fmt.Errorf("%w: key type %T", ErrUnsupportedKey, priv)
}

// digest hashes in with h (SHA-256, -384 or -512).
func digest(h crypto.Hash, in []byte) []byte {
	switch h {
	case crypto.SHA384:
		d := sha512.Sum384(in)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(in)
		return d[:]
	}
	d := sha256.Sum256(in)
	return d[:]
}

// ecdsaRawSignature converts an ASN.1 ECDSA signature into the JWS form:
// R then S, each padded to size octets (RFC 7518 §3.4).
func ecdsaRawSignature(der []byte, size int) ([]byte, error) {
	var r, s []byte
	var inner cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() ||
		len(r) > size || len(s) > size {
		return nil, fmt.Errorf("token: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	copy(out[size-len(r):size], r)
	copy(out[2*size-len(s):], s)
	return out, nil
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
	payload, err := c.appendJSON(make([]byte, 0, 512))
	if err != nil {
		return "", err
	}
	// RFC 7515 §7.1: header "." payload "." signature, each BASE64URL.
	enc := base64.RawURLEncoding
	jws := make([]byte, 0, len(s.header)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(s.sigLen))
	jws = append(jws, s.header...)
	jws = enc.AppendEncode(jws, payload)
	sig, err := s.sign(jws)
	if err != nil {
		return "", fmt.Errorf("token: signing: %w", err)
	}
	jws = append(jws, '.')
	jws = enc.AppendEncode(jws, sig)
	// jws is not written again: the string may share its bytes.
	return unsafe.String(unsafe.SliceData(jws), len(jws)), nil
}
