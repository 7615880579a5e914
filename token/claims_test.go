package token

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	t0 = time.Unix(1_800_000_000, 0).UTC()
	t1 = t0.Add(time.Hour)
)

func TestClaimsMarshal(t *testing.T) {
	tests := []struct {
		name string
		c    Claims
		want string
	}{
		{"empty", Claims{}, `{}`},
		{"single audience is a string", Claims{Issuer: "https://as", Audience: []string{"https://rs"}},
			`{"iss":"https://as","aud":"https://rs"}`},
		{"two audiences are an array", Claims{Audience: []string{"a", "b"}}, `{"aud":["a","b"]}`},
		{"all registered", Claims{Issuer: "i", Subject: "s", Audience: []string{"a"}, ExpiresAt: t1, IssuedAt: t0,
			NotBefore: t0, ID: "j", ClientID: "c", Scope: "read write"},
			`{"iss":"i","sub":"s","aud":"a","exp":1800003600,"iat":1800000000,"nbf":1800000000,"jti":"j","client_id":"c","scope":"read write"}`},
		{"sub-second truncated", Claims{ExpiresAt: t1.Add(999 * time.Millisecond)}, `{"exp":1800003600}`},
		{"extra after registered, sorted", Claims{Subject: "s", Extra: map[string]any{"z": 1, "email": "a@b", "groups": []string{"x"}}},
			`{"sub":"s","email":"a@b","groups":["x"],"z":1}`},
		{"extra only", Claims{Extra: map[string]any{"k": true}}, `{"k":true}`},
		{"escaping", Claims{Subject: "a\"b\\c<>\u2028"}, `{"sub":"a\"b\\c\u003c\u003e\u2028"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimsMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		c    Claims
		want error
	}{
		{"reserved extra", Claims{Extra: map[string]any{"aud": "x"}}, ErrReservedClaim},
		{"reserved extra scope", Claims{Extra: map[string]any{"scope": "admin"}}, ErrReservedClaim},
		{"time at epoch", Claims{ExpiresAt: time.Unix(0, 0)}, nil},
		{"time before epoch", Claims{IssuedAt: time.Unix(-5, 0)}, nil},
		{"unencodable extra", Claims{Extra: map[string]any{"f": func() {}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.MarshalJSON()
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestClaimsUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Claims
	}{
		{"aud string", `{"aud":"https://rs"}`, Claims{Audience: []string{"https://rs"}}},
		{"aud array", `{"aud":["a","b"]}`, Claims{Audience: []string{"a", "b"}}},
		{"aud empty array", `{"aud":[]}`, Claims{Audience: []string{}}},
		{"times", `{"exp":1800003600,"iat":1800000000.5,"nbf":0}`,
			Claims{ExpiresAt: t1, IssuedAt: t0.Add(500 * time.Millisecond), NotBefore: time.Unix(0, 0).UTC()}},
		{"extra", `{"sub":"s","email":"a@b","n":2,"l":["x"],"o":{"k":null}}`,
			Claims{Subject: "s", Extra: map[string]any{"email": "a@b", "n": 2.0, "l": []any{"x"}, "o": map[string]any{"k": nil}}}},
		{"names are case-sensitive", `{"ISS":"x"}`, Claims{Extra: map[string]any{"ISS": "x"}}},
		{"duplicate keys: last wins", `{"sub":"a","sub":"b"}`, Claims{Subject: "b"}},
		{"all", `{"iss":"i","sub":"s","aud":"a","exp":1800003600,"iat":1800000000,"jti":"j","client_id":"c","scope":"r w"}`,
			Claims{Issuer: "i", Subject: "s", Audience: []string{"a"}, ExpiresAt: t1, IssuedAt: t0, ID: "j", ClientID: "c", Scope: "r w"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Claims
			if err := c.UnmarshalJSON([]byte(tt.in)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimsUnmarshalErrors(t *testing.T) {
	tests := []string{
		``,
		`null`,
		`[]`,
		`"x"`,
		`{`,
		`{"iss":1}`,
		`{"sub":null}`,
		`{"jti":["a"]}`,
		`{"client_id":true}`,
		`{"scope":["a","b"]}`,
		`{"aud":1}`,
		`{"aud":["a",1]}`,
		`{"aud":null}`,
		`{"exp":"1800000000"}`,
		`{"exp":-1}`,
		`{"exp":1e300}`,
		`{"iat":253402300800}`,
		`{"nbf":{}}`,
		`{} {}`,
	}
	for _, in := range tests {
		var c Claims
		if err := c.UnmarshalJSON([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("UnmarshalJSON(%s) = %v, want ErrMalformed", in, err)
		}
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	in := Claims{Issuer: "https://as.example.com", Subject: "user-1", Audience: []string{"https://mcp.example.com/mcp"},
		ExpiresAt: t1, IssuedAt: t0, NotBefore: t0, ID: "jti-1", ClientID: "client-1", Scope: "read write",
		Extra: map[string]any{"email": "u@example.com", "roles": []any{"admin"}}}
	b, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out Claims
	if err := out.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
}

func FuzzClaimsUnmarshal(f *testing.F) {
	f.Add(`{"iss":"i","aud":["a","b"],"exp":1800000000.25,"x":{"y":[1,null]}}`)
	f.Add(`{"aud":"a","nbf":-1}`)
	f.Add(`{"exp":1e400}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		var c Claims
		err := c.UnmarshalJSON([]byte(in))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		for k := range c.Extra {
			if registered[k] {
				t.Fatalf("registered claim %q left in Extra", k)
			}
		}
		b, err := c.MarshalJSON()
		if err != nil {
			return // e.g. a time at the epoch, which MarshalJSON refuses
		}
		var again Claims
		if err := again.UnmarshalJSON(b); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if again.Issuer != c.Issuer || again.Subject != c.Subject || !cmp.Equal(again.Audience, c.Audience) ||
			again.ExpiresAt.Unix() != c.ExpiresAt.Unix() || again.Scope != c.Scope {
			t.Fatalf("round trip changed claims: %+v -> %+v", c, again)
		}
	})
}

func TestClaimsEncodingJSONPackage(t *testing.T) {
	// MarshalJSON has a value receiver, so json.Marshal of a Claims value
	// (not only of a pointer) uses the wire format.
	c := Claims{Issuer: "i", Audience: []string{"a"}}
	for _, v := range []any{c, &c, struct{ C Claims }{c}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `{"iss":"i","aud":"a"}`) {
			t.Errorf("json.Marshal(%T) = %s", v, b)
		}
	}
}
