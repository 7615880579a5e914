// Package redisstore is a [store.Store] in Redis, so that several server
// instances behind a load balancer share one authorization state: a code
// issued by one instance is redeemed at another, a refresh token rotated at
// one is refused as reused at all of them.
//
// It works with a single Redis server, with Sentinel and with Redis Cluster
// (through go-redis's clients), and needs Redis 6.2 or later (GETDEL,
// ZADD GT). Every operation of the store contract is one atomic step: a
// single command or one Lua script whose keys share a hash slot. Codes are
// redeemed and refresh tokens rotated (with reuse detection, RFC 9700
// §4.14.2) inside scripts, so concurrent instances cannot both win. The
// revocation log entry of a grant revocation is the one exception: the log
// and the grant are in different slots, so it is appended in a step of its
// own, ordered so that a failure fails closed (see revocations.go).
//
// Time comes only from the injected clock: scripts get "now" as an argument
// and never read Redis's clock. Every record stores its expiry and is
// treated as absent from then on; Redis TTLs, set relative to the same
// clock, remove records once they have expired.
//
// Key layout under the prefix (default "frontmcp:"); the braces are Redis
// Cluster hash tags:
//
//	pending:{id}               pending authorization, JSON string, TTL to its expiry
//	code:{hash}                authorization code by the code's hash: hash {d, x, u}
//	grant:{id}                 grant, the refresh-token family: hash {d, x, rh, pn, rx, rv[, rg, gh, gu]}
//	grant-prev:{id}            its rotated-out refresh hashes: sorted set, at most store.MaxPreviousHashes, the grant's TTL
//	grants:all                 grant ids scored by expiry (ms), for ListGrants
//	grants:subject:<subject>   the same, per subject
//	grants:client:<clientID>   the same, per client
//	{clients}:client:<id>      registered client, JSON string, no TTL
//	{clients}:index            client ids (sorted set, bytewise order)
//	{revocations}:log, :exp, :seq  the revocation log (see revocations.go)
//	session:{hash}             MCP session by the hash of its id: hash {d, s, v, ls, ix, ax, im}, TTL to its idle or absolute expiry
//	vault:{id}                 remote mode: sealed upstream tokens of grant id: hash {e, x} (see vault.go)
//	vault-lock:{id}            remote mode: the upstream refresh lease of grant id: hash {o, u}
//
// Braces, and %, inside ids are escaped (%7B, %7D, %25), so an id cannot
// form or end a hash tag. docs/deployment.md explains the layout.
//
// A refresh token is <grantID>.<secret>, so the checklist's refresh:{token}
// record is the grant itself, found by id; its refresh hash rh is compared
// inside the rotation script. Reserved for later: keys.
//
// Errors: a missing record is [store.ErrNotFound]; anything the client could
// not do (network, timeout, cluster down, closed store, undecodable data)
// wraps [store.ErrUnavailable] and is never reported as not found or reused.
// Commands are sent once and never retried by the client: a retried rotation
// that had already run would look like token reuse and revoke the grant.
package redisstore

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/frontmcp-go/frontmcp/store"
)

// Defaults for [Options].
const (
	DefaultAddr      = "localhost:6379"
	DefaultKeyPrefix = "frontmcp:"
	// DefaultStartupTimeout is a reasonable bound for the context given to
	// [New].
	DefaultStartupTimeout = 10 * time.Second
)

// ErrInvalid marks a mistake of the caller: bad options, or a record that
// cannot be stored (empty key, claims that are not JSON, a time out of
// range). It never wraps [store.ErrUnavailable].
var ErrInvalid = errors.New("redisstore: invalid")

// errClosed is returned by every operation after Close.
var errClosed = fmt.Errorf("%w: redisstore: closed", store.ErrUnavailable)

// Options configures a Store. A nil *Options means all defaults: a single
// server at DefaultAddr.
//
// Set one of Addr, URL, MasterName with SentinelAddrs, or ClusterAddrs.
type Options struct {
	// Addr is host:port of a single server.
	Addr string
	// URL is a redis://, rediss:// or unix:// URL
	// (redis://user:password@host:port/db). Username, Password, DB, TLS and
	// the pool and timeout fields below override what it says when set.
	URL string
	// MasterName is the Sentinel master name; SentinelAddrs are host:port
	// addresses of the Sentinels.
	MasterName    string
	SentinelAddrs []string
	// ClusterAddrs are host:port seed addresses of a Redis Cluster.
	ClusterAddrs []string

	// Username and Password authenticate (AUTH, ACL users on Redis 6+). With
	// Sentinel they are sent to the master and replicas, not to Sentinels.
	Username string
	Password string
	// DB is the database number; it must be 0 with a cluster.
	DB int
	// TLS turns TLS on when not nil.
	TLS *TLSOptions

	// PoolSize is the number of connections per node; zero means
	// [DefaultPoolSize].
	PoolSize int
	// DialTimeout, ReadTimeout and WriteTimeout bound one connection attempt,
	// one reply and one request; zero means go-redis's defaults (5 s, 3 s,
	// and the read timeout). An operation against an unreachable or stuck
	// server fails within about their sum, as the caller's context allows.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// KeyPrefix is put in front of every key; empty means DefaultKeyPrefix.
	// It must not contain '{' or '}', which would change the hash slots.
	KeyPrefix string
	// Clock is the only source of time; nil means time.Now.
	Clock store.Clock
}

// TLSOptions configures TLS to Redis. The zero value verifies the server
// against the system roots.
type TLSOptions struct {
	// CAFile is a PEM bundle of CAs to trust instead of the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and key (mutual TLS).
	CertFile string
	KeyFile  string
	// ServerName is the name checked in the server certificate; empty means
	// the host being dialled.
	ServerName string
	// InsecureSkipVerify accepts any server certificate. The configuration
	// refuses it in production.
	InsecureSkipVerify bool
}

// Store is a Redis-backed [store.Store]. It is safe for concurrent use.
type Store struct {
	rdb   redis.UniversalClient
	keys  keys
	clock store.Clock
	where string // the configured address(es), for messages

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// New connects to Redis and checks that it answers, so a server fails at
// startup rather than at its first request. The error then names the
// address(es) and the cause, and wraps [store.ErrUnavailable]; bad options
// wrap [ErrInvalid]. ctx bounds the check (see [DefaultStartupTimeout]).
func New(ctx context.Context, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(o.KeyPrefix, "{}") {
		return nil, fmt.Errorf("%w: key prefix %q: must not contain '{' or '}' (they choose Redis Cluster hash slots)", ErrInvalid, o.KeyPrefix)
	}
	rdb, where, err := o.client()
	if err != nil {
		return nil, err
	}
	s := &Store{rdb: rdb, keys: keys{prefix: o.KeyPrefix}, clock: o.Clock, where: where}
	if err := s.startupCheck(ctx); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("%w: redisstore: cannot use Redis at %s: %w", store.ErrUnavailable, where, err)
	}
	return s, nil
}

// client builds the go-redis client the options describe and a description
// of its address(es) for messages (never the URL, which may hold a password).
func (o *Options) client() (redis.UniversalClient, string, error) {
	modes := 0
	for _, set := range []bool{o.Addr != "", o.URL != "", o.MasterName != "" || len(o.SentinelAddrs) > 0, len(o.ClusterAddrs) > 0} {
		if set {
			modes++
		}
	}
	switch {
	case modes > 1:
		return nil, "", fmt.Errorf("%w: set only one of Addr, URL, MasterName with SentinelAddrs, or ClusterAddrs", ErrInvalid)
	case (o.MasterName == "") != (len(o.SentinelAddrs) == 0):
		return nil, "", fmt.Errorf("%w: MasterName and SentinelAddrs go together", ErrInvalid)
	case len(o.ClusterAddrs) > 0 && o.DB != 0:
		return nil, "", fmt.Errorf("%w: DB must be 0 with a cluster", ErrInvalid)
	case o.PoolSize < 0 || o.DialTimeout < 0 || o.ReadTimeout < 0 || o.WriteTimeout < 0:
		return nil, "", fmt.Errorf("%w: pool size and timeouts must not be negative", ErrInvalid)
	}
	var tlsConf *tls.Config
	if o.TLS != nil {
		var err error
		if tlsConf, err = o.TLS.config(); err != nil {
			return nil, "", err
		}
	}
	if o.URL != "" {
		return o.urlClient(tlsConf)
	}
	u := &redis.UniversalOptions{
		Username:     o.Username,
		Password:     o.Password,
		DB:           o.DB,
		TLSConfig:    tlsConf,
		PoolSize:     cmp.Or(o.PoolSize, DefaultPoolSize()),
		DialTimeout:  o.DialTimeout,
		ReadTimeout:  o.ReadTimeout,
		WriteTimeout: o.WriteTimeout,
		// One attempt per command, one dial per attempt: a bounded failure
		// instead of retries that could run a script twice (see the
		// package doc) or outlast the caller's timeout.
		MaxRetries:               -1,
		DialerRetries:            1,
		ContextTimeoutEnabled:    true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	var where string
	switch {
	case len(o.ClusterAddrs) > 0:
		u.Addrs = o.ClusterAddrs
		u.IsClusterMode = true
		where = "cluster " + strings.Join(o.ClusterAddrs, ",")
	case o.MasterName != "":
		u.Addrs = o.SentinelAddrs
		u.MasterName = o.MasterName
		where = fmt.Sprintf("sentinels %s (master %q)", strings.Join(o.SentinelAddrs, ","), o.MasterName)
	default:
		addr := cmp.Or(o.Addr, DefaultAddr)
		u.Addrs = []string{addr}
		where = addr
	}
	return redis.NewUniversalClient(u), where, nil
}

// MinPoolSize is the least connections per node [DefaultPoolSize] gives.
const MinPoolSize = 64

// DefaultPoolSize is the pool size when Options.PoolSize is zero: go-redis's
// 10 connections per CPU (GOMAXPROCS), and at least MinPoolSize. A request
// that waits for the store holds its connection until its goroutine runs
// again, which on a busy server with one or two CPUs takes longer than the
// round trip: with go-redis's 10 connections per CPU, requests queue for a
// connection while Redis idles (docs/benchmarks.md: on one CPU at 64
// concurrent refreshes, a pool of 10 gave 15–18% fewer grants per second
// than one of 64 or more). Connections are opened only when needed.
func DefaultPoolSize() int { return max(10*runtime.GOMAXPROCS(0), MinPoolSize) }

// urlClient builds a single-server client from o.URL.
func (o *Options) urlClient(tlsConf *tls.Config) (redis.UniversalClient, string, error) {
	ro, err := redis.ParseURL(o.URL)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, "", fmt.Errorf("%w: url: not a valid redis://, rediss:// or unix:// URL", ErrInvalid)
	}
	if o.Username != "" {
		ro.Username = o.Username
	}
	if o.Password != "" {
		ro.Password = o.Password
	}
	if o.DB != 0 {
		ro.DB = o.DB
	}
	switch {
	case tlsConf != nil:
		if tlsConf.ServerName == "" && ro.TLSConfig != nil {
			tlsConf.ServerName = ro.TLSConfig.ServerName
		}
		ro.TLSConfig = tlsConf
	case ro.TLSConfig != nil:
		ro.TLSConfig.MinVersion = tls.VersionTLS12
	}
	// A pool_size in the URL is kept unless PoolSize is set.
	ro.PoolSize = cmp.Or(o.PoolSize, ro.PoolSize, DefaultPoolSize())
	if o.DialTimeout != 0 {
		ro.DialTimeout = o.DialTimeout
	}
	if o.ReadTimeout != 0 {
		ro.ReadTimeout = o.ReadTimeout
	}
	if o.WriteTimeout != 0 {
		ro.WriteTimeout = o.WriteTimeout
	}
	ro.MaxRetries = -1
	ro.DialerRetries = 1
	ro.ContextTimeoutEnabled = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return redis.NewClient(ro), ro.Addr, nil
}

// config builds the tls.Config (TLS 1.2 or later).
func (t *TLSOptions) config() (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls caFile: %w", ErrInvalid, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: tls caFile %s: no PEM certificate in it", ErrInvalid, t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, fmt.Errorf("%w: tls certFile and keyFile go together", ErrInvalid)
		}
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: tls client certificate: %w", ErrInvalid, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// minVersion is the oldest Redis with every command the store uses
// (GETDEL and ZADD GT came in 6.2).
var minVersion = [2]int{6, 2}

// startupCheck pings every node the store writes to and checks its version.
func (s *Store) startupCheck(ctx context.Context) error {
	return s.eachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			var rerr redis.Error
			if errors.As(err, &rerr) && !isUnavailableReply(err) {
				// INFO refused (an ACL without +info): the commands
				// themselves will tell.
				return c.Ping(ctx).Err()
			}
			return err
		}
		v := infoField(info, "redis_version")
		if v == "" {
			return nil
		}
		var major, minor int
		if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
			return nil
		}
		if major < minVersion[0] || (major == minVersion[0] && minor < minVersion[1]) {
			return fmt.Errorf("Redis %s at %s is too old: %d.%d or later is needed", v, c.Options().Addr, minVersion[0], minVersion[1])
		}
		return nil
	})
}

// isUnavailableReply reports server replies that mean "not now" rather than
// "not allowed".
func isUnavailableReply(err error) bool {
	for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY"} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}

// infoField returns one field of an INFO reply.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// eachMaster runs fn on every master of a cluster, or once on the server.
func (s *Store) eachMaster(ctx context.Context, fn func(context.Context, *redis.Client) error) error {
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	default:
		return s.rdb.Ping(ctx).Err()
	}
}

// Ping implements [store.Store]: every master answers (all of a cluster's,
// since each holds part of the keys).
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	err := s.eachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.Ping(ctx).Err()
	})
	if err != nil {
		return s.unavailable("Ping", err)
	}
	return nil
}

// Close implements [store.Store]: it closes the connections. Later calls fail
// with [store.ErrUnavailable]; closing twice is allowed.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.closeOnce.Do(func() {
		if err := s.rdb.Close(); err != nil {
			s.closeErr = fmt.Errorf("%w: redisstore: close: %w", store.ErrUnavailable, err)
		}
	})
	return s.closeErr
}

// unavailable wraps a client error.
func (s *Store) unavailable(op string, err error) error {
	return fmt.Errorf("%w: redisstore: %s (Redis at %s): %w", store.ErrUnavailable, op, s.where, err)
}

// corrupt reports a stored record that cannot be decoded.
func (s *Store) corrupt(op, key string, err error) error {
	return fmt.Errorf("%w: redisstore: %s: record %s cannot be decoded: %w", store.ErrUnavailable, op, key, err)
}

// onceCmd is a command the client must not retry.
type onceCmd struct{ *redis.Cmd }

func (onceCmd) NoRetry() bool { return true }

// call sends one command, once.
func (s *Store) call(ctx context.Context, args ...any) *redis.Cmd {
	cmd := redis.NewCmd(ctx, args...)
	_ = s.rdb.Process(ctx, onceCmd{cmd})
	return cmd
}

// evalArgs are the arguments of EVALSHA sc (EVAL once the first two are
// swapped for "eval" and the source).
func evalArgs(sc *script, keys []string, args []any) []any {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, "evalsha", sc.sha, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	return append(a, args...)
}

// eval runs a script in one round trip (two the first time a server sees it:
// EVALSHA answers NOSCRIPT without running anything, then EVAL).
func (s *Store) eval(ctx context.Context, sc *script, keys []string, args ...any) (any, error) {
	a := evalArgs(sc, keys, args)
	cmd := s.call(ctx, a...)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		a[0], a[1] = "eval", sc.src
		cmd = s.call(ctx, a...)
	}
	return cmd.Result()
}

// evalStatus runs a script that answers a status code.
func (s *Store) evalStatus(ctx context.Context, op string, sc *script, keys []string, args ...any) (int64, error) {
	v, err := s.eval(ctx, sc, keys, args...)
	if err != nil {
		return 0, s.unavailable(op, err)
	}
	n, ok := v.(int64)
	if !ok {
		return 0, s.unavailable(op, fmt.Errorf("unexpected script reply %T", v))
	}
	return n, nil
}

// evalArray runs a script that answers {status, values...}; values are
// strings.
func (s *Store) evalArray(ctx context.Context, op string, sc *script, keys []string, args ...any) (int64, []string, error) {
	v, err := s.eval(ctx, sc, keys, args...)
	if err != nil {
		return 0, nil, s.unavailable(op, err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return 0, nil, s.unavailable(op, fmt.Errorf("unexpected script reply %T", v))
	}
	status, ok := arr[0].(int64)
	if !ok {
		return 0, nil, s.unavailable(op, fmt.Errorf("unexpected script status %T", arr[0]))
	}
	vals := make([]string, len(arr)-1)
	for i, x := range arr[1:] {
		if vals[i], ok = x.(string); !ok {
			return 0, nil, s.unavailable(op, fmt.Errorf("unexpected script value %T", x))
		}
	}
	return status, vals, nil
}

// statusErr maps a script status to the store's sentinel errors.
func (s *Store) statusErr(op string, status int64) error {
	switch status {
	case statusOK:
		return nil
	case statusNotFound:
		return store.ErrNotFound
	case statusExists:
		return store.ErrExists
	case statusReused:
		return store.ErrReused
	case statusMismatch:
		return store.ErrMismatch
	}
	return s.unavailable(op, fmt.Errorf("unexpected script status %d", status))
}

// begin checks that the store is open and returns the time.
func (s *Store) begin() (time.Time, error) {
	if s.closed.Load() {
		return time.Time{}, errClosed
	}
	return s.clock.Now(), nil
}

// expired reports whether a record expiring at exp is gone at now; a record is
// valid strictly before its expiry, as [store.Grant.Active] says.
func expired(exp, now time.Time) bool { return !now.Before(exp) }

func emptyKey(what string) error {
	return fmt.Errorf("%w: %s with an empty key", ErrInvalid, what)
}

func invalid(what, id string, err error) error {
	return fmt.Errorf("%w: %s %q: %w", ErrInvalid, what, id, err)
}

// SavePending implements [store.Pending] with SET … PX.
func (s *Store) SavePending(ctx context.Context, p *store.PendingAuthorization) error {
	if p.ID == "" {
		return emptyKey("pending authorization")
	}
	data, err := json.Marshal(p)
	if err != nil {
		return invalid("pending authorization", p.ID, err)
	}
	now, err := s.begin()
	if err != nil {
		return err
	}
	key := s.keys.pending(p.ID)
	var cmd *redis.Cmd
	if d := ttl(p.ExpiresAt, now); d > 0 {
		cmd = s.call(ctx, "set", key, data, "px", d)
	} else {
		// Already expired: replacing with an absent record.
		cmd = s.call(ctx, "del", key)
	}
	if err := cmd.Err(); err != nil {
		return s.unavailable("SavePending", err)
	}
	return nil
}

// GetPending implements [store.Pending].
func (s *Store) GetPending(ctx context.Context, id string) (*store.PendingAuthorization, error) {
	return s.pending(ctx, "GetPending", "get", id)
}

// ConsumePending implements [store.Pending] with GETDEL: of concurrent
// callers exactly one receives the record.
func (s *Store) ConsumePending(ctx context.Context, id string) (*store.PendingAuthorization, error) {
	return s.pending(ctx, "ConsumePending", "getdel", id)
}

func (s *Store) pending(ctx context.Context, op, command, id string) (*store.PendingAuthorization, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	key := s.keys.pending(id)
	data, err := s.call(ctx, command, key).Text()
	if errors.Is(err, redis.Nil) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.unavailable(op, err)
	}
	var p store.PendingAuthorization
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return nil, s.corrupt(op, key, err)
	}
	if expired(p.ExpiresAt, now) {
		return nil, store.ErrNotFound
	}
	return &p, nil
}

// SaveCode implements [store.Codes].
func (s *Store) SaveCode(ctx context.Context, c *store.AuthCode) error {
	if c.Hash == "" {
		return emptyKey("authorization code")
	}
	data, err := json.Marshal(c)
	if err != nil {
		return invalid("authorization code for grant", c.GrantID, err)
	}
	exp, err := encodeTime(c.ExpiresAt)
	if err != nil {
		return invalid("authorization code for grant", c.GrantID, err)
	}
	now, err := s.begin()
	if err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "SaveCode", saveCodeScript, []string{s.keys.code(c.Hash)},
		mustEncodeTime(now), data, exp, ttl(c.ExpiresAt, now))
	if err != nil {
		return err
	}
	return s.statusErr("SaveCode", status)
}

// ConsumeCode implements [store.Codes] in one script: it returns the code and
// sets its used marker, or returns it with [store.ErrReused] once the marker
// is set (RFC 6749 §4.1.2: a code is used once; RFC 9700 §4.14.2: the caller
// then revokes what the first redemption created).
func (s *Store) ConsumeCode(ctx context.Context, hash string) (*store.AuthCode, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	key := s.keys.code(hash)
	status, vals, err := s.evalArray(ctx, "ConsumeCode", consumeCodeScript, []string{key}, mustEncodeTime(now))
	if err != nil {
		return nil, err
	}
	if status != statusOK && status != statusReused {
		return nil, s.statusErr("ConsumeCode", status)
	}
	if len(vals) != 1 {
		return nil, s.unavailable("ConsumeCode", fmt.Errorf("script answered %d values", len(vals)))
	}
	var c store.AuthCode
	if err := json.Unmarshal([]byte(vals[0]), &c); err != nil {
		return nil, s.corrupt("ConsumeCode", key, err)
	}
	if status == statusReused {
		return &c, store.ErrReused
	}
	return &c, nil
}

// grantFields is a grant as stored: the hash fields d, x, rh, rx, rv, rg, gh,
// gu (see createGrantScript; pn is the scripts' own). rg is written, never
// read back: d holds the grace too.
type grantFields struct {
	d, x, rh, rx, rv, rg, gh, gu string
}

// encodeGrant splits g into its stored fields.
func encodeGrant(g *store.Grant) (grantFields, error) {
	fixed := *g
	fixed.RefreshHash, fixed.PreviousHashes = "", nil
	fixed.RefreshExpiresAt, fixed.RevokedAt = time.Time{}, time.Time{}
	fixed.GraceHash, fixed.GraceUntil = "", time.Time{}
	d, err := json.Marshal(&fixed)
	if err != nil {
		return grantFields{}, err
	}
	f := grantFields{d: string(d), rh: g.RefreshHash, gh: g.GraceHash}
	if grace := min(g.RefreshReuseGrace, store.MaxRefreshReuseGrace); grace > 0 {
		f.rg = strconv.FormatInt(int64(grace), 10)
	}
	if f.gh != "" {
		if f.gu, err = encodeTime(g.GraceUntil); err != nil {
			return grantFields{}, err
		}
	}
	if f.x, err = encodeTime(g.ExpiresAt); err != nil {
		return grantFields{}, err
	}
	if f.rx, err = encodeTime(g.RefreshExpiresAt); err != nil {
		return grantFields{}, err
	}
	if f.rv, err = encodeTime(g.RevokedAt); err != nil {
		return grantFields{}, err
	}
	return f, nil
}

// decode rebuilds the grant.
func (f grantFields) decode() (*store.Grant, error) {
	var g store.Grant
	if err := json.Unmarshal([]byte(f.d), &g); err != nil {
		return nil, err
	}
	g.RefreshHash = f.rh
	var err error
	if g.RefreshExpiresAt, err = decodeTime(f.rx); err != nil {
		return nil, err
	}
	if g.RevokedAt, err = decodeTime(f.rv); err != nil {
		return nil, err
	}
	g.GraceHash = f.gh
	if g.GraceUntil, err = decodeTime(f.gu); err != nil {
		return nil, err
	}
	exp, err := decodeTime(f.x)
	if err != nil {
		return nil, err
	}
	if !exp.Equal(g.ExpiresAt) {
		return nil, fmt.Errorf("expiry %v differs from the record's %v", exp, g.ExpiresAt)
	}
	return &g, nil
}

// grantFieldNames are the fields read for a grant, in grantFields order
// (without rg).
var grantFieldNames = []any{"d", "x", "rh", "rx", "rv", "gh", "gu"}

// fieldsFromReply reads an HMGET reply of grantFieldNames; ok is false when
// the grant does not exist.
func fieldsFromReply(vals []any) (f grantFields, ok bool, err error) {
	if len(vals) != len(grantFieldNames) {
		return f, false, fmt.Errorf("HMGET answered %d values", len(vals))
	}
	if vals[0] == nil {
		return f, false, nil
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
		case string:
			out[i] = v
		default:
			return f, false, fmt.Errorf("HMGET value %T", v)
		}
	}
	return grantFields{d: out[0], x: out[1], rh: out[2], rx: out[3], rv: out[4], gh: out[5], gu: out[6]}, true, nil
}

// CreateGrant implements [store.Grants]. The grant is added to the indexes
// that ListGrants reads (all grants, its subject's, its client's) before it is
// stored, so a stored grant is always listed: an index entry whose grant was
// never stored (the id was taken, or the process stopped in between) is
// filtered out when listing, and pruned once its expiry has passed. The
// indexes are separate keys on purpose: putting them in the grant's slot
// would put every grant in one slot.
func (s *Store) CreateGrant(ctx context.Context, g *store.Grant) error {
	if g.ID == "" {
		return emptyKey("grant")
	}
	f, err := encodeGrant(g)
	if err != nil {
		return invalid("grant", g.ID, err)
	}
	now, err := s.begin()
	if err != nil {
		return err
	}
	d := ttl(g.ExpiresAt, now)
	if d > 0 {
		idx := []string{s.keys.grantIndexAll(), s.keys.grantIndexSubject(g.Subject), s.keys.grantIndexClient(g.ClientID)}
		if err := s.indexGrant(ctx, idx, unixMilliCeil(g.ExpiresAt), g.ID, now.UnixMilli(), d); err != nil {
			return s.unavailable("CreateGrant", err)
		}
	}
	if !g.RevokedAt.IsZero() {
		// A grant stored revoked is logged first (see revocations.go).
		if err := s.appendRevocation(ctx, "CreateGrant", store.RevokedGrant, g.ID, g.ExpiresAt, now); err != nil {
			return err
		}
	}
	args := []any{mustEncodeTime(now), f.d, f.x, f.rh, f.rx, f.rv, d, f.rg, f.gh, f.gu}
	for _, h := range lastDistinct(g.PreviousHashes, store.MaxPreviousHashes) {
		args = append(args, h)
	}
	status, err := s.evalStatus(ctx, "CreateGrant", createGrantScript,
		[]string{s.keys.grant(g.ID), s.keys.grantPrev(g.ID)}, args...)
	if err != nil {
		return err
	}
	return s.statusErr("CreateGrant", status)
}

// indexGrant adds id to each index in one pipelined round trip. The script
// is idempotent, so after NOSCRIPT the pipeline is sent again with EVAL.
func (s *Store) indexGrant(ctx context.Context, indexes []string, score int64, id string, pruneBelow, ttl int64) error {
	run := func(first string) ([]*redis.Cmd, error) {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.Cmd, len(indexes))
		for i, idx := range indexes {
			a := evalArgs(indexGrantScript, []string{idx}, []any{score, id, pruneBelow, ttl})
			if first == "eval" {
				a[0], a[1] = "eval", indexGrantScript.src
			}
			cmds[i] = redis.NewCmd(ctx, a...)
			_ = pipe.Process(ctx, onceCmd{cmds[i]})
		}
		_, err := pipe.Exec(ctx)
		return cmds, err
	}
	cmds, err := run("evalsha")
	if err != nil && slices.ContainsFunc(cmds, func(c *redis.Cmd) bool { return redis.HasErrorPrefix(c.Err(), "NOSCRIPT") }) {
		_, err = run("eval")
	}
	return err
}

// GetGrant implements [store.Grants].
func (s *Store) GetGrant(ctx context.Context, id string) (*store.Grant, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	key := s.keys.grant(id)
	vals, err := s.call(ctx, append([]any{"hmget", key}, grantFieldNames...)...).Slice()
	if err != nil {
		return nil, s.unavailable("GetGrant", err)
	}
	f, ok, err := fieldsFromReply(vals)
	if err != nil {
		return nil, s.unavailable("GetGrant", err)
	}
	if !ok {
		return nil, store.ErrNotFound
	}
	g, err := f.decode()
	if err != nil {
		return nil, s.corrupt("GetGrant", key, err)
	}
	if expired(g.ExpiresAt, now) {
		return nil, store.ErrNotFound
	}
	return g, nil
}

// RotateRefresh implements [store.Grants]: refresh-token rotation with reuse
// detection (RFC 9700 §4.14.2, RFC 6749 §6) in one script, following
// [store.Grant.Rotate] (see rotateRefreshScript).
func (s *Store) RotateRefresh(ctx context.Context, grantID, presentedHash, nextHash string, nextExpiry time.Time) (*store.Grant, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	next := ""
	if !nextExpiry.IsZero() {
		// Out of range only for absurd times: the earliest or latest
		// representable one gives the same outcome.
		next = mustEncodeTime(nextExpiry)
	}
	key := s.keys.grant(grantID)
	status, vals, err := s.evalArray(ctx, "RotateRefresh", rotateRefreshScript, []string{key, s.keys.grantPrev(grantID)},
		mustEncodeTime(now), presentedHash, nextHash, next, store.MaxPreviousHashes)
	if err != nil {
		return nil, err
	}
	if status == statusReused {
		// The script revoked the grant (or found it revoked): log it.
		if err := s.logGrant(ctx, "RotateRefresh", grantID, now); err != nil {
			return nil, err
		}
	}
	if status != statusOK {
		return nil, s.statusErr("RotateRefresh", status)
	}
	if len(vals) != 7 {
		return nil, s.unavailable("RotateRefresh", fmt.Errorf("script answered %d values", len(vals)))
	}
	g, err := grantFields{d: vals[0], x: vals[1], rh: vals[2], rx: vals[3], gh: vals[4], gu: vals[5]}.decode()
	if err != nil {
		return nil, s.corrupt("RotateRefresh", key, err)
	}
	g.Retried = vals[6] == "1"
	return g, nil
}

// PreviousRefreshHashes implements [store.Grants] in one script, so the
// grant's expiry and its hashes are read together.
func (s *Store) PreviousRefreshHashes(ctx context.Context, id string) ([]string, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	status, vals, err := s.evalArray(ctx, "PreviousRefreshHashes", previousHashesScript,
		[]string{s.keys.grant(id), s.keys.grantPrev(id)}, mustEncodeTime(now))
	if err != nil {
		return nil, err
	}
	if status != statusOK {
		return nil, s.statusErr("PreviousRefreshHashes", status)
	}
	return vals, nil
}

// lastDistinct returns the hashes a grant created with hashes remembers:
// each kept once, in its first place, and the newest max of them (as
// rotations one by one would leave them).
func lastDistinct(hashes []string, max int) []string {
	var out []string
	seen := make(map[string]bool, len(hashes))
	for _, h := range hashes {
		if seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
		if len(out) > max {
			delete(seen, out[0])
			out = out[1:]
		}
	}
	return out
}

// RevokeGrant implements [store.Grants].
func (s *Store) RevokeGrant(ctx context.Context, id string) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	// Log first, revoke second (see revocations.go).
	if err := s.logGrant(ctx, "RevokeGrant", id, now); err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "RevokeGrant", revokeGrantScript, []string{s.keys.grant(id)}, mustEncodeTime(now))
	if err != nil {
		return err
	}
	if status == statusOK {
		s.dropVault(ctx, id)
	}
	return s.statusErr("RevokeGrant", status)
}

// ListGrants implements [store.Grants]. It reads the narrowest index for f,
// then the grants in one pipelined round trip (across nodes on a cluster),
// and keeps those that match f and have not expired. Grants created at the
// same instant are ordered by ID.
func (s *Store) ListGrants(ctx context.Context, f store.GrantFilter) ([]*store.Grant, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	idx := s.keys.grantIndexAll()
	switch {
	case f.Subject != "":
		idx = s.keys.grantIndexSubject(f.Subject)
	case f.ClientID != "":
		idx = s.keys.grantIndexClient(f.ClientID)
	}
	// Entries scored before now are expired; the rest are checked below.
	ids, err := s.call(ctx, "zrangebyscore", idx, now.UnixMilli(), "+inf").StringSlice()
	if err != nil {
		return nil, s.unavailable("ListGrants", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(ids))
	for i, id := range ids {
		cmds[i] = redis.NewCmd(ctx, append([]any{"hmget", s.keys.grant(id)}, grantFieldNames...)...)
		_ = pipe.Process(ctx, onceCmd{cmds[i]})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.unavailable("ListGrants", err)
	}
	var out []*store.Grant
	for i, cmd := range cmds {
		vals, err := cmd.Slice()
		if err != nil {
			return nil, s.unavailable("ListGrants", err)
		}
		fields, ok, err := fieldsFromReply(vals)
		if err != nil {
			return nil, s.unavailable("ListGrants", err)
		}
		if !ok {
			continue
		}
		g, err := fields.decode()
		if err != nil {
			return nil, s.corrupt("ListGrants", s.keys.grant(ids[i]), err)
		}
		if expired(g.ExpiresAt, now) ||
			(f.Subject != "" && g.Subject != f.Subject) ||
			(f.ClientID != "" && g.ClientID != f.ClientID) {
			continue
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *store.Grant) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// CreateClient implements [store.Clients].
func (s *Store) CreateClient(ctx context.Context, c *store.Client) error {
	if c.ID == "" {
		return emptyKey("client")
	}
	data, err := json.Marshal(c)
	if err != nil {
		return invalid("client", c.ID, err)
	}
	if _, err := s.begin(); err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "CreateClient", createClientScript,
		[]string{s.keys.client(c.ID), s.keys.clientIndex()}, c.ID, data)
	if err != nil {
		return err
	}
	return s.statusErr("CreateClient", status)
}

// GetClient implements [store.Clients].
func (s *Store) GetClient(ctx context.Context, id string) (*store.Client, error) {
	if _, err := s.begin(); err != nil {
		return nil, err
	}
	key := s.keys.client(id)
	data, err := s.call(ctx, "get", key).Text()
	if errors.Is(err, redis.Nil) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.unavailable("GetClient", err)
	}
	var c store.Client
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return nil, s.corrupt("GetClient", key, err)
	}
	return &c, nil
}

// DeleteClient implements [store.Clients].
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	if _, err := s.begin(); err != nil {
		return err
	}
	status, err := s.evalStatus(ctx, "DeleteClient", deleteClientScript,
		[]string{s.keys.client(id), s.keys.clientIndex()}, id)
	if err != nil {
		return err
	}
	return s.statusErr("DeleteClient", status)
}

// ListClients implements [store.Clients]: the index, then the records with
// one MGET (they share the index's slot).
func (s *Store) ListClients(ctx context.Context) ([]*store.Client, error) {
	if _, err := s.begin(); err != nil {
		return nil, err
	}
	ids, err := s.call(ctx, "zrange", s.keys.clientIndex(), 0, -1).StringSlice()
	if err != nil {
		return nil, s.unavailable("ListClients", err)
	}
	out := make([]*store.Client, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, 0, 1+len(ids))
	args = append(args, "mget")
	for _, id := range ids {
		args = append(args, s.keys.client(id))
	}
	vals, err := s.call(ctx, args...).Slice()
	if err != nil {
		return nil, s.unavailable("ListClients", err)
	}
	for i, v := range vals {
		data, ok := v.(string)
		if !ok {
			continue // deleted since the index was read
		}
		var c store.Client
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return nil, s.corrupt("ListClients", s.keys.client(ids[i]), err)
		}
		out = append(out, &c)
	}
	return out, nil
}
