package podstatus

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// qosClass is the pod's QoS class as Kubernetes' GetPodQOS computes it for
// cpu and memory: BestEffort without any request or limit, Guaranteed when
// every container limits both and requests (defaulting to the limits) equal
// them, Burstable otherwise.
func qosClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	anySet, guaranteed := false, true
	for _, c := range all {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			limit, hasLimit := c.Resources.Limits[name]
			request, hasRequest := c.Resources.Requests[name]
			if hasLimit && !limit.IsZero() || hasRequest && !request.IsZero() {
				anySet = true
			}
			if !hasLimit || limit.IsZero() {
				guaranteed = false
				continue
			}
			if hasRequest && !equal(request, limit) {
				guaranteed = false
			}
		}
	}
	switch {
	case !anySet:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	default:
		return corev1.PodQOSBurstable
	}
}

func equal(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }
