package session

import (
	"encoding/json"
	"fmt"
	"testing"
)

// FuzzParseMessages: any POST body is either refused or read as messages
// whose count matches the body's shape, and a level is only ever one of
// MCP's; servePOST's shortcut (isBatch, mayCall) never misses what
// parseMessages reads.
func FuzzParseMessages(f *testing.F) {
	f.Add([]byte(initBody))
	f.Add([]byte(initializedBody))
	f.Add([]byte(`{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"warning"}}`))
	f.Add([]byte(`[` + callBody(1, "a") + `,{"jsonrpc":"2.0","id":9,"result":{}}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(` [1]`))
	f.Add([]byte(`{"method":7}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"logging/setLevel","params":{"level":"loud"}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"notifications/initiali\u007aed"}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":3,"METHOD":"logging/setLevel","params":{"level":"debug"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, batch, err := parseMessages(body)
		// The shortcut of servePOST for requests on a session.
		if isBatch(body) != batch {
			t.Fatalf("isBatch = %v, parseMessages batch = %v", !batch, batch)
		}
		if !mayCall(body, methodInitialized, methodSetLevel) {
			_, sets := setLevel(msgs)
			if has(msgs, methodInitialized) || has(msgs, methodSetLevel) || sets {
				t.Fatalf("mayCall ruled out a state change that parseMessages reads: %q", body)
			}
		}
		if err != nil {
			if msgs != nil {
				t.Fatalf("error %v with messages %v", err, msgs)
			}
			return
		}
		var shape any
		if json.Unmarshal(body, &shape) != nil {
			t.Fatalf("accepted a body that is not JSON: %q", body)
		}
		switch v := shape.(type) {
		case []any:
			if !batch || len(v) != len(msgs) {
				t.Fatalf("batch of %d read as batch=%v with %d messages", len(v), batch, len(msgs))
			}
		case map[string]any:
			if batch || len(msgs) != 1 {
				t.Fatalf("one message read as batch=%v with %d messages", batch, len(msgs))
			}
		default:
			t.Fatalf("accepted %T", v)
		}
		if level, ok := setLevel(msgs); ok && !validLevel(level) {
			t.Fatalf("level %q", level)
		}
	})
}

// FuzzRequestIDs: the ids read from a POST body to cancel its calls are
// JSON strings or numbers, so that the notifications/cancelled built from
// them is valid JSON naming one request.
func FuzzRequestIDs(f *testing.F) {
	f.Add([]byte(callBody(7, "slow")))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":"a","method":"tools/call"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"id":3,"result":{}}]`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":"\u0022","method":"ping"}`))
	f.Add([]byte(`{"id":-1.5e3,"method":"ping"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, id := range requestIDs(body) {
			msg := fmt.Appendf(nil, `{"jsonrpc":"2.0","method":%q,"params":{"requestId":%s,"reason":"r"}}`, methodCancelled, id)
			var n struct {
				Params struct {
					RequestID any `json:"requestId"`
				} `json:"params"`
			}
			if err := json.Unmarshal(msg, &n); err != nil {
				t.Fatalf("id %s makes an invalid notification: %v", id, err)
			}
			switch n.Params.RequestID.(type) {
			case string, float64:
			default:
				t.Fatalf("id %s is a %T", id, n.Params.RequestID)
			}
		}
	})
}
