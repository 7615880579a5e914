package token

import (
	"errors"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// TestVerifyAcceptTyp checks the typ list used for third-party issuers: the
// listed media types and, when "" is listed, an absent header are accepted;
// other explicit types (ID tokens, logout tokens) and malformed values are
// refused; the RFC 9068 claims are required only of tokens typed at+jwt.
func TestVerifyAcceptTyp(t *testing.T) {
	key := testKey(t, ES256)
	v := newTestVerifier(t, key.Public())
	full := claimsJSON(t, testClaims())
	bare := testClaims()
	bare.ClientID = "" // not required of a token that is not typed at+jwt
	bareJSON, err := bare.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	thirdParty := []string{TypAccessToken, "JWT", ""}
	tests := []struct {
		name    string
		typ     any // nil = no typ header
		accept  []string
		payload []byte
		want    error
	}{
		{"at+jwt", "at+jwt", thirdParty, full, nil},
		{"application/at+jwt", "application/at+jwt", thirdParty, full, nil},
		{"JWT", "JWT", thirdParty, full, nil},
		{"absent", nil, thirdParty, full, nil},
		{"JWT without RFC 9068 claims", "JWT", thirdParty, bareJSON, nil},
		{"absent without RFC 9068 claims", nil, thirdParty, bareJSON, nil},
		{"at+jwt without RFC 9068 claims", "at+jwt", thirdParty, bareJSON, ErrMissingClaim},
		{"ID token type", "id_token+jwt", thirdParty, full, ErrType},
		{"logout token type", "logout+jwt", thirdParty, full, ErrType},
		{"empty string is not absent", "", thirdParty, full, ErrType},
		{"non-string", 42, thirdParty, full, ErrType},
		{"absent when not listed", nil, []string{TypAccessToken}, full, ErrType},
		{"JWT when not listed", "JWT", []string{TypAccessToken}, full, ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]any{"kid": key.KeyID}
			if tt.typ != nil {
				hdr["typ"] = tt.typ
			}
			raw := craft(t, key, jose.ES256, hdr, tt.payload, false)
			o := testOptions()
			o.AcceptTyp = tt.accept
			o.RequireTyp = "JWT" // ignored when AcceptTyp is set
			_, err := v.Verify(raw, o)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestVerifyAdditionalIssuers checks that iss must equal Issuer or one of
// AdditionalIssuers, exactly.
func TestVerifyAdditionalIssuers(t *testing.T) {
	s := newTestSigner(t, ES256)
	v := newTestVerifier(t, s.PublicKey())
	tests := []struct {
		iss  string
		want error
	}{
		{testIssuer, nil},
		{"https://alias.example.com", nil},
		{"https://other.example.com", nil},
		{"https://alias.example.com/", ErrIssuer},
		{"https://ALIAS.example.com", ErrIssuer},
		{"https://evil.example.com", ErrIssuer},
	}
	for _, tt := range tests {
		c := testClaims()
		c.Issuer = tt.iss
		raw, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		o := testOptions()
		o.AdditionalIssuers = []string{"https://alias.example.com", "https://other.example.com"}
		_, err = v.Verify(raw, o)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("iss %q: Verify = %v, want %v", tt.iss, err, tt.want)
		}
	}
}

// TestVerifyKeyIDAndHasKey checks that VerifyKeyID names the key that
// verified a token and that HasKey answers for kids and kid-less tokens.
func TestVerifyKeyIDAndHasKey(t *testing.T) {
	a, b := testKey(t, ES256), testKey(t, EdDSA)
	two := newTestVerifier(t, a.Public(), b.Public())
	sb, err := NewSigner(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sb.Sign(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	c, kid, err := two.VerifyKeyID(raw, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if kid != b.KeyID || c.Subject != "user-1" {
		t.Errorf("VerifyKeyID = (sub %q, kid %q), want (user-1, %q)", c.Subject, kid, b.KeyID)
	}
	if _, kid, err := two.VerifyKeyID("a.b.c", testOptions()); err == nil || kid != "" {
		t.Errorf("VerifyKeyID(garbage) = kid %q, err %v; want an error and no kid", kid, err)
	}

	noKID := a.Public()
	noKID.KeyID = ""
	single := newTestVerifier(t, noKID)
	got := map[string][]bool{
		"two keys":   {two.HasKey(a.KeyID), two.HasKey(b.KeyID), two.HasKey("other"), two.HasKey("")},
		"single key": {single.HasKey(a.KeyID), single.HasKey(""), single.HasKey("other")},
	}
	want := map[string][]bool{
		"two keys":   {true, true, false, false},
		"single key": {false, true, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HasKey (-want +got):\n%s", diff)
	}
}

// TestSameKey checks that SameKey compares the keys behind a kid across two
// key sets, by value.
func TestSameKey(t *testing.T) {
	a, b := testKey(t, ES256), testKey(t, EdDSA)
	ab := newTestVerifier(t, a.Public(), b.Public())
	aAgain := newTestVerifier(t, a.Public()) // a new set publishing a again
	bOnly := newTestVerifier(t, b.Public())
	impostor, err := GenerateKey(ES256)
	if err != nil {
		t.Fatal(err)
	}
	impostor.KeyID = a.KeyID // another key under a's kid
	fake := newTestVerifier(t, impostor.Public())
	narrowed := a.Public()
	narrowed.Algorithm = ES256
	rsa := testKey(t, RS256)
	rsaPS := rsa.Public()
	rsaPS.Algorithm = PS256
	rsaAny := rsa.Public()
	rsaAny.Algorithm = ""
	noKID := a.Public()
	noKID.KeyID = ""
	noKID2 := b.Public()
	noKID2.KeyID = ""
	tests := []struct {
		name string
		v, w *Verifier
		kid  string
		want bool
	}{
		{"same set", ab, ab, a.KeyID, true},
		{"republished", ab, aAgain, a.KeyID, true},
		{"withdrawn", ab, bOnly, a.KeyID, false},
		{"other key under the kid", ab, fake, a.KeyID, false},
		{"unknown kid", ab, ab, "other", false},
		{"same algorithms after narrowing", ab, newTestVerifier(t, narrowed), a.KeyID, true},
		{"algorithms changed", newTestVerifier(t, rsaAny), newTestVerifier(t, rsaPS), rsa.KeyID, false},
		{"single kid-less key kept", newTestVerifier(t, noKID), newTestVerifier(t, noKID), "", true},
		{"single kid-less key replaced", newTestVerifier(t, noKID), newTestVerifier(t, noKID2), "", false},
	}
	for _, tt := range tests {
		if got := tt.v.SameKey(tt.w, tt.kid); got != tt.want {
			t.Errorf("%s: SameKey = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestVerifyUnknownKeyAcrossAlgorithms checks that a token from a key the
// set lacks yields ErrUnknownKey even when that key uses an algorithm no
// key of the set uses (a provider moving from ES256 to RS256), so that the
// caller refetches; an algorithm that does not fit a known key, and "none"
// or HMAC, still yield ErrAlgorithm.
func TestVerifyUnknownKeyAcrossAlgorithms(t *testing.T) {
	es := testKey(t, ES256)
	v := newTestVerifier(t, es.Public())
	rs := newTestSigner(t, RS256)
	raw, err := rs.Sign(testClaims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(raw, testOptions()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("RS256 token from an unknown key: %v, want ErrUnknownKey", err)
	}
	payload := claimsJSON(t, testClaims())
	rsKey := testKey(t, RS256)
	misfit := craft(t, rsKey, jose.RS256, map[string]any{"kid": es.KeyID, "typ": TypAccessToken}, payload, false)
	if _, err := v.Verify(misfit, testOptions()); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("RS256 token naming the ES256 key: %v, want ErrAlgorithm", err)
	}
	hmac := craft(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, map[string]any{"kid": "new", "typ": TypAccessToken}, payload, false)
	if _, err := v.Verify(hmac, testOptions()); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("HS256 token naming an unknown kid: %v, want ErrAlgorithm", err)
	}
}
