package resource

import (
	"mime"
	"testing"
)

// referenceIsForm is isForm without its fast path.
func referenceIsForm(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

var contentTypes = []string{
	"", "application/json", "application/json; charset=utf-8", "Application/JSON",
	"application/x-www-form-urlencoded", "APPLICATION/X-WWW-FORM-URLENCODED",
	" application/x-www-form-urlencoded ; charset=utf-8", "application/x-www-form-urlencoded;",
	"application/x-www-form-urlencoded; charset", "application/x-www-form-urlencoded; a=\"b",
	"\tapplication/x-www-form-urlencoded\t", "applİcation/x-www-form-urlencoded",
	"application/x-www-form-urlencoded\u00a0", "\u0085application/x-www-form-urlencoded",
	"text/plain", "application/x-www-form-urlencodedx", ";", "application/x-www-form-urlencoded/",
}

// TestIsFormMatchesMime: the fast path of isForm never changes its answer.
func TestIsFormMatchesMime(t *testing.T) {
	for _, ct := range contentTypes {
		if got, want := isForm(ct), referenceIsForm(ct); got != want {
			t.Errorf("isForm(%q) = %v, mime.ParseMediaType says %v", ct, got, want)
		}
	}
}

func FuzzIsForm(f *testing.F) {
	for _, ct := range contentTypes {
		f.Add(ct)
	}
	f.Fuzz(func(t *testing.T, ct string) {
		if got, want := isForm(ct), referenceIsForm(ct); got != want {
			t.Fatalf("isForm(%q) = %v, mime.ParseMediaType says %v", ct, got, want)
		}
	})
}
