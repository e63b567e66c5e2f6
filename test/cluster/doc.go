// Package cluster holds the integration tests of the scheduler and the controllers:
// each test starts its own control plane (embedded etcd, the real API server, the
// scheduler and every controller, with short node-health periods) and runs its
// workloads on hollow nodes (test/hollow), so tests never see each other's nodes.
package cluster
