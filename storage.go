package frontmcp

import (
	"fmt"

	"github.com/frontmcp-go/frontmcp/config"
	"github.com/frontmcp-go/frontmcp/store"
	"github.com/frontmcp-go/frontmcp/store/filestore"
	"github.com/frontmcp-go/frontmcp/store/memstore"
)

// OpenStore opens the backend named by the tokenStorage section.
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
	}
	return nil, fmt.Errorf("auth.tokenStorage.type %q: not implemented yet", c.Type)
}
