package cli

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// describeGeneric prints any object as kubectl describes kinds it has no page
// for: the metadata, then every other field, nested by indentation, with labels
// made from the field names ("observedGeneration" is "Observed Generation").
func describeGeneric(d *descWriter, u *unstructured.Unstructured) error {
	m := metav1.ObjectMeta{
		Name: u.GetName(), Namespace: u.GetNamespace(), Labels: u.GetLabels(),
		Annotations: u.GetAnnotations(), CreationTimestamp: u.GetCreationTimestamp(),
	}
	d.meta(m, u.GetNamespace() != "")
	d.line(0, "API Version", u.GetAPIVersion())
	d.line(0, "Kind", u.GetKind())
	if c := controlledBy(metav1.ObjectMeta{OwnerReferences: u.GetOwnerReferences()}); c != "" {
		d.line(0, "Controlled By", c)
	}
	for _, k := range sortedKeys(u.Object) {
		if k == "apiVersion" || k == "kind" || k == "metadata" {
			continue
		}
		genericField(d, 0, k, u.Object[k])
	}
	return nil
}

// genericField prints one field and what it holds.
func genericField(d *descWriter, level int, key string, v any) {
	label := fieldLabel(key)
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			d.line(level, label, "<none>")
			return
		}
		d.text(level, "%s:", label)
		for _, k := range sortedKeys(v) {
			genericField(d, level+1, k, v[k])
		}
	case []any:
		if len(v) == 0 {
			d.line(level, label, "<none>")
			return
		}
		d.text(level, "%s:", label)
		for _, item := range v {
			if m, ok := item.(map[string]any); ok {
				keys := sortedKeys(m)
				for i, k := range keys {
					if i == 0 {
						d.text(level+1, "-")
					}
					genericField(d, level+2, k, m[k])
				}
				continue
			}
			d.text(level+1, "%s", scalar(item))
		}
	default:
		d.line(level, label, scalar(v))
	}
}

// scalar renders a JSON scalar; multi-line strings are kept on one line.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return "<nil>"
	case string:
		return strings.ReplaceAll(v, "\n", "\\n")
	case float64:
		return cellString(v)
	}
	return fmt.Sprint(v)
}

// sortedKeys returns a map's keys, sorted.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldLabel turns a camelCase field name into words: "observedGeneration" is
// "Observed Generation", "podIPs" is "Pod IPs".
func fieldLabel(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if i == 0 {
			b.WriteRune(unicode.ToUpper(c))
			continue
		}
		upper := unicode.IsUpper(c)
		prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
		// An upper-case run followed by a lone "s" is a plural acronym ("IPs").
		pluralS := i+1 < len(r) && r[i+1] == 's' && (i+2 == len(r) || unicode.IsUpper(r[i+2]))
		nextLower := i+1 < len(r) && unicode.IsLower(r[i+1]) && !pluralS
		if upper && (prevLower || (unicode.IsUpper(r[i-1]) && nextLower)) {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}
