package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors classifying an *Error; test with errors.Is on the error
// returned by Load, Parse or Validate.
var (
	// ErrSyntax: the file is not valid YAML.
	ErrSyntax = errors.New("config: YAML syntax error")
	// ErrUnknownKey: a key that is not part of the schema.
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrDuplicateKey: a key given twice in one mapping.
	ErrDuplicateKey = errors.New("config: duplicate key")
	// ErrType: a value of the wrong YAML type (a list where a string goes).
	ErrType = errors.New("config: wrong type")
	// ErrValue: a value of the right type that is not allowed.
	ErrValue = errors.New("config: invalid value")
	// ErrVariable: an environment variable is unset, ambiguous or unreadable.
	ErrVariable = errors.New("config: environment variable")
	// ErrNotImplemented: an option of the schema that does nothing yet.
	ErrNotImplemented = errors.New("config: not implemented yet")
	// ErrInsecure: a setting refused in production.
	ErrInsecure = errors.New("config: insecure in production")
)

// Error is one configuration problem, located by its dotted key path (for
// example "auth.tokenStorage.config.host" or "auth.clients[0].clientId") and
// the line in the file (0 when the value did not come from the file).
type Error struct {
	Path string
	Line int
	Msg  string
	// Err is one of the sentinel errors above.
	Err error
}

// Error formats the problem as "path: message (line N)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found, in file order; problems without a line
// come last.
type Errors []*Error

// Error lists all problems, one per line.
func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "config: no errors"
	case 1:
		return "config: " + es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config: %d errors:", len(es))
	for _, e := range es {
		b.WriteString("\n\t")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the individual errors, so errors.Is and errors.As see each.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders errors by line, keeping discovery order for equal lines
// and putting line-less errors last.
func sortErrors(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
}
