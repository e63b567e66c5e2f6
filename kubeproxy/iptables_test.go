package kubeproxy

import (
	"strings"
	"testing"
)

// TestJumpKey checks that each jump rule, as berth writes it, is
// recognised in iptables-save's rendering of it and not confused with the
// others.
func TestJumpKey(t *testing.T) {
	saved := map[string]string{ // as iptables-legacy-save v1.8.9 prints the rules
		"nat PREROUTING":   `-A PREROUTING -m comment --comment "berth kube-proxy" -j BERTH-SERVICES`,
		"nat OUTPUT":       `-A OUTPUT -m comment --comment "berth kube-proxy" -j BERTH-SERVICES`,
		"nat POSTROUTING":  `-A POSTROUTING -m comment --comment "berth kube-proxy" -j BERTH-POSTROUTING`,
		"filter INPUT":     `-A INPUT -m conntrack --ctstate NEW -m comment --comment "berth kube-proxy" -j BERTH-EXTERNAL-SERVICES`,
		"filter FORWARD 1": `-A FORWARD -m conntrack --ctstate NEW -m comment --comment "berth kube-proxy" -j BERTH-SERVICES`,
		"filter FORWARD 2": `-A FORWARD -m conntrack --ctstate NEW -m comment --comment "berth kube-proxy" -j BERTH-EXTERNAL-SERVICES`,
		"filter FORWARD 3": `-A FORWARD -m comment --comment "berth kube-proxy" -j BERTH-FORWARD`,
		"filter OUTPUT":    `-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "berth kube-proxy" -j BERTH-SERVICES`,
	}
	keys := map[string]bool{}
	for _, line := range saved {
		keys[jumpKey(line)] = true
	}
	if len(keys) != len(saved) {
		t.Fatalf("jumpKey maps %d saved rules to %d keys", len(saved), len(keys))
	}
	for _, j := range jumps {
		written := "-A " + j.chain + " " + strings.Join(j.rule, " ")
		if !keys[jumpKey(written)] {
			t.Errorf("jump %q not recognised in iptables-save's output", written)
		}
	}
}
