// Package v1alpha1 holds berth's own API types, group berth.dev, version v1alpha1.
//
// The only kind so far is GitSource: a git repository (URL, branch, path) that the sync
// controller keeps the cluster in step with. The API server stores and serves it like any
// Kubernetes kind, so client-go's dynamic client and kubectl read it unchanged:
//
//	kubectl get gitsources -n kube-system
package v1alpha1
