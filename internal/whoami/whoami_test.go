package whoami

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp"
	"github.com/frontmcp-go/frontmcp/config"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestAdd(t *testing.T) {
	cfg := config.Default(config.Development)
	cfg.Auth.Mode = config.ModePublic
	cfg.Auth.TokenStorage.Type = config.StorageMemory
	srv, err := frontmcp.New(&frontmcp.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := Add(srv); err != nil {
		t.Fatal(err)
	}
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for _, args := range []any{nil, map[string]any{}, json.RawMessage(" { } ")} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: args})
		if err != nil {
			t.Fatal(err)
		}
		out, _ := res.StructuredContent.(map[string]any)
		if res.IsError || out["anonymous"] != true || out["subject"] == "" {
			t.Fatalf("whoami(%v) = %v, want an anonymous subject", args, res.StructuredContent)
		}
		// The text content is the same JSON (MCP "Structured content").
		var text map[string]any
		if len(res.Content) != 1 || json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &text) != nil || !reflect.DeepEqual(text, out) {
			t.Fatalf("whoami content = %v, want the structured content as text", res.Content)
		}
	}
	for _, args := range []any{map[string]any{"x": 1}, json.RawMessage(`[]`), json.RawMessage(`"x"`)} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: args})
		if err != nil {
			t.Fatal(err)
		}
		if !res.IsError {
			t.Fatalf("whoami(%s) = %v, want a tool error", args, res.StructuredContent)
		}
	}

	// The advertised schemas are the ones mcp.AddTool derives from the types.
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 1 {
		t.Fatalf("tools/list = %v, %v", tools, err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"input", tools.Tools[0].InputSchema, mustSchema[struct{}](t)},
		{"output", tools.Tools[0].OutputSchema, mustSchema[Out](t)},
	} {
		if got, want := mustJSON(t, c.got), mustJSON(t, c.want); got != want {
			t.Errorf("%s schema = %s, want %s", c.name, got, want)
		}
	}
}

func mustSchema[T any](t *testing.T) *jsonschema.Schema {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mustJSON is v as JSON with object keys in a canonical order.
func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(m)
	return string(b)
}

// TestAppendJSON: appendJSON writes what encoding/json writes for Out.
func TestAppendJSON(t *testing.T) {
	at := time.Date(2026, 11, 27, 15, 4, 5, 123456789, time.FixedZone("x", 3600))
	for _, o := range []Out{
		{},
		{Subject: "anonymous", Anonymous: true},
		{Subject: "alice", ClientID: "c1", Scopes: []string{"read", "write"}, ExpiresAt: at},
		{Subject: "a\"b\\c<d>&\u2028é\x01", ClientID: "https://app.example/c?x=1&y=2", Scopes: []string{""}, ExpiresAt: at.UTC().Truncate(time.Second)},
		{Subject: "far", ExpiresAt: time.Unix(253402300800, 0)}, // year 10000: an error, as encoding/json
	} {
		checkAppendJSON(t, o)
	}
}

func checkAppendJSON(t *testing.T, o Out) {
	t.Helper()
	want, werr := json.Marshal(o)
	got, err := o.appendJSON(nil)
	if (err != nil) != (werr != nil) || string(got) != string(want) {
		t.Errorf("appendJSON(%+v) = %s, %v; want %s, %v", o, got, err, want, werr)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("alice", "c1", "read", false, int64(1_800_000_000_123))
	f.Add("", "", "", true, int64(0))
	f.Fuzz(func(t *testing.T, subject, clientID, scope string, anonymous bool, ms int64) {
		o := Out{Subject: subject, Anonymous: anonymous, ClientID: clientID}
		if scope != "" {
			o.Scopes = []string{scope, subject}
		}
		if ms != 0 {
			o.ExpiresAt = time.UnixMilli(ms)
		}
		checkAppendJSON(t, o)
	})
}
