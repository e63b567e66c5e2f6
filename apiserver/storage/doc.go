// Package storage keeps API objects in etcd and serves lists and watches from an
// in-memory watch cache.
//
// Objects are JSON under /registry/<group>/<resource>/<namespace>/<name> ("core" for the
// core group). An object's resourceVersion is the etcd mod revision of its key: it is
// never stored, only set on read. Every write is one etcd transaction that compares the
// mod revision read before, so concurrent writers get a Conflict instead of losing an
// update, and extra comparisons and operations (IP and port allocations) commit in the
// same transaction as the object.
//
// One Cacher per resource lists the prefix once, then follows a single etcd watch; it
// keeps the current objects (already encoded) and a window of recent events, and fans
// them out to any number of watchers. A thousand watchers cost one etcd watch.
//
//	s := storage.NewStore(client, registry.Pods(), opts)
//	go s.Cacher().Run(ctx)
//	pod, err := s.Get(ctx, "default", "web")
package storage
