// Package routes routes every other node's pod CIDR to that node, as
// flannel's host-gw backend does: the nodes share one network (a switch, or
// a bridge of test namespaces), so a packet for a pod on another node goes
// straight to that node's InternalIP, and the node's CNI bridge delivers it.
// Pod addresses are kept end to end: the node masquerades only traffic that
// leaves the cluster's pod network (kubelet/network's BERTH-POD-MASQ).
//
// A [Routes] component watches Node objects and keeps, in the node's network
// namespace, one route `PODCIDR via INTERNALIP` per other node that has a
// pod CIDR and an InternalIP of the same family. A route is replaced when
// the node's address changes and removed when the node goes or loses its
// pod CIDR. Every route it writes carries the routing protocol [Protocol]
// (`ip route show proto 98`), so a restarted agent finds the routes of its
// predecessor, keeps those still wanted and removes the stale ones, and
// never touches a route it did not write. The routes are checked again
// every [Options.ResyncPeriod], so routes the kernel dropped (an uplink
// that went down and came back) return. A node whose InternalIP is on no
// network of this node (another subnet: host-gw needs one shared network)
// gets no route; that is logged once and tried again at each resync only.
//
// The caller runs it beside the kubelet:
//
//	r, err := routes.New(routes.Options{Client: client, NodeName: "node-1", NetNS: "/run/netns/node-1", Logger: log})
//	if err != nil { ... }
//	return r.Run(ctx) // until ctx ends
//
// Run leaves the routes in place when it returns: pods keep reaching other
// nodes while the agent restarts.
package routes
