package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Redacted returns the effective configuration as YAML for display (for
// example by "frontmcp config check"). Every field tagged secret:"true"
// (passwords, client secrets, signing and vault keys, the DCR initial access
// token, password hashes) shows as "[redacted sha256:1a2b3c4d]": the first 8
// hex digits of the value's SHA-256, enough to tell whether two instances
// hold the same secret. Private members of other JWKs (d, p, q, dp, dq, qi,
// k, oth) are redacted the same way, and so is a Redis URL that carries a
// password. Options that are not implemented yet, the auth.transparent
// section outside mode transparent, auth.remote and
// auth.refresh.skewSeconds outside remote mode, auth.dcr while
// registration is off, and auth.session with sessionMode stateless, are left
// out while they hold their defaults. Durations are written as Go durations.
func (c *Config) Redacted() ([]byte, error) {
	def := Default(c.Environment)
	eff := *c
	if eff.HTTP.PublicURL == "" && eff.HTTP.Port != 0 {
		eff.HTTP.PublicURL = c.BaseURL() // show the derived public URL
	}
	n, err := encodeStruct(reflect.ValueOf(&eff).Elem(), reflect.ValueOf(def).Elem())
	if err != nil {
		return nil, err
	}
	if c.Auth.Mode != ModeTransparent && equalValue(reflect.ValueOf(c.Auth.Transparent), reflect.ValueOf(def.Auth.Transparent)) {
		dropKey(n, "auth", "transparent") // another mode's defaults: noise
	}
	if (c.Auth.Mode != ModeOrchestrated || !c.Auth.DCREnabled) && equalValue(reflect.ValueOf(c.Auth.DCR), reflect.ValueOf(def.Auth.DCR)) {
		dropKey(n, "auth", "dcr") // registration is off: its defaults are noise
	}
	if (c.Auth.Mode != ModeOrchestrated || !c.Auth.CIMD.Enabled) && equalValue(reflect.ValueOf(c.Auth.CIMD), reflect.ValueOf(def.Auth.CIMD)) {
		dropKey(n, "auth", "cimd") // URL client ids are off: their defaults are noise
	}
	if c.Auth.SessionMode == SessionStateless && c.Auth.Session == def.Auth.Session {
		dropKey(n, "auth", "session") // stateless keeps no sessions
	}
	if !usesRemote(c) && equalValue(reflect.ValueOf(c.Auth.Remote), reflect.ValueOf(def.Auth.Remote)) {
		dropKey(n, "auth", "remote") // another mode's defaults: noise
	}
	if !usesRemote(c) && c.Auth.Refresh.SkewSeconds == def.Auth.Refresh.SkewSeconds {
		dropKey(n, "auth", "refresh", "skewSeconds") // upstream tokens exist in remote mode only
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("config: encoding redacted config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: encoding redacted config: %w", err)
	}
	return buf.Bytes(), nil
}

// dropKey removes the entry at the dotted path from a tree of YAML mappings.
func dropKey(n *yaml.Node, path ...string) {
	for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
		dropKey(n.Content[i+1], path[1:]...)
		return
	}
}

// fingerprint is the display form of a secret.
func fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "[redacted sha256:" + hex.EncodeToString(sum[:4]) + "]"
}

// nodeEncoder is implemented by types whose YAML shape is not a plain
// struct, mirroring nodeDecoder.
type nodeEncoder interface {
	encodeYAML() (*yaml.Node, error)
}

// encodeStruct writes the fields of v; def holds the defaults, used to leave
// out planned options that are unchanged.
func encodeStruct(v, def reflect.Value) (*yaml.Node, error) {
	if e, ok := v.Addr().Interface().(nodeEncoder); ok {
		return e.encodeYAML()
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, f := range fieldsOf(v.Type()).list {
		fv := v.Field(f.index)
		if f.planned && def.IsValid() && equalValue(fv, def.Field(f.index)) {
			continue
		}
		if omitted(fv) {
			continue
		}
		var fd reflect.Value
		if def.IsValid() {
			fd = def.Field(f.index)
		}
		n, err := encodeValue(fv, fd, f.secret)
		if err != nil {
			return nil, err
		}
		if fv.Kind() == reflect.Struct && n.Kind == yaml.MappingNode && len(n.Content) == 0 {
			continue // a section showing nothing (only unchanged planned options)
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.name}, n)
	}
	return m, nil
}

// omitted leaves out empty strings, lists and maps; numbers and booleans are
// always shown.
func omitted(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return false
}

func encodeValue(v, def reflect.Value, secret string) (*yaml.Node, error) {
	switch v.Type() {
	case durationType:
		return scalar(formatDuration(time.Duration(v.Int())))
	case rawJSONType:
		if secret == "true" {
			return scalar(fingerprint(string(v.Bytes())))
		}
		return redactJSON(v.Bytes())
	}
	switch v.Kind() {
	case reflect.Struct:
		return encodeStruct(v, def)
	case reflect.String:
		s := v.String()
		switch secret {
		case "true":
			return scalar(fingerprint(s))
		case "url":
			return scalar(redactURL(s))
		}
		return scalar(s)
	case reflect.Slice:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			n, err := encodeValue(v.Index(i), reflect.Value{}, secret)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, n)
		}
		return seq, nil
	}
	return scalar(v.Interface())
}

func scalar(v any) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, fmt.Errorf("config: encoding redacted config: %w", err)
	}
	return &n, nil
}

// formatDuration writes d without zero trailing units: 1h, 15m, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// privateJWKMembers are the JWK members holding private key material
// (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateJWKMembers = map[string]bool{"d": true, "p": true, "q": true, "dp": true, "dq": true, "qi": true, "k": true, "oth": true}

// redactJSON writes a JSON object as YAML with private JWK members, at any
// depth (so inside a JWK Set too), replaced by fingerprints.
func redactJSON(raw []byte) (*yaml.Node, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return scalar(fingerprint(string(raw)))
	}
	return scalar(redactPrivate(v))
}

func redactPrivate(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			if privateJWKMembers[k] {
				b, _ := json.Marshal(val)
				out[k] = fingerprint(strings.Trim(string(b), `"`))
				continue
			}
			out[k] = redactPrivate(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = redactPrivate(val)
		}
		return out
	}
	return v
}

// redactURL hides a URL that carries a password, in its user info or its
// query.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return fingerprint(s)
	}
	if _, has := u.User.Password(); has || strings.Contains(strings.ToLower(u.RawQuery), "password") {
		return fingerprint(s)
	}
	return s
}

// encodeYAML writes {type, config} with the config of the active type.
func (ts *TokenStorage) encodeYAML() (*yaml.Node, error) {
	typ, err := scalar(string(ts.Type))
	if err != nil {
		return nil, err
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "type"}, typ,
	}}
	var cfg reflect.Value
	switch ts.Type {
	case StorageFile:
		cfg = reflect.ValueOf(&ts.File).Elem()
	case StorageRedis:
		cfg = reflect.ValueOf(&ts.Redis).Elem()
	default:
		return m, nil
	}
	n, err := encodeStruct(cfg, reflect.Value{})
	if err != nil {
		return nil, err
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "config"}, n)
	return m, nil
}

// encodeYAML writes a boolean, or a mapping when any setting is given.
func (t *RedisTLS) encodeYAML() (*yaml.Node, error) {
	if *t == (RedisTLS{Enabled: t.Enabled}) {
		return scalar(t.Enabled)
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	v := reflect.ValueOf(t).Elem()
	for _, f := range fieldsOf(v.Type()).list {
		fv := v.Field(f.index)
		if fv.IsZero() {
			continue
		}
		n, err := scalar(fv.Interface())
		if err != nil {
			return nil, err
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.name}, n)
	}
	return m, nil
}
