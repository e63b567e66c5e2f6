package kubeproxy

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Node is what the rule set needs to know about the node it is for.
type Node struct {
	// Name is the node's name: endpoints whose nodeName is Name are local.
	Name string
	// ClusterCIDR is the pod network. Traffic to a ClusterIP from outside
	// it is masqueraded; an invalid (zero) prefix disables that rule.
	ClusterCIDR netip.Prefix
}

// Input is everything the rule set is a function of.
type Input struct {
	Services []*corev1.Service
	Slices   []*discoveryv1.EndpointSlice
	Node     Node
}

// ServicePort is the rule set's view of one port of a Service.
type ServicePort struct {
	// Name is namespace/name:port (the port's name, empty for an unnamed
	// port) followed by /protocol.
	Name            string
	Protocol        corev1.Protocol
	ClusterIP       netip.Addr
	Port            uint16
	NodePort        uint16 // 0 when none
	LoadBalancerIPs []netip.Addr
	// Endpoints are those that new connections to the ClusterIP go to
	// (see usable); LocalEndpoints those of externalTrafficPolicy Local.
	Endpoints, LocalEndpoints []Endpoint
}

// RuleSet is the content of berth's chains: for each table ("nat",
// "filter"), each chain's rules as iptables-restore "-A" lines. Every
// chain berth uses is present, empty or not.
type RuleSet struct {
	Tables map[string]map[string][]string
	// Ports are the Service ports the rules were built for, by Name.
	Ports map[string]*ServicePort
}

// Build returns the rule set of in. It is a pure function: the same input
// gives the same rules, line for line.
//
// Per Service port with a ClusterIP it writes, as kube-proxy's iptables
// mode does: a jump from BERTH-SERVICES on ClusterIP:port to the port's
// BERTH-SVC- chain, which masquerades clients outside the cluster CIDR
// and picks an endpoint with `-m statistic --mode random` (probability
// 1/n, 1/(n-1), ... so each is equally likely), after the `-m recent`
// checks of sessionAffinity ClientIP. NodePorts (on every local address,
// `-m addrtype --dst-type LOCAL`) and LoadBalancer ingress IPs jump to the
// BERTH-EXT- chain, which masquerades and goes to BERTH-SVC-, or for
// externalTrafficPolicy Local keeps the client address and goes to the
// local endpoints in BERTH-SVL-. A port without endpoints gets REJECT
// rules in the filter table instead (DROP for external traffic of a
// Local port with endpoints elsewhere only).
//
// Unlike kube-proxy there is no chain per endpoint; the DNAT rules sit in
// the Service's chain. kube-proxy's endpoint chain marks a client that is
// the endpoint itself (hairpin) for masquerade before the DNAT; here each
// endpoint but the last has three rules:
//
//	-s EP -m statistic --probability P -j MARK --or-mark 0x6000   # hairpin client, EP chosen
//	-s EP -m mark --mark 0x2000/0x2000 -j DNAT --to-destination EP
//	! -s EP -m statistic --probability P -j DNAT --to-destination EP
//
// so a client that is EP draws once (in the first rule) and every other
// client draws once (in the third), with the same probability as
// kube-proxy; BERTH-SERVICES clears the 0x2000 bit first.
func Build(in Input) *RuleSet {
	return (&Builder{}).Build(in)
}

// build is Build, reusing the rules of cached Services.
func build(in Input, cache map[string]*fragment) (*RuleSet, map[string]*fragment) {
	b := &builder{
		rs: &RuleSet{
			Tables: map[string]map[string][]string{"nat": {}, "filter": {}},
			Ports:  map[string]*ServicePort{},
		},
		node: in.Node,
	}
	b.base()
	svcs := slices.Clone(in.Services)
	slices.SortFunc(svcs, func(a, b *corev1.Service) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	// The slices of each Service, by namespace/name.
	type nsName struct{ ns, name string }
	bySvc := map[nsName][]*discoveryv1.EndpointSlice{}
	for _, s := range in.Slices {
		if name, ok := s.Labels[discoveryv1.LabelServiceName]; ok {
			k := nsName{s.Namespace, name}
			bySvc[k] = append(bySvc[k], s)
		}
	}
	next := make(map[string]*fragment, len(svcs))
	for _, svc := range svcs {
		sl := bySvc[nsName{svc.Namespace, svc.Name}]
		id := svc.Namespace + "/" + svc.Name
		key := fragmentKey(svc, sl)
		f := cache[id]
		if f == nil || key == "" || f.key != key {
			f = &fragment{key: key}
			b.frag = f
			b.service(svc, sl)
			b.frag = nil
		}
		b.replay(f)
		if key != "" {
			next[id] = f
		}
	}
	b.nat(chainServices, "-m addrtype --dst-type LOCAL -j "+chainNodePorts)
	return b.rs, next
}

// builder accumulates a RuleSet.
type builder struct {
	rs   *RuleSet
	node Node
	// frag, when set, records the rules of the Service being built
	// instead of adding them to rs.
	frag *fragment
}

// nat appends a rule to a nat chain, creating the chain.
func (b *builder) nat(chain, rule string) { b.add("nat", chain, rule) }

// filter appends a rule to a filter chain, creating the chain.
func (b *builder) filter(chain, rule string) { b.add("filter", chain, rule) }

// add appends a rule to a chain, or with an empty rule only creates the
// chain.
func (b *builder) add(table, chain, rule string) {
	if rule != "" {
		rule = "-A " + chain + " " + rule
	}
	if b.frag != nil {
		b.frag.rules = append(b.frag.rules, fragmentRule{table, chain, rule})
		return
	}
	b.addLine(table, chain, rule)
}

// addLine appends a whole "-A" line (or, empty, creates the chain).
func (b *builder) addLine(table, chain, line string) {
	t := b.rs.Tables[table]
	if line == "" {
		if _, ok := t[chain]; !ok {
			t[chain] = nil
		}
		return
	}
	t[chain] = append(t[chain], line)
}

// base writes the chains that exist whatever the Services.
func (b *builder) base() {
	b.nat(chainServices, "-j MARK --and-mark "+clearHairpin)
	b.nat(chainNodePorts, "")
	b.nat(chainMarkMasq, "-j MARK --or-mark "+masqMark)
	b.nat(chainPostrouting, "-m mark ! --mark "+masqMark+"/"+masqMark+" -j RETURN")
	b.nat(chainPostrouting, "-j MARK --xor-mark "+masqMark)
	b.nat(chainPostrouting, "-j MASQUERADE --random-fully")
	b.filter(chainServices, "")
	b.filter(chainExternalServices, "")
	b.filter(chainForward, "-m mark --mark "+masqMark+"/"+masqMark+" -j ACCEPT")
	b.filter(chainForward, "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
}

// service writes the rules of every port of svc.
func (b *builder) service(svc *corev1.Service, sliceList []*discoveryv1.EndpointSlice) {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return
	}
	clusterIP, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil || !clusterIP.Is4() {
		return // headless ("None"), unallocated or IPv6: nothing to proxy
	}
	var lbIPs []netip.Addr
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(ing.IP); err == nil && a.Is4() && !slices.Contains(lbIPs, a) {
				lbIPs = append(lbIPs, a)
			}
		}
	}
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		if sp.Port <= 0 || sp.Port > 65535 {
			continue
		}
		p := &ServicePort{
			Name:            fmt.Sprintf("%s/%s:%s/%s", svc.Namespace, svc.Name, sp.Name, strings.ToLower(string(protocolOf(sp)))),
			Protocol:        protocolOf(sp),
			ClusterIP:       clusterIP,
			Port:            uint16(sp.Port),
			LoadBalancerIPs: lbIPs,
		}
		if (svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer) &&
			sp.NodePort > 0 && sp.NodePort <= 65535 {
			p.NodePort = uint16(sp.NodePort)
		}
		all := endpointsFor(svc, sp, b.node.Name, sliceList)
		p.Endpoints = usable(all, false)
		p.LocalEndpoints = usable(all, true)
		b.frag.ports = append(b.frag.ports, p)
		b.port(svc, p)
	}
}

// port writes the rules of one Service port.
func (b *builder) port(svc *corev1.Service, p *ServicePort) {
	proto := strings.ToLower(string(p.Protocol))
	match := fmt.Sprintf("-p %s -m %s --dport %d", proto, proto, p.Port)
	comment := "-m comment --comment " + p.Name
	hash := hashName(p.Name)
	svcChain, extChain, svlChain := svcChainPrefix+hash, extChainPrefix+hash, svlChainPrefix+hash
	hasEndpoints := len(p.Endpoints) > 0
	affinity := 0
	if svc.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		affinity = 10800 // kube-proxy's default, three hours
		if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			affinity = int(*c.ClientIP.TimeoutSeconds)
		}
	}

	// The ClusterIP.
	cip := fmt.Sprintf("-d %s/32 %s", p.ClusterIP, match)
	if hasEndpoints {
		b.nat(chainServices, fmt.Sprintf("%s %s -j %s", cip, comment, svcChain))
		if b.node.ClusterCIDR.IsValid() {
			b.nat(svcChain, fmt.Sprintf("! -s %s %s -j %s", b.node.ClusterCIDR.Masked(), cip, chainMarkMasq))
		}
		b.endpoints(svcChain, p, p.Endpoints, affinity)
	} else {
		b.filter(chainServices, fmt.Sprintf("%s %s -j REJECT --reject-with icmp-port-unreachable", cip, comment))
	}

	// NodePort and LoadBalancer addresses.
	if p.NodePort == 0 && len(p.LoadBalancerIPs) == 0 {
		return
	}
	local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	hasExternal := hasEndpoints && (!local || len(p.LocalEndpoints) > 0)
	if hasEndpoints {
		for _, ip := range p.LoadBalancerIPs {
			b.nat(chainServices, fmt.Sprintf("-d %s/32 %s %s -j %s", ip, match, comment, extChain))
		}
		if p.NodePort != 0 {
			b.nat(chainNodePorts, fmt.Sprintf("-p %s -m %s --dport %d %s -j %s", proto, proto, p.NodePort, comment, extChain))
		}
		if !local {
			b.nat(extChain, "-j "+chainMarkMasq)
			b.nat(extChain, "-j "+svcChain)
		} else {
			// As kube-proxy: pods and the node itself may use the
			// external address too, and go to any endpoint; only
			// traffic from outside is kept local and unmasqueraded.
			if b.node.ClusterCIDR.IsValid() {
				b.nat(extChain, fmt.Sprintf("-s %s -j %s", b.node.ClusterCIDR.Masked(), svcChain))
			}
			b.nat(extChain, "-m addrtype --src-type LOCAL -j "+chainMarkMasq)
			b.nat(extChain, "-m addrtype --src-type LOCAL -j "+svcChain)
			if len(p.LocalEndpoints) > 0 {
				b.nat(extChain, "-j "+svlChain)
				b.endpoints(svlChain, p, p.LocalEndpoints, affinity)
			}
		}
	}
	if !hasExternal {
		target := "REJECT --reject-with icmp-port-unreachable"
		if hasEndpoints {
			target = "DROP" // Local policy, no endpoint on this node
		}
		for _, ip := range p.LoadBalancerIPs {
			b.filter(chainExternalServices, fmt.Sprintf("-d %s/32 %s %s -j %s", ip, match, comment, target))
		}
		if p.NodePort != 0 {
			b.filter(chainExternalServices, fmt.Sprintf("-m addrtype --dst-type LOCAL -p %s -m %s --dport %d %s -j %s",
				proto, proto, p.NodePort, comment, target))
		}
	}
}

// endpoints writes the rules that send a new connection in chain to one
// of eps: the session-affinity checks, then one random choice (see Build
// for the hairpin rules).
func (b *builder) endpoints(chain string, p *ServicePort, eps []Endpoint, affinity int) {
	proto := strings.ToLower(string(p.Protocol))
	recent := func(e Endpoint) string { return sepPrefix + hashName(p.Name+e.Addr.String()) }
	dnat := func(e Endpoint) string { return fmt.Sprintf("-p %s -j DNAT --to-destination %s", proto, e.Addr) }
	set := func(e Endpoint) string {
		if affinity == 0 {
			return ""
		}
		return " -m recent --set --name " + recent(e) + " --mask 255.255.255.255 --rsource"
	}
	if affinity > 0 {
		for _, e := range eps {
			check := fmt.Sprintf("-m recent --rcheck --seconds %d --reap --name %s --mask 255.255.255.255 --rsource", affinity, recent(e))
			b.nat(chain, fmt.Sprintf("-s %s/32 %s -j %s", e.Addr.Addr(), check, chainMarkMasq))
			b.nat(chain, fmt.Sprintf("%s%s %s", check, set(e), dnat(e)))
		}
	}
	for i, e := range eps {
		src := e.Addr.Addr().String() + "/32"
		if i == len(eps)-1 {
			b.nat(chain, fmt.Sprintf("-s %s -j %s", src, chainMarkMasq))
			b.nat(chain, strings.TrimPrefix(set(e)+" "+dnat(e), " "))
			continue
		}
		stat := "-m statistic --mode random --probability " + strconv.FormatFloat(1/float64(len(eps)-i), 'f', 10, 64)
		b.nat(chain, fmt.Sprintf("-s %s %s -j MARK --or-mark %s", src, stat, masqAndHairpin))
		b.nat(chain, fmt.Sprintf("-s %s -m mark --mark %s/%s%s %s", src, hairpinMark, hairpinMark, set(e), dnat(e)))
		b.nat(chain, fmt.Sprintf("! -s %s %s%s %s", src, stat, set(e), dnat(e)))
	}
}
