package netnstest

import (
	"fmt"
	"net/netip"
	"testing"
)

// maxBridgedNodes is how many nodes fit on Subnet from .10 up, below the
// gateway address.
const maxBridgedNodes = 200

// NewBridgedNodes creates n nodes joined by one bridge, as machines on one
// switch: node i (from 0) has address 192.168.234.(10+i)/24 on its Uplink,
// a veth whose peer is a port of a bridge in a namespace of its own. That
// namespace holds nothing but the bridge and its ports, so the nodes reach
// each other and nothing else. Everything is deleted when the test ends.
func NewBridgedNodes(t testing.TB, n int) []*Node {
	t.Helper()
	Require(t)
	if n < 1 || n > maxBridgedNodes {
		t.Fatalf("NewBridgedNodes: %d nodes, want 1 to %d", n, maxBridgedNodes)
	}
	sw := newNamespace(t, "switch")
	sw.mustIP(t, "link", "add", "br0", "type", "bridge")
	sw.mustIP(t, "link", "set", "br0", "up")

	nodes := make([]*Node, n)
	for i := range nodes {
		node := newNamespace(t, fmt.Sprintf("node%d", i))
		node.IP = netip.AddrFrom4([4]byte{192, 168, 234, byte(10 + i)})
		port := fmt.Sprintf("port%d", i)
		node.mustIP(t, "link", "add", Uplink, "type", "veth", "peer", "name", port, "netns", sw.Name)
		sw.mustIP(t, "link", "set", port, "master", "br0")
		sw.mustIP(t, "link", "set", port, "up")
		node.configureUplink(t)
		nodes[i] = node
	}
	return nodes
}
