// Package controllers converges workloads toward their specs, as kube-controller-manager
// does: ReplicaSet, Deployment, DaemonSet, Job, Node lifecycle, EndpointSlice,
// ServiceAccount, Namespace and the garbage collector, each a level-based loop over
// client-go informers and a rate-limited workqueue.
//
// One Manager runs them all on one shared informer factory:
//
//	m, err := controllers.New(controllers.Options{Config: cfg})
//	if err != nil { ... }
//	err = m.Run(ctx) // until ctx ends
//
// Each controller lives in its own file (replicaset.go, deployment.go, ...) and talks
// to the rest of the cluster only through the API server. Every controller records
// Events for what it does, under its own component name.
package controllers
