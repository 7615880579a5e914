package redistest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
)

// Env hands out the shared servers of a test binary: those named by the
// environment variables (EnvAddr, EnvCluster, EnvTLS with EnvCA) or, for
// each one not set, a server started on first use. Close stops what it
// started; call it from TestMain after m.Run.
type Env struct {
	mu      sync.Mutex
	single  lazy[string]
	cluster lazy[[]string]
	tls     lazy[TLSServer]
	closers []func() error
}

// TLSServer is a TLS-only server and the CA file that verifies it.
type TLSServer struct {
	Addr   string
	CAFile string
}

// lazy is a value computed once.
type lazy[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (l *lazy[T]) get(f func() (T, error)) (T, error) {
	l.once.Do(func() { l.v, l.err = f() })
	return l.v, l.err
}

// NewEnv returns an Env; nothing is started yet.
func NewEnv() *Env { return &Env{} }

func (e *Env) onClose(f func() error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closers = append(e.closers, f)
}

// Single returns the address of a single server.
func (e *Env) Single() (string, error) {
	return e.single.get(func() (string, error) {
		if v := os.Getenv(EnvAddr); v != "" {
			return v, checkAddrs(EnvAddr, v)
		}
		s, err := Start(nil)
		if err != nil {
			return "", err
		}
		e.onClose(s.Close)
		return s.Addr, nil
	})
}

// Cluster returns the addresses of a 3-master cluster.
func (e *Env) Cluster() ([]string, error) {
	return e.cluster.get(func() ([]string, error) {
		if v := os.Getenv(EnvCluster); v != "" {
			return strings.Split(v, ","), checkAddrs(EnvCluster, strings.Split(v, ",")...)
		}
		c, err := StartCluster(3)
		if err != nil {
			return nil, err
		}
		e.onClose(c.Close)
		return c.Addrs(), nil
	})
}

// TLS returns a TLS-only server and its CA file.
func (e *Env) TLS() (TLSServer, error) {
	return e.tls.get(func() (TLSServer, error) {
		addr, ca := os.Getenv(EnvTLS), os.Getenv(EnvCA)
		switch {
		case addr != "" && ca != "":
			return TLSServer{Addr: addr, CAFile: ca}, checkAddrs(EnvTLS, addr)
		case addr != "" || ca != "":
			return TLSServer{}, fmt.Errorf("redistest: set both %s and %s, or neither", EnvTLS, EnvCA)
		}
		certs, err := NewCerts("")
		if err != nil {
			return TLSServer{}, err
		}
		e.onClose(certs.Close)
		s, err := Start(&Options{TLS: certs})
		if err != nil {
			return TLSServer{}, err
		}
		e.onClose(s.Close)
		return TLSServer{Addr: s.Addr, CAFile: certs.CAFile}, nil
	})
}

// Close stops every server the Env started, newest first.
func (e *Env) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var err error
	for i := len(e.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, e.closers[i]())
	}
	e.closers = nil
	return err
}

func checkAddrs(name string, addrs ...string) error {
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("redistest: %s=%q: want host:port[,host:port…]", name, strings.Join(addrs, ","))
		}
	}
	return nil
}
