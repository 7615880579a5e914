package client

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Errors of [UserAgent.Authorize].
var (
	// ErrLoginRejected: the login page came back after the credentials
	// were submitted.
	ErrLoginRejected = errors.New("client: login page shown again after submitting credentials")
	// ErrTooManySteps: no redirect to the client after many pages.
	ErrTooManySteps = errors.New("client: no redirect to the client after many steps")
)

// maxSteps bounds the requests of one authorization.
const maxSteps = 12

// UserAgent plays the user's browser during an authorization request: it
// follows the authorization server's redirects, fills in the login form
// (the form with a password input), presses the consent form's approve
// button, and stops at the redirect to the client, which it never follows.
type UserAgent struct {
	// HTTP's Transport is used; its Jar and CheckRedirect are not (the
	// agent keeps its own cookies and handles redirects itself).
	HTTP               *http.Client
	Username, Password string
}

// Authorize opens authURL and submits forms until the authorization server
// redirects to a URL starting with redirectURI, and returns that URL
// (RFC 6749 §4.1.2).
func (ua *UserAgent) Authorize(ctx context.Context, authURL, redirectURI string) (*url.URL, error) {
	start, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{
		Transport:     ua.HTTP.Transport,
		Timeout:       ua.HTTP.Timeout,
		Jar:           newJar(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	loginSubmitted := false
	for range maxSteps {
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return nil, fmt.Errorf("%s %s: %d without a usable Location: %v", req.Method, req.URL, resp.StatusCode, err)
			}
			if strings.HasPrefix(loc.String(), redirectURI) {
				return loc, nil
			}
			if loc.Scheme != start.Scheme || loc.Host != start.Host {
				return nil, fmt.Errorf("%s %s: redirected to %s, neither the authorization server nor the client", req.Method, req.URL, loc)
			}
			// A browser turns a 303 (and a 302 after a POST) into a GET.
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return nil, err
			}
		case resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"):
			forms, err := ParseForms(strings.NewReader(string(body)))
			if err != nil {
				return nil, fmt.Errorf("%s %s: %v", req.Method, req.URL, err)
			}
			var f *Form
			var extra url.Values
			if f = findForm(forms, func(f *Form) bool { return f.Inputs["password"] == "password" }); f != nil {
				if loginSubmitted {
					return nil, ErrLoginRejected
				}
				loginSubmitted = true
				extra = url.Values{"username": {ua.Username}, "password": {ua.Password}}
			} else if f = findForm(forms, func(f *Form) bool { return f.HasButton("consent", "approve") }); f != nil {
				extra = url.Values{"consent": {"approve"}}
			} else {
				return nil, fmt.Errorf("%s %s: a page with neither a login nor a consent form: %s", req.Method, req.URL, truncate(string(body), 300))
			}
			if req, err = f.Submit(ctx, req.URL, extra); err != nil {
				return nil, err
			}
		default:
			return nil, &StatusError{Method: req.Method, URL: req.URL.String(), Status: resp.StatusCode, Body: truncate(string(body), 300)}
		}
	}
	return nil, ErrTooManySteps
}

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

func findForm(forms []*Form, match func(*Form) bool) *Form {
	for _, f := range forms {
		if match(f) {
			return f
		}
	}
	return nil
}

// ParseForms returns the forms of an HTML page. It uses encoding/xml in its
// lenient HTML mode (void elements auto-closed, HTML entities known,
// unquoted and value-less attributes accepted), which is enough for
// server-rendered pages.
func ParseForms(r io.Reader) ([]*Form, error) {
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
