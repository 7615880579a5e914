package config

import (
	"fmt"

	"github.com/frontmcp-go/frontmcp/vault"
)

// Keyring returns the vault keyring of auth.vault (the current key and the
// previous keys), or nil when no key is set: secrets are then stored in
// plaintext. Errors name the YAML key and never include key material.
func (v *Vault) Keyring() (*vault.Keyring, error) {
	if v.Key == "" {
		if len(v.PreviousKeys) > 0 {
			return nil, Errors{{Path: "auth.vault.key", Err: ErrValue, Msg: "must be set (or VAULT_KEY) when previousKeys is set"}}
		}
		return nil, nil
	}
	if _, err := vault.ParseKey(v.Key); err != nil {
		return nil, Errors{{Path: "auth.vault.key", Err: ErrValue, Msg: err.Error()}}
	}
	for i, k := range v.PreviousKeys {
		if _, err := vault.ParseKey(k); err != nil {
			return nil, Errors{{Path: fmt.Sprintf("auth.vault.previousKeys[%d]", i), Err: ErrValue, Msg: err.Error()}}
		}
	}
	return vault.New(v.Key, v.PreviousKeys)
}
