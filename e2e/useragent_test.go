package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/internal/htmlform"
)

// userAgent plays the user's browser during an authorization request: it
// opens the authorization URL, follows the authorization server's redirects,
// fills in the login form, answers the consent form, and stops at the
// redirect to the client (which it never follows, so no server needs to
// listen on the redirect URI). It keeps cookies like a browser.
type userAgent struct {
	client   *http.Client
	username string
	password string
	// consent is the value of the "consent" button to press: "approve" or "deny".
	consent string
	// trace records every request the agent made, for assertions.
	trace []step
}

// step is one request the user agent made and the answer it got.
type step struct {
	Method   string
	URL      string
	Status   int
	Location string
	Page     string // "login", "consent" or "" for pages the agent did not recognise
	Header   http.Header
}

// Errors a user agent reports instead of a redirect to the client.
var (
	// errLoginRejected: the login page came back after the form was submitted.
	errLoginRejected = errors.New("login page shown again after submitting credentials")
	// errTooManySteps: the authorization server kept the agent going in circles.
	errTooManySteps = errors.New("no redirect to the client after many steps")
)

// newUserAgent returns a user agent that logs in as alice and approves.
func newUserAgent(t testing.TB) *userAgent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &userAgent{
		client: &http.Client{
			Jar:     jar,
			Timeout: 20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		username: testUser,
		password: testPassword,
		consent:  "approve",
	}
}

// authorize opens authURL and submits the authorization server's forms until
// it answers with a redirect whose URL starts with redirectURI, and returns
// that URL (RFC 6749 §4.1.2: the authorization response).
func (ua *userAgent) authorize(ctx context.Context, authURL, redirectURI string) (*url.URL, error) {
	start, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	loginSubmitted := false
	for range 12 {
		resp, err := ua.client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		st := step{Method: req.Method, URL: req.URL.String(), Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			ua.trace = append(ua.trace, st)
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
				st.Page = "login"
				if loginSubmitted {
					ua.trace = append(ua.trace, st)
					return nil, errLoginRejected
				}
				loginSubmitted = true
				extra = url.Values{"username": {ua.username}, "password": {ua.password}}
			} else if f = htmlform.Find(forms, func(f *htmlform.Form) bool { return f.HasButton("consent", ua.consent) }); f != nil {
				st.Page = "consent"
				extra = url.Values{"consent": {ua.consent}}
			} else {
				ua.trace = append(ua.trace, st)
				return nil, fmt.Errorf("%s %s: a page with neither a login nor a consent form: %.500s", req.Method, req.URL, body)
			}
			ua.trace = append(ua.trace, st)
			if req, err = f.Submit(ctx, req.URL, extra); err != nil {
				return nil, err
			}
		default:
			ua.trace = append(ua.trace, st)
			return nil, fmt.Errorf("%s %s: unexpected %d %s: %.500s", req.Method, req.URL, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	return nil, errTooManySteps
}

// pages returns the pages the agent recognised, in order.
func (ua *userAgent) pages() []string {
	var p []string
	for _, s := range ua.trace {
		if s.Page != "" {
			p = append(p, s.Page)
		}
	}
	return p
}
