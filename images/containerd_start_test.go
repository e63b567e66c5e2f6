package main

import (
	"testing"

	containerd "github.com/containerd/containerd"

	"github.com/berth-dev/berth/internal/testcontainerd"
)

// privateContainerd is the test's own containerd (internal/testcontainerd: own
// root, state, socket and runc root), with what the images test passes to it.
type privateContainerd struct {
	runcRoot string // pass as the runc runtime's Root option
	fifoDir  string // pass to cio.WithFIFODir
	client   *containerd.Client
}

// startContainerd starts a private containerd and returns it with a connected
// client; it is stopped, and whatever it left is removed, when the test ends.
func startContainerd(t *testing.T) *privateContainerd {
	t.Helper()
	d := testcontainerd.Start(t)
	return &privateContainerd{runcRoot: d.RuncRoot(), fifoDir: t.TempDir(), client: d.Client()}
}
