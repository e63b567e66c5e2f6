// Package e2e holds end-to-end tests run as root: a real API server, a
// private containerd, runc and CNI plugins, with every node in a network
// namespace the test creates.
package e2e
