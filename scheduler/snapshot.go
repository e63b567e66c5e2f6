package scheduler

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Snapshot is the nodes at one moment, by name. It is what the pure functions
// Filter and Place read; the scheduler's loop keeps its NodeInfos in a cache that
// it changes incrementally instead.
type Snapshot struct {
	Nodes map[string]*NodeInfo
}

// NewSnapshot builds a snapshot from nodes and the pods bound to them (pods on
// unknown nodes and finished pods are left out).
func NewSnapshot(nodes []*corev1.Node, pods []*corev1.Pod) *Snapshot {
	s := &Snapshot{Nodes: map[string]*NodeInfo{}}
	for _, n := range nodes {
		s.Nodes[n.Name] = newNodeInfo(n)
	}
	for _, p := range pods {
		if ni := s.Nodes[p.Spec.NodeName]; ni != nil && !podFinished(p) {
			ni.Add(p)
		}
	}
	return s
}

// Names returns the node names in order.
func (s *Snapshot) Names() []string {
	out := make([]string, 0, len(s.Nodes))
	for n := range s.Nodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// list returns the NodeInfos in the order of their names.
func (s *Snapshot) list() []*NodeInfo {
	names := s.Names()
	out := make([]*NodeInfo, len(names))
	for i, n := range names {
		out[i] = s.Nodes[n]
	}
	return out
}

// podFinished says whether a pod has succeeded or failed, so takes nothing from its node.
func podFinished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}
