package kubeproxy

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Endpoint is one address and port a Service port can send traffic to.
type Endpoint struct {
	Addr netip.AddrPort
	// Local is whether the endpoint runs on this node (its nodeName in the
	// EndpointSlice is the node's name).
	Local bool
	// Ready, Serving and Terminating are the EndpointSlice conditions,
	// with kube-proxy's defaults for unset ones (ready; serving = ready;
	// not terminating).
	Ready, Serving, Terminating bool
}

// endpointsFor returns the endpoints of svc's port sp found in slices:
// IPv4 slices of the same namespace labelled with svc's name, ports
// matched by name and protocol. Duplicates (one address in several
// slices) count once; the result is sorted by address and port.
func endpointsFor(svc *corev1.Service, sp *corev1.ServicePort, node string, sliceList []*discoveryv1.EndpointSlice) []Endpoint {
	seen := map[netip.AddrPort]bool{}
	var out []Endpoint
	for _, s := range sliceList {
		if s.Namespace != svc.Namespace || s.Labels[discoveryv1.LabelServiceName] != svc.Name ||
			s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		port, ok := slicePort(s, sp)
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			if len(e.Addresses) == 0 {
				continue
			}
			addr, err := netip.ParseAddr(e.Addresses[0])
			if err != nil || !addr.Is4() {
				continue
			}
			ap := netip.AddrPortFrom(addr, port)
			if seen[ap] {
				continue
			}
			seen[ap] = true
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			serving := ready
			if e.Conditions.Serving != nil {
				serving = *e.Conditions.Serving
			}
			out = append(out, Endpoint{
				Addr:        ap,
				Local:       e.NodeName != nil && *e.NodeName == node,
				Ready:       ready,
				Serving:     serving,
				Terminating: e.Conditions.Terminating != nil && *e.Conditions.Terminating,
			})
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int { return a.Addr.Compare(b.Addr) })
	return out
}

// slicePort returns the port number s gives sp: the slice port of the same
// name and protocol.
func slicePort(s *discoveryv1.EndpointSlice, sp *corev1.ServicePort) (uint16, bool) {
	for _, p := range s.Ports {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if name != sp.Name || proto != protocolOf(sp) || p.Port == nil {
			continue
		}
		if *p.Port <= 0 || *p.Port > 65535 {
			return 0, false
		}
		return uint16(*p.Port), true
	}
	return 0, false
}

// usable picks the endpoints new connections go to, as kube-proxy does:
// the ready ones; if there are none, the ones still serving while
// terminating (so that a rolling update with no ready pod left does not
// drop traffic). With localOnly, only local endpoints count.
func usable(eps []Endpoint, localOnly bool) []Endpoint {
	var ready, terminating []Endpoint
	for _, e := range eps {
		if localOnly && !e.Local {
			continue
		}
		switch {
		case e.Ready && !e.Terminating:
			ready = append(ready, e)
		case e.Serving && e.Terminating:
			terminating = append(terminating, e)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return terminating
}

// protocolOf is sp's protocol, TCP when unset.
func protocolOf(sp *corev1.ServicePort) corev1.Protocol {
	if sp.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return sp.Protocol
}
