package session

import (
	"encoding/json"
	"testing"
)

// FuzzParseMessages: any POST body is either refused or read as messages
// whose count matches the body's shape, and a level is only ever one of
// MCP's.
func FuzzParseMessages(f *testing.F) {
	f.Add([]byte(initBody))
	f.Add([]byte(initializedBody))
	f.Add([]byte(`{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"warning"}}`))
	f.Add([]byte(`[` + callBody(1, "a") + `,{"jsonrpc":"2.0","id":9,"result":{}}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(` [1]`))
	f.Add([]byte(`{"method":7}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"logging/setLevel","params":{"level":"loud"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, batch, err := parseMessages(body)
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
