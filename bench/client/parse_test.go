package client

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseForms(t *testing.T) {
	const page = `<!doctype html><html><head><meta charset=utf-8><title>Sign in</title></head><body>
<form method="post" action="/oauth/login">
<input type="hidden" name="request" value="r1">
<input type="hidden" name="csrf" value="a&amp;b">
<input id=username name=username type=text required autofocus>
<input name="password" type="password" required>
<input type="checkbox" name="remember" checked>
<input type="checkbox" name="news" value="yes">
<input type="radio" name="color" value="red" checked>
<input type="image" name="img">
<input type="submit" name="go" value="Sign in">
<button type="submit">Sign in</button>
</form>
<input name="outside" value="x">
<form action="/oauth/consent" method=POST>
<button type="submit" name="consent" value="deny" class="secondary">Deny</button>
<button name="consent" value="approve">Allow</button>
<button type="button" name="other" value="no">Other</button>
</form>
<form><input name="q"></form>
</body></html>`
	got, err := ParseForms(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	want := []*Form{
		{
			Method: "POST", Action: "/oauth/login",
			Values: url.Values{"request": {"r1"}, "csrf": {"a&b"}, "username": {""}, "password": {""}, "remember": {"on"}, "color": {"red"}},
			Inputs: map[string]string{"request": "hidden", "csrf": "hidden", "username": "text", "password": "password",
				"remember": "checkbox", "news": "checkbox", "color": "radio", "img": "image", "go": "submit"},
			Buttons: []Button{{"go", "Sign in"}},
		},
		{
			Method: "POST", Action: "/oauth/consent", Values: url.Values{}, Inputs: map[string]string{},
			Buttons: []Button{{"consent", "deny"}, {"consent", "approve"}},
		},
		{Method: "GET", Values: url.Values{"q": {""}}, Inputs: map[string]string{"q": "text"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseForms (-want +got):\n%s", diff)
	}
}

func TestFormSubmit(t *testing.T) {
	page, _ := url.Parse("http://127.0.0.1:8080/oauth/authorize?x=1")
	f := &Form{Method: "POST", Action: "/oauth/login#frag", Values: url.Values{"request": {"r1"}, "username": {""}}}
	req, err := f.Submit(t.Context(), page, url.Values{"username": {"bench"}, "password": {"pw"}})
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
		"method": "POST", "url": "http://127.0.0.1:8080/oauth/login", "origin": "http://127.0.0.1:8080",
		"type": "application/x-www-form-urlencoded", "form": url.Values{"request": {"r1"}, "username": {"bench"}, "password": {"pw"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Submit POST (-want +got):\n%s", diff)
	}

	g := &Form{Method: "GET", Action: "search", Values: url.Values{"q": {"a b"}}}
	req, err = g.Submit(t.Context(), page, nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "GET" || req.URL.String() != "http://127.0.0.1:8080/oauth/search?q=a+b" {
		t.Errorf("Submit GET: %s %s", req.Method, req.URL)
	}
}

func FuzzParseForms(f *testing.F) {
	f.Add(`<form method=post action="/x"><input name=a value=1><button name=b value=c></button></form>`)
	f.Add(`<form><input type=checkbox name=c checked><input type=radio name=r value=v checked></form>`)
	f.Add(`<form action="&amp;&lt;"><input name="&#34;">`)
	f.Add(`<input name=outside><form></form></form><form>`)
	f.Add("")
	f.Fuzz(func(t *testing.T, page string) {
		forms, _ := ParseForms(strings.NewReader(page))
		for _, fm := range forms {
			if fm.Method == "" || fm.Values == nil || fm.Inputs == nil {
				t.Fatalf("incomplete form %+v", fm)
			}
			for name := range fm.Values {
				if _, ok := fm.Inputs[name]; !ok {
					t.Fatalf("value %q without an input", name)
				}
			}
		}
	})
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		id          int64
		wantResult  string
		wantErr     error
		wantRPCCode int
	}{
		{
			name: "JSON", contentType: "application/json",
			body: `{"jsonrpc":"2.0","id":7,"result":{"ok":true}}`, id: 7, wantResult: `{"ok":true}`,
		},
		{
			name: "JSON with charset", contentType: "application/json; charset=utf-8",
			body: `{"jsonrpc":"2.0","id":1,"result":{}}`, id: 1, wantResult: `{}`,
		},
		{
			name: "JSON, other id", contentType: "application/json",
			body: `{"jsonrpc":"2.0","id":8,"result":{}}`, id: 7, wantErr: ErrNoResponse,
		},
		{
			name: "JSON-RPC error", contentType: "application/json",
			body: `{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"bad params"}}`, id: 3, wantRPCCode: -32602,
		},
		{
			name: "neither result nor error", contentType: "application/json",
			body: `{"jsonrpc":"2.0","id":3}`, id: 3, wantErr: ErrNoResponse,
		},
		{
			name: "not JSON-RPC 2.0", contentType: "application/json",
			body: `{"id":3,"result":{}}`, id: 3, wantErr: ErrNoResponse,
		},
		{
			name: "event stream: notification first, then the response", contentType: "text/event-stream",
			body: ": comment\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n" +
				"event: message\nid: 5\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\n" + "data:\"result\":{\"n\":1}}\n\n",
			id: 2, wantResult: `{"n":1}`,
		},
		{
			name: "event stream without a final blank line", contentType: "text/event-stream",
			body: "data: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":[]}", id: 4, wantResult: `[]`,
		},
		{
			name: "event stream error", contentType: "text/event-stream",
			body: "data: {\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32601,\"message\":\"no\"}}\n\n", id: 4, wantRPCCode: -32601,
		},
		{
			name: "event stream without the response", contentType: "text/event-stream",
			body: "data: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}\n\ndata: not json\n\n", id: 4, wantErr: ErrNoResponse,
		},
		{name: "HTML", contentType: "text/html", body: "<p>hi</p>", id: 1, wantErr: errAny},
		{name: "no content type", contentType: "", body: "{}", id: 1, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseResponse(tt.contentType, []byte(tt.body), tt.id)
			var rpcErr *RPCError
			switch {
			case tt.wantRPCCode != 0:
				if !errors.As(err, &rpcErr) || rpcErr.Code != tt.wantRPCCode {
					t.Fatalf("error %v, want JSON-RPC error %d", err, tt.wantRPCCode)
				}
			case tt.wantErr == errAny:
				if err == nil {
					t.Fatalf("no error; result %s", r.Result)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if string(r.Result) != tt.wantResult {
					t.Errorf("result %s, want %s", r.Result, tt.wantResult)
				}
			}
		})
	}
}

// errAny stands for "some error" in table tests.
var errAny = errors.New("any error")

func FuzzParseResponse(f *testing.F) {
	f.Add("application/json", `{"jsonrpc":"2.0","id":1,"result":{}}`)
	f.Add("text/event-stream", "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n")
	f.Add("text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"x\"}}\n")
	f.Add("text/event-stream; charset=utf-8", "data:\ndata\n\n:x\n")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r, err := ParseResponse(contentType, []byte(body), 1)
		if err != nil {
			var rpcErr *RPCError
			if errors.As(err, &rpcErr) && (r == nil || r.Error != rpcErr) {
				t.Fatalf("JSON-RPC error %v without its response", err)
			}
			return
		}
		if r == nil || len(r.Result) == 0 || r.Error != nil || string(r.ID) != "1" {
			t.Fatalf("accepted %+v", r)
		}
	})
}
