package controllers

import (
	"encoding/json"
	"hash/fnv"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/rand"
)

// daemonShouldRun says whether a DaemonSet's pod belongs on a node (run), and
// whether one already there may stay (keep), as kube-controller-manager decides:
// the template's nodeName, nodeSelector and required node affinity must match the
// node, and its tolerations (with the ones every daemon pod gets) must tolerate the
// node's NoSchedule and NoExecute taints. A pod on a node with an untolerated
// NoSchedule taint only stays; with an untolerated NoExecute taint it goes.
func daemonShouldRun(node *corev1.Node, ds *appsv1.DaemonSet) (run, keep bool) {
	spec := &ds.Spec.Template.Spec
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return false, false
	}
	if !daemonNodeMatches(node, spec) {
		return false, false
	}
	tols := daemonTolerations(spec)
	untolerated := func(effects ...corev1.TaintEffect) bool {
		for i := range node.Spec.Taints {
			t := &node.Spec.Taints[i]
			matches := false
			for _, e := range effects {
				matches = matches || t.Effect == e
			}
			if matches && !daemonTolerated(tols, t) {
				return true
			}
		}
		return false
	}
	if untolerated(corev1.TaintEffectNoSchedule, corev1.TaintEffectNoExecute) {
		return false, !untolerated(corev1.TaintEffectNoExecute)
	}
	return true, true
}

// daemonTolerated says whether some toleration tolerates the taint.
func daemonTolerated(tols []corev1.Toleration, t *corev1.Taint) bool {
	for i := range tols {
		if tols[i].ToleratesTaint(t) {
			return true
		}
	}
	return false
}

// daemonNodeMatches says whether a node satisfies a pod's nodeSelector and required node
// affinity (terms ORed, the requirements of a term ANDed).
func daemonNodeMatches(node *corev1.Node, spec *corev1.PodSpec) bool {
	if len(spec.NodeSelector) > 0 && !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return false
	}
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if daemonTermMatches(node, term) {
			return true
		}
	}
	return false
}

// daemonTermMatches says whether a node satisfies every requirement of a node
// selector term; an empty term matches nothing, as in Kubernetes.
func daemonTermMatches(node *corev1.Node, term corev1.NodeSelectorTerm) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	ops := map[corev1.NodeSelectorOperator]selection.Operator{
		corev1.NodeSelectorOpIn: selection.In, corev1.NodeSelectorOpNotIn: selection.NotIn,
		corev1.NodeSelectorOpExists: selection.Exists, corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
		corev1.NodeSelectorOpGt: selection.GreaterThan, corev1.NodeSelectorOpLt: selection.LessThan,
	}
	for _, e := range term.MatchExpressions {
		op, ok := ops[e.Operator]
		if !ok {
			return false
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil || !r.Matches(labels.Set(node.Labels)) {
			return false
		}
	}
	for _, e := range term.MatchFields {
		if e.Key != metav1.ObjectNameField {
			return false
		}
		in := false
		for _, v := range e.Values {
			in = in || v == node.Name
		}
		switch {
		case e.Operator == corev1.NodeSelectorOpIn && !in, e.Operator == corev1.NodeSelectorOpNotIn && in:
			return false
		case e.Operator != corev1.NodeSelectorOpIn && e.Operator != corev1.NodeSelectorOpNotIn:
			return false
		}
	}
	return true
}

// daemonTolerations is the template's tolerations plus those every daemon pod
// gets, so that it stays on a node that is not ready, unreachable, under pressure
// or cordoned (and, with hostNetwork, whose network is unavailable).
func daemonTolerations(spec *corev1.PodSpec) []corev1.Toleration {
	out := append([]corev1.Toleration(nil), spec.Tolerations...)
	add := func(key string, effect corev1.TaintEffect) {
		t := corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
		for i := range out {
			if out[i].MatchToleration(&t) {
				return
			}
		}
		out = append(out, t)
	}
	add(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)
	if spec.HostNetwork {
		add(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)
	}
	return out
}

// daemonNodeAffinity pins a pod to a node the way kube-controller-manager does
// since 1.12: its required node affinity becomes the single term
// metadata.name In [node] (the node was checked against the template's own
// affinity), and the scheduler binds it there.
func daemonNodeAffinity(a *corev1.Affinity, node string) *corev1.Affinity {
	sel := &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchFields: []corev1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}
	if a == nil {
		a = &corev1.Affinity{}
	}
	if a.NodeAffinity == nil {
		a.NodeAffinity = &corev1.NodeAffinity{}
	}
	a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = sel
	return a
}

// daemonPodNode is the node a daemon pod is for: the one it is bound to, else the
// one its metadata.name affinity names; "" if neither.
func daemonPodNode(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range term.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// daemonSetHash is the controller-revision-hash of a DaemonSet's template: a pod
// labelled with it runs the current template. (Kubernetes hashes a
// ControllerRevision object; this API server has no ControllerRevision kind, so
// the hash is of the template itself and no revision history is kept.)
func daemonSetHash(ds *appsv1.DaemonSet) string {
	h := fnv.New32a()
	b, _ := json.Marshal(ds.Spec.Template) // a struct of plain data: cannot fail
	h.Write(b)
	if ds.Status.CollisionCount != nil {
		h.Write([]byte(strconv.Itoa(int(*ds.Status.CollisionCount))))
	}
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// daemonPodFor is the pod a DaemonSet creates for a node: its template with the
// daemon tolerations, pinned to the node, labelled with the template hash.
func daemonPodFor(ds *appsv1.DaemonSet, node, hash string) *corev1.Pod {
	tmpl := ds.Spec.Template.DeepCopy()
	tmpl.Spec.Tolerations = daemonTolerations(&tmpl.Spec)
	pod := podFromTemplate(tmpl, ds.Namespace, ds.Name+"-", controllerRef(ds, daemonSetKind))
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	pod.Spec.Affinity = daemonNodeAffinity(pod.Spec.Affinity, node)
	return pod
}
