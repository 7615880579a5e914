package grant

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

const (
	formCT = "application/x-www-form-urlencoded"
	jsonCT = "application/json"
)

func tokenRequest(method, contentType, body string) *http.Request {
	r := httptest.NewRequest(method, "https://as.example.com/oauth/token", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

func TestParseTokenRequest(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		ct      string
		body    string
		maxBody int64
		want    url.Values
		code    string
	}{
		{"form", "POST", formCT, "grant_type=authorization_code&code=abc&code_verifier=xyz",
			0, url.Values{"grant_type": {"authorization_code"}, "code": {"abc"}, "code_verifier": {"xyz"}}, ""},
		{"form charset", "POST", formCT + "; charset=UTF-8", "a=1", 0, url.Values{"a": {"1"}}, ""},
		{"form escapes", "POST", formCT, "redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcb&scope=a+b", 0,
			url.Values{"redirect_uri": {"http://127.0.0.1:5/cb"}, "scope": {"a b"}}, ""},
		{"no content type is form", "POST", "", "a=1", 0, url.Values{"a": {"1"}}, ""},
		{"empty body", "POST", formCT, "", 0, url.Values{}, ""},
		{"empty value kept", "POST", formCT, "a=", 0, url.Values{"a": {""}}, ""},
		{"json", "POST", jsonCT, `{"grant_type":"refresh_token","refresh_token":"g.s"}`, 0,
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"g.s"}}, ""},
		{"json charset and spaces", "POST", jsonCT + "; charset=utf-8", " { \"a\" : \"1\" } \n", 0, url.Values{"a": {"1"}}, ""},
		{"json empty object", "POST", jsonCT, `{}`, 0, url.Values{}, ""},
		{"json escapes", "POST", jsonCT, `{"a":"\u0041\n"}`, 0, url.Values{"a": {"A\n"}}, ""},
		{"body at limit", "POST", formCT, "a=12345", 7, url.Values{"a": {"12345"}}, ""},

		{"GET", "GET", formCT, "a=1", 0, nil, CodeInvalidRequest},
		{"body over limit", "POST", formCT, "a=123456", 7, nil, CodeInvalidRequest},
		{"body over default limit", "POST", formCT, "a=" + strings.Repeat("x", DefaultMaxTokenBody), 0, nil, CodeInvalidRequest},
		{"form repeated", "POST", formCT, "grant_type=authorization_code&code=a&code=b", 0, nil, CodeInvalidRequest},
		{"form repeated same value", "POST", formCT, "code=a&code=a", 0, nil, CodeInvalidRequest},
		{"form empty name", "POST", formCT, "=x&a=1", 0, nil, CodeInvalidRequest},
		{"form bad escape", "POST", formCT, "a=%zz", 0, nil, CodeInvalidRequest},
		{"form semicolon", "POST", formCT, "a=1;b=2", 0, nil, CodeInvalidRequest},
		{"form invalid utf-8", "POST", formCT, "a=%ff", 0, nil, CodeInvalidRequest},
		{"unsupported content type", "POST", "text/plain", "a=1", 0, nil, CodeInvalidRequest},
		{"multipart", "POST", "multipart/form-data; boundary=x", "--x--", 0, nil, CodeInvalidRequest},
		{"malformed content type", "POST", "application/json; =", "{}", 0, nil, CodeInvalidRequest},
		{"json number", "POST", jsonCT, `{"expires_in":3600}`, 0, nil, CodeInvalidRequest},
		{"json bool", "POST", jsonCT, `{"a":true}`, 0, nil, CodeInvalidRequest},
		{"json null", "POST", jsonCT, `{"a":null}`, 0, nil, CodeInvalidRequest},
		{"json array value", "POST", jsonCT, `{"scope":["a","b"]}`, 0, nil, CodeInvalidRequest},
		{"json object value", "POST", jsonCT, `{"a":{"b":"c"}}`, 0, nil, CodeInvalidRequest},
		{"json repeated", "POST", jsonCT, `{"code":"a","code":"b"}`, 0, nil, CodeInvalidRequest},
		{"json empty name", "POST", jsonCT, `{"":"a"}`, 0, nil, CodeInvalidRequest},
		{"json top-level array", "POST", jsonCT, `[{"a":"b"}]`, 0, nil, CodeInvalidRequest},
		{"json top-level string", "POST", jsonCT, `"a=b"`, 0, nil, CodeInvalidRequest},
		{"json empty body", "POST", jsonCT, ``, 0, nil, CodeInvalidRequest},
		{"json trailing object", "POST", jsonCT, `{"a":"b"}{"a":"c"}`, 0, nil, CodeInvalidRequest},
		{"json trailing garbage", "POST", jsonCT, `{"a":"b"} x`, 0, nil, CodeInvalidRequest},
		{"json unterminated", "POST", jsonCT, `{"a":"b"`, 0, nil, CodeInvalidRequest},
		{"json missing colon", "POST", jsonCT, `{"a" "b"}`, 0, nil, CodeInvalidRequest},
		{"json trailing comma", "POST", jsonCT, `{"a":"b",}`, 0, nil, CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := ParseTokenRequest(tokenRequest(tt.method, tt.ct, tt.body), tt.maxBody)
			if tt.code != "" {
				if e == nil {
					t.Fatalf("got %v, want error %s", got, tt.code)
				}
				wantCode(t, e, tt.code)
				return
			}
			if e != nil {
				t.Fatalf("unexpected error: %v", e)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseTokenRequestIgnoresQuery(t *testing.T) {
	r := httptest.NewRequest("POST", "https://as.example.com/oauth/token?client_secret=leak&code=q", strings.NewReader("code=body"))
	r.Header.Set("Content-Type", formCT)
	got, e := ParseTokenRequest(r, 0)
	if e != nil {
		t.Fatal(e)
	}
	if diff := cmp.Diff(url.Values{"code": {"body"}}, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestParseTokenRequestBodyErrors(t *testing.T) {
	// Declared length over the limit is refused before reading.
	r := tokenRequest("POST", formCT, "a=1")
	r.ContentLength = 1 << 30
	if _, e := ParseTokenRequest(r, 100); e == nil || e.Code != CodeInvalidRequest {
		t.Errorf("oversized Content-Length: %v", e)
	}
	// A failing body reader.
	r = tokenRequest("POST", formCT, "")
	r.Body = io.NopCloser(iotest.ErrReader(fmt.Errorf("connection reset")))
	if _, e := ParseTokenRequest(r, 100); e == nil || e.Code != CodeInvalidRequest {
		t.Errorf("failing body: %v", e)
	}
	// No body at all.
	r = tokenRequest("POST", formCT, "")
	r.Body = nil
	got, e := ParseTokenRequest(r, 100)
	if e != nil || len(got) != 0 {
		t.Errorf("nil body: %v, %v", got, e)
	}
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestParseClientCredentials(t *testing.T) {
	tests := []struct {
		name string
		auth []string
		form url.Values
		want ClientCredentials
		code string
	}{
		{"public client", nil, url.Values{"client_id": {"c1"}},
			ClientCredentials{ID: "c1", Method: AuthNone}, ""},
		{"post", nil, url.Values{"client_id": {"c1"}, "client_secret": {"s3cr3t"}},
			ClientCredentials{ID: "c1", Secret: "s3cr3t", Method: AuthClientSecretPost}, ""},
		{"post empty secret is public", nil, url.Values{"client_id": {"c1"}, "client_secret": {""}},
			ClientCredentials{ID: "c1", Method: AuthNone}, ""},
		{"basic", []string{basic("c1", "s3cr3t")}, url.Values{},
			ClientCredentials{ID: "c1", Secret: "s3cr3t", Method: AuthClientSecretBasic}, ""},
		{"basic form-encoded", []string{basic("my client:1", "p+a/s%s:w=")}, url.Values{},
			ClientCredentials{ID: "my client:1", Secret: "p+a/s%s:w=", Method: AuthClientSecretBasic}, ""},
		{"basic raw base64url secret", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("c1:abc-_XYZ"))}, url.Values{},
			ClientCredentials{ID: "c1", Secret: "abc-_XYZ", Method: AuthClientSecretBasic}, ""},
		{"basic lowercase scheme", []string{"basic " + base64.StdEncoding.EncodeToString([]byte("c1:s"))}, url.Values{},
			ClientCredentials{ID: "c1", Secret: "s", Method: AuthClientSecretBasic}, ""},
		{"basic with matching client_id in body", []string{basic("c1", "s")}, url.Values{"client_id": {"c1"}},
			ClientCredentials{ID: "c1", Secret: "s", Method: AuthClientSecretBasic}, ""},
		{"basic empty secret is public (x/oauth2)", []string{basic("c1", "")}, url.Values{},
			ClientCredentials{ID: "c1", Method: AuthNone}, ""},

		{"nothing", nil, url.Values{}, ClientCredentials{}, CodeInvalidClient},
		{"secret without id", nil, url.Values{"client_secret": {"s"}}, ClientCredentials{}, CodeInvalidClient},
		{"basic and post", []string{basic("c1", "s")}, url.Values{"client_id": {"c1"}, "client_secret": {"s"}}, ClientCredentials{}, CodeInvalidRequest},
		{"basic and body id mismatch", []string{basic("c1", "s")}, url.Values{"client_id": {"c2"}}, ClientCredentials{}, CodeInvalidRequest},
		{"two authorization headers", []string{basic("c1", "s"), basic("c1", "s")}, url.Values{}, ClientCredentials{}, CodeInvalidRequest},
		{"bearer scheme", []string{"Bearer abc"}, url.Values{"client_id": {"c1"}}, ClientCredentials{}, CodeInvalidClient},
		{"basic no credentials", []string{"Basic"}, url.Values{}, ClientCredentials{}, CodeInvalidClient},
		{"basic bad base64", []string{"Basic %%%"}, url.Values{}, ClientCredentials{}, CodeInvalidClient},
		{"basic no colon", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("c1"))}, url.Values{}, ClientCredentials{}, CodeInvalidClient},
		{"basic empty id", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(":s"))}, url.Values{}, ClientCredentials{}, CodeInvalidClient},
		{"basic bad escape", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("c1:%zz"))}, url.Values{}, ClientCredentials{}, CodeInvalidClient},
		{"basic invalid utf-8", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("c%ff:s"))}, url.Values{}, ClientCredentials{}, CodeInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tokenRequest("POST", formCT, "")
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			got, e := ParseClientCredentials(r, tt.form)
			if tt.code != "" {
				if e == nil {
					t.Fatalf("got %+v, want error %s", got, tt.code)
				}
				wantCode(t, e, tt.code)
				if e.HTTPStatus() != map[string]int{CodeInvalidClient: 401, CodeInvalidRequest: 400}[tt.code] {
					t.Errorf("status %d for %s", e.HTTPStatus(), tt.code)
				}
				return
			}
			if e != nil {
				t.Fatalf("unexpected error: %v", e)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientCredentialsNeverPrintSecret(t *testing.T) {
	c := ClientCredentials{ID: "c1", Secret: "TOPSECRET", Method: AuthClientSecretBasic}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("auth", "client", c)
	outputs := map[string]string{
		"String": c.String(),
		"%v":     fmt.Sprintf("%v", c),
		"%s":     fmt.Sprintf("%s", c),
		"%+v":    fmt.Sprintf("%+v", c),
		"%#v":    fmt.Sprintf("%#v", c),
		"slog":   buf.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, "TOPSECRET") {
			t.Errorf("%s output reveals the secret: %q", name, out)
		}
		if !strings.Contains(out, "c1") {
			t.Errorf("%s output lacks the client id: %q", name, out)
		}
	}
}

func FuzzParseTokenRequest(f *testing.F) {
	f.Add(formCT, "grant_type=authorization_code&code=x", "")
	f.Add(jsonCT, `{"grant_type":"refresh_token","refresh_token":"a.b"}`, "")
	f.Add(jsonCT, `{"a":1}`, basic("c", "s"))
	f.Add(formCT, "a=1&a=2", "Basic Yzpz")
	f.Add("", "client_id=c&client_secret=s", "")
	f.Add("text/plain", "x", "Bearer x")
	f.Fuzz(func(t *testing.T, contentType, body, authorization string) {
		const max = 1024
		r := tokenRequest("POST", "", body)
		r.Header.Set("Content-Type", contentType)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		v, e := ParseTokenRequest(r, max)
		if e != nil {
			if v != nil {
				t.Fatalf("values returned with error %v", e)
			}
			wantCode(t, e, CodeInvalidRequest)
			return
		}
		if len(body) > max {
			t.Fatalf("accepted a %d-byte body over the %d limit", len(body), max)
		}
		for name, vals := range v {
			if name == "" || len(vals) != 1 {
				t.Fatalf("parameter %q has %d values", name, len(vals))
			}
		}
		creds, ce := ParseClientCredentials(r, v)
		if ce != nil {
			if ce.Code != CodeInvalidClient && ce.Code != CodeInvalidRequest {
				t.Fatalf("credential error code %s", ce.Code)
			}
			return
		}
		if creds.ID == "" {
			t.Fatal("credentials without a client id")
		}
		switch creds.Method {
		case AuthNone:
			if creds.Secret != "" {
				t.Fatal("method none with a secret")
			}
		case AuthClientSecretBasic, AuthClientSecretPost:
			if creds.Secret == "" {
				t.Fatalf("method %s without a secret", creds.Method)
			}
		default:
			t.Fatalf("unknown method %q", creds.Method)
		}
	})
}
