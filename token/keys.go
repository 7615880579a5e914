package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// Supported signature algorithms (RFC 7518 §3.1, RFC 8037 §3.1). Only
// asymmetric algorithms exist here: "none" and HMAC are never accepted.
const (
	ES256 = string(jose.ES256)
	ES384 = string(jose.ES384)
	ES512 = string(jose.ES512)
	EdDSA = string(jose.EdDSA)
	RS256 = string(jose.RS256)
	RS384 = string(jose.RS384)
	RS512 = string(jose.RS512)
	PS256 = string(jose.PS256)
	PS384 = string(jose.PS384)
	PS512 = string(jose.PS512)
)

// DefaultAlgorithm is the signing algorithm used when none is given: ES256
// is fast to sign and small.
const DefaultAlgorithm = ES256

// MinRSABits is the smallest RSA modulus accepted for signing or verifying
// (RFC 8725 §3.5, NIST SP 800-131A).
const MinRSABits = 2048

var rsaAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}

// keyAlgorithms returns the algorithms a public key may verify, bound to its
// type (RFC 8725 §3.1): ECDSA by curve, Ed25519 with EdDSA, RSA (2048 bits
// or more) with RS* and PS*. A non-empty jwkAlg (the JWK "alg" member)
// narrows the set to that one algorithm, which must fit the key.
func keyAlgorithms(pub crypto.PublicKey, jwkAlg string) ([]jose.SignatureAlgorithm, error) {
	var algs []jose.SignatureAlgorithm
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			algs = []jose.SignatureAlgorithm{jose.ES256}
		case elliptic.P384():
			algs = []jose.SignatureAlgorithm{jose.ES384}
		case elliptic.P521():
			algs = []jose.SignatureAlgorithm{jose.ES512}
		default:
			return nil, fmt.Errorf("%w: unsupported elliptic curve", ErrUnsupportedKey)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: bad Ed25519 key size", ErrUnsupportedKey)
		}
		algs = []jose.SignatureAlgorithm{jose.EdDSA}
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("%w: RSA keys need at least %d bits", ErrUnsupportedKey, MinRSABits)
		}
		algs = rsaAlgs
	default:
		return nil, fmt.Errorf("%w: key type %T (only ECDSA, Ed25519 and RSA public keys)", ErrUnsupportedKey, pub)
	}
	if jwkAlg == "" {
		return algs, nil
	}
	for _, a := range algs {
		if string(a) == jwkAlg {
			return []jose.SignatureAlgorithm{a}, nil
		}
	}
	return nil, fmt.Errorf("%w: algorithm %q does not fit the key type", ErrUnsupportedKey, jwkAlg)
}

// publicKeyOf returns the public half of a private or public key.
func publicKeyOf(k any) (crypto.PublicKey, bool) {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return &k.PublicKey, true
	case ed25519.PrivateKey:
		return k.Public(), true
	case *rsa.PrivateKey:
		return &k.PublicKey, true
	case *ecdsa.PublicKey, ed25519.PublicKey, *rsa.PublicKey:
		return k, true
	}
	return nil, false
}

// GenerateKey generates a private signing key for alg ("" means
// [DefaultAlgorithm]): ES256/ES384/ES512 on P-256/P-384/P-521, EdDSA on
// Ed25519, RS256/RS384/RS512/PS256/PS384/PS512 with a 2048-bit RSA modulus
// (use a larger key from another source if needed). The key has "alg" set,
// "use" "sig" and a "kid" that is its RFC 7638 JWK thumbprint.
func GenerateKey(alg string) (jose.JSONWebKey, error) {
	if alg == "" {
		alg = DefaultAlgorithm
	}
	var (
		priv any
		err  error
	)
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case RS256, RS384, RS512, PS256, PS384, PS512:
		priv, err = rsa.GenerateKey(rand.Reader, MinRSABits)
	default:
		return jose.JSONWebKey{}, fmt.Errorf("%w: algorithm %q", ErrUnsupportedKey, alg)
	}
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	k := jose.JSONWebKey{Key: priv, Algorithm: alg, Use: "sig"}
	if k.KeyID, err = Thumbprint(k); err != nil {
		return jose.JSONWebKey{}, err
	}
	return k, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of k (SHA-256, unpadded
// base64url). A private key and its public key have the same thumbprint.
func Thumbprint(k jose.JSONWebKey) (string, error) {
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// PublicJWKS returns the JWK Set (RFC 7517 §5) of the public halves of
// keys, for the jwks_uri endpoint. "kid", "alg" and "use" are kept; private
// material is never included. Keys that have no public half (symmetric or
// unknown key types) are left out.
func PublicJWKS(keys ...jose.JSONWebKey) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		pub, ok := publicKeyOf(k.Key)
		if !ok {
			continue
		}
		p := k
		p.Key = pub
		set.Keys = append(set.Keys, p)
	}
	return set
}
