package scheduler

import (
	corev1 "k8s.io/api/core/v1"
)

// Score ranks a node that can take the pod: higher is better. It adds, each on a
// 0-100 scale: how much cpu and memory stays free after the pod (least allocated,
// counting kube-scheduler's 100m and 200Mi for a container that requests none),
// how few pods of the pod's owner the node runs already (spread), and the weights
// of the preferred node affinity terms it matches.
func Score(p *corev1.Pod, ni *NodeInfo) int64 {
	return score(newPodInfo(p), ni)
}

// score is Score of a podInfo; it reads only integers and maps, no Quantities.
func score(pi *podInfo, ni *NodeInfo) int64 {
	s := leastAllocated(pi, ni) + spread(pi, ni)
	if a := pi.pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		s += preferredAffinity(a.NodeAffinity, ni)
	}
	return s
}

func leastAllocated(pi *podInfo, ni *NodeInfo) int64 {
	return (freeShare(ni.Allocatable.MilliCPU, ni.nonZero.MilliCPU+pi.nonZero.MilliCPU) +
		freeShare(ni.Allocatable.Memory, ni.nonZero.Memory+pi.nonZero.Memory)) / 2
}

// freeShare is the percentage of capacity left when used is taken; 0 for a node
// without that resource.
func freeShare(capacity, used int64) int64 {
	if capacity <= 0 || used >= capacity {
		return 0
	}
	return (capacity - used) * 100 / capacity
}

// spread favours nodes that run fewer pods of the same owner (a ReplicaSet's
// replicas go to different nodes when they can).
func spread(pi *podInfo, ni *NodeInfo) int64 {
	if pi.owner == "" {
		return 0
	}
	return 100 / int64(1+ni.owners[pi.owner])
}

func preferredAffinity(a *corev1.NodeAffinity, ni *NodeInfo) int64 {
	var sum, max int64
	for _, t := range a.PreferredDuringSchedulingIgnoredDuringExecution {
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
// It examines every node, on one goroutine; the scheduler's loop samples instead.
func Place(p *corev1.Pod, s *Snapshot) (node, why string) {
	nodes := s.list()
	r := search(newPodInfo(p), nodes, searchOptions{want: len(nodes), parallelism: 1})
	if r.best == nil {
		return "", Unschedulable(len(nodes), r.reasons)
	}
	return r.best.Node.Name, ""
}
