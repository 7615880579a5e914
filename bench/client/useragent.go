package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/frontmcp-go/frontmcp/internal/htmlform"
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
			forms, err := htmlform.Parse(strings.NewReader(string(body)))
			if err != nil {
				return nil, fmt.Errorf("%s %s: %v", req.Method, req.URL, err)
			}
			var f *htmlform.Form
			var extra url.Values
			if f = htmlform.Find(forms, func(f *htmlform.Form) bool { return f.Inputs["password"] == "password" }); f != nil {
				if loginSubmitted {
					return nil, ErrLoginRejected
				}
				loginSubmitted = true
				extra = url.Values{"username": {ua.Username}, "password": {ua.Password}}
			} else if f = htmlform.Find(forms, func(f *htmlform.Form) bool { return f.HasButton("consent", "approve") }); f != nil {
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
