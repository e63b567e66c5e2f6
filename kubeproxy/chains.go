package kubeproxy

import (
	"crypto/sha256"
	"encoding/base32"
)

// The chains berth owns. Every one starts with chainPrefix, so that a
// restarted proxy can tell its own chains from everyone else's.
const (
	chainPrefix = "BERTH-"

	// chainServices (nat) holds one jump per ClusterIP and LoadBalancer
	// address and port; it is jumped to from PREROUTING and OUTPUT. In the
	// filter table a chain of the same name rejects ClusterIPs without
	// endpoints (REJECT cannot live in nat).
	chainServices = "BERTH-SERVICES"
	// chainNodePorts (nat) holds one jump per NodePort; chainServices
	// jumps to it for traffic to a local address.
	chainNodePorts = "BERTH-NODEPORTS"
	// chainPostrouting (nat) masquerades marked packets.
	chainPostrouting = "BERTH-POSTROUTING"
	// chainMarkMasq (nat) marks a packet for masquerading.
	chainMarkMasq = "BERTH-MARK-MASQ"
	// chainExternalServices (filter) rejects or drops NodePort and
	// LoadBalancer traffic that has no endpoint to go to.
	chainExternalServices = "BERTH-EXTERNAL-SERVICES"
	// chainForward (filter) accepts forwarded Service traffic on hosts
	// whose FORWARD policy is DROP.
	chainForward = "BERTH-FORWARD"

	// Per Service port: its ClusterIP chain, its external (NodePort and
	// LoadBalancer) chain, and its local-endpoints chain for
	// externalTrafficPolicy Local.
	svcChainPrefix = "BERTH-SVC-"
	extChainPrefix = "BERTH-EXT-"
	svlChainPrefix = "BERTH-SVL-"
	// sepPrefix names the `-m recent` lists of session affinity, one per
	// endpoint of a Service port (kube-proxy names them after its
	// per-endpoint chains, which berth does not have).
	sepPrefix = "BERTH-SEP-"
)

// Packet marks. masqMark is kube-proxy's: POSTROUTING masquerades packets
// carrying it. hairpinMark is set, with masqMark, by the rule that picks
// an endpoint for a client that is that endpoint; the DNAT rule after it
// checks the bit, so that the random choice is made once (see Build).
const (
	masqMark    = "0x4000"
	hairpinMark = "0x2000"
	// masqAndHairpin is masqMark|hairpinMark.
	masqAndHairpin = "0x6000"
	// clearHairpin clears hairpinMark and keeps every other bit.
	clearHairpin = "0xffffdfff"
)

// hashName returns the 16-character suffix of a per-Service chain: the
// base32 of the SHA-256 of s, as kube-proxy names its chains.
func hashName(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}
