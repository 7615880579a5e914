// Command everything serves the "everything" surface that the MCP conformance
// suite (npm @modelcontextprotocol/conformance, server scenarios) expects: a
// fixed set of tools, resources, a resource template, prompts, completions,
// logging and resource subscriptions with known names and known content.
//
// It exists so that the project's HTTP stack can be checked end to end against
// the official suite (scripts/conformance.sh): the suite addresses only these
// names and checks their content. json_schema_2020_12_tool serves the suite's
// pending json-schema-2020-12 scenario (run with --suite all).
//
// The surface follows the MCP 2025-11-25 specification:
//   - tools: https://modelcontextprotocol.io/specification/2025-11-25/server/tools
//   - resources and subscriptions: .../server/resources
//   - prompts: .../server/prompts
//   - completion, logging, progress: .../server/utilities/*, .../basic/utilities/progress
//   - sampling and elicitation: .../client/sampling, .../client/elicitation
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Resource URIs of the surface.
const (
	staticTextURI   = "test://static-text"
	staticBinaryURI = "test://static-binary"
	watchedURI      = "test://watched-resource"
	templateURI     = "test://template/{id}/data"

	templatePrefix = "test://template/"
	templateSuffix = "/data"
)

// Default timing of the surface. stepDelay separates the notifications of the
// logging and progress tools (the suite asks for about 50 ms); watchInterval is
// how often the watched resource changes while someone is subscribed.
const (
	stepDelay     = 50 * time.Millisecond
	watchInterval = 3 * time.Second
)

// defaultSurface backs the package-level serverOptions and register, which the
// command's main calls once for its single server.
var defaultSurface = newSurface()

// serverOptions returns the [mcp.ServerOptions] the surface needs: the
// completion handler and the resource subscribe/unsubscribe handlers. Pass them
// to [mcp.NewServer] for the server that is then given to register.
func serverOptions() *mcp.ServerOptions { return defaultSurface.serverOptions() }

// register adds the surface's tools, resources, template and prompts to s, which
// must have been created with the options from serverOptions.
func register(s *mcp.Server) { defaultSurface.register(s) }

// surface holds the state shared by the server options and the registered
// features of one server.
type surface struct {
	watch *watcher
}

func newSurface() *surface {
	return &surface{watch: &watcher{interval: watchInterval, subs: map[*mcp.ServerSession]struct{}{}}}
}

func (sf *surface) serverOptions() *mcp.ServerOptions {
	return &mcp.ServerOptions{
		CompletionHandler:  complete,
		SubscribeHandler:   sf.watch.subscribe,
		UnsubscribeHandler: sf.watch.unsubscribe,
	}
}

func (sf *surface) register(s *mcp.Server) {
	sf.watch.setServer(s)
	sf.addTools(s)
	sf.addResources(s)
	addPrompts(s)
}

// ---------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------

// noArgs is the input of the tools that take no arguments.
type noArgs struct{}

type samplingArgs struct {
	Prompt string `json:"prompt" jsonschema:"The prompt to send to the LLM"`
}

type elicitationArgs struct {
	Message string `json:"message" jsonschema:"The message to show the user"`
}

// jsonSchema202012 is the input schema of json_schema_2020_12_tool: the suite's
// json-schema-2020-12 scenario (SEP-1613) checks that $schema, $defs and
// additionalProperties reach the client unchanged.
const jsonSchema202012 = `{
	"$schema": "https://json-schema.org/draft/2020-12/schema",
	"type": "object",
	"$defs": {
		"address": {
			"type": "object",
			"properties": {
				"street": {"type": "string"},
				"city": {"type": "string"}
			}
		}
	},
	"properties": {
		"name": {"type": "string"},
		"address": {"$ref": "#/$defs/address"}
	},
	"additionalProperties": false
}`

func (sf *surface) addTools(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: "test_simple_text", Description: "Returns a single text content block."},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return toolText("This is a simple text response for testing."), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_image_content", Description: "Returns a 1x1 PNG image content block."},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.ImageContent{Data: redPixelPNG, MIMEType: "image/png"},
			}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_audio_content", Description: "Returns a short WAV audio content block."},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.AudioContent{Data: silentWAV, MIMEType: "audio/wav"},
			}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_embedded_resource", Description: "Returns an embedded text resource."},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
					URI:      "test://embedded-resource",
					MIMEType: "text/plain",
					Text:     "This is an embedded resource content.",
				}},
			}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_multiple_content_types", Description: "Returns text, image and embedded resource content together."},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.TextContent{Text: "Multiple content types test:"},
				&mcp.ImageContent{Data: redPixelPNG, MIMEType: "image/png"},
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
					URI:      "test://mixed-content-resource",
					MIMEType: "application/json",
					Text:     `{"test":"data","value":123}`,
				}},
			}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_tool_with_logging", Description: "Sends three info log notifications while it runs."},
		toolWithLogging)
	mcp.AddTool(s, &mcp.Tool{Name: "test_tool_with_progress", Description: "Reports progress 0, 50 and 100 of 100 when given a progress token."},
		toolWithProgress)
	mcp.AddTool(s, &mcp.Tool{Name: "test_error_handling", Description: "Always fails with a tool error (isError: true)."},
		func(context.Context, *mcp.CallToolRequest, noArgs) (*mcp.CallToolResult, any, error) {
			return toolError("This tool intentionally returns an error for testing"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_sampling", Description: "Asks the client's LLM to answer the prompt (sampling/createMessage)."},
		toolSampling)
	mcp.AddTool(s, &mcp.Tool{Name: "test_elicitation", Description: "Asks the user for a username and an email (elicitation/create)."},
		toolElicitation)
	mcp.AddTool(s, &mcp.Tool{Name: "test_elicitation_sep1034_defaults", Description: "Elicits primitive fields that all carry default values (SEP-1034)."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			return elicit(ctx, req, "Please review your profile; defaults are filled in.", sep1034Schema()), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "test_elicitation_sep1330_enums", Description: "Elicits the five enum shapes of SEP-1330."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			return elicit(ctx, req, "Please choose options.", sep1330Schema()), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{
		Name:        "json_schema_2020_12_tool",
		Description: "Declares an input schema that uses JSON Schema 2020-12 keywords (SEP-1613).",
		InputSchema: json.RawMessage(jsonSchema202012),
	}, func(_ context.Context, _ *mcp.CallToolRequest, in map[string]any) (*mcp.CallToolResult, any, error) {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, nil, err
		}
		return toolText("JSON Schema 2020-12 tool called with: " + string(b)), nil, nil
	})
}

func toolText(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
}

// toolError is a tool execution error: a result with isError set, which the
// model can see, rather than a JSON-RPC protocol error (MCP tools, "Error
// Handling").
func toolError(text string) *mcp.CallToolResult {
	r := toolText(text)
	r.IsError = true
	return r
}

// pause waits d or until ctx is done, whichever is first.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Log lines of test_tool_with_logging, in order.
var logLines = []string{"Tool execution started", "Tool processing data", "Tool execution completed"}

func toolWithLogging(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
	for i, line := range logLines {
		if i > 0 {
			if err := pause(ctx, stepDelay); err != nil {
				return nil, nil, err
			}
		}
		// Log honours the level the client set with logging/setLevel and
		// sends nothing before the client set one.
		if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{
			Level:  "info",
			Logger: "everything",
			Data:   line,
		}); err != nil {
			return nil, nil, err
		}
	}
	return toolText("Tool with logging executed successfully"), nil, nil
}

// Progress steps of test_tool_with_progress, out of progressTotal.
var progressSteps = []float64{0, 50, 100}

const progressTotal = 100

func toolWithProgress(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
	token := req.Params.GetProgressToken()
	for i, p := range progressSteps {
		if i > 0 {
			if err := pause(ctx, stepDelay); err != nil {
				return nil, nil, err
			}
		}
		if token == nil {
			continue // progress is only reported against a token the client chose
		}
		if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
			ProgressToken: token,
			Progress:      p,
			Total:         progressTotal,
			Message:       fmt.Sprintf("step %d of %d", i+1, len(progressSteps)),
		}); err != nil {
			return nil, nil, err
		}
	}
	return toolText(fmt.Sprintf("Progress tool completed %d steps", len(progressSteps))), nil, nil
}

func toolSampling(ctx context.Context, req *mcp.CallToolRequest, in samplingArgs) (*mcp.CallToolResult, any, error) {
	if caps := req.ClientCapabilities(); caps == nil || caps.Sampling == nil {
		return toolError("client does not support sampling"), nil, nil
	}
	res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
		Messages: []*mcp.SamplingMessage{{
			Role:    "user",
			Content: &mcp.TextContent{Text: in.Prompt},
		}},
		MaxTokens: 100,
	})
	if err != nil {
		return toolError("sampling failed: " + err.Error()), nil, nil
	}
	text := "(non-text response)"
	if tc, ok := res.Content.(*mcp.TextContent); ok {
		text = tc.Text
	}
	return toolText("LLM response: " + text), nil, nil
}

func toolElicitation(ctx context.Context, req *mcp.CallToolRequest, in elicitationArgs) (*mcp.CallToolResult, any, error) {
	schema := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"username": map[string]any{"type": "string", "description": "User's response"},
			"email":    map[string]any{"type": "string", "description": "User's email address"},
		},
		"required": []string{"username", "email"},
	}
	return elicit(ctx, req, in.Message, schema), nil, nil
}

// elicit asks the client for input in form mode and reports the user's answer
// as text, or a tool error when the client cannot elicit.
func elicit(ctx context.Context, req *mcp.CallToolRequest, message string, schema map[string]any) *mcp.CallToolResult {
	res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: message, RequestedSchema: schema})
	if err != nil {
		return toolError("elicitation failed: " + err.Error())
	}
	content := []byte("{}")
	if res.Content != nil {
		if content, err = json.Marshal(res.Content); err != nil {
			return toolError("elicitation result: " + err.Error())
		}
	}
	return toolText(fmt.Sprintf("User response: action=%s, content=%s", res.Action, content))
}

// sep1034Schema requests one field of each primitive type, each with a default
// (SEP-1034).
func sep1034Schema() map[string]any {
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"name":     map[string]any{"type": "string", "description": "User name", "default": "John Doe"},
			"age":      map[string]any{"type": "integer", "description": "User age", "default": 30},
			"score":    map[string]any{"type": "number", "description": "User score", "default": 95.5},
			"status":   map[string]any{"type": "string", "description": "User status", "enum": []string{"active", "inactive", "pending"}, "default": "active"},
			"verified": map[string]any{"type": "boolean", "description": "Verification status", "default": true},
		},
	}
}

// sep1330Schema requests the five enum shapes of SEP-1330: untitled and titled
// single-select, the legacy enumNames form, and untitled and titled multi-select.
func sep1330Schema() map[string]any {
	titled := func(title string) []map[string]any {
		return []map[string]any{
			{"const": "value1", "title": "First " + title},
			{"const": "value2", "title": "Second " + title},
			{"const": "value3", "title": "Third " + title},
		}
	}
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"untitledSingle": map[string]any{
				"type": "string",
				"enum": []string{"option1", "option2", "option3"},
			},
			"titledSingle": map[string]any{
				"type":  "string",
				"oneOf": titled("Option"),
			},
			"legacyEnum": map[string]any{
				"type":      "string",
				"enum":      []string{"opt1", "opt2", "opt3"},
				"enumNames": []string{"Option One", "Option Two", "Option Three"},
			},
			"untitledMulti": map[string]any{
				"type":  "array",
				"items": map[string]any{"type": "string", "enum": []string{"option1", "option2", "option3"}},
			},
			"titledMulti": map[string]any{
				"type":  "array",
				"items": map[string]any{"anyOf": titled("Choice")},
			},
		},
	}
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

func (sf *surface) addResources(s *mcp.Server) {
	s.AddResource(&mcp.Resource{
		URI: staticTextURI, Name: "static-text", MIMEType: "text/plain",
		Description: "A static text resource.",
	}, func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
			URI: staticTextURI, MIMEType: "text/plain",
			Text: "This is the content of the static text resource.",
		}}}, nil
	})
	s.AddResource(&mcp.Resource{
		URI: staticBinaryURI, Name: "static-binary", MIMEType: "image/png",
		Description: "A static binary resource (a 1x1 PNG image).",
	}, func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
			URI: staticBinaryURI, MIMEType: "image/png", Blob: redPixelPNG,
		}}}, nil
	})
	s.AddResource(&mcp.Resource{
		URI: watchedURI, Name: "watched-resource", MIMEType: "text/plain",
		Description: "A resource that changes periodically while a client is subscribed to it.",
	}, func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
			URI: watchedURI, MIMEType: "text/plain",
			Text: fmt.Sprintf("Watched resource revision %d", sf.watch.currentRevision()),
		}}}, nil
	})
	s.AddResourceTemplate(&mcp.ResourceTemplate{
		URITemplate: templateURI, Name: "template-data", MIMEType: "application/json",
		Description: "JSON data for the given id (RFC 6570 level 1 template).",
	}, readTemplate)
}

// templateData is the JSON body of a test://template/{id}/data resource.
type templateData struct {
	ID           string `json:"id"`
	TemplateTest bool   `json:"templateTest"`
	Data         string `json:"data"`
}

func readTemplate(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	id, ok := templateID(uri)
	if !ok {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	b, err := json.Marshal(templateData{ID: id, TemplateTest: true, Data: "Data for ID: " + id})
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
		URI: uri, MIMEType: "application/json", Text: string(b),
	}}}, nil
}

// templateID extracts the id from a URI of the form test://template/{id}/data,
// the RFC 6570 §3.2.2 simple expansion of templateURI: the id is one
// non-empty, percent-decoded path segment. It reports false for any other URI.
func templateID(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, templatePrefix)
	if !ok {
		return "", false
	}
	raw, ok := strings.CutSuffix(rest, templateSuffix)
	if !ok || raw == "" || strings.ContainsAny(raw, "/?#") {
		return "", false
	}
	id, err := url.PathUnescape(raw)
	if err != nil || id == "" {
		return "", false
	}
	return id, true
}

// knownResource reports whether uri names a resource of the surface.
func knownResource(uri string) bool {
	switch uri {
	case staticTextURI, staticBinaryURI, watchedURI:
		return true
	}
	_, ok := templateID(uri)
	return ok
}

// watcher implements resource subscriptions (MCP resources, "Subscriptions").
// While at least one live session is subscribed to the watched resource it
// bumps the resource's revision every interval and sends
// notifications/resources/updated to the subscribers; with none it runs nothing.
type watcher struct {
	interval time.Duration

	mu       sync.Mutex
	server   *mcp.Server
	subs     map[*mcp.ServerSession]struct{} // sessions subscribed to watchedURI
	stop     chan struct{}                   // non-nil while the update loop runs
	revision int
}

func (w *watcher) setServer(s *mcp.Server) {
	w.mu.Lock()
	w.server = s
	w.mu.Unlock()
}

func (w *watcher) currentRevision() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.revision
}

// subscribe is the server's SubscribeHandler. Subscriptions to any resource of
// the surface are accepted; only the watched one ever changes.
func (w *watcher) subscribe(_ context.Context, req *mcp.SubscribeRequest) error {
	uri := req.Params.URI
	if !knownResource(uri) {
		return mcp.ResourceNotFoundError(uri)
	}
	if uri != watchedURI {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.subs[req.Session] = struct{}{}
	if w.stop == nil && w.server != nil {
		w.stop = make(chan struct{})
		go w.loop(w.stop)
	}
	return nil
}

// unsubscribe is the server's UnsubscribeHandler.
func (w *watcher) unsubscribe(_ context.Context, req *mcp.UnsubscribeRequest) error {
	if req.Params.URI != watchedURI {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.subs, req.Session)
	if len(w.subs) == 0 && w.stop != nil {
		close(w.stop)
		w.stop = nil
	}
	return nil
}

func (w *watcher) loop(stop <-chan struct{}) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if !w.tick(stop) {
				return
			}
		}
	}
}

// tick forgets subscribers whose session has ended, and if any remain, makes a
// new revision and notifies them. It reports whether the loop should go on.
func (w *watcher) tick(stop <-chan struct{}) bool {
	w.mu.Lock()
	s := w.server
	w.mu.Unlock()
	live := slices.Collect(s.Sessions())

	w.mu.Lock()
	if w.stop != stop { // unsubscribed meanwhile; a newer loop may own w.stop
		w.mu.Unlock()
		return false
	}
	for ss := range w.subs {
		if !slices.Contains(live, ss) {
			delete(w.subs, ss)
		}
	}
	if len(w.subs) == 0 {
		w.stop = nil
		w.mu.Unlock()
		return false
	}
	w.revision++
	w.mu.Unlock()
	// The server sends the notification only to sessions it has recorded as
	// subscribed to the URI.
	_ = s.ResourceUpdated(context.Background(), &mcp.ResourceUpdatedNotificationParams{URI: watchedURI})
	return true
}

// ---------------------------------------------------------------------------
// Prompts
// ---------------------------------------------------------------------------

func addPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{Name: "test_simple_prompt", Description: "A prompt without arguments."},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{
				{Role: "user", Content: &mcp.TextContent{Text: "This is a simple prompt for testing."}},
			}}, nil
		})
	s.AddPrompt(&mcp.Prompt{
		Name:        "test_prompt_with_arguments",
		Description: "A prompt with two required arguments (completion available for both).",
		Arguments: []*mcp.PromptArgument{
			{Name: "arg1", Description: "First test argument", Required: true},
			{Name: "arg2", Description: "Second test argument", Required: true},
		},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		args, err := requireArgs(req, "arg1", "arg2")
		if err != nil {
			return nil, err
		}
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{
			Role:    "user",
			Content: &mcp.TextContent{Text: fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", args[0], args[1])},
		}}}, nil
	})
	s.AddPrompt(&mcp.Prompt{
		Name:        "test_prompt_with_embedded_resource",
		Description: "A prompt that embeds a resource.",
		Arguments: []*mcp.PromptArgument{
			{Name: "resourceUri", Description: "URI of the resource to embed", Required: true},
		},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		args, err := requireArgs(req, "resourceUri")
		if err != nil {
			return nil, err
		}
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{
			{Role: "user", Content: &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
				URI: args[0], MIMEType: "text/plain", Text: "Embedded resource content for testing.",
			}}},
			{Role: "user", Content: &mcp.TextContent{Text: "Please process the embedded resource above."}},
		}}, nil
	})
	s.AddPrompt(&mcp.Prompt{Name: "test_prompt_with_image", Description: "A prompt with image content."},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{
				{Role: "user", Content: &mcp.ImageContent{Data: redPixelPNG, MIMEType: "image/png"}},
				{Role: "user", Content: &mcp.TextContent{Text: "Please analyze the image above."}},
			}}, nil
		})
}

// requireArgs returns the named prompt arguments in order, or an Invalid
// Params error naming the first one missing (MCP prompts, "Error Handling").
func requireArgs(req *mcp.GetPromptRequest, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		v, ok := req.Params.Arguments[n]
		if !ok || v == "" {
			return nil, &jsonrpc.Error{
				Code:    jsonrpc.CodeInvalidParams,
				Message: fmt.Sprintf("prompt %q: missing required argument %q", req.Params.Name, n),
			}
		}
		out[i] = v
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Completion
// ---------------------------------------------------------------------------

// completionCandidates lists the values offered for each completable argument,
// keyed by reference ("ref/prompt" name or "ref/resource" URI template), then
// argument name.
var completionCandidates = map[string]map[string][]string{
	"test_prompt_with_arguments": {
		"arg1": {"paris", "park", "party"},
		"arg2": {"hello", "help", "world"},
	},
	templateURI: {
		"id": {"1", "2", "3", "123"},
	},
}

// maxCompletionValues is the most values one completion response may carry
// (MCP completion, "Completion Results").
const maxCompletionValues = 100

// complete is the server's CompletionHandler: it returns the candidates for the
// referenced argument that start with the typed value, case-insensitively. An
// unknown prompt or resource template is an Invalid Params error; an unknown
// argument of a known one has no suggestions.
func complete(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	ref := req.Params.Ref
	var key string
	switch ref.Type {
	case "ref/prompt":
		key = ref.Name
	case "ref/resource":
		key = ref.URI
	}
	args, ok := completionCandidates[key]
	if !ok {
		return nil, &jsonrpc.Error{
			Code:    jsonrpc.CodeInvalidParams,
			Message: fmt.Sprintf("no completions for %s %q", ref.Type, key),
		}
	}
	prefix := strings.ToLower(req.Params.Argument.Value)
	values := []string{} // never null on the wire
	for _, c := range args[req.Params.Argument.Name] {
		if strings.HasPrefix(strings.ToLower(c), prefix) {
			values = append(values, c)
		}
	}
	total := len(values)
	if len(values) > maxCompletionValues {
		values = values[:maxCompletionValues]
	}
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{
		Values:  values,
		Total:   total,
		HasMore: total > len(values),
	}}, nil
}

// ---------------------------------------------------------------------------
// Media
// ---------------------------------------------------------------------------

// redPixelPNG is a 1x1 opaque red PNG image.
var redPixelPNG = func() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.NRGBA{R: 0xff, A: 0xff})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}()

// WAV parameters of silentWAV: 0.1 s of 8 kHz mono 16-bit PCM silence.
const (
	wavRate    = 8000
	wavBits    = 16
	wavSamples = wavRate / 10
)

// silentWAV is a RIFF/WAVE file of PCM silence.
var silentWAV = func() []byte {
	const dataLen = wavSamples * wavBits / 8
	var buf bytes.Buffer
	w := func(v any) { _ = binary.Write(&buf, binary.LittleEndian, v) }
	buf.WriteString("RIFF")
	w(uint32(36 + dataLen))
	buf.WriteString("WAVEfmt ")
	w(uint32(16))                    // fmt chunk size
	w(uint16(1))                     // PCM
	w(uint16(1))                     // mono
	w(uint32(wavRate))               // sample rate
	w(uint32(wavRate * wavBits / 8)) // byte rate
	w(uint16(wavBits / 8))           // block align
	w(uint16(wavBits))               // bits per sample
	buf.WriteString("data")
	w(uint32(dataLen))
	buf.Write(make([]byte, dataLen))
	return buf.Bytes()
}()
