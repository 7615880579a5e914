// Package whoami is the built-in tool of the frontmcp binary: whoami
// describes the caller, so an operator can check authentication end to end
// with any MCP client.
package whoami

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/token"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Out is what the whoami tool returns: who the server thinks the caller is.
type Out struct {
	Subject   string    `json:"subject"`
	Anonymous bool      `json:"anonymous"`
	ClientID  string    `json:"client_id,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Add registers the tool on srv.
//
// It is a raw go-sdk tool handler rather than mcp.AddTool's typed one: the
// typed wrapper decodes the arguments twice and validates the output against
// its schema on every call (three JSON decodings and a schema walk, most of
// the CPU of a call this small). whoami takes no arguments and builds its
// output from a fixed struct, so it checks the one and encodes the other
// itself; the advertised schemas are the ones mcp.AddTool would derive.
func Add(srv *frontmcp.Server) error {
	in, err := jsonschema.For[struct{}](nil)
	if err != nil {
		return fmt.Errorf("whoami input schema: %w", err)
	}
	out, err := jsonschema.For[Out](nil)
	if err != nil {
		return fmt.Errorf("whoami output schema: %w", err)
	}
	srv.MCP().AddTool(&mcp.Tool{
		Name:         "whoami",
		Description:  "Describe the authenticated caller: subject, client, scopes and token expiry.",
		Annotations:  &mcp.ToolAnnotations{ReadOnlyHint: true},
		InputSchema:  in,
		OutputSchema: out,
	}, handle)
	return nil
}

// handle is the tool handler: a tool error for any argument, the caller
// otherwise, as structured content and as its JSON text (MCP 2025-06-18
// "Structured content": servers should also return it as text).
func handle(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	if !noArguments(req.Params.Arguments) {
		res := &mcp.CallToolResult{}
		res.SetError(fmt.Errorf("whoami takes no arguments"))
		return res, nil
	}
	p := frontmcp.PrincipalOf(req)
	b, err := Out{Subject: p.Subject, Anonymous: p.Anonymous, ClientID: p.ClientID, Scopes: p.Scopes, ExpiresAt: p.ExpiresAt}.appendJSON(nil)
	if err != nil {
		return nil, err
	}
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: string(b)}},
		StructuredContent: json.RawMessage(b),
	}, nil
}

// appendJSON appends o as encoding/json encodes it (the struct tags of Out),
// without reflection: encoding/json's reflective encoder, on the fresh
// goroutine go-sdk runs each call on, cost more than the rest of the tool.
// Like encoding/json, it fails for a time that RFC 3339 cannot represent.
func (o Out) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"subject":`...)
	b = token.AppendJSONString(b, o.Subject)
	b = append(b, `,"anonymous":`...)
	b = strconv.AppendBool(b, o.Anonymous)
	if o.ClientID != "" {
		b = append(b, `,"client_id":`...)
		b = token.AppendJSONString(b, o.ClientID)
	}
	if len(o.Scopes) > 0 {
		b = append(b, `,"scopes":[`...)
		for i, sc := range o.Scopes {
			if i > 0 {
				b = append(b, ',')
			}
			b = token.AppendJSONString(b, sc)
		}
		b = append(b, ']')
	}
	if !o.ExpiresAt.IsZero() {
		// As time.Time.MarshalJSON: RFC 3339 with nanoseconds, quoted.
		b = append(b, `,"expires_at":"`...)
		var err error
		if b, err = o.ExpiresAt.AppendText(b); err != nil {
			return nil, err
		}
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// noArguments reports whether raw, the arguments of a tools/call (valid JSON:
// the SDK decoded the request), is absent, null or an empty object.
func noArguments(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return true
	}
	return raw[0] == '{' && len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}
