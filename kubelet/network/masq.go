package network

import (
	"crypto/sha512"
	"fmt"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// The bridge plugin masquerades a pod's outgoing traffic with a rule in
// nat POSTROUTING that sends the pod's address to a chain of its own. On
// DEL it finds the pod's address on the pod's interface, so when the pod's
// network namespace is already gone (an agent that died between removing
// the namespace and tearing down, or lost its mounts) it leaves that rule
// and chain behind. removeMasquerade removes them instead, by the names
// the plugin gives them (plugins/pkg/utils.FormatChainName and
// FormatComment, unchanged since the plugins' v0.7).

// maxChainLength is how long the plugins make a chain name.
const maxChainLength = 28

// masqueradeChain returns the name of the bridge plugin's masquerade chain
// for the container with containerID.
func masqueradeChain(containerID string) string {
	return fmt.Sprintf("CNI-%x", sha512.Sum512([]byte(networkName+containerID)))[:maxChainLength]
}

// masqueradeComment returns the comment on the bridge plugin's masquerade
// rules for the container with containerID.
func masqueradeComment(containerID string) string {
	return fmt.Sprintf("name: %q id: %q", networkName, containerID)
}

// removeMasquerade deletes the bridge plugin's masquerade rules and chain
// of the container with containerID from the current network namespace's
// iptables; what is not there is fine. Run it on a thread in the node's
// namespace (inHost): iptables runs as a child process.
func removeMasquerade(containerID string) error {
	ipt, err := iptables.New()
	if err != nil {
		return fmt.Errorf("remove masquerade rules: %w", err)
	}
	chain := masqueradeChain(containerID)
	exists, err := ipt.ChainExists("nat", chain)
	if err != nil {
		return fmt.Errorf("remove masquerade rules: %w", err)
	}
	if !exists {
		return nil
	}
	rules, err := ipt.List("nat", "POSTROUTING")
	if err != nil {
		return fmt.Errorf("remove masquerade rules: %w", err)
	}
	for _, rule := range rules {
		src, ok := jumpSource(rule, chain)
		if !ok {
			continue
		}
		err := ipt.DeleteIfExists("nat", "POSTROUTING", "-s", src, "-j", chain, "-m", "comment", "--comment", masqueradeComment(containerID))
		if err != nil {
			return fmt.Errorf("remove masquerade rule of %s: %w", src, err)
		}
	}
	if err := ipt.ClearAndDeleteChain("nat", chain); err != nil {
		return fmt.Errorf("remove masquerade chain %s: %w", chain, err)
	}
	return nil
}

// jumpSource returns the source address of rule, an iptables -S line, if
// the rule jumps to chain.
func jumpSource(rule, chain string) (string, bool) {
	fields := strings.Fields(rule)
	jumps, src := false, ""
	for i := 0; i+1 < len(fields); i++ {
		switch fields[i] {
		case "-j":
			jumps = jumps || fields[i+1] == chain
		case "-s":
			src = fields[i+1]
		}
	}
	if !jumps || src == "" {
		return "", false
	}
	return src, true
}
