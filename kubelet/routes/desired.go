package routes

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Route is one route to another node's pods: Dst via Gateway.
type Route struct {
	// Dst is the node's pod CIDR.
	Dst netip.Prefix
	// Gateway is the node's InternalIP.
	Gateway netip.Addr
}

// String renders the route as `ip route` would take it.
func (r Route) String() string { return r.Dst.String() + " via " + r.Gateway.String() }

// Desired returns the routes the node named self wants: for every other
// node, each of its pod CIDRs (spec.podCIDRs, or spec.podCIDR) via its first
// InternalIP of the same family. Nodes without either are left out, as are
// CIDRs that overlap one of self's own pod CIDRs (those are local) and
// CIDRs claimed by two nodes (the first by name wins). The result is sorted
// by destination.
func Desired(self string, nodes []*corev1.Node) []Route {
	var own []netip.Prefix
	for _, n := range nodes {
		if n.Name == self {
			own = podCIDRs(n)
		}
	}
	sorted := slices.Clone(nodes)
	slices.SortFunc(sorted, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	seen := map[netip.Prefix]bool{}
	var out []Route
	for _, n := range sorted {
		if n.Name == self || n.DeletionTimestamp != nil {
			continue
		}
		for _, cidr := range podCIDRs(n) {
			gw := internalIP(n, cidr.Addr().Is4())
			if !gw.IsValid() || seen[cidr] || slices.ContainsFunc(own, cidr.Overlaps) {
				continue
			}
			seen[cidr] = true
			out = append(out, Route{Dst: cidr, Gateway: gw})
		}
	}
	slices.SortFunc(out, func(a, b Route) int { return compareRoutes(a, b) })
	return out
}

// compareRoutes orders routes by destination, then gateway.
func compareRoutes(a, b Route) int {
	if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
		return c
	}
	if c := a.Dst.Bits() - b.Dst.Bits(); c != 0 {
		return c
	}
	return a.Gateway.Compare(b.Gateway)
}

// podCIDRs parses a node's pod CIDRs, skipping those that do not parse.
func podCIDRs(n *corev1.Node) []netip.Prefix {
	raw := n.Spec.PodCIDRs
	if len(raw) == 0 && n.Spec.PodCIDR != "" {
		raw = []string{n.Spec.PodCIDR}
	}
	var out []netip.Prefix
	for _, s := range raw {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		p = p.Masked()
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// internalIP is the node's first InternalIP of the family (IPv4 when v4),
// or the zero Addr.
func internalIP(n *corev1.Node, v4 bool) netip.Addr {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(a.Address))
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() == v4 && !ip.IsUnspecified() && !ip.IsLoopback() {
			return ip
		}
	}
	return netip.Addr{}
}

// Diff returns what turns the routes have into want: routes to write
// (missing, or with another gateway: written over in place) and routes to
// delete (destinations no longer wanted, and a wrong-gateway route beside
// the right one). Both come sorted.
func Diff(have, want []Route) (write, remove []Route) {
	wanted := map[netip.Prefix]netip.Addr{}
	for _, r := range want {
		wanted[r.Dst] = r.Gateway
	}
	present := map[netip.Prefix]bool{}
	for _, r := range have {
		if gw, ok := wanted[r.Dst]; ok && gw == r.Gateway {
			present[r.Dst] = true
		}
	}
	for _, r := range have {
		gw, ok := wanted[r.Dst]
		if !ok || (gw != r.Gateway && present[r.Dst]) {
			remove = append(remove, r)
		}
	}
	for _, r := range want {
		if !present[r.Dst] {
			write = append(write, r)
		}
	}
	slices.SortFunc(write, compareRoutes)
	slices.SortFunc(remove, compareRoutes)
	return write, remove
}
