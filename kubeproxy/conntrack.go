package kubeproxy

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// staleUDP returns the conntrack deletions that a change from prev to
// next calls for, as arguments to `conntrack -D`. UDP has no connection
// to close, so a client keeps sending to a removed endpoint for as long
// as its conntrack entry lives; kube-proxy deletes those entries, and so
// does berth: for each removed endpoint of a UDP port, the entries NATed
// to it from the ClusterIP, the LoadBalancer IPs and the NodePort. A UDP
// port that had no endpoints and now has some loses the entries of its
// ClusterIP, which were made while packets were rejected.
func staleUDP(prev, next *RuleSet) [][]string {
	if prev == nil {
		return nil
	}
	var out [][]string
	for _, name := range slices.Sorted(maps.Keys(prev.Ports)) {
		old := prev.Ports[name]
		if old.Protocol != corev1.ProtocolUDP {
			continue
		}
		cur := next.Ports[name]
		keep := map[netip.AddrPort]bool{}
		if cur != nil {
			for _, e := range append(slices.Clone(cur.Endpoints), cur.LocalEndpoints...) {
				keep[e.Addr] = true
			}
		}
		seen := map[netip.Addr]bool{}
		for _, e := range append(slices.Clone(old.Endpoints), old.LocalEndpoints...) {
			ip := e.Addr.Addr()
			if keep[e.Addr] || seen[ip] {
				continue
			}
			seen[ip] = true
			out = append(out, []string{"-p", "udp", "--orig-dst", old.ClusterIP.String(), "--dst-nat", ip.String()})
			for _, lb := range old.LoadBalancerIPs {
				out = append(out, []string{"-p", "udp", "--orig-dst", lb.String(), "--dst-nat", ip.String()})
			}
			if old.NodePort != 0 {
				out = append(out, []string{"-p", "udp", "--orig-port-dst", strconv.Itoa(int(old.NodePort)), "--dst-nat", ip.String()})
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(next.Ports)) {
		cur := next.Ports[name]
		if cur.Protocol != corev1.ProtocolUDP || len(cur.Endpoints) == 0 {
			continue
		}
		if old := prev.Ports[name]; old == nil || len(old.Endpoints) == 0 {
			out = append(out, []string{"-p", "udp", "--orig-dst", cur.ClusterIP.String()})
		}
	}
	return out
}

// deleteConntrack runs `conntrack -D args` in the runner's namespace. No
// matching entry is not an error.
func (r *runner) deleteConntrack(ctx context.Context, args []string) error {
	return r.in(func() error {
		out, err := exec.CommandContext(ctx, conntrackCm, append([]string{"-D"}, args...)...).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "0 flow entries") {
			return fmt.Errorf("conntrack -D %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}
