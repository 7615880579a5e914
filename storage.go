package frontmcp

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/store/memstore"
	"github.com/frontmcp-go/frontmcp/store/redisstore"
)

// OpenStore opens the backend named by the tokenStorage section. A Redis
// store is checked before OpenStore returns: an unreachable or unusable Redis
// fails here, within redisstore.DefaultStartupTimeout, with an error naming
// its address and the cause (and wrapping store.ErrUnavailable).
func OpenStore(c config.TokenStorage) (store.Store, error) {
	switch c.Type {
	case config.StorageMemory:
		return memstore.New(nil), nil
	case config.StorageFile:
		st, err := filestore.Open(c.File.Path, nil)
		if err != nil {
			return nil, fmt.Errorf("auth.tokenStorage: %w", err)
		}
		return st, nil
	case config.StorageRedis:
		ctx, cancel := context.WithTimeout(context.Background(), redisstore.DefaultStartupTimeout)
		defer cancel()
		st, err := redisstore.New(ctx, redisOptions(c.Redis))
		if err != nil {
			return nil, fmt.Errorf("auth.tokenStorage: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("auth.tokenStorage.type %q: not implemented yet", c.Type)
}

// redisOptions maps the redis tokenStorage config onto the store's options:
// host and port become one address unless url, sentinelAddrs or clusterAddrs
// say where Redis is.
func redisOptions(r config.RedisStorage) *redisstore.Options {
	o := &redisstore.Options{
		URL:           r.URL,
		MasterName:    r.MasterName,
		SentinelAddrs: r.SentinelAddrs,
		ClusterAddrs:  r.ClusterAddrs,
		Username:      r.Username,
		Password:      r.Password,
		DB:            r.DB,
		PoolSize:      r.PoolSize,
		DialTimeout:   r.DialTimeout,
		ReadTimeout:   r.ReadTimeout,
		WriteTimeout:  r.WriteTimeout,
		KeyPrefix:     r.KeyPrefix,
	}
	if r.URL == "" && r.MasterName == "" && len(r.SentinelAddrs) == 0 && len(r.ClusterAddrs) == 0 {
		o.Addr = net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
	}
	if t := r.TLS; t.Enabled {
		o.TLS = &redisstore.TLSOptions{
			CAFile:             t.CAFile,
			CertFile:           t.CertFile,
			KeyFile:            t.KeyFile,
			ServerName:         t.ServerName,
			InsecureSkipVerify: t.InsecureSkipVerify,
		}
	}
	return o
}
