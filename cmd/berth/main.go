// Command berth is the GitOps container orchestrator: one binary holding the API
// server, and later the scheduler, controllers, sync, kubelet and kube-proxy.
package main

import (
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
