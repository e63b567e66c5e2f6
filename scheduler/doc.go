// Package scheduler places pending pods on nodes.
//
// Placement is a pure function of a pod and a snapshot of the nodes (with the pods
// already on them), so it is tested as tables: Filter says which nodes can take the
// pod and why the others cannot; Score ranks the ones that can. The loop that watches
// the API server, queues pods and binds them is built on top (issue 5).
//
//	snap := scheduler.NewSnapshot(nodes, boundPods)
//	node, why := scheduler.Place(pod, snap)
//	if node == "" {
//		fmt.Println(why) // 0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {gpu: true}.
//	}
package scheduler
