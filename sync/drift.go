package sync

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// patchPaths lists the fields a strategic merge patch sets or removes, as paths such
// as "spec.template.spec.containers[web].image": what drifted from git.
func patchPaths(patch []byte) []string {
	var m map[string]interface{}
	if err := json.Unmarshal(patch, &m); err != nil {
		return nil
	}
	var out []string
	walkPatch("", m, &out)
	sort.Strings(out)
	return out
}

func walkPatch(prefix string, v interface{}, out *[]string) {
	switch x := v.(type) {
	case map[string]interface{}:
		if len(x) == 0 {
			*out = append(*out, prefix)
			return
		}
		for k, val := range x {
			if strings.HasPrefix(k, "$") { // patch directives, such as $setElementOrder
				continue
			}
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walkPatch(p, val, out)
		}
	case []interface{}:
		for i, el := range x {
			key := fmt.Sprint(i)
			if m, ok := el.(map[string]interface{}); ok {
				if n, ok := m["name"].(string); ok && len(m) > 1 {
					// Keyed by name (the merge key); the name itself is not a change.
					key, el = n, withoutKey(m, "name")
				}
			}
			walkPatch(fmt.Sprintf("%s[%s]", prefix, key), el, out)
		}
	default:
		*out = append(*out, prefix)
	}
}

func withoutKey(m map[string]interface{}, k string) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for kk, v := range m {
		if kk != k {
			out[kk] = v
		}
	}
	return out
}
