// Command berth is the GitOps container orchestrator: one binary holding the API
// server, and later the scheduler, controllers, sync, kubelet and kube-proxy.
package main

import (
	"errors"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		// A command may choose its exit status (`berth plan`: 1 changes, 2 errors).
		var coded interface{ ExitCode() int }
		if errors.As(err, &coded) {
			os.Exit(coded.ExitCode())
		}
		os.Exit(1)
	}
}
