package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// podQOSClass computes a pod's QoS class as Kubernetes does: BestEffort when
// no container asks for cpu or memory, Guaranteed when every container limits
// both and requests equal limits, Burstable otherwise. Pod-level resources,
// when set, decide alone. Requests missing from a container default to its
// limits, as they do for a defaulted Pod.
func podQOSClass(spec *corev1.PodSpec) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	if spec.Resources != nil && (len(spec.Resources.Requests) > 0 || len(spec.Resources.Limits) > 0) {
		addQOSResources(requests, effectiveRequests(spec.Resources))
		found := addQOSResources(limits, spec.Resources.Limits)
		guaranteed = found[corev1.ResourceCPU] && found[corev1.ResourceMemory]
	} else {
		for _, cs := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
			for i := range cs {
				addQOSResources(requests, effectiveRequests(&cs[i].Resources))
				found := addQOSResources(limits, cs[i].Resources.Limits)
				if !found[corev1.ResourceCPU] || !found[corev1.ResourceMemory] {
					guaranteed = false
				}
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// effectiveRequests returns requests with missing entries taken from limits.
func effectiveRequests(r *corev1.ResourceRequirements) corev1.ResourceList {
	out := corev1.ResourceList{}
	for n, q := range r.Limits {
		out[n] = q
	}
	for n, q := range r.Requests {
		out[n] = q
	}
	return out
}

// addQOSResources adds the positive cpu and memory quantities of in to sum and
// returns which of them it found.
func addQOSResources(sum, in corev1.ResourceList) map[corev1.ResourceName]bool {
	found := map[corev1.ResourceName]bool{}
	for name, q := range in {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
			continue
		}
		if q.Cmp(resource.Quantity{}) <= 0 {
			continue
		}
		found[name] = true
		total := q.DeepCopy()
		if prev, ok := sum[name]; ok {
			total.Add(prev)
		}
		sum[name] = total
	}
	return found
}
