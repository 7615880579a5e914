package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
)

// ProtocolVersion is the MCP protocol version the harness speaks.
const ProtocolVersion = "2025-06-18"

// Errors of the MCP client.
var (
	// ErrNoResponse: the body held no JSON-RPC response to the request.
	ErrNoResponse = errors.New("client: no JSON-RPC response in the body")
	// ErrToolError: the tool answered with isError true.
	ErrToolError = errors.New("client: tool returned an error result")
)

// RPCError is a JSON-RPC 2.0 error object (JSON-RPC 2.0 §5.1).
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string { return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message) }

// RPCResponse is a JSON-RPC 2.0 response (JSON-RPC 2.0 §5).
type RPCResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *RPCError       `json:"error"`
}

// ParseResponse finds the response to request id in an MCP Streamable HTTP
// answer: a JSON body (application/json) or a server-sent event stream
// (text/event-stream, HTML Living Standard §9.2.6) whose events carry
// JSON-RPC messages; notifications and requests in the stream are skipped.
// A JSON-RPC error is returned as the error.
func ParseResponse(contentType string, body []byte, id int64) (*RPCResponse, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("client: content type %q: %w", contentType, err)
	}
	want := strconv.AppendInt(nil, id, 10)
	switch mt {
	case "application/json":
		return matchResponse(body, want)
	case "text/event-stream":
		var found *RPCResponse
		err := scanEvents(body, func(data []byte) bool {
			r, err := matchResponse(data, want)
			if errors.Is(err, ErrNoResponse) {
				return true
			}
			found = r
			return false
		})
		if err != nil {
			return nil, err
		}
		if found == nil {
			return nil, ErrNoResponse
		}
		if found.Error != nil {
			return found, found.Error
		}
		return found, nil
	}
	return nil, fmt.Errorf("client: unexpected content type %q", contentType)
}

// matchResponse decodes one JSON-RPC message and returns it when it is the
// response with the given id; anything else is ErrNoResponse.
func matchResponse(msg, id []byte) (*RPCResponse, error) {
	var r RPCResponse
	if err := json.Unmarshal(msg, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoResponse, err)
	}
	if r.JSONRPC != "2.0" || !bytes.Equal(bytes.TrimSpace(r.ID), id) {
		return nil, ErrNoResponse
	}
	if r.Error != nil {
		return &r, r.Error
	}
	if len(r.Result) == 0 {
		return nil, fmt.Errorf("%w: response %s has neither result nor error", ErrNoResponse, id)
	}
	return &r, nil
}

// scanEvents calls fn with the data of each event of an event stream, until
// fn returns false. Fields other than data are ignored; multi-line data is
// joined with "\n" (HTML Living Standard §9.2.6).
func scanEvents(body []byte, fn func(data []byte) bool) error {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), maxBody)
	var data []byte
	has := false
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if has && !fn(data) {
				return nil
			}
			data, has = data[:0], false
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if string(field) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if has {
			data = append(data, '\n')
		}
		data, has = append(data, value...), true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("client: reading the event stream: %w", err)
	}
	if has {
		fn(data)
	}
	return nil
}

// Session is an MCP session over Streamable HTTP (MCP 2025-06-18,
// "Transports"). It is not safe for concurrent use: each worker opens its own.
type Session struct {
	HTTP *http.Client
	URL  string
	// Authorization is the Authorization header value ("Bearer …"), or
	// empty.
	Authorization string
	// ID is the Mcp-Session-Id the server assigned (empty when stateless).
	ID     string
	nextID int64
}

// Open initializes a session: the initialize request, then the
// notifications/initialized notification.
func Open(ctx context.Context, hc *http.Client, mcpURL, authorization string) (*Session, error) {
	s := &Session{HTTP: hc, URL: mcpURL, Authorization: authorization}
	body := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"frontmcp-bench","version":"1"}}}`, ProtocolVersion)
	resp, r, err := s.call(ctx, body, 0)
	if err != nil {
		return nil, fmt.Errorf("initialize: %w", err)
	}
	var init struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(r.Result, &init); err != nil || init.ProtocolVersion == "" {
		return nil, fmt.Errorf("initialize: result without a protocol version: %s", truncate(string(r.Result), 200))
	}
	s.ID = resp.Header.Get("Mcp-Session-Id")
	s.nextID = 1
	req, err := s.newRequest(ctx, http.MethodPost, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return nil, err
	}
	if _, _, err := do(s.HTTP, req, http.StatusAccepted); err != nil {
		return nil, fmt.Errorf("notifications/initialized: %w", err)
	}
	return s, nil
}

// CallTool calls the tool name with no arguments and returns its
// structuredContent. A tool result with isError is ErrToolError.
func (s *Session) CallTool(ctx context.Context, name string) (json.RawMessage, error) {
	id := s.nextID
	s.nextID++
	nameJSON, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	body := make([]byte, 0, 128)
	body = append(body, `{"jsonrpc":"2.0","id":`...)
	body = strconv.AppendInt(body, id, 10)
	body = append(body, `,"method":"tools/call","params":{"name":`...)
	body = append(body, nameJSON...)
	body = append(body, `,"arguments":{}}}`...)
	_, r, err := s.call(ctx, body, id)
	if err != nil {
		return nil, fmt.Errorf("tools/call %s: %w", name, err)
	}
	var res struct {
		IsError           bool            `json:"isError"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		Content           json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil {
		return nil, fmt.Errorf("tools/call %s: %w", name, err)
	}
	if res.IsError {
		return nil, fmt.Errorf("tools/call %s: %w: %s", name, ErrToolError, truncate(string(res.Content), 200))
	}
	return res.StructuredContent, nil
}

// Close ends the session (DELETE with the session id).
func (s *Session) Close(ctx context.Context) error {
	if s.ID == "" {
		return nil
	}
	req, err := s.newRequest(ctx, http.MethodDelete, nil)
	if err != nil {
		return err
	}
	resp, _, err := do(s.HTTP, req, http.StatusNoContent)
	if err != nil && (resp == nil || resp.StatusCode != http.StatusOK) {
		return err
	}
	return nil
}

func (s *Session) call(ctx context.Context, body []byte, id int64) (*http.Response, *RPCResponse, error) {
	req, err := s.newRequest(ctx, http.MethodPost, body)
	if err != nil {
		return nil, nil, err
	}
	resp, respBody, err := do(s.HTTP, req, http.StatusOK)
	if err != nil {
		return nil, nil, err
	}
	r, err := ParseResponse(resp.Header.Get("Content-Type"), respBody, id)
	if err != nil {
		return nil, nil, err
	}
	return resp, r, nil
}

func (s *Session) newRequest(ctx context.Context, method string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	if body != nil {
		h["Content-Type"] = []string{"application/json"}
	}
	h["Accept"] = []string{"application/json, text/event-stream"}
	if s.Authorization != "" {
		h["Authorization"] = []string{s.Authorization}
	}
	if s.ID != "" {
		h["Mcp-Session-Id"] = []string{s.ID}
	}
	if s.nextID > 0 {
		h["Mcp-Protocol-Version"] = []string{ProtocolVersion}
	}
	return req, nil
}
