package controllers

import (
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons and messages of the conditions the node lifecycle controller sets on a
// node whose kubelet went silent, as kube-controller-manager words them.
const (
	reasonNodeStatusUnknown      = "NodeStatusUnknown"
	messageNodeStatusUnknown     = "Kubelet stopped posting node status."
	reasonNodeStatusNeverUpdated = "NodeStatusNeverUpdated"
	messageNodeNeverUpdated      = "Kubelet never posted node status."
)

// silentConditionTypes are the conditions set Unknown when the kubelet goes silent.
var silentConditionTypes = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// lastHeartbeat is when the node's kubelet was last heard from: the later of its
// Lease's renewTime and its Ready condition's lastHeartbeatTime. A node that never
// posted either counts from its creation, so it gets a grace period too.
func lastHeartbeat(node *corev1.Node, lease *coordinationv1.Lease) time.Time {
	t := node.CreationTimestamp.Time
	if c := nodeCondition(node, corev1.NodeReady); c != nil && c.LastHeartbeatTime.After(t) {
		t = c.LastHeartbeatTime.Time
	}
	if lease != nil && lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(t) {
		t = lease.Spec.RenewTime.Time
	}
	return t
}

// markConditionsUnknown returns a copy of conds in which Ready, MemoryPressure,
// DiskPressure and PIDPressure are Unknown, as kube-controller-manager reports a
// node whose kubelet stopped posting status: a condition that was set gets reason
// NodeStatusUnknown, a missing one is added with NodeStatusNeverUpdated. changed is
// false when every one of them already was Unknown.
func markConditionsUnknown(conds []corev1.NodeCondition, created, now metav1.Time) (out []corev1.NodeCondition, changed bool) {
	out = slices.Clone(conds)
	for _, typ := range silentConditionTypes {
		i := slices.IndexFunc(out, func(c corev1.NodeCondition) bool { return c.Type == typ })
		if i < 0 {
			out = append(out, corev1.NodeCondition{
				Type: typ, Status: corev1.ConditionUnknown, Reason: reasonNodeStatusNeverUpdated,
				Message: messageNodeNeverUpdated, LastHeartbeatTime: created, LastTransitionTime: now,
			})
			changed = true
			continue
		}
		if out[i].Status != corev1.ConditionUnknown {
			out[i].Status, out[i].Reason, out[i].Message = corev1.ConditionUnknown, reasonNodeStatusUnknown, messageNodeStatusUnknown
			out[i].LastTransitionTime = now
			changed = true
		}
	}
	return out, changed
}

// nodeCondition returns the node's condition of a type, or nil.
func nodeCondition(node *corev1.Node, typ corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == typ {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// readyStatus is the status of the node's Ready condition, "" if it has none.
func readyStatus(node *corev1.Node) corev1.ConditionStatus {
	if c := nodeCondition(node, corev1.NodeReady); c != nil {
		return c.Status
	}
	return ""
}

// conditionTaints maps a node condition and status to the NoSchedule taint it
// brings, as kube-controller-manager's TaintNodesByCondition does.
var conditionTaints = []struct {
	typ    corev1.NodeConditionType
	status corev1.ConditionStatus
	key    string
}{
	{corev1.NodeReady, corev1.ConditionFalse, corev1.TaintNodeNotReady},
	{corev1.NodeReady, corev1.ConditionUnknown, corev1.TaintNodeUnreachable},
	{corev1.NodeMemoryPressure, corev1.ConditionTrue, corev1.TaintNodeMemoryPressure},
	{corev1.NodeDiskPressure, corev1.ConditionTrue, corev1.TaintNodeDiskPressure},
	{corev1.NodePIDPressure, corev1.ConditionTrue, corev1.TaintNodePIDPressure},
	{corev1.NodeNetworkUnavailable, corev1.ConditionTrue, corev1.TaintNodeNetworkUnavailable},
}

// managedTaint says whether the node lifecycle controller owns a taint: it adds
// and removes these, and leaves every other taint alone.
func managedTaint(t corev1.Taint) bool {
	switch t.Key {
	case corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable:
		return t.Effect == corev1.TaintEffectNoExecute || t.Effect == corev1.TaintEffectNoSchedule
	case corev1.TaintNodeMemoryPressure, corev1.TaintNodeDiskPressure, corev1.TaintNodePIDPressure,
		corev1.TaintNodeNetworkUnavailable, corev1.TaintNodeUnschedulable:
		return t.Effect == corev1.TaintEffectNoSchedule
	}
	return false
}

// healthTaints are the managed taints the node should carry: NoSchedule for each
// unhealthy condition and for spec.unschedulable, and NoExecute not-ready
// (Ready=False) or unreachable (Ready=Unknown), so that pods that do not tolerate
// them are evicted. A node that has not reported a condition gets no taint for it
// (until the grace period marks it Unknown).
func healthTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, ct := range conditionTaints {
		if c := nodeCondition(node, ct.typ); c != nil && c.Status == ct.status {
			out = append(out, corev1.Taint{Key: ct.key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		out = append(out, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	ready := nodeCondition(node, corev1.NodeReady)
	switch {
	case ready == nil:
	case ready.Status == corev1.ConditionFalse:
		out = append(out, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute})
	case ready.Status == corev1.ConditionUnknown:
		out = append(out, corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute})
	}
	return out
}

// reconcileTaints returns the node's taints with the managed ones replaced by
// want: taints not managed keep their place, a wanted taint already present keeps
// its timeAdded, and a new NoExecute taint gets timeAdded now. changed says whether
// the result differs from current.
func reconcileTaints(current, want []corev1.Taint, now metav1.Time) (out []corev1.Taint, changed bool) {
	has := func(list []corev1.Taint, t corev1.Taint) bool {
		return slices.ContainsFunc(list, func(x corev1.Taint) bool { return x.Key == t.Key && x.Effect == t.Effect })
	}
	for _, t := range current {
		if managedTaint(t) && !has(want, t) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	for _, t := range want {
		if has(out, t) {
			continue
		}
		if t.Effect == corev1.TaintEffectNoExecute {
			at := now
			t.TimeAdded = &at
		}
		out = append(out, t)
		changed = true
	}
	return out, changed
}
