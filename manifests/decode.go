package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"

	"github.com/berth-dev/berth/apiserver/registry"
)

// document is one manifest document as JSON, with where it came from.
type document struct {
	file string
	line int          // where the document starts
	json []byte       // the document as JSON
	node *yamlv3.Node // the document's YAML tree, for the lines of fields; nil when unknown
}

// lineOf returns the line of a field of the document: the field's own line, or
// that of its deepest ancestor present in the document.
func (d *document) lineOf(field string) int {
	if d.node == nil || field == "" {
		return d.line
	}
	n, _, _ := lookupField(d.node, field)
	if n == nil || n.Line == 0 {
		return d.line
	}
	return n.Line
}

// header is what every object's document is expected to hold, read leniently
// to name the object in errors before it is decoded.
type header struct {
	apiVersion, kind, namespace, name string
}

// readHeader reads apiVersion, kind, metadata.namespace and metadata.name from
// a JSON object, reporting fields of the wrong type.
func readHeader(top map[string]json.RawMessage) (header, []*posError) {
	var h header
	var errs []*posError
	str := func(raw json.RawMessage, field string, dst *string) {
		if raw == nil {
			return
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			errs = append(errs, &posError{field: field, message: "wrong type: want a string"})
		}
	}
	str(top["apiVersion"], "apiVersion", &h.apiVersion)
	str(top["kind"], "kind", &h.kind)
	var m map[string]json.RawMessage
	if json.Unmarshal(top["metadata"], &m) == nil {
		// The object's strict decoding reports bad metadata; these are for naming it.
		_ = json.Unmarshal(m["namespace"], &h.namespace)
		_ = json.Unmarshal(m["name"], &h.name)
	}
	return h, errs
}

// decode checks one document and records the object it declares, or the
// errors it has. A v1 List is unpacked into its items.
func (l *loader) decode(d *document) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(d.json, &top); err != nil || top == nil {
		l.add(d.file, d.line, "", "", "not a Kubernetes object: the document is "+describeJSON(d.json))
		return
	}
	h, errs := readHeader(top)
	label := objectLabel(h.kind, h.namespace, h.name)
	for _, e := range errs {
		l.add(d.file, d.lineOf(e.field), label, e.field, e.message)
	}
	if len(errs) > 0 {
		return
	}
	switch {
	case h.apiVersion == "" && h.kind == "":
		l.add(d.file, d.line, label, "", "not a Kubernetes object: apiVersion and kind are missing")
		return
	case h.apiVersion == "":
		l.add(d.file, d.line, label, "apiVersion", "Required value")
		return
	case h.kind == "":
		l.add(d.file, d.line, label, "kind", "Required value")
		return
	case h.apiVersion == "v1" && h.kind == "List":
		l.decodeList(d, top)
		return
	}
	gv, err := schema.ParseGroupVersion(h.apiVersion)
	if err != nil {
		l.add(d.file, d.lineOf("apiVersion"), label, "apiVersion", fmt.Sprintf("Invalid value: %q: %v", h.apiVersion, err))
		return
	}
	k := l.kindOf(gv, h.kind)
	if k == nil {
		l.add(d.file, d.lineOf("kind"), label, "", l.unsupported(gv, h.kind))
		return
	}
	if k.Namespaced && h.namespace == "" {
		h.namespace = l.opts.DefaultNamespace
	}
	label = objectLabel(k.Kind, h.namespace, h.name)

	obj := k.New()
	strict, err := kjson.UnmarshalStrict(d.json, obj)
	if err != nil {
		field, msg := decodeError(d, err)
		l.add(d.file, d.lineOf(field), label, field, msg)
		return
	}
	for _, e := range strict {
		field, msg := "", e.Error()
		if fe, ok := e.(kjson.FieldError); ok {
			field = fe.FieldPath()
			msg, _, _ = strings.Cut(msg, " \"") // `unknown field "x"` → "unknown field"
		}
		l.add(d.file, d.lineOf(field), label, field, msg)
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		l.add(d.file, d.line, label, "metadata", err.Error())
		return
	}
	raw := d.json
	if k.Namespaced && m.GetNamespace() == "" {
		m.SetNamespace(l.opts.DefaultNamespace)
		raw = withNamespace(raw, m.GetNamespace())
	}
	l.validate(d, k, obj, label)
	l.objs = append(l.objs, &loaded{
		Object: &Object{Kind: k, Obj: obj, File: d.file, Line: d.line, Raw: normalJSON(raw)},
		doc:    d,
	})
}

// decodeList unpacks a v1 List: each item is a document of its own, at the
// item's line when the List's YAML is known.
func (l *loader) decodeList(d *document, top map[string]json.RawMessage) {
	for _, key := range slices.Sorted(maps.Keys(top)) {
		switch key {
		case "apiVersion", "kind", "metadata", "items":
		default:
			l.add(d.file, d.lineOf(key), "List", key, "unknown field")
		}
	}
	var items []json.RawMessage
	if raw, ok := top["items"]; ok && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, &items); err != nil {
			l.add(d.file, d.lineOf("items"), "List", "items", "wrong type: want a list")
			return
		}
	}
	for i, item := range items {
		field := fmt.Sprintf("items[%d]", i)
		sub := &document{file: d.file, line: d.line, json: item}
		if d.node != nil {
			if at, n, ok := lookupField(d.node, field); ok {
				sub.line, sub.node = at.Line, n
			}
		}
		l.decode(sub)
	}
}

// validate runs the kind's validation on a copy of obj the way the API server
// would on create: PrepareForCreate, Default, then ValidateCreate. obj itself
// stays undefaulted.
func (l *loader) validate(d *document, k *registry.Kind, obj runtime.Object, label string) {
	cp := obj.DeepCopyObject()
	if k.PrepareForCreate != nil {
		k.PrepareForCreate(cp)
	}
	if k.Default != nil {
		k.Default(cp)
	}
	m, _ := meta.Accessor(cp)
	for _, e := range k.ValidateCreate(cp) {
		msg := e.ErrorBody()
		if e.Field == "metadata.name" && e.Type == field.ErrorTypeRequired && m != nil && m.GetGenerateName() != "" {
			// The server generates a name first; berth must know the name to track the object.
			msg = "Required value: berth tracks objects by name, so generateName cannot be used"
		}
		l.add(d.file, d.lineOf(e.Field), label, e.Field, msg)
	}
}

// kindOf returns the kind berth serves as gv and kind, or nil.
func (l *loader) kindOf(gv schema.GroupVersion, kind string) *registry.Kind {
	for _, k := range l.kinds {
		if k.GroupVersion == gv && k.Kind == kind {
			return k
		}
	}
	return nil
}

// unsupported explains that berth does not serve kind at gv, naming the
// version it serves when only the version is wrong.
func (l *loader) unsupported(gv schema.GroupVersion, kind string) string {
	msg := fmt.Sprintf("unsupported kind %s %s", gv, kind)
	for _, k := range l.kinds {
		if k.GroupVersion.Group == gv.Group && k.Kind == kind {
			return msg + fmt.Sprintf(": berth serves %s %s", k.GroupVersion, kind)
		}
	}
	return msg + ": berth does not serve it"
}

// typeErrorRE matches a JSON type error and captures the value, the field path
// (without sequence indexes) and the Go type.
var typeErrorRE = regexp.MustCompile(`^json: cannot unmarshal (.+?) into Go struct field \w*\.(\S+) of type (.+)$`)

// qualifierRE matches the package of a Go type name.
var qualifierRE = regexp.MustCompile(`[A-Za-z_]\w*\.`)

// decodeError turns a JSON decoding error of document d into a field path and a
// message. A type error's path gets its sequence indexes back from the YAML tree.
func decodeError(d *document, err error) (field, msg string) {
	s := err.Error()
	m := typeErrorRE.FindStringSubmatch(s)
	if m == nil {
		return "", strings.TrimPrefix(s, "json: ")
	}
	got, field, want := m[1], m[2], qualifierRE.ReplaceAllString(m[3], "")
	msg = fmt.Sprintf("wrong type: got %s, want %s", got, want)
	if d.node == nil {
		return field, msg
	}
	p, n := findValue(d.node, field, got)
	if p == "" {
		return field, msg
	}
	if want == "string" && n.Kind == yamlv3.ScalarNode && n.Style == 0 {
		kind, _, _ := strings.Cut(got, " ")
		if kind == "bool" {
			kind = "boolean"
		}
		msg += fmt.Sprintf(" (YAML reads %s as a %s: quote it to make it a string)", n.Value, kind)
	}
	return p, msg
}

// describeJSON says what a JSON document that is not an object is.
func describeJSON(data []byte) string {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return "empty"
	}
	switch data[0] {
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// withNamespace returns the JSON object data with metadata.namespace set.
func withNamespace(data []byte, namespace string) []byte {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return data
	}
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	md["namespace"] = namespace
	return marshalJSON(obj, data)
}

// normalJSON returns data with sorted keys and no insignificant space.
func normalJSON(data []byte) json.RawMessage {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return data
	}
	return marshalJSON(v, data)
}

// marshalJSON encodes v without escaping HTML characters, or returns fallback.
func marshalJSON(v any, fallback []byte) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fallback
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
