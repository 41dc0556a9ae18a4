package config

import (
	"sort"
	"strings"
)

// FieldError is one problem in the configuration, named by its key path
// (e.g. "tenants[0].phone_calls.call_start_margin").
type FieldError struct {
	Path   string
	Line   int // 1-based line in the file; 0 when unknown
	Column int // 1-based column; 0 when unknown
	Msg    string
}

// Error is "path: message".
func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem found in a configuration, sorted by position in
// the file. Its text is one error per line.
type Errors []*FieldError

// Error joins the errors, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each error to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortByPosition orders errors by line and column, keeping the discovery
// order of errors at the same position.
func (es Errors) sortByPosition() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Column < es[j].Column
	})
}

// underPath reports whether path is p itself or a key below it.
func underPath(path, p string) bool {
	if p == "" {
		return true
	}
	if !strings.HasPrefix(path, p) {
		return false
	}
	rest := path[len(p):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

// parentPath strips the last ".key" or "[i]" segment ("" at the top).
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if strings.HasSuffix(p, "\"]") {
		i = strings.LastIndex(p, "[\"")
	}
	if i < 0 {
		return ""
	}
	return p[:i]
}
