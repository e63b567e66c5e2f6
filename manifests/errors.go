package manifests

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem with the manifests of a tree: where it is, which object
// and field it concerns, and what is wrong.
type Error struct {
	// File is the path relative to the repository root, such as "apps/web.yaml".
	File string
	// Line is the 1-based line of the offending field, or of the document when
	// the field cannot be placed; 0 when the problem concerns the whole file.
	Line int
	// Object names the object as "Kind namespace/name" (or "Kind name" when
	// cluster-scoped), as far as it is known; empty when it is not.
	Object string
	// Field is the path of the offending field, such as
	// "spec.template.spec.containers[0].image"; empty for the whole object.
	Field string
	// Message says what is wrong.
	Message string
}

// Error formats e as "file:line: object: field: message", leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Object != "" {
		b.WriteString(e.Object)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in a tree, sorted by file, then line.
type Errors []*Error

// Error lists the errors one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sort orders es by file, then line, keeping the order of discovery otherwise.
func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		return es[i].Line < es[j].Line
	})
}
