// Package hollow runs hollow nodes, as kubemark does: each registers a Node, renews
// its Lease, and moves the pods bound to it to Running and Ready (or to Succeeded or
// Failed, as a test asks) without running any container. A Fleet runs many nodes
// over one pod informer, so a benchmark can run a thousand of them in one process.
//
// Hollow nodes are for integration tests and benchmarks only; `berth up` and
// `berth agent` run the real kubelet.
//
//	fleet := hollow.NewFleet(client)
//	n, err := fleet.Add(ctx, hollow.Options{Name: "node-1"})
//	go fleet.Run(ctx)
//	n.Stop()   // the node goes silent: no Lease renewals, no pod updates
//	n.Resume() // and comes back
package hollow
