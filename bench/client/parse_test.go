package client

import (
	"errors"
	"testing"
)

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
