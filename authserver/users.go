package authserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// User is one account of the built-in login (auth.local.users).
type User struct {
	// Username is what the user types on the login page, compared exactly
	// (case-sensitive). It is also the subject ("sub") of the user's tokens.
	Username string
	// PasswordHash is a bcrypt hash ($2a$, $2b$ or $2y$) or an argon2id hash
	// in PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash), as
	// HashPassword produces.
	PasswordHash string
	// Claims are extra claims put in the user's access tokens. Registered
	// claim names (sub, iss, aud, scope, …) are refused.
	Claims map[string]any
}

// HashPassword parameters: argon2id with the OWASP Password Storage Cheat
// Sheet's minimum configuration (19 MiB memory, 2 iterations, 1 lane),
// a 16-byte salt and a 32-byte key (RFC 9106 §4).
const (
	argonMemory  = 19456 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on argon2id parameters read from a hash, so that a mistyped hash in
// the configuration cannot make every login allocate gigabytes.
const (
	maxArgonMemory = 1 << 20 // KiB: 1 GiB
	maxArgonTime   = 64
)

// bcryptMaxPassword is the longest password bcrypt uses; it silently ignores
// the rest, so longer passwords never match a bcrypt hash here.
const bcryptMaxPassword = 72

// demoUsername is the account NewDemoUser creates.
const demoUsername = "demo"

// ErrBadPasswordHash reports a password hash that is neither bcrypt nor
// argon2id in a supported form.
var ErrBadPasswordHash = errors.New("authserver: unsupported password hash (want bcrypt $2a$/$2b$/$2y$ or argon2id PHC string)")

// passwordHash is a parsed password hash that can check a password.
type passwordHash interface {
	verify(password string) bool
}

// bcryptHash is a bcrypt hash.
type bcryptHash struct {
	hash []byte
	cost int
}

func (h *bcryptHash) verify(password string) bool {
	err := bcrypt.CompareHashAndPassword(h.hash, []byte(password))
	return err == nil && len(password) <= bcryptMaxPassword
}

// argonHash is an argon2id hash (RFC 9106) in PHC form.
type argonHash struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func (h *argonHash) verify(password string) bool {
	k := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(k, h.key) == 1
}

// String renders h in PHC string format.
func (h *argonHash) String() string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memory, h.time, h.threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parsePasswordHash parses a bcrypt or argon2id hash.
func parsePasswordHash(s string) (passwordHash, error) {
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("%w: bcrypt: %v", ErrBadPasswordHash, err)
		}
		return &bcryptHash{hash: []byte(s), cost: cost}, nil
	case strings.HasPrefix(s, "$argon2id$"):
		return parseArgon2id(s)
	}
	return nil, ErrBadPasswordHash
}

// parseArgon2id parses "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" (the PHC string
// format as the argon2 reference implementation writes it; salt and hash in
// base64 without padding). Only version 19 (0x13, RFC 9106) is accepted.
func parseArgon2id(s string) (*argonHash, error) {
	bad := func(why string) error { return fmt.Errorf("%w: argon2id: %s", ErrBadPasswordHash, why) }
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, bad("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, bad("version must be v=19")
	}
	h := &argonHash{}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, bad("parameters must be m, t and p")
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return nil, bad("parameters must be m, t and p, in that order")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || (len(v) > 1 && v[0] == '0') {
			return nil, bad("parameter " + name + " is not a decimal number")
		}
		switch name {
		case "m":
			h.memory = uint32(n)
		case "t":
			h.time = uint32(n)
		case "p":
			if n < 1 || n > 255 {
				return nil, bad("p must be 1 to 255")
			}
			h.threads = uint8(n)
		}
	}
	switch {
	case h.time < 1 || h.time > maxArgonTime:
		return nil, bad(fmt.Sprintf("t must be 1 to %d", maxArgonTime))
	case h.memory < 8*uint32(h.threads) || h.memory > maxArgonMemory:
		return nil, bad(fmt.Sprintf("m must be at least 8*p and at most %d KiB", maxArgonMemory))
	}
	// The decoder skips line breaks; the PHC format has none.
	if !isBase64(parts[4]) || !isBase64(parts[5]) {
		return nil, bad("salt and hash must be unpadded standard base64")
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return nil, bad("salt must be 8 to 64 bytes in unpadded base64")
	}
	if h.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return nil, bad("hash must be 16 to 128 bytes in unpadded base64")
	}
	return h, nil
}

// isBase64 reports whether s uses only the standard base64 alphabet.
func isBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// HashPassword returns the argon2id hash of password in PHC string format,
// for the passwordHash field of a configured user. The parameters are the
// OWASP minimum for argon2id: m=19456 (KiB), t=2, p=1.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("authserver: empty password")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	h := &argonHash{memory: argonMemory, time: argonTime, threads: argonThreads, salt: salt}
	h.key = argon2.IDKey([]byte(password), salt, h.time, h.memory, h.threads, argonKeyLen)
	return h.String(), nil
}

// userList authenticates against a fixed list of users.
type userList struct {
	users map[string]*listedUser
	// dummy is checked when the username is unknown, so that the time a
	// login takes does not tell whether the user exists.
	dummy passwordHash
}

type listedUser struct {
	username string
	hash     passwordHash
	claims   map[string]any
}

// NewUserList returns an Authenticator for users (auth.local.users). Every
// username must be unique and non-empty, and every hash a bcrypt or
// argon2id hash. An identity's Subject is its Username.
//
// A login with an unknown username still verifies the password against a
// dummy hash made with the same algorithm and parameters as the first user's
// hash, so that response times do not reveal which usernames exist; a wrong
// password and an unknown user both return ErrBadCredentials.
func NewUserList(users []User) (Authenticator, error) {
	if len(users) == 0 {
		return nil, errors.New("authserver: no users")
	}
	l := &userList{users: make(map[string]*listedUser, len(users))}
	for i, u := range users {
		if err := checkUsername(u.Username); err != nil {
			return nil, fmt.Errorf("authserver: user %d: %w", i, err)
		}
		if _, dup := l.users[u.Username]; dup {
			return nil, fmt.Errorf("authserver: user %q is listed twice", u.Username)
		}
		h, err := parsePasswordHash(u.PasswordHash)
		if err != nil {
			return nil, fmt.Errorf("authserver: user %q: %w", u.Username, err)
		}
		for k := range u.Claims {
			if reservedClaims[k] {
				return nil, fmt.Errorf("authserver: user %q: claim %q is set by the server and cannot be configured", u.Username, k)
			}
		}
		l.users[u.Username] = &listedUser{username: u.Username, hash: h, claims: maps.Clone(u.Claims)}
		if l.dummy == nil {
			if l.dummy, err = dummyLike(h); err != nil {
				return nil, err
			}
		}
	}
	return l, nil
}

// checkUsername accepts non-empty printable UTF-8 of at most 256 bytes
// without surrounding spaces.
func checkUsername(name string) error {
	switch {
	case name == "":
		return errors.New("empty username")
	case len(name) > 256:
		return errors.New("username longer than 256 bytes")
	case !utf8.ValidString(name):
		return errors.New("username is not valid UTF-8")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("username %q has leading or trailing spaces", name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("username %q contains a control character", name)
		}
	}
	return nil
}

// dummyLike returns a hash of a random password with the same algorithm and
// cost as h.
func dummyLike(h passwordHash) (passwordHash, error) {
	pw := rand.Text()
	switch h := h.(type) {
	case *bcryptHash:
		b, err := bcrypt.GenerateFromPassword([]byte(pw), h.cost)
		if err != nil {
			return nil, fmt.Errorf("authserver: dummy hash: %w", err)
		}
		return &bcryptHash{hash: b, cost: h.cost}, nil
	case *argonHash:
		d := &argonHash{memory: h.memory, time: h.time, threads: h.threads, salt: make([]byte, len(h.salt))}
		rand.Read(d.salt)
		d.key = argon2.IDKey([]byte(pw), d.salt, d.time, d.memory, d.threads, uint32(len(h.key)))
		return d, nil
	}
	return nil, fmt.Errorf("authserver: dummy hash: unexpected %T", h)
}

// Authenticate implements Authenticator. The identity's Subject is the
// username; its Claims are a copy of the user's.
func (l *userList) Authenticate(_ context.Context, username, password string) (*Identity, error) {
	u, ok := l.users[username]
	h := l.dummy
	if ok {
		h = u.hash
	}
	if !h.verify(password) || !ok {
		return nil, ErrBadCredentials
	}
	return &Identity{Subject: u.username, Claims: maps.Clone(u.claims)}, nil
}

// NewDemoUser returns an Authenticator with the single user "demo" and its
// password: 26 random characters (128 bits from crypto/rand, base32). It is
// the development login used when no users are configured; the caller prints
// the password once at startup. Production configurations refuse it.
func NewDemoUser() (auth Authenticator, password string, err error) {
	password = rand.Text()
	hash, err := HashPassword(password)
	if err != nil {
		return nil, "", err
	}
	auth, err = NewUserList([]User{{Username: demoUsername, PasswordHash: hash}})
	if err != nil {
		return nil, "", err
	}
	return auth, password, nil
}
