package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// LoadOptions customises where Load and Parse read the environment and
// files. A nil *LoadOptions uses the process environment and file system.
type LoadOptions struct {
	// LookupEnv reads an environment variable. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads the configuration file and files named by *_FILE
	// variables. Nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Defaults, when set, changes the environment's defaults before the file
	// is applied: a program can pick another default (examples/everything
	// defaults to public mode) that the file and environment still override.
	// Options that are not implemented yet must keep their defaults here too;
	// changing one is reported as not implemented.
	Defaults func(*Config)
}

// maxNodes bounds the YAML nodes visited, alias expansions included, so a
// small file cannot make loading take unbounded time.
const maxNodes = 100_000

// Load reads the YAML file at path and returns the effective configuration:
// defaults for the environment, then the file, then the environment
// fallbacks, validated. An empty path means no file. Problems in the
// configuration are returned together as Errors.
func Load(path string, opts *LoadOptions) (*Config, error) {
	if path == "" {
		return Parse(nil, "", opts)
	}
	readFile := os.ReadFile
	if opts != nil && opts.ReadFile != nil {
		readFile = opts.ReadFile
	}
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path, opts)
}

// Parse is Load for YAML already in memory; filename is used in Sources.
// Empty data means no file.
func Parse(data []byte, filename string, opts *LoadOptions) (*Config, error) {
	p := newParser(opts, filename)
	root, synErr := parseYAML(data)
	if synErr != nil {
		return nil, Errors{synErr}
	}

	env := p.resolveEnvironment(root)
	c := Default(env)
	var hookErrs Errors
	if opts != nil && opts.Defaults != nil {
		opts.Defaults(c)
		// Defaults may change options, but not turn on planned ones.
		hv := &validator{c: c}
		hv.planned(reflect.ValueOf(c).Elem(), reflect.ValueOf(Default(env)).Elem(), "")
		hookErrs = hv.errs
	}
	if root != nil {
		p.decodeStruct(root, reflect.ValueOf(c).Elem(), "", false, nil)
	}
	c.Environment = env
	c.lines, c.sources = p.lines, p.sources
	p.applyFallbacks(c)
	for _, e := range hookErrs {
		if !coveredBy(e.Path, p.errs) {
			e.Msg = "not implemented yet (set by LoadOptions.Defaults)"
			p.errs = append(p.errs, e)
		}
	}

	decodeErrs := slices.Clone(p.errs)
	for _, e := range c.validate(false) {
		if !coveredBy(e.Path, decodeErrs) {
			p.errs = append(p.errs, e)
		}
	}
	if len(p.errs) > 0 {
		sortErrors(p.errs)
		return nil, p.errs
	}
	c.normalize()
	return c, nil
}

// coveredBy reports whether path already has a decoding error at or above
// it, so validation does not report the same key twice.
func coveredBy(path string, errs Errors) bool {
	for _, e := range errs {
		if e.Path == "" {
			continue
		}
		if path == e.Path || strings.HasPrefix(path, e.Path+".") || strings.HasPrefix(path, e.Path+"[") {
			return true
		}
	}
	return false
}

// normalize fills derived defaults after validation: the login type is
// local in orchestrated mode when unset, and empty in the other modes.
func (c *Config) normalize() {
	c.HTTP.PublicURL = strings.TrimRight(c.HTTP.PublicURL, "/")
	switch {
	case c.Auth.Mode != ModeOrchestrated:
		c.Auth.Type = ""
	case c.Auth.Type == "":
		c.Auth.Type = TypeLocal
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parseYAML returns the top-level mapping, or nil for an empty document.
func parseYAML(data []byte) (*yaml.Node, *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(err)
	default:
		return nil, &Error{Line: extra.Line, Msg: "a configuration file holds one YAML document; remove the second", Err: ErrSyntax}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Line: root.Line, Msg: "the top level must be a mapping of keys (info, environment, http, auth, logging)", Err: ErrType}
	}
	return root, nil
}

func syntaxError(err error) *Error {
	msg := err.Error()
	e := &Error{Msg: strings.TrimPrefix(msg, "yaml: "), Err: ErrSyntax}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = msg[len(m[0]):]
	}
	return e
}

// parser walks the YAML node tree against the Config struct.
type parser struct {
	env     *resolver
	file    string
	errs    Errors
	lines   map[string]int
	sources map[string]string
	nodes   int
	tooBig  bool
}

func newParser(opts *LoadOptions, filename string) *parser {
	return &parser{
		env:     newResolver(opts),
		file:    filename,
		lines:   map[string]int{},
		sources: map[string]string{},
	}
}

func (p *parser) errorf(path string, line int, kind error, format string, args ...any) {
	p.errs = append(p.errs, &Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...), Err: kind})
}

// resolveEnvironment picks the effective environment: FRONTMCP_ENV, else the
// file's "environment", else development. Problems with the file's value are
// reported by the walker; problems with FRONTMCP_ENV are reported here.
func (p *parser) resolveEnvironment(root *yaml.Node) Environment {
	val, src, ok, err := p.env.get("FRONTMCP_ENV")
	if err != nil {
		p.errorf("environment", 0, ErrVariable, "%v", err)
		return Development
	}
	if ok {
		if !slices.Contains(Environment("").allowedValues(), val) {
			p.errorf("environment", 0, ErrValue, "invalid value %s from %s (allowed: %s)",
				quote(val), src, strings.Join(Environment("").allowedValues(), ", "))
			return Development
		}
		p.sources["environment"] = "env " + src
		return Environment(val)
	}
	if root == nil {
		return Development
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "environment" {
			v := root.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				break
			}
			s, _, err := p.env.expand(v.Value)
			if err == nil && slices.Contains(Environment("").allowedValues(), s) {
				return Environment(s)
			}
			break
		}
	}
	return Development
}

// field describes one YAML key of a struct.
type field struct {
	name    string
	index   int
	planned bool
	secret  string
}

type fieldSet struct {
	list   []field
	byName map[string]field
}

var fieldCache sync.Map // reflect.Type → *fieldSet

// fieldsOf lists the exported, yaml-tagged fields of struct type t.
func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]field{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "-" || name == "" {
			continue
		}
		f := field{name: name, index: i, planned: sf.Tag.Get("planned") == "true", secret: sf.Tag.Get("secret")}
		fs.list = append(fs.list, f)
		fs.byName[name] = f
	}
	fieldCache.Store(t, fs)
	return fs
}

func (fs *fieldSet) names() []string {
	out := make([]string, len(fs.list))
	for i, f := range fs.list {
		out[i] = f.name
	}
	return out
}

// nodeDecoder is implemented by types whose YAML shape is not a plain
// struct (TokenStorage, RedisTLS).
type nodeDecoder interface {
	decodeYAML(p *parser, n *yaml.Node, path string, inPlanned bool)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	rawJSONType  = reflect.TypeFor[json.RawMessage]()
)

// deref follows aliases and counts visited nodes; nil means stop.
func (p *parser) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
		p.nodes++
	}
	p.nodes++
	if p.nodes > maxNodes {
		if !p.tooBig {
			p.tooBig = true
			p.errorf("", 0, ErrValue, "the file has too many values or alias expansions (limit %d)", maxNodes)
		}
		return nil
	}
	return n
}

// pair is one key/value of a mapping.
type pair struct {
	key     string
	path    string
	keyNode *yaml.Node
	value   *yaml.Node
}

// pairs returns the entries of mapping n, reporting keys that are not
// strings, merge keys and duplicates.
func (p *parser) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k = p.deref(k); k == nil {
			return out
		}
		if k.Kind != yaml.ScalarNode {
			p.errorf(path, k.Line, ErrType, "mapping keys must be strings")
			continue
		}
		kp := joinPath(path, k.Value)
		if k.ShortTag() == "!!merge" {
			p.errorf(kp, k.Line, ErrUnknownKey, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(kp, k.Line, ErrDuplicateKey, "duplicate key, first set at line %d", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{key: k.Value, path: kp, keyNode: k, value: v})
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownKeyMsg builds the message for an unknown key; it may be replaced
// to add context (the token storage type).
type unknownKeyMsg func(key string, known []string) string

func defaultUnknown(key string, known []string) string {
	if s := suggest(key, known); s != "" {
		return fmt.Sprintf("unknown key; did you mean %q?", s)
	}
	return "unknown key"
}

// decodeStruct decodes mapping n into struct v.
func (p *parser) decodeStruct(n *yaml.Node, v reflect.Value, path string, inPlanned bool, unknown unknownKeyMsg) {
	if n.Kind != yaml.MappingNode {
		p.typeError(path, n, "a mapping")
		return
	}
	if unknown == nil {
		unknown = defaultUnknown
	}
	fs := fieldsOf(v.Type())
	for _, kv := range p.pairs(n, path) {
		f, ok := fs.byName[kv.key]
		if !ok {
			p.errorf(kv.path, kv.keyNode.Line, ErrUnknownKey, "%s", unknown(kv.key, fs.names()))
			continue
		}
		p.lines[kv.path] = kv.keyNode.Line
		planned := inPlanned
		if f.planned && !inPlanned {
			p.errorf(kv.path, kv.keyNode.Line, ErrNotImplemented, "not implemented yet")
			planned = true
		}
		if isNull(kv.value) {
			continue // an empty value leaves the default
		}
		p.decode(kv.value, v.Field(f.index), kv.path, planned)
	}
}

// decode decodes n into v, which must be addressable.
func (p *parser) decode(n *yaml.Node, v reflect.Value, path string, inPlanned bool) {
	if n = p.deref(n); n == nil {
		return
	}
	if d, ok := v.Addr().Interface().(nodeDecoder); ok {
		d.decodeYAML(p, n, path, inPlanned)
		return
	}
	switch v.Type() {
	case durationType:
		if d, ok := p.duration(n, path); ok {
			v.SetInt(int64(d))
		}
		return
	case rawJSONType:
		if raw, ok := p.jsonObject(n, path); ok {
			v.SetBytes(raw)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		p.decodeStruct(n, v, path, inPlanned, nil)
	case reflect.String:
		s, ok := p.scalar(n, path, "a string")
		if !ok {
			return
		}
		if e, isEnum := v.Interface().(enum); isEnum {
			if !slices.Contains(e.allowedValues(), s) {
				p.errorf(path, n.Line, ErrValue, "invalid value %s (allowed: %s)", quote(s), strings.Join(e.allowedValues(), ", "))
				return
			}
			v.SetString(s)
			if !inPlanned && isPlannedValue(v) {
				p.errorf(path, n.Line, ErrNotImplemented, "not implemented yet")
			}
			return
		}
		v.SetString(s)
	case reflect.Int:
		s, ok := p.scalar(n, path, "an integer")
		if !ok {
			return
		}
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			p.errorf(path, n.Line, ErrType, "expected an integer, got %s", quote(s))
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		s, ok := p.scalar(n, path, "true or false")
		if !ok {
			return
		}
		b, ok := parseBool(s)
		if !ok {
			p.errorf(path, n.Line, ErrType, "expected true or false, got %s", quote(s))
			return
		}
		v.SetBool(b)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.typeError(path, n, "a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			p.lines[ip] = item.Line
			p.decode(item, s.Index(i), ip, inPlanned)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.typeError(path, n, "a mapping")
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for _, kv := range p.pairs(n, path) {
			p.lines[kv.path] = kv.keyNode.Line
			key := reflect.ValueOf(kv.key).Convert(v.Type().Key())
			if v.Type().Elem().Kind() == reflect.Interface {
				if val, ok := p.toAny(kv.value, kv.path); ok {
					m.SetMapIndex(key, reflect.ValueOf(&val).Elem())
				}
				continue
			}
			// A typed value (toolScopes: name → list) is decoded like a field.
			elem := reflect.New(v.Type().Elem()).Elem()
			before := len(p.errs)
			p.decode(kv.value, elem, kv.path, inPlanned)
			if len(p.errs) == before {
				m.SetMapIndex(key, elem)
			}
		}
		v.Set(m)
	default:
		panic("config: unsupported field type " + v.Type().String())
	}
}

// scalar returns the expanded text of a scalar node.
func (p *parser) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.typeError(path, n, want)
		return "", false
	}
	return p.expandAt(n.Value, path, n.Line)
}

// expandAt expands ${VAR} references, reporting problems and recording the
// variables used as the value's source.
func (p *parser) expandAt(s, path string, line int) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	out, used, err := p.env.expand(s)
	if err != nil {
		p.errorf(path, line, ErrVariable, "%v", err)
		return "", false
	}
	if len(used) > 0 {
		at := fmt.Sprintf("line %d", line)
		if p.file != "" {
			at = fmt.Sprintf("%s:%d", p.file, line)
		}
		p.sources[path] = "env " + strings.Join(used, ", env ") + " via " + at
	}
	return out, true
}

// duration parses an integer number of seconds or a Go duration string.
func (p *parser) duration(n *yaml.Node, path string) (time.Duration, bool) {
	s, ok := p.scalar(n, path, "a duration")
	if !ok {
		return 0, false
	}
	d, err := parseDuration(s)
	if err != nil {
		p.errorf(path, n.Line, ErrType, "%v", err)
		return 0, false
	}
	return d, true
}

// parseDuration reads an integer as seconds and anything else as a Go
// duration ("15m", "1h30m"); negative values are refused.
func parseDuration(s string) (time.Duration, error) {
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs < 0 {
			return 0, fmt.Errorf("must not be negative, got %s", s)
		}
		if secs > int64(1<<63-1)/int64(time.Second) {
			return 0, fmt.Errorf("duration %s seconds is too large", s)
		}
		return time.Duration(secs) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("expected a duration (seconds as an integer, or a string like \"15m\"), got %s", quote(s))
	}
	if d < 0 {
		return 0, fmt.Errorf("must not be negative, got %s", s)
	}
	return d, nil
}

// jsonObject accepts a JSON object written as a string, or a YAML mapping,
// and returns it as compact JSON.
func (p *parser) jsonObject(n *yaml.Node, path string) (json.RawMessage, bool) {
	var raw []byte
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := p.scalar(n, path, "a JSON object")
		if !ok {
			return nil, false
		}
		raw = []byte(s)
	case yaml.MappingNode:
		v, ok := p.toAny(n, path)
		if !ok {
			return nil, false
		}
		b, err := json.Marshal(v)
		if err != nil {
			p.errorf(path, n.Line, ErrValue, "cannot be written as JSON: %v", err)
			return nil, false
		}
		raw = b
	default:
		p.typeError(path, n, "a JSON object (string or mapping)")
		return nil, false
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		p.errorf(path, n.Line, ErrType, "expected a JSON object such as a JWK ({\"kty\": ...})")
		return nil, false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		p.errorf(path, n.Line, ErrType, "expected a JSON object such as a JWK ({\"kty\": ...})")
		return nil, false
	}
	return json.RawMessage(buf.Bytes()), true
}

// toAny converts a node to plain Go values (string, int, float64, bool, nil,
// []any, map[string]any), expanding ${VAR} in strings.
func (p *parser) toAny(n *yaml.Node, path string) (any, bool) {
	if n = p.deref(n); n == nil {
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if strings.Contains(n.Value, "$") {
			return p.expandAt(n.Value, path, n.Line)
		}
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				p.errorf(path, n.Line, ErrType, "invalid %s value %s", strings.TrimPrefix(n.ShortTag(), "!!"), quote(n.Value))
				return nil, false
			}
			return v, true
		}
		return n.Value, true
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		ok := true
		for i, item := range n.Content {
			v, itemOK := p.toAny(item, fmt.Sprintf("%s[%d]", path, i))
			ok = ok && itemOK
			out = append(out, v)
		}
		return out, ok
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		ok := true
		for _, kv := range p.pairs(n, path) {
			v, itemOK := p.toAny(kv.value, kv.path)
			ok = ok && itemOK
			out[kv.key] = v
		}
		return out, ok
	}
	p.typeError(path, n, "a value")
	return nil, false
}

func (p *parser) typeError(path string, n *yaml.Node, want string) {
	p.errorf(path, n.Line, ErrType, "expected %s, got %s", want, describe(n))
}

// describe names what a node holds, for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return quote(n.Value)
	}
	return "nothing"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// parseBool accepts the YAML 1.2 core schema booleans.
func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// quote quotes a value for an error message, shortening long ones.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// suggest returns the known key closest to key, or "" when none is close.
func suggest(key string, known []string) string {
	best, bestDist := "", -1
	lk := strings.ToLower(key)
	for _, k := range known {
		d := editDistance(lk, strings.ToLower(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > max(1, len(key)/3) {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent letters.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// decodeYAML reads {type, config}; the keys allowed under config depend on
// the type, which is read first wherever it appears.
func (ts *TokenStorage) decodeYAML(p *parser, n *yaml.Node, path string, inPlanned bool) {
	if n.Kind != yaml.MappingNode {
		p.typeError(path, n, "a mapping")
		return
	}
	known := []string{"type", "config"}
	var cfg *pair
	typeOK := true
	planned := inPlanned
	for _, kv := range p.pairs(n, path) {
		switch kv.key {
		case "type":
			p.lines[kv.path] = kv.keyNode.Line
			if isNull(kv.value) {
				continue
			}
			before := len(p.errs)
			p.decode(kv.value, reflect.ValueOf(&ts.Type).Elem(), kv.path, inPlanned)
			typeOK = len(p.errs) == before || isPlannedValue(reflect.ValueOf(ts.Type))
			planned = planned || isPlannedValue(reflect.ValueOf(ts.Type))
		case "config":
			p.lines[kv.path] = kv.keyNode.Line
			cfg = &kv
		default:
			p.errorf(kv.path, kv.keyNode.Line, ErrUnknownKey, "%s", defaultUnknown(kv.key, known))
		}
	}
	if cfg == nil || isNull(cfg.value) || !typeOK {
		return
	}
	val := p.deref(cfg.value)
	if val == nil {
		return
	}
	var target reflect.Value
	switch ts.Type {
	case StorageMemory:
		target = reflect.ValueOf(&struct{}{}).Elem()
	case StorageFile:
		target = reflect.ValueOf(&ts.File).Elem()
	case StorageRedis:
		target = reflect.ValueOf(&ts.Redis).Elem()
	}
	p.decodeStruct(val, target, cfg.path, planned, func(key string, names []string) string {
		msg := fmt.Sprintf("unknown key for tokenStorage type %s", ts.Type)
		if len(names) == 0 {
			msg += " (it takes no config)"
		}
		for _, other := range []StorageType{StorageFile, StorageRedis} {
			var t reflect.Type = reflect.TypeFor[FileStorage]()
			if other == StorageRedis {
				t = reflect.TypeFor[RedisStorage]()
			}
			if _, ok := fieldsOf(t).byName[key]; ok && other != ts.Type {
				return fmt.Sprintf("%s; %q belongs to type %s", msg, key, other)
			}
		}
		if s := suggest(key, names); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return msg
	})
}

// decodeYAML reads a boolean, or a mapping of TLS settings that turns TLS on.
func (t *RedisTLS) decodeYAML(p *parser, n *yaml.Node, path string, inPlanned bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		s, ok := p.scalar(n, path, "true, false or a mapping")
		if !ok {
			return
		}
		b, ok := parseBool(s)
		if !ok {
			p.errorf(path, n.Line, ErrType, "expected true, false or a mapping, got %s", quote(s))
			return
		}
		t.Enabled = b
	case yaml.MappingNode:
		t.Enabled = true
		p.decodeStruct(n, reflect.ValueOf(t).Elem(), path, inPlanned, nil)
	default:
		p.typeError(path, n, "true, false or a mapping")
	}
}
