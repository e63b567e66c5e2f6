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

// The filters below each say why a node cannot take a pod, in Kubernetes' words,
// or nothing when it can. They run once per pod and node, so they compare values
// precomputed in podInfo and NodeInfo and allocate only to explain a failure.

// The reasons of the filters, as kube-scheduler words them.
var (
	reasonUnschedulable = []string{"node(s) were unschedulable"}
	reasonNotReady      = []string{"node(s) were not ready"}
	reasonAffinity      = []string{"node(s) didn't match Pod's node affinity/selector"}
	reasonPorts         = []string{"node(s) didn't have free ports for the requested pod ports"}
	reasonAntiAffinity  = []string{"node(s) didn't match pod anti-affinity rules"}
)

// Filter returns the nodes that can take the pod, and for each reason the others
// cannot, how many nodes it stopped.
func Filter(p *corev1.Pod, s *Snapshot) (fit []string, reasons map[string]int) {
	pi := newPodInfo(p)
	reasons = map[string]int{}
	for _, ni := range s.list() {
		if why := runFilters(pi, ni); len(why) > 0 {
			for _, r := range why {
				reasons[r]++
			}
			continue
		}
		fit = append(fit, ni.Node.Name)
	}
	return fit, reasons
}

// runFilters returns the reasons of the first filter that stops the node; they
// run in this order, called directly so that the small ones are inlined.
func runFilters(pi *podInfo, ni *NodeInfo) []string {
	if why := nodeUnschedulable(pi, ni); why != nil {
		return why
	}
	if why := nodeReady(pi, ni); why != nil {
		return why
	}
	if why := nodeAffinity(pi, ni); why != nil {
		return why
	}
	if why := taints(pi, ni); why != nil {
		return why
	}
	if why := fits(pi, ni); why != nil {
		return why
	}
	if why := hostPortsFree(pi, ni); why != nil {
		return why
	}
	return antiAffinity(pi, ni)
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

func nodeUnschedulable(pi *podInfo, ni *NodeInfo) []string {
	if ni.unschedulable && !tolerates(pi.pod.Spec.Tolerations, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}) {
		return reasonUnschedulable
	}
	return nil
}

func nodeReady(_ *podInfo, ni *NodeInfo) []string {
	if !ni.ready {
		return reasonNotReady
	}
	return nil
}

func nodeAffinity(pi *podInfo, ni *NodeInfo) []string {
	if !pi.nodeAffinity {
		return nil
	}
	for k, v := range pi.pod.Spec.NodeSelector {
		if got, ok := ni.Node.Labels[k]; !ok || got != v {
			return reasonAffinity
		}
	}
	a := pi.pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatches(term, ni.Node) {
			return nil // terms are ORed
		}
	}
	return reasonAffinity
}

// termMatches says whether a node selector term (its expressions ANDed) matches a node.
func termMatches(term corev1.NodeSelectorTerm, n *corev1.Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, e := range term.MatchExpressions {
		v, ok := n.Labels[e.Key]
		if !requirementMatches(e, v, ok) {
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

func taints(pi *podInfo, ni *NodeInfo) []string {
	for _, t := range ni.taints {
		if !tolerates(pi.pod.Spec.Tolerations, t) {
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

// Bits of the fit failures, in the sorted order of their reasons.
const (
	lackCPU = 1 << iota
	lackEphemeral
	lackMemory
	lackPods
)

// fitReasons holds, for each set of fit failures, its reasons in sorted order, so
// that a failing node costs no allocation.
var fitReasons = func() [16][]string {
	words := []string{"Insufficient cpu", "Insufficient ephemeral-storage", "Insufficient memory", "Too many pods"}
	var out [16][]string
	for bits := 1; bits < 16; bits++ {
		for i, w := range words {
			if bits&(1<<i) != 0 {
				out[bits] = append(out[bits], w)
			}
		}
	}
	return out
}()

// fits compares the pod's requests with what the node has left of the resources
// the pod asks for, and the number of pods.
func fits(pi *podInfo, ni *NodeInfo) []string {
	free, want, bits := ni.Allocatable, pi.req, 0
	free.sub(ni.Requested)
	if free.Pods < 1 {
		bits |= lackPods
	}
	if want.MilliCPU > 0 && want.MilliCPU > free.MilliCPU {
		bits |= lackCPU
	}
	if want.Memory > 0 && want.Memory > free.Memory {
		bits |= lackMemory
	}
	if want.EphemeralStorage > 0 && want.EphemeralStorage > free.EphemeralStorage {
		bits |= lackEphemeral
	}
	return fitReasons[bits]
}

func hostPortsFree(pi *podInfo, ni *NodeInfo) []string {
	for _, hp := range pi.ports {
		if !ni.portFree(hp) {
			return reasonPorts
		}
	}
	return nil
}

// antiAffinity enforces required pod anti-affinity on the hostname topology: no pod
// the terms select may already run on the node.
func antiAffinity(pi *podInfo, ni *NodeInfo) []string {
	for _, term := range pi.antiAffinity {
		for _, other := range ni.Pods {
			sameNS := len(term.namespaces) == 0 && other.Namespace == pi.pod.Namespace || contains(term.namespaces, other.Namespace)
			if sameNS && term.selector.Matches(labels.Set(other.Labels)) {
				return reasonAntiAffinity
			}
		}
	}
	return nil
}
