package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// protocolVersion is the version the conformance suite's client negotiates.
const protocolVersion = "2025-11-25"

// harness is one server with the surface and one connected client, joined by
// in-memory transports.
type harness struct {
	surface *surface
	server  *mcp.Server
	client  *mcp.ClientSession
}

// start builds a server with a fresh surface and connects a client with copts
// (nil: no client features). It must run inside a synctest bubble when the test
// depends on timing.
func start(t *testing.T, copts *mcp.ClientOptions) *harness {
	t.Helper()
	return startVersion(t, copts, protocolVersion)
}

func startVersion(t *testing.T, copts *mcp.ClientOptions, version string) *harness {
	t.Helper()
	ctx := context.Background()
	sf := newSurface()
	server := mcp.NewServer(&mcp.Implementation{Name: "everything-test", Version: "0"}, sf.serverOptions())
	sf.register(server)

	st, ct := mcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, st, nil)
	if err != nil {
		t.Fatalf("server connect: %v", err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "0"}, copts)
	var sopts *mcp.ClientSessionOptions
	if version != "" {
		sopts = &mcp.ClientSessionOptions{ProtocolVersion: version}
	}
	cs, err := client.Connect(ctx, ct, sopts)
	if err != nil {
		t.Fatalf("client connect: %v", err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		_ = ss.Wait()
	})
	return &harness{surface: sf, server: server, client: cs}
}

func (h *harness) call(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	res, err := h.client.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("CallTool(%s): %v", name, err)
	}
	return res
}

// text returns the text of the single text content block of res.
func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("got %d content blocks, want 1: %+v", len(res.Content), res.Content)
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("content is %T, want *mcp.TextContent", res.Content[0])
	}
	return tc.Text
}

// asJSON normalises v through JSON so that values built from Go maps and values
// decoded from the wire compare equal.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func wireCode(err error) int64 {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return we.Code
	}
	return 0
}

func TestListings(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()

	tools, err := h.client.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var toolNames []string
	for _, tool := range tools.Tools {
		toolNames = append(toolNames, tool.Name)
		if tool.Description == "" || tool.InputSchema == nil {
			t.Errorf("tool %s: description %q, input schema %v; want both set", tool.Name, tool.Description, tool.InputSchema)
		}
	}
	wantTools := []string{
		"json_schema_2020_12_tool",
		"test_audio_content", "test_elicitation", "test_elicitation_sep1034_defaults",
		"test_elicitation_sep1330_enums", "test_embedded_resource", "test_error_handling",
		"test_image_content", "test_multiple_content_types", "test_sampling", "test_simple_text",
		"test_tool_with_logging", "test_tool_with_progress",
	}
	slices.Sort(toolNames)
	if diff := cmp.Diff(wantTools, toolNames); diff != "" {
		t.Errorf("tools (-want +got):\n%s", diff)
	}

	resources, err := h.client.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	type res struct{ URI, MIME string }
	var gotRes []res
	for _, r := range resources.Resources {
		gotRes = append(gotRes, res{r.URI, r.MIMEType})
		if r.Name == "" || r.Description == "" {
			t.Errorf("resource %s: name %q, description %q; want both set", r.URI, r.Name, r.Description)
		}
	}
	slices.SortFunc(gotRes, func(a, b res) int { return strings.Compare(a.URI, b.URI) })
	wantRes := []res{
		{"test://static-binary", "image/png"},
		{"test://static-text", "text/plain"},
		{"test://watched-resource", "text/plain"},
	}
	if diff := cmp.Diff(wantRes, gotRes); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}

	templates, err := h.client.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var gotTemplates []string
	for _, rt := range templates.ResourceTemplates {
		gotTemplates = append(gotTemplates, rt.URITemplate)
	}
	if diff := cmp.Diff([]string{"test://template/{id}/data"}, gotTemplates); diff != "" {
		t.Errorf("templates (-want +got):\n%s", diff)
	}

	prompts, err := h.client.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	gotPrompts := map[string][]string{}
	for _, p := range prompts.Prompts {
		if p.Description == "" {
			t.Errorf("prompt %s has no description", p.Name)
		}
		args := []string{}
		for _, a := range p.Arguments {
			if !a.Required {
				t.Errorf("prompt %s argument %s: not required", p.Name, a.Name)
			}
			args = append(args, a.Name)
		}
		gotPrompts[p.Name] = args
	}
	wantPrompts := map[string][]string{
		"test_simple_prompt":                 {},
		"test_prompt_with_arguments":         {"arg1", "arg2"},
		"test_prompt_with_embedded_resource": {"resourceUri"},
		"test_prompt_with_image":             {},
	}
	if diff := cmp.Diff(wantPrompts, gotPrompts); diff != "" {
		t.Errorf("prompts (-want +got):\n%s", diff)
	}

	caps := h.client.InitializeResult().Capabilities
	if caps.Completions == nil || caps.Logging == nil || caps.Resources == nil || !caps.Resources.Subscribe ||
		caps.Tools == nil || caps.Prompts == nil {
		t.Errorf("capabilities %+v: want completions, logging, prompts, tools and subscribable resources", caps)
	}
}

func TestToolInputSchemas(t *testing.T) {
	h := start(t, nil)
	tools, err := h.client.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]map[string]any{}
	for _, tool := range tools.Tools {
		schemas[tool.Name] = asJSON(t, tool.InputSchema).(map[string]any)
	}
	tests := []struct {
		tool     string
		required []any
	}{
		{"test_sampling", []any{"prompt"}},
		{"test_elicitation", []any{"message"}},
	}
	for _, tc := range tests {
		s := schemas[tc.tool]
		if s["type"] != "object" {
			t.Errorf("%s: type %v, want object", tc.tool, s["type"])
		}
		if diff := cmp.Diff(tc.required, s["required"]); diff != "" {
			t.Errorf("%s required (-want +got):\n%s", tc.tool, diff)
		}
	}
	// SEP-1613: the 2020-12 keywords reach the client verbatim.
	var want any
	if err := json.Unmarshal([]byte(jsonSchema202012), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, any(schemas["json_schema_2020_12_tool"])); diff != "" {
		t.Errorf("json_schema_2020_12_tool schema (-want +got):\n%s", diff)
	}
}

func TestStaticTools(t *testing.T) {
	tests := []struct {
		tool string
		want []mcp.Content
	}{
		{"test_simple_text", []mcp.Content{&mcp.TextContent{Text: "This is a simple text response for testing."}}},
		{"test_image_content", []mcp.Content{&mcp.ImageContent{Data: redPixelPNG, MIMEType: "image/png"}}},
		{"test_audio_content", []mcp.Content{&mcp.AudioContent{Data: silentWAV, MIMEType: "audio/wav"}}},
		{"test_embedded_resource", []mcp.Content{&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
			URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource content.",
		}}}},
		{"test_multiple_content_types", []mcp.Content{
			&mcp.TextContent{Text: "Multiple content types test:"},
			&mcp.ImageContent{Data: redPixelPNG, MIMEType: "image/png"},
			&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
				URI: "test://mixed-content-resource", MIMEType: "application/json", Text: `{"test":"data","value":123}`,
			}},
		}},
	}
	h := start(t, nil)
	for _, tc := range tests {
		t.Run(tc.tool, func(t *testing.T) {
			res := h.call(t, tc.tool, nil)
			if res.IsError {
				t.Fatalf("IsError set: %+v", res.Content)
			}
			if diff := cmp.Diff(tc.want, res.Content); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorTool(t *testing.T) {
	h := start(t, nil)
	res := h.call(t, "test_error_handling", nil)
	if !res.IsError {
		t.Error("IsError not set")
	}
	if got, want := text(t, res), "This tool intentionally returns an error for testing"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
}

func TestMedia(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(redPixelPNG))
	if err != nil {
		t.Fatalf("redPixelPNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Errorf("image bounds %v, want 1x1", b)
	}
	if got := color.NRGBAModel.Convert(img.At(0, 0)); got != (color.NRGBA{R: 0xff, A: 0xff}) {
		t.Errorf("pixel %v, want opaque red", got)
	}

	var hdr struct {
		RIFF       [4]byte
		Size       uint32
		WAVE, Fmt  [4]byte
		FmtSize    uint32
		Format     uint16
		Channels   uint16
		Rate       uint32
		ByteRate   uint32
		BlockAlign uint16
		Bits       uint16
		Data       [4]byte
		DataSize   uint32
	}
	if err := binary.Read(bytes.NewReader(silentWAV), binary.LittleEndian, &hdr); err != nil {
		t.Fatal(err)
	}
	got := []any{string(hdr.RIFF[:]), hdr.Size, string(hdr.WAVE[:]), string(hdr.Fmt[:]), hdr.FmtSize, hdr.Format,
		hdr.Channels, hdr.Rate, hdr.ByteRate, hdr.BlockAlign, hdr.Bits, string(hdr.Data[:]), hdr.DataSize}
	want := []any{"RIFF", uint32(len(silentWAV) - 8), "WAVE", "fmt ", uint32(16), uint16(1),
		uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16), "data", uint32(len(silentWAV) - 44)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WAV header (-want +got):\n%s", diff)
	}
}

func TestToolWithLogging(t *testing.T) {
	tests := []struct {
		name  string
		level mcp.LoggingLevel // "" leaves the level unset
		want  []string
	}{
		{"debug", "debug", logLines},
		{"info", "info", logLines},
		{"warning filters info", "warning", nil},
		{"unset sends nothing", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var got []string
				h := start(t, &mcp.ClientOptions{
					LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
						mu.Lock()
						defer mu.Unlock()
						if req.Params.Level != "info" || req.Params.Logger != "everything" {
							t.Errorf("log level %q logger %q, want info/everything", req.Params.Level, req.Params.Logger)
						}
						got = append(got, req.Params.Data.(string))
					},
				})
				if tc.level != "" {
					if err := h.client.SetLoggingLevel(context.Background(), &mcp.SetLoggingLevelParams{Level: tc.level}); err != nil {
						t.Fatal(err)
					}
				}
				begin := time.Now()
				res := h.call(t, "test_tool_with_logging", nil)
				if elapsed := time.Since(begin); elapsed != 2*stepDelay {
					t.Errorf("tool took %v, want %v", elapsed, 2*stepDelay)
				}
				if got := text(t, res); got != "Tool with logging executed successfully" {
					t.Errorf("text %q", got)
				}
				synctest.Wait()
				mu.Lock()
				defer mu.Unlock()
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("log messages (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestToolWithProgress(t *testing.T) {
	type progress struct {
		Token           any
		Progress, Total float64
	}
	tests := []struct {
		name  string
		token any
		want  []progress
	}{
		{"with token", "progress-test-1", []progress{
			{"progress-test-1", 0, 100}, {"progress-test-1", 50, 100}, {"progress-test-1", 100, 100},
		}},
		{"without token", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var got []progress
				h := start(t, &mcp.ClientOptions{
					ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
						mu.Lock()
						defer mu.Unlock()
						got = append(got, progress{req.Params.ProgressToken, req.Params.Progress, req.Params.Total})
					},
				})
				params := &mcp.CallToolParams{Name: "test_tool_with_progress", Arguments: map[string]any{}}
				if tc.token != nil {
					params.SetProgressToken(tc.token)
				}
				begin := time.Now()
				res, err := h.client.CallTool(context.Background(), params)
				if err != nil {
					t.Fatal(err)
				}
				if elapsed := time.Since(begin); elapsed != 2*stepDelay {
					t.Errorf("tool took %v, want %v", elapsed, 2*stepDelay)
				}
				if got := text(t, res); got != "Progress tool completed 3 steps" {
					t.Errorf("text %q", got)
				}
				synctest.Wait()
				mu.Lock()
				defer mu.Unlock()
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("progress (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestSampling(t *testing.T) {
	var seen *mcp.CreateMessageParams
	h := start(t, &mcp.ClientOptions{
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			seen = req.Params
			return &mcp.CreateMessageResult{
				Role:    "assistant",
				Content: &mcp.TextContent{Text: "This is a test response from the client"},
				Model:   "test-model",
			}, nil
		},
	})
	res := h.call(t, "test_sampling", map[string]any{"prompt": "Test prompt for sampling"})
	if res.IsError {
		t.Fatalf("IsError: %s", text(t, res))
	}
	if got, want := text(t, res), "LLM response: This is a test response from the client"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if seen == nil {
		t.Fatal("client was not asked to sample")
	}
	wantReq := &mcp.CreateMessageParams{
		MaxTokens: 100,
		Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "Test prompt for sampling"}}},
	}
	if diff := cmp.Diff(asJSON(t, wantReq), asJSON(t, seen)); diff != "" {
		t.Errorf("sampling request (-want +got):\n%s", diff)
	}
}

func TestSamplingWithoutCapability(t *testing.T) {
	h := start(t, nil)
	res := h.call(t, "test_sampling", map[string]any{"prompt": "x"})
	if !res.IsError || text(t, res) != "client does not support sampling" {
		t.Errorf("got IsError=%v %+v, want the tool error for a client without sampling", res.IsError, res.Content)
	}
	// The prompt argument is required by the input schema.
	if res := h.call(t, "test_sampling", nil); !res.IsError {
		t.Errorf("call without prompt: IsError not set: %+v", res.Content)
	}
}

func TestElicitation(t *testing.T) {
	tests := []struct {
		name       string
		tool       string
		args       map[string]any
		wantSchema map[string]any
		reply      *mcp.ElicitResult
		wantText   string
	}{
		{
			name: "basic",
			tool: "test_elicitation",
			args: map[string]any{"message": "Please provide your information"},
			wantSchema: map[string]any{
				"type": "object",
				"properties": map[string]any{
					"username": map[string]any{"type": "string", "description": "User's response"},
					"email":    map[string]any{"type": "string", "description": "User's email address"},
				},
				"required": []any{"username", "email"},
			},
			reply:    &mcp.ElicitResult{Action: "accept", Content: map[string]any{"username": "testuser", "email": "test@example.com"}},
			wantText: `User response: action=accept, content={"email":"test@example.com","username":"testuser"}`,
		},
		{
			name:       "declined",
			tool:       "test_elicitation",
			args:       map[string]any{"message": "Please provide your information"},
			wantSchema: nil, // checked by "basic"
			reply:      &mcp.ElicitResult{Action: "decline"},
			wantText:   `User response: action=decline, content={}`,
		},
		{
			name:       "SEP-1034 defaults",
			tool:       "test_elicitation_sep1034_defaults",
			wantSchema: sep1034Schema(),
			reply: &mcp.ElicitResult{Action: "accept", Content: map[string]any{
				"name": "Jane Smith", "age": 25, "score": 88, "status": "inactive", "verified": false,
			}},
			wantText: `User response: action=accept, content={"age":25,"name":"Jane Smith","score":88,"status":"inactive","verified":false}`,
		},
		{
			name: "SEP-1034 defaults applied",
			tool: "test_elicitation_sep1034_defaults",
			// The client omits every field; the server fills in the defaults.
			reply:    &mcp.ElicitResult{Action: "accept", Content: map[string]any{}},
			wantText: `User response: action=accept, content={"age":30,"name":"John Doe","score":95.5,"status":"active","verified":true}`,
		},
		{
			name:       "SEP-1330 enums",
			tool:       "test_elicitation_sep1330_enums",
			wantSchema: sep1330Schema(),
			reply: &mcp.ElicitResult{Action: "accept", Content: map[string]any{
				"untitledSingle": "option1", "titledSingle": "value1", "legacyEnum": "opt1",
				"untitledMulti": []any{"option1", "option2"}, "titledMulti": []any{"value1", "value2"},
			}},
			wantText: `User response: action=accept, content={"legacyEnum":"opt1","titledMulti":["value1","value2"],"titledSingle":"value1","untitledMulti":["option1","option2"],"untitledSingle":"option1"}`,
		},
		{
			name:     "SEP-1330 rejects a value outside the enum",
			tool:     "test_elicitation_sep1330_enums",
			reply:    &mcp.ElicitResult{Action: "accept", Content: map[string]any{"untitledSingle": "option9"}},
			wantText: "", // a tool error
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen *mcp.ElicitParams
			h := start(t, &mcp.ClientOptions{
				ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					seen = req.Params
					return tc.reply, nil
				},
			})
			res := h.call(t, tc.tool, tc.args)
			if seen == nil {
				t.Fatal("client was not asked to elicit")
			}
			if seen.Message == "" {
				t.Error("elicitation message is empty")
			}
			if tc.args["message"] != nil && seen.Message != tc.args["message"] {
				t.Errorf("message %q, want %q", seen.Message, tc.args["message"])
			}
			if tc.wantSchema != nil {
				if diff := cmp.Diff(asJSON(t, tc.wantSchema), asJSON(t, seen.RequestedSchema)); diff != "" {
					t.Errorf("requested schema (-want +got):\n%s", diff)
				}
			}
			if tc.wantText == "" {
				if !res.IsError {
					t.Errorf("IsError not set: %+v", res.Content)
				}
				return
			}
			if res.IsError {
				t.Fatalf("IsError: %s", text(t, res))
			}
			if got := text(t, res); got != tc.wantText {
				t.Errorf("text\n got %s\nwant %s", got, tc.wantText)
			}
		})
	}
}

func TestElicitationWithoutCapability(t *testing.T) {
	h := start(t, nil)
	tests := []struct {
		tool string
		args map[string]any
	}{
		{"test_elicitation", map[string]any{"message": "m"}},
		{"test_elicitation_sep1034_defaults", nil},
		{"test_elicitation_sep1330_enums", nil},
	}
	for _, tc := range tests {
		res := h.call(t, tc.tool, tc.args)
		if !res.IsError || !strings.HasPrefix(text(t, res), "elicitation failed: ") {
			t.Errorf("%s: got IsError=%v %+v, want an elicitation tool error", tc.tool, res.IsError, res.Content)
		}
	}
}

func TestPrompts(t *testing.T) {
	tests := []struct {
		name string
		args map[string]string
		want []*mcp.PromptMessage
	}{
		{"test_simple_prompt", nil, []*mcp.PromptMessage{
			{Role: "user", Content: &mcp.TextContent{Text: "This is a simple prompt for testing."}},
		}},
		{"test_prompt_with_arguments", map[string]string{"arg1": "testValue1", "arg2": "testValue2"}, []*mcp.PromptMessage{
			{Role: "user", Content: &mcp.TextContent{Text: "Prompt with arguments: arg1='testValue1', arg2='testValue2'"}},
		}},
		{"test_prompt_with_embedded_resource", map[string]string{"resourceUri": "test://example-resource"}, []*mcp.PromptMessage{
			{Role: "user", Content: &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
				URI: "test://example-resource", MIMEType: "text/plain", Text: "Embedded resource content for testing.",
			}}},
			{Role: "user", Content: &mcp.TextContent{Text: "Please process the embedded resource above."}},
		}},
		{"test_prompt_with_image", nil, []*mcp.PromptMessage{
			{Role: "user", Content: &mcp.ImageContent{Data: redPixelPNG, MIMEType: "image/png"}},
			{Role: "user", Content: &mcp.TextContent{Text: "Please analyze the image above."}},
		}},
	}
	h := start(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.client.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: tc.name, Arguments: tc.args})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Messages); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPromptErrors(t *testing.T) {
	tests := []struct {
		name string
		args map[string]string
		want string // substring of the error
	}{
		{"test_prompt_with_arguments", map[string]string{"arg1": "a"}, `missing required argument "arg2"`},
		{"test_prompt_with_arguments", map[string]string{"arg1": "", "arg2": "b"}, `missing required argument "arg1"`},
		{"test_prompt_with_embedded_resource", nil, `missing required argument "resourceUri"`},
		{"no_such_prompt", nil, "unknown prompt"},
	}
	h := start(t, nil)
	for _, tc := range tests {
		_, err := h.client.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: tc.name, Arguments: tc.args})
		if err == nil || !strings.Contains(err.Error(), tc.want) || wireCode(err) != jsonrpc.CodeInvalidParams {
			t.Errorf("GetPrompt(%s, %v) = %v (code %d), want Invalid Params containing %q",
				tc.name, tc.args, err, wireCode(err), tc.want)
		}
	}
}

func TestComplete(t *testing.T) {
	prompt := &mcp.CompleteReference{Type: "ref/prompt", Name: "test_prompt_with_arguments"}
	template := &mcp.CompleteReference{Type: "ref/resource", URI: "test://template/{id}/data"}
	tests := []struct {
		name      string
		ref       *mcp.CompleteReference
		arg, val  string
		want      mcp.CompletionResultDetails
		wantError bool
	}{
		{"prefix", prompt, "arg1", "par", mcp.CompletionResultDetails{Values: []string{"paris", "park", "party"}, Total: 3}, false},
		{"case-insensitive", prompt, "arg1", "PARI", mcp.CompletionResultDetails{Values: []string{"paris"}, Total: 1}, false},
		{"empty value lists all", prompt, "arg2", "", mcp.CompletionResultDetails{Values: []string{"hello", "help", "world"}, Total: 3}, false},
		{"no match is an empty list", prompt, "arg1", "test", mcp.CompletionResultDetails{Values: []string{}}, false},
		{"unknown argument", prompt, "arg9", "", mcp.CompletionResultDetails{Values: []string{}}, false},
		{"template", template, "id", "1", mcp.CompletionResultDetails{Values: []string{"1", "123"}, Total: 2}, false},
		{"unknown prompt", &mcp.CompleteReference{Type: "ref/prompt", Name: "nope"}, "arg1", "", mcp.CompletionResultDetails{}, true},
		{"unknown template", &mcp.CompleteReference{Type: "ref/resource", URI: "test://nope/{x}"}, "x", "", mcp.CompletionResultDetails{}, true},
	}
	h := start(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.client.Complete(context.Background(), &mcp.CompleteParams{
				Ref:      tc.ref,
				Argument: mcp.CompleteParamsArgument{Name: tc.arg, Value: tc.val},
			})
			if tc.wantError {
				if wireCode(err) != jsonrpc.CodeInvalidParams {
					t.Errorf("got %v, want an Invalid Params error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.Completion); diff != "" {
				t.Errorf("completion (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompleteWireValuesNeverNull(t *testing.T) {
	res, err := complete(context.Background(), &mcp.CompleteRequest{Params: &mcp.CompleteParams{
		Ref:      &mcp.CompleteReference{Type: "ref/prompt", Name: "test_prompt_with_arguments"},
		Argument: mcp.CompleteParamsArgument{Name: "arg1", Value: "zzz"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"values":[]`) {
		t.Errorf("wire form %s: want \"values\":[]", b)
	}
}

func TestReadResource(t *testing.T) {
	tests := []struct {
		uri  string
		want *mcp.ResourceContents
	}{
		{"test://static-text", &mcp.ResourceContents{
			URI: "test://static-text", MIMEType: "text/plain", Text: "This is the content of the static text resource.",
		}},
		{"test://static-binary", &mcp.ResourceContents{URI: "test://static-binary", MIMEType: "image/png", Blob: redPixelPNG}},
		{"test://template/123/data", &mcp.ResourceContents{
			URI: "test://template/123/data", MIMEType: "application/json",
			Text: `{"id":"123","templateTest":true,"data":"Data for ID: 123"}`,
		}},
		{"test://template/a%22b/data", &mcp.ResourceContents{
			URI: "test://template/a%22b/data", MIMEType: "application/json",
			Text: `{"id":"a\"b","templateTest":true,"data":"Data for ID: a\"b"}`,
		}},
		{"test://watched-resource", &mcp.ResourceContents{
			URI: "test://watched-resource", MIMEType: "text/plain", Text: "Watched resource revision 0",
		}},
	}
	h := start(t, nil)
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			res, err := h.client.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: tc.uri})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*mcp.ResourceContents{tc.want}, res.Contents); diff != "" {
				t.Errorf("contents (-want +got):\n%s", diff)
			}
		})
	}
	for _, uri := range []string{"test://nope", "test://template//data", "test://template/1/2/data"} {
		if _, err := h.client.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: uri}); err == nil {
			t.Errorf("ReadResource(%s): no error", uri)
		}
	}
}

func TestTemplateID(t *testing.T) {
	tests := []struct {
		uri    string
		id     string
		wantOK bool
	}{
		{"test://template/123/data", "123", true},
		{"test://template/a%20b/data", "a b", true},
		{"test://template/%2F/data", "/", true},
		{"test://template//data", "", false},
		{"test://template/1/2/data", "", false},
		{"test://template/%zz/data", "", false},
		{"test://template/1/data?x=1", "", false},
		{"test://template/1?x/data", "", false},
		{"test://template/1", "", false},
		{"test://other/1/data", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		id, ok := templateID(tc.uri)
		if id != tc.id || ok != tc.wantOK {
			t.Errorf("templateID(%q) = %q, %v; want %q, %v", tc.uri, id, ok, tc.id, tc.wantOK)
		}
	}
}

func FuzzTemplateID(f *testing.F) {
	for _, s := range []string{"test://template/123/data", "test://template/a%20b/data", "test://template//data", "test://template/%/data", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		id, ok := templateID(uri)
		if !ok {
			if id != "" {
				t.Fatalf("templateID(%q) = %q with ok=false", uri, id)
			}
			return
		}
		if id == "" {
			t.Fatalf("templateID(%q) accepted an empty id", uri)
		}
		// The id round-trips through the template's expansion.
		back, ok := templateID(templatePrefix + url.PathEscape(id) + templateSuffix)
		if !ok || back != id {
			t.Fatalf("round trip of %q (from %q) = %q, %v", id, uri, back, ok)
		}
		if !knownResource(uri) {
			t.Fatalf("knownResource(%q) = false for a template URI", uri)
		}
	})
}

func TestSubscriptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var updates []string
		h := start(t, &mcp.ClientOptions{
			ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
				mu.Lock()
				defer mu.Unlock()
				updates = append(updates, req.Params.URI)
			},
		})
		ctx := context.Background()
		nUpdates := func() int {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return len(updates)
		}
		read := func() string {
			res, err := h.client.ReadResource(ctx, &mcp.ReadResourceParams{URI: watchedURI})
			if err != nil {
				t.Fatal(err)
			}
			return res.Contents[0].Text
		}

		// Nothing changes while nobody is subscribed.
		time.Sleep(2 * watchInterval)
		if n := nUpdates(); n != 0 || read() != "Watched resource revision 0" {
			t.Fatalf("before subscribing: %d updates, %q", n, read())
		}

		if err := h.client.Subscribe(ctx, &mcp.SubscribeParams{URI: watchedURI}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(watchInterval)
		if n := nUpdates(); n != 1 {
			t.Fatalf("after one interval: %d updates, want 1", n)
		}
		if got := read(); got != "Watched resource revision 1" {
			t.Errorf("read %q, want revision 1", got)
		}
		time.Sleep(2 * watchInterval)
		if n := nUpdates(); n != 3 {
			t.Fatalf("after three intervals: %d updates, want 3", n)
		}

		if err := h.client.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: watchedURI}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * watchInterval)
		if n := nUpdates(); n != 3 {
			t.Errorf("after unsubscribing: %d updates, want still 3", n)
		}
		if got := read(); got != "Watched resource revision 3" {
			t.Errorf("read %q, want revision 3", got)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, u := range updates {
			if u != watchedURI {
				t.Errorf("update for %q", u)
			}
		}
	})
}

func TestSubscribeOtherResources(t *testing.T) {
	h := start(t, nil)
	ctx := context.Background()
	for _, uri := range []string{staticTextURI, staticBinaryURI, "test://template/7/data"} {
		if err := h.client.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
			t.Errorf("Subscribe(%s): %v", uri, err)
		}
	}
	err := h.client.Subscribe(ctx, &mcp.SubscribeParams{URI: "test://nope"})
	if wireCode(err) != mcp.CodeResourceNotFound {
		t.Errorf("Subscribe(test://nope) = %v, want resource not found", err)
	}
	h.surface.watch.mu.Lock()
	defer h.surface.watch.mu.Unlock()
	if h.surface.watch.stop != nil {
		t.Error("update loop runs without a subscriber of the watched resource")
	}
}

// TestSubscriberGoneStopsUpdates checks that a session that ends without
// unsubscribing stops the updates at the next tick.
func TestSubscriberGoneStopsUpdates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		if err := h.client.Subscribe(context.Background(), &mcp.SubscribeParams{URI: watchedURI}); err != nil {
			t.Fatal(err)
		}
		w := h.surface.watch
		running := func() bool {
			synctest.Wait()
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.stop != nil
		}
		if !running() {
			t.Fatal("update loop not running after subscribe")
		}
		if err := h.client.Close(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(watchInterval)
		if running() {
			t.Error("update loop still running after the only subscriber left")
		}
		if got := w.currentRevision(); got != 0 {
			t.Errorf("revision %d, want 0: no update for a session that is gone", got)
		}
	})
}

// TestLatestProtocol runs a smoke check with the SDK's default (latest)
// protocol version, which uses per-request metadata instead of sessions.
func TestLatestProtocol(t *testing.T) {
	h := startVersion(t, nil, "")
	if got := text(t, h.call(t, "test_simple_text", nil)); got != "This is a simple text response for testing." {
		t.Errorf("text %q", got)
	}
	res, err := h.client.GetPrompt(context.Background(), &mcp.GetPromptParams{
		Name: "test_prompt_with_arguments", Arguments: map[string]string{"arg1": "x", "arg2": "y"},
	})
	if err != nil || len(res.Messages) != 1 {
		t.Fatalf("GetPrompt: %v, %+v", err, res)
	}
}

// TestStreamableHTTP serves the surface over Streamable HTTP on loopback, the way
// the command does, and checks the DNS-rebinding protection the conformance
// suite probes: a foreign Host/Origin is refused, a loopback one is served.
func TestStreamableHTTP(t *testing.T) {
	sf := newSurface()
	server := mcp.NewServer(&mcp.Implementation{Name: "everything-test", Version: "0"}, sf.serverOptions())
	sf.register(server)
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil))
	t.Cleanup(ts.Close)
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}

	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"probe","version":"1"}}}`
	tests := []struct {
		host string
		ok   bool
	}{
		{"evil.example.com", false},
		{u.Host, true},
		{"localhost:" + u.Port(), true},
	}
	for _, tc := range tests {
		req, err := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(initBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		req.Header.Set("Origin", "http://"+tc.host)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ok := resp.StatusCode >= 200 && resp.StatusCode < 300; ok != tc.ok {
			t.Errorf("Host %s: status %d, want success=%v", tc.host, resp.StatusCode, tc.ok)
		}
		if !tc.ok && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
			t.Errorf("Host %s: status %d, want 4xx", tc.host, resp.StatusCode)
		}
	}

	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "0"}, &mcp.ClientOptions{
		CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Role: "assistant", Content: &mcp.TextContent{Text: "over http"}, Model: "m"}, nil
		},
	})
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: ts.URL}, &mcp.ClientSessionOptions{ProtocolVersion: protocolVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "test_sampling", Arguments: map[string]any{"prompt": "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, res); got != "LLM response: over http" {
		t.Errorf("text %q", got)
	}
}
