package hollow

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestPodIPNeverSharedAndReused(t *testing.T) {
	n := &Node{podCIDR: netip.MustParsePrefix("10.42.3.0/29"), ips: map[string]string{}, used: map[string]bool{}}
	seen := map[string]string{}
	for i := range 5 { // .2 to .6: not the network, .1 (gateway) or broadcast
		uid := fmt.Sprint("pod-", i)
		ip := n.podIP(uid)
		if other, dup := seen[ip]; dup || ip == "" {
			t.Fatalf("pod %s got %q (already %s's)", uid, ip, other)
		}
		if a := netip.MustParseAddr(ip); a.As4()[3] < 2 || a.As4()[3] > 6 {
			t.Errorf("pod %s got %s, outside .2-.6", uid, ip)
		}
		seen[ip] = uid
	}
	if ip := n.podIP("pod-0"); ip != n.ips["pod-0"] {
		t.Errorf("pod-0 asked again got %s, want its own %s", ip, n.ips["pod-0"])
	}
	if ip := n.podIP("pod-5"); ip != "" {
		t.Errorf("a full CIDR gave out %s", ip)
	}
	freed := n.ips["pod-2"]
	n.forget("pod-2")
	if ip := n.podIP("pod-6"); ip != freed {
		t.Errorf("after a pod left, got %q, want its address %s", ip, freed)
	}
}
