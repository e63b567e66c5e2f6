// Package scheduler places pending pods on nodes, as kube-scheduler does.
//
// # The placement core
//
// Placement is a pure function of a pod and the nodes (with the pods already on
// them), so it is tested as tables: Filter says which nodes can take the pod and
// why the others cannot; Score ranks the ones that can; Place picks the best, or
// says why none fits in kube-scheduler's FailedScheduling words:
//
//	snap := scheduler.NewSnapshot(nodes, boundPods)
//	node, why := scheduler.Place(pod, snap)
//	if node == "" {
//		fmt.Println(why) // 0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {gpu: true}.
//	}
//
// Filters: the node is Ready and schedulable, the pod's requests (cpu, memory,
// ephemeral storage, one more pod) fit in what its pods leave of its allocatable,
// nodeSelector and required node affinity, taints and tolerations, host ports,
// required pod anti-affinity on the hostname. Scores: least allocated, spread of
// the pod's owner's pods, preferred node affinity.
//
// # The scheduler
//
// A Scheduler runs that core against the API server. Its informers feed two
// structures, changed one event at a time:
//
//   - a queue of the pending pods whose spec.schedulerName is its own: active
//     (by spec.priority, then age), backoff (pods whose attempt failed wait 1s,
//     2s, 4s … up to 10s) and unschedulable (pods that fit nowhere wait for a
//     node to be added or to change, or a bound pod to go, and at most a minute);
//   - a cache of a NodeInfo per node, with the requests of its pods as integers.
//
// One loop pops a pod, filters and scores a sample of the nodes (all of them up
// to 100, then kube-scheduler's adaptive share, from a start that rotates, on
// Parallelism goroutines), assumes the pod on the best node (counts it there at
// once, so the next pod sees it) and binds it through pods/binding in the
// background, BindWorkers bindings at a time. The informer's report of the bound
// pod confirms the assumption; a failed binding forgets it and the pod is
// retried after its backoff. A pod that fits nowhere gets PodScheduled=False,
// reason Unschedulable, with the message, and a FailedScheduling event; a bound
// one gets a Scheduled event.
//
// The caller runs one Scheduler per cluster (per scheduler name), with a client
// config allowed to list and watch pods and nodes, create bindings and events and
// patch pod status:
//
//	s, err := scheduler.New(scheduler.Options{Config: adminConfig, Logger: logger})
//	if err != nil {
//		return err
//	}
//	return s.Run(ctx) // until ctx is cancelled
package scheduler
