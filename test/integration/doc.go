// Package integration tests the API server as its clients see it: client-go's typed
// clientset and informers, and kubectl, against a real server on a real etcd
// (embedded, or an external three-member cluster), in-process or as the berth binary.
package integration
