package kubeproxy

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// loadBalancerIngress returns the status.loadBalancer.ingress addresses
// each LoadBalancer Service (without a loadBalancerClass) should have, by
// namespace/name, as k3s's ServiceLB assigns them. Every node's proxy
// computes the same answer from the same objects, so they agree on what
// to write.
//
// Without a pool every such Service gets the InternalIPs of the Ready
// nodes, sorted: the NodePort-style rules on every node answer on them.
// With a pool each Service gets one address: the one it already has if
// that is in the pool and no Service created earlier has it, else the
// lowest free address. Services are taken oldest first (name breaks
// ties); when the pool is exhausted a Service gets none.
func loadBalancerIngress(svcs []*corev1.Service, nodes []*corev1.Node, pool []netip.Prefix) map[string][]netip.Addr {
	var lbs []*corev1.Service
	for _, s := range svcs {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Spec.LoadBalancerClass == nil {
			lbs = append(lbs, s)
		}
	}
	slices.SortFunc(lbs, func(a, b *corev1.Service) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	out := map[string][]netip.Addr{}
	if len(pool) == 0 {
		ips := readyNodeIPs(nodes)
		for _, s := range lbs {
			out[s.Namespace+"/"+s.Name] = ips
		}
		return out
	}
	inPool := func(a netip.Addr) bool {
		return slices.ContainsFunc(pool, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	taken := map[netip.Addr]bool{}
	var needs []*corev1.Service
	for _, s := range lbs {
		kept := false
		for _, ing := range s.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(ing.IP); err == nil && inPool(a) && !taken[a] {
				taken[a] = true
				out[s.Namespace+"/"+s.Name] = []netip.Addr{a}
				kept = true
				break
			}
		}
		if !kept {
			needs = append(needs, s)
		}
	}
	for _, s := range needs {
		if a, ok := lowestFree(pool, taken); ok {
			taken[a] = true
			out[s.Namespace+"/"+s.Name] = []netip.Addr{a}
		} else {
			out[s.Namespace+"/"+s.Name] = nil
		}
	}
	return out
}

// lowestFree returns the first address of pool not in taken. A prefix
// shorter than /31 gives neither its network nor its broadcast address.
func lowestFree(pool []netip.Prefix, taken map[netip.Addr]bool) (netip.Addr, bool) {
	for _, p := range pool {
		p = p.Masked()
		first, last := p.Addr(), lastAddr(p)
		if p.Bits() < p.Addr().BitLen()-1 {
			first = first.Next()
		}
		for a := first; a.IsValid() && p.Contains(a); a = a.Next() {
			if p.Bits() < p.Addr().BitLen()-1 && a == last {
				break
			}
			if !taken[a] {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := range b {
		hostBits := max(0, min(8, (i+1)*8-p.Bits()))
		b[i] |= byte(1<<hostBits - 1)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// readyNodeIPs returns the IPv4 InternalIPs of the Ready nodes, sorted.
func readyNodeIPs(nodes []*corev1.Node) []netip.Addr {
	var ips []netip.Addr
	for _, n := range nodes {
		if !nodeReady(n) {
			continue
		}
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil && a.Type == corev1.NodeInternalIP && ip.Is4() && !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return ips
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// writeLoadBalancerStatus writes the ingress of want to each Service
// whose status differs. A conflict is left for the next sync, which the
// Service's own update triggers.
func writeLoadBalancerStatus(ctx context.Context, client kubernetes.Interface, svcs []*corev1.Service, want map[string][]netip.Addr) error {
	var errs []string
	for _, s := range svcs {
		ips, ok := want[s.Namespace+"/"+s.Name]
		if !ok || sameIngress(s.Status.LoadBalancer.Ingress, ips) {
			continue
		}
		s = s.DeepCopy()
		s.Status.LoadBalancer.Ingress = nil
		for _, ip := range ips {
			vip := corev1.LoadBalancerIPModeVIP
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip.String(), IPMode: &vip})
		}
		if _, err := client.CoreV1().Services(s.Namespace).UpdateStatus(ctx, s, metav1.UpdateOptions{}); err != nil {
			errs = append(errs, fmt.Sprintf("%s/%s: %v", s.Namespace, s.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("write load balancer status: %s", strings.Join(errs, "; "))
	}
	return nil
}

// sameIngress is whether ing holds exactly ips, in order.
func sameIngress(ing []corev1.LoadBalancerIngress, ips []netip.Addr) bool {
	if len(ing) != len(ips) {
		return false
	}
	for i, ip := range ips {
		if ing[i].IP != ip.String() || ing[i].Hostname != "" {
			return false
		}
	}
	return true
}
