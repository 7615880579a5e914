package config

import (
	"reflect"
	"slices"
	"strings"
)

// This file is the one place that says which parts of the schema are not
// implemented yet. Two mechanisms, both checked by the loader (and by
// Validate for configs built in Go):
//
//   - A struct field tagged planned:"true" (see the Auth struct) is rejected
//     when its key is present in the file, set from an environment fallback,
//     or, in Validate, differs from its default.
//   - plannedValues lists enum values that are rejected.
//
// To turn a feature on, delete its tag or its values here.

// plannedValues are enum values accepted by the schema but not implemented.
var plannedValues = map[reflect.Type][]string{}

// isPlannedValue reports whether v (an enum value) is not implemented yet.
func isPlannedValue(v reflect.Value) bool {
	vals, ok := plannedValues[v.Type()]
	return ok && slices.Contains(vals, v.String())
}

// isPlannedPath reports whether a dotted key path lies under a field tagged
// planned:"true". Paths that leave the reflected schema (such as
// auth.tokenStorage.config.*) are judged by their known prefix.
func isPlannedPath(path string) bool {
	t := reflect.TypeFor[Config]()
	for name := range strings.SplitSeq(path, ".") {
		if t.Kind() != reflect.Struct {
			return false
		}
		f, ok := fieldsOf(t).byName[name]
		if !ok {
			return false
		}
		if f.planned {
			return true
		}
		t = t.Field(f.index).Type
	}
	return false
}
