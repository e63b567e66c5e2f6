package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NodeInfo is a node with what its pods already take. The scheduler keeps one per
// node and changes it as pods come and go (Add, Remove), so that placing a pod
// reads precomputed integers instead of summing Quantities. Callers read its
// fields and must not change them.
type NodeInfo struct {
	// Node is nil while pods are known on a node that is not (or no longer) known.
	Node *corev1.Node
	Pods []*corev1.Pod
	// Allocatable is the node's allocatable; Pods is the largest int64 when the
	// node states no pod count.
	Allocatable Resources
	// Requested is the sum of the pods' requests; Requested.Pods is len(Pods).
	Requested Resources

	nonZero  Resources         // Requested with the scoring defaults
	ports    map[hostPort]int  // host ports in use, with how many pods use each
	portUses map[protoPort]int // the same by protocol and port, whatever the IP
	owners   map[types.UID]int // pods per controller UID, for the spread score
	ready    bool              // the NodeReady condition is True
	// unschedulable and taints (those with effect NoSchedule or NoExecute) are
	// copied from the node, so that filtering a node reads this struct only.
	unschedulable bool
	taints        []corev1.Taint
	index         int // position in the cache's node list; -1 when not listed
}

// protoPort is a host port whatever its IP.
type protoPort struct {
	protocol corev1.Protocol
	port     int32
}

// newNodeInfo returns the NodeInfo of a node without pods; n may be nil.
func newNodeInfo(n *corev1.Node) *NodeInfo {
	ni := &NodeInfo{index: -1}
	ni.setNode(n)
	return ni
}

// setNode replaces the node object and what is derived from it, keeping the pods.
func (ni *NodeInfo) setNode(n *corev1.Node) {
	ni.Node = n
	ni.Allocatable, ni.ready, ni.unschedulable, ni.taints = Resources{}, false, false, nil
	if n == nil {
		return
	}
	ni.Allocatable = allocatableOf(n)
	ni.ready = nodeIsReady(n)
	ni.unschedulable = n.Spec.Unschedulable
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			ni.taints = append(ni.taints, t)
		}
	}
}

// nodeIsReady says whether a node's NodeReady condition is True.
func nodeIsReady(n *corev1.Node) bool {
	for i := range n.Status.Conditions {
		if c := &n.Status.Conditions[i]; c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Add counts a pod on the node (the scheduler assumes its bindings at once).
func (ni *NodeInfo) Add(p *corev1.Pod) {
	ni.add(newPodInfo(p))
}

// add counts a pod whose podInfo is known.
func (ni *NodeInfo) add(pi *podInfo) {
	ni.Pods = append(ni.Pods, pi.pod)
	ni.Requested.add(pi.req)
	ni.nonZero.add(pi.nonZero)
	for _, hp := range pi.ports {
		if ni.ports == nil {
			ni.ports, ni.portUses = map[hostPort]int{}, map[protoPort]int{}
		}
		ni.ports[hp]++
		ni.portUses[protoPort{hp.protocol, hp.port}]++
	}
	if pi.owner != "" {
		if ni.owners == nil {
			ni.owners = map[types.UID]int{}
		}
		ni.owners[pi.owner]++
	}
}

// Remove uncounts a pod: the one with the same UID, or with the same namespace and
// name when p has no UID. It reports whether the pod was there.
func (ni *NodeInfo) Remove(p *corev1.Pod) bool {
	for i, other := range ni.Pods {
		if !samePod(p, other) {
			continue
		}
		pi := newPodInfo(other) // what was added, even if p has changed since
		last := len(ni.Pods) - 1
		ni.Pods[i] = ni.Pods[last]
		ni.Pods[last] = nil
		ni.Pods = ni.Pods[:last]
		ni.Requested.sub(pi.req)
		ni.nonZero.sub(pi.nonZero)
		for _, hp := range pi.ports {
			if ni.ports[hp]--; ni.ports[hp] <= 0 {
				delete(ni.ports, hp)
			}
			pp := protoPort{hp.protocol, hp.port}
			if ni.portUses[pp]--; ni.portUses[pp] <= 0 {
				delete(ni.portUses, pp)
			}
		}
		if pi.owner != "" {
			if ni.owners[pi.owner]--; ni.owners[pi.owner] <= 0 {
				delete(ni.owners, pi.owner)
			}
		}
		return true
	}
	return false
}

// samePod says whether a and b are the same pod: by UID, or by namespace and name
// when a has no UID.
func samePod(a, b *corev1.Pod) bool {
	if a.UID != "" {
		return a.UID == b.UID
	}
	return a.Namespace == b.Namespace && a.Name == b.Name
}

// portFree says whether a host port can be bound on the node: a port on every
// address conflicts with the same port on any address, and the other way round.
func (ni *NodeInfo) portFree(hp hostPort) bool {
	if len(ni.ports) == 0 {
		return true
	}
	if hp.ip == anyIP {
		return ni.portUses[protoPort{hp.protocol, hp.port}] == 0
	}
	return ni.ports[hp] == 0 && ni.ports[hostPort{hp.protocol, anyIP, hp.port}] == 0
}
