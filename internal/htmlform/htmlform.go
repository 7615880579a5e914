// Package htmlform reads the forms of a server-rendered HTML page and builds
// the request a browser sends when one is submitted. The end-to-end tests and
// the benchmark harness use it to play the user on the login and consent
// pages without a browser.
package htmlform

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Form is an HTML form: where it goes, its fields with their initial
// values, and its submit buttons.
type Form struct {
	Method  string
	Action  string
	Values  url.Values        // name → value of inputs that submit a value as rendered (hidden, text, …)
	Inputs  map[string]string // name → input type, for every named input
	Buttons []Button
}

// Button is a named submit button.
type Button struct{ Name, Value string }

// HasButton reports whether f has a submit button name=value.
func (f *Form) HasButton(name, value string) bool {
	for _, b := range f.Buttons {
		if b.Name == name && b.Value == value {
			return true
		}
	}
	return false
}

// Submit builds the request a browser sends for f on page, with extra
// overriding the rendered values (HTML §4.10.21, urlencoded).
func (f *Form) Submit(ctx context.Context, page *url.URL, extra url.Values) (*http.Request, error) {
	action, err := page.Parse(f.Action)
	if err != nil {
		return nil, fmt.Errorf("form action %q: %v", f.Action, err)
	}
	action.Fragment = ""
	vals := url.Values{}
	for k, v := range f.Values {
		vals[k] = v
	}
	for k, v := range extra {
		vals[k] = v
	}
	if strings.EqualFold(f.Method, http.MethodPost) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// Browsers send the page's origin with a form POST.
		req.Header.Set("Origin", page.Scheme+"://"+page.Host)
		return req, nil
	}
	action.RawQuery = vals.Encode()
	return http.NewRequestWithContext(ctx, http.MethodGet, action.String(), nil)
}

// Find returns the first of forms that match accepts, or nil.
func Find(forms []*Form, match func(*Form) bool) *Form {
	for _, f := range forms {
		if match(f) {
			return f
		}
	}
	return nil
}

// Parse returns the forms of an HTML page. It uses encoding/xml in its
// lenient HTML mode (void elements auto-closed, HTML entities known,
// unquoted and value-less attributes accepted), which is enough for
// server-rendered pages.
func Parse(r io.Reader) ([]*Form, error) {
	d := xml.NewDecoder(r)
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var forms []*Form
	var cur *Form
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return forms, nil
		}
		if err != nil {
			return forms, fmt.Errorf("parse HTML: %w", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attrs := make(map[string]string, len(el.Attr))
			for _, a := range el.Attr {
				attrs[strings.ToLower(a.Name.Local)] = a.Value
			}
			switch strings.ToLower(el.Name.Local) {
			case "form":
				method := attrs["method"]
				if method == "" {
					method = http.MethodGet
				}
				cur = &Form{Method: strings.ToUpper(method), Action: attrs["action"], Values: url.Values{}, Inputs: map[string]string{}}
				forms = append(forms, cur)
			case "input":
				if cur == nil || attrs["name"] == "" {
					continue
				}
				typ := strings.ToLower(attrs["type"])
				if typ == "" {
					typ = "text"
				}
				cur.Inputs[attrs["name"]] = typ
				switch typ {
				case "submit":
					cur.Buttons = append(cur.Buttons, Button{attrs["name"], attrs["value"]})
				case "image", "button", "reset":
				case "checkbox", "radio":
					if _, checked := attrs["checked"]; checked {
						v, ok := attrs["value"]
						if !ok {
							v = "on"
						}
						cur.Values.Add(attrs["name"], v)
					}
				default:
					cur.Values.Add(attrs["name"], attrs["value"])
				}
			case "button":
				if cur == nil || attrs["name"] == "" {
					continue
				}
				if typ := strings.ToLower(attrs["type"]); typ == "" || typ == "submit" {
					cur.Buttons = append(cur.Buttons, Button{attrs["name"], attrs["value"]})
				}
			}
		case xml.EndElement:
			if strings.EqualFold(el.Name.Local, "form") {
				cur = nil
			}
		}
	}
}
