package authserver

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
)

// Reference hashes made by other implementations: bcrypt vectors from the
// openwall crypt_blowfish test suite, argon2id strings from the argon2
// reference command-line tool (echo -n PASSWORD | argon2 SALT -id … -e).
const (
	vecBcrypt2a    = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" // U*U
	vecBcrypt2aB   = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK" // U*U*
	vecBcrypt2b    = "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" // U*U
	vecBcrypt2y    = "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" // U*U
	vecArgonOWASP  = "$argon2id$v=19$m=19456,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$rQds/Bu6doDlAX1q+x5hT4xN/rBg1Px81Z0nC+AIR1U"
	vecArgonSmall  = "$argon2id$v=19$m=4096,t=2,p=2$c2FsdHNhbHRzYWx0c2FsdA$KS1R/Jrm0OsJkyDJA3UH5cmgyw2WPZYMk0g3hEDFX3c"
	vecArgonShort  = "$argon2id$v=19$m=64,t=1,p=4$MDEyMzQ1Njc4OWFiY2RlZg$GRUcyu1vcPBcUlnpavduUw"
	pwArgonOWASP   = "password"
	pwArgonSmall   = "correct horse battery staple"
	pwArgonShort   = "hunter2"
	pwBcryptVector = "U*U"
)

func TestUserListAuthenticate(t *testing.T) {
	auth, err := NewUserList([]User{
		{Username: "a2a", PasswordHash: vecBcrypt2a, Claims: map[string]any{"email": "a@example.com", "roles": []any{"admin"}}},
		{Username: "a2a-star", PasswordHash: vecBcrypt2aB},
		{Username: "b2b", PasswordHash: vecBcrypt2b},
		{Username: "y2y", PasswordHash: vecBcrypt2y},
		{Username: "owasp", PasswordHash: vecArgonOWASP},
		{Username: "small", PasswordHash: vecArgonSmall},
		{Username: "short", PasswordHash: vecArgonShort},
		{Username: "Élodie Dupont", PasswordHash: vecArgonShort},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pw string
		want           *Identity // nil: ErrBadCredentials
	}{
		{"bcrypt 2a", "a2a", pwBcryptVector, &Identity{Subject: "a2a", Claims: map[string]any{"email": "a@example.com", "roles": []any{"admin"}}}},
		{"bcrypt 2a second vector", "a2a-star", "U*U*", &Identity{Subject: "a2a-star"}},
		{"bcrypt 2b", "b2b", pwBcryptVector, &Identity{Subject: "b2b"}},
		{"bcrypt 2y", "y2y", pwBcryptVector, &Identity{Subject: "y2y"}},
		{"argon2id OWASP parameters", "owasp", pwArgonOWASP, &Identity{Subject: "owasp"}},
		{"argon2id p=2", "small", pwArgonSmall, &Identity{Subject: "small"}},
		{"argon2id 16-byte key", "short", pwArgonShort, &Identity{Subject: "short"}},
		{"non-ASCII username", "Élodie Dupont", pwArgonShort, &Identity{Subject: "Élodie Dupont"}},
		{"bcrypt wrong password", "a2a", "U*U*", nil},
		{"argon2id wrong password", "owasp", "Password", nil},
		{"password of another user", "a2a-star", pwBcryptVector, nil},
		{"unknown user", "nobody", pwBcryptVector, nil},
		{"username is case-sensitive", "OWASP", pwArgonOWASP, nil},
		{"username is not trimmed", " owasp", pwArgonOWASP, nil},
		{"empty password", "owasp", "", nil},
		{"empty username", "", pwArgonOWASP, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.Authenticate(context.Background(), tt.user, tt.pw)
			if tt.want == nil {
				if !errors.Is(err, ErrBadCredentials) || got != nil {
					t.Fatalf("Authenticate = %+v, %v; want ErrBadCredentials", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUserListClaimsAreCopied(t *testing.T) {
	claims := map[string]any{"email": "a@example.com"}
	auth, err := NewUserList([]User{{Username: "a", PasswordHash: vecBcrypt2a, Claims: claims}})
	if err != nil {
		t.Fatal(err)
	}
	claims["email"] = "changed-after-construction"
	id1, err := auth.Authenticate(context.Background(), "a", pwBcryptVector)
	if err != nil {
		t.Fatal(err)
	}
	id1.Claims["email"] = "changed-by-caller"
	id2, err := auth.Authenticate(context.Background(), "a", pwBcryptVector)
	if err != nil {
		t.Fatal(err)
	}
	if got := id2.Claims["email"]; got != "a@example.com" {
		t.Errorf("claims = %v; want the configured value", got)
	}
}

// bcrypt uses only the first 72 bytes of a password; a longer password must
// not log in just because its first 72 bytes match.
func TestUserListBcryptLongPassword(t *testing.T) {
	pw72 := strings.Repeat("p", bcryptMaxPassword)
	hash, err := bcrypt.GenerateFromPassword([]byte(pw72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewUserList([]User{{Username: "u", PasswordHash: string(hash)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(context.Background(), "u", pw72); err != nil {
		t.Fatalf("72-byte password: %v", err)
	}
	if _, err := auth.Authenticate(context.Background(), "u", pw72+"extra"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("73+ byte password: err = %v; want ErrBadCredentials", err)
	}
}

// Unknown usernames are checked against a dummy hash of the same algorithm
// and cost as the first user's, so their timing matches a wrong password.
func TestUserListDummyHashMatchesFirstUser(t *testing.T) {
	tests := []struct {
		name string
		hash string
		want any
	}{
		{"bcrypt cost 5", vecBcrypt2a, bcryptCost(5)},
		{"argon2id", vecArgonSmall, argonParams{memory: 4096, time: 2, threads: 2, saltLen: 16, keyLen: 32}},
		{"argon2id short key", vecArgonShort, argonParams{memory: 64, time: 1, threads: 4, saltLen: 16, keyLen: 16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewUserList([]User{{Username: "first", PasswordHash: tt.hash}, {Username: "second", PasswordHash: vecArgonOWASP}})
			if err != nil {
				t.Fatal(err)
			}
			var got any
			switch d := a.(*userList).dummy.(type) {
			case *bcryptHash:
				got = bcryptCost(d.cost)
			case *argonHash:
				got = argonParams{memory: d.memory, time: d.time, threads: d.threads, saltLen: len(d.salt), keyLen: len(d.key)}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(argonParams{})); diff != "" {
				t.Errorf("dummy hash parameters (-want +got):\n%s", diff)
			}
			if a.(*userList).dummy.verify("") {
				t.Error("dummy hash accepts the empty password")
			}
		})
	}
}

type bcryptCost int

type argonParams struct {
	memory, time    uint32
	threads         uint8
	saltLen, keyLen int
}

func TestNewUserListErrors(t *testing.T) {
	tests := []struct {
		name    string
		users   []User
		wantErr error  // checked with errors.Is when set
		wantMsg string // substring of the error
	}{
		{"no users", nil, nil, "no users"},
		{"empty username", []User{{Username: "", PasswordHash: vecBcrypt2a}}, nil, "empty username"},
		{"username with spaces around", []User{{Username: " bob", PasswordHash: vecBcrypt2a}}, nil, "leading or trailing"},
		{"username with control character", []User{{Username: "bo\nb", PasswordHash: vecBcrypt2a}}, nil, "control character"},
		{"username not UTF-8", []User{{Username: "bo\xffb", PasswordHash: vecBcrypt2a}}, nil, "UTF-8"},
		{"duplicate username", []User{{Username: "bob", PasswordHash: vecBcrypt2a}, {Username: "bob", PasswordHash: vecArgonShort}}, nil, "twice"},
		{"plain password", []User{{Username: "bob", PasswordHash: "hunter2"}}, ErrBadPasswordHash, ""},
		{"empty hash", []User{{Username: "bob"}}, ErrBadPasswordHash, ""},
		{"bcrypt 2x variant", []User{{Username: "bob", PasswordHash: "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}}, ErrBadPasswordHash, ""},
		{"bcrypt truncated", []User{{Username: "bob", PasswordHash: vecBcrypt2a[:40]}}, ErrBadPasswordHash, ""},
		{"argon2i", []User{{Username: "bob", PasswordHash: "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"}}, ErrBadPasswordHash, ""},
		{"argon2id version 16", []User{{Username: "bob", PasswordHash: strings.Replace(vecArgonShort, "v=19", "v=16", 1)}}, ErrBadPasswordHash, "version"},
		{"argon2id without version", []User{{Username: "bob", PasswordHash: "$argon2id$m=64,t=1,p=4$MDEyMzQ1Njc4OWFiY2RlZg$GRUcyu1vcPBcUlnpavduUw"}}, ErrBadPasswordHash, ""},
		{"argon2id memory too large", []User{{Username: "bob", PasswordHash: strings.Replace(vecArgonShort, "m=64", "m=4194304", 1)}}, ErrBadPasswordHash, "m must be"},
		{"argon2id memory below 8p", []User{{Username: "bob", PasswordHash: strings.Replace(vecArgonShort, "m=64", "m=16", 1)}}, ErrBadPasswordHash, "m must be"},
		{"argon2id zero time", []User{{Username: "bob", PasswordHash: strings.Replace(vecArgonShort, "t=1", "t=0", 1)}}, ErrBadPasswordHash, "t must be"},
		{"argon2id zero threads", []User{{Username: "bob", PasswordHash: strings.Replace(vecArgonShort, "p=4", "p=0", 1)}}, ErrBadPasswordHash, "p must be"},
		{"argon2id parameters reordered", []User{{Username: "bob", PasswordHash: strings.Replace(vecArgonShort, "m=64,t=1", "t=1,m=64", 1)}}, ErrBadPasswordHash, ""},
		{"argon2id padded base64", []User{{Username: "bob", PasswordHash: vecArgonShort + "=="}}, ErrBadPasswordHash, ""},
		{"argon2id short salt", []User{{Username: "bob", PasswordHash: "$argon2id$v=19$m=64,t=1,p=4$c2FsdA$GRUcyu1vcPBcUlnpavduUw"}}, ErrBadPasswordHash, "salt"},
		{"argon2id line break in hash", []User{{Username: "bob", PasswordHash: vecArgonShort[:60] + "\n" + vecArgonShort[60:]}}, ErrBadPasswordHash, "base64"},
		{"argon2id extra field", []User{{Username: "bob", PasswordHash: vecArgonShort + "$x"}}, ErrBadPasswordHash, ""},
		{"reserved claim sub", []User{{Username: "bob", PasswordHash: vecBcrypt2a, Claims: map[string]any{"sub": "root"}}}, nil, `claim "sub"`},
		{"reserved claim scope", []User{{Username: "bob", PasswordHash: vecBcrypt2a, Claims: map[string]any{"scope": "admin"}}}, nil, `claim "scope"`},
		{"reserved claim sid", []User{{Username: "bob", PasswordHash: vecBcrypt2a, Claims: map[string]any{"sid": "x"}}}, nil, `claim "sid"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewUserList(tt.users)
			if err == nil {
				t.Fatalf("NewUserList = %v, nil; want an error", a)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v; want errors.Is %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q; want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

var phcArgon2id = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashPassword(t *testing.T) {
	h1, err := HashPassword("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPassword("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{h1, h2} {
		if !phcArgon2id.MatchString(h) {
			t.Errorf("HashPassword = %q; want an argon2id PHC string with the OWASP parameters", h)
		}
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	auth, err := NewUserList([]User{{Username: "u", PasswordHash: h1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(context.Background(), "u", "s3cret pass"); err != nil {
		t.Errorf("the hashed password does not log in: %v", err)
	}
	if _, err := auth.Authenticate(context.Background(), "u", "s3cret pasS"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a different password: err = %v; want ErrBadCredentials", err)
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("HashPassword(\"\") succeeded; want an error")
	}
}

func TestNewDemoUser(t *testing.T) {
	auth, pw, err := NewDemoUser()
	if err != nil {
		t.Fatal(err)
	}
	_, pw2, err := NewDemoUser()
	if err != nil {
		t.Fatal(err)
	}
	if len(pw) < 16 {
		t.Errorf("demo password %d characters; want at least 16", len(pw))
	}
	if pw == pw2 {
		t.Error("two demo users have the same password")
	}
	id, err := auth.Authenticate(context.Background(), "demo", pw)
	if err != nil {
		t.Fatalf("demo login: %v", err)
	}
	if diff := cmp.Diff(&Identity{Subject: "demo"}, id); diff != "" {
		t.Errorf("demo identity (-want +got):\n%s", diff)
	}
	for _, c := range []struct{ user, pw string }{{"demo", pw2}, {"demo", strings.ToLower(pw)}, {"admin", pw}} {
		if _, err := auth.Authenticate(context.Background(), c.user, c.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("Authenticate(%q, …) err = %v; want ErrBadCredentials", c.user, err)
		}
	}
}

// FuzzParsePasswordHash checks that parsing configured hashes never panics,
// that accepted argon2id strings are within the bounds and render back to
// exactly the same string (the parser is strict), and that accepted bcrypt
// hashes have a supported prefix.
func FuzzParsePasswordHash(f *testing.F) {
	for _, s := range []string{vecBcrypt2a, vecBcrypt2y, vecArgonOWASP, vecArgonShort, "$argon2id$v=19$m=0,t=0,p=0$$", "$2a$99$", "$argon2id$v=19$m=064,t=1,p=4$MDEyMzQ1Njc4OWFiY2RlZg$GRUcyu1vcPBcUlnpavduUw",
		"$argon2id$v=19$m=10,t=1,p=1$00000000000$0000000\r0000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePasswordHash(s)
		if err != nil {
			if !errors.Is(err, ErrBadPasswordHash) {
				t.Fatalf("error %v does not wrap ErrBadPasswordHash", err)
			}
			return
		}
		switch h := h.(type) {
		case *argonHash:
			if h.memory > maxArgonMemory || h.time > maxArgonTime || h.threads == 0 || h.memory < 8*uint32(h.threads) {
				t.Fatalf("accepted out-of-bounds parameters %+v", h)
			}
			if got := h.String(); got != s {
				t.Fatalf("round trip: %q became %q", s, got)
			}
		case *bcryptHash:
			if p := s[:4]; p != "$2a$" && p != "$2b$" && p != "$2y$" {
				t.Fatalf("accepted bcrypt prefix %q", p)
			}
		default:
			t.Fatalf("unexpected hash type %T", h)
		}
	})
}
