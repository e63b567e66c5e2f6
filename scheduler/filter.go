package scheduler

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// filter says why a node cannot take a pod, in Kubernetes' words; none when it can.
type filter func(p *corev1.Pod, ni *NodeInfo) []string

// filters run in this order; a node fails at the first that has reasons.
var filters = []filter{nodeUnschedulable, nodeReady, nodeAffinity, taints, fits, hostPortsFree, antiAffinity}

// Filter returns the nodes that can take the pod, and for each reason the others
// cannot, how many nodes it stopped.
func Filter(p *corev1.Pod, s *Snapshot) (fit []string, reasons map[string]int) {
	reasons = map[string]int{}
	for _, name := range s.Names() {
		ni := s.Nodes[name]
		ok := true
		for _, f := range filters {
			if why := f(p, ni); len(why) > 0 {
				for _, r := range why {
					reasons[r]++
				}
				ok = false
				break
			}
		}
		if ok {
			fit = append(fit, name)
		}
	}
	return fit, reasons
}

// Unschedulable is the FailedScheduling message for a pod no node can take:
// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were not ready."
func Unschedulable(nodes int, reasons map[string]int) string {
	if nodes == 0 {
		return "0/0 nodes are available: no nodes registered."
	}
	parts := make([]string, 0, len(reasons))
	for r, n := range reasons {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", nodes, strings.Join(parts, ", "))
}

func nodeUnschedulable(p *corev1.Pod, ni *NodeInfo) []string {
	if ni.Node.Spec.Unschedulable && !tolerates(p.Spec.Tolerations, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}) {
		return []string{"node(s) were unschedulable"}
	}
	return nil
}

func nodeReady(p *corev1.Pod, ni *NodeInfo) []string {
	for _, c := range ni.Node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return nil
			}
			break
		}
	}
	return []string{"node(s) were not ready"}
}

func nodeAffinity(p *corev1.Pod, ni *NodeInfo) []string {
	nodeLabels := labels.Set(ni.Node.Labels)
	if len(p.Spec.NodeSelector) > 0 && !labels.SelectorFromSet(p.Spec.NodeSelector).Matches(nodeLabels) {
		return []string{"node(s) didn't match Pod's node affinity/selector"}
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatches(term, ni.Node) {
			return nil // terms are ORed
		}
	}
	return []string{"node(s) didn't match Pod's node affinity/selector"}
}

// termMatches says whether a node selector term (its expressions ANDed) matches a node.
func termMatches(term corev1.NodeSelectorTerm, n *corev1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, e := range term.MatchExpressions {
		if !requirementMatches(e, n.Labels[e.Key], hasKey(n.Labels, e.Key)) {
			return false
		}
	}
	for _, e := range term.MatchFields {
		if e.Key != metav1.ObjectNameField || !requirementMatches(e, n.Name, true) {
			return false
		}
	}
	return true
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func requirementMatches(e corev1.NodeSelectorRequirement, value string, present bool) bool {
	switch e.Operator {
	case corev1.NodeSelectorOpIn:
		return present && contains(e.Values, value)
	case corev1.NodeSelectorOpNotIn:
		return !present || !contains(e.Values, value)
	case corev1.NodeSelectorOpExists:
		return present
	case corev1.NodeSelectorOpDoesNotExist:
		return !present
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !present || len(e.Values) != 1 {
			return false
		}
		v, err1 := resource.ParseQuantity(value)
		w, err2 := resource.ParseQuantity(e.Values[0])
		if err1 != nil || err2 != nil {
			return false
		}
		if e.Operator == corev1.NodeSelectorOpGt {
			return v.Cmp(w) > 0
		}
		return v.Cmp(w) < 0
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func taints(p *corev1.Pod, ni *NodeInfo) []string {
	for _, t := range ni.Node.Spec.Taints {
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerates(p.Spec.Tolerations, t) {
			return []string{fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value)}
		}
	}
	return nil
}

// tolerates says whether some toleration tolerates the taint.
func tolerates(tols []corev1.Toleration, t corev1.Taint) bool {
	for i := range tols {
		if tols[i].ToleratesTaint(&t) {
			return true
		}
	}
	return false
}

func fits(p *corev1.Pod, ni *NodeInfo) []string {
	var why []string
	alloc := ni.Node.Status.Allocatable
	if max, ok := alloc[corev1.ResourcePods]; ok && int64(len(ni.Pods))+1 > max.Value() {
		why = append(why, "Too many pods")
	}
	for name, want := range PodRequests(p) {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage {
			continue
		}
		free := alloc[name].DeepCopy()
		used := ni.Requested[name]
		free.Sub(used)
		if want.Cmp(free) > 0 {
			why = append(why, "Insufficient "+string(name))
		}
	}
	sort.Strings(why)
	return why
}

func hostPortsFree(p *corev1.Pod, ni *NodeInfo) []string {
	for _, port := range hostPorts(p) {
		if ni.HostPorts[port] || ni.HostPorts[anyIP(port)] {
			return []string{"node(s) didn't have free ports for the requested pod ports"}
		}
	}
	return nil
}

// anyIP turns "proto/ip/port" into "proto/0.0.0.0/port", which conflicts with every IP.
func anyIP(port string) string {
	parts := strings.SplitN(port, "/", 3)
	if len(parts) != 3 {
		return port
	}
	return parts[0] + "/0.0.0.0/" + parts[2]
}

// antiAffinity enforces required pod anti-affinity on the hostname topology: no pod
// the terms select may already run on the node.
func antiAffinity(p *corev1.Pod, ni *NodeInfo) []string {
	a := p.Spec.Affinity
	if a == nil || a.PodAntiAffinity == nil {
		return nil
	}
	for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if term.TopologyKey != corev1.LabelHostname {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
		if err != nil {
			continue
		}
		for _, other := range ni.Pods {
			sameNS := len(term.Namespaces) == 0 && other.Namespace == p.Namespace || contains(term.Namespaces, other.Namespace)
			if sameNS && sel.Matches(labels.Set(other.Labels)) {
				return []string{"node(s) didn't match pod anti-affinity rules"}
			}
		}
	}
	return nil
}
