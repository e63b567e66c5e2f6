package manifests

import "sort"

// Order returns objs in the order to apply them: Namespaces, then
// ServiceAccounts, then ConfigMaps and Secrets, then Services, then workloads
// (Deployments, ReplicaSets, DaemonSets, Jobs, Pods), then everything else
// (EndpointSlices, Leases, Events, GitSources, Nodes). Objects of one class keep
// their order in objs. Pruning deletes in the reverse order. objs is not
// modified.
func Order(objs []*Object) []*Object {
	out := append([]*Object(nil), objs...)
	sort.SliceStable(out, func(i, j int) bool {
		return applyClass(out[i]) < applyClass(out[j])
	})
	return out
}

// applyClasses ranks group/Kind for Order; kinds not listed come last.
var applyClasses = map[string]int{
	"Namespace":       0,
	"ServiceAccount":  1,
	"ConfigMap":       2,
	"Secret":          2,
	"Service":         3,
	"apps/Deployment": 4,
	"apps/ReplicaSet": 4,
	"apps/DaemonSet":  4,
	"batch/Job":       4,
	"Pod":             4,
}

// applyClass returns o's rank in Order.
func applyClass(o *Object) int {
	key := o.Kind.Kind
	if g := o.Kind.GroupVersion.Group; g != "" {
		key = g + "/" + key
	}
	if c, ok := applyClasses[key]; ok {
		return c
	}
	return restClass
}

// restClass is the rank of kinds not in applyClasses.
const restClass = 5
