package dns

import (
	"fmt"
	"net/netip"

	"github.com/coreos/go-iptables/iptables"
)

// SetupNodeLocal prepares the node's network namespace at netnsPath (the
// process's own when empty) for a server listening on addrs, as NodeLocal
// DNSCache does: each address goes on lo (AddLocalAddress), and DNS to and
// from it is exempted from connection tracking (raw-table NOTRACK rules), so
// kube-proxy's rules for the kube-dns Service's ClusterIP (NAT, and REJECT
// of new connections to a Service without endpoints) never apply to it and
// queries make no conntrack entries. Pods reach the addresses through their
// default route to the node. It is idempotent.
func SetupNodeLocal(netnsPath string, addrs ...netip.Addr) error {
	for _, a := range addrs {
		if err := AddLocalAddress(netnsPath, a); err != nil {
			return err
		}
	}
	return inNetNS(netnsPath, func() error {
		ipt, err := iptables.New()
		if err != nil {
			return fmt.Errorf("node-local DNS rules: %w", err)
		}
		for _, a := range addrs {
			for _, r := range notrackRules(a) {
				if err := ipt.AppendUnique("raw", r.chain, r.spec...); err != nil {
					return fmt.Errorf("node-local DNS rules for %s: %w", a, err)
				}
			}
		}
		return nil
	})
}

// notrackRule is one rule of the raw table.
type notrackRule struct {
	chain string
	spec  []string
}

// notrackRules exempt DNS to addr (from pods: PREROUTING; from the node:
// OUTPUT) and the server's answers from it (OUTPUT) from connection
// tracking.
func notrackRules(addr netip.Addr) []notrackRule {
	rule := func(chain, dir, proto, portDir string) notrackRule {
		return notrackRule{chain, []string{dir, addr.String(), "-p", proto, portDir, "53",
			"-m", "comment", "--comment", "berth: node-local DNS", "-j", "NOTRACK"}}
	}
	var rules []notrackRule
	for _, proto := range []string{"udp", "tcp"} {
		rules = append(rules,
			rule("PREROUTING", "-d", proto, "--dport"),
			rule("OUTPUT", "-d", proto, "--dport"),
			rule("OUTPUT", "-s", proto, "--sport"))
	}
	return rules
}
