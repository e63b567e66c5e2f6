package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// chunk is one document of a YAML file: its text and the line it starts on.
type chunk struct {
	data []byte
	line int
}

// splitYAML splits a multi-document YAML file at lines of "---" (optionally
// followed by a comment), as kubectl does. Every document is returned, empty
// ones included, with the 1-based line of its first line.
func splitYAML(data []byte) []chunk {
	var chunks []chunk
	start, startLine := 0, 1
	line := 1
	for off := 0; off < len(data); line++ {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		if isSeparator(data[off:next]) {
			chunks = append(chunks, chunk{data: data[start:off], line: startLine})
			start, startLine = next, line+1
		}
		off = next
	}
	return append(chunks, chunk{data: data[start:], line: startLine})
}

// isSeparator reports a document separator line: "---", maybe followed by
// spaces and a comment.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimSpace(rest)
	return len(rest) == 0 || rest[0] == '#'
}

// errSecondDocument is returned for a chunk holding two documents, which
// happens when a separator carries content ("--- !tag") that splitYAML does not
// treat as a separator.
var errSecondDocument = errors.New("more than one document: separate documents with a line of ---")

// parseYAML parses one document into a node tree whose lines count from the
// start of the file. It returns nil for an empty document (nothing, comments
// only, or null). The tree is checked for alias bombs and duplicate keys, so
// converting it to JSON afterwards is safe; when the check fails the tree is
// returned with the errors, to name the object.
func parseYAML(c chunk) (*yamlv3.Node, []*posError) {
	dec := yamlv3.NewDecoder(bytes.NewReader(c.data))
	var doc yamlv3.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, []*posError{yamlError(err, c.line)}
	}
	var extra yamlv3.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, []*posError{{line: c.line, message: errSecondDocument.Error()}}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yamlv3.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	shiftLines(root, c.line-1)
	if err := checkExpansion(root); err != nil {
		return root, []*posError{{line: root.Line, message: err.Error()}}
	}
	if errs := duplicateKeys(root, ""); len(errs) > 0 {
		return root, errs
	}
	return root, nil
}

// posError is an error at a line, with the path of the field when known.
type posError struct {
	line    int
	field   string
	message string
}

// yamlLineRE matches the line number in YAML parser errors.
var yamlLineRE = regexp.MustCompile(`^(?:error converting YAML to JSON: )?yaml: line (\d+): (.*)$`)

// yamlError turns a YAML parser error about a chunk starting at line start
// into a positioned error.
func yamlError(err error, start int) *posError {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &posError{line: start + n - 1, message: "invalid YAML: " + m[2]}
	}
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	return &posError{line: start, message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// shiftLines adds delta to the line of every node of the tree.
func shiftLines(n *yamlv3.Node, delta int) {
	n.Line += delta
	for _, c := range n.Content {
		shiftLines(c, delta)
	}
}

// minExpansionLimit is how many nodes any document may expand to through
// aliases; larger documents may expand to twice their own size.
const minExpansionLimit = 100_000

// checkExpansion rejects a document whose aliases expand it to more nodes than
// the limit (a "billion laughs" bomb) or that refers to itself. It counts
// without expanding, so a bomb is refused in time proportional to its size.
func checkExpansion(root *yamlv3.Node) error {
	nodes, aliases := countNodes(root)
	if aliases == 0 {
		return nil
	}
	limit := max(minExpansionLimit, 2*nodes)
	sizes := map[*yamlv3.Node]int{}
	const visiting = -1
	var size func(n *yamlv3.Node) (int, error)
	size = func(n *yamlv3.Node) (int, error) {
		if n.Kind == yamlv3.AliasNode {
			if n.Alias == nil {
				return 1, nil
			}
			n = n.Alias
		}
		switch s, ok := sizes[n]; {
		case ok && s == visiting:
			return 0, fmt.Errorf("YAML alias %q refers to a node that contains it", n.Anchor)
		case ok:
			return s, nil
		}
		sizes[n] = visiting
		total := 1
		for _, c := range n.Content {
			s, err := size(c)
			if err != nil {
				return 0, err
			}
			total = min(total+s, limit+1) // saturate: a bomb can overflow an int
		}
		sizes[n] = total
		return total, nil
	}
	total, err := size(root)
	if err != nil {
		return err
	}
	if total > limit {
		return fmt.Errorf("YAML aliases expand the document to more than %d nodes", limit)
	}
	return nil
}

// countNodes counts the nodes of the tree as written, and the aliases among them.
func countNodes(n *yamlv3.Node) (nodes, aliases int) {
	nodes = 1
	if n.Kind == yamlv3.AliasNode {
		aliases = 1
	}
	for _, c := range n.Content {
		cn, ca := countNodes(c)
		nodes += cn
		aliases += ca
	}
	return nodes, aliases
}

// duplicateKeys reports every key that appears twice in one mapping, at the
// second occurrence. prefix is the path of n.
func duplicateKeys(n *yamlv3.Node, prefix string) []*posError {
	var errs []*posError
	switch n.Kind {
	case yamlv3.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yamlv3.ScalarNode || k.Tag == "!!merge" {
				continue
			}
			p := joinField(prefix, k.Value)
			if first, ok := seen[k.Value]; ok {
				errs = append(errs, &posError{line: k.Line, field: p, message: fmt.Sprintf("duplicate key (first at line %d)", first)})
				continue
			}
			seen[k.Value] = k.Line
			errs = append(errs, duplicateKeys(v, p)...)
		}
	case yamlv3.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, duplicateKeys(c, fmt.Sprintf("%s[%d]", prefix, i))...)
		}
	}
	return errs
}

// joinField appends key to a field path.
func joinField(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// lookupField finds the node of a field path such as
// "spec.template.spec.containers[0].image" or "metadata.labels[app]" in the
// tree. It returns the node whose line is the field's (the key of a mapping
// entry, the item of a sequence), the field's value, and whether the whole path
// was found; when it was not, at is the deepest node found on the way.
func lookupField(root *yamlv3.Node, field string) (at, value *yamlv3.Node, found bool) {
	n, at := root, root
	for _, seg := range splitField(field) {
		if n.Kind == yamlv3.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next, key *yamlv3.Node
		switch n.Kind {
		case yamlv3.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					key, next = n.Content[i], n.Content[i+1]
					break
				}
			}
		case yamlv3.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
				key, next = n.Content[i], n.Content[i]
			}
		}
		if next == nil {
			return at, nil, false
		}
		n, at = next, key
	}
	if n.Kind == yamlv3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return at, n, true
}

// splitField splits a field path into keys and indexes:
// "a.b[0].c[x.y]" is a, b, 0, c, x.y.
func splitField(field string) []string {
	var segs []string
	for field != "" {
		switch field[0] {
		case '.':
			field = field[1:]
		case '[':
			end := strings.IndexByte(field, ']')
			if end < 0 {
				return append(segs, field[1:])
			}
			segs = append(segs, field[1:end])
			field = field[end+1:]
		default:
			end := strings.IndexAny(field, ".[")
			if end < 0 {
				end = len(field)
			}
			segs = append(segs, field[:end])
			field = field[end:]
		}
	}
	return segs
}

// nodeLabel names the object a YAML document declares, for errors found
// before it is decoded.
func nodeLabel(root *yamlv3.Node) string {
	scalar := func(field string) string {
		if _, v, ok := lookupField(root, field); ok && v.Kind == yamlv3.ScalarNode {
			return v.Value
		}
		return ""
	}
	return objectLabel(scalar("kind"), scalar("metadata.namespace"), scalar("metadata.name"))
}

// yamlToJSON converts one YAML document to JSON the way kubectl does.
func yamlToJSON(data []byte) ([]byte, error) {
	return sigsyaml.YAMLToJSON(data)
}

// findValue finds the value of a field path without sequence indexes, as
// encoding/json reports it ("spec.containers.env.value"), trying every item of
// the sequences on the way. It prefers a value of JSON type got ("string",
// "number", "bool", "array", "object") and returns the path with its indexes
// ("spec.containers[0].env[1].value") and the value; "" when there is none.
func findValue(root *yamlv3.Node, field, got string) (string, *yamlv3.Node) {
	var firstPath string
	var firstNode *yamlv3.Node
	var walk func(n *yamlv3.Node, segs []string, prefix string) (string, *yamlv3.Node)
	walk = func(n *yamlv3.Node, segs []string, prefix string) (string, *yamlv3.Node) {
		if n.Kind == yamlv3.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch {
		case len(segs) == 0:
			if firstNode == nil {
				firstPath, firstNode = prefix, n
			}
			if hasJSONType(n, got) {
				return prefix, n
			}
		case n.Kind == yamlv3.SequenceNode:
			for i, c := range n.Content {
				if p, v := walk(c, segs, fmt.Sprintf("%s[%d]", prefix, i)); v != nil {
					return p, v
				}
			}
		case n.Kind == yamlv3.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == segs[0] {
					return walk(n.Content[i+1], segs[1:], joinField(prefix, segs[0]))
				}
			}
		}
		return "", nil
	}
	if p, v := walk(root, splitField(field), ""); v != nil {
		return p, v
	}
	return firstPath, firstNode
}

// yaml11Bools are the plain scalars YAML 1.1 (and so sigs.k8s.io/yaml) reads
// as booleans, beyond true and false.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "n": true, "N": true, "no": true, "No": true, "NO": true,
	"on": true, "On": true, "ON": true, "off": true, "Off": true, "OFF": true,
}

// hasJSONType reports whether n converts to a JSON value of type got, as named
// in encoding/json's errors.
func hasJSONType(n *yamlv3.Node, got string) bool {
	got, _, _ = strings.Cut(got, " ") // "number -5"
	switch got {
	case "object":
		return n.Kind == yamlv3.MappingNode
	case "array":
		return n.Kind == yamlv3.SequenceNode
	case "string":
		return n.Kind == yamlv3.ScalarNode && n.Tag == "!!str"
	case "number":
		return n.Kind == yamlv3.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float")
	case "bool":
		return n.Kind == yamlv3.ScalarNode && (n.Tag == "!!bool" || n.Style == 0 && yaml11Bools[n.Value])
	}
	return false
}

// findScalar returns the first scalar node (in document order) whose value is
// value, or nil.
func findScalar(n *yamlv3.Node, value string) *yamlv3.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yamlv3.ScalarNode && n.Value == value {
		return n
	}
	for _, c := range n.Content {
		if f := findScalar(c, value); f != nil {
			return f
		}
	}
	return nil
}
