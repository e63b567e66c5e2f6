// Package netnstest makes throwaway "nodes" for tests: network namespaces
// that stand in for machines, so that whatever a test builds (bridges,
// routes, iptables rules, pods) lives inside them and vanishes with them.
//
// Nothing is ever added to the machine's own network namespace. A node's
// uplink leads nowhere off the machine: [NewNode] gives it a veth whose
// other end stays down (packets sent out of it are dropped), and [NewBridgedNodes]
// joins several nodes by a bridge in a namespace of its own, which has no
// other interface. So a pod or Service packet cannot leave the machine even
// when a rule under test is wrong.
//
// Tests need root and the ip command (iproute2). [Require] skips the test
// otherwise, unless CI=true, where a missing ip fails it.
//
// Example:
//
//	node := netnstest.NewNode(t, "cni")
//	out, err := node.Exec("ip", "-4", "addr", "show", "eth0")
//	err = node.Run(func() error {
//		conn, err := net.Dial("tcp", "10.244.1.2:80") // dialled from inside the node
//		...
//	})
package netnstest
