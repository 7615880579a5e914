// Package client is the HTTP client side of the benchmark harness: an OAuth
// 2.1 public client (RFC 6749, RFC 7636 PKCE, RFC 7591 registration, RFC 8707
// resource indicators), a user agent that signs in through the authorization
// server's login and consent pages, and a minimal MCP Streamable HTTP client
// that calls tools with raw JSON-RPC.
//
// It is written for measurement rather than for applications: every request
// is one round trip on a shared keep-alive transport, every response body is
// read to the end so that the connection is reused, and every answer is
// checked (status, content type, the fields the harness needs), so that a
// broken server fails the run instead of inflating its figures. It dials
// loopback addresses only.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxBody caps every response body the harness reads.
const maxBody = 1 << 20

// ErrNotLoopback is returned when a request would leave the machine.
var ErrNotLoopback = errors.New("client: refusing to dial a non-loopback address")

// StatusError is an HTTP answer with an unexpected status code.
type StatusError struct {
	Method, URL string
	Status      int
	Body        string // the start of the body
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.URL, e.Status, e.Body)
}

// NewTransport returns a keep-alive transport for loopback benchmarking:
// at least conns idle connections per host are kept, no proxy, no
// compression, HTTP/1.1, and only loopback addresses are dialled.
func NewTransport(conns int) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				if host != "localhost" {
					return nil, fmt.Errorf("%w: %s", ErrNotLoopback, addr)
				}
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   max(conns, 2),
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

// do sends req, reads the whole body (so that the connection is reused) and
// checks the status against want.
func do(hc *http.Client, req *http.Request, want int) (*http.Response, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the body: %w", req.Method, req.URL, err)
	}
	if resp.StatusCode != want {
		return resp, body, &StatusError{Method: req.Method, URL: req.URL.String(), Status: resp.StatusCode, Body: truncate(string(body), 300)}
	}
	return resp, body, nil
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
