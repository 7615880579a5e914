package multi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontmcp-go/frontmcp/store/redisstore/redistest"
)

// TestLostReply: a refresh whose rotation Redis applied but whose reply never
// reached the server (a timeout, a dropped connection, a crash in between)
// leaves the client with the token it presented, which the store has already
// rotated out. A proxy between the servers and Redis drops the reply of one
// rotation to make that happen on purpose; the server answers 503 and the
// client retries with the same token at the other instance.
//
// Without a reuse grace (the default) the retry is reuse and revokes the
// grant. With auth.refresh.reuseGraceSeconds the retry rotates again: the
// client goes on, the token of the lost reply is dead, and a token older
// than the one in grace is still reuse.
func TestLostReply(t *testing.T) {
	for _, tc := range []struct {
		name  string
		grace int
	}{{"no grace", 0}, {"grace", 30}} {
		t.Run(tc.name, func(t *testing.T) {
			redis, err := redistest.Start(nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { redis.Close() })
			proxy := newReplyDropper(t, redis.Addr)
			d := deploy(t, redis, settings{Instances: 2, ReuseGraceSeconds: tc.grace, RedisTimeout: time.Second, RedisAddr: proxy.addr()})
			a, b := d.instances[0], d.instances[1]
			ctx := t.Context()
			rdb := redis.Client()
			defer rdb.Close()
			previous := func(refreshToken string) []string {
				t.Helper()
				// The grant's rotated-out hashes (docs/deployment.md, "Key layout").
				key := strings.Replace(grantKey(refreshToken), ":grant:", ":grant-prev:", 1)
				hashes, err := rdb.ZRange(ctx, key, 0, -1).Result()
				if err != nil {
					t.Fatalf("ZRANGE %s: %v", key, err)
				}
				return hashes
			}

			clientID, t0, err := d.login(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			// A first rotation loads the script, so the one whose reply is
			// dropped below runs as EVALSHA without a NOSCRIPT round trip.
			t1, err := d.refresh(ctx, clientID, a, t0.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}

			proxy.arm()
			_, err = d.refresh(ctx, clientID, b, t1.RefreshToken)
			if st, code := oauthError(err); st != http.StatusServiceUnavailable || code != "temporarily_unavailable" {
				t.Fatalf("refresh whose store reply was dropped: %v, want 503 temporarily_unavailable", err)
			}
			if n := proxy.dropped.Load(); n != 1 {
				t.Fatalf("the proxy dropped %d rotation replies, want 1", n)
			}
			// Redis rotated t1 out although the client never got its
			// successor.
			if ph := previous(t0.RefreshToken); len(ph) != 2 {
				t.Fatalf("the grant remembers %d rotated-out tokens, want 2 (t0 and t1): the dropped rotation did not run", len(ph))
			}

			t2, err := d.refresh(ctx, clientID, a, t1.RefreshToken)
			if tc.grace == 0 {
				if st, code := oauthError(err); st != http.StatusBadRequest || code != "invalid_grant" {
					t.Fatalf("retry without a grace: %v, want 400 invalid_grant", err)
				}
				if rv, _ := rdb.HGet(ctx, grantKey(t0.RefreshToken), "rv").Result(); rv == "" {
					t.Fatal("retry without a grace did not revoke the grant")
				}
				return
			}
			if err != nil {
				t.Fatalf("retry within the grace: %v, want new tokens", err)
			}
			if ph := previous(t0.RefreshToken); len(ph) != 3 {
				t.Fatalf("after the retry the grant remembers %d rotated-out tokens, want 3 (the retry rotated the token of the lost reply out)", len(ph))
			}
			if sid, err := d.openSession(ctx, b, t2.AccessToken); err != nil || sid == "" {
				t.Fatalf("access token from the retry: %v", err)
			}
			t3, err := d.refresh(ctx, clientID, b, t2.RefreshToken)
			if err != nil {
				t.Fatalf("refresh token from the retry: %v", err)
			}
			// t2 was rotated normally, so t2 is the token in grace now; t1
			// is older: reuse, which revokes the grant.
			_, err = d.refresh(ctx, clientID, a, t1.RefreshToken)
			if st, code := oauthError(err); st != http.StatusBadRequest || code != "invalid_grant" {
				t.Fatalf("t1 after a later rotation: %v, want 400 invalid_grant", err)
			}
			_, err = d.refresh(ctx, clientID, b, t3.RefreshToken)
			if st, code := oauthError(err); st != http.StatusBadRequest || code != "invalid_grant" {
				t.Fatalf("current token after reuse: %v, want 400 invalid_grant", err)
			}
			if n := a.countLog("refresh token retried within its reuse grace"); n != 1 {
				t.Errorf("A logged %d retries within the reuse grace, want 1", n)
			}
		})
	}
}

// replyDropper is a TCP proxy in front of Redis for fault injection: once
// armed, it forwards the next refresh-token rotation (the store's EVALSHA or
// EVAL on a grant's keys with five arguments) to Redis but discards everything
// Redis sends back on that connection, so the rotation runs and the server
// times out waiting for its answer. Everything else passes unchanged.
type replyDropper struct {
	ln      net.Listener
	target  string
	armed   atomic.Bool
	dropped atomic.Int32
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newReplyDropper(t *testing.T, target string) *replyDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &replyDropper{ln: ln, target: target}
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	return p
}

func (p *replyDropper) addr() string { return p.ln.Addr().String() }

// arm makes the proxy drop the reply of the next rotation.
func (p *replyDropper) arm() { p.armed.Store(true) }

func (p *replyDropper) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *replyDropper) track(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c)
}

func (p *replyDropper) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.track(c)
		p.track(up)
		var drop atomic.Bool
		// Redis → server, unless this connection's replies are dropped.
		p.wg.Go(func() {
			defer c.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := up.Read(buf)
				if n > 0 && !drop.Load() {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
		// Server → Redis, command by command.
		p.wg.Go(func() {
			defer up.Close()
			r := bufio.NewReader(c)
			for {
				raw, args, err := readCommand(r)
				if err != nil {
					return
				}
				if isRotation(args) && p.armed.CompareAndSwap(true, false) {
					// Before the command goes out: its reply must not pass.
					drop.Store(true)
					p.dropped.Add(1)
				}
				if _, err := up.Write(raw); err != nil {
					return
				}
			}
		})
	}
}

// isRotation reports the store's rotation script call: EVALSHA (or EVAL)
// with two keys, a grant's and its previous hashes', and five arguments
// (see store/redisstore/scripts.go, rotateRefreshScript).
func isRotation(args []string) bool {
	if len(args) != 10 {
		return false
	}
	cmd := strings.ToLower(args[0])
	return (cmd == "evalsha" || cmd == "eval") && args[2] == "2" && strings.Contains(args[3], ":grant:{")
}

// readCommand reads one RESP command (an array of bulk strings, the form
// clients send) and returns its bytes and its arguments.
func readCommand(r *bufio.Reader) (raw []byte, args []string, err error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, nil, err
	}
	raw = append(raw, line...)
	if !strings.HasPrefix(line, "*") {
		return nil, nil, fmt.Errorf("not a command array: %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, nil, fmt.Errorf("array length %q", line)
	}
	for range n {
		h, err := r.ReadString('\n')
		if err != nil {
			return nil, nil, err
		}
		raw = append(raw, h...)
		if !strings.HasPrefix(h, "$") {
			return nil, nil, fmt.Errorf("not a bulk string: %q", h)
		}
		size, err := strconv.Atoi(strings.TrimSpace(h[1:]))
		if err != nil || size < 0 || size > 512<<20 {
			return nil, nil, errors.New("bulk string length")
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, nil, err
		}
		raw = append(raw, b...)
		args = append(args, string(b[:size]))
	}
	return raw, args, nil
}
