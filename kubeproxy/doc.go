// Package kubeproxy is berth's kube-proxy: it watches Services,
// EndpointSlices and Nodes and keeps the node's iptables in step, so that
// a connection to a Service's ClusterIP, NodePort or LoadBalancer address
// reaches one of its ready endpoints.
//
// It follows kube-proxy's iptables mode, with chains named BERTH-
// instead of KUBE-, in two layers:
//
//   - [Build] is a pure function from the Services, EndpointSlices and the
//     node's facts to a [RuleSet]: the rules of berth's own chains in the
//     nat and filter tables. [RuleSet.Full] renders it as iptables-restore
//     input (the golden files in testdata/ are that text) and
//     [RuleSet.Update] renders only what changed since a previous RuleSet.
//   - [Proxy] is the loop around it: informers, coalesced and rate-limited
//     syncs (each one `iptables-legacy-restore --noflush` transaction), the
//     jump rules from the built-in chains (go-iptables), conntrack cleanup
//     of removed UDP endpoints, and the LoadBalancer status of Services.
//
// The layout differs from kube-proxy's in one way, chosen by benchmark
// (bench/kubeproxy.go): a Service port has one chain, BERTH-SVC-<hash>,
// whose rules DNAT straight to the endpoints, instead of a chain per
// endpoint. At 10,000 Services x 3 endpoints that is 10,000 chains instead
// of 40,000; iptables-legacy-restore loads it in about 1.3 s instead of
// 3.2 s and swaps one changed chain in about 0.4 s instead of 0.7-1 s.
// iptables-nft-restore, Debian's default, needs about 6 s for the same
// set in berth's layout and took 488 s for kube-proxy's, once; a
// restarted proxy pays that on its first sync, which is why berth uses
// the legacy backend (the CNI plugins' nft rules coexist with it, see
// iptables.go). Hairpin traffic (an endpoint reaching itself through its
// Service) is still masqueraded exactly as kube-proxy does: see [Build].
// A [Builder] keeps each Service's rules between syncs, so a sync after
// one change renders one Service.
//
// The caller runs one Proxy per node:
//
//	p, err := kubeproxy.New(kubeproxy.Options{
//		Client:   client,
//		NodeName: "node-1",
//		NetNS:    "/run/netns/node-1", // empty: the process's own namespace
//	})
//	if err != nil { ... }
//	err = p.Run(ctx) // until ctx ends; the rules stay in place afterwards
//
// The node must forward (net.ipv4.ip_forward=1) and pass bridged pod
// traffic through iptables (net.bridge.bridge-nf-call-iptables=1, the
// br_netfilter default), and the pod bridge's ports need hairpin mode for
// a pod to reach itself through a Service, as the CNI bridge plugin's
// hairpinMode sets; proxy_test.go builds such a node.
//
// Not handled (yet): IPv6, spec.externalIPs, internalTrafficPolicy Local,
// loadBalancerSourceRanges and topology hints.
//
// It needs iptables-legacy-restore, iptables-legacy-save, iptables-legacy
// (Debian package iptables) and conntrack (package conntrack).
package kubeproxy
