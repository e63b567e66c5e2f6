package main

import (
	"strings"

	"k8s.io/client-go/rest"

	"github.com/berth-dev/berth/internal/leader/failover"
)

// splitServers splits a comma-separated --server value, dropping blanks.
func splitServers(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// withFailover makes cfg fail over between servers, the URLs of several
// servers of one HA control plane (see package failover); with one server
// or none, cfg is returned as it is.
func withFailover(cfg *rest.Config, servers []string) (*rest.Config, error) {
	return failover.Config(cfg, servers)
}
