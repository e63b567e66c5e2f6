package registry

import (
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Group versions served.
var (
	CoreV1         = schema.GroupVersion{Version: "v1"}
	AppsV1         = schema.GroupVersion{Group: "apps", Version: "v1"}
	BatchV1        = schema.GroupVersion{Group: "batch", Version: "v1"}
	DiscoveryV1    = schema.GroupVersion{Group: "discovery.k8s.io", Version: "v1"}
	CoordinationV1 = schema.GroupVersion{Group: "coordination.k8s.io", Version: "v1"}
	BerthV1alpha1  = schema.GroupVersion{Group: "berth.dev", Version: "v1alpha1"}
)

// All returns every kind served, in a fixed order: core first, then by group.
// The kinds are built once and shared: treat them as read-only.
func All() []*Kind {
	return append([]*Kind(nil), all()...)
}

var all = sync.OnceValue(func() []*Kind {
	return []*Kind{
		Namespaces(), Pods(), Services(), ConfigMaps(), Secrets(), ServiceAccounts(), Nodes(), Events(),
		Deployments(), ReplicaSets(), DaemonSets(),
		Jobs(),
		EndpointSlices(),
		Leases(),
		GitSources(),
	}
})

// ByResource returns the kind served as group/resource, or nil.
func ByResource(group, resource string) *Kind {
	for _, k := range all() {
		if k.GroupVersion.Group == group && k.Resource == resource {
			return k
		}
	}
	return nil
}

// ByGroupVersionKind returns the kind served as gvk, or nil.
func ByGroupVersionKind(gvk schema.GroupVersionKind) *Kind {
	for _, k := range all() {
		if k.GroupVersionKind() == gvk {
			return k
		}
	}
	return nil
}
