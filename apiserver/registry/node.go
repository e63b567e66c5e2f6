package registry

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Node role labels `kubectl get nodes` reads.
const (
	labelNodeRolePrefix = "node-role.kubernetes.io/"
	labelNodeRole       = "kubernetes.io/role"
	// podCIDRImmutableMsg is Kubernetes' message for a changed pod CIDR.
	podCIDRImmutableMsg = "node updates may not change podCIDR except from \"\" to valid"
)

// Nodes describes node (Node).
func Nodes() *Kind {
	return &Kind{
		GroupVersion:   CoreV1,
		Kind:           "Node",
		Resource:       "nodes",
		Singular:       "node",
		ShortNames:     []string{"no"},
		Categories:     nil,
		Namespaced:     false,
		HasStatus:      true,
		Generation:     false,
		New:            func() runtime.Object { return &corev1.Node{} },
		NewList:        func() runtime.Object { return &corev1.NodeList{} },
		Default:        defaultNode,
		Validate:       validateNode,
		ValidateUpdate: validateNodeUpdate,
		// A kubelet posts its node's status on create, so create keeps it.
		PrepareForCreate: nil,
		Fields:           nodeFields,
		Columns:          nodeColumns,
		Row:              rowFunc(len(nodeColumns)-1, nodeRow),
	}
}

// defaultNode keeps spec.podCIDR and spec.podCIDRs in step, as the v1
// conversion does.
func defaultNode(obj runtime.Object) {
	n, ok := as[corev1.Node](obj)
	if !ok {
		return
	}
	if n.Spec.PodCIDR != "" && len(n.Spec.PodCIDRs) == 0 {
		n.Spec.PodCIDRs = []string{n.Spec.PodCIDR}
	}
	if n.Spec.PodCIDR == "" && len(n.Spec.PodCIDRs) > 0 {
		n.Spec.PodCIDR = n.Spec.PodCIDRs[0]
	}
}

// validateNode checks taints, pod CIDRs (one per IP family) and the status
// quantities.
func validateNode(obj runtime.Object) field.ErrorList {
	n, ok := as[corev1.Node](obj)
	if !ok {
		return wrongType(obj, "*v1.Node")
	}
	p := field.NewPath("spec")
	errs := validateNodeTaints(n.Spec.Taints, p.Child("taints"))
	if n.Spec.PodCIDR != "" && (len(n.Spec.PodCIDRs) == 0 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR) {
		errs = append(errs, validation.IsValidCIDRForLegacyField(p.Child("podCIDR"), n.Spec.PodCIDR, false, nil)...)
	}
	cidrsPath := p.Child("podCIDRs")
	families := map[bool]bool{}
	invalid := false
	for i, c := range n.Spec.PodCIDRs {
		if e := validation.IsValidCIDRForLegacyField(cidrsPath.Index(i), c, false, nil); len(e) > 0 {
			errs = append(errs, e...)
			invalid = true
			continue
		}
		if pre, err := netip.ParsePrefix(c); err == nil {
			families[pre.Addr().Is6()] = true
		}
	}
	if len(n.Spec.PodCIDRs) > 2 || (!invalid && len(n.Spec.PodCIDRs) == 2 && len(families) != 2) {
		errs = append(errs, field.Invalid(cidrsPath, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	sp := field.NewPath("status")
	errs = append(errs, validateNodeResources(n.Status.Capacity, sp.Child("capacity"))...)
	errs = append(errs, validateNodeResources(n.Status.Allocatable, sp.Child("allocatable"))...)
	return errs
}

// validateNodeTaints checks taints: qualified keys, label-like values, a
// known effect, unique by key and effect.
func validateNodeTaints(taints []corev1.Taint, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.TaintEffect]map[string]bool{}
	for i, t := range taints {
		tp := p.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, tp.Child("key"))...)
		if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(tp.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		errs = append(errs, validateTaintEffect(t.Effect, tp.Child("effect"))...)
		if seen[t.Effect][t.Key] {
			dup := field.Duplicate(tp, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if seen[t.Effect] == nil {
			seen[t.Effect] = map[string]bool{}
		}
		seen[t.Effect][t.Key] = true
	}
	return errs
}

// validateNodeResources requires non-negative capacity and allocatable quantities.
func validateNodeResources(l corev1.ResourceList, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, name := range sortedResourceNames(l) {
		q := l[name]
		errs = append(errs, validateQualifiedName(string(name), p.Key(string(name)))...)
		if q.Cmp(resource.Quantity{}) < 0 {
			errs = append(errs, field.Invalid(p.Key(string(name)), q.String(), "must be greater than or equal to 0"))
		}
	}
	return errs
}

// validateNodeUpdate lets podCIDRs and providerID be set once, not changed.
func validateNodeUpdate(obj, old runtime.Object) field.ErrorList {
	n, ok1 := as[corev1.Node](obj)
	o, ok2 := as[corev1.Node](old)
	if !ok1 || !ok2 {
		return wrongType(obj, "*v1.Node")
	}
	var errs field.ErrorList
	if len(o.Spec.PodCIDRs) > 0 {
		changed := len(o.Spec.PodCIDRs) != len(n.Spec.PodCIDRs)
		for i := 0; !changed && i < len(o.Spec.PodCIDRs); i++ {
			changed = o.Spec.PodCIDRs[i] != n.Spec.PodCIDRs[i]
		}
		if changed {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), podCIDRImmutableMsg))
		}
	}
	if o.Spec.ProviderID != "" && o.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

// nodeFields adds spec.unschedulable to the selectable fields.
func nodeFields(obj runtime.Object) fields.Set {
	n, ok := as[corev1.Node](obj)
	if !ok {
		return nil
	}
	return fields.Set{"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable)}
}

// nodeColumns are the columns of `kubectl get nodes`.
var nodeColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Status", Type: "string", Description: "The status of the node"},
	{Name: "Roles", Type: "string", Description: "The roles of the node"},
	ageColumn,
	{Name: "Version", Type: "string", Description: corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]},
	{Name: "Internal-IP", Type: "string", Priority: 1, Description: corev1.NodeStatus{}.SwaggerDoc()["addresses"]},
	{Name: "External-IP", Type: "string", Priority: 1, Description: corev1.NodeStatus{}.SwaggerDoc()["addresses"]},
	{Name: "OS-Image", Type: "string", Priority: 1, Description: corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"]},
	{Name: "Kernel-Version", Type: "string", Priority: 1, Description: corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"]},
	{Name: "Container-Runtime", Type: "string", Priority: 1, Description: corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"]},
}

// nodeRow renders Ready/NotReady/Unknown (plus SchedulingDisabled), roles,
// age, kubelet version, addresses and system info.
func nodeRow(n *corev1.Node, now time.Time) []interface{} {
	var status []string
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				status = []string{string(c.Type)}
			} else {
				status = []string{"Not" + string(c.Type)}
			}
		}
	}
	if len(status) == 0 {
		status = []string{"Unknown"}
	}
	if n.Spec.Unschedulable {
		status = append(status, "SchedulingDisabled")
	}
	roles := strings.Join(nodeRoles(n), ",")
	if roles == "" {
		roles = "<none>"
	}
	info := n.Status.NodeInfo
	return []interface{}{
		strings.Join(status, ","), roles, translateTimestampSince(n.CreationTimestamp, now), info.KubeletVersion,
		nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP),
		orUnknown(info.OSImage), orUnknown(info.KernelVersion), orUnknown(info.ContainerRuntimeVersion),
	}
}

// nodeRoles returns the sorted roles from node-role.kubernetes.io/<role> and
// kubernetes.io/role labels.
func nodeRoles(n *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, labelNodeRolePrefix):
			if role := strings.TrimPrefix(k, labelNodeRolePrefix); role != "" {
				set[role] = true
			}
		case k == labelNodeRole && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

// nodeAddress returns the first address of type t, or "<none>".
func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

// orUnknown returns s, or "<unknown>" when it is empty.
func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
