// Package leader runs a piece of work on one process of several: the
// elected leader. berth's servers use it so that every server serves the
// API while only one runs the scheduler, the controllers and the sync
// controller.
//
// The election is etcd's own (go.etcd.io/etcd/client/v3/concurrency): each
// candidate holds a session (an etcd lease it keeps alive) and puts a key
// under Prefix tied to that lease; the candidate whose key was created first
// leads. A leader that is killed stops renewing its lease, etcd deletes its
// key when the lease's TTL runs out, and the next candidate leads. A leader
// that cannot reach etcd sees its session end at about the same time, stops
// its work and campaigns again. A leader whose context ends (SIGTERM) stops
// its work first and then resigns, so that another takes over at once.
//
// The caller's duties: give every candidate a unique Identity, and write
// Lead so that it returns soon after its context ends (it is waited for
// before anyone else is told that leadership is free, as far as this
// process can tell). Lead is called again each time leadership is won.
//
// Requests only the leader can serve (git push webhooks) may arrive at any
// server: Forward proxies them to the leader, whose Endpoint the Lease
// kube-system/berth-leader carries.
//
//	el, err := leader.New(leader.Options{
//		Client:   etcdClient,
//		Identity: "host-a_10.0.0.1:6443",
//		Kube:     clientset, // keeps the Lease kube-system/berth-leader
//		Endpoint: "https://10.0.0.1:6443",
//		Lead: func(ctx context.Context) error {
//			return runControllers(ctx) // until ctx ends
//		},
//	})
//	if err != nil { ... }
//	err = el.Run(ctx)
//
// Leadership in an etcd election is not a fence: between a leader's lease
// expiring in etcd and that leader noticing, both may run for up to a few
// hundred milliseconds. Controllers in berth write with resourceVersion
// preconditions, so such an overlap costs conflicts, not corruption.
package leader
