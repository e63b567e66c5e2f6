// Package dns is the cluster DNS server that runs on every node: it answers
// the names of Services and pods in the cluster domain from client-go
// informers, as CoreDNS's kubernetes plugin does (following the Kubernetes
// DNS specification, https://github.com/kubernetes/dns/blob/master/docs/specification.md),
// and forwards every other name to the node's resolvers.
//
// Names answered, for the domain cluster.local (TTL 5 s on every record):
//
//	<svc>.<ns>.svc.cluster.local            A/AAAA: the cluster IPs; for a headless
//	                                        Service, every ready endpoint (NXDOMAIN
//	                                        when none); CNAME for an ExternalName
//	<endpoint>.<svc>.<ns>.svc.cluster.local A/AAAA of a headless Service's endpoint,
//	                                        by hostname or dashed address
//	_<port>._<proto>.<svc>.<ns>.svc...      SRV for a named port (the Service's own
//	                                        name: SRV for every port), targets' A
//	                                        records in the additional section
//	<a-b-c-d>.<ns>.pod.cluster.local        A a.b.c.d
//	dns-version.cluster.local               TXT: the specification's version
//	reverse names (in-addr.arpa, ip6.arpa)  PTR of cluster IPs and headless endpoints
//
// Unknown names in the domain get NXDOMAIN, and known names without records
// of the asked type an empty NOERROR answer, both with the zone's SOA in the
// authority section. Everything else goes to the upstreams (UDP, then TCP
// when the answer is truncated; TCP for queries that came over TCP); a query
// no upstream answers gets SERVFAIL.
//
// The server listens on a node-local address, 169.254.20.10:53 by default as
// NodeLocal DNSCache does, inside the node's network namespace. The caller
// puts that address on the node's lo first with [AddLocalAddress]; pods,
// whose default route leads to the node, and the node itself then reach it,
// and so does traffic kube-proxy DNATs to it from the kube-dns Service.
//
// Example (in the node agent):
//
//	if err := dns.AddLocalAddress("", dns.DefaultLocalAddress); err != nil {
//		return err
//	}
//	srv, err := dns.New(dns.Options{Client: client, Logger: log, Registry: reg})
//	if err != nil {
//		return err
//	}
//	return srv.Run(ctx) // until ctx ends
package dns
