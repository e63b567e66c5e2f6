package scheduler

import (
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Resources are the amounts the fit filter compares, as plain integers so that the
// hot path does no Quantity arithmetic: milli-cpu, bytes of memory and of ephemeral
// storage, and a number of pods.
type Resources struct {
	MilliCPU, Memory, EphemeralStorage, Pods int64
}

// add adds o to r.
func (r *Resources) add(o Resources) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.Pods += o.Pods
}

// sub takes o from r.
func (r *Resources) sub(o Resources) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.Pods -= o.Pods
}

// Requests that kube-scheduler assumes, for scoring only, of a container that
// states none, so that pods without requests still spread over the nodes.
const (
	defaultMilliCPURequest = 100
	defaultMemoryRequest   = 200 * 1024 * 1024
)

// podInfo is what placement needs of a pod, computed once per scheduling attempt
// rather than once per node.
type podInfo struct {
	pod *corev1.Pod
	// req is what the pod asks for (Pods is 1); nonZero is the same with the
	// defaults above for containers that ask for no cpu or memory, for scoring.
	req, nonZero Resources
	ports        []hostPort
	owner        types.UID // the controller's UID; empty when the pod has none
	// nodeAffinity says whether the pod has a node selector or required node
	// affinity, which the filter has to check.
	nodeAffinity bool
	// antiAffinity is the required pod anti-affinity on the hostname topology.
	antiAffinity []antiAffinityTerm
}

// antiAffinityTerm is a required anti-affinity term with its selector parsed.
type antiAffinityTerm struct {
	selector   labels.Selector
	namespaces []string // empty: the pod's own namespace
}

// newPodInfo computes a pod's podInfo.
func newPodInfo(p *corev1.Pod) *podInfo {
	pi := &podInfo{pod: p, ports: hostPorts(p)}
	pi.req, pi.nonZero = podResources(p)
	a := p.Spec.Affinity
	pi.nodeAffinity = len(p.Spec.NodeSelector) > 0 ||
		a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil
	if o := metav1.GetControllerOf(p); o != nil {
		pi.owner = o.UID
	}
	if a != nil && a.PodAntiAffinity != nil {
		for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			if term.TopologyKey != corev1.LabelHostname {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
			if err != nil {
				continue // the API server validates selectors; an invalid one selects nothing
			}
			pi.antiAffinity = append(pi.antiAffinity, antiAffinityTerm{selector: sel, namespaces: term.Namespaces})
		}
	}
	return pi
}

// podResources sums a pod's requests into Resources: the containers' sum, or the
// largest init container's when that is more, plus the pod overhead. nonZero
// counts the scoring defaults for containers without a cpu or memory request.
func podResources(p *corev1.Pod) (req, nonZero Resources) {
	var initReq, initNonZero Resources
	for i := range p.Spec.Containers {
		r, nz := containerResources(&p.Spec.Containers[i])
		req.add(r)
		nonZero.add(nz)
	}
	for i := range p.Spec.InitContainers {
		r, nz := containerResources(&p.Spec.InitContainers[i])
		initReq = maxResources(initReq, r)
		initNonZero = maxResources(initNonZero, nz)
	}
	req, nonZero = maxResources(req, initReq), maxResources(nonZero, initNonZero)
	if p.Spec.Overhead != nil {
		o := resourcesOf(p.Spec.Overhead)
		req.add(o)
		nonZero.add(o)
	}
	req.Pods, nonZero.Pods = 1, 1
	return req, nonZero
}

// containerResources is one container's requests, and the same with the scoring
// defaults filled in.
func containerResources(c *corev1.Container) (req, nonZero Resources) {
	req = resourcesOf(c.Resources.Requests)
	nonZero = req
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		nonZero.MilliCPU = defaultMilliCPURequest
	}
	if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
		nonZero.Memory = defaultMemoryRequest
	}
	return req, nonZero
}

// maxResources is the larger of a and b, resource by resource.
func maxResources(a, b Resources) Resources {
	return Resources{
		MilliCPU: max(a.MilliCPU, b.MilliCPU), Memory: max(a.Memory, b.Memory),
		EphemeralStorage: max(a.EphemeralStorage, b.EphemeralStorage), Pods: max(a.Pods, b.Pods),
	}
}

// resourcesOf converts a resource list; Pods is left 0 when the list has no pods.
func resourcesOf(l corev1.ResourceList) Resources {
	var r Resources
	if q, ok := l[corev1.ResourceCPU]; ok {
		r.MilliCPU = q.MilliValue()
	}
	if q, ok := l[corev1.ResourceMemory]; ok {
		r.Memory = q.Value()
	}
	if q, ok := l[corev1.ResourceEphemeralStorage]; ok {
		r.EphemeralStorage = q.Value()
	}
	if q, ok := l[corev1.ResourcePods]; ok {
		r.Pods = q.Value()
	}
	return r
}

// allocatableOf is a node's allocatable as Resources. A node that states no pod
// count takes any number of pods.
func allocatableOf(n *corev1.Node) Resources {
	r := resourcesOf(n.Status.Allocatable)
	if _, ok := n.Status.Allocatable[corev1.ResourcePods]; !ok {
		r.Pods = math.MaxInt64
	}
	return r
}

// PodRequests is what a pod asks for: the sum of its containers' requests, or the
// largest init container's when that is more, as Kubernetes computes it.
func PodRequests(p *corev1.Pod) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		for name, q := range c.Resources.Requests {
			sum := out[name]
			sum.Add(q)
			out[name] = sum
		}
	}
	for _, c := range p.Spec.InitContainers {
		for name, q := range c.Resources.Requests {
			if cur, ok := out[name]; !ok || q.Cmp(cur) > 0 {
				out[name] = q.DeepCopy()
			}
		}
	}
	return out
}

// hostPort is a port a pod binds on its node.
type hostPort struct {
	protocol corev1.Protocol
	ip       string // "0.0.0.0" for every address
	port     int32
}

// anyIP is the host IP that stands for every address of the node.
const anyIP = "0.0.0.0"

// hostPorts lists the host ports a pod binds.
func hostPorts(p *corev1.Pod) []hostPort {
	var out []hostPort
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			hp := hostPort{protocol: port.Protocol, ip: port.HostIP, port: port.HostPort}
			if hp.protocol == "" {
				hp.protocol = corev1.ProtocolTCP
			}
			if hp.ip == "" || hp.ip == "::" {
				hp.ip = anyIP
			}
			out = append(out, hp)
		}
	}
	return out
}
