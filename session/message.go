package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
)

// MCP method names the handler watches for (MCP specification 2025-11-25,
// "Lifecycle" and "Logging").
const (
	methodInitialize   = "initialize"
	methodInitialized  = "notifications/initialized"
	methodSetLevel     = "logging/setLevel"
	methodCancelled    = "notifications/cancelled"
	protocolVersion618 = "2025-06-18" // the first version without JSON-RPC batches
	// protocolVersionSessionless is the first version without sessions
	// (SEP-2575): its requests are served without session state.
	protocolVersionSessionless = "2026-07-28"
)

// message is what the handler reads of one JSON-RPC message of a POST body;
// the transport parses the body again, in full.
type message struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// errNotJSONRPC marks a body that is neither a JSON object nor an array of
// them; the transport answers it.
var errNotJSONRPC = errors.New("session: body is not a JSON-RPC message or batch")

// parseMessages reads the methods and params of a POST body: one JSON-RPC
// message or a batch (an array of them). Responses have no method and are
// returned with an empty one.
func parseMessages(body []byte) (msgs []message, batch bool, err error) {
	body = bytes.TrimLeft(body, " \t\r\n")
	if len(body) == 0 {
		return nil, false, errNotJSONRPC
	}
	if body[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, true, errNotJSONRPC
		}
		msgs = make([]message, len(raws))
		for i, raw := range raws {
			if err := decodeMessage(raw, &msgs[i]); err != nil {
				return nil, true, err
			}
		}
		return msgs, true, nil
	}
	var m message
	if err := decodeMessage(body, &m); err != nil {
		return nil, false, err
	}
	return []message{m}, false, nil
}

func decodeMessage(raw []byte, m *message) error {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 || raw[0] != '{' {
		return errNotJSONRPC
	}
	if err := json.Unmarshal(raw, m); err != nil {
		return errNotJSONRPC
	}
	return nil
}

// isBatch reports whether parseMessages reads body as a batch: its first
// byte after white space opens an array.
func isBatch(body []byte) bool {
	body = bytes.TrimLeft(body, " \t\r\n")
	return len(body) > 0 && body[0] == '['
}

// mayCall reports whether parseMessages could find a message of body
// calling one of methods. Without a backslash, no JSON string of body
// decodes to a method name that is not literally in it; with one, it may
// (an escape), and the caller parses to know.
func mayCall(body []byte, methods ...string) bool {
	if bytes.IndexByte(body, '\\') >= 0 {
		return true
	}
	for _, m := range methods {
		if bytes.Contains(body, []byte(m)) {
			return true
		}
	}
	return false
}

// has reports whether a message of msgs calls method.
func has(msgs []message, method string) bool {
	return slices.ContainsFunc(msgs, func(m message) bool { return m.Method == method })
}

// setLevel returns the level the last logging/setLevel of msgs asks for.
func setLevel(msgs []message) (string, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Method != methodSetLevel {
			continue
		}
		var p struct {
			Level string `json:"level"`
		}
		if json.Unmarshal(msgs[i].Params, &p) != nil || !validLevel(p.Level) {
			return "", false
		}
		return p.Level, true
	}
	return "", false
}

// validLevel reports whether l is a log level of MCP (RFC 5424 severities,
// MCP specification 2025-11-25, "Logging").
func validLevel(l string) bool {
	switch l {
	case "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency":
		return true
	}
	return false
}

// requestIDs returns the ids of the requests (messages with a method and an
// id) of a POST body, as JSON strings or numbers, to name them in
// notifications/cancelled. A body that cannot be read has none.
func requestIDs(body []byte) []json.RawMessage {
	if len(body) == 0 {
		return nil
	}
	var one struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	all := []json.RawMessage{body}
	if isBatch(body) {
		if json.Unmarshal(body, &all) != nil {
			return nil
		}
	}
	var ids []json.RawMessage
	for _, raw := range all {
		one.ID, one.Method = nil, ""
		if json.Unmarshal(raw, &one) != nil || one.Method == "" || !validID(one.ID) {
			continue
		}
		ids = append(ids, one.ID)
	}
	return ids
}

// validID reports whether a JSON value is a JSON-RPC request id: a string
// or a number (JSON-RPC 2.0 §4; MCP excludes null).
func validID(v json.RawMessage) bool {
	if len(v) == 0 {
		return false
	}
	switch c := v[0]; {
	case c == '"':
		var s string
		return json.Unmarshal(v, &s) == nil
	case c == '-' || c >= '0' && c <= '9':
		var n float64
		return json.Unmarshal(v, &n) == nil
	}
	return false
}
