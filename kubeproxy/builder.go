package kubeproxy

import (
	"cmp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Builder is Build with a memory: it keeps the rules of each Service and
// reuses them while the Service and its EndpointSlices keep their
// resourceVersions, so that a sync after one change renders one Service
// instead of all of them (at 10,000 Services most of Build's time).
// Its output is always exactly Build's. Objects without a resourceVersion
// are never cached. A Builder is not safe for concurrent use.
type Builder struct {
	node  Node
	cache map[string]*fragment // by namespace/name
}

// Build returns the rule set of in, as the function Build does.
func (b *Builder) Build(in Input) *RuleSet {
	if in.Node != b.node {
		b.node, b.cache = in.Node, nil
	}
	rs, next := build(in, b.cache)
	b.cache = next
	return rs
}

// fragment is what one Service adds to the rule set.
type fragment struct {
	key   string // fragmentKey of the objects it was built from
	rules []fragmentRule
	ports []*ServicePort
}

// fragmentRule is one rule of a fragment (line empty: the chain is only
// declared).
type fragmentRule struct{ table, chain, line string }

// replay adds a fragment's rules and ports to the rule set.
func (b *builder) replay(f *fragment) {
	for _, r := range f.rules {
		b.addLine(r.table, r.chain, r.line)
	}
	for _, p := range f.ports {
		b.rs.Ports[p.Name] = p
	}
}

// fragmentKey identifies the objects a Service's rules come from: the
// Service's and its slices' UIDs and resourceVersions. It is empty when
// one of them has no resourceVersion.
func fragmentKey(svc *corev1.Service, sl []*discoveryv1.EndpointSlice) string {
	if svc.ResourceVersion == "" {
		return ""
	}
	parts := make([]string, 0, len(sl))
	for _, s := range sl {
		if s.ResourceVersion == "" {
			return ""
		}
		parts = append(parts, string(s.UID)+"@"+s.ResourceVersion)
	}
	slices.SortFunc(parts, cmp.Compare)
	return string(svc.UID) + "@" + svc.ResourceVersion + ";" + strings.Join(parts, ";")
}
