package controllers

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// endpointGroup is the endpoints of a Service whose pods resolve its ports to the
// same numbers: they share slices.
type endpointGroup struct {
	ports     []discoveryv1.EndpointPort
	endpoints []discoveryv1.Endpoint
}

// desiredEndpoints turns the pods a Service selects into endpoints, grouped by
// their resolved ports (keyed by endpointPortsKey). A pod is an endpoint once it
// has an IPv4 address and until it has finished; pods being deleted stay, marked
// terminating. zoneOf gives a node's topology.kubernetes.io/zone label.
func desiredEndpoints(svc *corev1.Service, pods []*corev1.Pod, zoneOf func(node string) string) map[string]*endpointGroup {
	pods = append([]*corev1.Pod(nil), pods...)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	out := map[string]*endpointGroup{}
	for _, p := range pods {
		if podTerminal(p) {
			continue
		}
		ip := podIPv4(p)
		if ip == "" {
			continue
		}
		ports := endpointPorts(svc, p)
		key := endpointPortsKey(ports)
		g := out[key]
		if g == nil {
			g = &endpointGroup{ports: ports}
			out[key] = g
		}
		g.endpoints = append(g.endpoints, podEndpoint(svc, p, ip, zoneOf(p.Spec.NodeName)))
	}
	return out
}

// podIPv4 is the pod's IPv4 address, or "".
func podIPv4(p *corev1.Pod) string {
	ips := []string{p.Status.PodIP}
	for _, ip := range p.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
			return a.String()
		}
	}
	return ""
}

// podEndpoint is a pod's endpoint as kube-controller-manager writes it: serving
// when the pod is ready, ready when also not terminating (or always, with
// publishNotReadyAddresses), with its node, zone and a reference to it; the
// hostname when the pod's subdomain is the Service.
func podEndpoint(svc *corev1.Service, p *corev1.Pod, ip, zone string) discoveryv1.Endpoint {
	serving := podReady(p)
	terminating := p.DeletionTimestamp != nil
	ready := svc.Spec.PublishNotReadyAddresses || (serving && !terminating)
	ep := discoveryv1.Endpoint{
		Addresses:  []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
	}
	if p.Spec.NodeName != "" {
		node := p.Spec.NodeName
		ep.NodeName = &node
	}
	if zone != "" {
		ep.Zone = &zone
	}
	if p.Spec.Hostname != "" && p.Spec.Subdomain == svc.Name {
		host := p.Spec.Hostname
		ep.Hostname = &host
	}
	return ep
}

// endpointPorts resolves a Service's ports against a pod: a named targetPort is
// the pod's container port of that name and protocol; a port the pod does not
// have is left out, as in Kubernetes.
func endpointPorts(svc *corev1.Service, p *corev1.Pod) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		num, ok := findPodPort(p, sp)
		if !ok {
			continue
		}
		name, proto := sp.Name, sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, discoveryv1.EndpointPort{Name: &name, Protocol: &proto, Port: &num, AppProtocol: sp.AppProtocol})
	}
	return out
}

// findPodPort is the pod's port a Service port targets.
func findPodPort(p *corev1.Pod, sp *corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.Type == intstr.Int {
		if tp.IntVal == 0 {
			return sp.Port, true // targetPort defaults to port
		}
		return tp.IntVal, true
	}
	proto := sp.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	containers := append([]corev1.Container(nil), p.Spec.Containers...)
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			containers = append(containers, c) // sidecars serve too
		}
	}
	for _, c := range containers {
		for _, cp := range c.Ports {
			cpProto := cp.Protocol
			if cpProto == "" {
				cpProto = corev1.ProtocolTCP
			}
			if cp.Name == tp.StrVal && cpProto == proto {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// endpointPortsKey identifies a set of resolved ports, whatever their order.
func endpointPortsKey(ports []discoveryv1.EndpointPort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		name, proto, app := "", corev1.ProtocolTCP, ""
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if p.AppProtocol != nil {
			app = *p.AppProtocol
		}
		var num int32
		if p.Port != nil {
			num = *p.Port
		}
		parts[i] = fmt.Sprintf("%s/%s/%d/%s", name, proto, num, app)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// endpointKey identifies an endpoint across syncs: its pod and address.
func endpointKey(ep *discoveryv1.Endpoint) string {
	var ref string
	if ep.TargetRef != nil {
		ref = ep.TargetRef.Name
	}
	return ref + "/" + strings.Join(ep.Addresses, ",")
}
