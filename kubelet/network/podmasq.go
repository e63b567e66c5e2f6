package network

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// The node masquerades what its pods send out of the cluster's pod network
// with one chain of its own, set up once, instead of the bridge plugin's
// ipMasq: that adds a chain and four rules per pod (iptables runs that the
// xtables lock serializes, in every pod start) and masquerades traffic to
// pods on other nodes as well, hiding the sender's address from them.

// podMasqChain is the node's masquerade chain in the nat table.
const podMasqChain = "BERTH-POD-MASQ"

// podMasqRules are the rules of podMasqChain: traffic to the cluster's pod
// network and to multicast keeps its source; the rest is masqueraded.
func podMasqRules(clusterCIDR netip.Prefix) [][]string {
	return [][]string{
		{"-d", clusterCIDR.String(), "-m", "comment", "--comment", "berth: pod to pod", "-j", "RETURN"},
		{"-d", "224.0.0.0/4", "-m", "comment", "--comment", "berth: multicast", "-j", "RETURN"},
		{"-m", "comment", "--comment", "berth: pod traffic leaving the pod network", "-j", "MASQUERADE"},
	}
}

// podMasqJump is the rule of nat POSTROUTING that sends the traffic of the
// node's pods to podMasqChain.
func podMasqJump(podCIDR netip.Prefix) []string {
	return []string{"-s", podCIDR.String(), "-m", "comment", "--comment", "berth: masquerade pods", "-j", podMasqChain}
}

// ensurePodMasquerade sets up podMasqChain and its jump in the current
// network namespace, leaving them alone when they are already right, so a
// restarted agent does not drop its pods' masquerading for a moment. Run
// it on a thread in the node's namespace (inHost).
func ensurePodMasquerade(podCIDR, clusterCIDR netip.Prefix) error {
	ipt, err := iptables.New()
	if err != nil {
		return fmt.Errorf("pod masquerade: %w", err)
	}
	exists, err := ipt.ChainExists("nat", podMasqChain)
	if err != nil {
		return fmt.Errorf("pod masquerade: %w", err)
	}
	want := podMasqRules(clusterCIDR)
	if exists {
		have, err := ipt.List("nat", podMasqChain)
		if err != nil {
			return fmt.Errorf("pod masquerade: %w", err)
		}
		if !sameRules(have, podMasqChain, want) {
			if err := ipt.ClearChain("nat", podMasqChain); err != nil {
				return fmt.Errorf("pod masquerade: %w", err)
			}
			exists = false
		}
	} else if err := ipt.NewChain("nat", podMasqChain); err != nil {
		return fmt.Errorf("pod masquerade: %w", err)
	}
	if !exists {
		for _, r := range want {
			if err := ipt.Append("nat", podMasqChain, r...); err != nil {
				return fmt.Errorf("pod masquerade: %w", err)
			}
		}
	}
	if err := ipt.AppendUnique("nat", "POSTROUTING", podMasqJump(podCIDR)...); err != nil {
		return fmt.Errorf("pod masquerade: %w", err)
	}
	return nil
}

// sameRules says whether the `iptables -S chain` listing have holds
// exactly the rules want, in order.
func sameRules(have []string, chain string, want [][]string) bool {
	var rules []string
	for _, line := range have {
		if line != "-N "+chain {
			rules = append(rules, line)
		}
	}
	return slices.EqualFunc(rules, want, func(line string, r []string) bool {
		return line == ruleSpec(chain, r)
	})
}

// ruleSpec is how `iptables -S` prints rule r of chain.
func ruleSpec(chain string, r []string) string {
	s := "-A " + chain
	for _, a := range r {
		if a == "" || strings.Contains(a, " ") {
			a = `"` + a + `"`
		}
		s += " " + a
	}
	return s
}
