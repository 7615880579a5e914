package htmlform

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseForms(t *testing.T) {
	tests := []struct {
		name string
		page string
		want []*Form
	}{
		{
			name: "login page",
			page: `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<style>body{font:16px sans-serif} main > form{display:grid}</style></head>
<body><main><h1>Sign in to &ldquo;demo&rdquo;</h1>
<form method="post" action="/oauth/login">
  <input type="hidden" name="csrf" value="a&amp;b&quot;c">
  <input type=hidden name=request value=r-123>
  <label>Username <input name="username" autocomplete="username" required autofocus></label>
  <label>Password <input type="password" name="password" required></label>
  <button type="submit">Sign in</button>
</form></main></body></html>`,
			want: []*Form{{
				Method: "POST", Action: "/oauth/login",
				Values: url.Values{"csrf": {`a&b"c`}, "request": {"r-123"}, "username": {""}, "password": {""}},
				Inputs: map[string]string{"csrf": "hidden", "request": "hidden", "username": "text", "password": "password"},
			}},
		},
		{
			name: "consent page",
			page: `<html><body><form method="POST" action="consent?x=1">
<input type="hidden" name="csrf" value="c1"/><input type="hidden" name="request" value="r1"/>
<input type="checkbox" name="remember" checked><input type="checkbox" name="other">
<button name="consent" value="deny" type="submit">Deny</button>
<button name="consent" value="approve">Allow</button>
<button type="button" name="noop" value="x">Ignored</button>
</form><form action="/elsewhere"><input type="submit" name="go" value="1"></form></body></html>`,
			want: []*Form{
				{
					Method: "POST", Action: "consent?x=1",
					Values:  url.Values{"csrf": {"c1"}, "request": {"r1"}, "remember": {"on"}},
					Inputs:  map[string]string{"csrf": "hidden", "request": "hidden", "remember": "checkbox", "other": "checkbox"},
					Buttons: []Button{{"consent", "deny"}, {"consent", "approve"}},
				},
				{
					Method: "GET", Action: "/elsewhere",
					Values:  url.Values{},
					Inputs:  map[string]string{"go": "submit"},
					Buttons: []Button{{"go", "1"}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tt.page))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("forms (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormSubmit(t *testing.T) {
	page, _ := url.Parse("http://127.0.0.1:8080/oauth/authorize?client_id=c")
	f := &Form{Method: "POST", Action: "/oauth/login#top", Values: url.Values{"csrf": {"k"}, "username": {""}}}
	req, err := f.Submit(t.Context(), page, url.Values{"username": {"alice"}, "password": {"p w"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"method": req.Method, "url": req.URL.String(), "origin": req.Header.Get("Origin"),
		"type": req.Header.Get("Content-Type"), "form": req.PostForm,
	}
	want := map[string]any{
		"method": http.MethodPost, "url": "http://127.0.0.1:8080/oauth/login", "origin": "http://127.0.0.1:8080",
		"type": "application/x-www-form-urlencoded", "form": url.Values{"csrf": {"k"}, "username": {"alice"}, "password": {"p w"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

// FuzzParseForms renders a form with arbitrary hidden values the way
// html/template escapes them and checks that the parser reads them back.
func FuzzParseForms(f *testing.F) {
	f.Add("csrf", "abc", "/oauth/login")
	f.Add("request", `<&>"'`, "/a?b=c&d=e")
	f.Add("x", "  spaced  ", "")
	f.Fuzz(func(t *testing.T, name, value, action string) {
		for _, s := range []string{name, value, action} {
			// XML refuses control characters and normalises line ends;
			// server-rendered attribute values have neither.
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError || r >= 0xFFFE }) {
				return
			}
		}
		if name == "" {
			return
		}
		page := fmt.Sprintf(`<!DOCTYPE html><html><body><form method="post" action="%s"><input type="hidden" name="%s" value="%s"><button name="consent" value="approve">OK</button></form></body></html>`,
			html.EscapeString(action), html.EscapeString(name), html.EscapeString(value))
		forms, err := Parse(strings.NewReader(page))
		if err != nil {
			t.Fatalf("%q: %v", page, err)
		}
		want := []*Form{{
			Method: "POST", Action: action,
			Values:  url.Values{name: {value}},
			Inputs:  map[string]string{name: "hidden"},
			Buttons: []Button{{"consent", "approve"}},
		}}
		if diff := cmp.Diff(want, forms); diff != "" {
			t.Errorf("%q (-want +got):\n%s", page, diff)
		}
	})
}
