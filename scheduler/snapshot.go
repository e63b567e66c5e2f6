package scheduler

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// NodeInfo is a node with what its pods already take.
type NodeInfo struct {
	Node *corev1.Node
	Pods []*corev1.Pod
	// Requested is the sum of the pods' requests (cpu, memory).
	Requested corev1.ResourceList
	// HostPorts in use, as "protocol/ip/port".
	HostPorts map[string]bool
}

// Snapshot is the nodes at one moment, by name.
type Snapshot struct {
	Nodes map[string]*NodeInfo
}

// NewSnapshot builds a snapshot from nodes and the pods bound to them (pods on
// unknown nodes and finished pods are left out).
func NewSnapshot(nodes []*corev1.Node, pods []*corev1.Pod) *Snapshot {
	s := &Snapshot{Nodes: map[string]*NodeInfo{}}
	for _, n := range nodes {
		s.Nodes[n.Name] = &NodeInfo{Node: n, Requested: corev1.ResourceList{}, HostPorts: map[string]bool{}}
	}
	for _, p := range pods {
		if ni := s.Nodes[p.Spec.NodeName]; ni != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			ni.Add(p)
		}
	}
	return s
}

// Add counts a pod on the node (the scheduler assumes its bindings at once).
func (ni *NodeInfo) Add(p *corev1.Pod) {
	ni.Pods = append(ni.Pods, p)
	for name, q := range PodRequests(p) {
		sum := ni.Requested[name]
		sum.Add(q)
		ni.Requested[name] = sum
	}
	for _, port := range hostPorts(p) {
		ni.HostPorts[port] = true
	}
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

// PodRequests is what a pod asks for: the sum of its containers' requests, or the
// largest init container's when that is more, as Kubernetes computes it.
func PodRequests(p *corev1.Pod) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		for name, q := range c.Resources.Requests {
			sum := out[name]
			sum.Add(q)
			out[name] = sum
		}
	}
	for _, c := range p.Spec.InitContainers {
		for name, q := range c.Resources.Requests {
			if cur, ok := out[name]; !ok || q.Cmp(cur) > 0 {
				out[name] = q.DeepCopy()
			}
		}
	}
	return out
}

// hostPorts lists the host ports a pod binds.
func hostPorts(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			proto := port.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			ip := port.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			out = append(out, string(proto)+"/"+ip+"/"+resource.NewQuantity(int64(port.HostPort), resource.DecimalSI).String())
		}
	}
	return out
}
