package token

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// claimsSeeds are inputs on which UnmarshalJSON must match unmarshalSlow:
// the common forms, and every way the single-pass decoder can go wrong.
var claimsSeeds = []string{
	// Common forms.
	`{}`,
	` {} `,
	"\t\r\n{ \"iss\" : \"i\" ,\n\"aud\" : [ \"a\" , \"b\" ] }\n",
	`{"iss":"https://as.example.com","sub":"user-1","aud":"https://mcp.example.com/mcp","exp":1800003600,"iat":1800000000,"jti":"01234567890123456789ab","client_id":"client-1","scope":"read write"}`,
	`{"iss":"https://idp","sub":"u","aud":["rs","account"],"exp":1800003600,"iat":1800000000,"nbf":1800000000,"azp":"cli","email":"u@example.com","email_verified":true,"roles":["admin","user"],"realm_access":{"roles":["r"]},"auth_time":1799999999,"acr":null}`,
	`{"aud":[]}`,
	`{"aud":["a"]}`,
	`{"x":[]}`,
	`{"x":{}}`,
	`{"x":[[],{},[{"a":[1,-2.5e3,true,false,null,"s"]}]]}`,
	`{"x":{"a":1,"a":2}}`,
	`{"x":1,"x":"two"}`,
	`{"ISS":"x","Sub":1}`,
	// Each registered claim with each wrong type.
	`{"iss":1}`, `{"iss":true}`, `{"iss":null}`, `{"iss":[]}`, `{"iss":{}}`, `{"iss":["a"]}`,
	`{"sub":2}`, `{"sub":false}`, `{"sub":null}`, `{"sub":[]}`, `{"sub":{}}`,
	`{"jti":3}`, `{"jti":null}`, `{"jti":["a"]}`,
	`{"client_id":4}`, `{"client_id":true}`, `{"client_id":{}}`,
	`{"scope":5}`, `{"scope":["a","b"]}`, `{"scope":null}`,
	`{"aud":1}`, `{"aud":true}`, `{"aud":null}`, `{"aud":{}}`, `{"aud":["a",1]}`, `{"aud":["a",null]}`, `{"aud":[["a"]]}`,
	`{"exp":"1800000000"}`, `{"exp":null}`, `{"exp":true}`, `{"exp":[1]}`, `{"exp":{}}`,
	`{"iat":"x"}`, `{"nbf":{}}`, `{"nbf":false}`,
	// Numbers.
	`{"exp":0}`, `{"exp":-0}`, `{"exp":-0.0}`, `{"exp":-1}`, `{"exp":-1e-400}`, `{"exp":1e-400}`,
	`{"exp":1800000000.5}`, `{"exp":1.8e9}`, `{"exp":18E8}`, `{"exp":1.8e+9}`, `{"exp":180000000000e-2}`,
	`{"exp":0.999999999999}`, `{"exp":253402300799}`, `{"exp":253402300799.5}`, `{"exp":253402300800}`,
	`{"exp":1e300}`, `{"exp":1e400}`, `{"x":1e400}`, `{"x":[1e400]}`, `{"x":-1e400}`,
	`{"exp":01}`, `{"exp":1.}`, `{"exp":.5}`, `{"exp":1e}`, `{"exp":1e+}`, `{"exp":+1}`, `{"exp":-}`,
	`{"exp":0x10}`, `{"exp":1_000}`, `{"exp":NaN}`, `{"exp":Infinity}`, `{"x":-0}`, `{"x":123456789012345678901234567890}`,
	// Duplicates: with encoding/json the last one wins.
	`{"sub":"a","sub":"b"}`, `{"iss":1,"iss":"a"}`, `{"iss":"a","iss":1}`, `{"aud":"a","aud":["b"]}`,
	`{"exp":-1,"exp":1}`, `{"exp":1,"exp":"x"}`, `{"x":1,"x":1e400}`, `{"iss":"a","\u0069ss":"b"}`,
	// Escapes and UTF-8.
	`{"sub":"a\"b\\c\/d\b\f\n\r\t"}`, `{"sub":"\u00e9\u2028\uD83D\uDE00"}`, `{"sub":"\uD83D"}`, `{"sub":"\uDE00x"}`,
	`{"sub":"\u12"}`, `{"sub":"\x"}`, `{"sub":"\`, `{"\u0069ss":"i"}`, `{"\u0069ss":1}`, `{"a\u0000b":1}`,
	`{"sub":"\u003cscript\u003e"}`, "{\"sub\":\"é日本\"}", "{\"sub\":\"a\xffb\"}", "{\"\xff\":1,\"\xfe\":2}",
	"{\"sub\":\"\xed\xa0\x80\"}", "{\"sub\":\"\xc0\xaf\"}", "{\"sub\":\"\xef\xbf\xbd\"}", "{\"sub\":\"a\tb\"}",
	"{\"sub\":\"a\x7fb\"}", "{\"x\":[\"\xff\"]}",
	// Whitespace, syntax and trailing data.
	``, ` `, `null`, `[]`, `"x"`, `1`, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`,
	`{"a" 1}`, `{a:1}`, `{'a':1}`, `{"a":tru}`, `{"a":truex}`, `{"a":nul}`, `{"a":[1,]}`, `{"a":[,]}`,
	`{"a":[}`, `{"a":{]}`, `{"a":{"b"}}`, `{} {}`, `{}x`, `{}}`, `{}]`, "{}\x00", "\v{}\f", "{\v}",
	"\u00a0{}\u0085", "{\"a\":1}\u2028", "{\u00a0}", `{"x":"a" }`, `{"x":[ 1 , 2 ] , "y" : { } }`,
	`{"aud":[ ]}`, `{"aud":[ "a" ,"b" ]}`, `{"aud":["a",]}`, `{"aud":["a"`, `{"aud":"a`, `{"x":`,
	`{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"x":` + strings.Repeat(`[`, 200) + strings.Repeat(`]`, 200) + `}`,
	`{"x":` + strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200) + `}`,
	`{"x":` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `}`,
}

// signedClaims returns the claims (payload) of tokens from our signer.
func signedClaims(t testing.TB) []string {
	t.Helper()
	s := newTestSigner(t, EdDSA)
	withExtra := benchClaims()
	withExtra.Audience = []string{"a", "b<&>"}
	withExtra.NotBefore = t0
	withExtra.Extra = map[string]any{ClaimGrantID: "grant-1", "email": "u@example.com", "roles": []string{"admin"}, "n": 1.5}
	var out []string
	for _, c := range []*Claims{benchClaims(), testClaims(), withExtra} {
		raw, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(payload))
	}
	return out
}

// checkSameAsSlow checks that UnmarshalJSON does what unmarshalSlow does
// with in: same claims, and the same error if any.
func checkSameAsSlow(t *testing.T, in []byte) {
	t.Helper()
	// Start from a non-zero value: a failed decode may leave it as it was.
	start := Claims{Issuer: "old", Extra: map[string]any{"old": true}}
	got, want := start, start
	errGot := got.UnmarshalJSON(in)
	errWant := want.unmarshalSlow(in)
	if (errGot == nil) != (errWant == nil) || errGot != nil && errGot.Error() != errWant.Error() {
		t.Fatalf("UnmarshalJSON(%q) error = %v, slow path: %v", in, errGot, errWant)
	}
	if errors.Is(errGot, ErrMalformed) != errors.Is(errWant, ErrMalformed) {
		t.Fatalf("UnmarshalJSON(%q): ErrMalformed differs: %v, slow path: %v", in, errGot, errWant)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("UnmarshalJSON(%q) = %#v, slow path: %#v", in, got, want)
	}
}

func FuzzClaimsUnmarshalDifferential(f *testing.F) {
	for _, s := range claimsSeeds {
		f.Add([]byte(s))
	}
	for _, s := range signedClaims(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(checkSameAsSlow)
}

// TestDecodeClaimsFast checks that the common forms take the single pass,
// and that what it cannot decode exactly goes to the slow path.
func TestDecodeClaimsFast(t *testing.T) {
	fast := append(signedClaims(t),
		`{}`,
		"\n{ \"aud\" : [ ] , \"x\" : [ 1 , { } ] }\n",
		`{"iss":"https://idp","aud":["rs","account"],"exp":1800003600.25,"nbf":0,"azp":"cli","email_verified":true,"realm_access":{"roles":["r"]},"acr":null}`,
		`{"sub":"a\/b\u00e9","\u0078":"\ud83d\ude00"}`,
		"{\"sub\":\"é\",\"x\":\"a\xffb\"}",
		`{"x":1,"x":2}`,
	)
	for _, in := range fast {
		if _, ok := decodeClaims([]byte(in)); !ok {
			t.Errorf("decodeClaims(%q) gave up", in)
		}
	}
	slow := []string{
		`{"sub":"a","sub":"b"}`, // last wins
		`{"iss":"a","\u0069ss":"b"}`,
		`{"iss":1}`,
		`{"exp":-1}`,
		`{"x":1e400}`,
		`{"x":` + strings.Repeat(`[`, maxDecodeDepth) + strings.Repeat(`]`, maxDecodeDepth) + `}`,
		`{}x`,
	}
	for _, in := range slow {
		if _, ok := decodeClaims([]byte(in)); ok {
			t.Errorf("decodeClaims(%q) did not give up", in)
		}
	}
}

func BenchmarkClaimsUnmarshal(b *testing.B) {
	ours := signedClaims(b)[0] // iss, sub, aud, exp, iat, jti, client_id, scope
	idp := `{"exp":1800003600,"iat":1800000000,"auth_time":1799999990,"jti":"0c2d8a3e-1b7f-4f43-9a57-5d0f4b1c2e9a",` +
		`"iss":"https://idp.example.com/realms/main","aud":["https://mcp.example.com/mcp","account"],"sub":"f1d2d2f9-24b1-4c7a-9f3e-2b8e6a7c5d10",` +
		`"typ":"Bearer","azp":"mcp-client","sid":"7b3c9f2e","acr":"1","realm_access":{"roles":["offline_access","uma_authorization"]},` +
		`"scope":"openid email profile","email_verified":true,"name":"Ann Example","preferred_username":"ann","email":"ann@example.com"}`
	for _, bc := range []struct{ name, in string }{{"signer", ours}, {"idp", idp}} {
		in := []byte(bc.in)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var c Claims
				if err := c.UnmarshalJSON(in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/slow", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var c Claims
				if err := c.unmarshalSlow(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
