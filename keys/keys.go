// Package keys manages the signing keys of the embedded authorization server:
// parsing an operator-provided private JWK (auth.local.signKey or
// JWT_SIGNING_KEY), generating keys, and encoding them for operators.
//
// It exists so that "tokens invalid after deployment" cannot happen by
// accident: a key is validated once at startup with an error that names the
// problem (wrong kty, missing private part, weak RSA, unknown alg), and the
// same code generates the keys operators paste into the environment.
package keys

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/frontmcp-go/frontmcp/token"
	jose "github.com/go-jose/go-jose/v4"
)

// Algorithms lists the signing algorithms a key may carry, with the key types
// they need (RFC 7518 §3.1, RFC 8037 §3.1).
var Algorithms = []string{token.ES256, token.ES384, token.ES512, token.EdDSA,
	token.RS256, token.RS384, token.RS512, token.PS256, token.PS384, token.PS512}

// ErrInvalidKey wraps every problem ParsePrivate finds.
var ErrInvalidKey = errors.New("invalid signing key")

// ParsePrivate parses and checks a private JWK (RFC 7517) for signing access
// tokens: EC P-256/P-384/P-521, OKP Ed25519, or RSA of at least 2048 bits;
// "alg", when present, must be a known algorithm that fits the key. The
// returned key has a "kid": the JWK's own, or its RFC 7638 thumbprint.
func ParsePrivate(data []byte) (jose.JSONWebKey, error) {
	var probe struct {
		Kty string `json:"kty"`
		Alg string `json:"alg"`
		Crv string `json:"crv"`
		D   string `json:"d"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("%w: not a JSON object: %v", ErrInvalidKey, err)
	}
	switch probe.Kty {
	case "EC", "RSA":
	case "OKP":
		if probe.Crv != "Ed25519" {
			return jose.JSONWebKey{}, fmt.Errorf("%w: OKP curve %q is not supported (use Ed25519)", ErrInvalidKey, probe.Crv)
		}
	case "":
		return jose.JSONWebKey{}, fmt.Errorf("%w: missing \"kty\"", ErrInvalidKey)
	case "oct":
		return jose.JSONWebKey{}, fmt.Errorf("%w: kty \"oct\" is a shared secret; access tokens are signed with asymmetric keys (EC, OKP or RSA)", ErrInvalidKey)
	default:
		return jose.JSONWebKey{}, fmt.Errorf("%w: kty %q is not supported (use EC, OKP or RSA)", ErrInvalidKey, probe.Kty)
	}
	if probe.Alg != "" && !slices.Contains(Algorithms, probe.Alg) {
		return jose.JSONWebKey{}, fmt.Errorf("%w: unknown alg %q (supported: %v)", ErrInvalidKey, probe.Alg, Algorithms)
	}
	if probe.D == "" {
		return jose.JSONWebKey{}, fmt.Errorf("%w: the JWK has no private part (\"d\"): this is a public key", ErrInvalidKey)
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(data); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	if rk, ok := k.Key.(*rsa.PrivateKey); ok && rk.N.BitLen() < token.MinRSABits {
		return jose.JSONWebKey{}, fmt.Errorf("%w: RSA key of %d bits is too weak (at least %d)", ErrInvalidKey, rk.N.BitLen(), token.MinRSABits)
	}
	// NewSigner checks that the key is private and that alg fits it.
	if _, err := token.NewSigner(k, nil); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	if k.KeyID == "" {
		kid, err := token.Thumbprint(k)
		if err != nil {
			return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		k.KeyID = kid
	}
	if k.Use == "" {
		k.Use = "sig"
	}
	return k, nil
}

// Generate makes a new private signing key for alg (ES256 by default) with
// kid, or its RFC 7638 thumbprint when kid is empty.
func Generate(alg, kid string) (jose.JSONWebKey, error) {
	k, err := token.GenerateKey(alg)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	if kid != "" {
		k.KeyID = kid
	}
	return k, nil
}

// Public returns the public half of a private key as published in a JWKS:
// kid, alg and use set, no private members.
func Public(k jose.JSONWebKey) (jose.JSONWebKey, error) {
	s, err := token.NewSigner(k, nil)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return s.PublicKey(), nil
}

// ParseVerify parses a JWK kept for verification only (auth.local.verifyKeys):
// public or private, of a supported type and size. It returns the public half.
func ParseVerify(data []byte) (jose.JSONWebKey, error) {
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(data); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	pub := k.Public()
	if !pub.Valid() {
		return jose.JSONWebKey{}, fmt.Errorf("%w: not a usable public key", ErrInvalidKey)
	}
	if _, err := token.NewVerifier(pub); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	if pub.KeyID == "" {
		kid, err := token.Thumbprint(pub)
		if err != nil {
			return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		pub.KeyID = kid
	}
	return pub, nil
}
