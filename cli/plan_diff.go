package cli

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/sync"
)

// planMasked is what a Secret's value reads as in a plan.
const planMasked = "***"

// planIgnored are fields berth itself sets on every object it applies: they are
// not part of what git declares, so no diff shows them.
var planIgnored = map[string]bool{
	`metadata.annotations["` + sync.LastAppliedAnnotation + `"]`: true,
	`metadata.labels["` + sync.SourceLabel + `"]`:                true,
	`metadata.labels["` + sync.SourceNamespaceLabel + `"]`:       true,
}

// planDiff returns the fields that differ between two versions of an object of
// kind k (either may be nil: everything added, or removed), semantically: maps
// key by key, lists keyed by their strategic merge key (containers by name,
// ports by containerPort, ...) where they have one. Values of a Secret's data
// and stringData read "***".
func planDiff(k *registry.Kind, old, new map[string]any) []PlanFieldChange {
	d := &planDiffer{secret: k != nil && k.GroupVersion.Group == "" && k.Kind == "Secret"}
	var meta strategicpatch.LookupPatchMeta
	if k != nil && k.New != nil {
		if m, err := strategicpatch.NewPatchMetaFromStruct(k.New()); err == nil {
			meta = m
		}
	}
	d.compareMaps("", planNormalize(old), planNormalize(new), meta, false)
	if old == nil || new == nil {
		// A whole object comes or goes: its identity is in the heading.
		out := d.out[:0]
		for _, c := range d.out {
			if !planIdentity[c.Path] {
				out = append(out, c)
			}
		}
		d.out = out
	}
	return d.out
}

// planNormalize is m as JSON decodes it (every number a float64), so that an
// object read from the server (int64s) and one decoded from JSON compare equal.
func planNormalize(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return m
	}
	return out
}

// planIdentity are the fields that name an object.
var planIdentity = map[string]bool{"apiVersion": true, "kind": true, "metadata.name": true, "metadata.namespace": true}

// planDiffer accumulates the changes of one object.
type planDiffer struct {
	secret bool
	out    []PlanFieldChange
}

// compareMaps compares two maps key by key, in key order.
func (d *planDiffer) compareMaps(path string, old, new map[string]any, meta strategicpatch.LookupPatchMeta, masked bool) {
	keys := make([]string, 0, len(old)+len(new))
	for k := range old {
		keys = append(keys, k)
	}
	for k := range new {
		if _, ok := old[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := planJoin(path, k)
		if planIgnored[p] {
			continue
		}
		m := masked || d.secret && path == "" && (k == "data" || k == "stringData") ||
			d.secret && path == "metadata.annotations" && k == "kubectl.kubernetes.io/last-applied-configuration"
		ov, inOld := old[k]
		nv, inNew := new[k]
		d.compare(p, ov, nv, inOld, inNew, planChildMeta(meta, k, ov, nv), m)
	}
}

// compare compares one value present in old, new or both.
func (d *planDiffer) compare(path string, ov, nv any, inOld, inNew bool, meta childMeta, masked bool) {
	switch {
	case !inOld && !inNew:
		return
	case !inOld:
		d.leaves(path, nv, FieldAdd, masked)
		return
	case !inNew:
		d.leaves(path, ov, FieldRemove, masked)
		return
	}
	om, ok1 := ov.(map[string]any)
	nm, ok2 := nv.(map[string]any)
	if ok1 && ok2 {
		d.compareMaps(path, om, nm, meta.sub, masked)
		return
	}
	ol, ok1 := ov.([]any)
	nl, ok2 := nv.([]any)
	if ok1 && ok2 {
		d.compareLists(path, ol, nl, meta, masked)
		return
	}
	if !reflect.DeepEqual(ov, nv) {
		d.change(path, ov, nv, masked)
	}
}

// compareLists compares two lists: by merge key when every element has a
// distinct one, as one value when both are short lists of scalars, else by index.
func (d *planDiffer) compareLists(path string, ol, nl []any, meta childMeta, masked bool) {
	if reflect.DeepEqual(ol, nl) {
		return
	}
	key := meta.mergeKey
	if key == "" {
		key = "name"
	}
	oldKeys, ok1 := planListKeys(ol, key)
	newKeys, ok2 := planListKeys(nl, key)
	if ok1 && ok2 {
		oldAt := map[string]int{}
		for i, k := range oldKeys {
			oldAt[k] = i
		}
		inNew := map[string]bool{}
		for i, k := range newKeys {
			inNew[k] = true
			p := fmt.Sprintf("%s[%s=%s]", path, key, k)
			j, ok := oldAt[k]
			var ov any
			if ok {
				ov = ol[j]
			}
			if !ok {
				d.leaves(p, planWithoutKey(nl[i], key), FieldAdd, masked)
				continue
			}
			d.compare(p, ov, nl[i], true, true, childMeta{sub: meta.sub}, masked)
		}
		for i, k := range oldKeys {
			if !inNew[k] {
				d.leaves(fmt.Sprintf("%s[%s=%s]", path, key, k), planWithoutKey(ol[i], key), FieldRemove, masked)
			}
		}
		return
	}
	if planScalars(ol) && planScalars(nl) && len(planCompact(ol)) <= 100 && len(planCompact(nl)) <= 100 {
		d.change(path, ol, nl, masked)
		return
	}
	for i := 0; i < len(ol) || i < len(nl); i++ {
		var ov, nv any
		if i < len(ol) {
			ov = ol[i]
		}
		if i < len(nl) {
			nv = nl[i]
		}
		d.compare(fmt.Sprintf("%s[%d]", path, i), ov, nv, i < len(ol), i < len(nl), childMeta{sub: meta.sub}, masked)
	}
}

// leaves records every leaf of v as added or removed; an empty map or list is a
// leaf of its own.
func (d *planDiffer) leaves(path string, v any, op string, masked bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 {
			if op == FieldAdd {
				d.compareMaps(path, nil, x, nil, masked)
			} else {
				d.compareMaps(path, x, nil, nil, masked)
			}
			return
		}
	case []any:
		if len(x) > 0 {
			if planScalars(x) && len(planCompact(x)) <= 100 {
				break
			}
			for i, el := range x {
				p := fmt.Sprintf("%s[%d]", path, i)
				if m, ok := el.(map[string]any); ok {
					if n, ok := m["name"].(string); ok {
						p = fmt.Sprintf("%s[name=%s]", path, n)
						el = planWithoutKey(el, "name")
					}
				}
				d.leaves(p, el, op, masked)
			}
			return
		}
	}
	if masked {
		v = planMasked
	}
	c := PlanFieldChange{Path: path, Op: op}
	if op == FieldAdd {
		c.New = v
	} else {
		c.Old = v
	}
	d.out = append(d.out, c)
}

// change records a changed value.
func (d *planDiffer) change(path string, ov, nv any, masked bool) {
	if masked {
		ov, nv = planMasked, planMasked
	}
	d.out = append(d.out, PlanFieldChange{Path: path, Op: FieldChange, Old: ov, New: nv})
}

// planWithoutKey is a list element without its merge key, which its path
// already shows; an element that holds nothing else stays whole.
func planWithoutKey(el any, key string) any {
	m, ok := el.(map[string]any)
	if !ok || len(m) < 2 {
		return el
	}
	out := make(map[string]any, len(m)-1)
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// childMeta is the strategic merge metadata of a field: the schema below it
// (nil when unknown) and, for a list, its merge key.
type childMeta struct {
	sub      strategicpatch.LookupPatchMeta
	mergeKey string
}

// planChildMeta looks up the metadata of field k of a map, as a struct field or a
// list field depending on its value.
func planChildMeta(meta strategicpatch.LookupPatchMeta, k string, ov, nv any) childMeta {
	if meta == nil {
		return childMeta{}
	}
	_, isList := ov.([]any)
	if _, ok := nv.([]any); ok {
		isList = true
	}
	if isList {
		sub, pm, err := meta.LookupPatchMetadataForSlice(k)
		if err != nil {
			return childMeta{}
		}
		return childMeta{sub: sub, mergeKey: pm.GetPatchMergeKey()}
	}
	_, isMap := ov.(map[string]any)
	if _, ok := nv.(map[string]any); ok {
		isMap = true
	}
	if !isMap {
		return childMeta{}
	}
	sub, _, err := meta.LookupPatchMetadataForStruct(k)
	if err != nil {
		return childMeta{}
	}
	return childMeta{sub: sub}
}

// planListKeys returns the merge key of each element of a list of maps, and
// whether every element has one, distinct from the others'.
func planListKeys(l []any, key string) ([]string, bool) {
	out := make([]string, len(l))
	seen := map[string]bool{}
	for i, el := range l {
		m, ok := el.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[key]
		if !ok || v == nil {
			return nil, false
		}
		s := fmt.Sprint(v)
		if seen[s] {
			return nil, false
		}
		seen[s] = true
		out[i] = s
	}
	return out, true
}

// planScalars says whether a list holds no maps or lists.
func planScalars(l []any) bool {
	for _, el := range l {
		switch el.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// planKeyRE matches the map keys a path shows after a dot.
var planKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// planJoin appends a map key to a path: ".key", or `["key"]` for keys such as
// "app.kubernetes.io/name".
func planJoin(path, k string) string {
	if !planKeyRE.MatchString(k) {
		return path + "[" + strconv.Quote(k) + "]"
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

// planPlainRE matches strings a plan prints without quotes.
var planPlainRE = regexp.MustCompile(`^[A-Za-z0-9_./:@+*=-][A-Za-z0-9_./:@+*=,-]*$`)

// planValueMax is the longest value a plan prints; longer ones are cut.
const planValueMax = 120

// PlanValue formats a field's value for text and Markdown: plain strings as
// they are, other strings quoted, anything else as compact JSON; long values
// are cut with their length.
func PlanValue(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if planPlainRE.MatchString(x) && !planLooksTyped(x) {
			s = x
		} else {
			s = strconv.Quote(x)
		}
	default:
		s = planCompact(v)
	}
	if r := []rune(s); len(r) > planValueMax {
		s = fmt.Sprintf("%s… (%d bytes)", string(r[:planValueMax]), len(s))
	}
	return s
}

// planLooksTyped says whether an unquoted string would read as a number, a
// boolean or null.
func planLooksTyped(s string) bool {
	if s == "true" || s == "false" || s == "null" {
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// planCompact is v as compact JSON.
func planCompact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
