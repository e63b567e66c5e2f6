// Package sync keeps the cluster in step with git: for each GitSource it fetches the
// repository, loads the manifests of a revision (package manifests), plans what must
// change against the live objects the source owns, and applies the plan whole.
//
// The plan is a pure function of the desired objects (as written in git) and the live
// ones, so it is tested as data:
//
//	actions, err := sync.Plan("default", desired, live)
//	for _, a := range actions {
//		fmt.Println(a.Type, a.ID) // Create apps/Deployment default/web ...
//	}
//
// Ownership: every object a source applies carries the label berth.dev/source=<name>
// and, as `kubectl apply` does, the configuration it last applied in the annotation
// berth.dev/last-applied. Updates are three-way strategic merge patches between that
// annotation, the new configuration and the live object, so fields that other writers
// own (replicas scaled by hand where the manifest says none, defaults, status) are kept
// while fields git sets are brought back when changed outside git (drift). Objects that
// carry the label but left git are pruned; objects another source owns are an error.
package sync
