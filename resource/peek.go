package resource

import (
	stdjson "encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/segmentio/encoding/json"
)

// methodCallTool is the JSON-RPC method that runs a tool (MCP "tools/call").
const methodCallTool = "tools/call"

// The tools/call peek decides whether a request needs scopes that its token
// lacks. A disagreement between the peek and go-sdk about what a body means
// would let a client call a protected tool unchecked (for example with a key
// spelled "Method", which encoding/json matches case-insensitively and go-sdk
// does not, or with bytes after the first JSON value, which go-sdk ignores).
// So the peek decodes exactly as go-sdk v1.8.0 does, with the same library and
// flags and the same shapes:
//
//   - mcp/transport.go readBatch: an array of raw messages, else one message;
//   - internal/jsonrpc2 DecodeMessage: the wireDecode struct, then "method"
//     decoded as a string;
//   - mcp/shared.go unmarshalParams: params decoded into *mcp.CallToolParamsRaw;
//   - internal/json Unmarshal: a nesting-depth limit of 1000, then
//     segmentio/encoding's Decoder with DontMatchCaseInsensitiveStructFields.
//
// Decoder.Decode reads the first JSON value (checking its syntax) and parses
// it with json.Parse; calling json.Parse on the whole input gives the same
// result whenever Decode succeeds (the bytes after the first value are never
// decoded; the internal speed hints it derives from them are conservative),
// and it spares the Decoder's 32 KiB buffer per call. DontCopyRawMessage only
// makes raw values alias the input instead of copying it.
//
// Whenever go-sdk would accept a message, the peek therefore reads the same
// method and tool name; when the peek cannot decode a body, neither can go-sdk,
// and the request fails there without running a tool. TestToolsCallNoBypass
// checks this against the real go-sdk handler.

// sdkMaxDepth is go-sdk's internal/json defaultMaxDepth.
const sdkMaxDepth = 1000

// sdkFlags are the parse flags of go-sdk's internal/json decoder, plus the
// copy-avoidance flag (which does not change what is decoded).
const sdkFlags = json.DontMatchCaseInsensitiveStructFields | json.DontCopyRawMessage

// sdkUnmarshal decodes data into v as go-sdk's internal/json Unmarshal does.
func sdkUnmarshal(data []byte, v any) error {
	if !depthWithin(data, sdkMaxDepth) {
		return errTooDeep
	}
	_, err := json.Parse(data, v, sdkFlags)
	return err
}

type peekError string

func (e peekError) Error() string { return string(e) }

const errTooDeep = peekError("resource: JSON nesting too deep")

// depthWithin reports whether the nesting of JSON objects and arrays in data
// stays within max, counting brackets outside strings exactly as go-sdk's
// internal/json checkMaxDepth does.
func depthWithin(data []byte, max int) bool {
	depth := 0
	inString, escaped := false, false
	for _, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return false
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return true
}

// wireMessage has the shape of go-sdk's internal/jsonrpc2 wireDecode, so that
// a message decodes here exactly when it decodes there.
type wireMessage struct {
	VersionTag string             `json:"jsonrpc"`
	ID         any                `json:"id,omitempty"`
	Method     stdjson.RawMessage `json:"method"`
	Params     stdjson.RawMessage `json:"params,omitempty"`
	Result     stdjson.RawMessage `json:"result,omitempty"`
	Error      *struct {
		Code    int64              `json:"code"`
		Message string             `json:"message"`
		Data    stdjson.RawMessage `json:"data,omitempty"`
	} `json:"error,omitempty"`
}

// toolCalls returns the names of the tools that body, a JSON-RPC message or
// batch as go-sdk reads it, asks to call. ok is false when go-sdk would refuse
// the body as malformed: then no tool runs and the caller passes it on.
// A tools/call whose params go-sdk cannot decode is answered with an
// invalid-params error without running a tool, so it is not reported.
func toolCalls(body []byte) (names []string, ok bool) {
	if mayBeArray(body) {
		var batch []stdjson.RawMessage
		if sdkUnmarshal(body, &batch) == nil {
			for _, raw := range batch {
				name, isCall, err := toolCall(raw)
				if err != nil {
					return nil, false
				}
				if isCall {
					names = append(names, name)
				}
			}
			return names, true
		}
	}
	name, isCall, err := toolCall(body)
	if err != nil {
		return nil, false
	}
	if isCall {
		names = append(names, name)
	}
	return names, true
}

// mayBeArray reports whether decoding body into a slice can succeed: its first
// non-whitespace byte opens an array or starts null. Any other JSON value
// fails that decoding, so go-sdk falls back to reading one message, and so can
// the peek without trying.
func mayBeArray(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '[', 'n':
			return true
		default:
			return false
		}
	}
	return true
}

// toolCall decodes one JSON-RPC message and reports whether it is a
// tools/call, with the tool's name. err is non-nil when go-sdk could not
// decode the message.
func toolCall(raw []byte) (name string, isCall bool, err error) {
	var msg wireMessage
	if err := sdkUnmarshal(raw, &msg); err != nil {
		return "", false, err
	}
	if len(msg.Method) == 0 {
		return "", false, nil // a response
	}
	var method string
	if err := sdkUnmarshal(msg.Method, &method); err != nil {
		return "", false, err
	}
	if method != methodCallTool || msg.Params == nil {
		return "", false, nil
	}
	var params *mcp.CallToolParamsRaw
	if err := sdkUnmarshal(msg.Params, &params); err != nil || params == nil {
		return "", false, nil
	}
	return params.Name, true, nil
}
