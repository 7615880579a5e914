package grant

import (
	"strings"
	"testing"
)

func TestParseBearer(t *testing.T) {
	tests := []struct {
		header string
		want   string // "" = rejected
	}{
		{"Bearer abc", "abc"},
		{"bearer abc", "abc"},
		{"BEARER abc", "abc"},
		{"Bearer  abc", "abc"},
		{"Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_"},
		{"Bearer a+b/c~d==", "a+b/c~d=="},
		{"Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"},

		{"", ""},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Bearer   ", ""},
		{"Bearerabc", ""},
		{"Bearer\tabc", ""},
		{" Bearer abc", ""},
		{"Basic abc", ""},
		{"Bearer abc def", ""},
		{"Bearer abc ", ""},
		{"Bearer =abc", ""},
		{"Bearer ==", ""},
		{"Bearer ab=c", ""},
		{"Bearer abc,def", ""},
		{`Bearer "abc"`, ""},
		{"Bearer abc\x00", ""},
		{"Bearer abcé", ""},
		{"Token abc", ""},
		{"DPoP abc", ""},
	}
	for _, tt := range tests {
		got, ok := ParseBearer(tt.header)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("ParseBearer(%q) = %q, %v; want %q", tt.header, got, ok, tt.want)
		}
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c==", "Bearer a b", "Basic x", "Bearer =", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := ParseBearer(h)
		if !ok {
			if tok != "" {
				t.Fatalf("rejected %q but returned %q", h, tok)
			}
			return
		}
		if !strings.EqualFold(h[:7], "bearer ") || !strings.HasSuffix(h, tok) {
			t.Fatalf("ParseBearer(%q) = %q", h, tok)
		}
		if strings.TrimLeft(h[7:], " ") != tok {
			t.Fatalf("token %q is not the rest of %q", tok, h)
		}
		body := strings.TrimRight(tok, "=")
		if body == "" || strings.Trim(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/") != "" {
			t.Fatalf("token %q outside the b64token charset", tok)
		}
	})
}
