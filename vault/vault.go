// Package vault seals secrets that the server must keep at rest (signing
// keys, upstream identity-provider tokens) into authenticated envelopes.
//
// A [Keyring] holds one current master key, used to seal, and any number of
// previous keys still accepted to open, so the master key can be rotated
// without losing data. Each master key has a public id derived from it; the id
// is written into every envelope so [Keyring.Open] knows which key to use and
// can say which key is missing.
//
// Encryption is AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce per
// envelope, under a subkey derived per purpose with HKDF-SHA256 (RFC 5869,
// info "frontmcp vault v1 "+purpose). The caller's associated data binds an
// envelope to its record (a key id, a grant id): an envelope copied to another
// record, or opened for another purpose, fails authentication.
//
// Envelope text format (ASCII, safe in JSON and Redis):
//
//	fmv1.<key id: 16 hex>.<base64url, unpadded: nonce(12) || ciphertext || tag(16)>
package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// KeySize is the length of a master key in bytes.
const KeySize = 32

const (
	prefix     = "fmv1."
	keyIDLen   = 16 // hex characters (8 bytes)
	nonceSize  = 12
	tagSize    = 16
	idLabel    = "frontmcp vault key id v1\x00"
	infoPrefix = "frontmcp vault v1 "
	// maxEnvelope bounds the input Open will decode; secrets sealed here are
	// small (a JWK, a token set).
	maxEnvelope = 1 << 20
)

var (
	// ErrUnknownKey reports an envelope sealed with a key that is not in the
	// keyring (neither current nor previous).
	ErrUnknownKey = errors.New("vault: envelope sealed with a key not in the keyring")
	// ErrDecrypt reports an envelope that does not authenticate: wrong key
	// material, tampering, or another purpose or associated data.
	ErrDecrypt = errors.New("vault: envelope failed authentication")
	// ErrMalformed reports bytes that are not a well-formed envelope. It
	// also matches ErrDecrypt: either way the bytes do not open.
	ErrMalformed error = malformedError{}
)

type malformedError struct{}

func (malformedError) Error() string        { return "vault: malformed envelope" }
func (malformedError) Is(target error) bool { return target == ErrDecrypt }

// UnknownKeyError is returned (wrapping [ErrUnknownKey]) when an envelope
// names a key id the keyring does not hold.
type UnknownKeyError struct {
	KeyID string // the key id written in the envelope
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("vault: envelope sealed with key %s, which is not in the keyring", e.KeyID)
}

// Unwrap makes errors.Is(err, ErrUnknownKey) true.
func (e *UnknownKeyError) Unwrap() error { return ErrUnknownKey }

// EnvelopeKeyID returns the key id written in an envelope, or "" when b is not
// a well-formed envelope header.
func EnvelopeKeyID(b []byte) string {
	if !IsSealed(b) {
		return ""
	}
	return string(b[len(prefix) : len(prefix)+keyIDLen])
}

type masterKey struct {
	id  string
	raw []byte

	mu    sync.Mutex
	aeads map[string]cipher.AEAD // by purpose
}

// aead returns the AES-256-GCM instance for the purpose subkey.
func (m *masterKey) aead(purpose string) (cipher.AEAD, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.aeads[purpose]; ok {
		return a, nil
	}
	sub, err := hkdf.Key(sha256.New, m.raw, nil, infoPrefix+purpose, KeySize)
	if err != nil {
		return nil, fmt.Errorf("vault: derive subkey: %w", err)
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if m.aeads == nil {
		m.aeads = make(map[string]cipher.AEAD)
	}
	m.aeads[purpose] = a
	return a, nil
}

// Keyring seals with its current key and opens with the current or any
// previous key. It is safe for concurrent use.
type Keyring struct {
	current *masterKey
	byID    map[string]*masterKey
}

// New parses the current key and older keys still accepted for decryption.
// A key is 32 random bytes written as base64 (standard or URL alphabet, padded
// or not) or as 64 hex characters; surrounding white space is ignored. Errors
// say what is wrong with a key and never include the key itself.
func New(current string, previous []string) (*Keyring, error) {
	cur, err := parseKey(current)
	if err != nil {
		return nil, fmt.Errorf("vault key: %w", err)
	}
	k := &Keyring{current: cur, byID: map[string]*masterKey{cur.id: cur}}
	for i, p := range previous {
		m, err := parseKey(p)
		if err != nil {
			return nil, fmt.Errorf("vault previous key %d: %w", i+1, err)
		}
		if _, dup := k.byID[m.id]; !dup {
			k.byID[m.id] = m
		}
	}
	return k, nil
}

// ParseKey checks that s is a valid master key text and returns its key id.
// Errors never include the key.
func ParseKey(s string) (id string, err error) {
	m, err := parseKey(s)
	if err != nil {
		return "", err
	}
	return m.id, nil
}

func parseKey(s string) (*masterKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty; want 32 random bytes as base64 or 64 hex characters (frontmcp vault generate-key)")
	}
	raw, err := decodeKey(s)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte(idLabel), raw...))
	return &masterKey{id: hex.EncodeToString(sum[:keyIDLen/2]), raw: raw}, nil
}

func decodeKey(s string) ([]byte, error) {
	if len(s) == 2*KeySize {
		if raw, err := hex.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.Strict().DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("not valid base64 or hex (%d characters); want 32 random bytes as base64 or 64 hex characters", len(s))
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes; want exactly %d random bytes", len(raw), KeySize)
	}
	return raw, nil
}

// GenerateKey returns a new random master key in the text form [New] accepts
// (standard base64, padded).
func GenerateKey() (string, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("vault: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// KeyID returns the current key's id (16 hex characters), safe to log and to
// show in `frontmcp keys list`.
func (k *Keyring) KeyID() string { return k.current.id }

// Has reports whether the keyring holds the key with this id.
func (k *Keyring) Has(keyID string) bool {
	_, ok := k.byID[keyID]
	return ok
}

// IsSealed reports whether b looks like an envelope (it starts with the
// versioned prefix and a key id), so callers can tell legacy plaintext apart.
// It does not authenticate b.
func IsSealed(b []byte) bool {
	if len(b) < len(prefix)+keyIDLen+1 || string(b[:len(prefix)]) != prefix {
		return false
	}
	for _, c := range b[len(prefix) : len(prefix)+keyIDLen] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return b[len(prefix)+keyIDLen] == '.'
}

// additionalData binds the envelope header and the caller's aad; the aad is
// length-prefixed so the boundary is unambiguous.
func additionalData(keyID string, aad []byte) []byte {
	ad := make([]byte, 0, len(prefix)+len(keyID)+8+len(aad))
	ad = append(ad, prefix...)
	ad = append(ad, keyID...)
	ad = binary.BigEndian.AppendUint64(ad, uint64(len(aad)))
	return append(ad, aad...)
}

// Seal encrypts plaintext for purpose (for example "signing-key" or
// "upstream-tokens") with the current key. aad binds the envelope to its
// record (for example the kid or the grant id): an envelope moved to another
// record fails to open.
func (k *Keyring) Seal(purpose string, plaintext, aad []byte) ([]byte, error) {
	a, err := k.current.aead(purpose)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(buf); err != nil {
		return nil, fmt.Errorf("vault: nonce: %w", err)
	}
	buf = a.Seal(buf, buf[:nonceSize], plaintext, additionalData(k.current.id, aad))
	out := make([]byte, 0, len(prefix)+keyIDLen+1+base64.RawURLEncoding.EncodedLen(len(buf)))
	out = append(out, prefix...)
	out = append(out, k.current.id...)
	out = append(out, '.')
	return base64.RawURLEncoding.AppendEncode(out, buf), nil
}

// Open decrypts an envelope with the key named in it. It returns an error
// wrapping [ErrUnknownKey] (an [*UnknownKeyError]) when that key is not in the
// keyring, [ErrDecrypt] when authentication fails (wrong key material,
// tampering, another purpose or aad), and [ErrMalformed] (which also matches
// ErrDecrypt) for bytes that are not an envelope.
func (k *Keyring) Open(purpose string, envelope, aad []byte) ([]byte, error) {
	if len(envelope) > maxEnvelope || !IsSealed(envelope) {
		return nil, ErrMalformed
	}
	id := string(envelope[len(prefix) : len(prefix)+keyIDLen])
	body := envelope[len(prefix)+keyIDLen+1:]
	if bytes.ContainsAny(body, "\r\n") { // the decoder skips them; keep envelopes canonical
		return nil, ErrMalformed
	}
	buf, err := base64.RawURLEncoding.Strict().AppendDecode(nil, body)
	if err != nil || len(buf) < nonceSize+tagSize {
		return nil, ErrMalformed
	}
	m, ok := k.byID[id]
	if !ok {
		return nil, &UnknownKeyError{KeyID: id}
	}
	a, err := m.aead(purpose)
	if err != nil {
		return nil, err
	}
	pt, err := a.Open(nil, buf[:nonceSize], buf[nonceSize:], additionalData(id, aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}
