package registry

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Priorities of the built-in priority classes, and of a pod without one.
const (
	systemClusterCritical = int32(2000000000)
	systemNodeCritical    = int32(2000001000)
	// defaultTolerationSeconds is how long a pod stays bound to a not-ready or
	// unreachable node, as the DefaultTolerationSeconds admission plugin sets it.
	defaultTolerationSeconds = int64(300)
)

// Pods describes pod (Pod).
func Pods() *Kind {
	return &Kind{
		GroupVersion:     CoreV1,
		Kind:             "Pod",
		Resource:         "pods",
		Singular:         "pod",
		ShortNames:       []string{"po"},
		Categories:       []string{"all"},
		Namespaced:       true,
		HasStatus:        true,
		Generation:       true,
		New:              func() runtime.Object { return &corev1.Pod{} },
		NewList:          func() runtime.Object { return &corev1.PodList{} },
		Default:          defaultPod,
		Validate:         validatePod,
		ValidateUpdate:   validatePodUpdate,
		PrepareForCreate: preparePodForCreate,
		Fields:           podFields,
		Columns:          podColumns,
		Row:              rowFunc(len(podColumns)-1, podRow),
	}
}

// defaultPod applies the PodSpec defaults, the defaults Kubernetes gives only
// Pods (enableServiceLinks, requests copied from limits, host ports under
// hostNetwork) and what its admission plugins add on create: the "default"
// ServiceAccount, priority 0 (or a system class's value), and 300s
// tolerations of not-ready and unreachable nodes.
func defaultPod(obj runtime.Object) {
	pod, ok := as[corev1.Pod](obj)
	if !ok {
		return
	}
	spec := &pod.Spec
	DefaultPodSpec(spec)
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			defaultRequestsFromLimits(&cs[i].Resources)
			if spec.HostNetwork {
				for j := range cs[i].Ports {
					if cs[i].Ports[j].HostPort == 0 {
						cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
					}
				}
			}
		}
	}
	if spec.EnableServiceLinks == nil {
		spec.EnableServiceLinks = ptrTo(corev1.DefaultEnableServiceLinks)
	}
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = "default"
		spec.DeprecatedServiceAccount = "default"
	}
	if spec.Priority == nil {
		switch spec.PriorityClassName {
		case "":
			spec.Priority = ptrTo(int32(0))
		case "system-cluster-critical":
			spec.Priority = ptrTo(systemClusterCritical)
		case "system-node-critical":
			spec.Priority = ptrTo(systemNodeCritical)
		}
	}
	if spec.Priority != nil && spec.PreemptionPolicy == nil {
		spec.PreemptionPolicy = ptrTo(corev1.PreemptLowerPriority)
	}
	addDefaultTolerations(spec)
}

// defaultRequestsFromLimits sets each request that is missing to its limit.
func defaultRequestsFromLimits(r *corev1.ResourceRequirements) {
	if r.Limits == nil {
		return
	}
	if r.Requests == nil {
		r.Requests = corev1.ResourceList{}
	}
	for name, q := range r.Limits {
		if _, ok := r.Requests[name]; !ok {
			r.Requests[name] = q.DeepCopy()
		}
	}
}

// addDefaultTolerations tolerates the not-ready and unreachable NoExecute
// taints for 300s, unless the pod already tolerates them.
func addDefaultTolerations(spec *corev1.PodSpec) {
	notReady, unreachable := false, false
	for _, t := range spec.Tolerations {
		if t.Effect != corev1.TaintEffectNoExecute && t.Effect != "" {
			continue
		}
		notReady = notReady || t.Key == corev1.TaintNodeNotReady || t.Key == ""
		unreachable = unreachable || t.Key == corev1.TaintNodeUnreachable || t.Key == ""
	}
	for _, add := range []struct {
		key  string
		done bool
	}{{corev1.TaintNodeNotReady, notReady}, {corev1.TaintNodeUnreachable, unreachable}} {
		if !add.done {
			spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
				Key: add.key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute,
				TolerationSeconds: ptrTo(defaultTolerationSeconds),
			})
		}
	}
}

// validatePod checks a pod's spec.
func validatePod(obj runtime.Object) field.ErrorList {
	pod, ok := as[corev1.Pod](obj)
	if !ok {
		return wrongType(obj, "*v1.Pod")
	}
	return ValidatePodSpec(&pod.Spec, field.NewPath("spec"))
}

// preparePodForCreate resets status to Pending with the pod's QoS class, and
// marks a pod with scheduling gates as not schedulable yet.
func preparePodForCreate(obj runtime.Object) {
	pod, ok := as[corev1.Pod](obj)
	if !ok {
		return
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: podQOSClass(&pod.Spec)}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}
	}
}

// podFields are the fields of a pod a field selector can match.
func podFields(obj runtime.Object) fields.Set {
	pod, ok := as[corev1.Pod](obj)
	if !ok {
		return nil
	}
	podIP := pod.Status.PodIP
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	return fields.Set{
		"spec.nodeName":            pod.Spec.NodeName,
		"spec.restartPolicy":       string(pod.Spec.RestartPolicy),
		"spec.schedulerName":       pod.Spec.SchedulerName,
		"spec.serviceAccountName":  pod.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(pod.Spec.HostNetwork),
		"status.phase":             string(pod.Status.Phase),
		"status.podIP":             podIP,
		"status.nominatedNodeName": pod.Status.NominatedNodeName,
	}
}
