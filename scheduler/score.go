package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Score ranks a node that can take the pod: higher is better. It adds, each on a
// 0-100 scale: how much cpu and memory stays free after the pod (least allocated),
// how few pods of the pod's owner the node runs already (spread), and the weights of
// the preferred node affinity terms it matches.
func Score(p *corev1.Pod, ni *NodeInfo) int64 {
	return leastAllocated(p, ni) + spread(p, ni) + preferredAffinity(p, ni)
}

func leastAllocated(p *corev1.Pod, ni *NodeInfo) int64 {
	want := PodRequests(p)
	var total int64
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		alloc := ni.Node.Status.Allocatable[name]
		capacity := alloc.MilliValue()
		if capacity <= 0 {
			continue
		}
		used := ni.Requested[name]
		w := want[name]
		free := capacity - used.MilliValue() - w.MilliValue()
		if free < 0 {
			free = 0
		}
		total += free * 100 / capacity
	}
	return total / 2
}

// spread favours nodes that run fewer pods of the same owner (a ReplicaSet's
// replicas go to different nodes when they can).
func spread(p *corev1.Pod, ni *NodeInfo) int64 {
	owner := metav1.GetControllerOf(p)
	if owner == nil {
		return 0
	}
	same := int64(0)
	for _, other := range ni.Pods {
		if o := metav1.GetControllerOf(other); o != nil && o.UID == owner.UID {
			same++
		}
	}
	return 100 / (1 + same)
}

func preferredAffinity(p *corev1.Pod, ni *NodeInfo) int64 {
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil {
		return 0
	}
	var sum, max int64
	for _, t := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		max += int64(t.Weight)
		if termMatches(t.Preference, ni.Node) {
			sum += int64(t.Weight)
		}
	}
	if max == 0 {
		return 0
	}
	return sum * 100 / max
}

// Place picks the node for a pod: the best scored of those that can take it (the
// first by name on a tie), or none with the FailedScheduling message saying why.
func Place(p *corev1.Pod, s *Snapshot) (node, why string) {
	fit, reasons := Filter(p, s)
	if len(fit) == 0 {
		return "", Unschedulable(len(s.Nodes), reasons)
	}
	best, bestScore := "", int64(-1)
	for _, name := range fit {
		if sc := Score(p, s.Nodes[name]); sc > bestScore {
			best, bestScore = name, sc
		}
	}
	return best, ""
}
