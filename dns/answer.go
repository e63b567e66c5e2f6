package dns

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
)

// ttl is the time to live, in seconds, of every record the server answers
// and of the SOA's negative-caching TTL, as CoreDNS's kubernetes plugin's
// default.
const ttl = 5

// schemaVersion is the version of the Kubernetes DNS specification the
// server follows, answered at dns-version.<zone>.
const schemaVersion = "1.1.0"

// reply is the answer to one question about a name in the cluster domain.
type reply struct {
	rcode  int
	answer []dns.RR
	extra  []dns.RR
	// chase is, for an A or AAAA question about an ExternalName Service, the
	// CNAME's target, whose own records the response should also carry.
	chase string
}

// answerer answers questions about names in the cluster domain from a
// catalog of Services and EndpointSlices.
type answerer struct {
	zone    string // fully qualified, lower case: "cluster.local."
	catalog *catalog
	serial  uint32 // of the zone's SOA
}

// answer answers q when the server owns its name: names in the cluster
// domain, and reverse lookups of Service and endpoint addresses. It returns
// false for every other name, which is to be forwarded.
func (a *answerer) answer(q dns.Question) (reply, bool) {
	n := parseName(q.Name, a.zone)
	if n.kind == kindOutside {
		return a.ptr(q)
	}
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		return reply{rcode: dns.RcodeRefused}, true
	}
	return a.inZone(q, n), true
}

// inZone answers q about n, a name in the cluster domain.
func (a *answerer) inZone(q dns.Question, n name) reply {
	switch n.kind {
	case kindApex:
		if q.Qtype == dns.TypeSOA {
			return reply{answer: []dns.RR{a.soa()}}
		}
		return reply{}
	case kindVersion:
		if q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY {
			return reply{answer: []dns.RR{&dns.TXT{Hdr: hdr(q.Name, dns.TypeTXT), Txt: []string{schemaVersion}}}}
		}
		return reply{}
	case kindBranch:
		return reply{}
	case kindNamespace:
		if a.catalog.hasNamespace(n.namespace) {
			return reply{}
		}
		return nxdomain()
	case kindPod:
		if rr := addrRR(q.Name, q.Qtype, n.podIP); rr != nil {
			return reply{answer: []dns.RR{rr}}
		}
		return reply{}
	case kindService, kindEndpoint, kindProto, kindPort:
		svc := a.catalog.service(n.namespace, n.service)
		if svc == nil {
			return nxdomain()
		}
		return a.serviceAnswer(q, n, svc)
	}
	return nxdomain()
}

// serviceAnswer answers a question about a name at or below an existing
// Service.
func (a *answerer) serviceAnswer(q dns.Question, n name, svc *corev1.Service) reply {
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		return externalNameAnswer(q, n, svc)
	case headless(svc):
		return a.headlessAnswer(q, n, svc)
	}
	return a.clusterIPAnswer(q, n, svc)
}

// externalNameAnswer answers for an ExternalName Service: a CNAME at its
// name, to be chased for A and AAAA questions.
func externalNameAnswer(q dns.Question, n name, svc *corev1.Service) reply {
	if n.kind != kindService || svc.Spec.ExternalName == "" {
		return nxdomain()
	}
	target := dns.Fqdn(strings.ToLower(svc.Spec.ExternalName))
	r := reply{answer: []dns.RR{&dns.CNAME{Hdr: hdr(q.Name, dns.TypeCNAME), Target: target}}}
	if q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA {
		r.chase = target
	}
	return r
}

// clusterIPAnswer answers for a Service with cluster IPs: its addresses at
// its name, SRV records of its ports pointing at its name.
func (a *answerer) clusterIPAnswer(q dns.Question, n name, svc *corev1.Service) reply {
	ips := clusterIPs(svc)
	switch {
	case n.kind == kindEndpoint:
		// Endpoints of a Service with a cluster IP have no names.
		return nxdomain()
	case n.kind == kindService && q.Qtype != dns.TypeSRV:
		var r reply
		for _, ip := range ips {
			if rr := addrRR(q.Name, q.Qtype, ip); rr != nil {
				r.answer = append(r.answer, rr)
			}
		}
		return r
	}
	svcName := svc.Name + "." + svc.Namespace + ".svc." + a.zone
	targets := make([]srvTarget, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		targets = append(targets, srvTarget{
			target: svcName, addrs: ips, portName: p.Name,
			proto: strings.ToLower(string(p.Protocol)), port: uint16(p.Port),
		})
	}
	return srvAnswer(q, n, targets)
}

// headlessAnswer answers for a headless Service: its ready endpoints'
// addresses at its name and at theirs, SRV records of their ports pointing
// at their names. A headless Service without ready endpoints has no name.
func (a *answerer) headlessAnswer(q dns.Question, n name, svc *corev1.Service) reply {
	eps := a.catalog.endpoints(svc)
	if n.kind == kindEndpoint {
		eps = withName(eps, n.endpoint)
	}
	if len(eps) == 0 {
		return nxdomain()
	}
	if n.kind == kindEndpoint || (n.kind == kindService && q.Qtype != dns.TypeSRV) {
		var r reply
		if q.Qtype == dns.TypeSRV {
			return r
		}
		for _, ep := range eps {
			if rr := addrRR(q.Name, q.Qtype, ep.addr); rr != nil {
				r.answer = append(r.answer, rr)
			}
		}
		return r
	}
	svcName := svc.Name + "." + svc.Namespace + ".svc." + a.zone
	var targets []srvTarget
	for _, ep := range eps {
		target := ep.name + "." + svcName
		for _, p := range ep.ports {
			t := srvTarget{target: target, addrs: []netip.Addr{ep.addr}}
			if p.Name != nil {
				t.portName = *p.Name
			}
			if p.Protocol != nil {
				t.proto = strings.ToLower(string(*p.Protocol))
			}
			if p.Port != nil {
				t.port = uint16(*p.Port)
			}
			targets = append(targets, t)
		}
	}
	return srvAnswer(q, n, targets)
}

// srvAnswer answers with the SRV records among a Service's targets that n
// names: every port for the Service's own name, the named ports of a
// protocol for _<proto> (an empty non-terminal: no records), one port for
// _<port>._<proto>.
func srvAnswer(q dns.Question, n name, targets []srvTarget) reply {
	var match []srvTarget
	for _, t := range targets {
		switch {
		case n.kind == kindService,
			n.kind == kindProto && t.proto == n.proto && t.portName != "",
			n.kind == kindPort && t.proto == n.proto && t.portName == n.port:
			match = append(match, t)
		}
	}
	if n.kind != kindService && len(match) == 0 {
		return nxdomain()
	}
	if (q.Qtype != dns.TypeSRV && q.Qtype != dns.TypeANY) || n.kind == kindProto {
		return reply{}
	}
	return srvReply(q.Name, match)
}

// srvTarget is one SRV record to be: a port of a Service or of one of its
// endpoints, and the addresses its target resolves to.
type srvTarget struct {
	portName, proto string
	port            uint16
	target          string
	addrs           []netip.Addr
}

// srvReply returns SRV records for targets, with equal weights adding up to
// about 100, and the targets' addresses in the additional section.
func srvReply(owner string, targets []srvTarget) reply {
	var r reply
	if len(targets) == 0 {
		return r
	}
	weight := uint16(max(100/len(targets), 1))
	seen := map[string]bool{}
	for _, t := range targets {
		r.answer = append(r.answer, &dns.SRV{Hdr: hdr(owner, dns.TypeSRV), Priority: 0, Weight: weight, Port: t.port, Target: t.target})
		if seen[t.target] {
			continue
		}
		seen[t.target] = true
		for _, ip := range t.addrs {
			if ip.Is4() {
				r.extra = append(r.extra, addrRR(t.target, dns.TypeA, ip))
			} else {
				r.extra = append(r.extra, addrRR(t.target, dns.TypeAAAA, ip))
			}
		}
	}
	return r
}

// withName returns the endpoints named name.
func withName(eps []endpoint, name string) []endpoint {
	var out []endpoint
	for _, ep := range eps {
		if ep.name == name {
			out = append(out, ep)
		}
	}
	return out
}

// ptr answers a reverse lookup of a Service's or endpoint's address; false
// when the address is neither.
func (a *answerer) ptr(q dns.Question) (reply, bool) {
	if q.Qtype != dns.TypePTR {
		return reply{}, false
	}
	ip, ok := reverseAddr(q.Name)
	if !ok {
		return reply{}, false
	}
	var r reply
	for _, n := range a.catalog.reverse(ip) {
		r.answer = append(r.answer, &dns.PTR{Hdr: hdr(q.Name, dns.TypePTR), Ptr: n + ".svc." + a.zone})
	}
	return r, len(r.answer) > 0
}

// soa is the cluster domain's SOA record, as CoreDNS writes it.
func (a *answerer) soa() dns.RR {
	return &dns.SOA{
		Hdr:     hdr(a.zone, dns.TypeSOA),
		Ns:      "ns.dns." + a.zone,
		Mbox:    "hostmaster." + a.zone,
		Serial:  a.serial,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  ttl,
	}
}

// addrRR returns an A or AAAA record for ip when qtype asks for one of its
// family (or for anything), else nil.
func addrRR(owner string, qtype uint16, ip netip.Addr) dns.RR {
	switch {
	case ip.Is4() && (qtype == dns.TypeA || qtype == dns.TypeANY):
		return &dns.A{Hdr: hdr(owner, dns.TypeA), A: ip.AsSlice()}
	case ip.Is6() && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
		return &dns.AAAA{Hdr: hdr(owner, dns.TypeAAAA), AAAA: ip.AsSlice()}
	}
	return nil
}

// hdr is the header of a record of type rrtype owned by owner.
func hdr(owner string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}

func nxdomain() reply { return reply{rcode: dns.RcodeNameError} }
