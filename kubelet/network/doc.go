// Package network gives the kubelet's pods their namespaces and their
// network: pinned network, IPC and UTS namespaces per pod, and CNI to
// attach them to the node.
//
// # The node and its pods
//
// A node's network is a network namespace: the machine's own, or (in tests
// and demos on one machine) one the run created, named by
// [Options.HostNetNS]. From the CNI plugins' point of view that namespace is
// "the host": the bridge berth0 with the pods' gateway address, the pods'
// veths, the masquerade rules and the hostPort rules are all made there.
// Nothing is made anywhere else.
//
// Each pod gets its own namespaces from [PinNamespaces]: new network, IPC
// and UTS namespaces, the pod's hostname set in the UTS one, each kept alive
// by a bind mount on a file under a directory of the caller's choosing. The
// pod's containers join them by path. [Namespaces.Remove] unmounts and
// deletes them; [NamespacePaths] finds them again after an agent restart.
//
// [New] writes a CNI configuration list (bridge with host-local addresses
// from the node's pod CIDR and a default route through the bridge, with
// masquerading; portmap for hostPorts; loopback) for Debian's
// containernetworking-plugins, and fails early, naming the package to
// install, when a plugin or iptables is missing. [Network.Setup] runs the
// plugins' ADD for a pod and returns its address, [Network.Teardown] their
// DEL, [Network.Check] their CHECK. The CNI container ID is the pod's UID,
// and all state (host-local's allocations, libcni's cached results) lives
// in [Options.DataDir], so a restarted agent tears down what an earlier one
// set up. [Network.AllocatedIPs] lists the addresses in use, to show that
// none leaks.
//
// [Do] runs a function on a thread inside a network namespace. Network uses
// it to run the plugins in HostNetNS: a child process forks from the
// calling thread and so is born in that thread's network namespace.
//
// # The caller's duties
//
// Tear a pod's network down before removing its namespaces. Teardown also
// works after the namespace is gone, and cleans the bridge plugin's
// masquerade rules itself then.
//
// The namespace bind mounts live in the mount namespace of the process that
// made them. An agent started with `ip netns exec` runs in a mount
// namespace of its own, whose mounts do not propagate back to the
// machine's; pinned namespaces made there are visible to that agent and its
// children only, and vanish when no process is left in it.
//
// # Example
//
//	n, err := network.New(network.Options{
//		ConfDir:   "/var/lib/berth/cni/conf",
//		DataDir:   "/var/lib/berth/cni",
//		PodCIDR:   "10.244.1.0/24",
//		HostNetNS: "/run/netns/node1", // or empty: the agent's own
//	})
//	ns, err := network.PinNamespaces("/var/lib/berth/netns", string(pod.UID), pod.Name)
//	p := network.Pod{UID: string(pod.UID), Namespace: pod.Namespace, Name: pod.Name, NetNSPath: ns.Net,
//		PortMappings: []network.PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "TCP"}}}
//	res, err := n.Setup(ctx, p) // res.IP is the pod IP
//	// ... run the containers in ns.Net, ns.IPC and ns.UTS ...
//	err = n.Teardown(ctx, p)
//	err = ns.Remove()
package network
