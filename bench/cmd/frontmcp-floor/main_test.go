package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRun serves one refresh_token grant on a free loopback port and stops
// cleanly when the context ends.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	var status int
	var body string
	go func() {
		errc <- run(ctx, []string{"--port", "0"}, func(base string) {
			defer cancel()
			resp, err := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"c1"}})
			if err != nil {
				body = err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
		})
	}()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	if status != http.StatusOK || !strings.Contains(body, `"access_token":"ey`) {
		t.Errorf("token endpoint: %d %s", status, body)
	}
}

func TestRunBadFlag(t *testing.T) {
	if err := run(t.Context(), []string{"--port", "x"}, nil); err == nil {
		t.Error("run with --port x succeeded")
	}
}
